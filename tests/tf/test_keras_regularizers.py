"""Regularizers and ``add_loss``: Keras 3's definitions (``L2(l2)(x) = l2 *
sum(x**2)``, ``L1(l1)(x) = l1 * sum(|x|)``, no division by the batch size;
``layer.losses`` holds the penalties and the last call's ``add_loss``
values, and ``fit`` adds them to the loss). Gradients through them are
checked against central finite differences."""

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad

keras = tf.keras
layers = tf.keras.layers


def test_regularizer_values():
    x = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    assert float(keras.regularizers.L2(0.1)(x)) == pytest.approx(0.1 * 14.25)
    assert float(keras.regularizers.L1(0.1)(x)) == pytest.approx(0.1 * 6.5)
    assert float(keras.regularizers.L1L2(l1=0.1, l2=0.1)(x)) == pytest.approx(0.1 * 20.75)
    assert float(keras.regularizers.get("l2")(x)) == pytest.approx(0.01 * 14.25)


def test_kernel_and_activity_regularizers_and_add_loss_reach_fit():
    class Penalised(layers.Layer):
        def call(self, inputs):
            self.add_loss(0.5 * tf.reduce_mean(inputs))
            return inputs

    dense = layers.Dense(2, kernel_regularizer=keras.regularizers.L2(0.1),
                         activity_regularizer=keras.regularizers.L1(0.01))
    model = keras.Sequential([keras.Input(shape=(3,)), dense, Penalised()])
    x = np.array([[1.0, 2.0, -1.0], [0.5, 0.0, 2.0]], np.float32)
    y = np.zeros((2, 2), np.float32)
    out = model(x)
    kernel = dense.kernel.numpy()
    assert len(model.losses) == 3
    expected_penalty = (0.01 * np.abs(out.numpy()).sum() + 0.5 * out.numpy().mean()
                        + 0.1 * np.sum(kernel ** 2))
    assert float(sum(np.asarray(v) for v in model.losses)) == pytest.approx(expected_penalty,
                                                                              rel=1e-5)
    model(x)
    assert len(model.losses) == 3  # (a new call replaces the last call's losses)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    logs = model.train_on_batch(x, y, return_dict=True)
    assert logs["loss"] == pytest.approx(np.mean(out.numpy() ** 2) + expected_penalty, rel=1e-5)


def test_gradient_through_the_penalties_matches_finite_differences():
    dense = layers.Dense(2, use_bias=False, kernel_regularizer="l2",
                         activity_regularizer=keras.regularizers.L1L2(0.01, 0.02))
    x = np.array([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0]], np.float32)
    dense(x)
    kernel = dense.kernel.numpy().astype(np.float64)

    def total(w):
        out = x.astype(np.float64) @ w
        return (np.sum(out ** 2) + 0.01 * np.sum(w ** 2) + 0.01 * np.abs(out).sum()
                + 0.02 * np.sum(out ** 2))

    with tf.GradientTape() as tape:
        out = dense(x)
        loss = tf.reduce_sum(out ** 2) + tf.add_n(dense.losses)
    grad = tape.gradient(loss, dense.kernel)
    np.testing.assert_allclose(grad.numpy(), numerical_grad(total, [kernel]), rtol=1e-3,
                               atol=1e-4)
