"""Lifted tape blocks at run time: the generated gradient, or the tape.

:mod:`s2sgrad.frontend.tape_blocks` replaces ``with GradientTape() as t:
...; grads = t.gradient(y, sources)`` by a call to a :class:`LiftedBlock`
with the values the block reads. The call returns what the two statements
would have bound -- the target Tensor and the gradients in the structure
of ``sources`` -- computing both with the block's generated
value-and-gradient on the raw NumPy values: no Tensor per operation, no
recording, no rewinding.

The generated code is used only when it computes exactly what the tape
would: every value read is a floating-point Tensor or Variable (Python
numbers and NumPy arrays would follow NumPy's type promotion, not
TensorFlow's), they share one Tensor flavour, and no outer tape is
recording (it must see the operations). Otherwise -- and on the first
call, which also learns the target's shape for the seed -- the block runs
as written on the tape (its "eager" function). Which sources get a
gradient follows the tape: Variables the tape watches (trainable ones,
when it watches accessed variables) and tensors passed to ``watch``;
sources the target does not depend on get None.
"""

from collections import OrderedDict

import numpy as np

from s2sgrad.errors import S2SGradError
from s2sgrad.primitives import registry
from s2sgrad.tape import tensor as _tensor
from s2sgrad.tape.tape import _finish, _seed
from s2sgrad.tape.tensor import Tensor, _new

_ndarray = np.ndarray

#: NumPy scalar type -> True for real floating point (cached by type)
_REAL_SCALAR = {}

#: generated entries kept per block, least recently used dropped first (a
#: block called with ever new shapes generates for each, as TensorFlow
#: traces for each; the bound keeps that from growing without end)
BLOCK_CACHE_SIZE = 64


class _Bounded(OrderedDict):
    """A dict of at most BLOCK_CACHE_SIZE entries, least recently used first out."""

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if len(self) > BLOCK_CACHE_SIZE:
            self.popitem(last=False)


def _is_real(value):
    """True for real floating-point NumPy values."""
    kind = _REAL_SCALAR.get(type(value))
    if kind is None:
        kind = isinstance(value, (np.ndarray, np.generic)) and value.dtype.kind == "f"
        if type(value) is not _ndarray:
            _REAL_SCALAR[type(value)] = kind
    return kind


def _is_number(value):
    return type(value) is float or type(value) is int


class BlockCode:
    """What every runtime block of one lifted block shares: the spec and the
    generated code per set of differentiated inputs."""

    def __init__(self, spec, parsed):
        self.spec = spec
        #: the block as a function of the user's file, its helpers closure cells
        self.parsed = parsed.derived(spec.function, spec.helpers)
        #: (wrt input indices, input shapes) -> pipeline.Generated, or the
        #: S2SGradError refusing it (emptied when a rule changes)
        self.generated = _Bounded()
        registry.on_change(self)
        inputs = spec.inputs
        self.source_indices = tuple(inputs.index(name) for name in spec.source_names)
        self.watched_indices = frozenset(inputs.index(name) for name in spec.watched)
        self.helper_cells = {name: self.parsed.closure[name] for name in spec.helpers}
        self.pack = _packer(spec)

    def rules_changed(self):
        self.generated.clear()

    def generate(self, wrt, args):
        """The block's value-and-gradient for inputs ``wrt``, specialised on
        the shapes of ``args`` (so broadcasting is resolved when generating)."""
        shapes = tuple(np.shape(a) for a in args)
        key = (wrt, shapes)
        entry = self.generated.get(key)
        if entry is None:
            from s2sgrad import pipeline

            inputs = self.spec.inputs
            try:
                entry = pipeline.generate(
                    self.parsed, tuple(inputs[i] for i in wrt), True, True, True,
                    f"tape block line {self.spec.lineno}", known_shapes=dict(zip(inputs, shapes)),
                    positional_seed=True, example_args=args)
            except S2SGradError as error:
                entry = error
            self.generated[key] = entry
        return entry


def _classify(kinds, source_indices):
    """For inputs of types ``kinds``: (the Tensors' one result class, whether
    every input is a Tensor, which are), or False when the generated code
    cannot take them (no Tensor, several flavours, a source that is not a
    Tensor, a value that is neither a Tensor, a NumPy value nor a number)."""
    tensors = tuple(issubclass(kind, Tensor) for kind in kinds)
    classes = {kind._result_type for kind, tensor in zip(kinds, tensors) if tensor}
    plain_ok = all(tensor or kind in (int, float) or issubclass(kind, (np.ndarray, np.generic))
                   for kind, tensor in zip(kinds, tensors))
    if len(classes) != 1 or not plain_ok or not all(tensors[i] for i in source_indices):
        return False
    return classes.pop(), all(tensors), tensors


def _packer(spec):
    """flat gradients -> the structure of the block's ``sources``."""
    import ast

    sources = spec.sources
    if isinstance(sources, ast.Name):
        return lambda flat: flat[0]
    if all(isinstance(e, ast.Name) for e in sources.elts):
        return list if isinstance(sources, ast.List) else tuple
    return spec.pack


class LiftedBlock:
    """One lifted block bound to one function object's scope."""

    def __init__(self, code, globals_, closure_cells):
        self.code = code
        self.globals = globals_
        self.closure_cells = dict(closure_cells)
        self.closure_cells.update(code.helper_cells)
        #: the block as written (with the tape), set once the function is compiled
        self.eager = None
        #: (wrt, shapes) -> see _compile
        self._compiled = _Bounded()
        #: the target's cotangent seed, learnt from the last eager run
        self._seed = None
        #: the types of the values read -> see _classify
        self._kinds = {}
        #: the cell the rewritten function calls this block through (set by
        #: tf.function), and the guarded entries installed in it per signature
        self.cell = None
        self._fast = _Bounded()
        registry.on_change(self)

    def rules_changed(self):
        """A rule changed (``sg.defgrad``): forget the code generated under
        the old ones; the function calls this block again, which generates anew."""
        self._compiled.clear()
        self._fast.clear()
        if self.cell is not None:
            self.cell.cell_contents = self

    def __call__(self, *values):
        if _tensor._local.active or self._seed is None:
            return self._run_eager(values)
        kinds = tuple(map(type, values))
        classified = self._kinds.get(kinds)
        if classified is None:
            classified = self._kinds[kinds] = _classify(kinds, self.code.source_indices)
        if classified is False or len(set(map(id, values))) != len(values):
            # (one tensor under two names: the tape differentiates the object)
            return self._run_eager(values)
        cls, all_tensors, tensors = classified
        if all_tensors:
            args = [value._value for value in values]
        else:
            args = [value._value if tensor else value for value, tensor in zip(values, tensors)]
        types_ = tuple(map(type, args))
        if _ndarray in types_:
            types_ += tuple((a.shape, a.dtype) for a in args if type(a) is _ndarray)
        code = self.code
        watch_variables = code.spec.watch_accessed_variables
        watched = code.watched_indices
        wrt = []
        for i in code.source_indices:
            source = values[i]
            if (i in watched or (watch_variables and source._is_variable and source._trainable)) \
                    and i not in wrt:
                wrt.append(i)
        key = (tuple(wrt), types_)
        compiled = self._compiled.get(key, False)
        if compiled is False:
            compiled = self._compiled[key] = self._compile(tuple(wrt), args)
        if compiled is None:
            return self._run_eager(values)
        function, gather = compiled
        seed = self._seed
        args.append(seed)
        try:
            value, grads = function(*args)
        except Exception:  # the tape raises the user's error as the block would
            return self._run_eager(values)
        if type(value) is _ndarray:
            if not value.shape:
                value = value[()]
            elif value.shape != seed.shape or value.dtype != seed.dtype:
                return self._run_eager(values)
        if type(value) is not type(seed):
            return self._run_eager(values)
        target = _new(cls)
        target._value = value
        flat = []
        for i, k in gather:
            flat.append(None if k is None else _finish(values[i], grads[k], False))
        if self.cell is not None:
            self._specialise(key, values, kinds, cls, function, gather)
        return target, code.pack(flat)

    def _specialise(self, key, values, kinds, cls, function, gather):
        """Make the rewritten function call a guarded entry for this signature.

        The guards check in straight-line code what ``__call__`` works out
        in loops: the exact classes of the values and of their NumPy values
        (shapes and dtypes of arrays), the watch state of Variable sources,
        no aliasing of a source, no recording tape, and the target's type
        against the seed. Any failed guard goes back to ``__call__``.
        """
        seed = self._seed
        seed_key = (type(seed), getattr(seed, "shape", None), getattr(seed, "dtype", None))
        fast = self._fast.get((key, seed_key))
        if fast is None:
            fast = self._fast[(key, seed_key)] = _guarded_entry(
                self.code, values, kinds, cls, function, gather, seed, self.__call__)
        self.cell.cell_contents = fast

    def _compile(self, wrt, args):
        """(generated function, ((source index, gradient position or None), ...))
        for inputs like ``args``; None when the block cannot be generated for
        them or the code would not compute what the tape computes: a value
        that is not real floating point or a Python number (``reduce_mean``
        of integers rounds), or a call the front end converts (``tf.exp(n)``)
        on Python numbers only."""
        if not wrt or not all(_is_real(a) or _is_number(a) for a in args):
            return None
        spec = self.code.spec
        numbers = {name for name, a in zip(spec.inputs, args) if _is_number(a)}
        if any(inputs <= numbers for inputs in spec.converting_calls):
            return None
        entry = self.code.generate(wrt, args)
        if isinstance(entry, S2SGradError):
            return None
        function = entry.code.bind(self.globals, self.closure_cells)
        inputs = self.code.spec.inputs
        position = {i: k for k, i in enumerate(wrt) if inputs[i] not in entry.unreached}
        return function, tuple((i, position.get(i)) for i in self.code.source_indices)

    def _run_eager(self, values):
        target, grads = self.eager(*values)
        if isinstance(target, Tensor) and not _tensor._local.active:
            raw = target._value
            if _is_real(raw):
                self._seed = _seed(target, None, False)
        return target, grads


def _guarded_entry(code, values, kinds, cls, function, gather, seed, general):
    """Generated ``(*inputs) -> (target, gradients)`` for one signature."""
    from s2sgrad.codegen.compile import CompiledCode

    spec = code.spec
    helpers = {"general": general, "function": function, "seed": seed, "new": _new,
               "finish": _finish, "this_thread": _tensor._local, "seed_type": type(seed),
               "cls": cls}
    inputs, raw = _entry_names(spec.inputs, helpers, len(gather))
    fall_back = f"return general({', '.join(inputs)})"
    guards, value_guards, unpack = ["this_thread.active"], [], []
    for i, (name, value, kind) in enumerate(zip(inputs, values, kinds)):
        helpers[f"kind{i}"] = kind
        guards.append(f"{name}.__class__ is not kind{i}")
        tensor = issubclass(kind, Tensor)
        v = value._value if tensor else value
        unpack.append(f"{raw[i]} = {name}._value" if tensor else f"{raw[i]} = {name}")
        helpers[f"type{i}"] = type(v)
        value_guards.append(f"{raw[i]}.__class__ is not type{i}")
        if type(v) is _ndarray:
            helpers[f"shape{i}"], helpers[f"dtype{i}"] = v.shape, v.dtype
            value_guards += [f"{raw[i]}.shape != shape{i}", f"{raw[i]}.dtype != dtype{i}"]
    for i in code.source_indices:
        guards += [f"{inputs[i]} is {other}" for j, other in enumerate(inputs) if j != i]
        if values[i]._is_variable and spec.watch_accessed_variables \
                and i not in code.watched_indices:
            guards.append(f"{'not ' if values[i]._trainable else ''}{inputs[i]}._trainable")
    result_guards = ["value.__class__ is not seed_type"]
    if type(seed) is _ndarray:
        result_guards += ["value.shape != seed.shape", "value.dtype != seed.dtype"]
    finishing, grads = [], []
    for n, (i, k) in enumerate(gather):
        if k is None:
            grads.append("None")
            continue
        grads.append(f"g{n}")
        if type(values[i]._value) is _ndarray:
            finishing.append(f"g{n} = finish({inputs[i]}, grads[{k}], False)")
            continue
        helpers[f"cls{i}"] = values[i]._result_type
        finishing += [  # a scalar of the source's own type is wrapped as it is
            f"g{n} = grads[{k}]",
            f"if g{n}.__class__ is {raw[i]}.__class__:",
            f"    gradient = g{n}",
            f"    g{n} = new(cls{i})",
            f"    g{n}._value = gradient",
            "else:",
            f"    g{n} = finish({inputs[i]}, g{n}, False)",
        ]
    lines = [
        f"if {' or '.join(guards)}:", f"    {fall_back}",
        *unpack,
        f"if {' or '.join(value_guards)}:", f"    {fall_back}",
        "try:",
        f"    value, grads = function({', '.join(raw + ['seed'])})",
        "except Exception:",
        f"    {fall_back}",
        f"if {' or '.join(result_guards)}:", f"    {fall_back}",
        "target = new(cls)",
        "target._value = value",
        *finishing,
        f"return target, {_structure_text(spec.sources, iter(grads))}",
    ]
    name = f"guarded_{spec.function.name}"
    source = f"def {name}({', '.join(inputs)}):\n" + "".join(f"    {line}\n" for line in lines)
    compiled = CompiledCode(source, name, helpers, f"tape block line {spec.lineno} entry")
    return compiled.bind({"__builtins__": __builtins__}, {})


def _entry_names(inputs, helpers, n_sources):
    """Parameter and value names for a guarded entry: the user's names
    (``x``, ``x_value``) unless one collides with a name the entry uses."""
    raw = [f"{name}_value" for name in inputs]
    taken = set(helpers) | {"value", "grads", "target", "gradient"} | {
        f"{prefix}{i}" for prefix in ("kind", "type", "shape", "dtype", "cls")
        for i in range(len(inputs))} | {f"g{n}" for n in range(n_sources)}
    if len(set(inputs) | set(raw)) == 2 * len(inputs) and not (set(inputs) | set(raw)) & taken:
        return list(inputs), raw
    return [f"in{i}" for i in range(len(inputs))], [f"v{i}" for i in range(len(inputs))]


def _structure_text(node, flat):
    """Python text building the structure of ``sources`` from ``flat`` texts."""
    import ast

    if isinstance(node, ast.Name):
        return next(flat)
    items = [_structure_text(e, flat) for e in node.elts]
    if isinstance(node, ast.List):
        return f"[{', '.join(items)}]"
    return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
