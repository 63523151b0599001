"""Rules for products, matrix functions, factorisations and solves.

Every product here is bilinear: ``F(a, b)``. Its rule applies the two
adjoint maps, ``adjoint_a(g, a, b)`` (= the ``a``-cotangent) and
``adjoint_b(g, a, b)``; those helpers carry the shape cases (0-d, 1-d,
batched) that a straight-line rule body cannot branch on. Each adjoint is
itself bilinear in (g, the other operand), and by the identity

    <h, adjoint_a(g, a, b)> = <F(h, b), g>

its own rule needs only ``F`` and the other adjoint, so derivatives of any
order stay closed over the same few helpers.
"""

import math
import operator

import numpy as np

from s2sgrad.errors import refusal_at_caller
from s2sgrad.primitives.registry import defnondiff, defvjp
from s2sgrad.primitives.shape import getitem_adjoint
from s2sgrad.runtime import repeat_to, unbroadcast


# -- matmul -----------------------------------------------------------------


@defvjp(operator.matmul, np.matmul, allocates=True)
def matmul(g, ans, a, b):
    return (matmul_adjoint_a(g, a, b), matmul_adjoint_b(g, a, b))


def _as_matrices(cotangent, a, b):
    """Operands and cotangent of ``a @ b`` with 1-d operands made 2-d (a
    cotangent folded to a Python float gets the operands' float type)."""
    if isinstance(cotangent, float):
        cotangent = np.asarray(cotangent, np.result_type(a, b, 1.0))
    if np.ndim(b) == 1:
        cotangent = np.expand_dims(cotangent, -1)
        b = np.expand_dims(b, -1)
    if np.ndim(a) == 1:
        cotangent = np.expand_dims(cotangent, -2)
        a = np.expand_dims(a, 0)
    return cotangent, a, b


def matmul_adjoint_a(cotangent, a, b):
    """The ``a``-cotangent of ``a @ b``: ``cotangent @ b.T``, batch axes summed.

    Matrix-vector and matrix-matrix products (what loops and layers use)
    take a direct path; other shapes go through the general one.
    """
    if np.ndim(a) == 2:
        if np.ndim(b) == 1:
            return np.outer(cotangent, b)
        if np.ndim(b) == 2:
            return np.matmul(cotangent, np.transpose(b))
    cotangent, a2, b2 = _as_matrices(cotangent, a, b)
    grad = np.matmul(cotangent, np.swapaxes(b2, -1, -2))
    return np.reshape(unbroadcast(grad, a2), np.shape(a))


def matmul_adjoint_b(cotangent, a, b):
    """The ``b``-cotangent of ``a @ b``: ``a.T @ cotangent``, batch axes summed."""
    if np.ndim(a) == 2 and np.ndim(b) in (1, 2):
        return np.matmul(np.transpose(a), cotangent)
    cotangent, a2, b2 = _as_matrices(cotangent, a, b)
    grad = np.matmul(np.swapaxes(a2, -1, -2), cotangent)
    return np.reshape(unbroadcast(grad, b2), np.shape(b))


# (g broadcast to ans's shape: a cotangent folded to a scalar, the 0.0 of a
# loop-carried adjoint nothing has flowed into yet, is no matrix operand)


@defvjp(matmul_adjoint_a, allocates=True)
def matmul_adjoint_a_vjp(g, ans, cotangent, a, b):
    return (np.matmul(np.broadcast_to(g, np.shape(ans)), b), None,
            matmul_adjoint_b(cotangent, np.broadcast_to(g, np.shape(ans)), b))


@defvjp(matmul_adjoint_b, allocates=True)
def matmul_adjoint_b_vjp(g, ans, cotangent, a, b):
    return (np.matmul(a, np.broadcast_to(g, np.shape(ans))),
            matmul_adjoint_a(cotangent, a, np.broadcast_to(g, np.shape(ans))), None)


# -- tensordot --------------------------------------------------------------


@defvjp(np.tensordot, allocates=True)
def tensordot(g, ans, a, b, axes=2):
    return (tensordot_adjoint_a(g, a, b, axes), tensordot_adjoint_b(g, a, b, axes))


def _contracted_axes(axes, a_ndim, b_ndim):
    """``tensordot``'s ``axes`` argument as two lists of non-negative axes."""
    if np.ndim(axes) == 0:
        return list(range(a_ndim - axes, a_ndim)), list(range(axes))
    axes_a, axes_b = axes
    axes_a = [axes_a] if np.ndim(axes_a) == 0 else list(axes_a)
    axes_b = [axes_b] if np.ndim(axes_b) == 0 else list(axes_b)
    return [int(i) % a_ndim for i in axes_a], [int(i) % b_ndim for i in axes_b]


def tensordot_adjoint_a(cotangent, a, b, axes=2):
    """The ``a``-cotangent of ``tensordot(a, b, axes)``."""
    a_ndim, b_ndim = np.ndim(a), np.ndim(b)
    axes_a, axes_b = _contracted_axes(axes, a_ndim, b_ndim)
    free_a = [i for i in range(a_ndim) if i not in axes_a]
    free_b = [i for i in range(b_ndim) if i not in axes_b]
    g_axes = list(range(len(free_a), len(free_a) + len(free_b)))
    grad = np.tensordot(cotangent, b, axes=(g_axes, free_b))
    order = free_a + [axes_a[axes_b.index(j)] for j in sorted(axes_b)]
    return np.transpose(grad, tuple(int(i) for i in np.argsort(order)))


def tensordot_adjoint_b(cotangent, a, b, axes=2):
    """The ``b``-cotangent of ``tensordot(a, b, axes)``."""
    a_ndim, b_ndim = np.ndim(a), np.ndim(b)
    axes_a, axes_b = _contracted_axes(axes, a_ndim, b_ndim)
    free_a = [i for i in range(a_ndim) if i not in axes_a]
    free_b = [i for i in range(b_ndim) if i not in axes_b]
    grad = np.tensordot(a, cotangent, axes=(free_a, list(range(len(free_a)))))
    order = [axes_b[axes_a.index(i)] for i in sorted(axes_a)] + free_b
    return np.transpose(grad, tuple(int(i) for i in np.argsort(order)))


@defvjp(tensordot_adjoint_a, allocates=True)
def tensordot_adjoint_a_vjp(g, ans, cotangent, a, b, axes=2):
    return (np.tensordot(g, b, axes), None, tensordot_adjoint_b(cotangent, g, b, axes), None)


@defvjp(tensordot_adjoint_b, allocates=True)
def tensordot_adjoint_b_vjp(g, ans, cotangent, a, b, axes=2):
    return (np.tensordot(a, g, axes), tensordot_adjoint_a(cotangent, a, g, axes), None, None)


# -- dot and inner: tensordot with fixed axes, or a product with a 0-d -------


@defvjp(np.dot, allocates=True, methods=("dot",))
def dot(g, ans, a, b, out=None):
    return (dot_adjoint_a(g, a, b), dot_adjoint_b(g, a, b))


def _dot_axes(a, b):
    return ([np.ndim(a) - 1], [max(np.ndim(b) - 2, 0)])


def dot_adjoint_a(cotangent, a, b):
    """The ``a``-cotangent of ``dot(a, b)``."""
    if np.ndim(a) == 0:
        return np.sum(cotangent * b)
    if np.ndim(b) == 0:
        return cotangent * b
    return tensordot_adjoint_a(cotangent, a, b, _dot_axes(a, b))


def dot_adjoint_b(cotangent, a, b):
    """The ``b``-cotangent of ``dot(a, b)``."""
    if np.ndim(b) == 0:
        return np.sum(cotangent * a)
    if np.ndim(a) == 0:
        return cotangent * a
    return tensordot_adjoint_b(cotangent, a, b, _dot_axes(a, b))


@defvjp(dot_adjoint_a, allocates=True)
def dot_adjoint_a_vjp(g, ans, cotangent, a, b):
    return (np.dot(g, b), None, dot_adjoint_b(cotangent, g, b))


@defvjp(dot_adjoint_b, allocates=True)
def dot_adjoint_b_vjp(g, ans, cotangent, a, b):
    return (np.dot(a, g), dot_adjoint_a(cotangent, a, g), None)


@defvjp(np.inner, allocates=True)
def inner(g, ans, a, b):
    return (inner_adjoint_a(g, a, b), inner_adjoint_b(g, a, b))


def inner_adjoint_a(cotangent, a, b):
    """The ``a``-cotangent of ``inner(a, b)``."""
    if np.ndim(a) == 0:
        return np.sum(cotangent * b)
    if np.ndim(b) == 0:
        return cotangent * b
    return tensordot_adjoint_a(cotangent, a, b, (-1, -1))


def inner_adjoint_b(cotangent, a, b):
    """The ``b``-cotangent of ``inner(a, b)``."""
    if np.ndim(b) == 0:
        return np.sum(cotangent * a)
    if np.ndim(a) == 0:
        return cotangent * a
    return tensordot_adjoint_b(cotangent, a, b, (-1, -1))


@defvjp(inner_adjoint_a, allocates=True)
def inner_adjoint_a_vjp(g, ans, cotangent, a, b):
    return (np.inner(g, b), None, inner_adjoint_b(cotangent, g, b))


@defvjp(inner_adjoint_b, allocates=True)
def inner_adjoint_b_vjp(g, ans, cotangent, a, b):
    return (np.inner(a, g), inner_adjoint_a(cotangent, a, g), None)


# -- products that need no helper -------------------------------------------


@defvjp(np.outer, allocates=True)
def outer(g, ans, a, b, out=None):
    return (
        np.reshape(np.matmul(g, np.ravel(b)), np.shape(a)),
        np.reshape(np.matmul(np.ravel(a), g), np.shape(b)),
    )


@defvjp(np.vdot, allocates=True)
def vdot(g, ans, a, b):
    return (g * np.reshape(b, np.shape(a)), g * np.reshape(a, np.shape(b)))


# -- matrix functions -------------------------------------------------------


@defvjp(np.linalg.inv, allocates=True, dtype="float")
def inv(g, ans, a):
    ans_t = np.swapaxes(ans, -1, -2)
    return (-np.matmul(ans_t, np.matmul(g, ans_t)),)


@defvjp(np.linalg.det, allocates=True, dtype="float")
def det(g, ans, a):
    scale = np.expand_dims(g * ans, (-2, -1))
    return (scale * np.swapaxes(np.linalg.inv(a), -1, -2),)


@defvjp(np.linalg.norm, reduction=True, allocates=True, dtype="float")
def norm(g, ans, x, ord=None, axis=None, keepdims=False):
    return (repeat_to(g / ans, x, axis, keepdims) * x * euclidean_only(x, ord, axis)
            + repeat_to(g, x, axis, keepdims)
            * (p_norm_direction(x, repeat_to(ans, x, axis, keepdims), vector_order(x, ord, axis), axis)
               + norm_direction(x, ord, axis) + spectral_direction(x, ord, axis)),)


# np.linalg.norm's derivative is the sum of four parts, each zero unless the
# order is its own: a vector p-norm's (p_norm_direction, below with
# vector_norm), the Frobenius norm's x / n, the piecewise-linear matrix
# norms' and the singular-value norms'.


def _norm_axes(x, axis):
    """The axes ``norm`` reduces, as a tuple of non-negative ints."""
    if axis is None:
        return tuple(range(np.ndim(x)))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % np.ndim(x) for a in axes)


MATRIX_ORDERS = (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)


def _supported_ord(x, ord, axis):
    """True for a vector norm (any number as its order), False for a matrix
    norm of one of :data:`MATRIX_ORDERS`; any other order is refused (NumPy
    itself refuses most of them before a derivative is asked for)."""
    vector = len(_norm_axes(x, axis)) == 1
    number = ord is None or (isinstance(ord, (int, float, np.integer, np.floating)) and not isinstance(ord, bool))
    if vector and number:
        return True
    if not vector and any(ord is k or (number and ord is not None and not isinstance(k, str) and k is not None
                                       and ord == k) for k in MATRIX_ORDERS):
        return False
    raise refusal_at_caller(f"np.linalg.norm of a {'vector' if vector else 'matrix'} of order {ord!r}")


def vector_order(x, ord=None, axis=None):
    """The p of ``norm(x, ord, axis)`` read as a vector p-norm (2 for None);
    0, whose direction is zero, for a matrix norm."""
    if _supported_ord(x, ord, axis):
        return 2 if ord is None else ord
    return 0


def euclidean_only(x, ord=None, axis=None):
    """1.0 when ``norm(x, ord, axis)`` is a Frobenius norm (of a matrix, or of
    every axis flattened), else 0.0 (a vector's 2-norm is a p-norm)."""
    vector = _supported_ord(x, ord, axis)
    return 1.0 if not vector and (ord is None or ord == "fro") else 0.0


def _share_of_extremes(values, axis, pick):
    """1/(number of ties) where ``values`` is extreme (``pick``) along ``axis``, else 0."""
    hits = (values == pick(values, axis=axis, keepdims=True)).astype(np.result_type(values, 1.0))
    return hits / np.sum(hits, axis=axis, keepdims=True)


def norm_direction(x, ord=None, axis=None):
    """d norm(x, ord, axis) / dx, shaped like ``x``, for the piecewise-linear
    matrix orders (1, -1, inf, -inf); 0.0 for the others. Ties share the
    cotangent evenly, as for ``max``. Locally constant in ``x``, so it has
    no derivative."""
    axes = _norm_axes(x, axis)
    if _supported_ord(x, ord, axis):
        return 0.0
    if ord in (1, -1, np.inf, -np.inf) and not isinstance(ord, str):
        summed, over = (axes[0], axes[1]) if ord in (1, -1) else (axes[1], axes[0])
        pick = np.max if ord > 0 else np.min
        totals = np.sum(np.abs(x), axis=summed, keepdims=True)
        return np.sign(x) * _share_of_extremes(totals, over, pick)
    return 0.0


def spectral_direction(x, ord=None, axis=None):
    """d norm(x, ord, axis) / dx for the matrix norms of the singular values
    (``"nuc"``: U V^T; 2 and -2: u v^T of the largest or smallest singular
    value); 0.0 for the other orders."""
    if _supported_ord(x, ord, axis) or ord not in ("nuc", 2, -2):
        return 0.0
    rows, cols = _norm_axes(x, axis)
    moved = np.moveaxis(x, (rows, cols), (-2, -1))
    u, _, vh = np.linalg.svd(moved, full_matrices=False)
    if ord == "nuc":
        direction = np.matmul(u, vh)
    else:
        k = 0 if ord == 2 else -1  # singular values come largest first
        direction = u[..., :, k, None] * vh[..., k, None, :]
    return np.moveaxis(direction, (-2, -1), (rows, cols))


@defvjp(spectral_direction, allocates=True, dtype="float")
def spectral_direction_vjp(g, ans, x, ord=None, axis=None):
    return (no_spectral_second_order(x, ord, axis), None, None)


def no_spectral_second_order(x, ord=None, axis=None):
    """0.0 (spectral_direction is 0.0 for the other orders), or an error for
    the singular-value norms: their second derivative needs the SVD's."""
    if isinstance(spectral_direction(x, ord, axis), float):
        return np.zeros(np.shape(x), np.result_type(x, 1.0))
    raise refusal_at_caller(
        f"the second derivative of np.linalg.norm of order {ord!r} (or of the matrix_norm or cond "
        "that use it: it needs the SVD's derivative)")


defnondiff(euclidean_only, norm_direction, no_spectral_second_order, dtype="float")
defnondiff(vector_order, dtype="given")


# matrix_power: the derivative of A^n along H is sum_k A^k H A^(n-1-k), the
# upper right block of [[A, H], [0, A]]^n (for every integer n: for n < 0
# the block matrix's inverse is [[A^-1, -A^-1 H A^-1], [0, A^-1]]); so both
# rules are a matrix_power of a matrix twice the size, differentiable again.


@defvjp(np.linalg.matrix_power, view_of=0)  # (n=1 gives a itself)
def matrix_power(g, ans, a, n):
    k = np.shape(a)[-1]
    return (np.linalg.matrix_power(upper_block(g, np.swapaxes(a, -1, -2)), n)[..., :k, k:], None)


def upper_block(corner, diagonal):
    """The block matrix ``[[diagonal, corner], [0, diagonal]]`` (batched)."""
    corner = np.broadcast_to(corner, np.shape(diagonal))
    return np.concatenate([np.concatenate([diagonal, corner], axis=-1),
                           np.concatenate([np.zeros_like(diagonal), diagonal], axis=-1)], axis=-2)


@defvjp(upper_block, allocates=True, linear=True)
def upper_block_vjp(g, ans, corner, diagonal):
    k = np.shape(diagonal)[-1]
    return (unbroadcast(g[..., :k, k:], corner), g[..., :k, :k] + g[..., k:, k:])


@defvjp(np.trace, linear=True, allocates=True, methods=("trace",))
def trace(g, ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    return (trace_adjoint(g, a, offset, axis1, axis2),)


def trace_adjoint(cotangent, a, offset=0, axis1=0, axis2=1):
    """The ``a``-cotangent of ``trace``: ``cotangent`` on the chosen diagonal."""
    shape = np.shape(a)
    axis1, axis2 = axis1 % len(shape), axis2 % len(shape)
    eye = np.eye(shape[axis1], shape[axis2], offset, dtype=np.result_type(cotangent, a))
    spread = np.expand_dims(cotangent, (-2, -1)) * eye
    return np.moveaxis(spread, (-2, -1), (axis1, axis2))


@defvjp(trace_adjoint, linear=True, allocates=True)
def trace_adjoint_vjp(g, ans, cotangent, a, offset=0, axis1=0, axis2=1):
    return (np.trace(g, offset, axis1, axis2), None, None, None, None)


# -- factorisations and solves ------------------------------------------------
#
# The symmetric-input functions (cholesky, eigh, eigvalsh) read one triangle
# of their argument: the gradient is that of the function NumPy computes,
# so it lies on the triangle read (off-diagonal entries count twice: each
# stands for a pair), and finite differences in any entry agree with it.


def output_cotangent(cotangent, results, index):
    """The cotangent of output ``index`` of a primitive with several outputs,
    shaped like that output: zeros where nothing reached it (None, or a
    0.0 placeholder for the whole list)."""
    part = cotangent[index] if isinstance(cotangent, (list, tuple)) else None
    if part is None or isinstance(part, float):  # (a seed folded to a Python float)
        return np.full(np.shape(results[index]), part or 0.0, np.result_type(results[index]))
    return part


@defvjp(output_cotangent, view_of=0, linear=True)
def output_cotangent_vjp(g, ans, cotangent, results, index):
    return (getitem_adjoint(g, results, index), None, None)


def triangle_weights(a, triangle="L"):
    """1 on the strict triangle of ``a`` that a symmetric-input function
    reads (``triangle``: "L" or "U", or cholesky's ``upper``), 1/2 on the
    diagonal, 0 on the other: ``(S + S^T) * weights`` is the gradient on
    the triangle read of a function whose symmetric gradient is ``(S + S^T) / 2``."""
    n = np.shape(a)[-1]
    ones = np.ones((n, n), np.result_type(a, 1.0))
    upper = triangle is True or triangle == "U"
    return (np.triu(ones) if upper else np.tril(ones)) - 0.5 * np.eye(n, dtype=ones.dtype)


def identity_like(a):
    """The identity matrix of the last axis of ``a``, in its float type."""
    return np.eye(np.shape(a)[-1], dtype=np.result_type(a, 1.0))


def vector_axes(b):
    """``(-1,)`` when ``solve``'s right-hand side ``b`` is a vector, else ``()``."""
    return (-1,) if np.ndim(b) == 1 else ()


def as_lower(factor, upper=False):
    """A Cholesky factor (or its cotangent) as the lower one: transposed when upper."""
    return np.swapaxes(factor, -1, -2) if upper else factor


@defvjp(as_lower, view_of=0, linear=True)
def as_lower_vjp(g, ans, factor, upper=False):
    return (as_lower(g, upper), None)


defnondiff(triangle_weights, identity_like, dtype="float")
defnondiff(vector_axes, dtype="int")


@defvjp(np.linalg.solve, allocates=True, dtype="float")
def solve(g, ans, a, b):
    axes = vector_axes(b)
    g_b = np.linalg.solve(np.swapaxes(a, -1, -2), np.expand_dims(g, axes))
    x = np.expand_dims(ans, axes)
    return (unbroadcast(-np.matmul(g_b, np.swapaxes(x, -1, -2)), a), unbroadcast(np.squeeze(g_b, axes), b))


@defvjp(np.linalg.cholesky, allocates=True, dtype="float")
def cholesky(g, ans, a, *, upper=False):
    lower_t = np.swapaxes(as_lower(ans, upper), -1, -2)
    phi = np.matmul(lower_t, as_lower(g, upper)) * triangle_weights(ans)
    half = np.linalg.solve(lower_t, np.swapaxes(np.linalg.solve(lower_t, phi), -1, -2))
    return ((half + np.swapaxes(half, -1, -2)) * triangle_weights(a, upper),)


@defvjp(np.linalg.slogdet, allocates=True, dtype="float", returns_list=True)
def slogdet(g, ans, a):
    # the sign is piecewise constant: only log|det| carries a derivative
    scale = np.expand_dims(output_cotangent(g, ans, 1), (-2, -1))
    return (scale * np.swapaxes(np.linalg.inv(a), -1, -2),)


@defvjp(np.linalg.eigh, allocates=True, dtype="float", returns_list=True)
def eigh(g, ans, a, UPLO="L"):
    w = ans[0]
    v = ans[1]
    v_t = np.swapaxes(v, -1, -2)
    eye = identity_like(w)
    # 1 / (w_j - w_i) off the diagonal, 0 on it
    gaps = 1.0 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye
    middle = np.matmul(v_t, output_cotangent(g, ans, 1)) * gaps + np.expand_dims(output_cotangent(g, ans, 0), -1) * eye
    full = np.matmul(v, np.matmul(middle, v_t))
    return ((full + np.swapaxes(full, -1, -2)) * triangle_weights(a, UPLO),)


@defvjp(np.linalg.eigvalsh, allocates=True, dtype="float")
def eigvalsh(g, ans, a, UPLO="L"):
    v = np.linalg.eigh(a, UPLO)[1]
    full = np.matmul(v * np.expand_dims(g, -2), np.swapaxes(v, -1, -2))
    return ((full + np.swapaxes(full, -1, -2)) * triangle_weights(a, UPLO),)


@defvjp(np.linalg.pinv, allocates=True, dtype="float")
def pinv(g, ans, a, rcond=None, hermitian=False, *, rtol=None):
    # the derivative where the rank is locally constant (Golub and Pereyra)
    x_t = np.swapaxes(ans, -1, -2)
    g_t = np.swapaxes(g, -1, -2)
    left = np.matmul(g_t, np.matmul(ans, x_t))
    right = np.matmul(np.matmul(x_t, ans), g_t)
    return (-np.matmul(x_t, np.matmul(g, x_t)) + left - np.matmul(a, np.matmul(ans, left))
            + right - np.matmul(np.matmul(right, ans), a),)


@defvjp(np.linalg.svd, allocates=True, dtype="float", returns_list=True)
def svd(g, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    return (svd_adjoint(g, ans, a, full_matrices, compute_uv),)


def svd_adjoint(cotangent, results, a, full_matrices=True, compute_uv=True):
    """The cotangent of ``a`` from those of ``svd(a)``'s factors (distinct
    nonzero singular values), by the reduced factorisation ``U S V^T``.

    With ``full_matrices`` a non-square ``a`` has columns of U (or rows of
    V^T) that are an arbitrary basis of a complement: a cotangent on them
    has no meaning, and is refused.
    """
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        g_u, g_s, g_vh = 0.0, cotangent, 0.0
    else:
        k = min(np.shape(a)[-2:])
        parts = [output_cotangent(cotangent, results, i) for i in range(3)]
        if full_matrices and (np.any(parts[0][..., k:]) or np.any(parts[2][..., k:, :])):
            raise NotImplementedError(
                "s2sgrad has no derivative of the extra columns of U or rows of V^T that "
                "np.linalg.svd(full_matrices=True) gives a non-square matrix (an arbitrary basis); "
                "use full_matrices=False")
        u, s, vh = results[0][..., :k], results[1], results[2][..., :k, :]
        g_u, g_s, g_vh = parts[0][..., :k], parts[1], parts[2][..., :k, :]
    u_t, v = np.swapaxes(u, -1, -2), np.swapaxes(vh, -1, -2)
    eye = np.eye(np.shape(s)[-1], dtype=np.result_type(s))
    square = s[..., None, :] ** 2 - s[..., :, None] ** 2
    f = 1.0 / (square + eye) - eye  # 1 / (s_j^2 - s_i^2) off the diagonal
    middle = g_s[..., :, None] * eye
    if compute_uv:
        g_v = np.swapaxes(g_vh, -1, -2)
        j = f * (u_t @ g_u - np.swapaxes(g_u, -1, -2) @ u)
        k = f * (vh @ g_v - np.swapaxes(g_v, -1, -2) @ v)
        middle = middle + j * s[..., None, :] + s[..., :, None] * k
        grad = u @ middle @ vh
        grad = grad + (g_u - u @ (u_t @ g_u)) / s[..., None, :] @ vh
        return grad + u @ (np.swapaxes(g_v - v @ (vh @ g_v), -1, -2) / s[..., :, None])
    return u @ middle @ vh


def svd_tangent(tangent, results, a, full_matrices=True, compute_uv=True):
    """The tangent of ``svd(a)`` (its factors, or the singular values with
    ``compute_uv=False``) along ``tangent`` (distinct nonzero singular
    values), by the reduced factorisation ``U S V^T``.

    The extra columns of U (or rows of V^T) that ``full_matrices`` gives a
    non-square ``a`` are an arbitrary basis of a complement, with no
    derivative: refused.
    """
    if not compute_uv:
        u, s, vh = np.linalg.svd(a, full_matrices=False)
    else:
        u, s, vh = results
        if full_matrices and np.shape(u)[-1] != np.shape(vh)[-2]:
            raise NotImplementedError(
                "s2sgrad has no derivative of the extra columns of U or rows of V^T that "
                "np.linalg.svd(full_matrices=True) gives a non-square matrix (an arbitrary basis); "
                "use full_matrices=False")
    v = np.swapaxes(vh, -1, -2)
    rotated = np.swapaxes(u, -1, -2) @ tangent @ v  # U^T dA V
    eye = np.eye(np.shape(s)[-1], dtype=np.result_type(s))
    d_s = np.sum(rotated * eye, axis=-1)
    if not compute_uv:
        return d_s
    f = 1.0 / (s[..., None, :] ** 2 - s[..., :, None] ** 2 + eye) - eye  # 1 / (s_j^2 - s_i^2)
    scaled = rotated * s[..., None, :]  # (U^T dA V) S
    d_u = u @ (f * (scaled + np.swapaxes(scaled, -1, -2)))
    scaled = s[..., :, None] * rotated  # S (U^T dA V)
    d_v = v @ (f * (scaled + np.swapaxes(scaled, -1, -2)))
    # the parts outside the span of U (tall a) or of V (wide a)
    spread = tangent @ v
    d_u = d_u + (spread - u @ (np.swapaxes(u, -1, -2) @ spread)) / s[..., None, :]
    spread = np.swapaxes(tangent, -1, -2) @ u
    d_v = d_v + (spread - v @ (vh @ spread)) / s[..., None, :]
    return d_u, d_s, np.swapaxes(d_v, -1, -2)


@defvjp(svd_tangent, allocates=True, dtype="float")
def svd_tangent_vjp(g, ans, tangent, results, a, full_matrices=True, compute_uv=True):
    return (no_second_order("np.linalg.svd"), no_second_order("np.linalg.svd"),
            no_second_order("np.linalg.svd"), None, None)


@defvjp(svd_adjoint, allocates=True, dtype="float")
def svd_adjoint_vjp(g, ans, cotangent, results, a, full_matrices=True, compute_uv=True):
    return (no_second_order("np.linalg.svd"), no_second_order("np.linalg.svd"),
            no_second_order("np.linalg.svd"), None, None)


def no_second_order(name):
    """Refuse a second derivative no rule provides. A rule calling it is
    refused where the derivative is built (``refuses_derivative``: the
    transforms name the user's line), so this raises only if called."""
    raise NotImplementedError(f"s2sgrad has no second derivative of {name}")


no_second_order.refuses_derivative = True


defnondiff(no_second_order)


# the array API's spellings of svd(compute_uv=False) and of a matrix norm


@defvjp(np.linalg.svdvals, allocates=True, dtype="float")
def svdvals(g, ans, x):
    return (svd_adjoint(g, ans, x, False, False),)


@defvjp(np.linalg.matrix_norm, allocates=True, dtype="float")
def matrix_norm(g, ans, x, *, keepdims=False, ord="fro"):
    return (repeat_to(g / ans, x, (-2, -1), keepdims) * x * euclidean_only(x, ord, (-2, -1))
            + repeat_to(g, x, (-2, -1), keepdims)
            * (norm_direction(x, ord, (-2, -1)) + spectral_direction(x, ord, (-2, -1))),)


# vector_norm: a p-norm of x over ``axis`` (None: every axis, as one flat
# vector; a tuple: those axes together). Its derivative is
# sign(x) (|x| / n)^(p-1) with n the norm spread over x, which covers
# p = 2 (x / n) and p = 1 (sign(x)); the max and min orders share the
# cotangent among ties as ``max`` does, and order 0 (a count) has none.


@defvjp(np.linalg.vector_norm, reduction=True, allocates=True, dtype="float")
def vector_norm(g, ans, x, *, axis=None, keepdims=False, ord=2):
    return (repeat_to(g, x, axis, keepdims) * p_norm_direction(x, repeat_to(ans, x, axis, keepdims), ord, axis),)


def _extreme_order(ord):
    return ord in (np.inf, -np.inf)


def p_norm_direction(x, norm, ord=2, axis=None):
    """d ||x||_ord / dx, shaped like ``x``, with ``norm`` the norm spread
    over x's shape."""
    if _extreme_order(ord):
        pick = np.max if ord > 0 else np.min
        return np.sign(x) * _share_of_extremes(np.abs(x), axis, pick)
    if ord == 0:
        return np.zeros(np.shape(x), np.result_type(x, 1.0))
    if ord == 1:
        return np.sign(x)
    if ord == 2:
        return x / norm
    return np.sign(x) * (np.abs(x) / norm) ** (ord - 1)


def p_norm_slope(ord):
    """p - 1 for a finite order p other than 0 (the derivative of
    p_norm_direction is proportional to it), else 0.0 (locally constant)."""
    return 0.0 if _extreme_order(ord) or ord == 0 else float(ord) - 1.0


def p_norm_curvature(ord):
    """p - 2, the power of |x| / n in p_norm_direction's derivative (0.0
    where that derivative is zero, so no power of zero is taken)."""
    return 0.0 if p_norm_slope(ord) == 0.0 else float(ord) - 2.0


defnondiff(p_norm_slope, p_norm_curvature, dtype="float")


@defvjp(p_norm_direction, allocates=True, dtype="float")
def p_norm_direction_vjp(g, ans, x, norm, ord=2, axis=None):
    slope = g * p_norm_slope(ord) / norm
    return (slope * (np.abs(x) / norm) ** p_norm_curvature(ord), -slope * ans, None, None)


# tensorinv and tensorsolve are inv and solve of their argument read as a
# matrix: the first ``ind`` axes (of tensorsolve: b's) are its rows, the
# others its columns. Their rules are inv's and solve's on those matrices.


def as_matrix(x, ind):
    """``x`` as a matrix whose rows run over its first ``ind`` axes and whose
    columns over the others."""
    return np.reshape(x, (math.prod(np.shape(x)[:ind]), -1))


@defvjp(as_matrix, view_of=0, linear=True)
def as_matrix_vjp(g, ans, x, ind):
    return (np.reshape(g, np.shape(x)), None)


@defvjp(np.linalg.tensorinv, allocates=True, dtype="float")
def tensorinv(g, ans, a, ind=2):
    inverse_t = np.swapaxes(as_matrix(ans, np.ndim(a) - ind), -1, -2)
    return (np.reshape(-np.matmul(inverse_t, np.matmul(as_matrix(g, np.ndim(a) - ind), inverse_t)),
                       np.shape(a)), None)


def tensorsolve_order(ndim, axes=None):
    """The order of a's axes tensorsolve works in: those in ``axes`` moved last."""
    order = [k for k in range(ndim) if axes is None or k % ndim not in [a % ndim for a in axes]]
    return tuple(order + ([a % ndim for a in axes] if axes is not None else []))


defnondiff(tensorsolve_order, dtype="int")


@defvjp(np.linalg.tensorsolve, allocates=True, dtype="float")
def tensorsolve(g, ans, a, b, axes=None):
    order = tensorsolve_order(np.ndim(a), axes)
    cotangent_b = np.reshape(
        np.linalg.solve(np.swapaxes(as_matrix(np.transpose(a, order), np.ndim(b)), -1, -2), np.ravel(g)),
        np.shape(b))
    cotangent_a = -np.reshape(np.outer(cotangent_b, ans), np.shape(np.transpose(a, order)))
    return (np.transpose(cotangent_a, np.argsort(order)), cotangent_b, None)


# cond(x, p) = norm(x, p) * norm(inv(x), p) for every order (2: the largest
# singular value over the smallest; None means 2): the product rule over
# norm's rule, the second factor through inv's.


def cond_order(p=None):
    """The matrix norm order ``np.linalg.cond`` takes: 2 for None."""
    return 2 if p is None else p


defnondiff(cond_order, dtype="given")


@defvjp(np.linalg.cond, allocates=True, dtype="float")
def cond(g, ans, x, p=None):
    inverse = np.linalg.inv(x)
    order = cond_order(p)
    norm_x = np.linalg.norm(x, order, (-2, -1))
    norm_inverse = np.linalg.norm(inverse, order, (-2, -1))
    inverse_t = np.swapaxes(inverse, -1, -2)
    return (repeat_to(g * norm_inverse, x, (-2, -1))
            * (x / repeat_to(norm_x, x, (-2, -1)) * euclidean_only(x, order, (-2, -1))
               + norm_direction(x, order, (-2, -1)) + spectral_direction(x, order, (-2, -1)))
            - np.matmul(inverse_t, np.matmul(
                repeat_to(g * norm_x, x, (-2, -1))
                * (inverse / repeat_to(norm_inverse, x, (-2, -1)) * euclidean_only(x, order, (-2, -1))
                   + norm_direction(inverse, order, (-2, -1)) + spectral_direction(inverse, order, (-2, -1))),
                inverse_t)), None)
