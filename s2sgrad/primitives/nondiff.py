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

from s2sgrad.primitives.registry import deffacts, defnondiff, defnondiff_module

# rounding and sign: the input's dtype (floor, ceil, trunc of integers
# are floats before NumPy 2.1); rint and heaviside give floats
defnondiff(
    np.floor, np.ceil, np.trunc, np.fix, np.around,
    np.sign, np.floor_divide, operator.floordiv,
    allocates=True,
)
defnondiff(np.rint, np.heaviside, allocates=True, dtype="float")
defnondiff(np.round, allocates=True, methods=("round",))
defnondiff(math.floor, math.ceil, math.trunc, dtype="int", scalar=True)
defnondiff(builtins.round, builtins.int, dtype="int")
defnondiff(builtins.bool, dtype="bool")

# comparisons and logic
defnondiff(
    operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne,
    operator.not_, operator.truth, operator.is_, operator.is_not, operator.contains,
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_xor, np.logical_not,
    np.isclose, np.allclose, np.array_equal, np.array_equiv, np.isin,
    dtype="bool",
)
defnondiff(
    operator.and_, operator.or_, operator.xor, operator.invert,
    operator.lshift, operator.rshift,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert,
    np.left_shift, np.right_shift,
)
defnondiff(np.any, reduction=True, allocates=True, methods=("any",), dtype="bool")
defnondiff(np.all, reduction=True, allocates=True, methods=("all",), dtype="bool")
defnondiff(np.count_nonzero, reduction=True, dtype="int")

# predicates on values
defnondiff(
    np.isnan, np.isinf, np.isfinite, np.isneginf, np.isposinf, np.signbit,
    np.isreal, np.iscomplex, np.isscalar, np.iscomplexobj, np.isrealobj,
    dtype="bool",
)
defnondiff(math.isnan, math.isinf, math.isfinite, math.isclose, dtype="bool", scalar=True)

# indices and positions
defnondiff(np.argmax, reduction=True, allocates=True, methods=("argmax",), dtype="int")
defnondiff(np.argmin, reduction=True, allocates=True, methods=("argmin",), dtype="int")
defnondiff(
    np.argsort, np.argwhere, np.nonzero, np.flatnonzero,
    np.searchsorted, np.digitize, np.bincount,
    dtype="int",
)

# shapes and types: a shape's parts, folded to constants where it is known
defnondiff(np.shape, attributes=("shape",), from_shape=tuple, dtype="int")
defnondiff(np.ndim, attributes=("ndim",), from_shape=len, dtype="int")
defnondiff(np.size, attributes=("size",), from_shape=math.prod, dtype="int")
defnondiff(np.result_type, attributes=("dtype",), dtype="given")
defnondiff(builtins.len, dtype="int", scalar=True)
defnondiff(builtins.range, np.broadcast_shapes, dtype="int")
defnondiff(builtins.isinstance, dtype="bool")
# output only: it returns None and writes into nothing the program reads (a
# call with no record receiving a differentiated value is refused)
defnondiff(builtins.print)

# output: print(x) writes nothing into x
defnondiff(builtins.print, dtype="given")

# fresh arrays that do not depend on the inputs' values
defnondiff(np.zeros, np.ones, np.empty, np.eye, np.identity, allocates=True, dtype="given")
defnondiff(np.zeros_like, np.ones_like, np.empty_like, allocates=True)


# Random draws: every function of numpy.random and every method of its
# generators, recognised by module so that importing s2sgrad does not import
# numpy.random (about 10 ms).
defnondiff_module("numpy.random")


# -- more of NumPy without a derivative (the coverage table, tools/numpy_coverage.py) --

# positions and index arrays
defnondiff(np.argpartition, np.nanargmax, np.nanargmin, np.lexsort, dtype="int")
defnondiff(np.unravel_index, np.ravel_multi_index, np.indices, np.ix_, dtype="int")
defnondiff(np.diag_indices, np.diag_indices_from, np.tril_indices, np.tril_indices_from,
           np.triu_indices, np.triu_indices_from, np.mask_indices, np.linalg.matrix_rank,
           dtype="int")
deffacts(np.argsort, methods=("argsort",))
deffacts(np.nonzero, methods=("nonzero",))

# integers and bits
defnondiff(np.gcd, np.lcm, np.bitwise_count)
defnondiff(np.packbits, np.unpackbits, dtype="int")

# piecewise constant in real arguments: the spacing of floats at x, the
# angle of a real number (0 or pi)
defnondiff(np.spacing, allocates=True)
defnondiff(np.angle, allocates=True, dtype="float")

# arrays that depend on sizes alone: the triangle of ones, window functions of length M
defnondiff(np.tri, allocates=True, dtype="given")
defnondiff(np.bartlett, np.blackman, np.hamming, np.hanning, allocates=True, dtype="given")

# predicates and questions about types and memory
defnondiff(np.isnat, np.isfortran, np.may_share_memory, np.shares_memory, np.iterable,
           np.isdtype, np.issubdtype, np.can_cast, dtype="bool")
defnondiff(np.min_scalar_type, np.promote_types, np.common_type, np.mintypecode, dtype="given")
