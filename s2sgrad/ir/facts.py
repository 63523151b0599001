"""Side tables: what analyses know about a program's nodes, declared and typed.

A stage that learns something about a node it emitted records it here
instead of hanging an attribute on the ``ast`` node, and the stages that
need it are handed the table. Each table is a :class:`NodeTable`, keyed by
node identity; it holds the nodes it describes, so a key cannot be reused
by another node while the table lives. Copying nodes copies no facts: a
stage that copies statements (the inliner) copies their facts explicitly
(:func:`copy_facts`).

Tables of the normal form (:class:`NormalFormFacts`, made by
``frontend.normalise.Normaliser``, handed on through the pipeline's
``Context.normal_facts``):

* ``saved_slots`` -- ``x[i] = v`` -> :class:`SavedSlot`, the temporary the
  normaliser copied the overwritten slot into. Read by
  ``transform.writes`` (the adjoint writes it back).
* ``if_joins`` -- the copies ``x_3 = x_1`` that end the arms of an ``if``
  and merge their versions into one name (fact: True). Read by
  ``transform.writes.check_writes`` (a write into the merged name writes
  into what was merged).
* ``shared_array_checks`` -- each ``refuse_shared_array(...)`` call the
  normaliser put before an augmented assignment -> :class:`SharedArrayCheck`.
  Read by the normaliser itself (a check no sharer is read after is dropped).
* ``nested_defs`` -- each nested ``def`` kept in ``local_functions`` ->
  :class:`NestedDef`. Read by the normaliser (calls pass what the def
  captures) and by the inliner (which hands them to the callee's normaliser).
* ``atoms`` -- atoms the normaliser made (fact: True); normalising one
  again returns it unchanged. Read by the normaliser and the inliner.
* ``inline_sites`` -- each call the normaliser decided to inline (left in
  the normal form as ``result = f(a, b)`` or ``f(a, b)``) ->
  :class:`InlineSite`, the callee's normal form to splice there. Read by
  the inline pass (``frontend.inline.splice_calls``).
* ``private_items`` -- the reads ``xs_item = xs[t]`` of an array only a
  private container holds, bound for a write into it (``xs[t][i] = v``;
  fact: True). Read by ``transform.writes.check_writes``, which lets the
  write go ahead as into an array the function allocated.

Tables of the gradient (:class:`GradientFacts`, made by
``transform.reverse.ReverseMode``, read by the optimiser's passes):

* ``float_guards`` -- the ``if not (x.__class__ is float): ...`` checks
  (fact: True) into which ``optimise.sink_into_guards`` may move the
  primal statements only the checks read.
* ``small_values`` -- names holding saved shapes (tuples), which
  ``optimise.free_dead_locals`` never deletes.
* ``algebra`` -- the expressions reverse mode emitted as its rule templates
  and accumulations made them (fact: True), which the ``simplify`` pass
  (``transform.simplify.simplify_recorded``) simplifies, and nothing else.

Facts about names (not nodes) of the normal form:

* :class:`ShapeFacts` -- which values share a shape, which are scalars,
  made by the pipeline's ``shapes`` pass (``transform.analyse``) and read
  by *differentiate* and *forward*. The pipeline declares, per pass, the
  facts it makes, reads and invalidates (``pipeline.Pass``): a pass that
  rewrites the normal form after ``shapes`` drops them, and a pass reading
  facts nobody made (or that were dropped) is an internal error.

The reverse mode's own table of restore markers (:class:`RestoreMarker`,
``ReverseMode.restore_markers``) is made and read by ``transform.loops``.

Output guarantees: a table holds a fact for a node only while that node
(by identity) is the one it was recorded for; copying a node copies no
fact unless :func:`copy_facts` is asked to.
"""

from dataclasses import dataclass

from s2sgrad.ir.nodes import walk


class NodeTable:
    """A mapping from AST nodes (by identity) to facts about them."""

    __slots__ = ("_entries",)

    def __init__(self):
        self._entries = {}  # id(node) -> (node, fact): the node is kept alive

    def __setitem__(self, node, fact):
        self._entries[id(node)] = (node, fact)

    def get(self, node, default=None):
        entry = self._entries.get(id(node))
        return default if entry is None else entry[1]

    def __contains__(self, node):
        return id(node) in self._entries

    def __len__(self):
        return len(self._entries)

    def items(self):
        """(node, fact) pairs, in the order they were recorded."""
        return list(self._entries.values())

    def update(self, other):
        """Record every fact of ``other`` here too."""
        self._entries.update(other._entries)


_REQUIRED = object()


class _Record:
    """A typed record of facts (what ``dataclasses`` would make, without its
    cost at import): ``FIELDS`` lists (name, default) in order, a default of
    ``NodeTable`` meaning a new table per record; ``FROZEN`` records refuse
    assignment and hash by value."""

    __slots__ = ()
    FIELDS = ()
    FROZEN = False

    def __init__(self, *args, **kwargs):
        if len(args) > len(self.FIELDS):
            raise TypeError(f"{type(self).__name__} takes {len(self.FIELDS)} fields")
        for i, (name, default) in enumerate(self.FIELDS):
            if i < len(args):
                value = args[i]
            elif name in kwargs:
                value = kwargs.pop(name)
            elif default is _REQUIRED:
                raise TypeError(f"{type(self).__name__}: missing field {name!r}")
            else:
                value = NodeTable() if default is NodeTable else default
            object.__setattr__(self, name, value)
        if kwargs:
            raise TypeError(f"{type(self).__name__}: no field {sorted(kwargs)[0]!r}")

    def _values(self):
        return tuple(getattr(self, name) for name, _ in self.FIELDS)

    def __eq__(self, other):
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self):
        if not self.FROZEN:
            raise TypeError(f"unhashable type: {type(self).__name__!r}")
        return hash(self._values())

    def __setattr__(self, name, value):
        if self.FROZEN:
            raise AttributeError(f"cannot assign to field {name!r} of a {type(self).__name__}")
        object.__setattr__(self, name, value)

    def __repr__(self):
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name, _ in self.FIELDS)
        return f"{type(self).__name__}({fields})"


class SavedSlot(_Record):
    """Of ``x[i] = v``: the temporary holding what the write overwrote
    (``name``)."""

    __slots__ = ("name",)
    FIELDS = (("name", _REQUIRED),)
    FROZEN = True


class SharedArrayCheck(_Record):
    """Of a ``refuse_shared_array`` check before ``x += y``: ``sharers``, the
    versions that may share memory with ``x`` (a frozenset), and ``in_loop``
    (a sharer may be read by the next iteration: always kept)."""

    __slots__ = ("sharers", "in_loop")
    FIELDS = (("sharers", _REQUIRED), ("in_loop", _REQUIRED))
    FROZEN = True


class NestedDef(_Record):
    """Of a nested ``def`` (kept with its captured variables as keyword-only
    parameters): ``captured``, the enclosing variables it reads (its own and
    those of the defs it calls, a tuple), and ``calls_nested_defs`` (then only
    inlining it works)."""

    __slots__ = ("captured", "calls_nested_defs")
    FIELDS = (("captured", _REQUIRED), ("calls_nested_defs", _REQUIRED))
    FROZEN = True


class InlineSite(_Record):
    """Of a call the inline pass replaces by the callee's body: ``body``, the
    callee's normal-form statements (its return left out, its names);
    ``renames``, callee local -> the caller's name for it; ``substitutes``,
    callee parameter it never assigns -> the caller's argument atom;
    ``facts``, the callee normaliser's NormalFormFacts about ``body``;
    ``origin``, the call's node in the user's source (the spliced lines are
    its line); ``operation``, when the callee ends ``result = <operation>``,
    what the caller's normaliser needs to know of it
    (``inline.OperationResult``); ``unused``, the caller does not use the
    value (a call statement)."""

    __slots__ = ("body", "renames", "substitutes", "facts", "origin", "operation", "unused")
    FIELDS = (("body", _REQUIRED), ("renames", _REQUIRED), ("substitutes", _REQUIRED),
              ("facts", _REQUIRED), ("origin", _REQUIRED), ("operation", None),
              ("unused", False))


@dataclass(frozen=True)
class RestoreMarker:
    """Of a ``name = stack.pop()`` reverse mode placed in a loop's adjoint
    (a dataclass: ``transform.loops`` replaces fields of one)."""

    #: the primal name (or saved shape) popped
    name: str
    #: a nested loop's trip count: kept even if the adjoint never reads it
    trip_count: bool = False


class NormalFormFacts(_Record):
    """What the normaliser knows about the normal form it emitted."""

    __slots__ = ("saved_slots", "if_joins", "shared_array_checks", "nested_defs", "atoms",
                 "inline_sites", "private_items")
    FIELDS = tuple((name, NodeTable) for name in __slots__)

    def tables(self):
        return (self.saved_slots, self.if_joins, self.shared_array_checks,
                self.nested_defs, self.atoms, self.inline_sites, self.private_items)


class ShapeFacts(_Record):
    """What is known about the shapes of one normal-form function's values
    (each reading a ``transform.shapes.ShapeClasses``, solved from one
    reading of the program).

    ``proven``: classes found without assumptions (a result in the scalar
    class needs no run-time scalar check). ``assumed``: classes under the
    assumptions the gradient may make (the result of ``grad`` is a scalar,
    known shapes of a recording); reverse mode drops broadcasting work by
    them. ``scalar_params``: parameters in the scalar class under those
    assumptions; ``scalar_proof``: for straight-line code, the classes when
    exactly those parameters are 0-d (None otherwise), which tells whether
    Python floats in give a Python float out.
    """

    __slots__ = ("proven", "assumed", "scalar_params", "scalar_proof")
    FIELDS = (("proven", _REQUIRED), ("assumed", _REQUIRED), ("scalar_params", _REQUIRED),
              ("scalar_proof", None))


class GradientFacts(_Record):
    """What reverse mode knows about the gradient function it emitted."""

    __slots__ = ("float_guards", "small_values", "algebra")
    FIELDS = (("float_guards", NodeTable), ("small_values", ()), ("algebra", NodeTable))


def copy_facts(original, copied, source, target):
    """Record in ``target``'s tables, for every node of ``copied`` (a deep copy
    of ``original``), the facts ``source``'s tables hold of its original."""
    tables = [(a, b) for a, b in zip(source.tables(), target.tables()) if len(a)]
    if not tables:
        return
    pairs = list(zip(walk(original), walk(copied)))
    for from_table, to_table in tables:
        entries = from_table._entries
        for node, twin in pairs:
            entry = entries.get(id(node))
            if entry is not None and entry[0] is node:
                to_table[twin] = entry[1]
