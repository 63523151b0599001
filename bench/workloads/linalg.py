"""Issue 11: linear algebra — least squares through ``np.linalg.solve``, a
Gaussian log-likelihood with ``slogdet`` and ``solve`` on 200×200 matrices,
and an ``einsum`` attention score.

The hand-written gradients are what a careful user writes: one solve with
the transposed matrix for the least-squares cotangent; for the likelihood
one inverse that serves both the log-determinant's gradient ``inv(C)ᵀ`` and
the quadratic form's ``inv(C)ᵀ x xᵀ inv(C)ᵀ``; for attention the softmax
backward written out once.
"""

import numpy as np

from bench.harness import Target, gradient_row

N = 200


def least_squares(a, b, t):
    return np.sum((np.linalg.solve(a, b) - t) ** 2)


def least_squares_grad(a, b, t):
    x = np.linalg.solve(a, b)
    g_b = np.linalg.solve(a.T, 2.0 * (x - t))
    return -g_b @ x.T, g_b


def log_likelihood(c, x):
    sign, logdet = np.linalg.slogdet(c)
    return -0.5 * (logdet + x @ np.linalg.solve(c, x))


def log_likelihood_grad(c, x):
    inverse_t = np.linalg.inv(c).T
    left, right = inverse_t @ x, x @ inverse_t
    return -0.5 * (inverse_t - np.outer(left, right))


def attention(q, k, v):
    scores = np.einsum("bqd,bkd->bqk", q, k) / np.sqrt(q.shape[-1])
    weights = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    weights = weights / np.sum(weights, axis=-1, keepdims=True)
    return np.sum(np.einsum("bqk,bkd->bqd", weights, v) ** 2)


def attention_grad(q, k, v):
    scale = 1.0 / np.sqrt(q.shape[-1])
    scores = np.einsum("bqd,bkd->bqk", q, k) * scale
    weights = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    weights /= np.sum(weights, axis=-1, keepdims=True)
    g_out = 2.0 * np.einsum("bqk,bkd->bqd", weights, v)
    g_v = np.einsum("bqk,bqd->bkd", weights, g_out)
    g_weights = np.einsum("bqd,bkd->bqk", g_out, v)
    g_scores = weights * (g_weights - np.sum(g_weights * weights, axis=-1, keepdims=True)) * scale
    return np.einsum("bqk,bkd->bqd", g_scores, k), np.einsum("bqk,bqd->bkd", g_scores, q), g_v


def rows(cfg):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((N, N)) + N ** 0.5 * np.eye(N)
    b, t = rng.standard_normal((N, 5)), rng.standard_normal((N, 5))
    factor = rng.standard_normal((N, N)) / N ** 0.5
    c = factor @ factor.T + np.eye(N)
    x = rng.standard_normal(N)
    q, k, v = (rng.standard_normal((8, 64, 32)) for _ in range(3))
    target = Target(max_ratio=1.15)
    return [
        gradient_row(f"least squares via solve, {N}x{N}", primal=least_squares, args=(a, b, t),
                     wrt=(0, 1), handwritten=least_squares_grad, target=target, rtol=1e-6),
        gradient_row(f"Gaussian log-likelihood (slogdet, solve), {N}x{N}", primal=log_likelihood,
                     args=(c, x), wrt=0, handwritten=log_likelihood_grad, target=target, rtol=1e-6),
        gradient_row("einsum attention, 8x64x32", primal=attention, args=(q, k, v), wrt=(0, 1, 2),
                     handwritten=attention_grad, target=target, rtol=1e-6),
    ]
