"""Issue 3: an RNN loop ``h = tanh(W @ h + U @ x[t])``, 50 steps, 64 hidden, 32 inputs.

Loss ``sum(h**2)`` of the last state, gradient with respect to W and U. The
hand-written adjoint keeps the 51 hidden states (what the reverse sweep
reads) and replays the loop backwards, accumulating outer products. The
same loop written with a ``cell()`` function measures calls to the user's
own functions (inlined: the same generated code as the loop written out).
"""

import numpy as np

from bench.harness import FirstCallRow, Target, gradient_row

STEPS, HIDDEN, INPUTS = 50, 64, 32


def rnn_loss(W, U, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h ** 2)


def cell(W, U, h, x):
    return np.tanh(W @ h + U @ x)


def rnn_loss_with_cell(W, U, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = cell(W, U, h, xs[t])
    return np.sum(h ** 2)


def rnn_grad(W, U, xs, h0):
    hs = [h0]
    for t in range(xs.shape[0]):
        hs.append(np.tanh(W @ hs[-1] + U @ xs[t]))
    dW = np.zeros_like(W)
    dU = np.zeros_like(U)
    dh = 2.0 * hs[-1]
    for t in range(xs.shape[0] - 1, -1, -1):
        h = hs[t + 1]
        dz = dh * (1.0 - h * h)
        dW += np.outer(dz, hs[t])
        dU += np.outer(dz, xs[t])
        dh = W.T @ dz
    return dW, dU


def make_args():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN)
    U = rng.standard_normal((HIDDEN, INPUTS)) / np.sqrt(INPUTS)
    xs = rng.standard_normal((STEPS, INPUTS))
    h0 = np.zeros(HIDDEN)
    return W, U, xs, h0


def rows(cfg):
    return [
        gradient_row(
            "RNN loop, 50 steps, 64 hidden",
            primal=rnn_loss,
            args=make_args(),
            wrt=(0, 1),
            handwritten=rnn_grad,
            target=Target(max_ratio=1.3),
            memory=True,
        ),
        gradient_row(
            "RNN loop written with a cell() function",
            primal=rnn_loss_with_cell,
            args=make_args(),
            wrt=(0, 1),
            handwritten=rnn_grad,
            target=Target(max_ratio=1.3),
        ),
        FirstCallRow(
            "first call, RNN loop",
            func=rnn_loss,
            make_args=make_args,
            wrt=(0, 1),
            target=Target(max_seconds=0.050),
        ),
    ]
