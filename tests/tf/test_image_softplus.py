"""``tf.nn.softplus``'s gradient (TensorFlow's ``sigmoid(x)``) and
``tf.image.adjust_contrast`` (a result, and the LookupError TensorFlow raises
for its gradient), from TensorFlow's autodiff guide."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad.tf as tf
from tests.fd import numerical_grad


def _softplus64(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)


@settings(max_examples=30, deadline=None)
@given(st.floats(-30.0, 30.0))
def test_softplus_first_and_second_derivatives_are_finite_differences(v):
    x = tf.Variable(v, dtype=tf.float64)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.nn.softplus(x)
        g = inner.gradient(y, x)
    h = outer.gradient(g, x)
    np.testing.assert_allclose(y.numpy(), _softplus64(v), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), numerical_grad(_softplus64, (v,)), rtol=1e-6, atol=1e-9)
    # the second derivative: differences of the first, which is the logistic function
    logistic = lambda t: 1.0 / (1.0 + np.exp(-t))  # noqa: E731
    np.testing.assert_allclose(h.numpy(), numerical_grad(logistic, (v,)), rtol=1e-5, atol=1e-9)


def test_softplus_gradient_keeps_float32_digits_as_tensorflow():
    # the guide prints dy/dx1 = sigmoid(10) = 0.99995460213 in float32: 0.9999546
    x = tf.Variable(10.0)
    with tf.GradientTape() as tape:
        y = tf.nn.softplus(x)
    g = tape.gradient(y, x)
    assert g.dtype == tf.float32
    assert g.numpy() == np.float32(1.0 / (1.0 + np.exp(-10.0)))


def test_softplus_gradient_inside_tf_function():
    @tf.function
    def slope(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.math.softplus(x)
        return tape.gradient(y, x)

    got = slope(tf.constant([-3.0, 0.0, 10.0]))
    np.testing.assert_allclose(got.numpy(), 1.0 / (1.0 + np.exp(-np.array([-3.0, 0.0, 10.0]))),
                               rtol=1e-6)


def test_adjust_contrast_scales_each_channel_about_its_mean():
    rng = np.random.default_rng(0)
    images = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    got = tf.image.adjust_contrast(images, 2.0)
    mean = images.reshape(2, 20, 3).mean(axis=1)[:, None, None, :]
    np.testing.assert_allclose(got.numpy(), (images - mean) * 2.0 + mean, rtol=1e-5, atol=1e-6)
    assert got.shape == (2, 4, 5, 3) and got.dtype == tf.float32


def test_adjust_contrast_has_no_gradient_as_in_tensorflow():
    image = tf.Variable([[[0.5, 0.0, 0.0]]])
    delta = tf.Variable(0.1)
    with tf.GradientTape() as tape:
        new_image = tf.image.adjust_contrast(image, delta)
    with pytest.raises(LookupError, match="gradient registry has no entry for: AdjustContrastv2"):
        tape.gradient(new_image, [image, delta])


def test_adjust_contrast_wants_images():
    with pytest.raises(ValueError, match="at least three-dimensional"):
        tf.image.adjust_contrast([1.0, 2.0], 2.0)


def test_log_sigmoid_and_its_gradient_in_and_out_of_tf_function():
    values = np.array([-40.0, -3.0, 0.0, 2.5, 40.0])

    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.math.log_sigmoid(x)
        return y, tape.gradient(y, x)

    x = tf.constant(values, dtype=tf.float64)
    for y, g in (run(x), tf.function(run)(x), tf.function(run)(x)):
        np.testing.assert_allclose(y.numpy(), -_softplus64(-values), rtol=1e-12)
        np.testing.assert_allclose(g.numpy(), 1.0 / (1.0 + np.exp(values)), rtol=1e-12)
