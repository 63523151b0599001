"""Rules for polynomials: ``vander``, ``polyval`` and ``polyfit``.

The columns of ``np.vander(x, N)`` are powers of ``x``; :func:`power_slopes`
gives any derivative of them (falling factorials times lower powers), and
its own derivative is the next one, so every order is differentiable.
``polyval(p, x)`` is linear in ``p`` (its cotangent is the cotangent times
the powers of ``x``: a Vandermonde matrix) and its derivative in ``x`` is
the polynomial of the derivative's coefficients. ``polyfit(x, y, deg)`` is
the least-squares solution ``c`` of ``V c = y`` with ``V = vander(x, deg +
1)``: linear in ``y`` (cotangent ``V A^-1 g``, ``A = V^T V``), and in ``x``
through ``V``, whose cotangent is ``r z^T - (V z) c^T`` with ``z = A^-1 g``
and the residual ``r = y - V c``.
"""

import numpy as np

from s2sgrad.primitives.elementwise import cast_like
from s2sgrad.primitives.registry import defnondiff, defvjp


@defvjp(np.vander, allocates=True)
def vander(g, ans, x, N=None, increasing=False):
    return (np.sum(g * power_slopes(x, N, increasing, 1), axis=-1), None, None)


def power_slopes(x, N=None, increasing=False, order=1):
    """The ``order``-th derivative of the columns of ``np.vander(x, N,
    increasing)``: e (e - 1) ... (e - order + 1) x^(e - order) for the
    column of power e, and 0 where e < order."""
    count = len(x) if N is None else N
    powers = np.arange(count) if increasing else np.arange(count - 1, -1, -1)
    factors = np.ones(count)
    for k in range(order):
        factors = factors * (powers - k)
    dtype = np.result_type(x, 1.0)
    return np.asarray(factors, dtype) * np.asarray(x, dtype)[:, None] ** np.maximum(powers - order, 0)


@defvjp(power_slopes, allocates=True, dtype="float")
def power_slopes_vjp(g, ans, x, N=None, increasing=False, order=1):
    return (np.sum(g * power_slopes(x, N, increasing, order + 1), axis=-1), None, None, None)


@defvjp(np.polyval, allocates=True)
def polyval(g, ans, p, x):
    # (np.vander promotes float32 to float64)
    return (cast_like(np.reshape(np.matmul(np.ravel(g), np.vander(np.ravel(x), len(p))), np.shape(p)), p),
            g * np.polyval(p[:-1] * polynomial_exponents(p), x))


def polynomial_exponents(p):
    """The powers of x that coefficients ``p[:-1]`` multiply (highest first),
    in ``p``'s floating dtype: the factors of the derivative's coefficients."""
    return np.arange(len(p) - 1, 0, -1).astype(np.result_type(p, 1.0))


defnondiff(polynomial_exponents, dtype="float")


# (w=, full= and cov= do not bind to the rule: such calls are refused)
@defvjp(np.polyfit, allocates=True, dtype="float")
def polyfit(g, ans, x, y, deg, rcond=None):
    powers = np.vander(x, deg + 1)
    solved = np.linalg.solve(np.matmul(np.swapaxes(powers, 0, 1), powers), g)
    fitted_cotangent = np.matmul(powers, solved)
    residuals = y - np.matmul(powers, ans)
    columns = (np.shape(powers)[0], -1)
    powers_cotangent = np.matmul(np.reshape(residuals, columns), np.swapaxes(np.reshape(solved, (deg + 1, -1)), 0, 1)) \
        - np.matmul(np.reshape(fitted_cotangent, columns), np.swapaxes(np.reshape(ans, (deg + 1, -1)), 0, 1))
    return (np.sum(powers_cotangent * power_slopes(x, deg + 1, False, 1), axis=-1), fitted_cotangent, None, None)
