"""Float32 digits of the logistic family as TensorFlow keeps them.

* ``tf.sigmoid`` / ``tf.nn.sigmoid`` / Keras's ``"sigmoid"``: TensorFlow's
  kernel (Eigen's ``scalar_logistic_op<float>``) computes ``e / (1 + e)``,
  ``e = exp(x)``, within a few ulps, so ``tf.sigmoid(-20.)`` is
  ``2.0611537e-09``; its gradient ``y * (1 - y)`` keeps the small values'
  digits too. ``(tanh(x/2) + 1) / 2`` rounded them to 0.
* ``tf.nn.sigmoid_cross_entropy_with_logits``: TensorFlow selects both
  ``max(x, 0)`` and ``-|x|`` with ``x >= 0`` "to allow computing gradients at
  zero" (nn_impl.py), so the gradient at a zero logit is ``sigmoid(0) - z``.
* ``logaddexp``: TensorFlow's (``tf.experimental.numpy.logaddexp``, which
  ``keras.ops.logaddexp`` calls) is ``max(x1, x2) + log1p(exp(-|x1 - x2|))``,
  whose slopes are ``e / (1 + e)`` and ``1 - e / (1 + e)``, e.g.
  ``sigmoid(10) = 0.9999546`` for ``logaddexp(0, 10)``; ``exp(x1 - ans)``
  gave 0.9999543.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad as sg
import s2sgrad.tf as tf
from tests.fd import numerical_grad

F32_ULP_AT_1 = float(np.finfo(np.float32).eps)


def logistic64(t):
    t = np.asarray(t, dtype=np.float64)
    return np.where(t > 0, 1 / (1 + np.exp(-np.abs(t))), np.exp(-np.abs(t)) / (1 + np.exp(-np.abs(t))))


def assert_ulps(got, exact, ulps):
    """``got`` (float32) within ``ulps`` float32 ulps of the float64 ``exact``."""
    exact32 = np.float32(exact)
    spacing = np.spacing(np.abs(exact32)) if exact32 != 0 else np.finfo(np.float32).smallest_subnormal
    assert abs(float(got) - float(exact)) <= ulps * float(spacing), (got, exact)


# -- sigmoid ---------------------------------------------------------------------------------


def test_sigmoid_of_minus_twenty_is_tensorflows():
    assert tf.sigmoid(-20.0).numpy() == np.float32(2.0611537e-09)
    assert tf.nn.sigmoid(tf.constant([-20.0])).numpy()[0] == np.float32(2.0611537e-09)
    assert tf.keras.activations.get("sigmoid")(tf.constant(-20.0)).numpy() == np.float32(2.0611537e-09)
    assert tf.keras.layers.Dense(1, activation="sigmoid").activation(tf.constant(-20.0)).numpy() \
        == np.float32(2.0611537e-09)


@settings(max_examples=200, deadline=None)
@given(st.floats(-87.0, 30.0, width=32))
def test_sigmoid_and_its_gradient_keep_float32_digits(v):
    x = tf.Variable(v)  # float32
    with tf.GradientTape() as tape:
        y = tf.sigmoid(x)
    g = tape.gradient(y, x)
    assert y.dtype == tf.float32 and g.dtype == tf.float32
    exact = logistic64(np.float64(np.float32(v)))
    assert_ulps(y.numpy(), exact, 2)
    assert_ulps(g.numpy(), exact * logistic64(-np.float64(np.float32(v))), 4)


def test_sigmoid_far_out_is_zero_or_one_without_warnings():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = tf.sigmoid(tf.constant([-200.0, -104.0, 0.0, 104.0, 200.0])).numpy()
    assert list(y[[0, 2, 3, 4]]) == [0.0, 0.5, 1.0, 1.0] and 0 <= y[1] < 1e-44


@settings(max_examples=30, deadline=None)
@given(st.floats(-30.0, 30.0))
def test_sigmoid_first_and_second_derivatives_are_finite_differences(v):
    x = tf.Variable(v, dtype=tf.float64)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.sigmoid(x)
        g = inner.gradient(y, x)
    h = outer.gradient(g, x)
    slope = lambda t: logistic64(t) * logistic64(-t)  # noqa: E731
    np.testing.assert_allclose(y.numpy(), logistic64(v), rtol=1e-14)
    # (differences of values near 1 are good to ~1e-10 absolute)
    np.testing.assert_allclose(g.numpy(), numerical_grad(logistic64, (v,)), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(h.numpy(), numerical_grad(slope, (v,)), rtol=1e-5, atol=1e-9)


def test_sigmoid_at_zero_has_its_slope_and_curvature():
    # the -|x| inside must not take abs's slope 0 at 0: sigmoid'(0) = 1/4, sigmoid''(0) = 0
    x = tf.Variable(0.0, dtype=tf.float64)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.sigmoid(x)
        g = inner.gradient(y, x)
    assert g.numpy() == 0.25 and outer.gradient(g, x).numpy() == 0.0


def test_sigmoid_in_a_tf_function_is_the_tapes():
    @tf.function
    def slope(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(tf.sigmoid(x))
        return tape.gradient(y, x)

    x = tf.constant([-20.0, -3.0, 0.0, 0.5, 20.0])
    eager = np.asarray(logistic64(x.numpy()) * logistic64(-x.numpy()), dtype=np.float32)
    for _ in range(3):  # the first call runs on the tape, the others the generated code
        got = slope(x).numpy()
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, eager, rtol=4 * F32_ULP_AT_1)


# -- sigmoid_cross_entropy_with_logits ---------------------------------------------------------


def _sigmoid_ce64(x, z):
    return np.sum(np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x))))


def test_sigmoid_cross_entropy_gradient_at_a_zero_logit_is_sigmoid_minus_label():
    x = tf.Variable([0.0, 0.0, 0.0], dtype=tf.float64)
    z = tf.constant([0.0, 1.0, 0.25], dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x))
    np.testing.assert_array_equal(tape.gradient(loss, x).numpy(), 0.5 - z.numpy())


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-20.0, 20.0), min_size=1, max_size=4), st.floats(0.0, 1.0))
def test_sigmoid_cross_entropy_gradient_is_finite_differences(values, label):
    logits = np.array(values)
    z = np.full_like(logits, label)
    x = tf.Variable(logits, dtype=tf.float64)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x))
    np.testing.assert_allclose(loss.numpy(), _sigmoid_ce64(logits, z), rtol=1e-12)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(),
                               numerical_grad(lambda t: _sigmoid_ce64(t, z), (logits,)), rtol=1e-5, atol=1e-8)


# -- logaddexp -----------------------------------------------------------------------------


def logaddexp_sum(x, y):
    return np.sum(np.logaddexp(x, y))


def logaddexp2_sum(x, y):
    return np.sum(np.logaddexp2(x, y))


def test_logaddexp_slope_has_tensorflows_float32_digits():
    x = tf.Variable(10.0)
    with tf.GradientTape() as tape:
        y = tf.keras.ops.logaddexp(0.0, x)
    assert tape.gradient(y, x).numpy() == np.float32(0.9999546)
    g = sg.grad(logaddexp_sum, wrt=(0, 1))(np.float32(0.0), np.float32(10.0))
    # TensorFlow's graph in float32: e = exp(-10), the smaller slope (1 / (1 + e)) * e
    e = np.exp(np.float32(-10.0))
    assert g[1] == np.float32(0.9999546) and g[0] == (np.float32(1) / (1 + e)) * e


@settings(max_examples=200, deadline=None)
@given(st.floats(-40.0, 40.0, width=32), st.floats(-40.0, 40.0, width=32))
def test_logaddexp_slopes_keep_float32_digits(a, b):
    x, y = np.float32(a), np.float32(b)
    gx, gy = sg.grad(logaddexp_sum, wrt=(0, 1))(x, y)
    gap = np.float64(np.float32(x - y))  # the float32 difference both slopes are functions of
    assert np.asarray(gx).dtype == np.float32
    assert_ulps(gx, logistic64(gap), 3)
    assert_ulps(gy, logistic64(-gap), 3)
    gx2, gy2 = sg.grad(logaddexp2_sum, wrt=(0, 1))(x, y)
    assert_ulps(gx2, logistic64(gap * np.log(2)), 4)
    assert_ulps(gy2, logistic64(-gap * np.log(2)), 4)


@pytest.mark.parametrize("function", [logaddexp_sum, logaddexp2_sum])
def test_logaddexp_derivatives_at_ties_and_apart_are_finite_differences(function):
    x = np.array([0.3, -1.0, 2.0, 0.5, 700.0])
    y = np.array([0.3, 0.2, -30.0, 0.5, 699.0])  # ties at 0 and 3
    gx, gy = sg.grad(function, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(gx, numerical_grad(function, (x, y), 0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gy, numerical_grad(function, (x, y), 1), rtol=1e-6, atol=1e-9)
    assert gx[0] == gy[0] == 0.5
    slope = sg.grad(function)
    hessian = sg.hessian(function)(x, y)
    rows = np.array([numerical_grad(lambda t, i=i: slope(t, y)[i], (x,)) for i in range(len(x))])
    np.testing.assert_allclose(hessian, rows, rtol=1e-5, atol=1e-9)
    v = np.array([1.0, -2.0, 0.5, 3.0, 1.0])
    assert sg.jvp(function)(x, y, v)[1] == pytest.approx(gx @ v, rel=1e-12)


def test_logaddexp_of_infinities_has_numpys_slopes():
    gx, gy = sg.grad(logaddexp_sum, wrt=(0, 1))(np.array([np.inf, -np.inf, 1.0]), np.array([1.0, 1.0, -np.inf]))
    np.testing.assert_array_equal(gx, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.0, 1.0, 0.0])


def test_keras_ops_log1p_keeps_small_values():
    # keras.ops.log1p is log1p, not log(1 + x) (which gives 0 for 1e-8 in float32)
    assert tf.keras.ops.log1p(tf.constant(1e-8)).numpy() == np.float32(1e-8)
