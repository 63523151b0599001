"""``tf.keras.ops`` (Keras 3's ``keras.ops``): the NumPy-like functions the Keras
guides write custom losses, metrics and layers with, as the ``s2sgrad.tf`` ops
(recorded by the tape). ``axis`` keywords are NumPy's; ``convert_to_numpy``
gives a NumPy array."""

import numpy as _np

from s2sgrad.tf import _core
from s2sgrad.tf import nn as _nn
from s2sgrad.tf._types import missing_names as _missing_names

abs = absolute = _core.abs  # noqa: A001
add, subtract, multiply, divide = _core.add, _core.subtract, _core.multiply, _core.divide
square, sqrt, exp, log, tanh = _core.square, _core.sqrt, _core.exp, _core.log, _core.tanh
sin, cos, sign, floor, ceil = _core.sin, _core.cos, _core.sign, _core.floor, _core.ceil
maximum, minimum, equal, not_equal = (_core.maximum, _core.minimum, _core.equal,
                                      _core.not_equal)
greater, greater_equal, less, less_equal = (_core.greater, _core.greater_equal, _core.less,
                                            _core.less_equal)
reshape, transpose, expand_dims, squeeze = (_core.reshape, _core.transpose, _core.expand_dims,
                                            _core.squeeze)
stack, cast, convert_to_tensor, where = _core.stack, _core.cast, _core.convert_to_tensor, \
    _core.where
zeros, ones, zeros_like, ones_like = _core.zeros, _core.ones, _core.zeros_like, _core.ones_like
sigmoid, softplus, relu = _core.sigmoid, _core.softplus, _nn.relu
log1p, logaddexp = _core.log1p, _core.logaddexp
matmul, shape, stop_gradient = _core.matmul, _core.shape, _core.stop_gradient


def _reduce(reduction):
    def op(x, axis=None, keepdims=False):
        return reduction(x, axis=axis, keepdims=keepdims)

    op.__name__ = reduction.__name__.replace("reduce_", "")
    return op


mean, sum, max, min, prod = (_reduce(_core.reduce_mean), _reduce(_core.reduce_sum),  # noqa: A001
                             _reduce(_core.reduce_max), _reduce(_core.reduce_min),
                             _reduce(_core.reduce_prod))
amax, amin = max, min


def concatenate(xs, axis=0):
    return _core.concat(list(xs), axis=axis)


def argmax(x, axis=None, keepdims=False):
    out = _core.argmax(_core.reshape(x, [-1]) if axis is None else x, axis=0 if axis is None
                       else axis, output_type=_np.int32)
    return _core.expand_dims(out, axis) if keepdims and axis is not None else out


def clip(x, x_min, x_max):
    return _core.clip_by_value(x, x_min, x_max)


def softmax(x, axis=-1):
    return _nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    return _nn.log_softmax(x, axis=axis)


def one_hot(x, num_classes, axis=-1, dtype="float32"):
    return _core.one_hot(x, num_classes, axis=axis, dtype=dtype)


def convert_to_numpy(x):
    return _np.asarray(x.numpy() if hasattr(x, "numpy") else x)


__getattr__ = _missing_names(
    "s2sgrad.tf.keras.ops", "ops",
    ("abs", "absolute", "add", "amax", "amin", "argmax", "cast", "ceil", "clip", "concatenate",
     "convert_to_numpy", "convert_to_tensor", "cos", "divide", "equal", "exp", "expand_dims",
     "floor", "greater", "greater_equal", "less", "less_equal", "log", "log1p", "log_softmax", "logaddexp",
     "matmul", "max", "maximum", "mean", "min", "minimum", "multiply", "not_equal", "one_hot",
     "ones", "ones_like", "prod", "relu", "reshape", "shape", "sigmoid", "sign", "sin",
     "softmax", "softplus", "sqrt", "square", "squeeze", "stack", "stop_gradient", "subtract",
     "sum", "tanh", "transpose", "where", "zeros", "zeros_like"))
