"""Rules for reductions: sum, mean, median, prod, max/min, ptp, var/std, the NaN-
ignoring nansum/nanmean/nanmax/nanmin, average, cumsum and cumprod.

The cotangent of a reduction has the reduced shape; ``repeat_to`` spreads
it back over the input (reinserting the reduced axes unless ``keepdims``).
``axis`` may be an int, a negative int, a tuple or None.

Rules list the primitive's parameters up to the last one they handle;
``where=`` and ``initial=`` are left out on purpose, so a call using them
does not bind to the rule instead of getting a wrong gradient.

``max``/``min`` split the cotangent evenly among tied maxima (autograd's
choice), and so do ``nanmax``/``nanmin`` (a NaN gets no gradient) and
``ptp``; ``prod`` and ``cumprod`` are exact when entries are zero (no
division by ``a``).
"""

import numpy as np

from s2sgrad.primitives.registry import deffacts, defnondiff, defvjp
from s2sgrad.runtime import repeat_to


@defvjp(np.sum, reduction=True, linear=True, allocates=True, methods=("sum",))
def sum_(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (repeat_to(g, a, axis, keepdims),)


@defvjp(np.mean, reduction=True, linear=True, allocates=True, methods=("mean",), dtype="float")
def mean(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (repeat_to(g, a, axis, keepdims) / (np.size(a) / np.size(ans)),)


@defvjp(np.prod, reduction=True, allocates=True, methods=("prod",))
def prod(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (repeat_to(g, a, axis, keepdims) * prod_of_others(a, axis),)


@defvjp(np.max, np.amax, np.min, np.amin, np.nanmax, np.nanmin, reduction=True, allocates=True)
def extreme(g, ans, a, axis=None, out=None, keepdims=False):
    return (repeat_to(g, a, axis, keepdims) * tie_share(a, ans, axis, keepdims),)


deffacts(np.max, methods=("max",))
deffacts(np.min, methods=("min",))


@defvjp(np.ptp, reduction=True, allocates=True)
def ptp(g, ans, a, axis=None, out=None, keepdims=False):
    top = tie_share(a, np.max(a, axis=axis, keepdims=True), axis, True)
    bottom = tie_share(a, np.min(a, axis=axis, keepdims=True), axis, True)
    return (repeat_to(g, a, axis, keepdims) * (top - bottom),)


# NaNs are left out of the sum and of the count: their entries get no gradient
@defvjp(np.nansum, reduction=True, linear=True, allocates=True)
def nansum(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (repeat_to(g, a, axis, keepdims) * number_share(a, ()),)


@defvjp(np.nanmean, reduction=True, linear=True, allocates=True, dtype="float")
def nanmean(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (repeat_to(g, a, axis, keepdims) * number_share(a, axis),)


# nanprod, nancumsum and nancumprod are prod, cumsum and cumprod of ``a``
# with its NaNs read as 1, 0 and 1 (what NumPy does); nanvar and nanstd are
# var and std of the numbers alone. A NaN's entry gets no gradient.
@defvjp(np.nanprod, reduction=True, allocates=True)
def nanprod(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (repeat_to(g, a, axis, keepdims) * prod_of_others(np.where(np.isnan(a), 1, a), axis)
            * number_share(a, ()),)


@defvjp(np.nancumsum, allocates=True)
def nancumsum(g, ans, a, axis=None, dtype=None, out=None):
    return (np.reshape(np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis), np.shape(a)) * number_share(a, ()),)


@defvjp(np.nancumprod, allocates=True)
def nancumprod(g, ans, a, axis=None, dtype=None, out=None):
    rows = np.expand_dims(np.moveaxis(g, cumulative_axis(axis), -1), -1)
    filled = np.where(np.isnan(a), 1, a)
    return (prefixes_adjoint(rows * prod_of_others(prefixes(filled, axis, 1), -1), a, axis) * number_share(a, ()),)


@defvjp(np.nanvar, reduction=True, allocates=True, dtype="float")
def nanvar(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    centered = np.where(np.isnan(a), 0, a - np.nanmean(a, axis=axis, keepdims=True))
    return (repeat_to(g, a, axis, keepdims) * centered * (2 / number_count(a, axis, ddof)),)


@defvjp(np.nanstd, reduction=True, allocates=True, dtype="float")
def nanstd(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    centered = np.where(np.isnan(a), 0, a - np.nanmean(a, axis=axis, keepdims=True))
    return (repeat_to(g / ans, a, axis, keepdims) * centered / number_count(a, axis, ddof),)


def number_count(a, axis=None, ddof=0):
    """How many numbers (not NaN) are reduced together along ``axis``, less
    ``ddof``, with the reduced axes kept, in ``a``'s floating dtype."""
    return _in_float_dtype(np.sum(np.logical_not(np.isnan(a)), axis=axis, keepdims=True) - ddof, a)


defnondiff(number_count, dtype="float")


def number_share(a, axis=None):
    """0 at NaNs, elsewhere 1 over the count of numbers reduced together
    along ``axis`` (None: all of them; ``()``: none, so 1), in ``a``'s
    floating dtype."""
    numbers = np.logical_not(np.isnan(a))
    return _in_float_dtype(numbers / np.maximum(np.sum(numbers, axis=axis, keepdims=True), 1), a)


def _in_float_dtype(share, a):
    """``share`` in ``a``'s floating dtype (float64 for integer ``a``)."""
    dtype = np.result_type(a)
    share = np.asarray(share, dtype=dtype if np.issubdtype(dtype, np.floating) else np.float64)
    return share[()] if share.ndim == 0 else share


defnondiff(number_share, dtype="float")


# the mean of the middle entry or two: at ties one of the equal entries
# gets their share (a one-sided derivative)
@defvjp(np.median, reduction=True, allocates=True, dtype="float")
def median(g, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return (repeat_to(g, a, axis, keepdims) * middle_share(a, axis),)


def middle_share(a, axis=None):
    """Each entry's share of ``np.median(a, axis)``: 1 for the middle entry
    of an odd count, 1/2 for each of the two middle ones of an even count."""
    rows, restore = _as_rows(a, axis)
    count = np.shape(rows)[-1]
    order = np.argsort(rows, axis=-1, kind="stable")
    share = np.zeros(np.shape(rows), np.result_type(a, 1.0))
    middles = {(count - 1) // 2, count // 2}
    for middle in middles:
        np.put_along_axis(share, order[..., middle:middle + 1], 1 / len(middles), -1)
    return restore(share)


defnondiff(middle_share, dtype="float")


# (returned= and keepdims= do not bind to the rule: such calls are refused)
@defvjp(np.average, reduction=True, allocates=True, dtype="float")
def average(g, ans, a, axis=None, weights=None):
    spread = spread_weights(weights, a, axis)
    share = repeat_to(g, a, axis) / np.sum(spread, axis=axis, keepdims=True)
    return (share * spread, None, gathered_weights(share * (a - repeat_to(ans, a, axis)), weights, axis))


def spread_weights(weights, a, axis=None):
    """``np.average``'s ``weights`` spread over ``a``'s shape (ones for None;
    a vector of weights lies along ``axis``)."""
    if weights is None:
        return np.ones(np.shape(a), np.result_type(a, 1.0))
    if np.ndim(weights) == 1 and np.ndim(a) > 1:
        along = [1] * np.ndim(a)
        along[axis] = -1
        weights = np.reshape(weights, along)
    return np.broadcast_to(weights, np.shape(a))


def gathered_weights(cotangent, weights, axis=None):
    """The cotangent of :func:`spread_weights` with respect to ``weights``
    (None for no weights)."""
    if weights is None:
        return None
    if np.ndim(weights) == 1 and np.ndim(cotangent) > 1:
        others = tuple(i for i in range(np.ndim(cotangent)) if i != axis % np.ndim(cotangent))
        return np.sum(cotangent, axis=others)
    return cotangent


@defvjp(spread_weights, view_of=0, linear=True)
def spread_weights_vjp(g, ans, weights, a, axis=None):
    return (gathered_weights(g, weights, axis), None, None)


@defvjp(gathered_weights, allocates=True, linear=True)
def gathered_weights_vjp(g, ans, cotangent, weights, axis=None):
    return (spread_weights(g, cotangent, axis), None, None)


@defvjp(np.var, reduction=True, allocates=True, methods=("var",), dtype="float")
def var(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    count = np.size(a) / np.size(ans) - ddof
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return (repeat_to(g, a, axis, keepdims) * centered * (2 / count),)


@defvjp(np.std, reduction=True, allocates=True, methods=("std",), dtype="float")
def std(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    count = np.size(a) / np.size(ans) - ddof
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return (repeat_to(g / ans, a, axis, keepdims) * centered / count,)


# cov and corrcoef of the matrix X of observations (a row per variable: m's,
# then y's): cov = Xc Xc^T / (N - ddof) with Xc = X less its row means, so
# its cotangent in X is (G + G^T) Xc / (N - ddof) (centering drops out, as
# Xc's rows sum to zero). corrcoef = C_ij s_i s_j with s = 1 / sqrt(diag C)
# of the unscaled C = Xc Xc^T, whose cotangent in C is G s s^T less, on
# the diagonal, s_i^2 / 2 times row i of (G R + (G R)^T). (fweights= and
# aweights= do not bind to the rule: such calls are refused.)


@defvjp(np.cov, allocates=True, dtype="float")
def cov(g, ans, m, y=None, rowvar=True, bias=False, ddof=None):
    observations = observation_matrix(m, y, rowvar)
    centered = observations - np.mean(observations, axis=1, keepdims=True)
    count = np.shape(observations)[0]
    square = np.reshape(g, (count, count))
    spread = np.matmul(square + np.swapaxes(square, 0, 1), centered) / cov_divisor(np.shape(observations), bias, ddof)
    return (from_variables(spread, np.shape(m), np.shape(y), rowvar, 0),
            from_variables(spread, np.shape(m), np.shape(y), rowvar, 1))


@defvjp(np.corrcoef, allocates=True, dtype="float")
def corrcoef(g, ans, x, y=None, rowvar=True):
    observations = observation_matrix(x, y, rowvar)
    centered = observations - np.mean(observations, axis=1, keepdims=True)
    count = np.shape(observations)[0]
    scale = 1 / np.sqrt(np.sum(centered * centered, axis=1))
    square = np.reshape(g, (count, count))
    weighted = square * np.reshape(ans, (count, count))
    unscaled = square * np.outer(scale, scale) \
        - np.diag(scale * scale * np.sum(weighted + np.swapaxes(weighted, 0, 1), axis=1) / 2)
    spread = np.matmul(unscaled + np.swapaxes(unscaled, 0, 1), centered)
    return (from_variables(spread, np.shape(x), np.shape(y), rowvar, 0),
            from_variables(spread, np.shape(x), np.shape(y), rowvar, 1))


def variable_rows(shape, rowvar=True):
    """How many variables (rows of the observations) an argument of ``shape`` holds."""
    if len(shape) < 2:
        return 1
    return shape[0] if rowvar or shape[0] == 1 else shape[1]


def _transposed(shape, rowvar):
    """True when an argument of ``shape`` holds its variables in columns."""
    return len(shape) == 2 and not rowvar and shape[0] != 1


def into_variables(a, m_shape, y_shape, rowvar=True, which=0):
    """The observations (a row per variable) holding ``a`` -- cov's ``m``
    (``which`` 0) or ``y`` (1), of ``m_shape`` and ``y_shape`` -- with zeros
    in the other's rows; 0.0 for no ``y`` (None, whose shape is ``()``)."""
    shape = (m_shape, y_shape)[which]
    if which == 1 and shape == ():
        return 0.0
    rows = np.reshape(a, (1, -1)) if len(shape) < 2 else np.swapaxes(a, 0, 1) if _transposed(shape, rowvar) else a
    m_rows = variable_rows(m_shape, rowvar)
    y_rows = 0 if y_shape == () else variable_rows(y_shape, rowvar)
    return np.pad(rows, ((0, y_rows), (0, 0)) if which == 0 else ((m_rows, 0), (0, 0)))


def observation_matrix(m, y=None, rowvar=True):
    """The observations of np.cov's ``m`` and ``y``: a row per variable."""
    return into_variables(m, np.shape(m), np.shape(y), rowvar, 0) + into_variables(y, np.shape(m), np.shape(y), rowvar, 1)


def from_variables(cotangent, m_shape, y_shape, rowvar=True, which=0):
    """The rows of ``cotangent`` (shaped like the observations) that belong
    to ``m`` (``which`` 0) or ``y`` (1), shaped like it (None for no ``y``):
    the transpose of :func:`into_variables`."""
    shape = (m_shape, y_shape)[which]
    if which == 1 and shape == ():
        return None
    m_rows = variable_rows(m_shape, rowvar)
    part = cotangent[:m_rows] if which == 0 else cotangent[m_rows:]
    return np.reshape(np.swapaxes(part, 0, 1) if _transposed(shape, rowvar) else part, shape)


def cov_divisor(shape, bias=False, ddof=None):
    """N - ddof for observations of ``shape`` (ddof 1, or 0 with ``bias``, when None)."""
    return shape[1] - ((0 if bias else 1) if ddof is None else ddof)


defnondiff(variable_rows, cov_divisor, dtype="int")


# (linear in m and y, but y may be None: see forward_rules)
@defvjp(observation_matrix, allocates=True)
def observation_matrix_vjp(g, ans, m, y=None, rowvar=True):
    return (from_variables(g, np.shape(m), np.shape(y), rowvar, 0), from_variables(g, np.shape(m), np.shape(y), rowvar, 1),
            None)


@defvjp(into_variables, allocates=True, linear=True)
def into_variables_vjp(g, ans, a, m_shape, y_shape, rowvar=True, which=0):
    return (from_variables(g, m_shape, y_shape, rowvar, which), None, None, None, None)


@defvjp(from_variables, view_of=0, linear=True)
def from_variables_vjp(g, ans, cotangent, m_shape, y_shape, rowvar=True, which=0):
    return (into_variables(g, m_shape, y_shape, rowvar, which), None, None, None, None)


@defvjp(np.cumsum, linear=True, allocates=True, methods=("cumsum",))
def cumsum(g, ans, a, axis=None, dtype=None, out=None):
    return (np.reshape(np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis), np.shape(a)),)


# Exact where entries are zero: every prefix product is a product of one row
# of the matrix of prefixes (a_j for j <= i, else 1), differentiated by
# ``prod_of_others``. That costs n**2 per run of n entries along the axis.
@defvjp(np.cumprod, allocates=True, methods=("cumprod",))
def cumprod(g, ans, a, axis=None, dtype=None, out=None):
    rows = np.expand_dims(np.moveaxis(g, cumulative_axis(axis), -1), -1)
    return (prefixes_adjoint(rows * prod_of_others(prefixes(a, axis, 1), -1), a, axis),)


def cumulative_axis(axis):
    """The axis a cumulative reduction runs along (0 of the flattened array for None)."""
    return 0 if axis is None else axis


defnondiff(cumulative_axis, dtype="int")


def prefixes(a, axis=None, fill=0):
    """For every entry i along ``axis`` (flattened for None), moved last, the
    row of entries j <= i of ``a`` followed by ``fill``: shape (..., n, n)."""
    along = np.moveaxis(np.reshape(a, -1) if axis is None else a, cumulative_axis(axis), -1)
    n = np.shape(along)[-1]
    lower = np.tri(n, dtype=bool)
    return np.where(lower, along[..., None, :], np.asarray(fill, dtype=np.result_type(a)))


def prefixes_adjoint(cotangent, a, axis=None):
    """The cotangent of :func:`prefixes` with respect to ``a``: each entry's
    cotangents on the rows it belongs to, summed, in ``a``'s shape."""
    n = np.shape(cotangent)[-1]
    summed = np.sum(np.where(np.tri(n, dtype=bool), cotangent, 0), axis=-2)
    return np.reshape(np.moveaxis(summed, -1, cumulative_axis(axis)), np.shape(a))


@defvjp(prefixes, allocates=True, linear=True)
def prefixes_vjp(g, ans, a, axis=None, fill=0):
    return (prefixes_adjoint(g, a, axis), None, None)


@defvjp(prefixes_adjoint, allocates=True, linear=True)
def prefixes_adjoint_vjp(g, ans, cotangent, a, axis=None):
    return (prefixes(g, axis, 0), None, None)


def _reduced_axes(ndim, axis):
    """``axis`` as a sorted tuple of non-negative axes (None means all)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    return tuple(sorted(int(a) % ndim for a in axes))


def _as_rows(a, axis):
    """``a`` with the reduced axes moved last and merged into one.

    Returns the rows and the function undoing the move for a result of the
    same shape.
    """
    shape = np.shape(a)
    axes = _reduced_axes(len(shape), axis)
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    moved = np.transpose(a, kept + axes)
    moved_shape = np.shape(moved)
    rows = np.reshape(moved, moved_shape[: len(kept)] + (-1,))
    inverse = tuple(np.argsort(kept + axes))

    def restore(result):
        # a 0-d result is a NumPy scalar, as NumPy's own reductions return
        # (a Python float argument's gradient must stay a float)
        restored = np.transpose(np.reshape(result, moved_shape), inverse)
        return restored[()] if not moved_shape else restored

    return rows, restore


def prod_of_others(a, axis=None):
    """For every entry of ``a``, the product of the other entries it is reduced with.

    This is d prod(a, axis) / d a, computed from exclusive cumulative
    products from the left and from the right, so zeros in ``a`` need no
    special case (``prod / a`` would divide by them).
    """
    rows, restore = _as_rows(a, axis)
    ones = np.ones_like(rows[..., :1])
    left = np.cumprod(np.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, np.flip(rows[..., 1:], -1)], axis=-1), axis=-1)
    return restore(left * np.flip(right, -1))


def prod_of_others_jvp(a, tangent, axis=None):
    """The derivative of :func:`prod_of_others` at ``a`` along ``tangent``.

    Exclusive products are carried with their derivatives (dual numbers)
    in one pass per direction, so zeros need no special case here either.
    The Jacobian of ``prod_of_others`` is the Hessian of ``prod``, which is
    symmetric, so this is also its vjp.
    """
    rows, restore = _as_rows(a, axis)
    dirs, _ = _as_rows(np.broadcast_to(tangent, np.shape(a)), axis)
    n = np.shape(rows)[-1]
    dtype = np.result_type(rows, dirs)
    left = np.ones(np.shape(rows), dtype)
    dleft = np.zeros(np.shape(rows), dtype)
    right = np.ones(np.shape(rows), dtype)
    dright = np.zeros(np.shape(rows), dtype)
    for i in range(1, n):
        left[..., i] = left[..., i - 1] * rows[..., i - 1]
        dleft[..., i] = dleft[..., i - 1] * rows[..., i - 1] + left[..., i - 1] * dirs[..., i - 1]
        j = n - 1 - i
        right[..., j] = right[..., j + 1] * rows[..., j + 1]
        dright[..., j] = dright[..., j + 1] * rows[..., j + 1] + right[..., j + 1] * dirs[..., j + 1]
    return restore(dleft * right + left * dright)


@defvjp(prod_of_others, allocates=True)
def prod_of_others_vjp(g, ans, a, axis=None):
    return (prod_of_others_jvp(a, g, axis), None)


def tie_share(a, ans, axis=None, keepdims=False):
    """Each entry's share of the cotangent of ``max``/``min``: 1/(number of ties) at the extremes, else 0."""
    hits = a == repeat_to(ans, a, axis, keepdims)
    count = np.sum(hits, axis=axis, keepdims=True)
    return _in_float_dtype(hits / np.maximum(count, 1), a)


defnondiff(tie_share, allocates=True, dtype="float")
