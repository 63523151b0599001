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

from s2sgrad.primitives.registry import defvjp
from s2sgrad.runtime import cotangent_or_zero

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


# -- einsum forward: one einsum per active operand --------------------------


def _has_tangent(tangent):
    return tangent is not None and not (isinstance(tangent, float) and tangent == 0.0)


def einsum_tangent(tangents, operands):
    """The tangent of ``np.einsum(*operands)`` given one tangent per operand
    (None, or a 0.0 placeholder, where it has none): multilinear in the
    arrays, so the sum of the einsums with one array replaced by its tangent."""
    total = None
    for p in einsum_terms(operands)[0]:
        if _has_tangent(tangents[p]):
            replaced = list(operands)
            replaced[p] = tangents[p]
            total = _add(total, np.einsum(*replaced))
    return cotangent_or_zero(total)


def einsum_cotangents_tangent(tangents, cotangent, operands):
    """The tangent of ``einsum_cotangents(cotangent, operands)`` given one
    tangent per operand: entry ``p`` is an einsum of ``cotangent`` and the
    other arrays, multilinear in them, so each array's tangent enters the
    entries of the others (the entry of array ``p`` does not read it)."""
    positions = einsum_terms(operands)[0]
    grads = [np.zeros(())] * len(operands)
    for j in positions:
        if not _has_tangent(tangents[j]):
            continue
        replaced = list(operands)
        replaced[j] = tangents[j]
        parts = einsum_cotangents(cotangent, replaced)
        for p in positions:
            if p != j:
                grads[p] = grads[p] + parts[p]
    return grads
