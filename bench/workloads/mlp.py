"""Issue 2: a 784-256-10 tanh MLP, softmax cross-entropy, batch of 256.

The gradient is taken with respect to all four weight and bias arrays. The
hand-written backward pass is textbook backprop: softmax minus one-hot, then
the two layers' transposed products.
"""

import numpy as np

from bench.harness import Target, gradient_row

BATCH, N_IN, N_HIDDEN, N_OUT = 256, 784, 256, 10


def mlp_loss(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    m = np.max(z, axis=1, keepdims=True)
    log_norm = np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m
    return np.mean(np.sum(Y * (log_norm - z), axis=1))


def mlp_grad(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    z = h @ W2 + b2
    p = np.exp(z - np.max(z, axis=1, keepdims=True))
    p /= np.sum(p, axis=1, keepdims=True)
    dz = (p - Y) / X.shape[0]
    da = (dz @ W2.T) * (1.0 - h * h)
    return X.T @ da, np.sum(da, axis=0), h.T @ dz, np.sum(dz, axis=0)


def make_args():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, N_IN))
    Y = np.eye(N_OUT)[rng.integers(0, N_OUT, BATCH)]
    W1 = rng.standard_normal((N_IN, N_HIDDEN)) / np.sqrt(N_IN)
    W2 = rng.standard_normal((N_HIDDEN, N_OUT)) / np.sqrt(N_HIDDEN)
    b1 = 0.1 * rng.standard_normal(N_HIDDEN)
    b2 = 0.1 * rng.standard_normal(N_OUT)
    return W1, b1, W2, b2, X, Y


def rows(cfg):
    return [
        gradient_row(
            "MLP 784-256-10, batch 256",
            primal=mlp_loss,
            args=make_args(),
            wrt=(0, 1, 2, 3),
            handwritten=mlp_grad,
            target=Target(max_ratio=1.15),
            memory=True,
        )
    ]
