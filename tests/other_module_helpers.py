"""Helpers in a module of their own: calls to them from tests/test_user_programs.py
are not inlined (another module's globals), so they run through their own VJP."""

import numpy as np


def scale_in_place(a, c):
    a *= c


def sgd_step(w, g):
    w -= 0.1 * g
    return w


def softplus_scaled(z, c):
    return np.log1p(np.exp(z * c)) + z * z


def product_and_sine(a, b):
    return a * b, np.sin(a)


def damped(a, n):
    s = a * 0.5
    for i in range(n):
        s = s * 0.9 + a * (0.1 * i)
    return s
