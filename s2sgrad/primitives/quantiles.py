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
unlike ``np.quantile``'s). Twice differentiable (forward mode too); a
third derivative is refused.
"""

import numpy as np

from s2sgrad.primitives.linalg import no_second_order, output_cotangent
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


# Second order. The cotangents (g_a, g_q) are linear in the cotangent g;
# g_a moves with q through f (d f / d q = (n - 1), over 100 for the
# percentiles), g_q with a through the gap x[hi] - x[lo]; g_a does not move
# with a nor g_q with q (their positions are locally constant).


def _gap_weights(rows, ranks, lo, hi, counts, percent):
    """d (x[hi] - x[lo]) (n - 1) / d x per entry: (n - 1) at hi, -(n - 1) at
    lo (over 100 for the percentiles), shaped like lo + the rows' last axis."""
    scale = np.where(counts > 0, counts - 1, 0) / (100.0 if percent else 1.0)
    return ((ranks == hi[..., None]) * 1.0 - (ranks == lo[..., None])) * scale[..., None]


def quantile_cotangents_tangent(d_a, d_q, cotangent, a, q, axis=None, method="linear", weights=None, nan=False,
                                percent=False):
    """The tangent of :func:`quantile_cotangents`'s (g_a, g_q) along ``d_a``
    and ``d_q`` (None for none), the cotangent held fixed."""
    rows, ranks, ordered, lo, hi, f, counts, restore = _positions(a, q, axis, method, weights, nan, percent)
    g = np.reshape(cotangent, np.shape(lo)) * (counts > 0)
    moves = _gap_weights(rows, ranks, lo, hi, counts, percent)
    t_a = np.zeros(np.shape(a), np.result_type(a, 1.0))
    t_q = np.zeros(np.shape(q), np.result_type(q, 1.0))
    if d_q is not None:
        d_q = np.reshape(d_q, np.shape(d_q) + (1,) * (np.ndim(lo) - np.ndim(d_q)))
        t_a = t_a + restore(np.sum(moves * (g * d_q)[..., None], axis=tuple(range(np.ndim(q)))))
    if d_a is not None:
        d_rows = _as_rows(d_a, axis)[0]
        if nan:
            d_rows = np.where(np.isnan(rows), 0.0, d_rows)
        t_q = t_q + np.reshape(np.sum(g * np.sum(moves * d_rows, axis=-1), axis=tuple(range(np.ndim(q), np.ndim(g)))),
                               np.shape(q))
    return t_a.astype(np.result_type(a, 1.0), copy=False), t_q


def quantile_curvature(h, cotangent, a, q, axis=None, method="linear", weights=None, nan=False, percent=False):
    """(the cotangent of ``a``, that of ``q``) of ``<h, quantile_cotangents(cotangent, a, q)>``
    with the cotangent held fixed: the transpose of :func:`quantile_cotangents_tangent`."""
    rows, ranks, ordered, lo, hi, f, counts, restore = _positions(a, q, axis, method, weights, nan, percent)
    g = np.reshape(cotangent, np.shape(lo)) * (counts > 0)
    moves = _gap_weights(rows, ranks, lo, hi, counts, percent)
    h_a, h_q = output_cotangent(h, (a, q), 0), output_cotangent(h, (a, q), 1)
    h_q = np.reshape(h_q, np.shape(h_q) + (1,) * (np.ndim(lo) - np.ndim(h_q)))
    c_a = restore(np.sum(moves * (g * h_q)[..., None], axis=tuple(range(np.ndim(q)))))
    h_rows = _as_rows(h_a, axis)[0]
    if nan:
        h_rows = np.where(np.isnan(rows), 0.0, h_rows)
    c_q = np.sum(g * np.sum(moves * h_rows, axis=-1), axis=tuple(range(np.ndim(q), np.ndim(g))))
    return (c_a.astype(np.result_type(a, 1.0), copy=False),
            np.reshape(c_q, np.shape(q)).astype(np.result_type(q, 1.0), copy=False))


@defvjp(quantile_cotangents, allocates=True, dtype="float", returns_list=True)
def quantile_cotangents_vjp(g, ans, cotangent, a, q, axis=None, method="linear", weights=None, nan=False,
                            percent=False):
    curvature = quantile_curvature(g, cotangent, a, q, axis, method, weights, nan, percent)
    return (quantile_tangent(output_cotangent(g, ans, 0), output_cotangent(g, ans, 1), cotangent, a, q, axis, method,
                             weights, nan, percent),
            curvature[0], curvature[1])


def quantile_tangent_tangent(e_a, e_q, d_a, d_q, result, a, q, axis=None, method="linear", weights=None, nan=False,
                             percent=False):
    """The tangent of ``quantile_tangent(d_a, d_q, result, a, q)`` along ``a +
    e_a`` and ``q + e_q`` (None for none): d_q's slope moves with a, d_a's
    weights with q."""
    rows, ranks, ordered, lo, hi, f, counts, restore = _positions(a, q, axis, method, weights, nan, percent)
    moves = _gap_weights(rows, ranks, lo, hi, counts, percent)
    tangent = np.zeros(np.shape(lo), np.result_type(result, 1.0))
    for along, scale in ((e_a, d_q), (d_a, e_q)):
        if along is not None and scale is not None:
            rows_along = _as_rows(along, axis)[0]
            if nan:
                rows_along = np.where(np.isnan(rows), 0.0, rows_along)
            scale = np.reshape(scale, np.shape(scale) + (1,) * (np.ndim(lo) - np.ndim(scale)))
            tangent = tangent + scale * np.sum(moves * rows_along, axis=-1)
    return np.reshape(tangent, np.shape(result)).astype(np.result_type(result), copy=False)


@defvjp(quantile_tangent_tangent, allocates=True, dtype="float")
def quantile_tangent_tangent_vjp(g, ans, e_a, e_q, d_a, d_q, result, a, q, axis=None, method="linear", weights=None,
                                 nan=False, percent=False):
    return (no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"),
            no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"),
            no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"),
            no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"),
            None,
            no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"),
            no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"))


@defvjp(quantile_tangent, allocates=True, dtype="float")
def quantile_tangent_vjp(g, ans, d_a, d_q, result, a, q, axis=None, method="linear", weights=None, nan=False,
                         percent=False):
    # (linear in the tangents: its transpose is quantile_cotangents; in a and
    # q it moves as <quantile_cotangents(g, a, q), (d_a, d_q)> does)
    cotangents = quantile_cotangents(g, a, q, axis, method, weights, nan, percent)
    curvature = quantile_curvature([d_a, d_q], g, a, q, axis, method, weights, nan, percent)
    return (cotangents[0], cotangents[1], None, curvature[0], curvature[1])




@defvjp(quantile_curvature, allocates=True, dtype="float", returns_list=True)
def quantile_curvature_vjp(g, ans, h, cotangent, a, q, axis=None, method="linear", weights=None, nan=False,
                           percent=False):
    return (no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"))


@defvjp(quantile_cotangents_tangent, allocates=True, dtype="float", returns_list=True)
def quantile_cotangents_tangent_vjp(g, ans, d_a, d_q, cotangent, a, q, axis=None, method="linear", weights=None,
                                    nan=False, percent=False):
    return (no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"),
            no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"))
