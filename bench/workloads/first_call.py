"""The first ``sg.grad(f)(...)`` of a 20-line function: parse to result (cold
cache), and in a new process whose disk cache holds it already (warm).

``twenty_lines`` is a straight-line function of the kind a user writes: two
dense layers, a few elementwise functions, broadcasting and reductions.
"""

import numpy as np

from bench.harness import FirstCallRow, Target, WarmDiskFirstCallRow


def twenty_lines(w, b, x, y):
    z = x @ w + b
    a = np.tanh(z)
    s = 1.0 / (1.0 + np.exp(-z))
    u = a * s + 0.5 * z ** 2
    v = np.sqrt(1.0 + u * u)
    r = np.log1p(v) - np.sin(a)
    q = r * np.cos(z) + np.arctan(s)
    m = np.mean(q, axis=0, keepdims=True)
    d = q - m
    e = np.sum(d * d, axis=1)
    k = np.exp(-0.5 * e)
    t = k / (1.0 + np.sum(k))
    l1 = np.sum(np.abs(w))
    l2 = np.sum(w * w)
    p = np.maximum(t, 0.01)
    err = p - y
    data = np.mean(err ** 2)
    reg = 0.01 * l1 + 0.001 * l2
    return data + reg + np.max(np.hypot(a, s))


def make_args():
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((16, 8)),
        rng.standard_normal(8),
        rng.standard_normal((32, 16)),
        rng.standard_normal(32),
    )


def rows(cfg):
    # cold: parse to result (< 30 ms); warm: read from the disk cache (< 5 ms)
    return [
        row("first call, 20-line function", func=twenty_lines, make_args=make_args, wrt=0,
            target=Target(max_seconds=seconds))
        for row, seconds in ((FirstCallRow, 0.030), (WarmDiskFirstCallRow, 0.005))
    ]
