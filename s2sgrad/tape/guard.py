"""Guards: recognise a recording a compiled adjoint serves without building its key.

The structural key of a recording (:func:`s2sgrad.tape.compiled._key_and_values`)
is built by a Python loop over every record and argument, then hashed and
compared, on every ``gradient`` call. A training loop records the same
program every step, so :mod:`s2sgrad.tape.compiled` first offers a new
recording to the guard of the adjoint it ran last: a function generated
from the recording that adjoint was built from, which checks the new one
in straight-line code -- one identity or type test per input, no loop, no
dictionary -- and returns its leaf values, or None when it is not
recognised (the key decides then).

A guard accepts a recording only where the adjoint computes its gradients
exactly, checking what the key encodes:

* the same number of records, seeds and wanted nodes; per record the same
  primitive (by identity), the same number of arguments, equal
  parameters, a single output (and, for indexing, its shape and dtype);
* every argument the output of the same earlier record (by identity), or
  a leaf of the same type, shape and dtype (a repeated leaf the same
  object), or an equal literal constant of the same type (a zero of the
  same sign);
* where a Tensor leaf is used, the same ``needs``: the inputs the tape
  tracks (elsewhere they follow: an output is always tracked, a constant
  or an array never). An untracked leaf is then a constant of the
  recording, and the adjoint takes each first occurrence as its own
  parameter, which holds for any values; tracked leaves must moreover be
  distinct from each other and from every earlier output -- one set-size
  test -- since their gradients are read off the adjoint's parameters;
* the seeds on the same nodes and the wanted ids those of the same nodes.
"""

import operator

import numpy as np

from s2sgrad.primitives.registry import Primitive
from s2sgrad.tape.tensor import _SCALAR_META, Tensor

#: exceptions a guard takes for "not recognised": unpacking a record with
#: another number of arguments, comparing parameters that hold arrays
_MISMATCH = (ValueError, TypeError)


def guard(records, seeds, wanted):
    """``match(records, seeds, wanted)`` for recordings like this one, or None.

    ``match`` returns the leaf values -- in first-use order, as
    :func:`~s2sgrad.tape.compiled._key_and_values` lists them -- of a
    recording it recognises, else None. None instead of a guard when the
    recording has several-output or ``custom_gradient`` records, nested
    inputs, constants that are not literals, a Tensor used both tracked and
    untracked, or a seed or wanted node no record touches (the key handles
    those).
    """
    if not records:
        return None
    writer = _GuardWriter(len(seeds), len(wanted))
    try:
        for k, rec in enumerate(records):
            writer.record(k, rec)
        writer.finish(seeds, wanted)
    except _NoGuard:
        return None
    match = writer.function()
    for _ in range(_WARMING_CALLS):
        if match(records, seeds, wanted) is None:
            return None  # (it must recognise the recording it was written from)
    return match


#: Calls on its own recording that warm a new guard up. CPython specialises
#: a function's bytecode only once it has run a few times (8 in 3.11), and
#: a guard is straight-line code: unspecialised, one for a long recording
#: runs no faster than the key's loop.
_WARMING_CALLS = 8


class _NoGuard(Exception):
    """The recording is one the key handles alone."""


class _GuardWriter:
    """Writes the source of a guard while walking the template recording."""

    def __init__(self, n_seeds, n_wanted):
        self.n_seeds = n_seeds
        self.n_wanted = n_wanted
        self.n_records = 0
        #: the body of the guard, one statement a line
        self.lines = []
        #: the objects the guard refers to by name (primitives, constants, types)
        self.env = {"Tensor": Tensor, "_MISMATCH": _MISMATCH}
        #: id(template node) -> the guard variable holding its counterpart
        self.names = {}
        #: expressions of the leaf values, in first-use order
        self.values = []
        #: variables of the tracked leaves, and the record that first uses the last one
        self.tracked = []
        self.last_tracked_record = -1
        #: outputs compared by identity with a Tensor (so known not to be tuples)
        self.outputs_used = set()
        #: id(Tensor leaf) -> whether the tape tracked its first use
        self.leaf_tracked = {}

    def constant(self, value):
        """The name under which the guard sees ``value``."""
        name = f"c{len(self.env)}"
        self.env[name] = value
        return name

    def fail_if(self, conditions):
        """One line returning None when any of ``conditions`` holds (tested in order)."""
        if conditions:
            self.lines.append(f"if {' or '.join(conditions)}: return None")

    def record(self, k, rec):
        """The tests of record ``k``: primitive, parameters, arguments, output."""
        out = rec.out
        if type(out) is tuple or type(rec.rule) is not Primitive:
            raise _NoGuard  # several outputs, a custom_gradient call or no rule
        r = f"r{k}"
        args = [f"a{k}_{i}" for i in range(len(rec.args))]
        conditions = [f"{r}.prim is not {self.constant(rec.prim)}"]
        if args:
            self.lines.append(f"{''.join(a + ', ' for a in args)}= {r}.args")
        else:
            conditions.append(f"{r}.args")
        if rec.params:
            conditions.append(f"not ({r}.params == {self.constant(dict(rec.params))})")
        else:
            conditions.append(f"{r}.params")
        if any(self.is_tensor_leaf(a) for a in rec.args):
            conditions.append(f"{r}.needs != {self.constant(rec.needs)}")
        for a, x, tracked in zip(rec.args, args, rec.needs):
            conditions = self.argument(a, x, k, tracked, conditions)
        self.fail_if(conditions)
        self.lines.append(f"o{k} = {r}.out")
        self.names[id(out)] = f"o{k}"
        if rec.prim is operator.getitem:  # an index array's values decide the shape
            self.lines.append(f"v = o{k}._value")
            self.fail_if(self.meta("v", out._value))
        self.n_records = k + 1

    def is_tensor_leaf(self, a):
        """True for a Tensor no earlier record produced (whether the tape tracks
        it is up to the recording; for an output it is always so)."""
        return isinstance(a, Tensor) and not self.names.get(id(a), "").startswith("o")

    def argument(self, a, x, k, tracked, conditions):
        """Add the failure conditions for argument ``a`` of record ``k``, seen as ``x``.

        Returns the conditions still to test: a Tensor leaf's value can only
        be read once the tests before have passed.
        """
        name = self.names.get(id(a))
        if name is not None:
            if self.leaf_tracked.get(id(a), tracked) != tracked:
                raise _NoGuard  # a source used before it was watched
            conditions.append(f"{x} is not {self.node(id(a))}")
            return conditions
        if isinstance(a, Tensor):
            self.leaf_tracked[id(a)] = tracked
            conditions.append(f"not isinstance({x}, Tensor)")
            self.fail_if(conditions)
            value = f"v{len(self.values)}"
            self.lines.append(f"{value} = {x}._value")
            self.leaf(a, x, value)
            if tracked:
                self.tracked.append(x)
                self.last_tracked_record = k
            return self.meta(value, a._value)
        if isinstance(a, np.ndarray):
            self.leaf(a, x, x)
            return conditions + self.meta(x, a)
        t = type(a)
        if t is list or t is tuple or not is_literal(a):
            raise _NoGuard  # (a constant the key passes as a value of its own)
        conditions.append(f"type({x}) is not {self.constant(t)}")
        conditions.append(f"not ({x} == {self.constant(a)})")
        if has_signed_zero(a):
            conditions.append(f"repr({x}) != {self.constant(repr(a))}")
        return conditions

    def leaf(self, a, x, value):
        """Note leaf ``a``: seen as ``x`` from now on, its value the next one returned."""
        self.names[id(a)] = x
        self.values.append(value)

    def meta(self, x, value):
        """Failure conditions for ``x`` not having ``value``'s type, shape and dtype."""
        t = type(value)
        conditions = [f"type({x}) is not {self.constant(t)}"]
        if t not in _SCALAR_META:  # (a numeric scalar's type fixes both)
            conditions.append(f"{x}.shape != {self.constant(value.shape)}")
            conditions.append(f"{x}.dtype != {self.constant(value.dtype)}")
        return conditions

    def node(self, key):
        """The guard variable of the template node with id ``key``."""
        name = self.names.get(key)
        if name is None:
            raise _NoGuard  # a seed or wanted node no record touches
        if name.startswith("o"):
            self.outputs_used.add(name)
        return name

    def finish(self, seeds, wanted):
        """The tests that need the whole recording, then the leaf values returned."""
        distinct = self.tracked + [f"o{j}" for j in range(self.last_tracked_record)]
        if len(distinct) > 1:
            ids = ", ".join(f"id({x})" for x in distinct)
            self.fail_if([f"len({{{ids}}}) != {len(distinct)}"])
        conditions = [f"seeds[{i}][0] is not {self.node(id(node))}"
                      for i, (node, _) in enumerate(seeds)]
        conditions += [f"wanted[{i}] != id({self.node(k)})" for i, k in enumerate(wanted)]
        conditions += [f"type(o{j}) is tuple" for j in range(self.n_records)
                       if f"o{j}" not in self.outputs_used]
        self.fail_if(conditions)
        self.lines.append(f"return [{', '.join(self.values)}]")

    def function(self):
        """The guard, compiled."""
        records = "".join(f"r{k}, " for k in range(self.n_records))
        source = "\n".join(
            [
                "def match(records, seeds, wanted):",
                f"    if len(records) != {self.n_records} or len(seeds) != {self.n_seeds} "
                f"or len(wanted) != {self.n_wanted}: return None",
                "    try:",
                f"        {records}= records",
                *(f"        {line}" for line in self.lines),
                "    except _MISMATCH:",
                "        return None",
            ]
        )
        namespace = dict(self.env)
        exec(compile(source, "<s2sgrad guard>", "exec"), namespace)
        return namespace["match"]


def is_literal(value):
    """True for a constant generated code can spell as a literal."""
    if value is None or isinstance(value, (bool, int, float, complex, str)):
        return True
    if type(value) is tuple:
        return all(is_literal(v) for v in value)
    return isinstance(value, np.generic) and value.ndim == 0 and value.dtype.kind in "biufc"


def has_signed_zero(value):
    """True for a floating or complex constant with a zero part.

    ``-0.0 == 0.0``, yet ``1 / -0.0`` is ``-inf``: the key and the guard
    tell such constants apart by their text.
    """
    if isinstance(value, (complex, np.complexfloating)):
        return value.real == 0 or value.imag == 0
    return isinstance(value, (float, np.floating)) and value == 0
