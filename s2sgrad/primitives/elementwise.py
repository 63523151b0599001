"""Hand-written elementwise rules: the non-smooth and special ones, and
sinc, logaddexp/logaddexp2, nan_to_num, real/conj/imag, astype, copysign, ldexp and frexp.

The smooth unary and binary functions are derived by sympy (see
``derive.py`` and ``_derived.py``); what lives here has kinks, jumps or
selections that a symbolic derivative would get wrong at the boundaries.

Conventions at the non-differentiable points:

* ``abs``: ``g * sign(x)``, so 0 at x == 0 (the subgradient autograd uses);
* ``maximum``/``minimum``/``fmax``/``fmin`` and builtin ``max``/``min``:
  where the two operands tie, each gets half of ``g`` (autograd's choice;
  the sum is right and the split is symmetric);
* ``clip``: an entry exactly on a bound belongs to ``a``, not to the bound;
* ``%``/``np.mod``/``np.remainder``/``math.fmod``/``np.fmod``/``divmod``:
  the derivative of the smooth piece, ignoring the jumps: 1 in the left
  operand, ``-floor(x / y)`` in the right (``-trunc(x / y)`` for fmod).
"""

import builtins
import math
import operator

import numpy as np

from s2sgrad.primitives.registry import deffacts, defnondiff, defvjp
from s2sgrad.runtime import cotangent_or_zero, unbroadcast


@defvjp(np.absolute, np.fabs, builtins.abs, operator.abs, math.fabs, elementwise=True, allocates=True)
def absolute(g, ans, x):
    return (g * np.sign(x),)


@defvjp(np.maximum, np.minimum, np.fmax, np.fmin, elementwise=True, allocates=True)
@defvjp(builtins.max, builtins.min, elementwise=True)  # (the larger operand itself)
def select_extreme(g, ans, x, y):
    share = np.where(x == y, g / 2, g)
    return (unbroadcast(share * (x == ans), x), unbroadcast(share * (y == ans), y))


@defvjp(np.where, elementwise=True, allocates=True)
def where(g, ans, condition, x, y):
    return (None, unbroadcast(np.where(condition, g, 0), x), unbroadcast(np.where(condition, 0, g), y))


@defvjp(np.clip, elementwise=True, allocates=True, methods=("clip",),
        method_defaults=(None, None))
def clip(g, ans, a, a_min=None, a_max=None, out=None, *, min=None, max=None):
    # (``min``/``max``: NumPy 2's names of the bounds, given instead of them;
    # ``out=`` is refused where the call is read)
    lower = either_bound(a_min, min)
    upper = either_bound(a_max, max)
    return (
        unbroadcast(g * within_bounds(a, lower, upper), a),
        unbroadcast(g * below_bound(a, lower), a_min),
        unbroadcast(g * above_bound(a, upper), a_max),
        None,
        unbroadcast(g * below_bound(a, lower), min),
        unbroadcast(g * above_bound(a, upper), max),
    )


def either_bound(bound, named):
    """The bound of ``clip`` given as ``a_min`` or as ``min`` (None for none)."""
    return bound if named is None else named


def _float_mask(mask, a):
    """``mask`` as 0/1 in ``a``'s floating dtype: a gradient never comes out bool
    (folding the seed 1.0 away would leave the bare mask)."""
    mask = np.asarray(mask, dtype=np.result_type(a, 1.0))
    return mask[()] if mask.ndim == 0 else mask


def below_bound(a, bound):
    """Mask of entries of ``a`` strictly below ``bound`` (none if no bound)."""
    if bound is None:
        return 0.0
    return _float_mask(a < bound, a)


def above_bound(a, bound):
    """Mask of entries of ``a`` strictly above ``bound`` (none if no bound)."""
    if bound is None:
        return 0.0
    return _float_mask(a > bound, a)


def within_bounds(a, a_min, a_max):
    """Mask of entries of ``a`` that ``clip`` passes through unchanged."""
    inside = np.ones(np.shape(a), dtype=bool)
    if a_min is not None:
        inside = inside & (a >= a_min)
    if a_max is not None:
        inside = inside & (a <= a_max)
    return _float_mask(inside, a)


defnondiff(below_bound, above_bound, within_bounds, dtype="float")
defnondiff(either_bound, dtype="given")
deffacts(np.fabs, dtype="float")
deffacts(math.fabs, math.fmod, math.copysign, dtype="float", scalar=True)


@defvjp(operator.mod, np.remainder, elementwise=True, allocates=True)
def remainder(g, ans, x, y):
    return (unbroadcast(g, x), unbroadcast(-g * np.floor_divide(x, y), y))


@defvjp(np.fmod, math.fmod, elementwise=True, allocates=True)
def fmod(g, ans, x, y):
    return (unbroadcast(g, x), unbroadcast(-g * np.trunc(x / y), y))


@defvjp(builtins.divmod, np.divmod, allocates=True, returns_list=True)
def divmod_vjp(g, ans, x, y):
    # only the remainder carries a derivative (the quotient is piecewise constant)
    g_remainder = cotangent_or_zero(g[1])
    return (unbroadcast(g_remainder, x), unbroadcast(-g_remainder * np.floor_divide(x, y), y))


# -- sinc: its derivatives' closed forms cancel near 0, where a series takes over


@defvjp(np.sinc, elementwise=True, allocates=True, dtype="float")
def sinc(g, ans, x):
    return (g * sinc_slope(x),)


def sinc_slope(x):
    """d sinc(x) / dx: ``(cos(pi x) - sinc(x)) / x``, and its Taylor series
    where ``|x| < 0.01`` (0 at x == 0)."""
    near = np.abs(x) < 0.01
    far = np.where(near, 1.0, x)
    square = x * x
    series = x * (-math.pi ** 2 / 3 + square * (math.pi ** 4 / 30 - square * math.pi ** 6 / 840))
    return _like(np.where(near, series, (np.cos(math.pi * far) - np.sinc(far)) / far), x)


def sinc_curvature(x):
    """d² sinc(x) / dx²: ``-pi² sinc(x) - 2 sinc'(x) / x``, and its Taylor
    series where ``|x| < 0.01`` (-pi²/3 at x == 0)."""
    near = np.abs(x) < 0.01
    far = np.where(near, 1.0, x)
    square = x * x
    series = -math.pi ** 2 / 3 + square * (math.pi ** 4 / 10 - square * math.pi ** 6 / 168)
    return _like(np.where(near, series, -math.pi ** 2 * np.sinc(far) - 2 * sinc_slope(far) / far), x)


def _like(value, x):
    """``value`` a NumPy scalar when ``x`` is a scalar (``np.where`` gives 0-d arrays)."""
    return value[()] if np.ndim(x) == 0 else value


# (the third derivative of sinc is not provided: it fails loudly, never silently)
@defvjp(sinc_slope, elementwise=True, allocates=True, dtype="float")
def sinc_slope_vjp(g, ans, x):
    return (g * sinc_curvature(x),)


# -- logaddexp: each slope is a logistic function of the gap x1 - x2 ---------
#
# d/dx1 log(e^x1 + e^x2) = 1 / (1 + e^(x2 - x1)). With e = exp(-|x1 - x2|) <= 1
# the smaller slope is e / (1 + e) and the larger 1 - e / (1 + e), as
# TensorFlow's logaddexp (max(x1, x2) + log1p(exp(-|x1 - x2|))) differentiates
# to; neither overflows or loses the small slope's digits, where exp(x1 - ans)
# carries the rounding of ans (float32: 0.9999543 for logaddexp(0, 10), the
# slope being 0.9999546). -|x1 - x2| is where(x1 > x2, x2 - x1, x1 - x2), so at
# a tie the slopes are 1/2 each, to every order (abs's rule would give 0).


@defvjp(np.logaddexp, elementwise=True, allocates=True, dtype="float")
def logaddexp(g, ans, x1, x2):
    ahead = x1 > x2
    spread = np.exp(np.where(ahead, x2 - x1, x1 - x2))
    behind = spread / (1 + spread)
    return (unbroadcast(g * np.where(ahead, 1 - behind, behind), x1),
            unbroadcast(g * np.where(ahead, behind, 1 - behind), x2))


@defvjp(np.logaddexp2, elementwise=True, allocates=True, dtype="float")
def logaddexp2(g, ans, x1, x2):
    ahead = x1 > x2
    spread = np.exp2(np.where(ahead, x2 - x1, x1 - x2))
    behind = spread / (1 + spread)
    return (unbroadcast(g * np.where(ahead, 1 - behind, behind), x1),
            unbroadcast(g * np.where(ahead, behind, 1 - behind), x2))


# -- values replaced, parts of real numbers, casts --------------------------


@defvjp(np.nan_to_num, elementwise=True, allocates=True)
def nan_to_num(g, ans, x, copy=True, nan=0.0, posinf=None, neginf=None):
    return (
        np.where(np.isfinite(x), g, 0),
        None,
        replaced_cotangent(g, np.isnan(x), nan),
        replaced_cotangent(g, np.isposinf(x), posinf),
        replaced_cotangent(g, np.isneginf(x), neginf),
    )


def replaced_cotangent(cotangent, mask, value):
    """The cotangent of the ``value`` that replaced the entries under ``mask``
    (None when no value was given)."""
    if value is None:
        return None
    return unbroadcast(np.where(mask, cotangent, 0), value)


@defvjp(replaced_cotangent, allocates=True, linear=True)
def replaced_cotangent_vjp(g, ans, cotangent, mask, value):
    return (np.where(mask, g, 0), None, None)


# real numbers only (complex arguments are refused): real and conj are the
# identity, and imag is a constant 0 (no derivative)
@defvjp(np.real, view_of=0, linear=True, attributes=("real",))
def real(g, ans, val):
    return (np.real(g),)


@defvjp(np.conj, elementwise=True, linear=True, allocates=True, methods=("conj", "conjugate"))
def conj(g, ans, x):
    return (np.conj(g),)


defnondiff(np.imag, view_of=0, attributes=("imag",))


# A cast to a floating type passes the cotangent through, in the argument's
# dtype; to an integer or bool type the result is piecewise constant: zero.
@defvjp(np.astype, view_of=0, dtype="given", methods=("astype",))
def astype(g, ans, x, dtype, /, *, copy=True, device=None):
    return (cast_like(g * is_inexact(dtype), x), None)


def is_inexact(dtype):
    """1.0 for a floating (or complex) ``dtype``, else 0.0."""
    return 1.0 if np.issubdtype(dtype, np.inexact) else 0.0


def cast_like(value, like):
    """``value`` in the floating dtype of ``like`` (float64 for integers)."""
    value = np.asarray(value, dtype=np.result_type(like, 1.0))
    return value[()] if value.ndim == 0 and np.ndim(like) == 0 else value


defnondiff(is_inexact, dtype="float")


@defvjp(cast_like, linear=True, view_of=0)
def cast_like_vjp(g, ans, value, like):
    return (cast_like(g, value), None)


# |x1| with the sign of x2: the derivative of |x1| (0 at 0, as for abs)
# times that sign; none in x2 (the sign is piecewise constant)
@defvjp(np.copysign, math.copysign, elementwise=True, allocates=True, dtype="float")
def copysign(g, ans, x1, x2):
    return (unbroadcast(g * np.sign(x1 * ans), x1), None)


# x1 * 2**x2 for integer x2
@defvjp(np.ldexp, elementwise=True, linear=True, allocates=True, dtype="float")
def ldexp(g, ans, x1, x2):
    return (unbroadcast(np.ldexp(g, x2), x1), None)


# x = fractional part + integral part: the integral part is piecewise constant
@defvjp(np.modf, allocates=True, returns_list=True)
def modf(g, ans, x):
    return (unbroadcast(cotangent_or_zero(g[0]), x),)


# x = mantissa * 2**exponent: only the mantissa has a derivative, 2**-exponent
@defvjp(np.frexp, allocates=True, returns_list=True, dtype="given")
def frexp(g, ans, x):
    return (np.ldexp(cotangent_or_zero(g[0]), np.negative(ans[1])),)
