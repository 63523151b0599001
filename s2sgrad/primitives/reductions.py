"""Rules for reductions: sum, mean, prod, max/min, var/std, cumsum.

The cotangent of a reduction has the reduced shape; ``repeat_to`` spreads
it back over the input (reinserting the reduced axes unless ``keepdims``).
``axis`` may be an int, a negative int, a tuple or None.

Rules list the primitive's parameters up to the last one they handle;
``where=`` and ``initial=`` are left out on purpose, so a call using them
does not bind to the rule instead of getting a wrong gradient.

``max``/``min`` split the cotangent evenly among tied maxima (autograd's
choice); ``prod`` is exact when entries are zero (no division by ``a``).
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


@defvjp(np.max, np.amax, np.min, np.amin, reduction=True, allocates=True)
def extreme(g, ans, a, axis=None, out=None, keepdims=False):
    return (repeat_to(g, a, axis, keepdims) * tie_share(a, ans, axis, keepdims),)


deffacts(np.max, methods=("max",))
deffacts(np.min, methods=("min",))


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


@defvjp(np.cumsum, linear=True, allocates=True, methods=("cumsum",))
def cumsum(g, ans, a, axis=None, dtype=None, out=None):
    return (np.reshape(np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis), np.shape(a)),)


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
    share = hits / np.maximum(count, 1)
    dtype = np.result_type(a)
    return share.astype(dtype if np.issubdtype(dtype, np.floating) else np.float64)


defnondiff(tie_share, allocates=True, dtype="float")
