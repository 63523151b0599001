"""One engine: tape recordings go through the source-to-source pipeline."""

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.tape import compiled
from tests.fd import numerical_grad
from tests.tape.helpers import forget_compiled


def loss(W, x):
    return np.sum(np.tanh(W @ x) ** 2) + np.sum(x * 3.0)


def record(W0, x0):
    W, x = sg.Variable(W0), sg.Variable(x0)
    with sg.GradientTape(persistent=True) as tape:
        y = np.sum(np.tanh(W @ x) ** 2) + np.sum(x * 3.0)
    return tape, y, W, x


def test_one_structure_is_compiled_once():
    forget_compiled()
    rng = np.random.default_rng(0)
    W0, x0 = rng.normal(size=(2, 3)), rng.normal(size=3)
    results = []
    for _ in range(3):
        tape, y, W, x = record(W0, x0)
        results.append([g.numpy() for g in tape.gradient(y, [W, x])])
    entries = [e for e in compiled._cache.values() if e]
    assert len(entries) == 1, "one structure, compiled once"
    assert "matmul_adjoint_a" in entries[0].source and "# grad of:" in entries[0].source
    for r in results:
        np.testing.assert_allclose(r[0], numerical_grad(loss, (W0, x0), 0), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(r[1], numerical_grad(loss, (W0, x0), 1), rtol=1e-6, atol=1e-8)


def test_float32_training_loop_compiles_once_and_keeps_dtype():
    forget_compiled()
    w = sg.Variable(np.zeros(3, dtype=np.float32))
    x = np.ones((4, 3), dtype=np.float32)
    opt = sg.optimizers.SGD(learning_rate=0.1)
    for _ in range(5):
        with sg.GradientTape() as tape:
            loss_value = np.mean((x @ w - 1.0) ** 2)
        (g,) = tape.gradient(loss_value, [w])
        assert g.numpy().dtype == np.float32
        opt.apply_gradients([(g, w)])
    assert len([e for e in compiled._cache.values() if e]) == 1


def test_nested_tapes_still_differentiate_twice():
    x = sg.Variable(0.7)
    with sg.GradientTape() as outer:
        with sg.GradientTape() as inner:
            y = np.sin(x) * x ** 2
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    expected = -np.sin(0.7) * 0.49 + 4 * 0.7 * np.cos(0.7) + 2 * np.sin(0.7)
    assert float(d2y.numpy()) == pytest.approx(expected)


def test_constants_in_the_structure_key_are_not_node_numbers():
    """``c * -1`` and ``c * c`` once had the same key (-1 read as a leaf number),
    so the second program ran the first one's adjoint."""
    forget_compiled()
    c = sg.constant(np.float32(2.0))
    results = []
    for program in (lambda: c * -1, lambda: c * -1, lambda: c * -1, lambda: c * c, lambda: c * c):
        with sg.GradientTape() as tape:
            tape.watch(c)
            y = program()
        results.append(float(tape.gradient(y, c)))
    assert results == [-1.0, -1.0, -1.0, 4.0, 4.0]


def test_masks_with_different_counts_get_different_code():
    """``x[mask]``'s shape depends on the mask's values, not only its shape."""
    forget_compiled()
    x = sg.Variable(np.array([1.0, 2.0, 3.0, 4.0]))
    for mask in ([True, False, True, False], [True, False, True, False],
                 [True, True, True, False], [True, True, True, False]):
        m = np.array(mask)
        with sg.GradientTape() as tape:
            y = np.sum(x[m] ** 2)
        np.testing.assert_allclose(tape.gradient(y, x).numpy(), 2.0 * x.numpy() * m)


def test_zeros_of_either_sign_get_their_own_code():
    """``-0.0 == 0.0``, but the derivative of ``x / c`` is ``1 / c``: +inf or -inf."""
    forget_compiled()
    x = sg.Variable(np.array([1.0, 2.0]))
    with np.errstate(divide="ignore"):
        for c in (0.0, 0.0, 0.0, -0.0, -0.0, np.float64(0.0), np.float64(0.0), np.float64(-0.0)):
            with sg.GradientTape() as tape:
                y = np.sum(x / c)
            assert np.all(tape.gradient(y, x).numpy() == 1 / np.float64(c))


def test_a_source_used_before_it_is_watched_is_a_constant_there():
    """Before ``watch`` a tensor is a constant: ``d(w t * t)/dt`` is ``w t``, not ``2 w t``;
    watched only after its use, it gets no gradient at all (as in TensorFlow)."""
    forget_compiled()
    w, t = sg.Variable(np.float64(3.0)), sg.constant(np.float64(2.0))
    for _ in range(4):
        with sg.GradientTape() as tape:
            y = w * t
            tape.watch(t)
            y = y * t
        assert [float(g) for g in tape.gradient(y, [w, t])] == [4.0, 6.0]
        with sg.GradientTape() as tape:
            y = w * t
            tape.watch(t)
        assert tape.gradient(y, [w, t])[1] is None
