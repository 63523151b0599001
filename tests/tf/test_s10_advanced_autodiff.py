"""What the "Advanced automatic differentiation" guide (guides/advanced_autodiff.py)
computes, checked for its values (the script compares printed shapes):
``tf.pad`` with ``constant_values`` (the guide's ``plot_as_patches``),
``tf.saved_model.SaveOptions``, the Hessian of a Dense stack built with
``tape.jacobian`` of a gradient, and ``batch_jacobian`` against the summed
full Jacobian, each against finite differences in float64."""

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad, numerical_jacobian

RNG = np.random.default_rng(5)


def test_pad_with_a_constant_is_numpys_pad():
    # TensorFlow: tf.pad(t, paddings, constant_values=c) fills the padding with c
    x = RNG.standard_normal((2, 3)).astype(np.float32)
    widths = [[1, 0], [2, 1]]
    got = tf.pad(tf.constant(x), widths, constant_values=-2.5)
    assert got.dtype == tf.float32
    np.testing.assert_array_equal(got.numpy(), np.pad(x, widths, constant_values=-2.5))
    ints = tf.pad(tf.constant([1, 2]), [[1, 1]], constant_values=7)
    assert ints.dtype == tf.int32 and ints.numpy().tolist() == [7, 1, 2, 7]


def test_pad_gradient_reaches_the_tensor_and_the_constant():
    x0 = RNG.standard_normal((2, 3))
    c0 = -1.5
    widths = [[1, 1], [0, 2]]
    weights = RNG.standard_normal((4, 5))

    def loss(x, c):
        return float(np.sum(weights * np.pad(x, widths, constant_values=c) ** 2))

    x = tf.Variable(x0, dtype=tf.float64)
    c = tf.Variable(c0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(weights * tf.pad(x, widths, constant_values=c) ** 2)
    gx, gc = tape.gradient(y, [x, c])
    np.testing.assert_allclose(gx.numpy(), numerical_grad(loss, (x0, c0), 0), rtol=1e-6)
    np.testing.assert_allclose(gc.numpy(), numerical_grad(loss, (x0, c0), 1), rtol=1e-6)


def test_save_options_are_accepted():
    options = tf.saved_model.SaveOptions(experimental_custom_gradients=True)
    assert options.experimental_custom_gradients is True
    with pytest.raises(TypeError):
        tf.saved_model.SaveOptions(no_such_option=1)


def _dense_stack(x, w1, b1, w2, b2):
    h = np.maximum(x @ w1 + b1, 0)
    return np.maximum(h @ w2 + b2, 0)


def test_hessian_from_the_jacobian_of_a_gradient_is_finite_differences():
    x0 = RNG.standard_normal((7, 5))
    layer1 = tf.keras.layers.Dense(8, activation=tf.nn.relu, dtype="float64")
    layer2 = tf.keras.layers.Dense(6, activation=tf.nn.relu, dtype="float64")
    layer2(layer1(tf.constant(x0)))  # builds the weights
    w1, b1 = layer1.kernel.numpy(), layer1.bias.numpy()
    w2, b2 = layer2.kernel.numpy(), layer2.bias.numpy()
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            loss = tf.reduce_mean(layer2(layer1(tf.constant(x0))) ** 2)
        g = t1.gradient(loss, layer1.kernel)
    h = t2.jacobian(g, layer1.kernel)
    assert h.shape == (5, 8, 5, 8)

    loss64 = lambda v: float(np.mean(_dense_stack(x0, v, b1, w2, b2) ** 2))  # noqa: E731
    np.testing.assert_allclose(g.numpy(), numerical_grad(loss64, (w1,)), rtol=1e-5, atol=1e-8)
    # near w1 the ReLUs' masks are fixed, the output linear in w1 (d out[n, k] /
    # d w1[i, j] = m2[n, k] m1[n, j] x[n, i] w2[j, k]) and the loss quadratic
    m1 = (x0 @ w1 + b1 > 0).astype(float)
    m2 = (_dense_stack(x0, w1, b1, w2, b2) > 0).astype(float)
    slopes = np.einsum("nk,nj,ni,jk->nkij", m2, m1, x0, w2)
    expected = 2 * np.einsum("nkij,nkab->ijab", slopes, slopes) / m2.size
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-10, atol=1e-14)
    h_mat = np.reshape(h.numpy(), (40, 40))
    np.testing.assert_allclose(h_mat, h_mat.T, atol=1e-12)


def test_batch_jacobian_is_the_summed_jacobian_and_finite_differences():
    x0 = RNG.standard_normal((7, 5))
    layer1 = tf.keras.layers.Dense(8, activation=tf.nn.elu, dtype="float64")
    layer2 = tf.keras.layers.Dense(6, activation=tf.nn.elu, dtype="float64")
    x = tf.constant(x0)
    with tf.GradientTape(persistent=True, watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = layer2(layer1(x))
    j = tape.jacobian(y, x)
    jb = tape.batch_jacobian(y, x)
    assert j.shape == (7, 6, 7, 5) and jb.shape == (7, 6, 5)
    w1, b1, w2, b2 = (v.numpy() for v in (layer1.kernel, layer1.bias, layer2.kernel, layer2.bias))

    def elu(t):
        return np.where(t > 0, t, np.expm1(np.minimum(t, 0)))

    expected = numerical_jacobian(lambda v: elu(elu(v @ w1 + b1) @ w2 + b2), (x0,))
    np.testing.assert_allclose(j.numpy(), expected, rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(jb.numpy(), np.sum(j.numpy(), axis=2))
    np.testing.assert_array_equal(tf.einsum('bxby->bxy', j).numpy(), jb.numpy())
