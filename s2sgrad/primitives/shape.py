"""Rules for functions that move entries around without changing them.

Also the rules of the runtime helpers ``unbroadcast`` and ``repeat_to``
and of the scatter helpers that subscripts and ``take`` need, so that
generated code, which calls them, can be differentiated again.

Sequence arguments (``concatenate``, ``stack``, ``np.array`` of a list)
get a list cotangent: one entry per element, each with that element's
shape. The cotangent of a list-valued result (``split``, ``unstack``)
must likewise be a full list (no ``None`` entries).
"""

import builtins
import math
import operator

import numpy as np

from s2sgrad.primitives.registry import deffacts, defjvp, defnondiff, defvjp
from s2sgrad import runtime
from s2sgrad.runtime import repeat_to, unbroadcast


# -- the runtime helpers ----------------------------------------------------


@defvjp(unbroadcast, view_of=0, linear=True)
def unbroadcast_vjp(g, ans, value, like):
    return (unbroadcast(g, value), None)


@defvjp(repeat_to, view_of=0, linear=True)
def repeat_to_vjp(g, ans, value, like, axis=None, keepdims=False):
    return (unbroadcast(np.sum(g, axis=axis, keepdims=keepdims), value), None, None, None)


@defvjp(runtime.unbroadcast_to, view_of=0, linear=True)
def unbroadcast_to_vjp(g, ans, value, shape):
    return (unbroadcast(g, value), None)


# -- reshaping --------------------------------------------------------------


@defvjp(np.reshape, view_of=0, linear=True, methods=("reshape",), packs_varargs=True)
def reshape(g, ans, a, shape, order="C", *, copy=None):
    return (np.reshape(g, np.shape(a), order=order), None)


@defvjp(np.ravel, view_of=0, linear=True, methods=("ravel", "flatten"))
def ravel(g, ans, a, order="C"):
    return (np.reshape(g, np.shape(a), order=order),)


@defvjp(np.squeeze, view_of=0, linear=True, methods=("squeeze",))
def squeeze(g, ans, a, axis=None):
    return (np.reshape(g, np.shape(a)),)


@defvjp(np.expand_dims, view_of=0, linear=True)
def expand_dims(g, ans, a, axis):
    return (np.reshape(g, np.shape(a)),)


@defvjp(np.broadcast_to, view_of=0, linear=True)
def broadcast_to(g, ans, array, shape, subok=False):
    return (unbroadcast(g, array),)


@defvjp(np.copy, allocates=True, linear=True, methods=("copy",))
def copy(g, ans, a, order="K", subok=False):
    return (g,)


# Casts to a float type: the identity on values. ``unbroadcast`` gives the
# cotangent the argument's shape when ``float`` unwrapped a 1-element array.
# (``np.float64(x)`` of a float64 array is that array itself.)
@defvjp(np.float64, np.float32, view_of=0, linear=True, dtype="float")
@defvjp(builtins.float, allocates=True, linear=True, dtype="float")
def to_float(g, ans, x):
    return (unbroadcast(g, x),)


# ``x.item()`` (a 1-entry array), ``x.item(i)`` (flat index), ``x.item((i, j))``
def item(a, index=None):
    """``a.item(...)``: one entry of the array ``a`` as a Python number
    (the normaliser's spelling of the method: see frontend.idioms)."""
    return a.item() if index is None else a.item(index)


def item_cotangent(g, a, index=None):
    """The cotangent of ``a`` from the cotangent ``g`` of ``item(a, index)``:
    zeros shaped like ``a`` with ``g`` at that entry."""
    out = np.zeros(np.shape(a), dtype=np.result_type(a, 1.0))
    if index is None:
        out[...] = g
    elif isinstance(index, tuple):
        out[index] = g
    else:
        out.reshape(-1)[index] = g  # (a view: the new array is contiguous)
    return out[()] if out.ndim == 0 else out


@defvjp(item, linear=True, scalar=True)
def item_vjp(g, ans, a, index=None):
    return (item_cotangent(g, a, index), None)


@defvjp(item_cotangent, linear=True, allocates=True, dtype="float")
def item_cotangent_vjp(g, ans, cotangent, a, index=None):
    return (item(g, index), None, None)


# -- reordering axes and entries --------------------------------------------


@defvjp(np.transpose, view_of=0, linear=True, methods=("transpose",), packs_varargs=True,
        attributes=("T",))
def transpose(g, ans, a, axes=None):
    return (np.transpose(g, inverse_permutation(axes)),)


def inverse_permutation(axes):
    """The axes that undo ``transpose(., axes)``; None stays None."""
    if axes is None:
        return None
    ndim = len(axes)
    return tuple(int(i) for i in np.argsort([int(a) % ndim for a in axes]))


defnondiff(inverse_permutation, dtype="int")


@defvjp(np.swapaxes, view_of=0, linear=True, methods=("swapaxes",))
def swapaxes(g, ans, a, axis1, axis2):
    return (np.swapaxes(g, axis1, axis2),)


@defvjp(np.moveaxis, view_of=0, linear=True)
def moveaxis(g, ans, a, source, destination):
    return (np.moveaxis(g, destination, source),)


@defvjp(np.matrix_transpose, np.linalg.matrix_transpose, view_of=0, linear=True, batches=True)
def matrix_transpose(g, ans, x):
    return (np.swapaxes(g, -1, -2),)


@defvjp(np.rollaxis, view_of=0, linear=True)
def rollaxis(g, ans, a, axis, start=0):
    return (np.moveaxis(g, rolled_position(np.ndim(a), axis, start), axis),)


def rolled_position(ndim, axis, start=0):
    """Where ``np.rollaxis(a, axis, start)`` puts ``axis`` (a ``ndim``-d ``a``)."""
    axis, start = axis % ndim, start + ndim if start < 0 else start
    return start - 1 if start > axis else start


defnondiff(rolled_position, dtype="int")


@defvjp(np.fft.fftshift, allocates=True, linear=True)
def fftshift(g, ans, x, axes=None):
    return (np.fft.ifftshift(g, axes),)


@defvjp(np.fft.ifftshift, allocates=True, linear=True)
def ifftshift(g, ans, x, axes=None):
    return (np.fft.fftshift(g, axes),)


@defvjp(np.flip, view_of=0, linear=True)
def flip(g, ans, m, axis=None):
    return (np.flip(g, axis),)


@defvjp(np.fliplr, view_of=0, linear=True)
def fliplr(g, ans, m):
    return (np.fliplr(g),)


@defvjp(np.flipud, view_of=0, linear=True)
def flipud(g, ans, m):
    return (np.flipud(g),)


@defvjp(np.rot90, view_of=0, linear=True)
def rot90(g, ans, m, k=1, axes=(0, 1)):
    return (np.rot90(g, -k, axes),)


# (one array only: several give a tuple, and the rule's single parameter
# does not bind to them, so such calls are refused)
@defvjp(np.atleast_1d, np.atleast_2d, np.atleast_3d, view_of=0, linear=True)
def atleast(g, ans, arys):
    return (np.reshape(g, np.shape(arys)),)


@defvjp(np.roll, allocates=True, linear=True)
def roll(g, ans, a, shift, axis=None):
    return (np.roll(g, np.negative(shift), axis),)


@defvjp(np.triu, allocates=True, linear=True)
def triu(g, ans, m, k=0):
    return (np.triu(g, k),)


@defvjp(np.tril, allocates=True, linear=True)
def tril(g, ans, m, k=0):
    return (np.tril(g, k),)


# -- reading entries: subscripts and take -----------------------------------


@defvjp(operator.getitem, view_of=0, linear=True)
def getitem(g, ans, a, index):
    return (getitem_adjoint(g, a, index), None)


def _is_basic_index(index):
    """True when ``index`` selects every entry at most once (no fancy ints)."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if part is None or part is Ellipsis or isinstance(part, (int, np.integer, slice)):
            continue
        if np.ndim(part) > 0 and np.asarray(part).dtype == np.bool_:
            continue
        return False
    return True


def getitem_adjoint(cotangent, a, index):
    """Zeros shaped like ``a`` with ``cotangent`` added at ``a[index]``.

    Repeated fancy indices accumulate (``np.add.at``). For a list or tuple
    ``a`` the result is a :class:`~s2sgrad.runtime.Cotangents` holding
    ``cotangent`` at ``index`` (an item, or the items of a slice) and
    ``None`` (no gradient) elsewhere; for a dict, a
    :class:`~s2sgrad.runtime.DictCotangent` of the one key.
    """
    if isinstance(a, dict):
        return runtime.DictCotangent({index: cotangent})
    if isinstance(a, (list, tuple)):
        grads = runtime.Cotangents([None] * len(a))
        if type(index) is not slice:
            grads[index] = cotangent
        elif isinstance(cotangent, (list, tuple)):
            grads[index] = cotangent
        return grads
    grad = np.zeros(np.shape(a), dtype=np.result_type(a, cotangent))
    if _is_basic_index(index):
        grad[index] = cotangent
    else:
        np.add.at(grad, index, cotangent)
    return grad


@defvjp(getitem_adjoint, allocates=True, linear=True, sequence_of=(1,), shaped_like=1)
def getitem_adjoint_vjp(g, ans, cotangent, a, index):
    # for a list or dict ``a`` the cotangent g is one too, where None means zero
    return (runtime.element_cotangent(g, index), None, None)


@defvjp(np.take, allocates=True, linear=True)
def take(g, ans, a, indices, axis=None, out=None, mode="raise"):
    return (take_adjoint(g, a, indices, axis, mode), None)


def take_adjoint(cotangent, a, indices, axis=None, mode="raise"):
    """Zeros shaped like ``a`` with ``cotangent`` added where ``take`` read.

    ``mode="wrap"`` and ``"clip"`` read at the indices wrapped or clipped
    into range: the cotangent goes there (repeats accumulate).
    """
    grad = np.zeros(np.shape(a), dtype=np.result_type(a, cotangent))
    flat = np.reshape(grad, -1) if axis is None else grad
    axis = 0 if axis is None else axis % np.ndim(a)
    size = np.shape(flat)[axis]
    if mode == "wrap":
        indices = np.mod(indices, size)
    elif mode == "clip":
        indices = np.clip(indices, 0, size - 1)
    np.add.at(flat, (slice(None),) * axis + (indices,), cotangent)
    return grad


@defvjp(take_adjoint, allocates=True, linear=True, shaped_like=1)
def take_adjoint_vjp(g, ans, cotangent, a, indices, axis=None, mode="raise"):
    return (np.take(g, indices, axis, mode=mode), None, None, None, None)


# -- sequences of arrays ----------------------------------------------------


@defvjp(np.concatenate, allocates=True, linear=True)
def concatenate(g, ans, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    return (concatenate_adjoint(g, arrays, axis),)


def concatenate_adjoint(cotangent, arrays, axis=0):
    """``cotangent`` cut into one piece per joined array, each shaped like it.

    The arrays may have fewer axes than the joined result, as in ``hstack``,
    ``vstack``, ``dstack`` and ``column_stack``, which give them axes of
    length 1 first: a piece's extent along ``axis`` is the array's size over
    the size of a slice of the result, and the piece is reshaped back.
    ``axis=None`` joins the flattened arrays.
    """
    if axis is None:
        cotangent, axis = np.reshape(cotangent, -1), 0
    extents = _extents(np.shape(cotangent), arrays, axis)
    pieces = np.split(cotangent, np.cumsum(extents)[:-1], axis=axis)
    return [np.reshape(piece, np.shape(x)) for piece, x in zip(pieces, arrays)]


def _extents(shape, arrays, axis):
    """How far each of ``arrays`` extends along ``axis`` of their join, of ``shape``."""
    slice_size = math.prod(shape) // shape[axis]
    if slice_size == 0:  # (empty slices: the extents are the arrays' own)
        return [np.shape(x)[axis] if np.ndim(x) == len(shape) else 1 for x in arrays]
    return [np.size(x) // slice_size for x in arrays]


@defvjp(concatenate_adjoint, view_of=0, linear=True, returns_list=True)
def concatenate_adjoint_vjp(g, ans, cotangent, arrays, axis=0):
    return (joined_cotangent(g, arrays, cotangent, axis), None, None)


def joined_cotangent(parts, arrays, like, axis=0):
    """The pieces ``parts`` (one per array, None for zeros) joined into an
    array shaped like ``like``: the transpose of :func:`concatenate_adjoint`."""
    shape = np.shape(like) if axis is not None else (np.size(like),)
    axis = 0 if axis is None else axis % len(shape)
    dtype = np.result_type(like, *(part for part in parts if part is not None))
    blocks = [
        np.zeros(shape[:axis] + (extent,) + shape[axis + 1:], dtype) if part is None
        else np.reshape(part, shape[:axis] + (extent,) + shape[axis + 1:])
        for part, extent in zip(parts, _extents(shape, arrays, axis))
    ]
    return np.reshape(np.concatenate(blocks, axis=axis), np.shape(like))


@defvjp(joined_cotangent, allocates=True, linear=True)
def joined_cotangent_vjp(g, ans, parts, arrays, like, axis=0):
    return (concatenate_adjoint(g, arrays, axis), None, None, None)


# hstack joins 1-d arrays along their only axis, others along the second
@defvjp(np.hstack, allocates=True, linear=True)
def hstack(g, ans, tup, *, dtype=None, casting="same_kind"):
    return (concatenate_adjoint(g, tup, min(np.ndim(ans) - 1, 1)),)


@defvjp(np.vstack, allocates=True, linear=True)
def vstack(g, ans, tup, *, dtype=None, casting="same_kind"):
    return (concatenate_adjoint(g, tup, 0),)


@defvjp(np.dstack, allocates=True, linear=True)
def dstack(g, ans, tup):
    return (concatenate_adjoint(g, tup, 2),)


@defvjp(np.column_stack, allocates=True, linear=True)
def column_stack(g, ans, tup):
    return (concatenate_adjoint(g, tup, 1),)


@defvjp(np.append, allocates=True, linear=True)
def append(g, ans, arr, values, axis=None):
    pieces = concatenate_adjoint(g, [arr, values], axis)
    return (pieces[0], pieces[1])


@defvjp(np.split, np.array_split, view_of=0, linear=True, returns_list=True)
def split(g, ans, ary, indices_or_sections, axis=0):
    return (pieces_adjoint(g, ans, axis), None, None)


# hsplit cuts a 1-d array along its only axis, others along the second
@defvjp(np.hsplit, view_of=0, linear=True, returns_list=True)
def hsplit(g, ans, ary, indices_or_sections):
    return (pieces_adjoint(g, ans, min(np.ndim(ary) - 1, 1)), None)


@defvjp(np.vsplit, view_of=0, linear=True, returns_list=True)
def vsplit(g, ans, ary, indices_or_sections):
    return (pieces_adjoint(g, ans, 0), None)


@defvjp(np.dsplit, view_of=0, linear=True, returns_list=True)
def dsplit(g, ans, ary, indices_or_sections):
    return (pieces_adjoint(g, ans, 2), None)


def pieces_adjoint(cotangent, pieces, axis=0):
    """The list cotangent of ``split``'s pieces joined into one array.

    A program that uses only some pieces leaves ``None`` (zero) at the
    others, or a 0.0 placeholder for the whole list: those are zeros
    shaped like their piece.
    """
    if not isinstance(cotangent, (list, tuple)):
        cotangent = [cotangent] * len(pieces)
    parts = [np.zeros(np.shape(piece), np.result_type(piece, 1.0)) if part is None
             else np.broadcast_to(part, np.shape(piece)) for part, piece in zip(cotangent, pieces)]
    return np.concatenate(parts, axis=axis)


@defvjp(pieces_adjoint, allocates=True, linear=True)
def pieces_adjoint_vjp(g, ans, cotangent, pieces, axis=0):
    return (concatenate_adjoint(g, pieces, axis), None, None)


@defvjp(np.stack, allocates=True, linear=True)
def stack(g, ans, arrays, axis=0, out=None, *, dtype=None, casting="same_kind"):
    return (np.unstack(g, axis=axis),)


@defvjp(np.unstack, view_of=0, linear=True, returns_list=True)
def unstack(g, ans, x, *, axis=0):
    return (stacked_cotangent(g, ans, axis),)


def full_entries(cotangent, items):
    """The list cotangent ``cotangent`` of ``items`` (nested lists of
    arrays) with every entry present: zeros shaped like its item where the
    program left ``None`` (an item it did not use), or where the whole list
    (or a sublist) is a 0.0 placeholder."""
    if isinstance(items, (list, tuple)):
        if not isinstance(cotangent, (list, tuple)):
            cotangent = [cotangent] * len(items)
        return [full_entries(c, item) for c, item in zip(cotangent, items)]
    if cotangent is None:
        return np.zeros(np.shape(items), np.result_type(items, 1.0))
    return np.broadcast_to(cotangent, np.shape(items))


def stacked_cotangent(cotangent, pieces, axis=0):
    """The list cotangent of ``unstack``'s pieces stacked into one array
    (zeros for the pieces the program did not use): its transpose is
    ``unstack``."""
    return np.stack(full_entries(cotangent, pieces), axis=axis)


@defvjp(stacked_cotangent, allocates=True, linear=True)
def stacked_cotangent_vjp(g, ans, cotangent, pieces, axis=0):
    return (np.unstack(g, axis=axis), None, None)


@defvjp(np.array, allocates=True, linear=True)
def array(g, ans, object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0):
    return (array_adjoint(g, object),)


@defvjp(np.asarray, view_of=0, linear=True)
def asarray(g, ans, a, dtype=None, order=None, *, device=None, copy=None):
    return (array_adjoint(g, a),)


def array_adjoint(cotangent, obj):
    """``cotangent`` given the nesting of ``obj``: lists for lists, arrays for arrays."""
    if isinstance(obj, (list, tuple)):
        cotangent = np.reshape(cotangent, np.shape(obj))
        return [array_adjoint(cotangent[i], item) for i, item in enumerate(obj)]
    return np.reshape(cotangent, np.shape(obj))


@defvjp(array_adjoint, view_of=0, linear=True, returns_list=True)
def array_adjoint_vjp(g, ans, cotangent, obj):
    return (array_of_cotangent(g, ans, cotangent), None)


def array_of_cotangent(parts, items, like):
    """The list cotangent ``parts`` of ``items`` (nested like them, ``None``
    for zeros) as one array shaped like ``like``: the transpose of
    :func:`array_adjoint`."""
    return np.reshape(np.array(full_entries(parts, items)), np.shape(like))


@defvjp(array_of_cotangent, allocates=True, linear=True)
def array_of_cotangent_vjp(g, ans, parts, items, like):
    return (array_adjoint(g, items), None, None)


# -- runtime helpers whose results are constants ----------------------------

# Seeds and zero adjoints depend on their argument's shape only; checks
# return nothing. Looked up by name because runtime.py is still growing.
defnondiff(*(
    getattr(runtime, name)
    for name in ("require_scalar", "require_float", "require_float_scalar", "refuse_shared_array", "refuse_if_shared",
                 "refuse_shared_argument", "refuse_parameter_update", "refuse_aliased_argument")
    if hasattr(runtime, name)
))
defnondiff(runtime.zeros_like, allocates=True, dtype="given")


@defvjp(runtime.full_like, allocates=True, linear=True, dtype="given")
def full_like_vjp(g, ans, x, value):
    # a folded seed spread over x's shape: linear in the value, not in x
    return (None, unbroadcast(g, value))
defnondiff(runtime.same_shape, dtype="int")


# -- views and allocators without a rule of their own ---------------------------------------


# (fresh arrays whose fill value would carry the gradient: no rule yet)
deffacts(np.full, np.full_like, allocates=True)

# writing into an argument: refused where differentiated (no rule follows it)
deffacts(np.copyto, np.put, np.place, np.putmask, np.fill_diagonal, mutates=(0,))


# -- runtime helpers of generated code (so it can be differentiated again) ---


@defvjp(runtime.owned_copy, linear=True, allocates=True)
@defvjp(runtime.cotangent_or_zero, linear=True, view_of=0)
def passthrough(g, ans, value):
    return (g,)


# ``x op= y`` on an array keeps x's dtype and shape (a cast, or an error):
# the derivative passes through, as for a copy; the tangent in the value's
# dtype is the returned one's concern (as_tangent). The result may be the
# value itself, the operation's own temporary (normal form makes one for
# it): fresh when that is, which is what a write into it asks (writes.py)
@defjvp(runtime.in_place, batches=True)
@defvjp(runtime.in_place, view_of=0, shaped_like=1, dtype="given")
def in_place_vjp(g, ans, value, target):
    return (g, None)


@defvjp(runtime.element_cotangent, view_of=0, linear=True)
def element_cotangent_vjp(g, ans, cotangent, index):
    return (runtime.element_cotangent_adjoint(g, cotangent, index), None)


@defvjp(runtime.element_cotangent_adjoint, holds=True, linear=True)
def element_cotangent_adjoint_vjp(g, ans, value, cotangent, index):
    return (runtime.element_cotangent(g, index), None, None)


@defvjp(runtime.as_gradient, runtime.gradient_of, view_of=0, linear=True)
def as_gradient_vjp(g, ans, cotangent, argument):
    return (runtime.addend_share(g, cotangent), None)


@defvjp(runtime.zero_slot, allocates=True, linear=True)
def zero_slot_vjp(g, ans, cotangent, index):
    return (runtime.zero_slot(g, index), None)


@defvjp(runtime.slot_of, view_of=0, linear=True)
def slot_of_vjp(g, ans, cotangent, index):
    return (getitem_adjoint(runtime.written_only(g, cotangent, index), cotangent, index), None)


@defvjp(runtime.written_only, linear=True, allocates=True)
def written_only_vjp(g, ans, slot, like, index):
    # a mask, so its own transpose
    return (runtime.written_only(g, like, index), None, None)


@defvjp(runtime.add_cotangents, linear=True, sequence_of=(0, 1))
def add_cotangents_vjp(g, ans, a, b):
    return (runtime.addend_share(g, a), runtime.addend_share(g, b))


@defvjp(runtime.addend_share, view_of=0, linear=True)
def addend_share_vjp(g, ans, value, like):
    return (runtime.addend_share(g, value), None)
