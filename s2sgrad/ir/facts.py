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

import ast
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class SavedSlot:
    """Of ``x[i] = v``: the temporary holding what the write overwrote."""

    name: str


@dataclass(frozen=True)
class SharedArrayCheck:
    """Of a ``refuse_shared_array`` check before ``x += y``."""

    #: versions that may share memory with ``x``
    sharers: frozenset
    #: inside a loop (a sharer may be read by the next iteration: always kept)
    in_loop: bool


@dataclass(frozen=True)
class NestedDef:
    """Of a nested ``def`` (kept with its captured variables as keyword-only
    parameters)."""

    #: enclosing variables it reads (its own and those of the defs it calls)
    captured: tuple
    #: whether it calls other nested defs (then only inlining it works)
    calls_nested_defs: bool


@dataclass
class InlineSite:
    """Of a call the inline pass replaces by the callee's body."""

    #: the callee's normal-form statements (its return left out), its names
    body: tuple
    #: callee local -> the caller's name for it
    renames: dict
    #: callee parameter it never assigns -> the caller's argument atom
    substitutes: dict
    #: the callee normaliser's NormalFormFacts about ``body``
    facts: object
    #: the call's node in the user's source (the spliced lines are its line)
    origin: object
    #: when the callee ends ``result = <operation>``: what the caller's
    #: normaliser needs to know of the operation (``inline.OperationResult``)
    operation: object = None
    #: the caller does not use the value (a call statement)
    unused: bool = False


@dataclass(frozen=True)
class RestoreMarker:
    """Of a ``name = stack.pop()`` reverse mode placed in a loop's adjoint."""

    #: the primal name (or saved shape) popped
    name: str
    #: a nested loop's trip count: kept even if the adjoint never reads it
    trip_count: bool = False


@dataclass
class NormalFormFacts:
    """What the normaliser knows about the normal form it emitted."""

    saved_slots: NodeTable = field(default_factory=NodeTable)
    if_joins: NodeTable = field(default_factory=NodeTable)
    shared_array_checks: NodeTable = field(default_factory=NodeTable)
    nested_defs: NodeTable = field(default_factory=NodeTable)
    atoms: NodeTable = field(default_factory=NodeTable)
    inline_sites: NodeTable = field(default_factory=NodeTable)

    def tables(self):
        return (self.saved_slots, self.if_joins, self.shared_array_checks,
                self.nested_defs, self.atoms, self.inline_sites)


@dataclass
class ShapeFacts:
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

    proven: object
    assumed: object
    scalar_params: tuple
    scalar_proof: object = None


@dataclass
class GradientFacts:
    """What reverse mode knows about the gradient function it emitted."""

    float_guards: NodeTable = field(default_factory=NodeTable)
    small_values: tuple = ()
    algebra: NodeTable = field(default_factory=NodeTable)


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
