"""Forward mode through loops that write into arrays: the written array's
tangent is carried round the loop (it was dropped after the loop, so
Hessians and Hessian-vector products of such loops came out a third of the
true value, with no error). Checked against central differences of the
generated gradient."""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_jacobian


def squares_written(x):
    w = np.zeros(4)
    for i in range(4):
        w[i] = x[i] * x[i]
    return np.sum(w ** 2)


def accumulated_in_place(x):
    w = np.zeros(3)
    for i in range(3):
        w[i] += np.sin(x[i]) * x[(i + 1) % 3]
    return np.sum(w * w)


def nested_write(x):
    w = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            w[i, j] = x[i] * x[j] + x[i]
    return np.sum(np.tanh(w))


def written_then_read_in_the_loop(x):
    w = np.ones(3)
    for i in range(1, 3):
        w[i] = w[i - 1] * x[i] + x[0]
    return np.sum(w ** 3)


def while_loop_write(x):
    w = np.zeros(3)
    i = 0
    while i < 3:
        w[i] = np.exp(x[i]) * x[2 - i]
        i += 1
    return np.sum(w) ** 2


def levy(x):
    w = np.zeros(len(x))
    for i in range(len(x)):
        w[i] = 1.0 + (x[i] - 1.0) / 4.0
    term = np.sin(np.pi * w[0]) ** 2
    for i in range(len(x) - 1):
        term = term + (w[i] - 1.0) ** 2 * (1.0 + 10.0 * np.sin(np.pi * w[i] + 1.0) ** 2)
    return term + (w[-1] - 1.0) ** 2 * (1.0 + np.sin(2 * np.pi * w[-1]) ** 2)


@pytest.mark.parametrize("f, n", [(squares_written, 4), (accumulated_in_place, 3),
                                  (nested_write, 2), (written_then_read_in_the_loop, 3),
                                  (while_loop_write, 3), (levy, 4)])
def test_hessian_and_hvp_of_a_loop_writing_into_an_array(f, n):
    rng = np.random.default_rng(n)
    x = rng.uniform(-1.0, 1.0, size=n)
    expected = numerical_jacobian(sg.grad(f), (x,))
    np.testing.assert_allclose(sg.hessian(f)(x), expected, rtol=1e-6, atol=1e-7)
    v = rng.normal(size=n)
    np.testing.assert_allclose(sg.hvp(f)(x, v), expected @ v, rtol=1e-6, atol=1e-7)
    _, tangent = sg.jvp(sg.grad(f))(x, v)
    np.testing.assert_allclose(tangent, expected @ v, rtol=1e-6, atol=1e-7)
