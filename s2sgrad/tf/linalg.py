"""``tf.linalg``: matrix products and the matrix functions with rules."""

import numpy as _np

from s2sgrad.tf._types import as_tensor as _as_tensor
from s2sgrad.tf._core import eye, global_norm, matmul, norm, tensordot  # noqa: F401


def matrix_transpose(a, name="matrix_transpose", conjugate=False):
    out = _np.swapaxes(_as_tensor(a), -1, -2)
    return _np.conj(out) if conjugate else out


def inv(input, adjoint=False, name=None):
    out = _np.linalg.inv(_as_tensor(input))
    return matrix_transpose(out, conjugate=True) if adjoint else out


def det(input, name=None):
    return _np.linalg.det(_as_tensor(input))


def trace(x, name=None):
    return _np.trace(_as_tensor(x), axis1=-2, axis2=-1)


def matvec(a, b, transpose_a=False, adjoint_a=False, name=None):
    a = _as_tensor(a)
    if transpose_a or adjoint_a:
        a = matrix_transpose(a, conjugate=adjoint_a)
    return _np.squeeze(a @ _np.expand_dims(_as_tensor(b), -1), -1)


def solve(matrix, rhs, adjoint=False, name=None):
    """``X`` with ``matrix @ X = rhs``, for ``rhs`` of shape ``[..., M, K]``."""
    matrix = _as_tensor(matrix)
    if adjoint:
        matrix = matrix_transpose(matrix, conjugate=True)
    return _np.linalg.solve(matrix, _as_tensor(rhs))


transpose = matrix_transpose


from s2sgrad.tf._ops import (  # noqa: F401,E402
    band_part, cholesky, diag, diag_part, eigh, eigvalsh, l2_normalize, logdet, lstsq, qr,
    set_diag, slogdet, svd)
