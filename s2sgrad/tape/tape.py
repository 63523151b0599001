"""GradientTape: record operations eagerly, then rewind them for gradients.

Semantics follow TensorFlow's ``tf.GradientTape``:

* inside ``with GradientTape() as tape:`` every operation with an input the
  tape tracks is recorded (tracked: watched tensors, read-snapshots of
  watched variables, and outputs of recorded operations);
* trainable variables are watched when they are used
  (``watch_accessed_variables=True``); ``tape.watch`` watches tensors and
  variables explicitly (nested structures too); only floating and complex
  values are watched;
* ``gradient`` sums over the targets (weighted by ``output_gradients``),
  returns the structure of ``sources``, ``None`` (or zeros) for sources the
  targets do not depend on and for integer sources; a non-persistent tape
  answers one ``gradient``/``jacobian`` call;
* when ``gradient`` runs while a tape records (nested tapes), the backward
  pass itself is recorded, which gives higher derivatives.
"""

import contextlib
import enum
import functools
import inspect

import numpy as np

from s2sgrad.tape import tensor as _tensor
from s2sgrad.tape.compiled import forget_stale_rules, rewind
from s2sgrad.tape.explain import explain_tape
from s2sgrad.tape.tensor import (
    _FLOATING,
    Tensor,
    _local,
    _is_floating,
    _ndarray,
    _new,
    wrap,
)


class UnconnectedGradients(enum.Enum):
    """What ``gradient`` returns for a source the target does not depend on."""

    NONE = "none"
    ZERO = "zero"


def _unconnected_mode(value):
    """True for zeros, False for None; ValueError for anything else."""
    if isinstance(value, UnconnectedGradients):
        return value is UnconnectedGradients.ZERO
    try:
        return UnconnectedGradients(value) is UnconnectedGradients.ZERO
    except ValueError:
        raise ValueError(f"Unknown value for unconnected_gradients: {value!r}") from None


_SPENT = (
    "A non-persistent GradientTape can only be used to compute one set of "
    "gradients (or jacobians)"
)


def _reads_of(variable, reads, seeded):
    """The snapshots of ``variable`` whose cotangents are its gradient: those
    read while recording, and its current value when that is itself a target
    (``tape.gradient(v, v)`` is ones, as in TensorFlow)."""
    found = reads.get(variable._uid, ())
    snap = variable._snap
    if snap is not None and id(snap) in seeded and all(r is not snap for r in found):
        return (*found, snap)
    return found


class GradientTape:
    """Records operations on watched values; ``gradient`` differentiates them.

    >>> import numpy as np, s2sgrad as sg
    >>> x = sg.Variable(3.0)
    >>> with sg.GradientTape() as tape:
    ...     y = x ** 2 + np.sin(0.0 * x)
    >>> tape.gradient(y, x)                   # 2 x + 0
    Tensor(6., dtype=float64)
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = bool(persistent)
        self._auto = bool(watch_accessed_variables)
        self._recording = False
        # TensorFlow's tape starts without its recording (``_tape is None``):
        # ``gradient`` before ``with`` is the error of a spent tape.
        self._records = None
        # as _clear() does (spelt out: a tape is created every training step)
        self._tracked = set()
        self._watched = []
        self._watched_vars = {}
        self._reads = {}
        self._cuts = {}
        self._escapes = None
        self._spent = None

    def _clear(self):
        #: the recorded program (list of Records), None once spent.
        self._records = []
        #: ids of the Tensors this tape tracks.
        self._tracked = set()
        #: explicitly watched Tensors (kept alive while their ids are tracked).
        self._watched = []
        #: variable._uid -> variable, for every watched variable (keyed by the
        #: variable's unique id, never reused, unlike id()).
        self._watched_vars = {}
        #: variable._uid -> the read-snapshots of it this tape tracks.
        self._reads = {}
        #: (primitive, (file, line)) -> the tracked inputs it gave a result
        #: with no derivative (see tensor._note_cut; read by explain)
        self._cuts = {}
        #: the values taken out of the tape, once one is (see tape/escape.py)
        self._escapes = None

    # -- the context manager ------------------------------------------------
    def __enter__(self):
        if self._recording:
            raise ValueError(
                "Tape is still recording, This can happen if you try to "
                "re-enter an already-active tape."
            )
        forget_stale_rules()
        self._push()
        return self

    def __exit__(self, *exc):
        if _local.active and _local.active[-1] is self:
            del _local.active[-1]
            self._recording = False
        else:
            self._pop()
        return False

    def _push(self):
        """Start recording, on a fresh recording if the tape has none (as TensorFlow's)."""
        if self._records is None:
            self._clear()
        _local.active.append(self)
        self._recording = True

    def _pop(self):
        if _local.active and _local.active[-1] is self:
            del _local.active[-1]
        else:
            for i in range(len(_local.active) - 1, -1, -1):
                if _local.active[i] is self:
                    del _local.active[i]
                    break
        self._recording = False

    @contextlib.contextmanager
    def stop_recording(self):
        """Temporarily stop recording operations on this tape.

        As TensorFlow's: RuntimeError on a tape without a recording (never
        entered, or spent), ValueError on one whose context has exited.
        """
        if self._records is None:
            raise RuntimeError("Trying to stop recording a tape which is not recording.")
        _check_recording(self)
        self._pop()
        try:
            yield
        finally:
            self._push()

    def reset(self):
        """Forget everything recorded and watched, as if re-entered afresh.

        Only inside the tape's context (ValueError outside, as TensorFlow's).
        """
        _check_recording(self)
        self._clear()

    # -- watching -------------------------------------------------------------
    def watch(self, tensor):
        """Track a tensor or variable, or every one in a nested structure."""
        if self._records is None:
            self._clear()
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise ValueError(
                    f"Passed in object {t!r} of type {type(t).__name__!r}, "
                    "not a Tensor or Variable"
                )
            if t._value.dtype.kind not in "fc":
                continue  # TensorFlow: only floating values can be watched
            if t._is_variable:
                self._watched_vars[t._uid] = getattr(t, "_variable", t)
            elif id(t) not in self._tracked:
                self._tracked.add(id(t))
                self._watched.append(t)

    def _read_variable(self, var):
        """Track ``var``'s current snapshot if this tape watches ``var``."""
        k = var._uid
        watched = self._watched_vars
        if k not in watched:
            if not (self._auto and var._trainable):
                return False
            v = var._value
            if not (_FLOATING.get(type(v)) or _is_floating(v)):
                return False
            watched[k] = getattr(var, "_variable", var)  # (what tf's assign returned: its variable)
        s = var._snap
        if s is None:  # as var._read()
            s = var._snap = _new(var._result_type)
            s._value = var._value
        sid = id(s)
        tracked = self._tracked
        if sid not in tracked:
            tracked.add(sid)
            self._reads.setdefault(k, []).append(s)
        return True

    def watched_variables(self):
        """The variables this tape watches, in creation order."""
        return tuple(sorted(self._watched_vars.values(), key=lambda v: v._uid))

    # -- gradients --------------------------------------------------------------
    def gradient(
        self,
        target,
        sources,
        output_gradients=None,
        unconnected_gradients=UnconnectedGradients.NONE,
    ):
        """d(sum of targets)/d(each source), in the structure of ``sources``."""
        if self._records is None:
            raise RuntimeError(_SPENT)
        if unconnected_gradients is UnconnectedGradients.NONE:
            zero = False
        else:
            zero = _unconnected_mode(unconnected_gradients)
        # sources: a Tensor, or a list/tuple of Tensors (the common cases), or
        # any nested structure
        if isinstance(sources, Tensor):
            flat_sources = (sources,)
        else:
            flat_sources = None
            if type(sources) is list or type(sources) is tuple:
                flat_sources = sources
                for s in sources:
                    if not isinstance(s, Tensor):
                        flat_sources = None
                        break
            if flat_sources is None:
                flat_sources = _flatten(sources)
                _check_sources(flat_sources)
        tensor_mode = bool(_local.active)
        if output_gradients is None and isinstance(target, Tensor):
            # one target, seeded with ones (the common case)
            v = target._value
            if _FLOATING.get(type(v)) or _is_floating(v):
                node = target._read() if target._is_variable else target
                seeds = [(node, _seed(target, None, tensor_mode))]
            else:
                seeds = []
        else:
            seeds = self._seeds(target, output_gradients, tensor_mode)
        grads = self._gradients(seeds, flat_sources, zero, tensor_mode)
        if not self._persistent:
            # (a None result keeps the recording for explain to read)
            self._spent = self._records if any(g is None for g in grads) else None
            self._records = None  # as _release()
            if self._recording:
                self._pop()
        if flat_sources is sources:
            return grads if type(sources) is list else tuple(grads)
        return _pack(sources, grads)

    def explain(self, target, sources):
        """A report (str) of why ``gradient(target, sources)`` is ``None`` for
        a source: it is not watched, the target was not recorded, or the
        operations (with their lines) that gave a value computed from it a
        result with no derivative. Also after a non-persistent tape's
        ``gradient`` call that returned a ``None``."""
        return explain_tape(self, target, sources)

    def _release(self):
        """Drop the records of a non-persistent tape; it records nothing more."""
        self._records = None
        if self._recording:
            self._pop()

    def _seeds(self, target, output_gradients, tensor_mode):
        """(node, cotangent) pairs for the flattened targets."""
        targets = _flatten(target)
        if output_gradients is None:
            weights = [None] * len(targets)
        else:
            weights = _flatten(output_gradients)
            if len(weights) != len(targets):
                raise ValueError(
                    f"output_gradients has {len(weights)} entries for {len(targets)} targets"
                )
        seeds = []
        for t, w in zip(targets, weights):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"gradient target must be a Tensor or Variable, got {type(t).__name__}"
                )
            if t._value.dtype.kind not in "fc":
                continue
            node = t._read() if t._is_variable else t
            seeds.append((node, _seed(t, w, tensor_mode)))
        return seeds

    def _gradients(self, seeds, flat_sources, zero, tensor_mode):
        """The flat list of gradients of the seeded targets for ``flat_sources``."""
        wanted = []
        reads = self._reads
        tracked = self._tracked
        seeded = {id(node) for node, _ in seeds}
        for s in flat_sources:
            if s._is_variable:
                for r in _reads_of(s, reads, seeded):
                    wanted.append(id(r))
            elif id(s) in tracked:  # an unwatched tensor is a constant: no gradient
                wanted.append(id(s))
        cts = rewind(self._records, seeds, wanted, tensor_mode) if seeds else {}
        if not cts:
            return [_finish(s, None, zero) for s in flat_sources]
        grads = []
        for s in flat_sources:
            v = s._value
            if not (_FLOATING.get(type(v)) or _is_floating(v)):
                g = None
            elif not s._is_variable:
                g = cts.get(id(s))
            else:
                g = None
                for r in _reads_of(s, reads, seeded):
                    gr = cts.get(id(r))
                    if gr is not None:
                        g = gr if g is None else g + gr
            grads.append(_finish(s, g, zero))
        return grads

    def jacobian(
        self,
        target,
        sources,
        unconnected_gradients=UnconnectedGradients.NONE,
        parallel_iterations=None,
        experimental_use_pfor=True,
    ):
        """The Jacobian of ``target``: one ``target.shape + source.shape`` array per source."""
        if self._records is None:
            raise RuntimeError(_SPENT)
        zero = _unconnected_mode(unconnected_gradients)
        flat_sources = _flatten(sources)
        _check_sources(flat_sources)
        target = _as_tensor(target)
        tensor_mode = bool(_local.active)
        rows = []
        for i in range(target._value.size):
            seed = np.zeros(target._value.shape, dtype=target._value.dtype)
            seed.flat[i] = 1
            seeds = self._seeds(target, seed, tensor_mode)
            rows.append(self._gradients(seeds, flat_sources, False, tensor_mode))
        result = [
            _stack_rows([row[j] for row in rows], target.shape, s, zero)
            for j, s in enumerate(flat_sources)
        ]
        if not self._persistent:
            self._release()
        return _pack(sources, result)

    def batch_jacobian(
        self,
        target,
        source,
        unconnected_gradients=UnconnectedGradients.NONE,
        parallel_iterations=None,
        experimental_use_pfor=True,
    ):
        """Per-example Jacobians: ``result[b] = d target[b] / d source[b]``.

        Assumes, as TensorFlow does, that ``target[b]`` depends only on
        ``source[b]``; the result has shape ``target.shape + source.shape[1:]``.
        """
        if self._records is None:
            raise RuntimeError(_SPENT)
        zero = _unconnected_mode(unconnected_gradients)
        target = _as_tensor(target)
        _check_sources([source])
        tshape, sshape = target.shape, source.shape
        _check_batch_shapes(tshape, sshape)
        if tshape[0] != sshape[0]:
            raise ValueError(
                f"Need first dimension of target shape ({tshape}) and source "
                f"shape ({sshape}) to match."
            )
        batch = tshape[0]
        inner = int(np.prod(tshape[1:], dtype=np.int64))
        tensor_mode = bool(_local.active)
        rows = []
        for j in range(inner):
            seed = np.zeros((batch, inner), dtype=target._value.dtype)
            seed[:, j] = 1
            seeds = self._seeds(target, seed.reshape(tshape), tensor_mode)
            rows.append(self._gradients(seeds, [source], False, tensor_mode)[0])
        if not self._persistent:
            self._release()
        if all(r is None for r in rows):
            if not zero:
                return None
            return wrap(
                np.zeros(tshape + sshape[1:], dtype=source._value.dtype), source._result_type
            )
        rows = [_zeros_for(source) if r is None else r for r in rows]
        stacked = np.stack(rows, axis=1)  # (batch, inner) + source.shape[1:]
        return np.reshape(stacked, tshape + sshape[1:])

    def __repr__(self):
        n = "spent" if self._records is None else f"{len(self._records)} records"
        return f"<GradientTape {n}, persistent={self._persistent}>"


def _check_batch_shapes(target_shape, source_shape):
    """ValueError unless both shapes have a batch axis and one more (TensorFlow's
    ``with_rank_at_least(2)`` in ``batch_jacobian``)."""
    for shape in (target_shape, source_shape):
        if len(shape) < 2:
            raise ValueError(f"Shape {tuple(shape)} must have rank at least 2")


def _check_recording(tape):
    """ValueError unless ``tape`` is inside its context (TensorFlow's ``_pop_tape``)."""
    if not tape._recording:
        raise ValueError("Tape is not recording.")


def _seed(target, weight, tensor_mode):
    """The cotangent seeding ``target``: ones, or ``weight`` broadcast to its shape."""
    value = target._value
    if weight is None:
        if type(value) is np.ndarray:
            g = np.ones(value.shape, value.dtype)
        else:
            g = _ONES.get(type(value))
            if g is None:
                g = value.dtype.type(1)
                if type(g) is type(value):
                    _ONES[type(value)] = g
        return wrap(g, target._result_type) if tensor_mode else g
    if isinstance(weight, Tensor):
        if tensor_mode:
            if weight._value.shape != value.shape:
                weight = np.broadcast_to(weight, value.shape)
            return weight
        g = weight._value
    else:
        g = weight
    g = np.asarray(g, dtype=value.dtype)
    if g.shape != value.shape:
        g = np.broadcast_to(g, value.shape)
    g = g[()]
    return wrap(g, target._result_type) if tensor_mode else g


def _finish(source, g, zero):
    """Give a source's cotangent the source's shape, dtype and Tensor flavour."""
    value = source._value
    if g is None:
        if zero:
            return wrap(np.zeros_like(value)[()], source._result_type)
        return None
    tg = type(g)
    if tg is _ndarray and not g.shape and type(value) is not _ndarray:
        s = g[()]  # a 0-d array for a scalar source, say from a sum
        if type(s) is type(value) and _FLOATING.get(type(s)):
            out = _new(source._result_type)
            out._value = s
            return out
    elif tg is type(value) and _FLOATING.get(tg):
        # a NumPy float scalar for a float scalar source of its type: as it is
        out = _new(source._result_type)
        out._value = g
        return out
    if isinstance(g, Tensor):
        if g._value.shape != value.shape:
            g = np.broadcast_to(g, value.shape)
        if g._value.dtype != value.dtype:
            g = _tensor.cast(g, dtype=value.dtype)
        return g
    if not isinstance(g, (np.ndarray, np.generic)) or g.dtype != value.dtype:
        g = np.asarray(g, dtype=value.dtype)
    if g.shape != value.shape:
        g = np.broadcast_to(g, value.shape)
    if type(g) is np.ndarray:
        if g.ndim == 0:
            g = g[()]
        elif not g.flags.writeable:
            g = g.copy()
    out = _new(source._result_type)
    out._value = g
    return out


#: NumPy scalar type -> its one (an immutable seed shared by every gradient call)
_ONES = {}


def _zeros_for(source):
    return wrap(np.zeros_like(source._value)[()], source._result_type)


def _stack_rows(rows, target_shape, source, zero):
    """Stack per-target-entry gradients into a ``target.shape + source.shape`` result."""
    if all(r is None for r in rows):
        if not zero:
            return None
        shape = tuple(target_shape) + source.shape
        return wrap(np.zeros(shape, dtype=source._value.dtype)[()], source._result_type)
    rows = [_zeros_for(source) if r is None else r for r in rows]
    shape = tuple(target_shape) + source.shape
    if not rows:
        return wrap(np.zeros(shape, dtype=source._value.dtype), source._result_type)
    return np.reshape(np.stack(rows), shape)


def _check_sources(flat_sources):
    for s in flat_sources:
        if not isinstance(s, Tensor):
            raise TypeError(
                "gradient sources must be Tensors or Variables, got "
                f"{type(s).__name__}: {s!r}"
            )


def _as_tensor(x):
    if not isinstance(x, Tensor):
        raise TypeError(f"expected a Tensor, got {type(x).__name__}")
    return x


# -- nested structures ------------------------------------------------------------


def _flatten(structure):
    """The leaves of nested lists, tuples and dicts, in order (dicts by sorted key)."""
    if isinstance(structure, Tensor):
        return [structure]
    if type(structure) is list or type(structure) is tuple:
        for item in structure:
            if not isinstance(item, Tensor):
                break
        else:
            return list(structure)
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flatten(item)]
    if isinstance(structure, dict):
        return [leaf for k in _sorted_keys(structure) for leaf in _flatten(structure[k])]
    return [structure]


def _sorted_keys(d):
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def _pack(structure, leaves):
    """Rebuild ``structure`` with its leaves taken, in order, from ``leaves``."""
    if isinstance(structure, Tensor):
        return leaves[0]
    if type(structure) is list and len(structure) == len(leaves):
        for item in structure:
            if not isinstance(item, Tensor):
                break
        else:
            return leaves
    it = iter(leaves)
    return _rebuild(structure, it)


def _rebuild(structure, it):
    if isinstance(structure, list):
        return [_rebuild(item, it) for item in structure]
    if isinstance(structure, tuple):
        items = [_rebuild(item, it) for item in structure]
        if hasattr(structure, "_fields"):
            return type(structure)(*items)
        return tuple(items)
    if isinstance(structure, dict):
        rebuilt = {k: _rebuild(structure[k], it) for k in _sorted_keys(structure)}
        return {k: rebuilt[k] for k in structure}
    return next(it)


# -- custom_gradient --------------------------------------------------------------


class _CustomRule:
    """One call of a ``custom_gradient`` function, as its record's rule: the
    function, its ``grad_fn`` and how to call it.

    The tape's backward pass lowers the record to ``custom_call(rule,
    inputs)`` (:mod:`s2sgrad.tape.compiled`), whose rule calls
    :meth:`cotangents`.
    """

    __slots__ = ("function", "grad_fn", "arguments", "n_inputs", "variables", "single_output")

    def __init__(self, function, grad_fn, arguments, n_inputs, variables, single_output):
        self.function = function
        self.grad_fn = grad_fn
        #: the positional arguments as given (their structure; the inputs are its leaves)
        self.arguments = arguments
        self.n_inputs = n_inputs
        self.variables = variables
        self.single_output = single_output

    def forward(self, inputs):
        """The function's value on the NumPy values ``inputs`` (the leaves of its
        arguments, then the variables as they are now)."""
        saved = list(_local.active)
        _local.active.clear()
        try:
            leaves = [wrap(x) for x in inputs[:self.n_inputs]]
            result, _ = self.function(*_pack(self.arguments, leaves))
        finally:
            _local.active[:] = saved
        if self.single_output:
            return _tensor._to_value(result)
        return tuple(_tensor._to_value(r) for r in result)

    def cotangents(self, g, ans, inputs):
        """``grad_fn``'s cotangents for ``inputs`` (then variables) given the
        outputs' cotangents ``g``; NumPy values unless ``ans`` holds Tensors."""
        raw = not isinstance(ans if self.single_output else ans[0], Tensor)
        if self.single_output:
            upstream = (_as_upstream(g, ans),)
        else:
            upstream = tuple(_as_upstream(gi, a) for gi, a in zip(g, ans))
        if self.variables:
            input_grads, var_grads = self.grad_fn(*upstream, variables=list(self.variables))
            var_grads = list(var_grads)
            if len(var_grads) != len(self.variables):
                raise ValueError(
                    "Must return gradient for each variable from @custom_gradient grad_fn."
                )
        else:
            input_grads, var_grads = self.grad_fn(*upstream), []
        # as TensorFlow's: the input gradients are the leaves of what grad_fn returns
        input_grads = _flatten(input_grads)
        if len(input_grads) != self.n_inputs:
            raise ValueError(
                f"custom_gradient function expected to return {self.n_inputs} "
                f"gradients, but returned {len(input_grads)} instead."
            )
        grads = input_grads + var_grads
        if raw:
            grads = [g._value if isinstance(g, Tensor) else g for g in grads]
        return tuple(grads)


def _as_upstream(g, ans):
    if isinstance(g, Tensor):
        return g
    cls = ans._result_type if isinstance(ans, Tensor) else Tensor
    return wrap(g, cls)


def custom_gradient(f=None):
    """Decorate ``f(*inputs) -> (y, grad_fn)`` to define its gradient (TensorFlow's form).

    ``grad_fn(*upstream)`` returns one gradient per positional input; if
    ``f`` reads variables, ``grad_fn(*upstream, variables=[...])`` returns
    ``(input_grads, variable_grads)``. Operations inside ``f`` are not
    recorded; the call is recorded as a single operation whose rule calls
    ``grad_fn`` (itself recorded when tapes are nested).

    >>> import numpy as np, s2sgrad as sg
    >>> @sg.custom_gradient
    ... def clipped_identity(x):
    ...     return x, lambda upstream: np.clip(upstream, -1.0, 1.0)
    >>> x = sg.constant(2.0)
    >>> with sg.GradientTape() as tape:
    ...     tape.watch(x)
    ...     y = clipped_identity(x) * 5.0
    >>> tape.gradient(y, x)
    Tensor(1., dtype=float64)
    """
    if f is None:
        return custom_gradient

    takes_variables = None

    @functools.wraps(f)
    def decorated(*args, **kwargs):
        nonlocal takes_variables
        saved = list(_local.active)
        _local.active.clear()
        watcher = GradientTape(watch_accessed_variables=True)
        watcher._push()
        try:
            result, grad_fn = f(*args, **kwargs)
        finally:
            watcher._pop()
            _local.active[:] = saved
        single = not isinstance(result, (list, tuple))
        results = [result] if single else list(result)
        outs = []
        for r in results:
            value = r._value if isinstance(r, Tensor) else np.asarray(r)[()]
            cls = r._result_type if isinstance(r, Tensor) else (
                _tensor._result_type(args) or Tensor
            )
            outs.append(wrap(value, cls))
        # as TensorFlow's: the variables grad_fn answers for are those f read
        # that are not among its inputs (an input variable is an input)
        given = _flatten([args, kwargs])
        variables = [v for v in watcher.watched_variables()
                     if v._trainable and not any(v is a for a in given)]
        if variables:
            if takes_variables is None:
                takes_variables = _accepts_variables(grad_fn)
            if not takes_variables:
                raise TypeError(
                    "@tf.custom_gradient grad_fn must accept keyword argument 'variables', "
                    f"since function uses variables: {variables}"
                )
        if _local.active:
            # as TensorFlow's: the inputs are the leaves of the positional
            # arguments (f([x, y]) has two), one gradient from grad_fn each
            leaves = _flatten(list(args))
            rule = _CustomRule(f, grad_fn, list(args), len(leaves), variables, single)
            inputs = tuple(leaves) + tuple(variables)
            vals = tuple(_tensor._unwrap(inputs))
            _tensor._record(decorated, inputs, vals, {}, outs[0] if single else tuple(outs), rule)
        if single:
            return outs[0]
        return type(result)(outs) if isinstance(result, list) else tuple(outs)

    return decorated


def _accepts_variables(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return "variables" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
