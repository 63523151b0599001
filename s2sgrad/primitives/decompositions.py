"""Rules for ``np.linalg.qr``, ``eig``, ``eigvals`` and ``lstsq``.

Each rule calls one helper (``*_adjoint`` in reverse mode, ``*_tangent``
in forward mode, registered in ``forward_rules``) holding the shape and
mode cases a straight-line rule cannot branch on. They are first-order
rules: a second derivative through them raises ``NotImplementedError``.

What is differentiated, and what is refused (never a silent zero):

* ``qr``: modes "reduced" (Q and R), "r" (R alone), and "complete" where it
  is the reduced factorisation (m <= n) or nothing reaches the columns of
  Q past n (an arbitrary basis of a complement); any shape, batched; full
  rank. Mode "raw" (Householder reflectors) is refused.
* ``eig``/``eigvals`` of real matrices whose eigenvalues are real and
  distinct (NumPy before 2.5 then returns real arrays, from 2.5 on complex
  ones with zero imaginary parts: the rules read their real parts, and the
  real part of a cotangent, which is all a real function's derivative
  needs); eigenvectors are NumPy's, of unit length, defined up to sign.
  A spectrum with a nonzero imaginary part is refused: s2sgrad
  differentiates real functions, and a complex eigenvalue's gradient would
  need complex cotangents (autograd's convention) that nothing else here
  carries. A symmetric matrix is better served by ``eigh``.
* ``lstsq``: the solution is ``pinv(a) @ b``, differentiated where the rank
  is locally constant (full rank, or ``rcond`` cuts the same values);
  the residuals (present for a tall full-rank ``a``) by the envelope
  theorem (``-2 r x^T`` and ``2 r``, ``r = b - a x``); the singular values
  as ``svd(a, compute_uv=False)``'s; the rank has no derivative.
"""

import numpy as np

from s2sgrad.primitives.linalg import no_second_order, output_cotangent, pinv, svd_adjoint, svd_tangent
from s2sgrad.primitives.registry import defvjp


def _t(m):
    return np.swapaxes(m, -1, -2)


def _times_inverse(x, r):
    """``x @ inv(r)`` by one solve."""
    return _t(np.linalg.solve(_t(r), _t(x)))


# -- qr -----------------------------------------------------------------------


@defvjp(np.linalg.qr, allocates=True, dtype="float")
def qr(g, ans, a, mode="reduced"):
    return (qr_adjoint(g, ans, a, mode), None)


def _qr_parts(cotangent, results, a, mode):
    """(q, r, their cotangents) of the reduced factorisation behind ``qr(a, mode)``."""
    if mode not in ("reduced", "complete", "r"):
        raise NotImplementedError(f"s2sgrad differentiates np.linalg.qr in modes 'reduced', 'complete' "
                                  f"and 'r', not {mode!r}")
    m, n = np.shape(a)[-2:]
    k = min(m, n)
    if mode == "r":
        q, r = np.linalg.qr(a)
        g_q = np.zeros(np.shape(q), np.result_type(q))
        g_r = np.broadcast_to(cotangent, np.shape(r))
        return q, r, g_q, g_r
    q, r = results
    g_q, g_r = output_cotangent(cotangent, results, 0), output_cotangent(cotangent, results, 1)
    if np.shape(q)[-1] > k and np.any(g_q[..., k:]):
        raise NotImplementedError(
            "s2sgrad has no derivative of the columns of Q past n that np.linalg.qr(mode='complete') "
            "gives a tall matrix (an arbitrary basis); use mode='reduced'")
    return q[..., :k], r[..., :k, :], g_q[..., :k], g_r[..., :k, :]


def qr_adjoint(cotangent, results, a, mode="reduced"):
    """The cotangent of ``a`` from those of ``qr(a, mode)``'s factors.

    For ``a = [X Y]`` with X its first k = min(m, n) columns, ``X = Q R1``
    and ``Y = Q R2``: X's cotangent is ``(G_Q + Q copyltu(M)) R1^-T`` with
    ``M = R1 G_R1^T - G_Q^T Q`` and ``G_Q`` counting Y's use of Q; Y's is
    ``Q G_R2`` (Y is empty for a tall or square ``a``).
    """
    q, r, g_q, g_r = _qr_parts(cotangent, results, a, mode)
    k = np.shape(q)[-1]
    y, r1, g_r1, g_r2 = a[..., :, k:], r[..., :, :k], g_r[..., :, :k], g_r[..., :, k:]
    g_q = g_q + y @ _t(g_r2)
    m = r1 @ _t(g_r1) - _t(g_q) @ q
    copied = np.tril(m) + _t(np.tril(m, -1))
    g_x = _times_inverse(g_q + q @ copied, _t(r1))
    return np.concatenate([g_x, q @ g_r2], axis=-1)


def qr_tangent(tangent, results, a, mode="reduced"):
    """The tangent of ``qr(a, mode)`` (its factors, or R for mode "r").

    With ``C = Q^T dX R1^-1`` and ``Ω = tril(C, -1) - tril(C, -1)^T``:
    ``dQ = Q Ω + dX R1^-1 - Q C``, ``dR1 = (C - Ω) R1``, ``dR2 = dQ^T Y + Q^T dY``.
    """
    m, n = np.shape(a)[-2:]
    if mode == "complete" and m > n:
        raise NotImplementedError(
            "s2sgrad has no derivative of the columns of Q past n that np.linalg.qr(mode='complete') "
            "gives a tall matrix (an arbitrary basis); use mode='reduced'")
    q, r, _, _ = _qr_parts(0.0, results, a, mode) if mode != "r" else (*np.linalg.qr(a), None, None)
    k = np.shape(q)[-1]
    y, r1 = a[..., :, k:], r[..., :, :k]
    d_x, d_y = tangent[..., :, :k], tangent[..., :, k:]
    spread = _times_inverse(d_x, r1)
    c = _t(q) @ spread
    lower = np.tril(c, -1)
    omega = lower - _t(lower)
    d_q = q @ omega + spread - q @ c
    d_r = np.concatenate([(c - omega) @ r1, _t(d_q) @ y + _t(q) @ d_y], axis=-1)
    return d_r if mode == "r" else (d_q, d_r)


# -- eig and eigvals ------------------------------------------------------------


def _real_eig(results, name="np.linalg.eig"):
    w, v = results
    if np.iscomplexobj(w) or np.iscomplexobj(v):
        if not (np.any(np.imag(w)) or np.any(np.imag(v))):  # NumPy >= 2.5 returns complex arrays always
            return _real_eig((np.real(w), np.real(v)), name)
        raise NotImplementedError(
            f"s2sgrad differentiates {name} only where the eigenvalues are real (NumPy returns real "
            "arrays); this matrix has complex ones (for a symmetric matrix use np.linalg.eigh)")
    eye = np.eye(np.shape(w)[-1], dtype=np.result_type(w))
    gaps = 1.0 / (w[..., None, :] - w[..., :, None] + eye) - eye  # 1 / (w_j - w_i) off the diagonal
    return w, v, eye, gaps


@defvjp(np.linalg.eig, allocates=True, dtype="float", returns_list=True)
def eig(g, ans, a):
    return (eig_adjoint(g, ans, a),)


def eig_adjoint(cotangent, results, a):
    """The cotangent of ``a`` from those of ``eig(a)``'s values and (unit)
    vectors: ``V^-T (diag(g_w) + F∘(V^T g_V - V^T V diag(V^T g_V))) V^T``."""
    w, v, eye, gaps = _real_eig(results)
    g_w, g_v = np.real(output_cotangent(cotangent, results, 0)), np.real(output_cotangent(cotangent, results, 1))
    rotated = _t(v) @ g_v
    projected = rotated - (_t(v) @ v) * np.sum(rotated * eye, axis=-2)[..., None, :]
    middle = projected * gaps + g_w[..., :, None] * eye
    return np.linalg.solve(_t(v), middle @ _t(v))


def eig_tangent(tangent, results, a):
    """The tangent of ``eig(a)``: ``dw = diag(P)``, ``dV = V (F∘P)`` less its
    part along each (unit) vector, for ``P = V^-1 dA V``."""
    w, v, eye, gaps = _real_eig(results)
    p = np.linalg.solve(v, tangent @ v)
    d_v = v @ (p * gaps)
    d_v = d_v - v * np.sum(v * d_v, axis=-2)[..., None, :]
    return np.sum(p * eye, axis=-1), d_v


@defvjp(np.linalg.eigvals, allocates=True, dtype="float")
def eigvals(g, ans, a):
    return (eigvals_adjoint(g, a),)


def eigvals_adjoint(cotangent, a):
    """The cotangent of ``a`` from that of ``eigvals(a)``: ``V^-T diag(g) V^T``."""
    v = _real_eig(np.linalg.eig(a), "np.linalg.eigvals")[1]
    return np.linalg.solve(_t(v), np.real(cotangent)[..., :, None] * _t(v))


def eigvals_tangent(tangent, a):
    """The tangent of ``eigvals(a)``: the diagonal of ``V^-1 dA V``."""
    v = _real_eig(np.linalg.eig(a), "np.linalg.eigvals")[1]
    return np.sum(np.linalg.solve(v, tangent @ v) * np.eye(np.shape(v)[-1], dtype=np.result_type(v)), axis=-1)


# -- lstsq ---------------------------------------------------------------------


@defvjp(np.linalg.lstsq, allocates=True, dtype="given", returns_list=True)  # (the rank is an int)
def lstsq(g, ans, a, b, rcond=None):
    grads = lstsq_adjoint(g, ans, a, b, rcond)
    return (grads[0], grads[1], None)


def _pinv(a, rcond):
    """The pseudo-inverse cutting the singular values ``lstsq(rcond=)`` cuts."""
    return np.linalg.pinv(a, rtol=None if rcond is None or rcond < 0 else rcond)


def _columns(b):
    """``b`` as a matrix of right-hand sides."""
    return b[:, None] if np.ndim(b) == 1 else b


def lstsq_adjoint(cotangent, results, a, b, rcond=None):
    """(the cotangent of ``a``, that of ``b``, None) from those of
    ``lstsq(a, b)``'s solution, residuals and singular values."""
    x, residuals = results[0], results[1]
    g_x = _columns(output_cotangent(cotangent, results, 0))
    p = _pinv(a, rcond)
    b2, x2 = _columns(b), _columns(x)
    g_a = pinv(g_x @ _t(b2), p, a)[0]
    g_b = _t(p) @ g_x
    if np.size(residuals):
        weighted = (b2 - a @ x2) * output_cotangent(cotangent, results, 1)
        g_a = g_a - 2.0 * weighted @ _t(x2)
        g_b = g_b + 2.0 * weighted
    g_s = output_cotangent(cotangent, results, 3)
    if np.any(g_s):
        g_a = g_a + svd_adjoint(g_s, None, a, False, False)
    return g_a, np.reshape(g_b, np.shape(b))


def lstsq_tangent(d_a, d_b, results, a, b, rcond=None):
    """The tangent of ``lstsq(a, b)``'s (solution, residuals, rank, singular
    values) along ``d_a`` and ``d_b`` (None for none)."""
    x, residuals = results[0], results[1]
    p = _pinv(a, rcond)
    x2 = _columns(x)
    d_x = np.zeros(np.shape(x2), np.result_type(x, 1.0))
    d_res = np.zeros(np.shape(residuals), np.result_type(residuals, 1.0))
    d_s = np.zeros(np.shape(results[3]), np.result_type(results[3], 1.0))
    r = _columns(b) - a @ x2
    if d_b is not None:
        d_x = d_x + p @ _columns(d_b)
        if np.size(residuals):
            d_res = d_res + 2.0 * np.sum(r * _columns(d_b), axis=0)
    if d_a is not None:
        d_p = -p @ d_a @ p + p @ _t(p) @ _t(d_a) @ (np.eye(len(a)) - a @ p) \
            + (np.eye(np.shape(a)[-1]) - p @ a) @ _t(d_a) @ _t(p) @ p
        d_x = d_x + d_p @ _columns(b)
        if np.size(residuals):
            d_res = d_res - 2.0 * np.sum(r * (d_a @ x2), axis=0)
        d_s = svd_tangent(d_a, None, a, False, False)
    return np.reshape(d_x, np.shape(x)), d_res, np.zeros(np.shape(results[2])), d_s


# -- no second derivative: the helpers' rules refuse -----------------------------


@defvjp(qr_adjoint, allocates=True, dtype="float")
def qr_adjoint_vjp(g, ans, cotangent, results, a, mode="reduced"):
    return (no_second_order("np.linalg.qr"), None, no_second_order("np.linalg.qr"), None)


@defvjp(eig_adjoint, allocates=True, dtype="float")
def eig_adjoint_vjp(g, ans, cotangent, results, a):
    return (no_second_order("np.linalg.eig"), None, no_second_order("np.linalg.eig"))


# eigvals at second order. With U = V^-T (its columns the left
# eigenvectors), eigvals_adjoint(g, a) = U diag(g) V^T, unchanged when V's
# columns are rescaled; along dA, dV = V Ω with Ω = F∘(V^-1 dA V) (zero
# diagonal) and dU = -U Ω^T, so it moves by U (diag(g) Ω^T - Ω^T diag(g)) V^T.


def _left_right(a):
    w, v, eye, gaps = _real_eig(np.linalg.eig(a), "np.linalg.eigvals")
    return _t(np.linalg.inv(v)), v, gaps


def eigvals_adjoint_tangent(tangent, cotangent, a):
    """The tangent of ``eigvals_adjoint(cotangent, a)`` along ``a + tangent``."""
    u, v, gaps = _left_right(a)
    omega_t = _t(np.linalg.solve(v, tangent @ v) * gaps)
    g = np.real(cotangent)
    return u @ (g[..., :, None] * omega_t - omega_t * g[..., None, :]) @ _t(v)


def eigvals_curvature(h, cotangent, a):
    """The cotangent of ``a`` of ``<h, eigvals_adjoint(cotangent, a)>``, the
    cotangent held fixed: ``U (F∘M) V^T`` with ``M = (K∘(g_i - g_j))^T``,
    ``K = U^T h V`` (the transpose of :func:`eigvals_adjoint_tangent`)."""
    u, v, gaps = _left_right(a)
    g = np.real(cotangent)
    k = _t(u) @ h @ v
    return u @ (gaps * _t(k * (g[..., :, None] - g[..., None, :]))) @ _t(v)


@defvjp(eigvals_adjoint, allocates=True, dtype="float")
def eigvals_adjoint_vjp(g, ans, cotangent, a):
    return (eigvals_tangent(g, a), eigvals_curvature(g, cotangent, a))


@defvjp(eigvals_tangent, allocates=True, dtype="float")
def eigvals_tangent_vjp(g, ans, tangent, a):
    return (eigvals_adjoint(g, a), eigvals_curvature(tangent, g, a))


def eigvals_tangent_tangent(direction, tangent, a):
    """The tangent of ``eigvals_tangent(tangent, a)`` along ``a + direction``:
    ``diag(K Ω - Ω K)`` with ``K = U^T tangent V``."""
    u, v, gaps = _left_right(a)
    k = _t(u) @ tangent @ v
    omega = np.linalg.solve(v, direction @ v) * gaps
    return np.sum(k * _t(omega) - omega * _t(k), axis=-1)


@defvjp(eigvals_tangent_tangent, allocates=True, dtype="float")
def eigvals_tangent_tangent_vjp(g, ans, direction, tangent, a):
    return (no_second_order("the derivative of np.linalg.eigvals (a third derivative)"),
            no_second_order("the derivative of np.linalg.eigvals (a third derivative)"),
            no_second_order("the derivative of np.linalg.eigvals (a third derivative)"))


@defvjp(eigvals_adjoint_tangent, allocates=True, dtype="float")
def eigvals_adjoint_tangent_vjp(g, ans, tangent, cotangent, a):
    return (no_second_order("the derivative of np.linalg.eigvals (a third derivative)"),
            no_second_order("the derivative of np.linalg.eigvals (a third derivative)"),
            no_second_order("the derivative of np.linalg.eigvals (a third derivative)"))


@defvjp(eigvals_curvature, allocates=True, dtype="float")
def eigvals_curvature_vjp(g, ans, h, cotangent, a):
    return (no_second_order("the derivative of np.linalg.eigvals (a third derivative)"),
            no_second_order("the derivative of np.linalg.eigvals (a third derivative)"),
            no_second_order("the derivative of np.linalg.eigvals (a third derivative)"))


@defvjp(lstsq_adjoint, allocates=True, dtype="float", returns_list=True)
def lstsq_adjoint_vjp(g, ans, cotangent, results, a, b, rcond=None):
    return (no_second_order("np.linalg.lstsq"), None, no_second_order("np.linalg.lstsq"),
            no_second_order("np.linalg.lstsq"), None)
