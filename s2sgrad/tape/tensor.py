"""Tensors: immutable NumPy values whose operations the active tapes record.

A :class:`Tensor` wraps one NumPy value (an ``ndarray``, or a NumPy scalar
for 0-d values) and keeps its dtype. Arithmetic operators are dispatched on
the functions of the :mod:`operator` module (``operator.mul`` for ``*``),
NumPy functions through ``__array_ufunc__`` / ``__array_function__`` (so
``np.sin(t)`` is ``np.sin``), and indexing on ``operator.getitem``: the very
primitive objects the rules registry is keyed by, so the tape and the source
transformer share every rule.

Every operation runs eagerly on the raw values. When at least one tape is
recording and one of the inputs is tracked by it, the operation is appended
to that tape as a :class:`Record` -- one line of a straight-line program
(a Wengert list) -- and its output becomes tracked too. With no tape
recording, an operation costs the NumPy call plus one small object.
"""

import inspect
import operator
import sys
import threading

import numpy as np

from s2sgrad.errors import S2SGradError
from s2sgrad.primitives import registry as _registry
from s2sgrad.runtime import Cotangents
from s2sgrad.tape import escape as _escape

class _PerThread(threading.local):
    """What one thread is doing with tapes (TensorFlow's tape stack is per
    thread too): another thread's tapes never record this thread's work.

    * ``active``: the tapes recording in this thread, innermost last;
    * ``rule_depth``: how many derivative rules this thread is running on
      recorded Tensors (nested tapes); while positive, silently turning a
      tracked Tensor into an array is an error.
    """

    def __init__(self):
        self.active = []
        self.rule_depth = 0


_local = _PerThread()

_new = object.__new__
_ndarray = np.ndarray
#: The types of sequences of inputs (``np.stack([a, b])``), exact: a named
#: tuple is a constant; a several-output primitive's cotangent is a
#: :class:`~s2sgrad.runtime.Cotangents` list.
_SEQUENCES = frozenset((list, tuple, Cotangents))
_NO_PARAMS = {}


class Record:
    """One recorded operation: ``out = prim(*args, **params)``.

    * ``prim``: the primitive object (``operator.mul``, ``np.sin``, ...),
      the key of its rule in :mod:`s2sgrad.primitives.registry`;
    * ``args``: the positional inputs as recorded nodes -- a
      :class:`Tensor` for a tensor input (a Variable appears as the
      read-snapshot Tensor of its value at that moment), the constant
      itself otherwise; lists/tuples of inputs (``np.stack([a, b])``)
      stay nested;
    * ``vals``: the same inputs as raw NumPy values (what the primitive
      was called with), so a backward pass that needs no recording never
      unwraps anything;
    * ``params``: the keyword arguments, static (``axis=0``, ...);
    * ``out``: the output Tensor, or a tuple of Tensors for a primitive
      with several outputs;
    * ``rule``: the registry's record of ``prim``, or the
      ``_CustomRule`` of a ``custom_gradient`` call (its ``grad_fn``);
    * ``needs``: one bool per positional input, True when a recording tape
      tracks it -- the inputs whose gradients the backward pass computes.
    """

    __slots__ = ("prim", "args", "vals", "params", "out", "rule", "needs")

    def __init__(self, prim, args, vals, params, out, rule, needs):
        self.prim = prim
        self.args = args
        self.vals = vals
        self.params = params
        self.out = out
        self.rule = rule
        self.needs = needs

    def __repr__(self):
        name = getattr(self.prim, "__name__", repr(self.prim))
        return f"<Record {name}: {len(self.args)} args>"


# -- rule lookup -------------------------------------------------------------

#: Marks a primitive whose outputs carry no derivative (floor, argmax...).
NONDIFF = object()

#: prim -> rule or NONDIFF; only hits are cached, so a rule registered
#: later (``sg.defgrad``) is still found.
_kinds = {}


def rule_of(prim):
    """The rule of ``prim``, :data:`NONDIFF`, or ``None`` when it has none."""
    try:
        return _kinds[prim]
    except KeyError:
        pass
    except TypeError:  # unhashable primitive
        return _lookup_uncached(prim)
    kind = _lookup_uncached(prim)
    if kind is not None:
        _kinds[prim] = kind
    return kind


def _lookup_uncached(prim):
    rule = _registry.lookup(prim)
    if rule is not None:
        return rule
    if _registry.is_nondifferentiable(prim):
        return NONDIFF
    return None


# -- recording ---------------------------------------------------------------


#: The fixed-size numeric NumPy scalar types: a value of one of them has
#: shape ``()`` and the dtype its type determines.
_NUMERIC_SCALARS = frozenset(
    t
    for t in {np.dtype(c).type for c in np.typecodes["All"]}
    if np.dtype(t).kind in "biufc" and np.dtype(t).type is t
)

#: Fixed-size numeric scalar type -> ``((), dtype)``, the (shape, dtype) of
#: its values.
_SCALAR_META = {t: ((), np.dtype(t)) for t in _NUMERIC_SCALARS}

#: NumPy scalar type -> whether its values are floating or complex (what
#: tapes record). A scalar type has one dtype kind, so the answer is cached
#: by type; arrays are asked for their dtype.
_FLOATING = {}


def _is_floating(v):
    """True when the NumPy value ``v`` is floating point or complex."""
    f = _FLOATING.get(type(v))
    if f is None:
        f = v.dtype.kind in "fc"
        if type(v) is not _ndarray and isinstance(v, np.generic):
            _FLOATING[type(v)] = f
    return f


def _record(prim, args, vals, params, out, rule=None):
    """Append ``out = prim(*args)`` to each recording tape that tracks an input.

    Only called while some tape records. Outputs that are not floating
    point (comparisons, argmax, int arithmetic) and outputs of
    non-differentiable primitives are constants: nothing is recorded.
    """
    if type(out) is tuple:
        for o in out:
            if _is_floating(o._value):
                break
        else:
            _note_cut(prim, args)
            return
    else:
        v = out._value
        if type(v) is _ndarray:
            if v.dtype.kind not in "fc":
                _note_cut(prim, args)
                return
        else:
            f = _FLOATING.get(type(v))
            if f is None:
                f = _is_floating(v)
            if not f:
                _note_cut(prim, args)
                return
    if rule is None:
        try:
            rule = _kinds[prim]
        except (KeyError, TypeError):
            rule = rule_of(prim)
        if rule is NONDIFF:
            _note_cut(prim, args)
            return
    if len(_local.active) != 1:
        _record_on_each(prim, args, vals, params, out, rule)
        return
    # one recording tape (the common case): no merging of needs
    tape = _local.active[0]
    tracked = tape._tracked
    plain = True
    hit = False
    needs = []
    for a in args:
        if isinstance(a, Tensor):
            if a._is_variable:
                plain = False
                n = tape._read_variable(a)
            else:
                n = id(a) in tracked
        elif type(a) in _SEQUENCES:
            plain = False
            n = _touches(tape, a)
        else:
            needs.append(False)
            continue
        if n:
            hit = True
        needs.append(n)
    if not hit:
        return
    if tape._escapes is not None:
        _coming_back(tape, prim, args)
    tape._records.append(
        Record(prim, args if plain else _as_nodes(args), vals, params, out, rule, tuple(needs))
    )
    if type(out) is tuple:
        for o in out:
            tracked.add(id(o))
    else:
        tracked.add(id(out))


#: at most this many places where a path was cut are noted per tape
MAX_CUTS = 64


def _note_cut(prim, args):
    """Note, on each recording tape tracking one of ``args``, that ``prim``
    gave it a result carrying no derivative (an integer, a truth value, a
    nondifferentiable primitive), with the user's line: what
    ``GradientTape.explain`` reports. Costs nothing unless an input is tracked."""
    for tape in _local.active:
        cuts = getattr(tape, "_cuts", None)
        if cuts is None or len(cuts) >= MAX_CUTS:
            continue
        inputs = _tracked_inputs(tape, args)
        if inputs:
            cuts.setdefault((prim, user_line()), inputs)


def _tracked_inputs(tape, args):
    """The Tensors among ``args`` (nested) that ``tape`` tracks (a watched
    Variable as the snapshot of its value; a trainable Variable it would
    watch as the Variable itself)."""
    found = []
    for a in args:
        if isinstance(a, Tensor):
            if a._is_variable and a._uid not in tape._watched_vars:
                if tape._auto and a._trainable:  # (it would be watched, were it recorded)
                    found.append(a)
                continue
            if a._is_variable:
                a = a._snap
            if a is not None and id(a) in tape._tracked:
                found.append(a)
        elif type(a) in _SEQUENCES:
            found += _tracked_inputs(tape, a)
    return found


def user_line():
    """``(file, line)`` of the innermost frame outside s2sgrad and NumPy."""
    frame = _escape.user_frame(sys._getframe(1))
    if frame is None:
        return None, None
    return frame.f_code.co_filename, frame.f_lineno


def _coming_back(tape, prim, args):
    """Warn if a value taken out of ``tape`` is among the inputs of ``prim``
    it records (only once the tape saw a value leave it)."""
    if not _local.rule_depth:  # (a rule recorded by an outer tape is not the user's line)
        _escape.coming_back(tape, prim, args, sys._getframe(2), _local.active)


def _escaping(t, value, how):
    """:func:`note_escape` of ``t`` called by a Tensor's conversion method."""
    note_escape((t,), value, how, sys._getframe(2))


def note_escape(tensors, value, how, frame):
    """Note, on each recording tape tracking one of ``tensors``, that code
    running in ``frame`` took their value out as the plain ``value`` (by
    ``how``: ``"float()"``, ...), for the warning when it comes back
    (:mod:`s2sgrad.tape.escape`). s2sgrad's own conversions are not the
    user's: they are not noted."""
    caller = frame
    while caller is not None and (caller.f_globals.get("__name__") or "").startswith("numpy"):
        caller = caller.f_back
    if caller is None or _escape.called_from_s2sgrad(caller):
        return
    tensors = [t for t in tensors if t._value.dtype.kind in "fc"]  # (an integer has no derivative)
    for tape in _local.active:
        if tensors and _tracked_inputs(tape, tensors):
            _escape.note(tape, value, how, frame)


def _record_on_each(prim, args, vals, params, out, rule):
    """:func:`_record` with any number of recording tapes (nested tapes)."""
    record = None
    for tape in _local.active:
        tracked = tape._tracked
        plain = True
        needs = []
        for a in args:
            if isinstance(a, Tensor):
                if a._is_variable:
                    plain = False
                    needs.append(tape._read_variable(a))
                else:
                    needs.append(id(a) in tracked)
            elif type(a) in _SEQUENCES:
                plain = False
                needs.append(_touches(tape, a))
            else:
                needs.append(False)
        if True not in needs:
            continue
        if tape._escapes is not None:
            _coming_back(tape, prim, args)
        if record is None:
            record = Record(
                prim, args if plain else _as_nodes(args), vals, params, out, rule, tuple(needs)
            )
        else:
            record.needs = tuple(x or y for x, y in zip(record.needs, needs))
        tape._records.append(record)
        if type(out) is tuple:
            for o in out:
                tracked.add(id(o))
        else:
            tracked.add(id(out))


def _check_not_escaping(t):
    """Raise if a rule running on recorded Tensors turns tracked ``t`` into a plain value.

    The value would carry on without its connection to the tape, and the
    higher derivative would silently be wrong.
    """
    for tape in _local.active:
        if id(t) in tape._tracked:
            raise S2SGradError(
                "a derivative rule converted a recorded Tensor to a plain NumPy "
                "value (np.asarray, float(), or assignment into an array), so its "
                "higher derivative cannot be recorded; give the helper doing so "
                "a rule of its own"
            )


def _touches(tape, args):
    """True when ``tape`` tracks one of ``args``; watches accessed Variables."""
    tracked = tape._tracked
    hit = False
    for a in args:
        if isinstance(a, Tensor):
            if a._is_variable:
                if tape._read_variable(a):
                    hit = True
            elif id(a) in tracked:
                hit = True
        elif type(a) in _SEQUENCES:
            if _touches(tape, a):
                hit = True
    return hit


def _as_nodes(args):
    """``args`` with every Variable replaced by the snapshot of its value."""
    nodes = []
    for a in args:
        if isinstance(a, Tensor):
            if a._is_variable:
                a = a._read()
        elif type(a) in _SEQUENCES:
            a = type(a)(_as_nodes(a))
        nodes.append(a)
    return tuple(nodes)


# -- dispatch ----------------------------------------------------------------


def _unwrap(args):
    """``args`` (a list or tuple) with Tensors replaced by their values."""
    vals = []
    for a in args:
        if isinstance(a, Tensor):
            a = a._value
        elif type(a) in _SEQUENCES:
            a = type(a)(_unwrap(a))
        vals.append(a)
    return vals


def _result_type(args):
    """The Tensor class of an op's result: that of its first tensor input."""
    for a in args:
        if isinstance(a, Tensor):
            return a._result_type
        if type(a) in _SEQUENCES:
            found = _result_type(a)
            if found is not None:
                return found
    return None


def wrap(value, cls=None):
    """A new, untracked Tensor of class ``cls`` around the NumPy ``value`` (no copy)."""
    t = _new(cls or Tensor)
    t._value = value
    return t


def _is_array(x):
    return isinstance(x, (np.ndarray, np.generic))


def apply(prim, impl, args, params):
    """Run ``impl(*raw args, **params)`` and record it as ``prim`` if needed.

    ``prim`` is the registry key; ``impl`` the function called on raw
    values (the same object for NumPy functions). A tuple (or named tuple,
    or list) of arrays becomes a tuple of Tensors recorded as one
    multi-output operation; results that are not arrays (``np.shape``,
    ``np.ndim``, ...) are returned as they are.
    """
    if len(args) == 1 and isinstance(args[0], Tensor):  # np.sum(t), ...
        a = args[0]
        cls = a._result_type
        vals = (a._value,)
    else:
        cls = None
        vals = []
        for a in args:
            if isinstance(a, Tensor):
                if cls is None:
                    cls = a._result_type
                a = a._value
            elif type(a) in _SEQUENCES:
                if cls is None:
                    cls = _result_type(a)
                a = type(a)(_unwrap(a))
            vals.append(a)
        vals = tuple(vals)
    raw = impl(*vals, **params)
    t = type(raw)
    if t is float:  # a Python float (a helper on a NumPy scalar): a value, recorded
        raw = np.float64(raw)
        t = np.float64
    if t is _ndarray or t in _FLOATING or _is_array(raw):
        if t is _ndarray and not raw.shape:
            raw = raw[()]
        out = _new(cls or Tensor)
        out._value = raw
        if _local.active:
            _record(prim, args, vals, params, out)
        return out
    if isinstance(raw, (tuple, list)) and raw and all(map(_is_array, raw)):
        cls = cls or Tensor
        outs = []
        for r in raw:
            o = _new(cls)
            o._value = r
            outs.append(o)
        outs = tuple(outs)
        if _local.active:
            _record(prim, args, vals, params, outs)
        if hasattr(raw, "_fields"):
            return type(raw)(*outs)
        return list(outs) if type(raw) is list else outs
    if raw is None and _local.active and vals and type(vals[0]) is _ndarray:
        # ``np.copyto(y, t)``, ``np.put(y, i, t)``: called for its effect, it
        # wrote tensors' values into the plain array y, taken out of the tape
        note_escape([a for a in args[1:] if isinstance(a, Tensor)], vals[0],
                    f"{getattr(prim, '__name__', 'a NumPy function')}()", sys._getframe(2))
    return raw


def _binary(op, a, b, cls):
    """``op(a, b)`` for an operator with one or two Tensor operands.

    Recording is spelt out here for the common case of one recording tape
    (this is the hottest path of a training loop); see :func:`_record`.
    """
    ta = isinstance(a, Tensor)
    tb = isinstance(b, Tensor)
    av = a._value if ta else a
    bv = b._value if tb else b
    raw = op(av, bv)
    t = type(raw)
    if t is not _ndarray and t not in _FLOATING and not _is_array(raw):
        raw = np.asarray(raw)[()]
        t = type(raw)
    out = _new(cls)
    out._value = raw
    if not _local.active:
        return out
    # -- recording: as _record(op, (a, b), (av, bv), _NO_PARAMS, out)
    if t is _ndarray:
        if raw.dtype.kind not in "fc":
            _note_cut(op, (a, b))
            return out
    elif not _FLOATING.get(t, False) and not _is_floating(raw):
        _note_cut(op, (a, b))
        return out
    try:
        rule = _kinds[op]
    except KeyError:
        rule = rule_of(op)
    if rule is NONDIFF:
        _note_cut(op, (a, b))
        return out
    if len(_local.active) != 1:
        _record_operator_on_each(op, a, b, av, bv, out, rule)
        return out
    # one recording tape (the common case), inputs Tensors or constants
    tape = _local.active[0]
    tracked = tape._tracked
    if ta:
        if a._is_variable:
            s = a._snap
            if s is None or id(s) not in tracked or a._uid not in tape._watched_vars:
                na = tape._read_variable(a)
                s = a._snap
                if s is None:
                    s = a._read()
            else:
                na = True
            a = s
        else:
            na = id(a) in tracked
    elif type(a) in _SEQUENCES:
        _record_operator_on_each(op, a, b, av, bv, out, rule)
        return out
    else:
        na = False
    if tb:
        if b._is_variable:
            s = b._snap
            if s is None or id(s) not in tracked or b._uid not in tape._watched_vars:
                nb = tape._read_variable(b)
                s = b._snap
                if s is None:
                    s = b._read()
            else:
                nb = True
            b = s
        else:
            nb = id(b) in tracked
    elif type(b) in _SEQUENCES:
        _record_operator_on_each(op, a, b, av, bv, out, rule)
        return out
    elif na:
        nb = False
    else:
        return out
    if na or nb:
        if tape._escapes is not None and not (ta and tb):
            _coming_back(tape, op, (a, b))
        tape._records.append(Record(op, (a, b), (av, bv), _NO_PARAMS, out, rule, (na, nb)))
        tracked.add(id(out))
    return out


def _record_operator_on_each(op, a, b, av, bv, out, rule):
    """Record ``op(a, b)`` on each recording tape (several tapes, or a list
    or tuple operand). An operand that is a list or tuple of no tensors
    (``x * [2.0, 3.0]``) is the array NumPy made of it: a constant of the
    recorded program (a list in the generated code would mean a sequence)."""
    args = (a, b)
    if type(a) in _SEQUENCES and not _has_tensor(a):
        a = av = np.asarray(a)
    if type(b) in _SEQUENCES and not _has_tensor(b):
        b = bv = np.asarray(b)
    if a is not args[0] or b is not args[1]:
        for tape in _local.active:  # (whether the list itself came out of the tape)
            if tape._escapes is not None and _tracked_inputs(tape, args):
                _coming_back(tape, op, args)
    _record_on_each(op, (a, b), (av, bv), _NO_PARAMS, out, rule)


def _has_tensor(seq):
    for e in seq:
        if isinstance(e, Tensor) or (type(e) in _SEQUENCES and _has_tensor(e)):
            return True
    return False


def _unary(op, a):
    out = _new(a._result_type)
    av = a._value
    out._value = op(av)
    if _local.active:
        _record(op, (a,), (av,), _NO_PARAMS, out)
    return out


#: Types of keyword arguments that take no part in NumPy's dispatch (axis,
#: keepdims, ddof, ...): with only these and one Tensor argument, a NumPy
#: function is called through its ``_implementation``.
_PLAIN_PARAMS = frozenset((type(None), bool, int, float, str))


def _tensor_keywords_by_position(func, args, kwargs):
    """``args`` and ``kwargs`` of a call of ``func`` with every keyword
    argument holding a Tensor passed by position instead (with the defaults
    of the parameters before it), so the tape records it as an input and
    not as a constant; a keyword-only one cannot be and is refused."""
    signature = inspect.signature(func)
    bound = signature.bind(*args, **kwargs)
    params = list(signature.parameters.values())
    by_position = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    for param in params:
        if isinstance(bound.arguments.get(param.name), Tensor) and param.kind not in by_position:
            raise TypeError(f"{getattr(func, '__name__', func)}: the tensor passed as {param.name}= "
                            "cannot be differentiated (a keyword-only parameter)")
    last = max(i for i, p in enumerate(params) if isinstance(bound.arguments.get(p.name), Tensor))
    positional = tuple(bound.arguments.get(p.name, p.default) for p in params[:last + 1])
    rest = {k: v for k, v in kwargs.items() if k not in {p.name for p in params[:last + 1]}}
    return positional, rest


def _no_out(kwargs):
    if "out" in kwargs:
        raise TypeError("s2sgrad Tensors are immutable: out= is not supported")


# -- the Tensor class ----------------------------------------------------------


def _to_value(value, dtype=None):
    """A NumPy value for a Tensor: ndarray, or a NumPy scalar when 0-d."""
    if isinstance(value, Tensor):
        value = value._value
    v = np.asarray(value, dtype=dtype)
    if v.ndim == 0:
        return v[()]
    return v


class Tensor:
    """An immutable NumPy value that tapes can record operations on.

    Construct with :func:`constant`; results of operations on tensors are
    tensors of the same flavour (``s2sgrad.tf`` subclasses only change how
    they print).
    """

    __slots__ = ("_value", "__weakref__")
    #: Defer binary operators on ndarrays to us (``ndarray * tensor``).
    __array_priority__ = 1000
    _is_variable = False

    def __init__(self, value, dtype=None):
        self._value = _to_value(value, dtype)

    # -- plain properties (no recording) --------------------------------
    @property
    def dtype(self):
        return self._value.dtype

    @property
    def shape(self):
        return self._value.shape

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def size(self):
        return self._value.size

    # (taking the value out while a tape records is noted: see tape/escape.py)
    def numpy(self):
        """The value as NumPy: a scalar for 0-d tensors, else a copy."""
        v = self._value
        if type(v) is np.ndarray:
            v = v.copy()
        if _local.active:
            _escaping(self, v, "numpy()")
        return v

    def item(self, *args):
        v = self._value.item(*args)
        if _local.active:
            _escaping(self, v, "item()")
        return v

    def tolist(self):
        v = self._value.tolist()
        if _local.active:
            _escaping(self, v, "tolist()")
        return v

    def ref(self):
        """A hashable reference to this tensor (TensorFlow's ``ref()``)."""
        return Reference(self)

    def __array__(self, dtype=None, copy=None):
        if _local.rule_depth:
            _check_not_escaping(self)
        v = np.asarray(self._value)
        if dtype is not None and v.dtype != dtype:
            v = v.astype(dtype)
        elif copy:
            v = v.copy()
        if _local.active:
            _escaping(self, v, "np.asarray()")
        return v

    def __float__(self):
        if _local.rule_depth:
            _check_not_escaping(self)
        v = float(self._value)
        if _local.active:
            _escaping(self, v, "float()")
        return v

    def __int__(self):
        # (not noted: an integer part's derivative is zero wherever it has
        # one, so the constant is the right answer)
        return int(self._value)

    def __complex__(self):
        v = complex(self._value)
        if _local.active:
            _escaping(self, v, "complex()")
        return v

    def __index__(self):
        return operator.index(self._value)

    def __bool__(self):
        return bool(self._value)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._value)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        for i in range(len(self._value)):
            yield self[i]

    def __setitem__(self, key, value):
        raise TypeError(
            f"{type(self).__name__!r} object does not support item assignment"
        )

    __hash__ = object.__hash__

    # -- printing ------------------------------------------------------------
    def __repr__(self):
        prefix = type(self).__name__ + "("
        body = np.array2string(np.asarray(self._value), separator=", ", prefix=prefix)
        return f"{prefix}{body}, dtype={self.dtype})"

    __str__ = __repr__

    def __format__(self, spec):
        return format(self._value, spec)

    # -- NumPy protocols -----------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if kwargs:
            _no_out(kwargs)
        if method == "__call__":
            if len(inputs) == 1 and ufunc.nout == 1:
                out = _new(self._result_type)
                v = self._value
                out._value = ufunc(v, **kwargs)
                if _local.active:
                    _record(ufunc, inputs, (v,), kwargs, out)
                return out
            return apply(ufunc, ufunc, inputs, kwargs)
        bound = getattr(ufunc, method)
        return apply(bound, bound, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        impl = func
        if kwargs:
            _no_out(kwargs)
            plain = True
            for v in kwargs.values():
                if isinstance(v, Tensor):
                    # a tensor passed by keyword (np.average(x, weights=w)):
                    # the rules' arguments are positional, recorded ones
                    args, kwargs = _tensor_keywords_by_position(func, args, kwargs)
                    plain = False
                    break
                if type(v) not in _PLAIN_PARAMS and not (
                    type(v) is tuple and all(type(e) is int for e in v)
                ):
                    plain = False
            if plain and len(args) == 1 and isinstance(args[0], Tensor):
                impl = getattr(func, "_implementation", func)
        elif len(args) == 1 and isinstance(args[0], Tensor):
            # ``np.sum(t)``: called on the plain value, NumPy's dispatch would
            # only find that value, so skip straight to the implementation
            impl = getattr(func, "_implementation", func)
        return apply(func, impl, args, kwargs)

    # -- operators -------------------------------------------------------------
    def __add__(self, other):
        return _binary(operator.add, self, other, self._result_type)

    def __radd__(self, other):
        return _binary(operator.add, other, self, self._result_type)

    def __sub__(self, other):
        return _binary(operator.sub, self, other, self._result_type)

    def __rsub__(self, other):
        return _binary(operator.sub, other, self, self._result_type)

    def __mul__(self, other):
        return _binary(operator.mul, self, other, self._result_type)

    def __rmul__(self, other):
        return _binary(operator.mul, other, self, self._result_type)

    def __truediv__(self, other):
        return _binary(operator.truediv, self, other, self._result_type)

    def __rtruediv__(self, other):
        return _binary(operator.truediv, other, self, self._result_type)

    def __floordiv__(self, other):
        return _binary(operator.floordiv, self, other, self._result_type)

    def __rfloordiv__(self, other):
        return _binary(operator.floordiv, other, self, self._result_type)

    def __mod__(self, other):
        return _binary(operator.mod, self, other, self._result_type)

    def __rmod__(self, other):
        return _binary(operator.mod, other, self, self._result_type)

    def __pow__(self, other):
        return _binary(operator.pow, self, other, self._result_type)

    def __rpow__(self, other):
        return _binary(operator.pow, other, self, self._result_type)

    def __matmul__(self, other):
        return _binary(operator.matmul, self, other, self._result_type)

    def __rmatmul__(self, other):
        return _binary(operator.matmul, other, self, self._result_type)

    def __neg__(self):
        return _unary(operator.neg, self)

    def __pos__(self):
        return _unary(operator.pos, self)

    def __abs__(self):
        return _unary(operator.abs, self)

    def __invert__(self):
        return _unary(operator.invert, self)

    def __and__(self, other):
        return _binary(operator.and_, self, other, self._result_type)

    def __rand__(self, other):
        return _binary(operator.and_, other, self, self._result_type)

    def __or__(self, other):
        return _binary(operator.or_, self, other, self._result_type)

    def __ror__(self, other):
        return _binary(operator.or_, other, self, self._result_type)

    def __xor__(self, other):
        return _binary(operator.xor, self, other, self._result_type)

    def __rxor__(self, other):
        return _binary(operator.xor, other, self, self._result_type)

    def __lt__(self, other):
        return _binary(operator.lt, self, other, self._result_type)

    def __le__(self, other):
        return _binary(operator.le, self, other, self._result_type)

    def __gt__(self, other):
        return _binary(operator.gt, self, other, self._result_type)

    def __ge__(self, other):
        return _binary(operator.ge, self, other, self._result_type)

    def __eq__(self, other):
        return _binary(operator.eq, self, other, self._result_type)

    def __ne__(self, other):
        return _binary(operator.ne, self, other, self._result_type)

    def __getitem__(self, key):
        key = _raw_index(key)
        out = _new(self._result_type)
        v = self._value
        out._value = v[key]
        if _local.active:
            _record(operator.getitem, (self, key), (v, key), _NO_PARAMS, out)
        return out

    # -- ndarray-style methods (each a recorded NumPy function) ---------------
    # The spellings that mean a primitive (``t.sum()``, ``t.reshape(2, 3)``,
    # ``t.T``) come from the primitives' records: see _install_spellings.
    @property
    def mT(self):
        return np.swapaxes(self, -1, -2)

    def conj(self):
        return np.conj(self)

    conjugate = conj

    def astype(self, dtype):
        return cast(self, dtype)


def _method(primitive, packs_varargs, defaults):
    """``t.<name>(...)``: ``primitive(t, ...)``, recorded like any call of it."""
    if defaults:

        def method(self, *args, **kwargs):
            if not kwargs:  # t.clip(1.0) is np.clip(t, 1.0, None)
                args += defaults[len(args):]
            return primitive(self, *args, **kwargs)
    elif packs_varargs:

        def method(self, *args, **kwargs):
            if len(args) > 1:  # t.reshape(2, 3) is np.reshape(t, (2, 3))
                args = (args,)
            return primitive(self, *args, **kwargs)
    else:

        def method(self, *args, **kwargs):
            return primitive(self, *args, **kwargs)

    return method


def _install_spellings(cls):
    """Give ``cls`` the ndarray method and attribute spellings of every
    primitive record (the attributes of differentiable ones: a tensor's
    ``shape`` and ``dtype`` are its own metadata, not recorded calls)."""
    for record in _registry.records():
        for name in record.methods:
            method = _method(record.primitive, record.packs_varargs, record.method_defaults)
            method.__name__, method.__qualname__ = name, f"{cls.__name__}.{name}"
            method.__doc__ = f"``{getattr(record.primitive, '__name__', name)}(self, ...)``"
            setattr(cls, name, method)
        if not record.nondifferentiable:
            for name in record.attributes:
                setattr(cls, name, property(record.primitive))


_install_spellings(Tensor)


Tensor._result_type = Tensor


def _raw_index(key):
    """An index with Tensors replaced by their values (indices are constants)."""
    if isinstance(key, Tensor):
        return key._value
    if type(key) is tuple:
        return tuple(k._value if isinstance(k, Tensor) else k for k in key)
    if type(key) is list and any(isinstance(k, Tensor) for k in key):
        return [k._value if isinstance(k, Tensor) else k for k in key]
    return key


class Reference:
    """A hashable handle on a tensor or variable, compared by identity."""

    __slots__ = ("_obj",)

    def __init__(self, obj):
        self._obj = obj

    def deref(self):
        return self._obj

    def __hash__(self):
        return id(self._obj)

    def __eq__(self, other):
        return isinstance(other, Reference) and other._obj is self._obj

    def __repr__(self):
        return f"<Reference wrapping {self._obj!r}>"


def cast(x, dtype):
    """``x`` converted to ``dtype``; differentiable between floating types.

    On a Tensor this is recorded as ``np.asarray(x, dtype=dtype)``, whose
    rule passes the cotangent back (the gradient is cast back to the
    source's dtype when the tape hands it out).
    """
    dtype = np.dtype(dtype)
    if isinstance(x, Tensor):
        return apply(np.asarray, np.asarray, (x,), {"dtype": dtype})
    return np.asarray(x, dtype=dtype)[()]


def constant(value, dtype=None, shape=None, name=None):
    """A Tensor holding ``value`` (NumPy's dtype defaults unless ``dtype``).

    ``shape`` broadcasts a scalar or checks an array, as in TensorFlow;
    ``name`` is accepted for compatibility.

    >>> import s2sgrad as sg
    >>> sg.constant(2.0, shape=(2,))
    Tensor([2., 2.], dtype=float64)
    """
    return _make_constant(Tensor, value, dtype, shape)


def _make_constant(cls, value, dtype, shape):
    v = _to_value(value, dtype)
    if shape is not None:
        shape = tuple(shape)
        if np.size(v) == 1 and np.shape(v) != shape:
            v = _to_value(np.full(shape, np.reshape(v, ()), dtype=v.dtype))
        elif np.shape(v) != shape:
            v = _to_value(np.reshape(v, shape))
    t = _new(cls)
    t._value = v
    return t


def stop_gradient(x):
    """``x`` with no derivative flowing back through it.

    For a Tensor or Variable, a new untracked Tensor with the same value;
    anything else (a NumPy array, a float) is returned unchanged, which is
    what the source transformer relies on when it uses this as an identity.

    >>> import s2sgrad as sg
    >>> def f(x):
    ...     return x * sg.stop_gradient(x)
    >>> sg.grad(f)(3.0)                       # only the first factor is differentiated
    3.0
    """
    if isinstance(x, Tensor):
        t = _new(x._result_type)
        t._value = x._value
        if _local.active:
            _note_cut(stop_gradient, (x,))
        return t
    return x


_registry.defnondiff(stop_gradient)  # (for the source transformer: a constant)


