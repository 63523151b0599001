"""tape.jacobian and tape.batch_jacobian: shapes and values."""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_jacobian

RNG = np.random.default_rng(2)


def f(x, w):
    return np.tanh(x @ w) * 2.0


X = RNG.normal(size=(4, 3))
W = RNG.normal(size=(3, 2))


def test_jacobian_shape_and_values():
    x, w = sg.constant(X), sg.Variable(W)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = f(x, w)
    jx, jw = tape.jacobian(y, [x, w])
    assert jx.shape == (4, 2, 4, 3) and jw.shape == (4, 2, 3, 2)
    np.testing.assert_allclose(jx.numpy(), numerical_jacobian(f, (X, W), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(jw.numpy(), numerical_jacobian(f, (X, W), 1), rtol=1e-6, atol=1e-8)


def test_jacobian_of_scalar_is_the_gradient():
    x = sg.constant(np.array([1.0, 2.0]))
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(x**2)
    np.testing.assert_array_equal(tape.jacobian(y, x).numpy(), [2.0, 4.0])


def test_jacobian_for_scalar_source():
    s = sg.Variable(2.0)
    with sg.GradientTape() as tape:
        y = s * np.array([1.0, 2.0, 3.0])
    j = tape.jacobian(y, s)
    assert j.shape == (3,)
    np.testing.assert_array_equal(j.numpy(), [1.0, 2.0, 3.0])


def test_jacobian_unconnected():
    x, z = sg.Variable(np.ones(2)), sg.Variable(np.ones(3))
    with sg.GradientTape(persistent=True) as tape:
        y = x * 2
    assert tape.jacobian(y, z) is None
    jz = tape.jacobian(y, z, unconnected_gradients="zero")
    assert jz.shape == (2, 3) and not jz.numpy().any()


def test_jacobian_spends_a_non_persistent_tape():
    x = sg.Variable(np.ones(2))
    with sg.GradientTape() as tape:
        y = x * 2
    tape.jacobian(y, x)
    with pytest.raises(RuntimeError):
        tape.jacobian(y, x)


def test_batch_jacobian():
    x = sg.constant(X)

    def per_example(x):
        return np.sin(x) * np.sum(x**2, axis=1, keepdims=True)

    with sg.GradientTape() as tape:
        tape.watch(x)
        y = per_example(x)
    bj = tape.batch_jacobian(y, x)
    assert bj.shape == (4, 3, 3)
    full = numerical_jacobian(per_example, (X,), 0)  # (4, 3, 4, 3)
    expected = np.stack([full[b, :, b, :] for b in range(4)])
    np.testing.assert_allclose(bj.numpy(), expected, rtol=1e-6, atol=1e-8)


def test_batch_jacobian_needs_matching_batch_dimension():
    x = sg.constant(X)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = x[:3] * 2.0  # batch 3 against batch 4
    with pytest.raises(ValueError, match="first dimension"):
        tape.batch_jacobian(y, x)


def test_nested_jacobian_gives_the_hessian():
    x = sg.constant(np.array([0.5, -1.0]))
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            y = np.sin(x[0]) * x[1] ** 2
        j = inner.jacobian(y, x)
    h = outer.jacobian(j, x).numpy()
    a, b = 0.5, -1.0
    expected = [[-np.sin(a) * b * b, 2 * b * np.cos(a)], [2 * b * np.cos(a), 2 * np.sin(a)]]
    np.testing.assert_allclose(h, expected, rtol=1e-12)
