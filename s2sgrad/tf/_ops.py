"""More ops of ``s2sgrad.tf``: sorting, masks, gathers and scatters, control
flow (``cond``, ``while_loop``, ``map_fn``), padding and rolling, segment sums,
and the elementwise functions TensorFlow's guides reach for.

Like :mod:`s2sgrad.tf._core`, each op is NumPy functions on the tensors'
values (so the tape records them and the primitive table differentiates
them) with TensorFlow's argument conventions, dtypes and errors. Control
flow runs eagerly, as TensorFlow 2 runs it outside ``tf.function``. Integer
results (``argsort``, ``unique``'s indices, masks) carry no gradient.
"""

import collections as _collections

import numpy as np

from s2sgrad.primitives import special as _special
from s2sgrad.primitives.shape import getitem_adjoint as _getitem_adjoint
from s2sgrad.tape.tensor import apply as _apply
from s2sgrad.tf import random as _random
from s2sgrad.tf._core import _axis, _shape, _value, int32, stack
from s2sgrad.tf._core import cast as _cast
from s2sgrad.tf._types import as_tensor as _as_tensor
from s2sgrad.tf._types import tf_constant as _tf_constant
from s2sgrad.tf.errors import InvalidArgumentError as _InvalidArgumentError

__all__ = [
    "argsort", "boolean_mask", "cond", "gather_nd", "map_fn", "meshgrid", "pad",
    "repeat", "reverse", "roll", "scatter_nd", "searchsorted", "sequence_mask", "sort",
    "tensor_scatter_nd_add", "tensor_scatter_nd_sub", "tensor_scatter_nd_update", "unique",
    "vectorized_map", "while_loop",
]


def _direction(direction):
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"direction should be 'ASCENDING' or 'DESCENDING', got {direction!r}")
    return direction == "DESCENDING"


def sort(values, axis=-1, direction="ASCENDING", name=None):
    values = _as_tensor(values)
    out = np.sort(values, axis=_axis(axis))
    return np.flip(out, axis=_axis(axis)) if _direction(direction) else out


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None):
    v = np.asarray(_value(_as_tensor(values)))
    axis = _axis(axis)
    if _direction(direction):
        order = np.flip(np.argsort(np.flip(v, axis=axis), axis=axis, kind="stable"), axis=axis)
        order = v.shape[axis] - 1 - order
    else:
        order = np.argsort(v, axis=axis, kind="stable")
    return _tf_constant(order.astype(np.int32))


def top_k(input, k=1, sorted=True, index_type=int32, name=None):  # noqa: A002
    """The ``k`` largest entries of the last axis (values, then their indices)."""
    x = _as_tensor(input)
    v = np.asarray(_value(x))
    if k > v.shape[-1]:
        raise _InvalidArgumentError(None, "TopKV2",
                                    f"input must have at least k columns. Had {v.shape[-1]}, "
                                    f"needed {k} [Op:TopKV2]")
    order = np.argsort(-v, axis=-1, kind="stable")[..., :k]
    values = np.take_along_axis(x, order, axis=-1)
    return _TopK(values, _tf_constant(order.astype(np.dtype(index_type))))


_TopK = _collections.namedtuple("TopKV2", ["values", "indices"])
_Unique = _collections.namedtuple("Unique", ["y", "idx"])


def unique(x, out_idx=int32, name=None):
    """The distinct entries of 1-D ``x`` in order of first appearance, and where each entry went."""
    v = np.asarray(_value(_as_tensor(x)))
    if v.ndim != 1:
        raise _InvalidArgumentError(None, "Unique", f"unique expects a 1D vector. [Op:Unique]")
    _, first, inverse = np.unique(v, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return _Unique(_tf_constant(v[np.sort(first)]),
                   _tf_constant(rank[inverse].astype(np.dtype(out_idx))))


def boolean_mask(tensor, mask, axis=None, name=None):
    tensor = _as_tensor(tensor)
    m = np.asarray(_value(mask), dtype=bool)
    axis = 0 if axis is None else _axis(axis)
    index = (slice(None),) * axis + (np.nonzero(m.reshape(-1))[0],)
    if m.ndim > 1:
        shape = tensor.shape
        tensor = np.reshape(tensor, (*shape[:axis], -1, *shape[axis + m.ndim:]))
    return tensor[index]


def sequence_mask(lengths, maxlen=None, dtype=bool, name=None):  # noqa: A002
    lengths = np.asarray(_value(lengths))
    maxlen = int(np.max(lengths)) if maxlen is None else int(_value(maxlen))
    mask = np.arange(maxlen) < lengths[..., None]
    return _tf_constant(mask.astype(np.dtype(dtype)))


def _nd_index(indices):
    """The NumPy index of TensorFlow's ``[..., index_depth]`` indices."""
    idx = np.asarray(_value(indices))
    if not np.issubdtype(idx.dtype, np.integer):
        raise TypeError(f"indices must be integers, got {idx.dtype}")
    return tuple(np.moveaxis(idx, -1, 0))


def gather_nd(params, indices, batch_dims=0, name=None):
    if batch_dims:
        raise NotImplementedError("s2sgrad.tf's gather_nd does not support batch_dims")
    return _as_tensor(params)[_nd_index(indices)]


def _scattered(updates, like, index):
    """``zeros_like(like)`` with ``updates`` added at ``index`` (repeats add), recorded."""
    return _apply(_getitem_adjoint, _getitem_adjoint, (updates, like, index), {})


def scatter_nd(indices, updates, shape, name=None):
    updates = _as_tensor(updates)
    zeros = np.zeros(_shape(shape), np.asarray(_value(updates)).dtype)
    return _scattered(updates, zeros, _nd_index(indices))


def tensor_scatter_nd_add(tensor, indices, updates, name=None):
    tensor = _as_tensor(tensor)
    return tensor + _scattered(_as_tensor(updates), tensor, _nd_index(indices))


def tensor_scatter_nd_sub(tensor, indices, updates, name=None):
    tensor = _as_tensor(tensor)
    return tensor - _scattered(_as_tensor(updates), tensor, _nd_index(indices))


def tensor_scatter_nd_update(tensor, indices, updates, name=None):
    """``tensor`` with the entries at ``indices`` replaced by ``updates``: the
    gradient of a replaced entry goes to its update, not to ``tensor``."""
    tensor = _as_tensor(tensor)
    index = _nd_index(indices)
    value = np.asarray(_value(tensor))
    kept = np.ones(value.shape, value.dtype)
    kept[index] = 0
    return tensor * kept + _scattered(_as_tensor(updates), tensor, index)


def cond(pred, true_fn=None, false_fn=None, name=None):
    """``true_fn()`` if ``pred`` else ``false_fn()``, run eagerly."""
    if true_fn is None or false_fn is None:
        raise TypeError("cond(): true_fn and false_fn are required")
    return true_fn() if bool(np.asarray(_value(pred))) else false_fn()


def while_loop(cond, body, loop_vars, shape_invariants=None, parallel_iterations=10,
               back_prop=True, swap_memory=False, maximum_iterations=None, name=None):
    """``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)``, run eagerly
    (the tape records each iteration); the result has ``loop_vars``' structure."""
    single = not isinstance(loop_vars, (list, tuple))
    values = [loop_vars] if single else list(loop_vars)
    count = 0
    while bool(np.asarray(_value(cond(*values)))):
        if maximum_iterations is not None and count >= int(_value(maximum_iterations)):
            break
        out = body(*values)
        values = [out] if single else list(out) if isinstance(out, (list, tuple)) else [out]
        count += 1
    if single:
        return values[0]
    return type(loop_vars)(values) if isinstance(loop_vars, tuple) else values


def map_fn(fn, elems, dtype=None, parallel_iterations=None, back_prop=True, swap_memory=False,
           infer_shape=True, name=None, fn_output_signature=None):
    """``fn`` applied to each slice of ``elems`` along its first axis, the results stacked."""
    if isinstance(elems, (tuple, list)):
        parts = [_as_tensor(e) for e in elems]
        n = parts[0].shape[0]
        results = [fn(type(elems)(p[i] for p in parts)) for i in range(n)]
    else:
        elems = _as_tensor(elems)
        results = [fn(elems[i]) for i in range(elems.shape[0])]
    if results and isinstance(results[0], (tuple, list)):
        return type(results[0])(stack([r[k] for r in results]) for k in range(len(results[0])))
    return stack(results)


def vectorized_map(fn, elems, fallback_to_while_loop=True, warn=True):
    return map_fn(fn, elems)


def reverse(tensor, axis, name=None):
    return np.flip(_as_tensor(tensor), axis=_axis(axis))


def roll(input, shift, axis, name=None):  # noqa: A002
    return np.roll(_as_tensor(input), _axis(shift), axis=_axis(axis))


def repeat(input, repeats, axis=None, name=None):  # noqa: A002
    x = _as_tensor(input)
    repeats = np.asarray(_value(repeats))
    if axis is None:
        x, axis = np.reshape(x, (-1,)), 0
    return np.repeat(x, repeats, axis=_axis(axis))


def pad(tensor, paddings, mode="CONSTANT", constant_values=0, name=None):
    """TensorFlow's pad. A ``constant_values`` other than 0 (a number or a
    scalar tensor, cast to the tensor's dtype) fills the padding through
    ``where``, so it gets its gradient, the padding's summed cotangent
    (TensorFlow's PadV2 gives it none)."""
    widths = [tuple(int(n) for n in row) for row in np.asarray(_value(paddings))]
    mode = mode.upper()
    if mode == "CONSTANT":
        x = _as_tensor(tensor)
        padded = np.pad(x, widths)
        if not hasattr(constant_values, "_value") and constant_values == 0:
            return padded
        inside = np.pad(np.ones(np.shape(x), dtype=bool), widths)
        return np.where(inside, padded, _cast(constant_values, x.dtype))
    if mode in ("REFLECT", "SYMMETRIC"):
        return np.pad(_as_tensor(tensor), widths, mode=mode.lower())
    raise ValueError(f"mode must be CONSTANT, REFLECT or SYMMETRIC, got {mode!r}")


def meshgrid(*args, indexing="xy", name=None):
    if len(args) != 2:
        raise NotImplementedError("s2sgrad.tf's meshgrid takes two vectors")
    return list(np.meshgrid(_as_tensor(args[0]), _as_tensor(args[1]), indexing=indexing))


def searchsorted(sorted_sequence, values, side="left", out_type=int32, name=None):
    s = np.asarray(_value(sorted_sequence))
    v = np.asarray(_value(values))
    if s.ndim == 1:
        out = np.searchsorted(s, v, side=side)
    else:
        out = np.stack([np.searchsorted(a, b, side=side) for a, b in
                        zip(s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1]))])
        out = out.reshape(v.shape)
    return _tf_constant(out.astype(np.dtype(out_type)))


def cumprod(x, axis=0, exclusive=False, reverse=False, name=None):  # noqa: A002
    x = _as_tensor(x)
    axis = _axis(axis)
    if reverse:
        x = np.flip(x, axis=axis)
    out = np.cumprod(x, axis=axis)
    if exclusive:
        ones = np.ones_like(np.take(np.asarray(_value(x)), [0], axis=axis))
        head = np.take(out, np.arange(out.shape[axis] - 1), axis=axis)
        out = np.concatenate([_tf_constant(ones), head], axis=axis)
    return np.flip(out, axis=axis) if reverse else out


# -- tf.math -------------------------------------------------------------------------------


def erf(x, name=None):
    return _apply(_special.erf, _special.erf, (_as_tensor(x),), {})


def erfc(x, name=None):
    return 1.0 - erf(x)


def xlogy(x, y, name=None):
    x, y = _as_tensor(x), _as_tensor(y)
    safe = np.where(np.asarray(_value(x)) == 0, 1.0, y)
    return np.where(np.asarray(_value(x)) == 0, 0.0 * x, x * np.log(safe))


def divide_no_nan(x, y, name=None):
    x, y = _as_tensor(x), _as_tensor(y)
    zero = np.asarray(_value(y)) == 0
    return np.where(zero, 0.0 * x, x / np.where(zero, 1.0, y))


def count_nonzero(input, axis=None, keepdims=False, dtype=None, name=None):  # noqa: A002
    v = np.asarray(_value(_as_tensor(input)))
    out = np.count_nonzero(v, axis=_axis(axis), keepdims=keepdims)
    return _tf_constant(np.asarray(out, np.int64 if dtype is None else np.dtype(dtype)))


def reduce_euclidean_norm(input_tensor, axis=None, keepdims=False, name=None):
    x = _as_tensor(input_tensor)
    return np.sqrt(np.sum(x * x, axis=_axis(axis), keepdims=keepdims))


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    x = _as_tensor(x)
    square_sum = np.sum(x * x, axis=_axis(axis if dim is None else dim), keepdims=True)
    return x / np.sqrt(np.maximum(square_sum, epsilon))


def unsorted_segment_sum(data, segment_ids, num_segments, name=None):
    data = _as_tensor(data)
    ids = np.asarray(_value(segment_ids))
    n = int(_value(num_segments))
    zeros = np.zeros((n, *data.shape[ids.ndim:]), np.asarray(_value(data)).dtype)
    return _scattered(data, zeros, (ids,))


def segment_sum(data, segment_ids, name=None):
    ids = np.asarray(_value(segment_ids))
    return unsorted_segment_sum(data, ids, int(ids.max()) + 1 if ids.size else 0)


def bincount(arr, weights=None, minlength=None, maxlength=None, dtype=np.int32, name=None):
    a = np.asarray(_value(arr)).reshape(-1)
    length = max(int(a.max()) + 1 if a.size else 0, minlength or 0)
    if maxlength is not None:
        length = min(length, int(maxlength))
        keep = a < length
        a = a[keep]
        weights = None if weights is None else np.reshape(_as_tensor(weights), (-1,))[keep]
    if weights is None:
        return _tf_constant(np.bincount(a, minlength=length).astype(np.dtype(dtype)))
    w = np.reshape(_as_tensor(weights), (-1,))
    return unsorted_segment_sum(w, a, length)


def in_top_k(targets, predictions, k, name=None):
    p = np.asarray(_value(predictions))
    t = np.asarray(_value(targets))
    target_scores = p[np.arange(len(t)), t]
    return _tf_constant(np.sum(p > target_scores[:, None], axis=1) < k)


# -- tf.nn -----------------------------------------------------------------------------------


def dropout(x, rate, noise_shape=None, seed=None, name=None):
    """Entries zeroed with probability ``rate``, the rest scaled by ``1 / (1 - rate)``."""
    x = _as_tensor(x)
    if not 0 <= float(rate) < 1:
        raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), got {rate}")
    shape = x.shape if noise_shape is None else _shape(noise_shape)
    keep = _random._rng(seed).uniform(size=shape) >= float(rate)
    return x * _tf_constant((keep / (1.0 - float(rate))).astype(np.asarray(_value(x)).dtype))


def gelu(features, approximate=False, name=None):
    x = _as_tensor(features)
    if approximate:
        return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def selu(features, name=None):
    x = _as_tensor(features)
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * np.where(np.asarray(_value(x)) > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def embedding_lookup(params, ids, max_norm=None, name=None):
    return np.take(_as_tensor(params), np.asarray(_value(ids)), axis=0)


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    x = _as_tensor(x)
    inv = 1.0 / np.sqrt(_as_tensor(variance) + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    out = x * inv - _as_tensor(mean) * inv
    return out + offset if offset is not None else out


def weighted_cross_entropy_with_logits(labels, logits, pos_weight, name=None):
    labels, logits = _as_tensor(labels), _as_tensor(logits)
    log_weight = 1.0 + (pos_weight - 1.0) * labels
    softplus_neg = np.logaddexp(0.0, -np.abs(logits)) + np.maximum(-logits, 0.0)
    return (1.0 - labels) * logits + log_weight * softplus_neg


# -- tf.linalg -----------------------------------------------------------------------------


def eigh(tensor, name=None):
    return tuple(np.linalg.eigh(_as_tensor(tensor)))


def eigvalsh(tensor, name=None):
    return np.linalg.eigvalsh(_as_tensor(tensor))


def cholesky(input, name=None):  # noqa: A002
    return np.linalg.cholesky(_as_tensor(input))


def slogdet(input, name=None):  # noqa: A002
    sign, logdet_value = np.linalg.slogdet(_as_tensor(input))
    return sign, logdet_value


def logdet(matrix, name=None):
    """``log(det(matrix))`` of a Hermitian positive definite matrix (via Cholesky)."""
    chol = np.linalg.cholesky(_as_tensor(matrix))
    return 2.0 * np.sum(np.log(np.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)


def svd(tensor, full_matrices=False, compute_uv=True, name=None):
    """TensorFlow's order: ``s, u, v`` (``v``, not ``v^H``), or ``s`` alone."""
    x = _as_tensor(tensor)
    if not compute_uv:
        return np.linalg.svd(x, compute_uv=False)
    u, s, vh = np.linalg.svd(x, full_matrices=full_matrices)
    return s, u, np.swapaxes(vh, -1, -2)


def qr(input, full_matrices=False, name=None):  # noqa: A002
    q, r = np.linalg.qr(_as_tensor(input), mode="complete" if full_matrices else "reduced")
    return q, r


def lstsq(matrix, rhs, l2_regularizer=0.0, fast=True, name=None):
    """The least-squares solution of ``matrix @ X = rhs`` (``np.linalg.lstsq``'s
    rule); with ``l2_regularizer`` the regularised normal equations, as TF solves them."""
    a, b = _as_tensor(matrix), _as_tensor(rhs)
    if not l2_regularizer:
        return np.linalg.lstsq(a, b, rcond=None)[0]
    at = np.swapaxes(a, -1, -2)
    eye = np.eye(a.shape[-1], dtype=np.asarray(_value(a)).dtype)
    return np.linalg.solve(at @ a + l2_regularizer * eye, at @ b)


def diag(diagonal, name="diag", k=0, num_rows=-1, num_cols=-1, padding_value=0, align=None):
    d = _as_tensor(diagonal)
    if d.ndim == 1:
        return np.diag(d, k=k)
    n = d.shape[-1]
    return d[..., :, None] * np.eye(n, dtype=np.asarray(_value(d)).dtype)


def diag_part(input, name="diag_part", k=0, padding_value=0, align=None):  # noqa: A002
    return np.diagonal(_as_tensor(input), offset=k, axis1=-2, axis2=-1)


def band_part(input, num_lower, num_upper, name=None):  # noqa: A002
    x = _as_tensor(input)
    m, n = x.shape[-2:]
    rows, cols = np.arange(m)[:, None], np.arange(n)[None, :]
    keep = np.ones((m, n), bool)
    if num_lower >= 0:
        keep &= rows - cols <= num_lower
    if num_upper >= 0:
        keep &= cols - rows <= num_upper
    return x * _tf_constant(keep.astype(np.asarray(_value(x)).dtype))


def set_diag(input, diagonal, name="set_diag", k=0, align=None):  # noqa: A002
    x = _as_tensor(input)
    n = min(x.shape[-2:])
    eye = np.eye(x.shape[-2], x.shape[-1], dtype=np.asarray(_value(x)).dtype)
    d = _as_tensor(diagonal)
    placed = d[..., :, None] * eye[:n] if x.shape[-2] <= x.shape[-1] else d[..., None, :] * eye[:, :n]
    return x * _tf_constant(1 - eye) + placed

