"""Rules for ``np.quantile``, ``np.percentile``, ``np.nanquantile`` and
``np.nanpercentile`` (method "linear", NumPy's default).

With the ``n`` entries of a slice sorted, the quantile ``q`` sits at
position ``q (n - 1)``: ``(1 - f) x[lo] + f x[hi]`` for ``lo`` its floor,
``hi = lo + 1`` and ``f`` the fraction. So the cotangent of ``a`` sends
``1 - f`` and ``f`` of the result's cotangent to the two entries (at ties,
to the ones a stable sort puts there, a one-sided derivative), and that of
``q`` is ``(x[hi] - x[lo]) (n - 1)`` (divided by 100 for the percentiles).
The ``nan*`` versions count only the entries that are not NaN, which get
no gradient. ``q`` may be an array (its axes come first in the result),
``axis`` an int or a tuple, ``keepdims`` either. Other methods, and
``weights``, are refused, as is a ``nan*`` call with a q of two or more
dimensions over several but not all axes (NumPy 2.4 lays its result out
unlike ``np.quantile``'s). First order (forward mode too): a second
derivative raises ``NotImplementedError``.
"""

import numpy as np

from s2sgrad.primitives.linalg import no_second_order
from s2sgrad.primitives.reductions import _as_rows
from s2sgrad.primitives.registry import defvjp


def _positions(a, q, axis, method, weights, nan, percent):
    """(rows of ``a``, the rank of each of their entries, the sorted rows,
    lo, hi, f, and the number n of entries counted per slice, each of lo/hi/f
    shaped q's shape + the slices' batch shape), and the restore function."""
    if method != "linear" or weights is not None:
        what = f"method={method!r}" if method != "linear" else "weights="
        raise NotImplementedError(f"s2sgrad differentiates quantiles and percentiles with the 'linear' "
                                  f"method only (NumPy's default), not {what}")
    if nan and np.ndim(q) >= 2 and isinstance(axis, (tuple, list)) and 1 < len(axis) < np.ndim(a):
        raise NotImplementedError(  # (NumPy 2.4 lays the result out differently from np.quantile's)
            "s2sgrad does not differentiate np.nanquantile or np.nanpercentile with a q of two or more "
            "dimensions over several (not all) axes; reduce over one axis, or pass q flattened")
    rows, restore = _as_rows(a, axis)
    order = np.argsort(rows, axis=-1, kind="stable")  # (NaNs last)
    ranks = np.argsort(order, axis=-1, kind="stable")
    ordered = np.take_along_axis(rows, order, axis=-1)
    n = np.shape(rows)[-1]
    counts = np.sum(~np.isnan(rows), axis=-1) if nan else np.full(np.shape(rows)[:-1], n)
    fraction = np.asarray(q, np.result_type(rows, 1.0)) / (100.0 if percent else 1.0)
    fraction = np.reshape(fraction, np.shape(fraction) + (1,) * np.ndim(counts))
    position = fraction * (counts - 1)
    lo = np.clip(np.floor(position), 0, np.maximum(counts - 1, 0)).astype(int)
    hi = np.minimum(lo + 1, np.maximum(counts - 1, 0))
    return rows, ranks, ordered, lo, hi, position - lo, counts, restore


def _slope(ordered, lo, hi, counts, percent):
    """d quantile / d q: ``(x[hi] - x[lo]) (n - 1)`` (0 for an empty slice)."""
    spread = np.broadcast_to(ordered, np.shape(lo) + np.shape(ordered)[-1:])
    gap = (np.take_along_axis(spread, hi[..., None], -1) - np.take_along_axis(spread, lo[..., None], -1))[..., 0]
    return np.where(counts > 0, gap * (counts - 1), 0.0) / (100.0 if percent else 1.0)


def quantile_cotangents(cotangent, a, q, axis=None, method="linear", weights=None, nan=False, percent=False):
    """(the cotangent of ``a``, that of ``q``) of a quantile function."""
    rows, ranks, ordered, lo, hi, f, counts, restore = _positions(a, q, axis, method, weights, nan, percent)
    g = np.reshape(cotangent, np.shape(lo)) * (counts > 0)  # (an all-NaN slice has none)
    share = (ranks == lo[..., None]) * ((1 - f) * g)[..., None] + (ranks == hi[..., None]) * (f * g)[..., None]
    leading = tuple(range(np.ndim(q)))
    g_a = restore(np.sum(share, axis=leading)).astype(np.result_type(a, 1.0), copy=False)
    slope = _slope(ordered, lo, hi, counts, percent)
    g_q = np.sum(g * slope, axis=tuple(range(np.ndim(q), np.ndim(g))))
    return g_a, np.reshape(g_q, np.shape(q)).astype(np.result_type(q, 1.0), copy=False)


def quantile_tangent(d_a, d_q, result, a, q, axis=None, method="linear", weights=None, nan=False, percent=False):
    """The tangent of a quantile function along ``d_a`` and ``d_q`` (None for none)."""
    rows, ranks, ordered, lo, hi, f, counts, restore = _positions(a, q, axis, method, weights, nan, percent)
    tangent = np.zeros(np.shape(lo), np.result_type(result, 1.0))
    if d_a is not None:
        d_rows = _as_rows(d_a, axis)[0]
        if nan:
            d_rows = np.where(np.isnan(rows), 0.0, d_rows)
        picked = ((ranks == lo[..., None]) * (1 - f)[..., None] + (ranks == hi[..., None]) * f[..., None]) \
            * (counts > 0)[..., None]
        tangent = tangent + np.sum(picked * d_rows, axis=-1)
    if d_q is not None:
        slope = _slope(ordered, lo, hi, counts, percent)
        d_q = np.reshape(d_q, np.shape(d_q) + (1,) * (np.ndim(lo) - np.ndim(d_q)))
        tangent = tangent + slope * d_q
    return np.reshape(tangent, np.shape(result)).astype(np.result_type(result), copy=False)


@defvjp(np.quantile, allocates=True, dtype="float")
def quantile(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
             weights=None):
    grads = quantile_cotangents(g, a, q, axis, method, weights, False, False)
    return (grads[0], grads[1])


@defvjp(np.percentile, allocates=True, dtype="float")
def percentile(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
               weights=None):
    grads = quantile_cotangents(g, a, q, axis, method, weights, False, True)
    return (grads[0], grads[1])


@defvjp(np.nanquantile, allocates=True, dtype="float")
def nanquantile(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                weights=None):
    grads = quantile_cotangents(g, a, q, axis, method, weights, True, False)
    return (grads[0], grads[1])


@defvjp(np.nanpercentile, allocates=True, dtype="float")
def nanpercentile(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                  weights=None):
    grads = quantile_cotangents(g, a, q, axis, method, weights, True, True)
    return (grads[0], grads[1])


@defvjp(quantile_cotangents, allocates=True, dtype="float", returns_list=True)
def quantile_cotangents_vjp(g, ans, cotangent, a, q, axis=None, method="linear", weights=None, nan=False,
                            percent=False):
    return (no_second_order("np.quantile and np.percentile"), no_second_order("np.quantile and np.percentile"),
            no_second_order("np.quantile and np.percentile"))
