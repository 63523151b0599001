"""Common subexpression elimination: repeats found through copies, never
merged into an array the function writes into, negative numbers constants.

``np.sum(y[1:] * y[:-1])`` written three times is computed once: CSE makes
the second ``y[1:]`` a copy of the first, and the ``y[:-1]`` after it reads
that copy, which a dump-equality test alone does not see. A value the
function writes into (``c[0] = 5``) keeps its own array: merging it with an
equal one would either change the other or, as before, refuse the program
("may share memory").
"""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad, numerical_jvp


def repeated(x, y):
    if np.sum(y[1:] * y[:-1]) * np.sum(y[1:] * y[:-1]) < -0.5:
        z = np.sum(y[1:] * y[:-1]) * x
    else:
        z = np.tanh(np.sum(y[1:] * y[:-1]))
    return z + x


def written_twin(x):
    b = x + 1.0
    c = x + 1.0
    c[0] = 5.0
    return np.sum(b * c)


def written_after_a_copy(x):
    b = np.sin(x)
    e = b
    c = np.sin(x)
    c[1] = 0.5
    return np.sum(e * c) + np.sum(c)


def test_repeats_through_copies_are_computed_once():
    for source in (sg.source(repeated, wrt=(0, 1)), sg.source(repeated, mode="forward")):
        code = "\n".join(line for line in source.splitlines() if not line.strip().startswith("#"))
        assert code.count("np.sum(") == 1, source
        assert "= -1\n" not in source  # y[:-1] keeps its number


@pytest.mark.parametrize("y", [np.array([0.3, 0.5, -0.2]), np.array([2.0, -1.0, 1.5, 0.4])])
def test_repeats_keep_their_derivatives(y):
    x = 0.7
    g = sg.grad(repeated, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(g[0], numerical_grad(repeated, (x, y), 0), rtol=1e-6)
    np.testing.assert_allclose(g[1], numerical_grad(repeated, (x, y), 1), rtol=1e-6, atol=1e-9)
    u = np.linspace(-1.0, 1.0, y.size)
    _, t = sg.jvp(repeated, wrt=1)(x, y, u)
    np.testing.assert_allclose(t, numerical_jvp(repeated, (x, y), 1, u), rtol=1e-6, atol=1e-9)


def written_after_an_update(x):
    b = x + x[::-1]
    x += x[::-1]              # the same sum, into x's new version: not b
    x[-1] *= np.sin(x[1] * 2.0)
    return np.sum(b * x)


@pytest.mark.parametrize("f", [written_twin, written_after_a_copy, written_after_an_update])
def test_an_array_written_into_is_not_merged(f):
    x = np.array([1.0, 2.0, 3.0])
    value, g = sg.value_and_grad(f)(x.copy())
    assert value == f(x.copy())
    np.testing.assert_allclose(g, numerical_grad(lambda v: f(v.copy()), (x,), 0), rtol=1e-6)
    _, t = sg.jvp(f)(x.copy(), np.ones(3))
    np.testing.assert_allclose(t, numerical_jvp(lambda v: f(v.copy()), (x,), 0, np.ones(3)),
                               rtol=1e-6)
