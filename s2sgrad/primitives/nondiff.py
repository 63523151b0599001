"""Functions whose results carry no derivative.

Their outputs are piecewise constant (floor, sign, comparisons), not
floating point at all (argmax, shape, isnan), or fresh values that do not
depend on the inputs' values (zeros_like, random draws). Using them is
never an error; no gradient flows through them.

Deliberately *not* here, because they are differentiable in some
argument: ``mod``/``fmod`` (rules in ``elementwise``), ``sort``,
``arange``/``linspace``/``full``/``full_like`` (they depend on a start,
stop or fill value), ``copysign``. Random draws are listed even though
``normal(loc, scale)`` and ``uniform(low, high)`` depend smoothly on their
parameters: like autograd and TensorFlow, s2sgrad does not reparametrise
them; write ``loc + scale * np.random.standard_normal(...)`` instead.
"""

import builtins
import math
import operator

import numpy as np

from s2sgrad.primitives.registry import defnondiff, defnondiff_module

defnondiff(
    # rounding and sign
    np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix,
    np.sign, np.heaviside, np.floor_divide, operator.floordiv,
    math.floor, math.ceil, math.trunc, builtins.round, builtins.int, builtins.bool,
    # comparisons and logic
    operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
    operator.not_, operator.truth, operator.is_, operator.is_not, operator.contains,
    operator.and_, operator.or_, operator.xor, operator.invert,
    operator.lshift, operator.rshift,
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert,
    np.left_shift, np.right_shift,
    np.isclose, np.allclose, np.array_equal, np.array_equiv, np.isin,
    np.any, np.all, np.count_nonzero,
    # predicates on values
    np.isnan, np.isinf, np.isfinite, np.isneginf, np.isposinf, np.signbit,
    np.isreal, np.iscomplex, np.isscalar, np.iscomplexobj, np.isrealobj,
    math.isnan, math.isinf, math.isfinite, math.isclose,
    # indices and positions
    np.argmax, np.argmin, np.argsort, np.argwhere, np.nonzero, np.flatnonzero,
    np.searchsorted, np.digitize, np.bincount,
    # shapes and types
    np.shape, np.ndim, np.size, builtins.len, builtins.range, builtins.isinstance,
    np.result_type, np.broadcast_shapes,
    # fresh arrays that do not depend on the inputs' values
    np.zeros, np.ones, np.empty, np.zeros_like, np.ones_like, np.empty_like,
    np.eye, np.identity,
)


# Random draws: every function of numpy.random and every method of its
# generators, recognised by module so that importing s2sgrad does not import
# numpy.random (about 10 ms).
defnondiff_module("numpy.random")
