"""Functions the forward-mode tests differentiate (defined in a file: their
source is what the transform reads)."""

import math

import numpy as np


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def softmax_cross_entropy(W, x, y):
    z = W @ x
    z = z - np.max(z)
    p = np.exp(z) / np.sum(np.exp(z))
    return -np.sum(y * np.log(p))


def mlp(W1, x, W2):
    h = np.tanh(W1 @ x)
    out = W2 @ h
    return np.sum(out ** 2) / 2.0


def loop_sum(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x) * s + x
    return np.sum(s)


def doubling(x):
    while x < 10.0:
        x = x * 2.0 + math.sin(x)
    return x


def branchy(x, y):
    if np.sum(x) > 0.0:
        z = x * y
    else:
        z = np.exp(x) + y
    return np.sum(z ** 2)


def scale(v, k):
    return v * k


def calls_helper(x):
    return np.sum(scale(x, 3.0) ** 2) + np.sum(scale(np.cos(x), x))


def closure_of(w):
    def inner(x):
        return np.sum(np.tanh(w * x))
    return inner


def writes(x):
    y = np.zeros(3)
    y[0] = x[1] * 2.0
    y[2] = np.sin(x[0])
    return np.sum(y * x)


def break_in_loop(x):
    s = x
    for i in range(10):
        s = s * 1.5
        if s > 3.0:
            break
    return s


def vector_out(x):
    return np.sin(x) * 2.0 + x[0]


def quad(a, x):
    return a * x ** 2 + 3.0 * x + 1.0


def inactive_branch(x, n):
    k = 2.0
    if n > 1:
        k = 3.0
    return x * k


def one_to_many(t):
    grid = np.linspace(0.0, 1.0, 1000)
    return np.sin(grid * t) + t


def nested_loops(x):
    s = 0.0
    for i in range(3):
        for j in range(2):
            s = s + np.sum(x ** (i + 1)) * 0.5
        if s > 5.0:
            break
    return s


def broadcast_add(x, c):
    return np.sum(np.reshape(x + c, (-1,)) ** 2)
