"""Rules for special functions: ``np.i0``, and the error function
:func:`erf` (which NumPy lacks; ``s2sgrad.tf.math.erf`` and ``gelu`` use it),
with ``math.erf`` and ``math.erfc`` of Python scalars.

``d erf(x)/dx = 2 / sqrt(pi) * exp(-x**2) = -d erfc(x)/dx``.

``d i0(x)/dx = i1(x)``, the modified Bessel function of the first kind of
order 1, which NumPy lacks: :func:`i1` computes it (its power series, all
of whose terms are positive, below 20; the asymptotic expansion above),
and ``d i1(x)/dx = i0(x) - i1(x)/x`` (1/2 at 0) makes ``i0`` twice
differentiable.
"""

import math

import numpy as np

from s2sgrad.primitives.registry import defvjp

#: below this |x| the series; at and above it the asymptotic expansion
_SERIES_LIMIT = 20.0
_SERIES_TERMS = 60
_ASYMPTOTIC_TERMS = 20


def i1(x):
    """The modified Bessel function of the first kind of order 1, elementwise
    (an odd function; in ``x``'s float type)."""
    x = np.asarray(x)
    dtype = np.result_type(x, 1.0)
    t = np.abs(x).astype(np.float64)
    small = np.minimum(t, _SERIES_LIMIT)
    half = small / 2.0
    term = half.copy()  # (x/2)^(2k+1) / (k! (k+1)!) for k = 0
    series = term.copy()
    for k in range(1, _SERIES_TERMS):
        term = term * half * half / (k * (k + 1))
        series = series + term
    large = np.maximum(t, _SERIES_LIMIT)
    coefficient, expansion = 1.0, np.ones_like(large)
    for k in range(1, _ASYMPTOTIC_TERMS):
        coefficient = coefficient * (4.0 - (2 * k - 1) ** 2) / (8.0 * k)
        expansion = expansion + (-1) ** k * coefficient / large ** k
    with np.errstate(over="ignore"):
        asymptotic = np.exp(large) / np.sqrt(2 * np.pi * large) * expansion
    value = np.where(t < _SERIES_LIMIT, series, asymptotic)
    return (np.sign(x) * value).astype(dtype, copy=False)


def i1_over_x(x):
    """``i1(x) / x`` elementwise, 1/2 at 0 (its limit)."""
    x = np.asarray(x)
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.5, i1(safe) / safe).astype(np.result_type(x, 1.0), copy=False)


@defvjp(np.i0, elementwise=True, allocates=True, dtype="float")
def i0(g, ans, x):
    return (g * i1(x),)


@defvjp(i1, elementwise=True, allocates=True, dtype="float")
def i1_vjp(g, ans, x):
    return (g * (np.i0(x) - i1_over_x(x)),)


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_erf_values = np.vectorize(math.erf, otypes=[float])


def erf(x):
    """The error function, elementwise, in ``x``'s float type (float32 stays float32)."""
    x = np.asarray(x)
    out = _erf_values(x).astype(np.result_type(x, np.float32), copy=False)
    return out[()] if out.ndim == 0 else out


@defvjp(erf, elementwise=True, allocates=True, dtype="float")
def erf_vjp(g, ans, x):
    return (g * _TWO_OVER_SQRT_PI * np.exp(-x * x),)


@defvjp(math.erf, elementwise=True, dtype="float", scalar=True)
def math_erf(g, ans, x):
    return (g * _TWO_OVER_SQRT_PI * math.exp(-x * x),)


@defvjp(math.erfc, elementwise=True, dtype="float", scalar=True)
def math_erfc(g, ans, x):
    return (-g * _TWO_OVER_SQRT_PI * math.exp(-x * x),)
