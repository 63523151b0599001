"""Issue 12, order 2: list cotangents with missing entries, the entry
checks of a second derivative (a non-scalar ``f``), mixed partials.

Every derivative is checked against central finite differences of the
derivative one order below (tests/fd.py).
"""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad, numerical_jacobian, numerical_jvp

RNG = np.random.default_rng(12)


def assert_second_order(f, *args):
    """grad, hvp along a random direction and the Hessian, each against
    finite differences of the order below."""
    x = args[0]
    np.testing.assert_allclose(sg.grad(f)(*args), numerical_grad(f, args), rtol=1e-5, atol=1e-7)
    first = sg.grad(f)
    v = RNG.standard_normal(np.shape(x)) if np.ndim(x) else 0.7
    np.testing.assert_allclose(sg.hvp(f)(*args, v), numerical_jvp(first, args, 0, v),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sg.hessian(f)(*args), numerical_jacobian(first, args),
                               rtol=1e-5, atol=1e-6)
    if not np.ndim(x):
        np.testing.assert_allclose(sg.grad(sg.grad(f))(*args), numerical_grad(first, args),
                                   rtol=1e-5, atol=1e-6)


# -- a list cotangent with entries nothing reached (None) ---------------------

def sorted_pair_in_loop(y, n):
    s = 0.0
    for i in range(n):
        s = s + np.sort(np.array([y, 1.0]))[0] * y
    return s


def sorted_pair(y):
    return np.sort(np.array([y, 1.0]))[0] * y


def nested_array_entry(y):
    return np.array([[y, 1.0], [2.0, y * y]])[1, 1] * y


def one_piece_of_unstack(x):
    a, b = np.unstack(np.stack([x, x * x]))
    return np.sum(a ** 3) * 2.0


def other_piece_of_unstack(x):
    a, b = np.unstack(np.stack([np.sin(x), x * x]), axis=0)
    return np.sum(b * x)


def some_pieces_of_split(x):
    a, b, c = np.split(x, 3)
    return np.sum(a ** 2 * c)


@pytest.mark.parametrize("y", [0.5, 1.5])
def test_a_loop_indexing_a_sorted_pair_at_order_2(y):
    # (the adjoint of np.array's cotangent met None for the constant 1.0:
    # "unsupported operand type(s) for +: 'float' and 'NoneType'")
    assert_second_order(sorted_pair_in_loop, y, 3)
    assert_second_order(sorted_pair, y)
    source = sg.source(sorted_pair_in_loop, order=2)
    assert "GradientTape" not in source and "tape" not in source


@pytest.mark.parametrize("f, x", [
    (nested_array_entry, 0.7),
    (one_piece_of_unstack, RNG.standard_normal(3)),
    (other_piece_of_unstack, RNG.standard_normal(4)),
    (some_pieces_of_split, RNG.standard_normal(6)),
])
def test_list_cotangents_with_missing_entries(f, x):
    # (np.stack of unstack's cotangent met None for the unused piece, at order 1)
    assert_second_order(f, x)
    v = RNG.standard_normal(np.shape(x)) if np.ndim(x) else 0.3
    np.testing.assert_allclose(sg.jvp(f)(x, v)[1], numerical_jvp(f, (x,), 0, v), rtol=1e-5,
                               atol=1e-7)


def test_missing_entries_are_zeros_shaped_like_their_items():
    from s2sgrad.primitives import shape

    pieces = [np.ones((2, 3)), np.ones((2, 3))]
    np.testing.assert_array_equal(shape.stacked_cotangent([None, np.full((2, 3), 2.0)], pieces, 1),
                                  np.stack([np.zeros((2, 3)), np.full((2, 3), 2.0)], axis=1))
    np.testing.assert_array_equal(shape.stacked_cotangent(0.0, pieces), np.zeros((2, 2, 3)))
    items = [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(shape.array_of_cotangent([None, [5.0, None]], items, np.ones(4)),
                                  [0.0, 0.0, 5.0, 0.0])
