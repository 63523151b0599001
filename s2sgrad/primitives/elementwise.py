"""Hand-written elementwise rules: the non-smooth and special ones.

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
def clip(g, ans, a, a_min=None, a_max=None):
    return (
        unbroadcast(g * within_bounds(a, a_min, a_max), a),
        unbroadcast(g * below_bound(a, a_min), a_min),
        unbroadcast(g * above_bound(a, a_max), a_max),
    )


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
deffacts(np.fabs, dtype="float")
deffacts(math.fabs, math.fmod, dtype="float", scalar=True)


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
