"""Forward mode through ``a + b`` and ``a * n`` of tuples and lists.

A tangent of a tuple is the tuple of its entries' tangents. ``(y0,) + (v,)``
with only ``v`` active concatenates ``(0, dv)``; it used to be read as an
elementwise sum, whose tangent ``dv`` was spread over the result: both
entries got ``dv`` (sg.jvp gave -0.0798 for -0.0465, found by the random
programs with forward mode on).
"""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_jvp


def smooth(a, b):
    return np.tanh(a) * np.cos(b) + a / (1.0 + b * b)


def concatenated(x, y):
    t = (y[0],)
    t = t + (smooth(y[-1], np.mean(x)),)
    v = t[0] * 0.0
    for q in t:
        v = v * 0.5 + np.sin(q)
    return np.sum(v) + np.sum(y[1:] * y[:-1])


def prepended(x, y):
    t = [np.sum(x * x)] + [y[0], np.sin(x[0])]
    return t[0] * t[1] + t[2] ** 2


def grown_in_a_loop(x, y):
    t = ()
    for i in range(3):
        t = t + (x[i] * y[i],) if i % 2 else (y[i],) + t
    return t[0] * t[1] + t[2]


def repeated(x, y):
    t = [np.sin(x[1])] * 3
    u = (y[0],) * 2 + tuple(t)
    return u[0] + u[2] * u[3] + u[4]


def arrays_from_a_helper(x, y):
    u = pair_of(x)             # a user function's result: an array here
    return np.sum((u + y) * (u * 2.0))


def pair_of(x):
    return np.cos(x) * 1.5


PROGRAMS = [concatenated, prepended, grown_in_a_loop, repeated, arrays_from_a_helper]


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tangents_of_sequence_operations(f, dtype):
    x = np.array([0.3, -0.8, 1.2], dtype)
    y = np.array([0.5, 0.06, -1.7], dtype)
    v = np.cos(np.arange(1.0, 4.0)).astype(dtype)
    value, tangent = sg.jvp(f, wrt=0)(x, y, v)
    assert value == pytest.approx(f(x, y), rel=1e-6)
    expected = numerical_jvp(f, (x, y), 0, v)
    tolerance = 1e-6 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(tangent, expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(np.sum(sg.grad(f, wrt=0)(x, y) * v), expected,
                               rtol=tolerance, atol=tolerance)
