"""break / continue / return inside loops, in reverse and forward mode.

A value assigned just before a ``break`` is what the code after the loop
reads, even when the rest of the loop body assigns the same name again: the
dead-code pass once took the later assignment for the one that counts, and
forward mode then returned the tangent of the value from before the loop
(``sg.jvp`` gave 2.0 where the derivative is 0.0, with no error). Each
program is checked for every argument: sg.grad and sg.jvp against central
differences, and JVP·u == u·VJP.
"""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad


def reassigned_then_break(x, y):
    v0 = x
    for i in range(3):
        v0 = y
        if i >= 0:
            break
    return v0 * 2.0


def break_after_late_value(x, y):
    z = x
    for i in range(4):
        if i >= 2:
            z = x * np.sin(y)
            break
        z = y * 2.0
    return z * x


def continue_skips_the_rest(x, y):
    z = x
    for i in range(4):
        if i % 2 == 1:
            z = np.cos(x) * y
            continue
        z = z + y
    return z * z


def while_break(x, y):
    z = y
    i = 0
    while i < 5:
        i += 1
        if i == 2:
            z = np.sin(x)
            continue
        if i == 3:
            z = x * y
            break
        z = x * 2.0
    return z * x + y


def nested_break(x, y):
    total = 0.0
    for i in range(3):
        w = x
        for j in range(3):
            w = y * (j + 1.0)
            if j >= i:
                break
            w = np.tanh(x)
        total = total + w * x
    return total


def return_in_loop(x, y):
    z = x
    for i in range(3):
        z = y * x
        if i == 1:
            return z + np.exp(y)
        z = np.cos(y)
    return z


def return_in_while(x, y):
    acc = x
    k = 0
    while k < 10:
        acc = acc * 0.5 + y
        k += 1
        if k >= 3:
            return acc * x
        acc = acc + np.sin(x)
    return acc


def array_break(x, y):
    v = x * 1.0
    for i in range(3):
        v = y * x
        if i == 1:
            break
        v = np.tanh(v)
    return np.sum(v ** 2)


SCALAR = [reassigned_then_break, break_after_late_value, continue_skips_the_rest, while_break,
          nested_break, return_in_loop, return_in_while]
POINTS = [(0.7, -1.3), (1.2, 0.4)]


@pytest.mark.parametrize("wrt", [0, 1])
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("f", SCALAR, ids=lambda f: f.__name__)
def test_reverse_and_forward_match_finite_differences(f, point, wrt):
    expected = numerical_grad(f, list(point), wrt)
    np.testing.assert_allclose(sg.grad(f, wrt=wrt)(*point), expected, rtol=1e-6, atol=1e-9)
    value, tangent = sg.jvp(f, wrt=wrt)(*point, 1.0)
    np.testing.assert_allclose(value, f(*point), rtol=1e-12)
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("wrt", [0, 1])
def test_arrays_through_a_break(wrt):
    rng = np.random.default_rng(5)
    args = [rng.normal(size=3), rng.normal(size=3)]
    u = rng.normal(size=3)
    gradient = sg.grad(array_break, wrt=wrt)(*args)
    np.testing.assert_allclose(gradient, numerical_grad(array_break, args, wrt), rtol=1e-6)
    _, tangent = sg.jvp(array_break, wrt=wrt)(*args, u)
    np.testing.assert_allclose(tangent, np.dot(gradient, u), rtol=1e-9, atol=1e-12)


def test_the_reported_case_has_a_zero_tangent():
    assert sg.jvp(reassigned_then_break, wrt=0)(1.0, 2.0, 1.0) == (4.0, 0.0)
    assert sg.jvp(reassigned_then_break, wrt=1)(1.0, 2.0, 1.0) == (4.0, 2.0)
