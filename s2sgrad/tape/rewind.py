"""The backward pass of the tape.

:func:`rewind` is the single place where a recorded program (a list of
:class:`~s2sgrad.tape.tensor.Record`) is differentiated. In raw mode it
first offers the recording to :func:`s2sgrad.tape.compiled.compiled_rewind`,
which writes it as a normal-form function and differentiates it with the
same reverse-mode transform and code generator as ``sg.grad`` (cached by
the recording's structure). What that path declines — nested tapes,
``custom_gradient`` records, several-output primitives, sources computed on
the tape, a structure seen for the first time — is interpreted here:
records are walked in reverse, calling each rule
``rule.vjp(g, ans, *args, **params)`` and accumulating cotangents.

The interpreter has two modes:

* raw mode (no tape is recording): rules run on the raw NumPy values
  (``Record.vals``), nothing is recorded -- the fast path;
* tensor mode (an outer tape is recording, nested tapes): rules run on the
  recorded Tensors themselves, so every operation of the backward pass is
  recorded by the outer tape and can be differentiated again. Helper
  functions that rules call and that have rules of their own
  (``unbroadcast``, ``getitem_adjoint``, ...) are then called as recorded
  primitives, not traced through (their bodies may assign into arrays).
"""

import ast
import inspect
import textwrap
import types

import numpy as np

from s2sgrad.errors import S2SGradError
from s2sgrad.primitives.registry import Primitive
from s2sgrad.runtime import repeat_to, unbroadcast
from s2sgrad.tape import tensor as _tensor
from s2sgrad.tape.tensor import NONDIFF, Tensor, apply, rule_of


#: the generated-code path (imported on first use: it imports the pipeline)
compiled_rewind = None


class MissingRuleError(S2SGradError, LookupError):
    """A recorded operation with no derivative rule lies on the gradient path."""


def rewind(records, seeds, wanted, tensor_mode=False):
    """Cotangents of the ``wanted`` nodes given cotangent ``seeds``.

    ``records``: the recorded program, in execution order. ``seeds``: pairs
    ``(node, cotangent)`` (a node is a recorded Tensor; several seeds on
    one node add up). ``wanted``: ids of the nodes whose cotangents to
    return. Returns ``{id(node): cotangent}`` for those wanted nodes the
    seeds reach; unreached nodes are absent (unconnected).

    In raw mode cotangents are NumPy values; in tensor mode they are
    Tensors (recorded by the tapes that are recording).
    """
    if not tensor_mode and records:
        global compiled_rewind
        if compiled_rewind is None:
            from s2sgrad.tape.compiled import compiled_rewind
        result = compiled_rewind(records, seeds, wanted)
        if result is not None:
            return result
    ct = {}
    for node, g in seeds:
        _accumulate(ct, node, g)
    for i in range(len(records) - 1, -1, -1):
        rec = records[i]
        out = rec.out
        if type(out) is tuple:
            gs = [ct.get(id(o)) for o in out]
            if all(gi is None for gi in gs):
                continue
            g = [_zeros_like(o, tensor_mode) if gi is None else gi for gi, o in zip(gs, out)]
            ans = out if tensor_mode else tuple(o._value for o in out)
        else:
            g = ct.get(id(out))
            if g is None:
                continue
            ans = out if tensor_mode else out._value
        rule = rec.rule
        if type(rule) is Primitive:
            try:
                vjp = _specialized[(rule.vjp, rec.needs, tensor_mode)]
            except KeyError:
                vjp = _specialize(rule.vjp, rec.needs, tensor_mode)
        elif rule is None or rule is NONDIFF:
            raise MissingRuleError(
                f"no derivative rule for {_name(rec.prim)}, which the gradient "
                "passes through; register one with s2sgrad.defgrad"
            )
        else:
            vjp = rule.vjp
        args = rec.args
        if tensor_mode:
            _tensor._rule_depth[0] += 1
            try:
                grads = vjp(g, ans, *args, **rec.params)
            finally:
                _tensor._rule_depth[0] -= 1
        else:
            grads = vjp(g, ans, *rec.vals, **rec.params)
        _scatter(ct, args, grads)
    return {k: ct[k] for k in wanted if k in ct}


def _accumulate(ct, node, g):
    k = id(node)
    prev = ct.get(k)
    ct[k] = g if prev is None else prev + g


def _scatter(ct, args, grads):
    """Add each gradient to the cotangent of the Tensor argument it belongs to."""
    for a, ga in zip(args, grads):
        if ga is None:
            continue
        if isinstance(a, Tensor):
            k = id(a)
            prev = ct.get(k)
            ct[k] = ga if prev is None else prev + ga
        elif type(a) is list or type(a) is tuple:
            _scatter(ct, a, ga)


def _zeros_like(tensor, tensor_mode):
    zeros = np.zeros_like(tensor._value)[()]
    if tensor_mode:
        return _tensor.wrap(zeros, tensor._result_type)
    return zeros


def _name(prim):
    module = getattr(prim, "__module__", None) or ""
    name = getattr(prim, "__qualname__", None) or getattr(prim, "__name__", None)
    if name is None:
        return repr(prim)
    if module in ("numpy", "builtins", "_operator") or module.startswith("numpy."):
        module = {"_operator": "operator", "builtins": ""}.get(module, "np")
    return f"{module}.{name}" if module else name


# -- specialised rules -----------------------------------------------------------

#: (rule.vjp, needs, tensor_mode) -> the function to call.
_specialized = {}


def _specialize(vjp, needs, tensor_mode):
    """``vjp`` specialised to the inputs that need gradients and to the mode.

    Rule bodies are straight-line (see the registry), so the gradients of
    inputs nothing tracks (a constant exponent, a constant factor) can be
    dropped from the return tuple and the assignments only they used
    removed -- a small dead-code elimination, done once per rule and mask.
    The function is then bound to globals in which the helpers are
    replaced: recordable ones in tensor mode (see
    :func:`_tensor_mode_globals`), a shape-equality fast path for
    ``unbroadcast`` in raw mode.
    """
    key = (vjp, needs, tensor_mode)
    fn = vjp
    if isinstance(vjp, types.FunctionType) and not vjp.__code__.co_freevars:
        globals_ = _tensor_mode_globals(vjp) if tensor_mode else _raw_mode_globals(vjp)
        code = _pruned_code(vjp, needs) or vjp.__code__
        if code is not vjp.__code__ or globals_ is not vjp.__globals__:
            fn = types.FunctionType(code, globals_, vjp.__name__, vjp.__defaults__)
            fn.__kwdefaults__ = vjp.__kwdefaults__
    _specialized[key] = fn
    return fn


def _pruned_code(vjp, needs):
    """Code of ``vjp`` returning None for inputs whose ``needs`` flag is False.

    None when nothing can be dropped or the body is not the straight-line
    form (then the rule runs as it is).
    """
    if all(needs):
        return None
    try:
        source = textwrap.dedent(inspect.getsource(vjp))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    fdef = tree.body[0] if tree.body else None
    if not isinstance(fdef, ast.FunctionDef) or fdef.name != vjp.__name__:
        return None
    body = list(fdef.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if not body:
        return None
    ret = body[-1]
    if not (isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple)):
        return None
    for stmt in body[:-1]:
        if not (isinstance(stmt, ast.Assign) and all(_is_name_target(t) for t in stmt.targets)):
            return None
    elts = list(ret.value.elts)
    changed = False
    for i, needed in enumerate(needs):
        if i < len(elts) and not needed and not _is_none(elts[i]):
            elts[i] = ast.Constant(None)
            changed = True
    if not changed:
        return None
    used = _names(elts)
    kept = []
    for stmt in reversed(body[:-1]):
        if _names(stmt.targets) & used:
            kept.append(stmt)
            used |= _names([stmt.value])
    ret.value.elts = elts
    fdef.body = kept[::-1] + [ret]
    fdef.decorator_list = []
    ast.fix_missing_locations(tree)
    ast.increment_lineno(tree, vjp.__code__.co_firstlineno - 1)
    try:
        module = compile(tree, vjp.__code__.co_filename, "exec")
    except (SyntaxError, ValueError):
        return None
    for const in module.co_consts:
        if isinstance(const, types.CodeType) and const.co_name == vjp.__name__:
            return const
    return None


def _is_name_target(node):
    if isinstance(node, ast.Name):
        return True
    return isinstance(node, (ast.Tuple, ast.List)) and all(_is_name_target(e) for e in node.elts)


def _is_none(node):
    return isinstance(node, ast.Constant) and node.value is None


def _names(nodes):
    return {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}


# -- raw-mode fast paths of the runtime helpers --------------------------------------
#
# Same results as ``s2sgrad.runtime.unbroadcast`` / ``repeat_to`` on NumPy
# values, minus the dispatch overhead of ``np.shape`` / ``np.broadcast_to``
# that dominates small steps; anything unusual falls back to the helper.

_SCALAR_TYPES = (float, int, bool, complex)


def _shape_of(x):
    if type(x) in _SCALAR_TYPES:
        return ()
    return x.shape


def _unbroadcast_raw(g, like):
    """``unbroadcast`` for NumPy values."""
    try:
        gshape = g.shape
        lshape = _shape_of(like)
    except AttributeError:
        return unbroadcast(g, like)
    if gshape == lshape:
        return g
    lead = len(gshape) - len(lshape)
    if lead < 0 or type(g) is not np.ndarray:
        return unbroadcast(g, like)
    axes = list(range(lead))
    for i, n in enumerate(lshape):
        m = gshape[lead + i]
        if n == m:
            continue
        if n != 1:
            return unbroadcast(g, like)
        axes.append(lead + i)
    g = g.sum(axis=tuple(axes), keepdims=True)
    if lead:
        g = g.reshape(lshape)
    return g


def _repeat_to_raw(g, like, axis=None, keepdims=False):
    """``repeat_to`` for NumPy values; a scalar cotangent is filled in, not viewed."""
    try:
        shape = _shape_of(like)
        size = g.size
    except AttributeError:
        return repeat_to(g, like, axis, keepdims)
    if size != 1 or (axis is not None and not keepdims):
        return repeat_to(g, like, axis, keepdims)
    if g.shape == shape:
        return g
    return np.full(shape, g.reshape(()), dtype=g.dtype)


#: vjp -> its globals for raw mode / tensor mode.
_raw_globals = {}
_tensor_globals = {}
_RAW_HELPERS = {unbroadcast: _unbroadcast_raw, repeat_to: _repeat_to_raw}


def _raw_mode_globals(vjp):
    globals_ = vjp.__globals__
    key = id(globals_)
    fast = _raw_globals.get(key)
    if fast is None:
        replacements = {
            name: _RAW_HELPERS[value]
            for name, value in globals_.items()
            if _is_hashable(value) and value in _RAW_HELPERS
        }
        fast = dict(globals_, **replacements) if replacements else globals_
        _raw_globals[key] = fast
    return fast


def _is_hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _tensor_mode_globals(vjp):
    """The globals of ``vjp`` with the s2sgrad helpers it calls made recordable.

    A rule body calls NumPy functions (which Tensors dispatch already) and
    helpers from s2sgrad (``unbroadcast``, ``getitem_adjoint``, ...). A
    helper with a rule of its own is swapped for a wrapper that calls it on
    raw values and records one operation, so its derivative comes from its
    rule rather than from tracing a body that may write into arrays.
    """
    globals_ = vjp.__globals__
    key = id(globals_)
    swapped = _tensor_globals.get(key)
    if swapped is None:
        replacements = {
            name: recordable(value)
            for name, value in globals_.items()
            if _is_helper_primitive(value)
        }
        swapped = dict(globals_, **replacements) if replacements else globals_
        _tensor_globals[key] = swapped
    return swapped


def _is_helper_primitive(value):
    return (
        isinstance(value, types.FunctionType)
        and (getattr(value, "__module__", "") or "").startswith("s2sgrad.")
        and not hasattr(value, "__wrapped__")
        and rule_of(value) is not None
    )


_recordables = {}


def recordable(fn):
    """``fn`` as a primitive: on Tensor arguments, run on raw values and record."""
    try:
        return _recordables[fn]
    except KeyError:
        pass

    def call(*args, **kwargs):
        if _tensor._result_type(args) is None:
            return fn(*args, **kwargs)
        if kwargs:
            kwargs = {k: (v._value if isinstance(v, Tensor) else v) for k, v in kwargs.items()}
        return apply(fn, fn, args, kwargs)

    call.__name__ = fn.__name__
    call.__wrapped__ = fn
    _recordables[fn] = call
    return call
