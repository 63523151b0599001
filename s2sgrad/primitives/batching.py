"""Batched forward rules: tangents carrying a leading axis of k directions.

The convention is stated at the top of :mod:`s2sgrad.primitives.forward_rules`.
Here are the helpers batched code calls (each takes a tangent ``g`` of shape
``(k,) + S`` and gives one of shape ``(k,) + R``) and the batched rules of
the primitives whose forward rule names axes counted from the front,
reduces everything (``axis=None``), reshapes, indexes, or multiplies
matrices. What has no batched form runs once per direction
(:func:`each_direction`).
"""

import operator

import numpy as np

from s2sgrad.backend import broadcast_view, ndarray

from s2sgrad import runtime
from s2sgrad.primitives import arrays, linalg
from s2sgrad.primitives.elementwise import cast_like
from s2sgrad.primitives.linalg import euclidean_only, norm_direction, spectral_direction
from s2sgrad.primitives.reductions import cumulative_axis, prefixes, prod_of_others, tie_share
from s2sgrad.primitives.registry import defbatched, deffacts
from s2sgrad.primitives.shape import (_is_basic_index, getitem_adjoint, item, item_cotangent,
                                     take_adjoint)


# -- helpers of batched code -------------------------------------------------


def lift(g, like):
    """``g`` with length-1 axes after its batch axis up to the rank of ``like``,
    so that it broadcasts against ``like``'s primal values from the right."""
    if type(g) is ndarray:  # (the common cases without dispatch: a hot path)
        if type(like) is ndarray:
            missing = like.ndim + 1 - g.ndim
            if missing <= 0:
                return g
            shape = g.shape
            return g.reshape(shape[:1] + (1,) * missing + shape[1:])
        if type(like) is float:
            return g
    return _lifted(g, np.ndim(like))


def _lifted(g, ndim):
    missing = ndim + 1 - np.ndim(g)
    if missing <= 0:
        return g
    g = np.asarray(g)
    return np.reshape(g, g.shape[:1] + (1,) * missing + g.shape[1:])


def batch_zeros(like, tangent):
    """Zero tangents of ``like`` for as many directions as ``tangent`` has."""
    return np.zeros((np.shape(tangent)[0],) + np.shape(like), dtype=np.result_type(like, 1.0))


def batch_axis(axis, a):
    """The axis (or axes) of a batched tangent of ``a`` meaning ``axis`` of
    ``a``: non-negative, one past the batch axis; None means all of ``a``'s."""
    ndim = np.ndim(a)
    if axis is None:
        return tuple(range(1, ndim + 1))
    if np.ndim(axis) == 0:
        return operator.index(axis) % max(ndim, 1) + 1
    return tuple(operator.index(i) % ndim + 1 for i in axis)


def batch_shape(g, shape):
    """``(k,) + shape``, ``shape`` being an int or a tuple (reshape's argument)."""
    shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    return (np.shape(g)[0],) + shape


def batch_unbroadcast_to(g, shape):
    """:func:`runtime.unbroadcast_to` of each direction: ``(k,) + shape``."""
    if type(g) is ndarray and g.shape[1:] == shape:  # (the common case: a hot path)
        return g
    g = np.asarray(g)
    shape = tuple(shape)
    if g.shape[1:] == shape:
        return g
    full = np.broadcast_shapes(g.shape[1:], shape)
    if full != g.shape[1:]:  # (smaller than the target somewhere: spread first)
        g = broadcast_view(_lifted(g, len(full)), g.shape[:1] + full)
    lead = len(full) - len(shape)
    axes = tuple(range(1, lead + 1)) + tuple(
        lead + 1 + i for i, n in enumerate(shape) if n == 1 and full[lead + i] != 1)
    if axes:
        g = np.sum(g, axis=axes, keepdims=True)
    return np.reshape(g, g.shape[:1] + shape) if lead else g


def batch_unbroadcast(g, like):
    """:func:`runtime.unbroadcast` of each direction."""
    return batch_unbroadcast_to(g, np.shape(like))


def batch_repeat_to(g, like, axis=None, keepdims=False):
    """:func:`runtime.repeat_to` of each direction: ``(k,) + like.shape``."""
    shape = np.shape(like)
    g = np.asarray(g, dtype=np.result_type(g, like, 1.0))
    if axis is not None and not keepdims:
        axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
        g = np.expand_dims(g, tuple(a % len(shape) + 1 for a in axes))
    if not shape:  # (a scalar's tangent stays as it is, as repeat_to leaves it)
        return g
    return broadcast_view(lift(g, like), g.shape[:1] + shape)


def batch_gradient(g, argument):
    """:func:`runtime.gradient_of` of each direction (an array, also for a
    float; a list, tuple or dict argument's: its structure of batched entries)."""
    if isinstance(argument, (list, tuple, dict)):
        return _stacked([runtime.gradient_of(_direction(g, j), argument)
                         for j in range(_directions(g))])
    shape = (np.shape(g)[0],) + np.shape(argument)
    if np.shape(g) == shape:
        return g
    result = np.empty(shape, dtype=np.result_type(argument, 1.0))
    result[...] = lift(g, argument)
    return result


def _index_parts(index):
    return index if isinstance(index, tuple) else (index,)


def _keeps_batch_first(index):
    """True when ``(slice(None),) + index`` puts the batch axis first: at most
    one run of array indices, none of them after a slice that follows one."""
    runs, inside = 0, False
    for part in _index_parts(index):
        fancy = not (part is None or part is Ellipsis or isinstance(part, (slice, int, np.integer)))
        if fancy and not inside:
            runs += 1
        inside = fancy or (inside and isinstance(part, (int, np.integer)))
    return runs <= 1


def batch_getitem(g, index):
    """``g[:, index]`` of each direction (a list's tangent is a list: its entry)."""
    if type(index) is slice:  # (a hot path: one slice keeps the batch axis first)
        return g[index] if isinstance(g, (list, tuple, dict)) else g[:, index]
    if isinstance(g, (list, tuple, dict)):
        return g[index]
    if _keeps_batch_first(index):
        return g[(slice(None),) + _index_parts(index)]
    return np.stack([d[index] for d in g])


def batch_getitem_adjoint(g, a, index):
    """:func:`getitem_adjoint` of each direction: ``(k,) + a.shape``."""
    if type(a) is ndarray and type(index) is slice:  # (a hot path)
        grad = np.zeros((g.shape[0],) + a.shape, dtype=np.result_type(a, g))
        grad[:, index] = g
        return grad
    if isinstance(a, (list, tuple, dict)):  # (a structure of batched entries)
        return getitem_adjoint(g, a, index)
    if not _keeps_batch_first(index):
        return np.stack([getitem_adjoint(d, a, index) for d in g])
    grad = np.zeros((np.shape(g)[0],) + np.shape(a), dtype=np.result_type(a, g))
    batched = (slice(None),) + _index_parts(index)
    if _is_basic_index(index):
        grad[batched] = g
    else:
        np.add.at(grad, batched, g)
    return grad


def batch_setitem(tangent, index, value):
    """``tangent[:, index] = value`` of each direction (``value`` broadcast
    into the entries written, as the primal write broadcasts)."""
    if isinstance(tangent, (list, dict)):
        tangent[index] = value
        return
    if not _keeps_batch_first(index):
        for j, d in enumerate(tangent):
            d[index] = value if np.ndim(value) == 0 else value[j]
        return
    batched = (slice(None),) + _index_parts(index)
    if np.ndim(value) == 0:
        tangent[batched] = value
        return
    target = tangent[batched]
    tangent[batched] = lift(value, target[0])


def batch_transpose_axes(a, axes=None):
    """``np.transpose``'s axes for a batched tangent of ``a``."""
    ndim = np.ndim(a)
    if axes is None:
        return (0,) + tuple(range(ndim, 0, -1))
    return (0,) + tuple(operator.index(i) % ndim + 1 for i in axes)


def _matrices(ndim, first):
    """How a 1-D operand becomes a matrix: the axis to insert."""
    return None if ndim != 1 else (0 if first else 1)


def batch_matmul_a(g, b):
    """The tangent of ``a @ b`` along ``a`` for each direction of ``g``."""
    ra, rb = np.ndim(g) - 1, np.ndim(b)
    if ra >= 2 and (rb <= 2 or ra >= rb):
        return np.matmul(g, b)
    return _stacked_matmul(g, b, 0)


def batch_matmul_b(a, g):
    """The tangent of ``a @ b`` along ``b`` for each direction of ``g``."""
    ra, rb = np.ndim(a), np.ndim(g) - 1
    if rb >= 2 and (ra <= 2 or rb >= ra):
        return np.matmul(a, g)
    return _stacked_matmul(a, g, 1)


def _stacked_matmul(a, b, which):
    """``a @ b`` with operand ``which`` batched: 1-D operands as matrices, the
    batch axis in front of both operands' stack axes."""
    ra = np.ndim(a) - (which == 0)
    rb = np.ndim(b) - (which == 1)
    a2 = np.expand_dims(a, -2) if ra == 1 else a
    b2 = np.expand_dims(b, -1) if rb == 1 else b
    stack = max(max(ra, 2), max(rb, 2)) - 2
    batched = a2 if which == 0 else b2
    own = max(ra if which == 0 else rb, 2) - 2
    if stack > own:
        batched = np.reshape(batched, batched.shape[:1] + (1,) * (stack - own) + batched.shape[1:])
    a2, b2 = (batched, b2) if which == 0 else (a2, batched)
    out = np.matmul(a2, b2)
    if rb == 1:
        out = out[..., 0]
    if ra == 1:
        out = out[..., 0] if rb == 1 else out[..., 0, :]
    return out


def batch_matmul_adjoint_a(cotangent, a, b, which):
    """:func:`linalg.matmul_adjoint_a` with argument ``which`` (0: the
    cotangent, 2: ``b``) batched."""
    rb = np.ndim(b) - (which == 2)
    if np.ndim(a) == 2 and rb in (1, 2):
        if rb == 1:  # (an outer product)
            return (cotangent[..., None] * b if which == 0
                    else cotangent[:, None] * b[:, None, :])
        return np.matmul(cotangent, np.transpose(b)) if which == 0 \
            else np.matmul(cotangent, np.swapaxes(b, -1, -2))
    return each_direction(linalg.matmul_adjoint_a, (which,), cotangent, a, b)


def batch_matmul_adjoint_b(cotangent, a, b, which):
    """:func:`linalg.matmul_adjoint_b` with argument ``which`` (0: the
    cotangent, 1: ``a``) batched."""
    ra = np.ndim(a) - (which == 1)
    if ra == 2 and np.ndim(b) in (1, 2):
        if which == 0:
            return np.matmul(cotangent, a) if np.ndim(b) == 1 \
                else np.matmul(np.transpose(a), cotangent)
        return np.matmul(np.swapaxes(a, -1, -2), cotangent)
    return each_direction(linalg.matmul_adjoint_b, (which,), cotangent, a, b)


def each_direction(function, batched, *args, **kwargs):
    """``function`` called once per direction, the arguments at positions
    ``batched`` indexed by it, the results stacked: the batched form of what
    has none."""
    k = _directions(args[batched[0]])
    picked = set(batched)
    return _stacked([function(*[_direction(a, j) if i in picked else a
                                for i, a in enumerate(args)], **kwargs) for j in range(k)])


def _directions(tangent):
    """How many directions a batched tangent holds (a list's: its entries')."""
    if isinstance(tangent, dict):
        return _directions(list(tangent.values()))
    if isinstance(tangent, (list, tuple)):  # (None and 0.0 entries: no tangent)
        return next(_directions(t) for t in tangent if t is not None and np.ndim(t))
    return np.shape(tangent)[0]


def _direction(tangent, j):
    """Direction ``j`` of a batched tangent (entry by entry for a list; None stays)."""
    if tangent is None or type(tangent) is float:  # (no tangent, in every direction)
        return tangent
    if isinstance(tangent, dict):
        return {key: _direction(t, j) for key, t in tangent.items()}
    if isinstance(tangent, (list, tuple)):
        return type(tangent)(_direction(t, j) for t in tangent)
    return tangent[j]


def _stacked(results):
    """Per-direction results stacked on a leading axis (a list of arrays, as
    ``split`` gives, entry by entry)."""
    if results[0] is None:
        return None
    first = results[0]
    if isinstance(first, dict):
        return {key: _stacked([r[key] for r in results]) for key in first}
    if isinstance(first, (list, tuple)):
        entries = [_stacked([r[n] for r in results]) for n in range(len(first))]
        return tuple(entries) if type(first) is tuple else entries
    return np.stack([np.asarray(r) for r in results])


# -- batched rules -----------------------------------------------------------


@defbatched(np.sum)
def sum_batched(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (np.sum(g, axis=batch_axis(axis, a), dtype=dtype, keepdims=keepdims),)


@defbatched(np.mean)
def mean_batched(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (np.mean(g, axis=batch_axis(axis, a), dtype=dtype, keepdims=keepdims),)


@defbatched(operator.getitem)
def getitem_batched(g, ans, a, index):
    return (batch_getitem(g, index), None)


@defbatched(getitem_adjoint)
def getitem_adjoint_batched(g, ans, cotangent, a, index):
    return (batch_getitem_adjoint(g, a, index), None, None)


@defbatched(runtime.unbroadcast)
def unbroadcast_batched(g, ans, value, like):
    return (batch_unbroadcast(g, like), None)


@defbatched(runtime.unbroadcast_to)
def unbroadcast_to_batched(g, ans, value, shape):
    return (batch_unbroadcast_to(g, shape), None)


@defbatched(runtime.repeat_to)
def repeat_to_batched(g, ans, value, like, axis=None, keepdims=False):
    return (batch_repeat_to(g, like, axis, keepdims), None, None, None)


@defbatched(runtime.gradient_of, runtime.as_gradient)
def gradient_of_batched(g, ans, cotangent, argument):
    return (batch_gradient(g, argument), None)


@defbatched(np.reshape)
def reshape_batched(g, ans, a, shape, order="C", *, copy=None):
    return (np.reshape(g, batch_shape(g, shape), order=order), None)


def batch_array(g, dtype=None, copy=False):
    """``np.asarray`` (``np.array`` with ``copy``) of each direction: a list's
    batched entries stacked after the batch axis."""
    if isinstance(g, (list, tuple)):
        return np.stack([batch_array(e, dtype) for e in g], axis=1)
    return np.array(g, dtype=dtype) if copy else np.asarray(g, dtype=dtype)


@defbatched(runtime.owned_copy)
def owned_copy_batched(g, ans, value):
    return (batch_array(g, copy=True),)


@defbatched(np.copy)
def copy_batched(g, ans, a, order="K", subok=False):
    return (batch_array(g, copy=True),)


@defbatched(np.asarray)
def asarray_batched(g, ans, a, dtype=None, order=None, *, device=None, copy=None):
    return (batch_array(g, dtype),)


@defbatched(np.ravel)
def ravel_batched(g, ans, a, order="C"):
    return (np.reshape(g, batch_shape(g, -1), order=order),)


@defbatched(np.transpose)
def transpose_batched(g, ans, a, axes=None):
    return (np.transpose(g, batch_transpose_axes(a, axes)), None)


@defbatched(np.swapaxes)
def swapaxes_batched(g, ans, a, axis1, axis2):
    return (np.swapaxes(g, batch_axis(axis1, a), batch_axis(axis2, a)), None, None)


@defbatched(np.expand_dims)
def expand_dims_batched(g, ans, a, axis):
    return (np.expand_dims(g, batch_axis(axis, ans)), None)


@defbatched(np.squeeze)
def squeeze_batched(g, ans, a, axis=None):
    return (np.reshape(g, batch_shape(g, np.shape(ans))), None)


@defbatched(float)
def float_batched(g, ans, x):
    return (np.reshape(g, batch_shape(g, ())).astype(float),)


def batch_item(g, index=None):
    """:func:`shape.item` of each direction: ``(k,)``."""
    if index is None:
        return np.reshape(g, batch_shape(g, ()))
    if isinstance(index, tuple):
        return g[(slice(None),) + index]
    return np.reshape(g, batch_shape(g, -1))[:, index]


def batch_item_cotangent(g, a, index=None):
    """:func:`shape.item_cotangent` of each direction: ``(k,) + a.shape``."""
    out = np.zeros(batch_shape(g, np.shape(a)), dtype=np.result_type(a, g, 1.0))
    if index is None:
        out[...] = np.reshape(g, batch_shape(g, (1,) * np.ndim(a)))
    elif isinstance(index, tuple):
        out[(slice(None),) + index] = g
    else:
        np.reshape(out, batch_shape(g, -1))[:, index] = g
    return out


@defbatched(item)
def item_batched(g, ans, a, index=None):
    return (batch_item(g, index), None)


@defbatched(item_cotangent)
def item_cotangent_batched(g, ans, cotangent, a, index=None):
    return (batch_item_cotangent(g, a, index), None, None)


@defbatched(np.cumsum)
def cumsum_batched(g, ans, a, axis=None, dtype=None, out=None):
    return (np.reshape(np.cumsum(np.reshape(g, batch_shape(g, -1)), axis=1, dtype=dtype),
                       batch_shape(g, np.shape(ans))) if axis is None
            else np.cumsum(g, axis=batch_axis(axis, a), dtype=dtype),)


def batch_concatenate(g, arrays, axis=0, dtype=None):
    """``np.concatenate`` of each direction (``g`` the list of the entries'
    batched tangents)."""
    if axis is None:
        return np.concatenate([np.reshape(t, batch_shape(t, -1)) for t in g], axis=1, dtype=dtype)
    return np.concatenate(g, axis=batch_axis(axis, arrays[0]), dtype=dtype)


@defbatched(np.concatenate)
def concatenate_batched(g, ans, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    return (batch_concatenate(g, arrays, axis, dtype),)


@defbatched(np.stack)
def stack_batched(g, ans, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    return (np.stack(g, axis=batch_axis(axis, ans), dtype=dtype),)


@defbatched(np.moveaxis)
def moveaxis_batched(g, ans, a, source, destination):
    return (np.moveaxis(g, batch_axis(source, a), batch_axis(destination, a)), None, None)


@defbatched(np.flip)
def flip_batched(g, ans, m, axis=None):
    return (np.flip(g, batch_axis(axis, m)),)


@defbatched(np.broadcast_to)
def broadcast_to_batched(g, ans, array, shape, subok=False):
    return (np.broadcast_to(lift(g, ans), batch_shape(g, np.shape(ans))), None)


@defbatched(np.trace)
def trace_batched(g, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return (np.trace(g, offset, batch_axis(axis1, a), batch_axis(axis2, a), dtype),)


@defbatched(np.diagonal)
def diagonal_batched(g, ans, a, offset=0, axis1=0, axis2=1):
    return (np.diagonal(g, offset, batch_axis(axis1, a), batch_axis(axis2, a)),)


@defbatched(operator.matmul, np.matmul)
def matmul_batched(g, ans, a, b):
    return (batch_matmul_a(g, b), batch_matmul_b(a, g))


@defbatched(linalg.matmul_adjoint_a)
def matmul_adjoint_a_batched(g, ans, cotangent, a, b):
    return (batch_matmul_adjoint_a(g, a, b, 0), None, batch_matmul_adjoint_a(cotangent, a, g, 2))


@defbatched(linalg.matmul_adjoint_b)
def matmul_adjoint_b_batched(g, ans, cotangent, a, b):
    return (batch_matmul_adjoint_b(g, a, b, 0), batch_matmul_adjoint_b(cotangent, g, b, 1), None)


@defbatched(np.max, np.amax, np.min, np.amin)
def extreme_batched(g, ans, a, axis=None, out=None, keepdims=False):
    return (np.sum(tie_share(a, ans, axis, keepdims) * g, axis=batch_axis(axis, a),
                   keepdims=keepdims),)


@defbatched(np.prod)
def prod_batched(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (np.sum(prod_of_others(a, axis) * g, axis=batch_axis(axis, a), keepdims=keepdims),)


@defbatched(np.var)
def var_batched(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    count = np.size(a) / np.size(ans) - ddof
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return (np.sum(centered * g, axis=batch_axis(axis, a), keepdims=keepdims) * (2 / count),)


@defbatched(np.std)
def std_batched(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    count = np.size(a) / np.size(ans) - ddof
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return (np.sum(centered * g, axis=batch_axis(axis, a), keepdims=keepdims) / (ans * count),)


# the rest batch as they stand: a tangent with a leading axis goes through
# unchanged (copies, casts), or the rule only broadcasts against primal
# values over the last axes (inv, det)
deffacts(runtime.cotangent_or_zero, np.real,
         np.conjugate, cast_like, np.linalg.inv, np.linalg.det, batches=True)


# -- products: tensordot with one operand batched ---------------------------


def batch_tensordot(x, y, axes_x, axes_y, which):
    """``np.tensordot(x, y, (axes_x, axes_y))`` of each direction of operand
    ``which`` (0: ``x``, 1: ``y`` carries the batch axis; the axes are those
    of the unbatched operands, non-negative): ``(k,) + result shape``."""
    if which == 0:
        return np.tensordot(x, y, (tuple(a + 1 for a in axes_x), tuple(axes_y)))
    free_x = np.ndim(x) - len(axes_x)
    out = np.tensordot(x, y, (tuple(axes_x), tuple(a + 1 for a in axes_y)))
    return np.moveaxis(out, free_x, 0) if free_x else out


def _scaled(g, other):
    """A batched ``g`` times the unbatched ``other`` (one of them 0-d in the
    primal: the product is ``*``)."""
    return lift(g, other) * other


def batch_dot(a, b, which):
    """``np.dot(a, b)`` of each direction of operand ``which`` (0 or 1)."""
    ra, rb = np.ndim(a) - (which == 0), np.ndim(b) - (which == 1)
    if ra == 0 or rb == 0:
        return _scaled(a, b) if which == 0 else _scaled(b, a)
    return batch_tensordot(a, b, [ra - 1], [max(rb - 2, 0)], which)


def batch_inner(a, b, which):
    """``np.inner(a, b)`` of each direction of operand ``which``."""
    ra, rb = np.ndim(a) - (which == 0), np.ndim(b) - (which == 1)
    if ra == 0 or rb == 0:
        return _scaled(a, b) if which == 0 else _scaled(b, a)
    return batch_tensordot(a, b, [ra - 1], [rb - 1], which)


def batch_tensordot_axes(a, b, axes, which):
    """``np.tensordot(a, b, axes)`` of each direction of operand ``which``."""
    ra, rb = np.ndim(a) - (which == 0), np.ndim(b) - (which == 1)
    return batch_tensordot(a, b, *linalg._contracted_axes(axes, ra, rb), which)


@defbatched(np.tensordot)
def tensordot_batched(g, ans, a, b, axes=2):
    return (batch_tensordot_axes(g, b, axes, 0), batch_tensordot_axes(a, g, axes, 1), None)


@defbatched(np.dot)
def dot_batched(g, ans, a, b, out=None):
    return (batch_dot(g, b, 0), batch_dot(a, g, 1))


@defbatched(np.inner)
def inner_batched(g, ans, a, b):
    return (batch_inner(g, b, 0), batch_inner(a, g, 1))


@defbatched(np.outer)
def outer_batched(g, ans, a, b, out=None):
    return (np.reshape(g, batch_shape(g, -1))[:, :, None] * np.ravel(b),
            np.ravel(a)[:, None] * np.reshape(g, batch_shape(g, -1))[:, None, :])


@defbatched(np.vdot)
def vdot_batched(g, ans, a, b):
    return (np.matmul(np.reshape(g, batch_shape(g, -1)), np.ravel(b)),
            np.matmul(np.reshape(g, batch_shape(g, -1)), np.ravel(a)))


def _adjoint_contraction(a_ndim, b_ndim, axes, side):
    """How :func:`linalg.tensordot_adjoint_a` (``side`` 0) or ``_b`` (1)
    contracts: the axes of its two operands, and the transpose after."""
    axes_a, axes_b = linalg._contracted_axes(axes, a_ndim, b_ndim)
    free_a = [i for i in range(a_ndim) if i not in axes_a]
    free_b = [i for i in range(b_ndim) if i not in axes_b]
    if side == 0:
        contraction = (list(range(len(free_a), len(free_a) + len(free_b))), free_b)
        order = free_a + [axes_a[axes_b.index(j)] for j in sorted(axes_b)]
    else:
        contraction = (free_a, list(range(len(free_a))))
        order = [axes_b[axes_a.index(i)] for i in sorted(axes_a)] + free_b
    return contraction, (0,) + tuple(int(i) + 1 for i in np.argsort(order))


def batch_tensordot_adjoint_a(cotangent, a, b, axes, which):
    """:func:`linalg.tensordot_adjoint_a` with argument ``which`` (0: the
    cotangent, 2: ``b``) batched."""
    (x_axes, y_axes), order = _adjoint_contraction(np.ndim(a), np.ndim(b) - (which == 2), axes, 0)
    return np.transpose(batch_tensordot(cotangent, b, x_axes, y_axes, int(which == 2)), order)


def batch_tensordot_adjoint_b(cotangent, a, b, axes, which):
    """:func:`linalg.tensordot_adjoint_b` with argument ``which`` (0: the
    cotangent, 1: ``a``) batched."""
    (x_axes, y_axes), order = _adjoint_contraction(np.ndim(a) - (which == 1), np.ndim(b), axes, 1)
    return np.transpose(batch_tensordot(a, cotangent, x_axes, y_axes, int(which == 0)), order)


def _summed_product(x, y):
    """``np.sum(x * y)`` per direction (one of them batched, both of one shape)."""
    product = x * y
    return np.sum(product, axis=tuple(range(1, np.ndim(product))))


def batch_dot_adjoint(cotangent, a, b, which, side, inner=False):
    """:func:`linalg.dot_adjoint_a` (``side`` 0) or ``_b`` (1) -- ``inner``:
    ``inner_adjoint_a`` or ``_b`` -- with argument ``which`` (0: the
    cotangent, 1: ``a``, 2: ``b``) batched."""
    own, other = (a, b) if side == 0 else (b, a)  # (own: the operand whose cotangent it is)
    if np.ndim(own) == 0:
        return _summed_product(cotangent, other)
    if np.ndim(other) - (which != 0) == 0:
        return cotangent * other if which == 0 else lift(other, cotangent) * cotangent
    ra, rb = np.ndim(a) - (which == 1), np.ndim(b) - (which == 2)
    axes = ([ra - 1], [rb - 1 if inner else max(rb - 2, 0)])
    adjoint = batch_tensordot_adjoint_a if side == 0 else batch_tensordot_adjoint_b
    return adjoint(cotangent, a, b, axes, which)


@defbatched(linalg.tensordot_adjoint_a)
def tensordot_adjoint_a_batched(g, ans, cotangent, a, b, axes=2):
    return (batch_tensordot_adjoint_a(g, a, b, axes, 0), None,
            batch_tensordot_adjoint_a(cotangent, a, g, axes, 2), None)


@defbatched(linalg.tensordot_adjoint_b)
def tensordot_adjoint_b_batched(g, ans, cotangent, a, b, axes=2):
    return (batch_tensordot_adjoint_b(g, a, b, axes, 0),
            batch_tensordot_adjoint_b(cotangent, g, b, axes, 1), None, None)


@defbatched(linalg.dot_adjoint_a)
def dot_adjoint_a_batched(g, ans, cotangent, a, b):
    return (batch_dot_adjoint(g, a, b, 0, 0), None, batch_dot_adjoint(cotangent, a, g, 2, 0))


@defbatched(linalg.dot_adjoint_b)
def dot_adjoint_b_batched(g, ans, cotangent, a, b):
    return (batch_dot_adjoint(g, a, b, 0, 1), batch_dot_adjoint(cotangent, g, b, 1, 1), None)


@defbatched(linalg.inner_adjoint_a)
def inner_adjoint_a_batched(g, ans, cotangent, a, b):
    return (batch_dot_adjoint(g, a, b, 0, 0, True), None,
            batch_dot_adjoint(cotangent, a, g, 2, 0, True))


@defbatched(linalg.inner_adjoint_b)
def inner_adjoint_b_batched(g, ans, cotangent, a, b):
    return (batch_dot_adjoint(g, a, b, 0, 1, True), batch_dot_adjoint(cotangent, g, b, 1, 1, True),
            None)


# -- copies and rearrangements ----------------------------------------------


def batch_tile(g, A, reps):
    """``np.tile`` of each direction (``A`` and ``reps`` brought to one
    length by leading ones, as ``tile`` does)."""
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    ndim = max(np.ndim(A), len(reps))
    g = np.reshape(g, batch_shape(g, (1,) * (ndim - np.ndim(A)) + np.shape(A)))
    return np.tile(g, (1,) * (ndim - len(reps) + 1) + reps)


@defbatched(np.tile)
def tile_batched(g, ans, A, reps):
    return (batch_tile(g, A, reps), None)


def batch_tile_adjoint(g, A, reps):
    """:func:`arrays.tile_adjoint` of each direction: the copies summed."""
    reps = tuple(int(r) for r in np.atleast_1d(reps))
    ndim = max(np.ndim(A), len(reps))
    shape = (1,) * (ndim - np.ndim(A)) + np.shape(A)
    reps = (1,) * (ndim - len(reps)) + reps
    pairs = np.reshape(g, batch_shape(g, [n for pair in zip(reps, shape) for n in pair]))
    return np.reshape(np.sum(pairs, axis=tuple(range(1, 2 * ndim + 1, 2))), batch_shape(g, np.shape(A)))


@defbatched(arrays.tile_adjoint)
def tile_adjoint_batched(g, ans, cotangent, A, reps):
    return (batch_tile_adjoint(g, A, reps), None, None)


def batch_take_adjoint(g, a, indices, axis=None, mode="raise"):
    """:func:`shape.take_adjoint` of each direction."""
    grad = np.zeros(batch_shape(g, np.shape(a)), dtype=np.result_type(a, g))
    flat = np.reshape(grad, batch_shape(g, -1)) if axis is None else grad
    axis = 0 if axis is None else operator.index(axis) % np.ndim(a)
    size = np.shape(flat)[axis + 1]
    if mode == "wrap":
        indices = np.mod(indices, size)
    elif mode == "clip":
        indices = np.clip(indices, 0, size - 1)
    np.add.at(flat, (slice(None),) * (axis + 1) + (indices,), g)
    return grad


@defbatched(take_adjoint)
def take_adjoint_batched(g, ans, cotangent, a, indices, axis=None, mode="raise"):
    return (batch_take_adjoint(g, a, indices, axis, mode), None, None, None, None)


def batch_repeat(g, repeats, axis=None):
    """``np.repeat`` of each direction (flattened first for ``axis=None``)."""
    if axis is None:
        return np.repeat(np.reshape(g, batch_shape(g, -1)), repeats, axis=1)
    return np.repeat(g, repeats, axis=operator.index(axis) % (np.ndim(g) - 1) + 1)


@defbatched(np.repeat)
def repeat_batched(g, ans, a, repeats, axis=None):
    return (batch_repeat(g, repeats, axis), None)


def batch_roll(g, shift, axis=None):
    """``np.roll`` of each direction (of the flattened entries for ``axis=None``)."""
    if axis is None:
        return np.reshape(np.roll(np.reshape(g, batch_shape(g, -1)), shift, axis=1), np.shape(g))
    return np.roll(g, shift, axis=batch_axis(axis, g[0]))


@defbatched(np.roll)
def roll_batched(g, ans, a, shift, axis=None):
    return (batch_roll(g, shift, axis), None, None)


# -- reductions whose rule names axes ----------------------------------------


@defbatched(np.linalg.norm)
def norm_batched(g, ans, x, ord=None, axis=None, keepdims=False):
    axes = batch_axis(axis, x)
    return (np.sum(x * g, axis=axes, keepdims=keepdims) / ans * euclidean_only(x, ord, axis)
            + np.sum((linalg.p_norm_direction(x, runtime.repeat_to(ans, x, axis, keepdims), linalg.vector_order(x, ord, axis),
                                              axis)
                      + norm_direction(x, ord, axis) + spectral_direction(x, ord, axis)) * g,
                     axis=axes, keepdims=keepdims),)


def batch_cumprod(g, ans, a, axis=None):
    """The forward rule of ``np.cumprod`` (``forward_rules.cumprod_jvp``) of each
    direction: the prefixes of each direction's entries along the axis."""
    flat = np.reshape(g, batch_shape(g, -1)) if axis is None else g
    position = 1 if axis is None else batch_axis(axis, a)
    along = np.sum(prod_of_others(prefixes(a, axis, 1), -1) * prefixes(flat, position, 0), axis=-1)
    return np.reshape(np.moveaxis(along, -1, position), batch_shape(g, np.shape(ans)))


@defbatched(np.cumprod)
def cumprod_batched(g, ans, a, axis=None, dtype=None, out=None):
    return (batch_cumprod(g, ans, a, axis),)


@defbatched(linalg.spectral_direction)
def spectral_direction_batched(g, ans, x, ord=None, axis=None):
    # (zero, or refused for the singular-value orders, in every direction)
    return (np.broadcast_to(linalg.no_spectral_second_order(x, ord, axis),
                            batch_shape(g, np.shape(x))), None, None)
