"""Rules for ``np.einsum``, ``np.kron``, ``np.cross`` and ``np.linalg.multi_dot``.

``einsum`` is multilinear in its operands: the cotangent of operand ``k``
is another einsum, of the result's cotangent with the other operands,
whose output subscripts are operand ``k``'s. Two things keep that einsum
from being written down directly, and both are handled by rewriting the
operand's subscripts before taking its adjoint:

* a label repeated in operand ``k`` (``"ii->"``, a trace; ``"ii->i"``, a
  diagonal) cannot repeat in an output: each repeat gets a fresh label
  tied to the first by an identity matrix (``A_ii = A_ij δ_ij``), which
  embeds the cotangent on the diagonal;
* a label of operand ``k`` found in no other operand and not in the
  output (summed over ``k`` alone, or a length-1 axis broadcasting
  stretched) is supplied by a vector of ones, which spreads the cotangent
  along it.

``...`` is spelled out as explicit labels first, and the implicit output
(no ``->``) made explicit, so the adjoint needs no case of its own for
them. The interleaved form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` is read
the same way.
"""

import string

import numpy as np

from s2sgrad.primitives.linalg import (matmul_adjoint_a, matmul_adjoint_b, tensordot_adjoint_a, tensordot_adjoint_b,
                                       trace_adjoint)
from s2sgrad.primitives.registry import defvjp
from s2sgrad.runtime import cotangent_or_zero, unbroadcast

#: the labels einsum accepts, in the order its interleaved form numbers them
_LABELS = string.ascii_uppercase + string.ascii_lowercase


# -- einsum -----------------------------------------------------------------


@defvjp(np.einsum)  # (a view for some subscripts: "ii->i", "ij->ji")
def einsum(g, ans, *operands, out=None, optimize=False):
    return (einsum_cotangents(g, operands),)


def _parse_terms(operands):
    """(positions of the arrays in ``operands``, their subscripts, the output's
    subscripts or None) as strings that may hold ``...``."""
    if isinstance(operands[0], str):
        inputs, arrow, output = operands[0].replace(" ", "").partition("->")
        return list(range(1, len(operands))), inputs.split(","), output if arrow else None
    count = len(operands) // 2

    def spelled(sublist):
        return "".join("..." if s is Ellipsis else _LABELS[int(s)] for s in sublist)

    output = spelled(operands[-1]) if len(operands) % 2 else None
    return [2 * i for i in range(count)], [spelled(operands[2 * i + 1]) for i in range(count)], output


def einsum_terms(operands):
    """The subscripts of ``np.einsum(*operands)`` with ``...`` spelled out.

    Returns (positions of the arrays in ``operands``, one list of labels per
    array, the list of output labels); the output is explicit even where
    the call left it implicit (NumPy's order: the ellipsis' axes, then the
    labels used once, sorted).
    """
    positions, inputs, output = _parse_terms(operands)
    used = set("".join(inputs) + (output or "")) - {"."}
    fresh = [c for c in _LABELS if c not in used]
    ranks = [np.ndim(operands[p]) - len(term.replace("...", "")) for p, term in zip(positions, inputs)]
    width = max([r for r, term in zip(ranks, inputs) if "..." in term], default=0)
    ellipsis = fresh[:width]
    terms = [list(term.replace("...", "".join(ellipsis[width - rank:]))) if "..." in term else list(term)
             for term, rank in zip(inputs, ranks)]
    if output is None:
        labels = [c for term in inputs for c in term.replace("...", "")]
        result = ellipsis + sorted(c for c in set(labels) if labels.count(c) == 1)
    else:
        result = list(output.replace("...", "".join(ellipsis)))
    return positions, terms, result


def _adjoint_einsum(operands, k):
    """The einsum giving the cotangent of array ``k`` of ``np.einsum(*operands)``.

    Returns (subscripts, positions in ``operands`` of the other arrays it
    reads after the cotangent, constant arrays it reads after those).
    """
    positions, terms, output = einsum_terms(operands)
    sizes = {}
    for p, term in zip(positions, terms):
        for label, n in zip(term, np.shape(operands[p])):
            if n != 1 or label not in sizes:
                sizes[label] = n
    others = [j for j in range(len(terms)) if j != k]
    elsewhere = set(output).union(*(terms[j] for j in others))
    spare = iter(c for c in _LABELS if c not in sizes)
    dtype = np.result_type(*(operands[p] for p in positions), 1.0)
    term = terms[k]
    labels, extras, extra_terms = [], [], []
    for i, (label, n) in enumerate(zip(term, np.shape(operands[positions[k]]))):
        if label in term[:i]:  # a repeat: tied to the first by the identity
            renamed = next(spare)
            extras.append(np.eye(n, dtype=dtype))
            extra_terms.append(label + renamed)
        elif (label not in elsewhere and term.count(label) == 1) or (n == 1 and sizes[label] != 1):
            renamed = next(spare)
            extras.append(np.ones(n, dtype=dtype))
            extra_terms.append(renamed)
        else:
            renamed = label
        labels.append(renamed)
    reads = ["".join(output)] + ["".join(terms[j]) for j in others] + extra_terms
    return ",".join(reads) + "->" + "".join(labels), [positions[j] for j in others], extras


def einsum_cotangents(cotangent, operands):
    """The cotangents of ``np.einsum(*operands)``'s arguments, one per
    argument; the subscripts get a 0-d zero (the tape records a list of
    arrays as a primitive's several outputs, so it holds no None)."""
    positions = einsum_terms(operands)[0]
    grads = [np.zeros(())] * len(operands)
    for k, p in enumerate(positions):
        subscripts, others, extras = _adjoint_einsum(operands, k)
        grads[p] = np.einsum(subscripts, cotangent, *(operands[j] for j in others), *extras)
    return grads


@defvjp(einsum_cotangents, allocates=True, returns_list=True)
def einsum_cotangents_vjp(g, ans, cotangent, operands):
    second = einsum_second_cotangents(g, cotangent, operands)
    return (second[0], second[1])


def einsum_second_cotangents(g, cotangent, operands):
    """[the cotangent of ``cotangent``, the list cotangent of ``operands``] of
    ``einsum_cotangents(cotangent, operands)`` given its list cotangent ``g``.

    Each of its entries is an einsum of ``cotangent`` and the other arrays,
    so the cotangents of that einsum's arguments are summed back.
    """
    grads = [None] * len(operands)
    grad_cotangent = None
    entries = g if isinstance(g, (list, tuple)) else [None] * len(operands)
    for k, p in enumerate(einsum_terms(operands)[0]):
        if entries[p] is None:
            continue
        subscripts, others, extras = _adjoint_einsum(operands, k)
        reads = (subscripts, cotangent, *(operands[j] for j in others), *extras)
        parts = einsum_cotangents(np.broadcast_to(entries[p], np.shape(operands[p])), reads)
        grad_cotangent = _add(grad_cotangent, parts[1])
        for j, part in zip(others, parts[2:]):
            grads[j] = _add(grads[j], part)
    return [cotangent_or_zero(grad_cotangent), grads]


def _add(total, part):
    return part if total is None else total + part


# -- multilinear functions of a sequence of arrays (einsum, multi_dot) -------
#
# Their tangent along one tangent per operand is the sum of the function
# with one operand at a time replaced by its tangent; entry ``p`` of their
# cotangent list is itself multilinear in the cotangent and the other
# operands (never in operand ``p``), which gives the rules of those entries.


def _has_tangent(tangent):
    return tangent is not None and not (isinstance(tangent, float) and tangent == 0.0)


def _replaced(operands, p, value):
    replaced = list(operands)
    replaced[p] = value
    return replaced


def _tangent_sum(function, tangents, operands, positions):
    """sum over the operands at ``positions`` with a tangent of ``function``
    of the operands with that one replaced by its tangent (0.0 for none)."""
    total = None
    for p in positions:
        if _has_tangent(tangents[p]):
            total = _add(total, function(_replaced(operands, p, tangents[p])))
    return cotangent_or_zero(total)


def _cotangents_tangent(cotangents, tangents, cotangent, operands, positions):
    """The tangent of ``cotangents(cotangent, operands)`` (a list, one entry
    per operand) along one tangent per operand: each operand's tangent
    enters the entries of the others."""
    grads = [np.zeros(()) for _ in operands]
    for p in positions:
        grads[p] = np.zeros(np.shape(operands[p]), np.result_type(operands[p], cotangent, 1.0))
    for j in positions:
        if not _has_tangent(tangents[j]):
            continue
        parts = cotangents(cotangent, _replaced(operands, j, tangents[j]))
        for p in positions:
            if p != j:
                grads[p] = grads[p] + parts[p]
    return grads


def _einsum_of(operands):
    return np.einsum(*operands)


def einsum_tangent(tangents, operands):
    """The tangent of ``np.einsum(*operands)`` given one tangent per operand
    (None, or a 0.0 placeholder, where it has none)."""
    return _tangent_sum(_einsum_of, tangents, operands, einsum_terms(operands)[0])


def einsum_cotangents_tangent(tangents, cotangent, operands):
    """The tangent of ``einsum_cotangents(cotangent, operands)`` along one
    tangent per operand."""
    return _cotangents_tangent(einsum_cotangents, tangents, cotangent, operands, einsum_terms(operands)[0])


# -- multi_dot ----------------------------------------------------------------


@defvjp(np.linalg.multi_dot, allocates=True)
def multi_dot(g, ans, arrays, *, out=None):
    return (multi_dot_cotangents(g, arrays),)


def multi_dot_cotangents(cotangent, arrays):
    """The cotangents of the arrays of ``multi_dot(arrays)`` (a first 1-d
    array is a row, a last one a column): ``L_k^T G R_k^T`` for the
    products ``L_k`` of the arrays before array ``k`` and ``R_k`` after it."""
    matrices = [np.reshape(m, (1, -1)) if np.ndim(m) == 1 else m for m in arrays]
    if np.ndim(arrays[-1]) == 1 and len(arrays) > 1:
        matrices[-1] = np.reshape(arrays[-1], (-1, 1))
    rows, cols = np.shape(matrices[0])[0], np.shape(matrices[-1])[1]
    g = np.reshape(cotangent, (rows, cols))
    right = [None] * len(matrices)  # right[k]: G R_k^T
    right[-1] = g
    for k in range(len(matrices) - 2, -1, -1):
        right[k] = right[k + 1] @ np.swapaxes(matrices[k + 1], -1, -2)
    grads, left = [], None  # left: L_k
    for k, matrix in enumerate(matrices):
        grad = right[k] if left is None else np.swapaxes(left, -1, -2) @ right[k]
        grads.append(np.reshape(grad, np.shape(arrays[k])))
        left = matrix if left is None else left @ matrix
    return grads


def multi_dot_tangent(tangents, arrays):
    """The tangent of ``multi_dot(arrays)`` given one tangent per array."""
    return _tangent_sum(np.linalg.multi_dot, tangents, arrays, range(len(arrays)))


def multi_dot_cotangents_tangent(tangents, cotangent, arrays):
    """The tangent of ``multi_dot_cotangents(cotangent, arrays)`` along one
    tangent per array."""
    return _cotangents_tangent(multi_dot_cotangents, tangents, cotangent, arrays, range(len(arrays)))


@defvjp(multi_dot_cotangents, allocates=True, returns_list=True)
def multi_dot_cotangents_vjp(g, ans, cotangent, arrays):
    # multilinear: the same two maps as its forward rule, read as adjoints
    return (multi_dot_tangent(g, arrays), multi_dot_cotangents_tangent(g, cotangent, arrays))


# -- kron -----------------------------------------------------------------------


@defvjp(np.kron, allocates=True)
def kron(g, ans, a, b):
    return (kron_adjoint_a(g, a, b), kron_adjoint_b(g, a, b))


def _kron_blocks(cotangent, a, b):
    """The cotangent of ``kron(a, b)`` with each axis split into (a's, b's),
    and the operands' shapes with as many axes (ones prepended)."""
    ndim = max(np.ndim(a), np.ndim(b))
    shape_a = (1,) * (ndim - np.ndim(a)) + np.shape(a)
    shape_b = (1,) * (ndim - np.ndim(b)) + np.shape(b)
    blocks = np.reshape(cotangent, [n for pair in zip(shape_a, shape_b) for n in pair])
    return blocks, shape_a, shape_b


def kron_adjoint_a(cotangent, a, b):
    """The ``a``-cotangent of ``kron(a, b)``: each block of the cotangent
    against ``b``."""
    blocks, shape_a, shape_b = _kron_blocks(cotangent, a, b)
    spread = np.reshape(b, [n for m in shape_b for n in (1, m)])
    return np.reshape(np.sum(blocks * spread, axis=tuple(range(1, 2 * len(shape_b), 2))), np.shape(a))


def kron_adjoint_b(cotangent, a, b):
    """The ``b``-cotangent of ``kron(a, b)``: the blocks weighted by ``a``'s entries."""
    blocks, shape_a, shape_b = _kron_blocks(cotangent, a, b)
    spread = np.reshape(a, [n for m in shape_a for n in (m, 1)])
    return np.reshape(np.sum(blocks * spread, axis=tuple(range(0, 2 * len(shape_a), 2))), np.shape(b))


@defvjp(kron_adjoint_a, allocates=True)
def kron_adjoint_a_vjp(g, ans, cotangent, a, b):
    return (np.kron(g, b), None, kron_adjoint_b(cotangent, g, b))


@defvjp(kron_adjoint_b, allocates=True)
def kron_adjoint_b_vjp(g, ans, cotangent, a, b):
    return (np.kron(a, g), kron_adjoint_a(cotangent, a, g), None)


# -- cross ------------------------------------------------------------------------
#
# By the scalar triple product, <g, a × b> = <a, b × g> = <b, g × a>. Vectors
# of length 2 are padded to 3 with a zero (their product is the z entry of
# the padded one), so the adjoints need no case of their own for them.


@defvjp(np.cross, allocates=True)
def cross(g, ans, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return (cross_adjoint_a(g, a, b, axisa, axisb, axisc, axis),
            cross_adjoint_b(g, a, b, axisa, axisb, axisc, axis))


def _padded(vectors):
    """Vectors along the last axis, of length 2 padded to 3 with a zero."""
    if np.shape(vectors)[-1] == 3:
        return vectors
    return np.concatenate([vectors, np.zeros_like(vectors[..., :1])], axis=-1)


def _cross_adjoint(cotangent, a, b, axisa, axisb, axisc, axis, first):
    if axis is not None:
        axisa = axisb = axisc = axis
    moved_a, moved_b = np.moveaxis(a, axisa, -1), np.moveaxis(b, axisb, -1)
    if np.shape(moved_a)[-1] == 2 and np.shape(moved_b)[-1] == 2:  # (the result is the z entry)
        cotangent = np.asarray(cotangent)
        zero = np.zeros_like(cotangent)
        spread = np.stack(np.broadcast_arrays(zero, zero, cotangent), axis=-1)
    else:
        spread = np.moveaxis(np.asarray(cotangent), axisc, -1)
    if first:
        grad, like, axis_of = np.cross(_padded(moved_b), spread), moved_a, axisa
    else:
        grad, like, axis_of = np.cross(spread, _padded(moved_a)), moved_b, axisb
    grad = unbroadcast(grad[..., :np.shape(like)[-1]], like)
    return np.moveaxis(grad, -1, axis_of)


def cross_adjoint_a(cotangent, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The ``a``-cotangent of ``np.cross(a, b, ...)``: ``b × cotangent``."""
    return _cross_adjoint(cotangent, a, b, axisa, axisb, axisc, axis, True)


def cross_adjoint_b(cotangent, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The ``b``-cotangent of ``np.cross(a, b, ...)``: ``cotangent × a``."""
    return _cross_adjoint(cotangent, a, b, axisa, axisb, axisc, axis, False)


@defvjp(cross_adjoint_a, allocates=True)
def cross_adjoint_a_vjp(g, ans, cotangent, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return (np.cross(g, b, axisa, axisb, axisc, axis), None,
            cross_adjoint_b(cotangent, g, b, axisa, axisb, axisc, axis))


@defvjp(cross_adjoint_b, allocates=True)
def cross_adjoint_b_vjp(g, ans, cotangent, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    return (np.cross(a, g, axisa, axisb, axisc, axis), cross_adjoint_a(cotangent, a, g, axisa, axisb, axisc, axis),
            None)


# -- the array API's spellings: np.linalg.matmul/outer/cross/tensordot/trace/
# vecdot/svdvals/matrix_norm, np.vecdot, np.matvec, np.vecmat ---------------
# (each the rule of the function it spells, with that function's parameters)


@defvjp(np.linalg.matmul, allocates=True)
def linalg_matmul(g, ans, x1, x2):
    return (matmul_adjoint_a(g, x1, x2), matmul_adjoint_b(g, x1, x2))


@defvjp(np.linalg.outer, allocates=True)
def linalg_outer(g, ans, x1, x2):
    return (np.matmul(g, x2), np.matmul(x1, g))


@defvjp(np.linalg.cross, allocates=True)
def linalg_cross(g, ans, x1, x2, *, axis=-1):
    return (cross_adjoint_a(g, x1, x2, -1, -1, -1, axis), cross_adjoint_b(g, x1, x2, -1, -1, -1, axis))


@defvjp(np.linalg.tensordot, allocates=True)
def linalg_tensordot(g, ans, x1, x2, *, axes=2):
    return (tensordot_adjoint_a(g, x1, x2, axes), tensordot_adjoint_b(g, x1, x2, axes))


@defvjp(np.linalg.trace, linear=True, allocates=True)
def linalg_trace(g, ans, x, *, offset=0, dtype=None):
    return (trace_adjoint(g, x, offset, -2, -1),)


@defvjp(np.linalg.vecdot, allocates=True)
def linalg_vecdot(g, ans, x1, x2, *, axis=-1):
    return (vecdot_adjoint(g, x2, x1, axis), vecdot_adjoint(g, x1, x2, axis))


@defvjp(np.vecdot, allocates=True)
def vecdot(g, ans, x1, x2):
    return (vecdot_adjoint(g, x2, x1), vecdot_adjoint(g, x1, x2))


def vecdot_adjoint(cotangent, other, like, axis=-1):
    """The cotangent of the operand ``like`` of ``vecdot(like, other, axis=axis)``
    (``axis`` counted in each operand, as the gufunc does)."""
    grad = np.expand_dims(cotangent, -1) * np.moveaxis(other, axis, -1)
    return np.moveaxis(unbroadcast(grad, np.moveaxis(like, axis, -1)), -1, axis)


@defvjp(vecdot_adjoint, allocates=True)
def vecdot_adjoint_vjp(g, ans, cotangent, other, like, axis=-1):
    return (np.linalg.vecdot(g, other, axis=axis), vecdot_adjoint(cotangent, g, other, axis), None, None)


@defvjp(np.matvec, allocates=True)
def matvec(g, ans, x1, x2):
    return (unbroadcast(np.expand_dims(g, -1) * np.expand_dims(x2, -2), x1), unbroadcast(np.vecmat(g, x1), x2))


@defvjp(np.vecmat, allocates=True)
def vecmat(g, ans, x1, x2):
    return (unbroadcast(np.matvec(x2, g), x1), unbroadcast(np.expand_dims(x1, -1) * np.expand_dims(g, -2), x2))
