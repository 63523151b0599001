"""The ops of ``s2sgrad.tf``: dtypes, tensor constructors, math, reductions,
shapes, linear algebra, clipping.

Kept out of the package's ``__init__`` so that ``tf.math``, ``tf.nn``,
``tf.linalg`` and ``tf.keras`` import what they share from here, below the
package that imports them (no import cycle). ``__all__`` is the names of
``s2sgrad.tf`` taken from here: TensorFlow 2's top-level names only.
"""

import operator

import numpy as np

from s2sgrad.optimizers import clip_by_global_norm as _clip_by_global_norm
from s2sgrad.optimizers import clip_by_norm as _clip_by_norm
from s2sgrad.optimizers import clip_by_value as _clip_by_value
from s2sgrad.optimizers import global_norm as _global_norm
from s2sgrad.optimizers import tensor_list as _tensor_list
from s2sgrad.primitives import registry as _registry
from s2sgrad.tape.tape import GradientTape, UnconnectedGradients, custom_gradient  # noqa: F401
from s2sgrad.tape.tensor import Tensor as _BaseTensor
from s2sgrad.tape.tensor import cast as _cast
from s2sgrad.tape.tensor import stop_gradient as _stop_gradient
from s2sgrad.tf._types import DType as _DType
from s2sgrad.tf._types import as_tf_dtype as _as_tf_dtype
from s2sgrad.tf._types import EagerTensor as _EagerTensor
from s2sgrad.tf._types import ResourceVariable as _ResourceVariable
from s2sgrad.tf._types import TensorShape, TensorSpec  # noqa: F401
from s2sgrad.tf._types import as_tensor as _as_tensor
from s2sgrad.tf._types import recorded as _recorded
from s2sgrad.tf._types import tf_constant as _tf_constant
from s2sgrad.tf._types import tf_print as _tf_print
from s2sgrad.tf._types import tf_value as _tf_value
from s2sgrad.tf._types import true_dtype as _true_dtype
from s2sgrad.tf.errors import InvalidArgumentError as _InvalidArgumentError

Tensor = _EagerTensor
Variable = _ResourceVariable
print = _tf_print  # noqa: A001  (tf.print)

# -- dtypes -------------------------------------------------------------------------

float16 = half = _as_tf_dtype(np.dtype(np.float16))
float32 = _as_tf_dtype(np.dtype(np.float32))
float64 = double = _as_tf_dtype(np.dtype(np.float64))
int8 = _as_tf_dtype(np.dtype(np.int8))
int16 = _as_tf_dtype(np.dtype(np.int16))
int32 = _as_tf_dtype(np.dtype(np.int32))
int64 = _as_tf_dtype(np.dtype(np.int64))
uint8 = _as_tf_dtype(np.dtype(np.uint8))
uint16 = _as_tf_dtype(np.dtype(np.uint16))
uint32 = _as_tf_dtype(np.dtype(np.uint32))
uint64 = _as_tf_dtype(np.dtype(np.uint64))
bool = _as_tf_dtype(np.dtype(np.bool_))  # noqa: A001
complex64 = _as_tf_dtype(np.dtype(np.complex64))
complex128 = _as_tf_dtype(np.dtype(np.complex128))
string = _as_tf_dtype(np.dtype(object))  # (bytes, as TensorFlow's strings)
DType = _DType
newaxis = None


def as_dtype(type_value):
    return type_value if isinstance(type_value, _DType) else _as_tf_dtype(np.dtype(type_value))


def _lowers_to(primitive=None, template=None):
    """Mark a function as one NumPy operation on its tensors' values.

    ``tf.function`` lifts tape blocks into plain NumPy code
    (:mod:`s2sgrad.tf.function`); it rewrites a call to a marked function
    into that operation. ``primitive`` is the operation itself, written as
    its record says (``operator.pow`` as ``x ** y``, ``np.sum`` as a
    reduction ``np.sum(x, axis=..., keepdims=...)``, ``np.sin`` as a call);
    ``template`` instead, e.g. ``"np.sqrt({0})"``, is the expression with the
    arguments put in (it must be what the function computes, operation for
    operation).
    """

    def mark(fn):
        fn.__s2sgrad_lowering__ = primitive if template is None else template
        return fn

    return mark


# -- making tensors -------------------------------------------------------------------


def constant(value, dtype=None, shape=None, name=None):
    """A tensor with TensorFlow's dtype defaults (Python float -> float32)."""
    return _tf_constant(value, dtype, shape)


def convert_to_tensor(value, dtype=None, dtype_hint=None, name=None):
    if isinstance(value, _ResourceVariable):
        value = value.read_value()
    if isinstance(value, _EagerTensor) and (dtype is None or value.dtype == np.dtype(dtype)):
        return value
    if dtype is None and dtype_hint is not None and not isinstance(value, (np.ndarray, np.generic)):
        candidate = np.asarray(value)
        if candidate.dtype.kind in "iuf" and np.dtype(dtype_hint).kind in "fc":
            dtype = dtype_hint
    if isinstance(value, _EagerTensor):
        return cast(value, dtype)
    return _tf_constant(value, dtype)


def is_tensor(x):
    return isinstance(x, _EagerTensor) or isinstance(x, _ResourceVariable)


def zeros(shape, dtype=float32, name=None):
    return _tf_constant(np.zeros(_shape(shape), dtype=dtype))


def ones(shape, dtype=float32, name=None):
    return _tf_constant(np.ones(_shape(shape), dtype=dtype))


def zeros_like(input, dtype=None, name=None):
    return _tf_constant(np.zeros_like(np.asarray(_value(input)), dtype=dtype))


def ones_like(input, dtype=None, name=None):
    return _tf_constant(np.ones_like(np.asarray(_value(input)), dtype=dtype))


def fill(dims, value, name=None):
    v = _tf_constant(value)
    return _tf_constant(np.full(_shape(dims), v._value, dtype=v.dtype))


def eye(num_rows, num_columns=None, batch_shape=None, dtype=float32, name=None):
    m = np.eye(num_rows, num_columns, dtype=dtype)
    if batch_shape is not None:
        m = np.broadcast_to(m, tuple(batch_shape) + m.shape).copy()
    return _tf_constant(m)


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001
    """``tf.range``: int32 for Python ints, float32 for Python floats."""
    if limit is None:
        start, limit = 0, start
    if dtype is None:
        dtype = np.result_type(*(_tf_value(v) for v in (start, limit, delta)))
    start, limit, delta = (_value(v) for v in (start, limit, delta))
    return _tf_constant(np.arange(start, limit, delta).astype(dtype))


def linspace(start, stop, num, name=None, axis=0):
    """``tf.linspace``: of ``start``'s dtype, or float for integers (TF 2
    divides ``stop - start`` by the steps and casts to the quotient's dtype)."""
    dtype = _true_dtype(_tf_constant(start).dtype)
    return _tf_constant(
        np.linspace(_value(start), _value(stop), int(_value(num)), axis=axis).astype(dtype)
    )


@_lowers_to(np.positive)
def identity(input, name=None):
    return np.positive(_as_tensor(input))


def stop_gradient(input, name=None):
    return _stop_gradient(_as_tensor(input))


_registry.defnondiff(stop_gradient)


def cast(x, dtype, name=None):
    """Convert to ``dtype``; differentiable between floating types."""
    x = _as_tensor(x)
    dtype = np.dtype(dtype)
    if x.dtype == dtype and not x._is_variable:
        return x
    return _cast(x, dtype=dtype)


def shape(input, out_type=int32, name=None):
    return _tf_constant(np.asarray(np.shape(_value(input)), dtype=out_type))


def size(input, out_type=int32, name=None):
    return _tf_constant(np.asarray(np.size(_value(input)), dtype=out_type))


def rank(input, name=None):
    return _tf_constant(np.int32(np.ndim(_value(input))))


def _value(x):
    return x._value if isinstance(x, _BaseTensor) else x


def _shape(shape):
    shape = _value(shape)
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(_value(s)) for s in np.asarray(shape).reshape(-1)) if np.ndim(shape) else ()


def _axis(axis):
    axis = _value(axis)
    if axis is None or isinstance(axis, (int, np.integer)):
        return axis
    if np.ndim(axis) == 0:
        return int(axis)
    return tuple(int(a) for a in np.asarray(axis).reshape(-1))


def _operand(x):
    """A binary operand: tensors and Python/NumPy scalars as they are, else a tensor."""
    if isinstance(x, (_BaseTensor, int, float, complex, np.generic)):
        return x
    return _tf_constant(x)


# -- arithmetic (keyed on the operator module, like ``a + b``) ------------------------


def _binary(op):
    @_lowers_to(op)
    def fn(x, y, name=None):
        x, y = _operand(x), _operand(y)
        if not isinstance(x, _BaseTensor) and not isinstance(y, _BaseTensor):
            x = _tf_constant(x)
        return op(x, y)

    return fn


add = _binary(operator.add)
subtract = _binary(operator.sub)
multiply = _binary(operator.mul)
divide = truediv = _binary(operator.truediv)
pow = _binary(operator.pow)  # noqa: A001
floordiv = _binary(operator.floordiv)
mod = floormod = _binary(operator.mod)


def add_n(inputs, name=None):
    total = _as_tensor(inputs[0])
    for x in inputs[1:]:
        total = total + x
    return total


@_lowers_to(operator.neg)
def negative(x, name=None):
    return -_as_tensor(x)


def _ufunc(fn):
    @_lowers_to(fn)
    def op(x, name=None):
        return _recorded(fn, _as_tensor(x))

    op.__name__ = fn.__name__
    return op


def _binary_ufunc(fn):
    @_lowers_to(fn)
    def op(x, y, name=None):
        x, y = _operand(x), _operand(y)
        if not isinstance(x, _BaseTensor) and not isinstance(y, _BaseTensor):
            x = _tf_constant(x)
        return _recorded(fn, x, y)

    op.__name__ = fn.__name__
    return op


abs = _ufunc(np.abs)  # noqa: A001
square = _ufunc(np.square)
sqrt = _ufunc(np.sqrt)
exp = _ufunc(np.exp)
log = _ufunc(np.log)
log1p = _ufunc(np.log1p)
expm1 = _ufunc(np.expm1)
sin = _ufunc(np.sin)
cos = _ufunc(np.cos)
tan = _ufunc(np.tan)
asin = _ufunc(np.arcsin)
acos = _ufunc(np.arccos)
atan = _ufunc(np.arctan)
sinh = _ufunc(np.sinh)
cosh = _ufunc(np.cosh)
tanh = _ufunc(np.tanh)
reciprocal = _ufunc(np.reciprocal)
sign = _ufunc(np.sign)
floor = _ufunc(np.floor)
ceil = _ufunc(np.ceil)
round = _ufunc(np.rint)  # noqa: A001  (TensorFlow rounds half to even)
maximum = _binary_ufunc(np.maximum)
minimum = _binary_ufunc(np.minimum)
atan2 = _binary_ufunc(np.arctan2)
logaddexp = _binary_ufunc(np.logaddexp)  # (keras.ops.logaddexp)
equal = _binary_ufunc(np.equal)
not_equal = _binary_ufunc(np.not_equal)
greater = _binary_ufunc(np.greater)
greater_equal = _binary_ufunc(np.greater_equal)
less = _binary_ufunc(np.less)
less_equal = _binary_ufunc(np.less_equal)
logical_and = _binary_ufunc(np.logical_and)
logical_or = _binary_ufunc(np.logical_or)
logical_not = _ufunc(np.logical_not)
is_nan = _ufunc(np.isnan)
is_inf = _ufunc(np.isinf)
is_finite = _ufunc(np.isfinite)


@_lowers_to(template="1 / np.sqrt({0})")
def rsqrt(x, name=None):
    return 1 / np.sqrt(_as_tensor(x))


@_lowers_to(template="np.square({0} - {1})")
def squared_difference(x, y, name=None):
    return square(subtract(x, y))


def _negative_magnitude(x):
    """``-|x|`` as ``where(x > 0, -x, x)``: each side has its own slope (1 at 0),
    so a smooth function of ``-|x|`` such as ``exp(-|x|)`` keeps its one-sided
    derivative at 0, where ``abs``'s rule (slope 0 there) would drop it.
    (``np.negative``, not ``-x``: in a lifted tape block the optimiser would
    merge it with another op's ``-x`` and sum their adjoints in another order
    than the tape, a last-bit difference.)"""
    return np.where(x > 0, np.negative(x), x)


_NEGATIVE_MAGNITUDE = "np.where({0} > 0, np.negative({0}), {0})"


@_lowers_to(template="np.where({0} > 0, 1, np.exp(%s)) / (1 + np.exp(%s))" % ((_NEGATIVE_MAGNITUDE,) * 2))
def sigmoid(x, name=None):
    """``1 / (1 + exp(-x))`` as ``1 / (1 + e)`` for positive ``x`` and ``e / (1 + e)``
    otherwise, ``e = exp(-|x|)``: no overflow, and in float32 the small values
    keep their digits (``sigmoid(-20) = 2.0611537e-09`` as TensorFlow gives;
    ``(tanh(x/2) + 1) / 2`` rounds it to 0). Its gradient, ``e / (1 + e)**2``,
    keeps them too."""
    x = _as_tensor(x)
    e = np.exp(_negative_magnitude(x))
    return np.where(x > 0, 1, e) / (1 + e)


_SOFTPLUS = ("np.where({0} > 0, np.where({0} > 0, {0}, 0) + np.log1p(np.exp(-np.where({0} > 0, {0}, 0))),"
             " np.log1p(np.exp(np.where({0} > 0, 0, {0}))))")


@_lowers_to(template=_SOFTPLUS)
def softplus(features, name=None):
    """``log(1 + exp(x))``, as ``x + log1p(exp(-x))`` for positive ``x`` and
    ``log1p(exp(x))`` otherwise, each branch given only the inputs it is
    computed for. So its gradient is ``1 - exp(-x) / (1 + exp(-x))`` or
    ``exp(x) / (1 + exp(x))``, TensorFlow's ``sigmoid(x)`` to the last float32
    digit (``np.logaddexp``'s rule, ``exp(x - softplus(x))``, gives ``0.9999543``
    at 10 where TensorFlow gives ``0.9999546``), smooth to every order."""
    x = _as_tensor(features)
    positive = x > 0
    above = np.where(positive, x, 0)
    return np.where(positive, above + np.log1p(np.exp(-above)),
                    np.log1p(np.exp(np.where(positive, 0, x))))


@_lowers_to(template="-" + _SOFTPLUS.format("(-{0})"))
def log_sigmoid(x, name=None):
    return -softplus(-_as_tensor(x))


# -- reductions -------------------------------------------------------------------------


def _reduction(fn):
    @_lowers_to(fn)
    def op(input_tensor, axis=None, keepdims=False, name=None):
        return _recorded(fn, _as_tensor(input_tensor), axis=_axis(axis), keepdims=keepdims)

    op.__name__ = fn.__name__
    return op


def _same_dtype_reduction(fn):
    """A sum or product whose integers stay of their dtype (NumPy widens them
    to int64; TensorFlow's reduce_sum of int32 is int32)."""

    @_lowers_to(fn)
    def op(input_tensor, axis=None, keepdims=False, name=None):
        x = _as_tensor(input_tensor)
        dtype = x.dtype if x.dtype.kind in "iu" else None
        return _recorded(fn, x, axis=_axis(axis), keepdims=keepdims, dtype=dtype)

    op.__name__ = fn.__name__
    return op


reduce_sum = _same_dtype_reduction(np.sum)
reduce_prod = _same_dtype_reduction(np.prod)
reduce_max = _reduction(np.max)
reduce_min = _reduction(np.min)
reduce_std = _reduction(np.std)
reduce_variance = _reduction(np.var)
reduce_any = _reduction(np.any)
reduce_all = _reduction(np.all)


@_lowers_to(np.mean)  # lifted blocks read floating-point tensors only
def reduce_mean(input_tensor, axis=None, keepdims=False, name=None):
    x = _as_tensor(input_tensor)
    if x.dtype.kind in "iub":
        total = np.sum(x._value, axis=_axis(axis), keepdims=keepdims)
        count = np.size(x._value) // max(np.size(total), 1)
        return _tf_constant((total // count).astype(x.dtype))
    return _recorded(np.mean, x, axis=_axis(axis), keepdims=keepdims)


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None):
    x = _as_tensor(input_tensor)
    axis = _axis(axis)
    m = np.max(_stop_gradient(x), axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return out


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    x = _as_tensor(x)
    if reverse:
        x = np.flip(x, axis)
    out = np.cumsum(x, axis=axis)
    if exclusive:
        out = out - x
    if reverse:
        out = np.flip(out, axis)
    return out


def argmax(input, axis=None, output_type=int64, name=None):
    return _tf_constant(np.argmax(_value(input), axis=0 if axis is None else _axis(axis)).astype(output_type))


def argmin(input, axis=None, output_type=int64, name=None):
    return _tf_constant(np.argmin(_value(input), axis=0 if axis is None else _axis(axis)).astype(output_type))


def norm(tensor, ord="euclidean", axis=None, keepdims=False, name=None):
    x = _as_tensor(tensor)
    axis = _axis(axis)
    if ord in ("euclidean", 2, 2.0) and (axis is None or isinstance(axis, int)):
        squares = x * x if x.dtype.kind != "c" else np.real(x * np.conj(x))
        return np.sqrt(np.sum(squares, axis=axis, keepdims=keepdims))
    if ord in (1, 1.0):
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == "fro" or (ord == "euclidean" and isinstance(axis, tuple)):
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
    raise ValueError(f"unsupported norm order {ord!r}")


# -- shapes and linear algebra --------------------------------------------------------------


def reshape(tensor, shape, name=None):
    """``tensor`` with ``shape`` (one entry may be -1); a shape of another size
    is TensorFlow's InvalidArgumentError."""
    tensor = _as_tensor(tensor)
    shape = _shape(shape)
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1:
        raise _InvalidArgumentError(
            None, "Reshape",
            f"Only one input size may be -1, not both {unknown[0]} and {unknown[1]} [Op:Reshape]")
    size = int(np.size(tensor._value))
    known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
    if not unknown and known != size:
        raise _InvalidArgumentError(
            None, "Reshape", f"Input to reshape is a tensor with {size} values, but the "
            f"requested shape has {known} [Op:Reshape]")
    if unknown and (size % known if known else size):
        raise _InvalidArgumentError(
            None, "Reshape", f"Input to reshape is a tensor with {size} values, but the "
            f"requested shape requires a multiple of {known} [Op:Reshape]")
    return np.reshape(tensor, shape)


def transpose(a, perm=None, conjugate=False, name=None):
    out = np.transpose(_as_tensor(a), None if perm is None else _axis(perm))
    return np.conj(out) if conjugate else out


def expand_dims(input, axis, name=None):
    return np.expand_dims(_as_tensor(input), _axis(axis))


def squeeze(input, axis=None, name=None):
    return np.squeeze(_as_tensor(input), axis=_axis(axis))


def concat(values, axis, name=None):
    return np.concatenate([_as_tensor(v) for v in values], axis=_axis(axis))


def stack(values, axis=0, name="stack"):
    return np.stack([_as_tensor(v) for v in values], axis=_axis(axis))


def unstack(value, num=None, axis=0, name="unstack"):
    return list(np.unstack(_as_tensor(value), axis=_axis(axis)))


def split(value, num_or_size_splits, axis=0, num=None, name="split"):
    sections = _value(num_or_size_splits)
    if np.ndim(sections):
        sections = np.cumsum(np.asarray(sections))[:-1]
    return list(np.split(_as_tensor(value), sections, axis=_axis(axis)))


def gather(params, indices, validate_indices=None, axis=None, batch_dims=0, name=None):
    return np.take(_as_tensor(params), np.asarray(_value(indices)), axis=0 if axis is None else _axis(axis))


def where(condition, x=None, y=None, name=None):
    cond = _value(condition)
    if x is None and y is None:
        return _tf_constant(np.argwhere(cond).astype(np.int64))
    x, y = _operand(x), _operand(y)
    if not isinstance(x, _BaseTensor) and not isinstance(y, _BaseTensor):
        x = _tf_constant(x)
    return np.where(cond, x, y)


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    idx = np.asarray(_value(indices))
    if dtype is not None:
        dtype = np.dtype(dtype)
    elif on_value is not None:
        dtype = np.asarray(_tf_value(_value(on_value))).dtype
    else:
        dtype = float32
    on = 1 if on_value is None else _value(on_value)
    off = 0 if off_value is None else _value(off_value)
    hot = idx[..., None] == np.arange(int(depth))
    out = np.where(hot, on, off).astype(dtype)
    if axis is not None and axis != -1:
        out = np.moveaxis(out, -1, axis)
    return _tf_constant(out)


@_lowers_to(operator.matmul)
def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False, name=None):
    a, b = _as_tensor(a), _as_tensor(b)
    if transpose_a or adjoint_a:
        a = np.swapaxes(a, -1, -2)
        if adjoint_a:
            a = np.conj(a)
    if transpose_b or adjoint_b:
        b = np.swapaxes(b, -1, -2)
        if adjoint_b:
            b = np.conj(b)
    if a.ndim >= 2 and b.ndim >= 2 and a.shape[-1] != b.shape[-2]:
        op = "MatMul" if a.ndim == b.ndim == 2 else "BatchMatMulV2"
        dims = (",".join(map(str, t.shape)) for t in (a, b))
        raise _InvalidArgumentError(
            None, op, "Matrix size-incompatible: In[0]: [{}], In[1]: [{}] [Op:{}]".format(*dims, op))
    return a @ b


def einsum(equation, *inputs, **kwargs):
    """``np.einsum`` of the tensors (differentiated by np.einsum's rule)."""
    return np.einsum(equation, *(_as_tensor(x) for x in inputs))


def tensordot(a, b, axes, name=None):
    return np.tensordot(_as_tensor(a), _as_tensor(b), axes=axes)


def tile(input, multiples, name=None):
    x = _as_tensor(input)
    reps = _shape(multiples)
    # broadcast-and-reshape, which the tape differentiates (np.tile has no rule)
    shape = x.shape
    expanded = np.reshape(x, sum(((1, n) for n in shape), ()))
    target = sum(((r, n) for r, n in zip(reps, shape)), ())
    return np.reshape(np.broadcast_to(expanded, target), tuple(r * n for r, n in zip(reps, shape)))


def broadcast_to(input, shape, name=None):
    return np.broadcast_to(_as_tensor(input), _shape(shape))


def clip_by_value(t, clip_value_min, clip_value_max, name=None):
    return _clip_by_value(_as_tensor(t), clip_value_min, clip_value_max)


def clip_by_norm(t, clip_norm, axes=None, name=None):
    return _clip_by_norm(_as_tensor(t), clip_norm, axes)


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    clipped, norm_value = _clip_by_global_norm(_tensors(t_list), clip_norm, use_norm)
    return clipped, _as_tensor(norm_value)


def global_norm(t_list, name=None):
    return _as_tensor(_global_norm(_tensors(t_list)))


def _tensors(t_list):
    """The entries of the sequence ``t_list`` as tensors (None kept); TypeError for a non-sequence."""
    return [None if t is None else _as_tensor(t) for t in _tensor_list(t_list)]


def executing_eagerly():
    return True


class device:  # noqa: N801  (TensorFlow's name)
    """``with tf.device("CPU:0"):`` -- accepted; everything runs on the CPU here."""

    def __init__(self, device_name):
        if device_name is not None and not isinstance(device_name, str):
            raise ValueError(f"tf.device does not support functions; got {device_name!r}")
        self.device_name = device_name

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


#: public here for ``tf.math``/``tf.nn``/``tf.linalg``/``tf.keras.ops``, but not names of
#: TensorFlow 2's top level (TF 1 had some of them; TF 2 spells them tf.math.ceil, ...)
_SUBMODULE_ONLY = frozenset({
    "ceil", "expm1", "global_norm", "is_finite", "is_inf", "is_nan", "log", "log1p",
    "log_sigmoid", "logaddexp", "mod", "floormod", "reciprocal", "reduce_std", "reduce_variance",
    "rsqrt", "softplus", "squared_difference",
})

#: the names ``s2sgrad.tf`` takes from here, every one a name of TensorFlow 2's
#: top level (helpers are private; modules are not names of the namespace)
__all__ = sorted(
    name
    for name, value in globals().items()
    if not name.startswith("_") and type(value) is not type(np) and name not in _SUBMODULE_ONLY
)
