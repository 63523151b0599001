"""Rules for functions that copy, gather or rearrange entries: tiling and
repeating, diagonals, sorting, selecting, padding, differences (``diff``,
``gradient``), linspace, meshgrid.

Each adjoint sends the cotangent of every result entry back to the entry it
was read from; entries read several times (``tile``, ``repeat``, ``pad``)
accumulate. The scatter helpers are linear in the cotangent, and their own
rules are the gathers they undo, so generated code can be differentiated
again.

At ties ``sort`` and ``partition`` send each result entry's cotangent to
one of the equal entries (the derivative does not exist there; any choice
is a one-sided one).
"""

import inspect
import math

import numpy as np

from s2sgrad.primitives.elementwise import cast_like
from s2sgrad.primitives.registry import defnondiff, defvjp
from s2sgrad.primitives.shape import array_adjoint, getitem_adjoint, take_adjoint
from s2sgrad.runtime import unbroadcast

# -- tiling and repeating ---------------------------------------------------


@defvjp(np.tile, allocates=True, linear=True)
def tile(g, ans, A, reps):
    return (tile_adjoint(g, A, reps), None)


def tile_adjoint(cotangent, A, reps):
    """The cotangent of ``np.tile(A, reps)`` summed over the copies: ``A``'s shape.

    ``tile`` first gives ``A`` and ``reps`` the same length by prepending
    ones; the cotangent is then split into (copies, A's extent) pairs of
    axes and summed over the copies.
    """
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    ndim = max(np.ndim(A), len(reps))
    shape = (1,) * (ndim - np.ndim(A)) + np.shape(A)
    reps = (1,) * (ndim - len(reps)) + reps
    pairs = np.reshape(cotangent, [n for pair in zip(reps, shape) for n in pair])
    return np.reshape(np.sum(pairs, axis=tuple(range(0, 2 * ndim, 2))), np.shape(A))


@defvjp(tile_adjoint, allocates=True, linear=True)
def tile_adjoint_vjp(g, ans, cotangent, A, reps):
    return (np.tile(g, reps), None, None)


@defvjp(np.repeat, allocates=True, linear=True, methods=("repeat",))
def repeat(g, ans, a, repeats, axis=None):
    return (take_adjoint(g, a, repeated_indices(a, repeats, axis), axis), None)


def repeated_indices(a, repeats, axis=None):
    """The indices ``np.take(a, ., axis)`` reads to give ``np.repeat(a, repeats, axis)``."""
    length = np.size(a) if axis is None else np.shape(a)[axis]
    return np.repeat(np.arange(length), repeats)


defnondiff(repeated_indices, dtype="int")


# -- diagonals --------------------------------------------------------------


@defvjp(np.diagonal, view_of=0, linear=True, methods=("diagonal",))
def diagonal(g, ans, a, offset=0, axis1=0, axis2=1):
    return (diagonal_adjoint(g, a, offset, axis1, axis2),)


def diagonal_adjoint(cotangent, a, offset=0, axis1=0, axis2=1):
    """Zeros shaped like ``a`` with ``cotangent`` on the diagonal ``np.diagonal`` reads."""
    grad = np.zeros(np.shape(a), dtype=np.result_type(a, cotangent))
    length = np.shape(np.diagonal(grad, offset, axis1, axis2))[-1]
    plane = np.moveaxis(grad, (axis1, axis2), (-2, -1))
    rows = np.arange(length) + max(-offset, 0)
    plane[..., rows, rows + offset] = cotangent
    return grad


@defvjp(np.linalg.diagonal, view_of=0, linear=True)
def linalg_diagonal(g, ans, x, *, offset=0):
    return (diagonal_adjoint(g, x, offset, -2, -1),)


@defvjp(diagonal_adjoint, allocates=True, linear=True)
def diagonal_adjoint_vjp(g, ans, cotangent, a, offset=0, axis1=0, axis2=1):
    return (np.diagonal(g, offset, axis1, axis2), None, None, None, None)


@defvjp(np.diag, view_of=0, linear=True)
def diag(g, ans, v, k=0):
    return (diag_adjoint(g, v, k),)


def diag_adjoint(cotangent, v, k=0):
    """The cotangent of ``np.diag(v, k)``: for a vector ``v`` the k-th
    diagonal of ``cotangent``, for a matrix ``v`` zeros shaped like it with
    ``cotangent`` on that diagonal."""
    if np.ndim(v) == 1:
        return np.diagonal(cotangent, k)
    return diagonal_adjoint(cotangent, v, k)


# in both directions the transpose is np.diag again
@defvjp(diag_adjoint, view_of=0, linear=True)
def diag_adjoint_vjp(g, ans, cotangent, v, k=0):
    return (np.diag(g, k), None, None)


# -- gathering along an axis: take_along_axis, sort, partition ----------------


@defvjp(np.take_along_axis, allocates=True, linear=True)
def take_along_axis(g, ans, arr, indices, axis=-1):
    return (getitem_adjoint(g, arr, along_axis_index(np.shape(arr), indices, axis)), None, None)


def along_axis_index(shape, indices, axis=-1):
    """The subscript ``index`` for which ``x[index]`` is
    ``np.take_along_axis(x, indices, axis)``, for ``x`` of ``shape``."""
    if axis is None:
        return np.unravel_index(np.mod(indices, math.prod(shape)), shape)
    axis = axis % len(shape)
    index = []
    for dim, length in enumerate(shape):
        if dim == axis:
            index.append(indices)
        else:
            spread = (1,) * dim + (-1,) + (1,) * (np.ndim(indices) - dim - 1)
            index.append(np.reshape(np.arange(length), spread))
    return tuple(index)


#: NumPy 2.5 sorts in descending order too (``np.sort(a, descending=True)``):
#: the rules read where each entry came from, whichever the order
SORT_DESCENDS = "descending" in inspect.signature(np.sort).parameters

if SORT_DESCENDS:
    @defvjp(np.sort, allocates=True)
    def sort(g, ans, a, axis=-1, kind=None, order=None, *, stable=None, descending=False):
        return (getitem_adjoint(g, a, along_axis_index(np.shape(a), source_positions(a, ans, axis), axis)),)
else:
    @defvjp(np.sort, allocates=True)
    def sort(g, ans, a, axis=-1, kind=None, order=None, *, stable=None):
        return (getitem_adjoint(g, a, along_axis_index(np.shape(a), source_positions(a, ans, axis), axis)),)


@defvjp(np.partition, allocates=True)
def partition(g, ans, a, kth, axis=-1, kind="introselect", order=None):
    return (getitem_adjoint(g, a, along_axis_index(np.shape(a), source_positions(a, ans, axis), axis)), None)


def source_positions(a, rearranged, axis=-1):
    """Where along ``axis`` of ``a`` each entry of ``rearranged`` (a
    permutation of ``a`` along ``axis``, flattened for ``axis=None``) came
    from: the entry of the same rank (equal entries are matched in order)."""
    if axis is None:
        a, axis = np.reshape(a, -1), -1
    order = np.argsort(a, axis=axis, kind="stable")
    ranks = np.argsort(np.argsort(rearranged, axis=axis, kind="stable"), axis=axis, kind="stable")
    return np.take_along_axis(order, ranks, axis)


defnondiff(along_axis_index, source_positions, dtype="int")


# -- selecting among arrays: select, choose ----------------------------------


@defvjp(np.select, allocates=True)
def select(g, ans, condlist, choicelist, default=0):
    masks = first_true(condlist)
    return (
        None,
        masked_cotangents(g, masks, choicelist),
        unbroadcast(np.where(masks[len(condlist)], g, 0), default),
    )


@defvjp(np.choose, allocates=True)
def choose(g, ans, a, choices, out=None, mode="raise"):
    return (None, masked_cotangents(g, chosen_masks(a, len(choices), mode), choices))


def first_true(condlist):
    """For each condition, where it is the first true one; last, where none is."""
    taken = np.zeros(np.broadcast_shapes(*(np.shape(c) for c in condlist)), dtype=bool)
    masks = []
    for condition in condlist:
        masks.append(np.logical_and(condition, np.logical_not(taken)))
        taken = np.logical_or(taken, condition)
    return masks + [np.logical_not(taken)]


def chosen_masks(a, count, mode="raise"):
    """For each of ``count`` choices, where ``np.choose(a, ., mode)`` takes it."""
    if mode == "wrap":
        a = np.mod(a, count)
    elif mode == "clip":
        a = np.clip(a, 0, count - 1)
    return [np.equal(a, i) for i in range(count)]


defnondiff(first_true, chosen_masks, dtype="bool")


def masked_cotangents(cotangent, masks, arrays):
    """``cotangent`` where each mask holds (zero elsewhere), summed back to
    each array's shape (None for a None array: no cotangent flowed there)."""
    return [None if x is None else unbroadcast(np.where(mask, cotangent, 0), x)
            for mask, x in zip(masks, arrays)]


@defvjp(masked_cotangents, allocates=True, linear=True, returns_list=True)
def masked_cotangents_vjp(g, ans, cotangent, masks, arrays):
    return (masked_sum(g, masks, cotangent), None, None)


def masked_sum(parts, masks, like):
    """The sum of ``parts`` (None for zeros), each kept where its mask holds,
    shaped like ``like``: the transpose of :func:`masked_cotangents`."""
    total = np.zeros(np.shape(like), dtype=np.result_type(like, *(p for p in parts if p is not None)))
    for part, mask in zip(parts, masks):
        if part is not None:
            total = total + np.where(mask, part, 0)
    return total


@defvjp(masked_sum, allocates=True, linear=True)
def masked_sum_vjp(g, ans, parts, masks, like):
    return (masked_cotangents(g, masks, parts), None, None)


# -- padding ----------------------------------------------------------------

#: the modes of ``np.pad`` whose every padded entry is a copy of an entry
#: of the array (or a constant): their gradient is a scatter
COPYING_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


# (keyword options such as constant_values= do not bind to the rule: refused)
@defvjp(np.pad, allocates=True, linear=True)
def pad(g, ans, array, pad_width, mode="constant"):
    return (pad_adjoint(g, array, pad_width, mode), None, None)


def pad_adjoint(cotangent, array, pad_width, mode="constant"):
    """The cotangent of ``np.pad`` summed onto the entries each padded entry copies."""
    if mode not in COPYING_PAD_MODES:
        raise NotImplementedError(
            f"the gradient of np.pad with mode={mode!r}: only the modes {', '.join(COPYING_PAD_MODES)} "
            "have one")
    grad = np.zeros(np.shape(array), dtype=np.result_type(array, cotangent))
    positions = np.reshape(np.arange(np.size(array)), np.shape(array))
    if mode == "constant":
        sources = np.pad(positions, pad_width, mode, constant_values=-1)
    else:
        sources = np.pad(positions, pad_width, mode)
    copied = sources >= 0
    np.add.at(np.reshape(grad, -1), sources[copied], np.broadcast_to(cotangent, np.shape(sources))[copied])
    return grad


@defvjp(pad_adjoint, allocates=True, linear=True)
def pad_adjoint_vjp(g, ans, cotangent, array, pad_width, mode="constant"):
    return (np.pad(g, pad_width, mode), None, None, None)


# -- differences ------------------------------------------------------------


# (prepend= and append= do not bind to the rule: such calls are refused)
@defvjp(np.diff, view_of=0, linear=True)  # (n=0 returns a itself)
def diff(g, ans, a, n=1, axis=-1):
    return (diff_adjoint(g, a, n, axis),)


def diff_adjoint(cotangent, a, n=1, axis=-1):
    """The cotangent of ``np.diff(a, n, axis)`` with respect to ``a``.

    Each difference ``a[i + 1] - a[i]`` sends its cotangent to ``a[i + 1]``
    and, negated, to ``a[i]``: minus the differences of the cotangent
    padded with a zero at both ends, once per difference taken (a
    difference of fewer than two entries is empty: no more are taken).
    """
    widths = [(0, 0)] * np.ndim(a)
    widths[axis] = (1, 1)
    for _ in range(min(n, np.shape(a)[axis])):
        cotangent = -np.diff(np.pad(cotangent, widths), axis=axis)
    return cotangent


@defvjp(diff_adjoint, view_of=0, linear=True)
def diff_adjoint_vjp(g, ans, cotangent, a, n=1, axis=-1):
    return (np.diff(g, n, axis), None, None, None)


# -- integrals by the trapezoidal rule; differences of a flattened array -----
#
# np.trapezoid(y, x, dx, axis) sums along ``axis`` the pair means of y (each
# interval's mean height) times the interval widths (np.diff of x laid along
# the axis, or dx): bilinear in y and the widths, so each cotangent is the
# transpose of one of two linear maps applied to the other factor. The
# helpers take shapes, not arrays, for what they only measure, so that they
# are linear in all their array arguments.


@defvjp(np.trapezoid, allocates=True, dtype="float")
def trapezoid(g, ans, y, x=None, dx=1.0, axis=-1):
    spread = np.expand_dims(g, axis)
    heights = pair_means(y, axis)
    return (pair_means_adjoint(spread * interval_widths(x, dx, np.ndim(y), axis), np.shape(y), axis),
            interval_widths_adjoint(spread * heights, np.shape(x), np.ndim(y), axis),
            unbroadcast(spread * heights * uses_dx(x), dx))


def _along(ndim, axis, index):
    """An index of an array of ``ndim`` axes taking ``index`` along ``axis``."""
    where = [slice(None)] * ndim
    where[axis] = index
    return tuple(where)


def pair_means(y, axis=-1):
    """The means of neighbouring entries of ``y`` along ``axis`` (one fewer)."""
    return (y[_along(np.ndim(y), axis, slice(1, None))] + y[_along(np.ndim(y), axis, slice(None, -1))]) / 2


def pair_means_adjoint(cotangent, shape, axis=-1):
    """The cotangent of :func:`pair_means` of an array of ``shape``: half
    of each mean's cotangent to each of its two entries."""
    ndim = len(shape)
    pairs = list(shape)
    pairs[axis] -= 1
    cotangent = np.broadcast_to(cotangent, pairs)
    before, after = [(0, 0)] * ndim, [(0, 0)] * ndim
    before[axis], after[axis] = (1, 0), (0, 1)
    return (np.pad(cotangent, before) + np.pad(cotangent, after)) / 2


def interval_widths(x, dx, ndim, axis=-1):
    """The widths of np.trapezoid's intervals along ``axis`` of an array of
    ``ndim`` axes: the differences of ``x`` (a vector laid along the axis,
    or an array of that rank), or ``dx`` where ``x`` is None."""
    if x is None:
        return dx
    if np.ndim(x) == 1:
        x = np.reshape(x, [-1 if k == axis % ndim else 1 for k in range(ndim)])
    return np.diff(x, axis=axis)


def interval_widths_adjoint(cotangent, x_shape, ndim, axis=-1):
    """The cotangent of :func:`interval_widths` with respect to an ``x`` of
    ``x_shape`` (None for no ``x``, whose shape is ``()``)."""
    if x_shape == ():
        return None
    laid = [x_shape[0] if k == axis % ndim else 1 for k in range(ndim)] if len(x_shape) == 1 else list(x_shape)
    widths = list(laid)
    widths[axis] -= 1
    cotangent = unbroadcast(cotangent, np.empty(widths, dtype=bool))
    return np.reshape(diff_adjoint(cotangent, np.empty(laid, dtype=bool), 1, axis), x_shape)


def uses_dx(x):
    """1.0 where np.trapezoid's widths are ``dx`` (no ``x``), else 0.0."""
    return 1.0 if x is None else 0.0


defnondiff(uses_dx, dtype="given")


@defvjp(pair_means, allocates=True, linear=True)
def pair_means_vjp(g, ans, y, axis=-1):
    return (pair_means_adjoint(g, np.shape(y), axis), None)


@defvjp(pair_means_adjoint, allocates=True, linear=True)
def pair_means_adjoint_vjp(g, ans, cotangent, shape, axis=-1):
    return (unbroadcast(pair_means(g, axis), cotangent), None, None)


@defvjp(interval_widths)  # (linear in x and dx, but x may be None: see forward_rules)
def interval_widths_vjp(g, ans, x, dx, ndim, axis=-1):
    return (interval_widths_adjoint(g, np.shape(x), ndim, axis), unbroadcast(g * uses_dx(x), dx), None, None)


@defvjp(interval_widths_adjoint, allocates=True, linear=True)
def interval_widths_adjoint_vjp(g, ans, cotangent, x_shape, ndim, axis=-1):
    return (np.broadcast_to(interval_widths(g, 0.0, ndim, axis), np.shape(cotangent)), None, None, None)


# (ediff1d flattens: the differences of the entries in order, between the
# entries of to_begin and those of to_end)
@defvjp(np.ediff1d, allocates=True, linear=True)
def ediff1d(g, ans, ary, to_end=None, to_begin=None):
    first = edge_size(to_begin)
    last = np.size(ans) - edge_size(to_end)
    return (np.reshape(diff_adjoint(g[first:last], np.ravel(ary), 1, -1), np.shape(ary)),
            edge_cotangent(g[last:], to_end), edge_cotangent(g[:first], to_begin))


def edge_size(values):
    """How many entries np.ediff1d's ``to_begin`` or ``to_end`` adds (0 for None)."""
    return 0 if values is None else np.size(values)


defnondiff(edge_size, dtype="int")


def edge_cotangent(cotangent, values):
    """The cotangent of np.ediff1d's ``to_begin`` or ``to_end``, shaped like
    ``values`` (None for None)."""
    return None if values is None else np.reshape(cotangent, np.shape(values))


@defvjp(edge_cotangent, view_of=0)
def edge_cotangent_vjp(g, ans, cotangent, values):
    return (np.reshape(g, np.shape(cotangent)), None)


# -- np.gradient: central differences inside, one-sided at the edges ----------


# One scalar spacing at most (several spacings, or coordinate arrays, do not
# bind to the rule, or raise: refused); the result is an array for one axis,
# a tuple of arrays for several, and so is the cotangent.
@defvjp(np.gradient, allocates=True, returns_list=True)
def gradient(g, ans, f, spacing=1.0, *, axis=None, edge_order=1):
    return (gradient_adjoint(g, f, spacing, axis, edge_order), -parts_inner(g, ans) / spacing)


def _gradient_axes(ndim, axis):
    if axis is None:
        return tuple(range(ndim))
    return (axis,) if np.ndim(axis) == 0 else tuple(axis)


def gradient_adjoint(cotangent, f, spacing=1.0, axis=None, edge_order=1):
    """The cotangent of ``np.gradient(f, spacing, axis=axis, edge_order=...)``
    with respect to ``f``: each difference's weights sent back to the entries
    it reads (one array per axis, summed)."""
    if np.ndim(spacing) != 0:
        raise NotImplementedError("the gradient of np.gradient with coordinate arrays as spacing")
    axes = _gradient_axes(np.ndim(f), axis)
    parts = cotangent if isinstance(cotangent, (list, tuple)) else [cotangent]
    total = np.zeros(np.shape(f), dtype=np.result_type(f, 1.0, *(p for p in parts if p is not None)))
    for part, along in zip(parts, axes):
        if part is None:
            continue
        c = np.moveaxis(np.broadcast_to(part, np.shape(f)), along, -1) / spacing
        out = np.moveaxis(total, along, -1)  # (a view: writes reach total)
        out[..., 2:] += c[..., 1:-1] / 2
        out[..., :-2] -= c[..., 1:-1] / 2
        if edge_order == 1:
            out[..., 1] += c[..., 0]
            out[..., 0] -= c[..., 0]
            out[..., -1] += c[..., -1]
            out[..., -2] -= c[..., -1]
        else:
            out[..., :3] += c[..., :1] * np.array([-1.5, 2.0, -0.5], total.dtype)
            out[..., -3:] += c[..., -1:] * np.array([0.5, -2.0, 1.5], total.dtype)
    return total


@defvjp(gradient_adjoint, allocates=True)
def gradient_adjoint_vjp(g, ans, cotangent, f, spacing=1.0, axis=None, edge_order=1):
    return (np.gradient(g, spacing, axis=axis, edge_order=edge_order), None, -parts_inner(g, ans) / spacing)


def parts_inner(a, b):
    """The sum of the entrywise products of ``a`` and ``b``: arrays, or lists
    of arrays (None for zeros) taken part by part."""
    if not isinstance(a, (list, tuple)):
        return np.sum(a * b)
    return sum(np.sum(x * y) for x, y in zip(a, b) if x is not None and y is not None)


@defvjp(parts_inner, allocates=True)
def parts_inner_vjp(g, ans, a, b):
    return (scaled_parts(g, b), scaled_parts(g, a))


def scaled_parts(scale, parts):
    """``scale`` times ``parts``: an array, or each array of a list (None stays None)."""
    if not isinstance(parts, (list, tuple)):
        return scale * parts
    return [None if p is None else scale * p for p in parts]


@defvjp(scaled_parts, allocates=True, sequence_of=(1,))
def scaled_parts_vjp(g, ans, scale, parts):
    return (parts_inner(g, parts), scaled_parts(scale, g))


# -- evenly spaced samples between differentiable endpoints -------------------


# (retstep=, dtype= and axis= do not bind to the rule: such calls are refused)
@defvjp(np.linspace, allocates=True, linear=True, dtype="float")
def linspace(g, ans, start, stop, num=50, endpoint=True):
    along = linspace_fractions(ans, num, endpoint)
    return (
        unbroadcast(np.sum(g * (1 - along), axis=0), start),
        unbroadcast(np.sum(g * along, axis=0), stop),
    )


def linspace_fractions(samples, num=50, endpoint=True):
    """How far from start to stop each of ``np.linspace``'s ``samples`` lies
    (0 to 1), shaped to broadcast against them, in their dtype."""
    along = np.linspace(0.0, 1.0, num, endpoint, dtype=np.result_type(samples))
    return np.reshape(along, (num,) + (1,) * (np.ndim(samples) - 1))


defnondiff(linspace_fractions, dtype="float")


# base ** linspace(start, stop): the cotangent of the exponents is
# g * ans * log(base), spread to the endpoints as linspace's is
# (dtype= and axis= do not bind to the rule: such calls are refused)
@defvjp(np.logspace, allocates=True, dtype="float")
def logspace(g, ans, start, stop, num=50, endpoint=True, base=10.0):
    along = linspace_fractions(ans, num, endpoint)
    exponents = g * ans * cast_like(np.log(base), ans)
    return (
        unbroadcast(np.sum(exponents * (1 - along), axis=0), start),
        unbroadcast(np.sum(exponents * along, axis=0), stop),
        None,
        None,
        unbroadcast(np.sum(g * ans * np.linspace(start, stop, num, endpoint) / base, axis=0), base),
    )


# -- interpolation ----------------------------------------------------------
#
# np.interp(x, xp, fp, left, right) on the segment k holding x (xp[k] <= x <=
# xp[k + 1]) is fp[k] + (fp[k + 1] - fp[k]) t, t = (x - xp[k]) / (xp[k + 1] -
# xp[k]); outside [xp[0], xp[-1]] it is left or right, or fp's end values
# where they are None (t clipped to [0, 1]). So every argument has a
# derivative: x the segment's slope, xp and fp through t and the end
# values, left and right where they are the value. (period= does not bind
# to the rule: such calls are refused.)


@defvjp(np.interp, allocates=True, dtype="float")
def interp(g, ans, x, xp, fp, left=None, right=None):
    points = np.asarray(xp)
    values = np.asarray(fp)
    segment = segment_index(x, points)
    width = points[segment + 1] - points[segment]
    along = np.clip((x - points[segment]) / width, 0, 1)
    below = outside_share(x, points, left, -1)
    above = outside_share(x, points, right, 1)
    kept = g * (1 - below - above)
    sloped = kept * inside_share(x, points) * (values[segment + 1] - values[segment]) / width
    return (
        sloped,
        array_adjoint(getitem_adjoint(sloped * (along - 1), points, segment)
                      - getitem_adjoint(sloped * along, points, segment + 1), xp),
        array_adjoint(getitem_adjoint(kept * (1 - along), values, segment)
                      + getitem_adjoint(kept * along, values, segment + 1), fp),
        np.sum(g * below),
        np.sum(g * above),
    )


def segment_index(x, xp):
    """For each entry of ``x``, the k of the segment [xp[k], xp[k + 1]] np.interp
    reads it on (the first or the last segment outside xp's range)."""
    return np.clip(np.searchsorted(xp, np.asarray(x), "right") - 1, 0, len(xp) - 2)


def inside_share(x, xp):
    """1.0 where ``x`` lies within xp's range (where np.interp's value has a
    slope), else 0.0, in x's floating dtype."""
    x = np.asarray(x)
    return np.logical_and(x >= xp[0], x <= xp[-1]).astype(np.result_type(x, 1.0))


def outside_share(x, xp, bound, side):
    """1.0 where ``x`` lies below (``side`` -1) or above (1) xp's range and
    np.interp's value there is ``bound`` (not None), else 0.0."""
    x = np.asarray(x)
    beyond = np.zeros(np.shape(x), bool) if bound is None else x < xp[0] if side < 0 else x > xp[-1]
    return beyond.astype(np.result_type(x, 1.0))


defnondiff(segment_index, dtype="int")
defnondiff(inside_share, outside_share, dtype="float")


# -- grids of coordinates ---------------------------------------------------


# (two coordinate vectors: one or three do not bind to the rule, refused)
@defvjp(np.meshgrid, allocates=True, linear=True, returns_list=True)
def meshgrid(g, ans, x1, x2, *, copy=True, sparse=False, indexing="xy"):
    return (grid_adjoint(g, ans, x1, 0, indexing), grid_adjoint(g, ans, x2, 1, indexing))


def _grid_axis(position, count, indexing):
    """The axis of ``np.meshgrid``'s grids along which coordinate ``position`` varies."""
    if indexing == "xy" and count > 1 and position < 2:
        return 1 - position
    return position


def grid_adjoint(cotangent, grids, x, position, indexing="xy"):
    """The cotangent of coordinate vector ``x``, number ``position`` of
    ``np.meshgrid``: its grid's cotangent summed over the other axes (none
    when no cotangent reached that grid)."""
    part = cotangent[position] if isinstance(cotangent, (list, tuple)) else cotangent
    if part is None:
        return np.zeros(np.shape(x), np.result_type(x, 1.0))
    part = np.broadcast_to(part, np.shape(grids[position]))
    along = _grid_axis(position, len(grids), indexing)
    summed = np.sum(part, axis=tuple(i for i in range(np.ndim(part)) if i != along))
    return np.reshape(summed, np.shape(x))


def grid_spread(g, grids, position, indexing="xy"):
    """The transpose of :func:`grid_adjoint`: ``g`` (a coordinate vector's
    cotangent) spread along its grid, None for the other grids."""
    along = _grid_axis(position, len(grids), indexing)
    shape = [1] * np.ndim(grids[position])
    shape[along] = -1
    spread = np.broadcast_to(np.reshape(g, shape), np.shape(grids[position]))
    return [spread if i == position else None for i in range(len(grids))]


@defvjp(grid_adjoint, allocates=True, linear=True)
def grid_adjoint_vjp(g, ans, cotangent, grids, x, position, indexing="xy"):
    return (grid_spread(g, grids, position, indexing), None, None, None, None)


@defvjp(grid_spread, view_of=0, linear=True, returns_list=True)
def grid_spread_vjp(g, ans, g_coordinates, grids, position, indexing="xy"):
    return (grid_adjoint(g, grids, g_coordinates, position, indexing), None, None, None)
