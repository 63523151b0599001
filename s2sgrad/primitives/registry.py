"""The one table of primitives: one :class:`Primitive` record per object.

A record holds everything the engine knows about one primitive (``np.sin``
the object, never the string "sin", so ``import numpy as anything`` and
``from numpy import sin`` both find it): its derivative rules and the facts
the passes and the tape read instead of keeping tables of their own
(whether it is elementwise, a view, an allocator, a reduction, which
ndarray method and attribute spellings mean it, ...). Every registration
goes through :func:`_update`, which bumps :func:`generation`, so caches of
generated code can tell that a rule or fact changed.

A VJP rule is a plain ``def`` whose first two parameters are ``g`` (the
cotangent of the result) and ``ans`` (the primal result), followed by the
primitive's own parameters with the primitive's names and order. It returns
a tuple with one entry per positional parameter after ``ans`` (shorter
tuples mean the rest get no gradient); ``None`` marks "no gradient".
A primitive taking ``*args`` (``np.einsum``) has a rule taking them too:
its entry for them is a list, one cotangent per argument it took (in a
forward rule, the entry's ``g`` is the list of their tangents, None where
inactive).
The same rule object serves two clients:

* the source transformer inlines the rule's body as a template, so a rule
  body must be straight-line: assignments to local names followed by one
  ``return (expr, ...)``; anything needing control flow belongs in a helper
  function in ``s2sgrad.runtime`` (which has a rule of its own);
* the tape calls the rule directly on recorded values.

The ``jvp`` slot holds a forward-mode rule (:func:`defjvp`), shaped like a
VJP rule: ``(g, ans, *params)`` returning one entry per parameter, entry
``i`` being the tangent of the result when ``g`` is the tangent of
parameter ``i`` and the other arguments are held fixed (entries of several
active arguments add). Most primitives need none: ``s2sgrad.transform.forward``
derives the forward rule of an ``elementwise``, ``linear`` or
``multilinear`` primitive from its VJP rule or from the primitive itself.
"""

import contextlib
import dataclasses
import inspect
import itertools
import weakref
from dataclasses import dataclass, field

#: How the dtype of a primitive's result follows its inputs.
DTYPES = (
    "same",    # the inputs' common (promoted) type: +, sin, reshape, sum...
    "float",   # floating point even for integer inputs: mean, true division, float()
    "bool",    # comparisons and predicates
    "int",     # indices, counts, rounding to integers (argmax, len, int())
    "given",   # set by an argument or independent of the inputs (zeros, array(dtype=))
)


@dataclass(frozen=True)
class Primitive:
    """Everything known about one primitive object."""

    primitive: object
    #: the reverse-mode rule (see the module docstring), or None
    vjp: object = None
    #: the forward-mode rule (see the module docstring), or None
    jvp: object = None
    #: the forward rule for tangents carrying a leading batch axis of k
    #: directions, shaped like ``jvp`` (:func:`defbatched`; the convention is
    #: at the top of ``s2sgrad.primitives.forward_rules``), or None
    batched_jvp: object = None
    #: its forward rule (``jvp``, or the linear/multilinear derivation) is
    #: right as it stands on tangents carrying a leading batch axis
    batches: bool = False
    #: its outputs carry no derivative and using it is never an error
    #: (floor, argmax, comparisons, zeros_like)
    nondifferentiable: bool = False
    #: the result has the broadcast shape of the inputs and the derivative
    #: is taken entry by entry (sin, +, where, ...)
    elementwise: bool = False
    #: linear in its differentiable arguments jointly (sum, reshape, negation,
    #: +): its forward rule is the primitive applied to their tangents
    linear: bool = False
    #: linear in each argument with the others held fixed (matmul, tensordot):
    #: its forward rule sums the primitive with one argument replaced by its
    #: tangent, argument by argument
    multilinear: bool = False
    #: index of the argument whose shape the result always has (passed
    #: positionally), or None: ``getitem_adjoint(g, a, i)`` is shaped like ``a``
    shaped_like: object = None
    #: index of the argument whose memory the result may share, or None
    view_of: object = None
    #: the result is always a fresh array nothing else refers to
    allocates: bool = False
    #: indices of the arguments the call writes into in place
    mutates: tuple = ()
    #: ndarray method spellings meaning this primitive with the array
    #: first: ``x.sum()`` is ``np.sum(x)``
    methods: tuple = ()
    #: a method spelling's extra positional arguments form one tuple:
    #: ``x.reshape(2, 3)`` is ``np.reshape(x, (2, 3))``
    packs_varargs: bool = False
    #: trailing positional arguments a method spelling may leave out though
    #: the function needs them: ``x.clip(1.0)`` is ``np.clip(x, 1.0, None)``
    method_defaults: tuple = ()
    #: ndarray attribute spellings meaning this primitive of the array:
    #: ``x.T`` is ``np.transpose(x)``, ``x.shape`` is ``np.shape(x)``
    attributes: tuple = ()
    #: the Python operator syntax spelling it: ``ast.Add`` for ``operator.add``
    operator_node: object = None
    #: the result is a Python scalar whatever the arguments (math.sin, len)
    scalar: bool = False
    #: called with the array alone (no axis) it reduces to a scalar
    reduction: bool = False
    #: how the result's dtype follows the inputs (one of :data:`DTYPES`)
    dtype: str = "same"
    #: the result as a function of the argument's shape alone (np.shape,
    #: np.ndim, np.size), so it folds to a constant where the shape is known
    from_shape: object = None
    #: indices of the arguments whose being a tuple or list makes the result
    #: a list (the cotangent helpers: ``add_cotangents``, ``getitem_adjoint``)
    sequence_of: tuple = ()
    #: the result is a list of arrays (``split``): its cotangent is a list,
    #: summed entry by entry
    returns_list: bool = False
    #: indices of the arguments it reads as lists, tuples or dicts (builtin
    #: ``sum``, ``np.stack``): their cotangent is a structure, which an
    #: argument's gradient turns back into the argument's own type
    structures: tuple = ()
    #: the result is a list, tuple or dict holding the arguments themselves
    #: (``appended``, ``dict_display``): it shares memory with each of them
    holds: bool = False
    #: its arguments or result may be structures (the cotangent helpers of
    #: sequences and dicts): forward mode, which builds no structure
    #: tangents yet, refuses it instead of deriving a rule from its facts
    structured_cotangents: bool = False
    #: a stack operation of generated code: "push" (argument 1 goes on the
    #: list argument 0) or "pop" (the result comes off the list argument 0).
    #: A stack's cotangent is a stack of its entries' cotangents, so the
    #: adjoint of a push is a pop of the cotangent stack and vice versa
    stack: str = None
    order: int = field(default=0, compare=False)


_RECORDS = {}
_BY_METHOD = {}
_BY_ATTRIBUTE = {}
_BY_OPERATOR = {}
#: the same by the node class's name (what a disk cache entry can name)
_BY_OPERATOR_NAME = {}
_NONDIFFERENTIABLE_MODULES = []
_order = itertools.count()

#: Bumped by every registration; part of every cache key, so code generated
#: before a rule was added or replaced is never served after it.
_generation = 0


#: after :func:`seal`: the primitives registered or changed since, in order
#: (None before), and the nondifferentiable module prefixes declared since
_since_seal = None


def seal():
    """Mark the end of the engine's own registrations (the rule families'
    imports): what changes the table later is listed by :func:`changed_since_seal`,
    so a digest of the table need only describe that (the rest follows from
    the engine's sources)."""
    global _since_seal
    if _since_seal is None:
        _since_seal = {"records": {}, "modules": []}


def changed_since_seal():
    """The records registered or changed after :func:`seal`, in the order of
    their first change, and the module prefixes declared after it."""
    if _since_seal is None:
        return [], []
    found = [record(p) for p in _since_seal["records"].values()]
    return [r for r in found if r is not None], list(_since_seal["modules"])


def changed_record(primitive):
    """The record of ``primitive`` when it was registered or changed after
    :func:`seal` (what the engine's own sources do not fix), else None.
    (Not a lookup: :func:`lookups` logs do not receive it.)"""
    if _since_seal is None or _since_seal["records"].get(id(primitive)) is not primitive:
        return None
    found = _RECORDS.get(id(primitive))
    return found if found is not None and found.primitive is primitive else None


def modules_since_seal():
    """The nondifferentiable module prefixes declared after :func:`seal`."""
    return [] if _since_seal is None else list(_since_seal["modules"])


def generation():
    """How many registrations changed the tables so far (a cache-key part)."""
    return _generation


#: objects holding code generated under the rules of their time, told when
#: the rules change (held weakly: a listener lives as long as its owner)
_listeners = weakref.WeakSet()


def on_change(listener):
    """Call ``listener.rules_changed()`` after every later registration.

    For caches that cannot carry :func:`generation` in a key looked up on
    every call (a compiled ``tf.function`` block installs its generated entry
    where the function calls it directly): they are emptied when a rule
    changes instead, so no check runs in the generated hot path.
    """
    _listeners.add(listener)


def _bump():
    global _generation
    _generation += 1
    if not _listeners.data:  # (the engine's own hundreds at import: nobody listens yet)
        return
    for listener in list(_listeners):
        listener.rules_changed()


def _update(primitive, **changes):
    """The record of ``primitive`` with ``changes`` applied (created if new)."""
    record = _RECORDS.get(id(primitive))
    if record is None or record.primitive is not primitive:  # (new, or an id reused)
        record = _new_record(primitive)
    if "dtype" in changes and changes["dtype"] not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, not {changes['dtype']!r}")
    record = _replaced(record, changes)
    _RECORDS[id(primitive)] = record
    if _since_seal is not None:
        _since_seal["records"].setdefault(id(primitive), primitive)
    for name in record.methods:
        _BY_METHOD[name] = record
    for name in record.attributes:
        _BY_ATTRIBUTE[name] = record
    if record.operator_node is not None:
        _BY_OPERATOR[record.operator_node] = record
        _BY_OPERATOR_NAME[record.operator_node.__name__] = record
    _bump()
    return record


#: the names of a record's fields
_FIELDS = frozenset(f.name for f in dataclasses.fields(Primitive))


def _new_record(primitive):
    """A record of ``primitive`` with every field at its default (what
    ``Primitive(primitive)`` makes, without running the dataclass's
    ``__init__``: the engine registers hundreds as it is imported)."""
    return _replaced(_BLANK, {"primitive": primitive, "order": next(_order)})


def _replaced(record, changes):
    """``dataclasses.replace(record, **changes)``, at a fraction of its cost
    (the record is frozen: a new one is made, field by field the same)."""
    unknown = changes.keys() - _FIELDS
    if unknown:
        raise TypeError(f"a primitive's record has no field {sorted(unknown)[0]!r}")
    new = object.__new__(Primitive)
    fields = new.__dict__
    fields.update(record.__dict__)
    fields.update(changes)
    return new


_BLANK = Primitive(None)


def defvjp(*primitives, **facts):
    """Register the decorated ``def`` as the VJP rule of each of ``primitives``
    (with ``facts``, fields of :class:`Primitive`, for all of them)."""

    def register(vjp):
        for primitive in primitives:
            _update(primitive, vjp=vjp, nondifferentiable=False, **facts)
        return vjp

    return register


def defjvp(*primitives, **facts):
    """Register the decorated ``def`` as the forward-mode rule of ``primitives``."""

    def register(jvp):
        for primitive in primitives:
            _update(primitive, jvp=jvp, **facts)
        return jvp

    return register


def defbatched(*primitives, **facts):
    """Register the decorated ``def`` as the batched forward rule of ``primitives``:
    shaped like a forward rule, its ``g`` carrying a leading batch axis."""

    def register(rule):
        for primitive in primitives:
            _update(primitive, batched_jvp=rule, **facts)
        return rule

    return register


def defnondiff(*primitives, **facts):
    """Declare primitives whose outputs carry no derivative (floor, argmax...).

    Their results are treated as constants: no gradient flows through them,
    and using them is never an error.
    """
    for primitive in primitives:
        _update(primitive, nondifferentiable=True, vjp=None, **facts)


def deffacts(*primitives, **facts):
    """Set facts of ``primitives`` (fields of :class:`Primitive`), which may
    have no rule at all (``np.diagonal`` is a view even without one)."""
    for primitive in primitives:
        _update(primitive, **facts)


def defnondiff_module(prefix):
    """Declare every function of modules named ``prefix...`` nondifferentiable
    (and methods of objects whose type lives there, e.g. random generators)."""
    _NONDIFFERENTIABLE_MODULES.append(prefix)
    if _since_seal is not None:
        _since_seal["modules"].append(prefix)
    _bump()


#: the logs of the generations running now (see :func:`lookups`)
_active_logs = []


@contextlib.contextmanager
def lookups():
    """Log what the table is asked while the block runs: yields a dict that
    receives ``id -> primitive`` for every object whose record is looked up,
    and ``(kind, name) -> None`` for every lookup by spelling (``("method",
    "sum")``, ``("attribute", "T")``, ``("operator", "Add")``). What a
    generation's output depends on in the table is what its log names (a
    disk cache entry keeps that, see s2sgrad.codegen.portable.rules_used).
    Logs of generations in other threads may receive more: never less."""
    log = {}
    _active_logs.append(log)
    try:
        yield log
    finally:
        _active_logs.remove(log)


def _note(key, value):
    for log in _active_logs:
        log[key] = value


def record(primitive):
    """The :class:`Primitive` record of ``primitive``, or None."""
    if _active_logs:
        _note(id(primitive), primitive)
    found = _RECORDS.get(id(primitive))
    return found if found is not None and found.primitive is primitive else None


def lookup(primitive):
    """The record of ``primitive`` when it has a VJP rule, else None."""
    found = record(primitive)
    return found if found is not None and found.vjp is not None else None


def method(name):
    """The record of the primitive the ndarray method ``name`` spells, or None."""
    if _active_logs:
        _note(("method", name), None)
    return _BY_METHOD.get(name)


def attribute(name):
    """The record of the primitive the ndarray attribute ``name`` spells, or None."""
    if _active_logs:
        _note(("attribute", name), None)
    return _BY_ATTRIBUTE.get(name)


def operator(node_type):
    """The record of the primitive an operator node class spells (``ast.Add``), or None."""
    if _active_logs:
        _note(("operator", node_type.__name__), None)
    return _BY_OPERATOR.get(node_type)


def spelled(kind, name):
    """The record :func:`method`, :func:`attribute` or :func:`operator`
    (``kind``) returns for the spelling ``name`` (an operator by its node
    class's name), or None."""
    if kind == "operator":
        return _BY_OPERATOR_NAME.get(name)
    return {"method": _BY_METHOD, "attribute": _BY_ATTRIBUTE}[kind].get(name)


def is_nondifferentiable(primitive):
    """True when ``primitive`` was declared with :func:`defnondiff` (or its
    module with :func:`defnondiff_module`)."""
    found = record(primitive)
    if found is not None:
        return found.nondifferentiable
    if _NONDIFFERENTIABLE_MODULES:
        owner = getattr(primitive, "__self__", None)
        module = getattr(primitive, "__module__", None) or (
            type(owner).__module__ if owner is not None else "")
        return any(str(module).startswith(p) for p in _NONDIFFERENTIABLE_MODULES)
    return False


#: modules whose Python-level functions are primitives like the rest of
#: the library, never the user's code: ``np.full`` or ``np.kaiser`` is
#: differentiated by its rule or refused at the user's line, not traced
#: into NumPy's source (whose writes, raises and varargs are not the user's)
LIBRARY_MODULES = ("numpy",)


def is_user_function(obj):
    """True for a plain Python function to differentiate into: no rule, not
    declared nondifferentiable, and not a function of :data:`LIBRARY_MODULES`."""
    if not inspect.isfunction(obj) or lookup(obj) is not None or is_nondifferentiable(obj):
        return False
    module = getattr(obj, "__module__", None) or ""
    return module.partition(".")[0] not in LIBRARY_MODULES


def is_user_object(obj):
    """True for an instance of a plain class of the user's: not an array,
    number, container, function, class or module, nor an object of
    :data:`LIBRARY_MODULES` or of s2sgrad itself, and no rule of its own."""
    cls = type(obj)
    module = (getattr(cls, "__module__", None) or "").partition(".")[0]
    return type(cls) is type and module not in (*LIBRARY_MODULES, "s2sgrad", "builtins") \
        and not inspect.isroutine(obj) and not inspect.ismodule(obj) \
        and lookup(obj) is None and not is_nondifferentiable(obj)


def records():
    """Every record, in registration order."""
    return sorted(_RECORDS.values(), key=lambda r: r.order)


def registered_primitives():
    """Every primitive with a VJP rule, in registration order."""
    return [r.primitive for r in records() if r.vjp is not None]
