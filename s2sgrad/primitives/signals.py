"""Rules for convolutions and correlations, fill values, conversions and
``cumulative_sum``: functions of the NumPy coverage table (see
``tools/numpy_coverage.py``) that were refused and whose rules are short.

``convolve`` and ``correlate`` of vectors ``a`` (length n) and ``v``
(length m) are bilinear: each mode's result is a window of the full
result (length n + m - 1), so the cotangent is padded back to the full
length with zeros and correlated with the other operand. The forward
rules follow from the facts (bilinear: ``multilinear``; the others
``linear``).
"""

import numpy as np

from s2sgrad.primitives.registry import defnondiff, defvjp
from s2sgrad.primitives.shape import array_adjoint
from s2sgrad.runtime import unbroadcast

# -- convolutions and correlations of vectors --------------------------------


@defvjp(np.convolve, allocates=True, multilinear=True)
def convolve(g, ans, a, v, mode="full"):
    full = np.pad(g, window_padding(np.size(a), np.size(v), mode, False))
    return (np.correlate(full, v, "valid"), np.correlate(full, a, "valid"), None)


@defvjp(np.correlate, allocates=True, multilinear=True)
def correlate(g, ans, a, v, mode="valid"):
    full = np.pad(g, window_padding(np.size(a), np.size(v), mode, True))
    return (np.correlate(full, np.flip(v), "valid"), np.flip(np.correlate(full, a, "valid")), None)


def window_padding(n, m, mode, correlation):
    """The zeros before and after the result of ``mode`` ("full", "same",
    "valid") that give the full result of a convolution (a correlation if
    ``correlation``) of lengths ``n`` and ``m``: ``np.pad``'s widths."""
    full, shorter, longer = n + m - 1, min(n, m), max(n, m)
    if mode == "full":
        return ((0, 0),)
    if mode == "valid":
        return ((shorter - 1, shorter - 1),)
    if mode != "same":
        raise ValueError(f"mode must be 'full', 'same' or 'valid', not {mode!r}")
    start = (shorter - 1) // 2
    if correlation and n < m:  # (NumPy correlates the other way round, reversed)
        start = full - longer - start
    return ((start, full - longer - start),)


defnondiff(window_padding, dtype="int")


# -- fill values ------------------------------------------------------------


@defvjp(np.full, allocates=True, linear=True)
def full(g, ans, shape, fill_value):
    return (None, unbroadcast(g, fill_value))


@defvjp(np.full_like, allocates=True, linear=True)
def full_like(g, ans, a, fill_value):
    return (None, unbroadcast(g, fill_value))


# -- conversions: the values pass through ------------------------------------


@defvjp(np.asanyarray, view_of=0, linear=True)
def asanyarray(g, ans, a, dtype=None, order=None, *, device=None, copy=None):
    return (array_adjoint(g, a),)


@defvjp(np.ascontiguousarray, np.asfortranarray, view_of=0, linear=True)
def contiguous(g, ans, a, dtype=None):
    return (array_adjoint(g, a),)


@defvjp(np.asarray_chkfinite, view_of=0, linear=True)
def asarray_chkfinite(g, ans, a, dtype=None, order=None):
    return (array_adjoint(g, a),)


@defvjp(np.require, view_of=0, linear=True)
def require(g, ans, a, dtype=None, requirements=None):
    return (array_adjoint(g, a),)


# -- running sums -----------------------------------------------------------


@defvjp(np.cumulative_sum, allocates=True, linear=True)
def cumulative_sum(g, ans, x, *, axis=None, dtype=None, out=None, include_initial=False):
    return (cumulative_sum_adjoint(g, x, axis, include_initial),)


def cumulative_sum_adjoint(cotangent, x, axis=None, include_initial=False):
    """The cotangent of ``np.cumulative_sum(x, axis=axis, ...)``: each
    entry's share of every running sum it is part of (the initial zero of
    ``include_initial`` has none), in ``x``'s shape."""
    along = 0 if axis is None else axis
    if include_initial:
        cotangent = np.moveaxis(np.moveaxis(cotangent, along, 0)[1:], 0, along)
    return np.reshape(np.flip(np.cumsum(np.flip(cotangent, along), axis=along), along), np.shape(x))


@defvjp(cumulative_sum_adjoint, allocates=True, linear=True)
def cumulative_sum_adjoint_vjp(g, ans, cotangent, x, axis=None, include_initial=False):
    return (np.cumulative_sum(g, axis=axis, include_initial=include_initial), None, None, None)



# -- unwrap: p plus whole periods, a piecewise constant correction -----------


# (period= does not bind to the rule: such calls are refused)
@defvjp(np.unwrap, allocates=True)
def unwrap(g, ans, p, discont=None, axis=-1):
    return (g, None, None)
