"""The pieces Keras's "Training & evaluation with the built-in methods" guide
writes (keras.io/guides/training_with_built_in_methods): a loss function and
a ``Loss`` subclass written with ``keras.ops``, a ``Metric`` subclass with
``add_variable`` / ``assign_add`` / ``.value``, a layer calling ``add_loss``,
and the functional merge helpers (``layers.concatenate``). Values are checked
against NumPy, the custom loss's gradient against finite differences."""

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad

keras = tf.keras
layers, ops = keras.layers, keras.ops
RNG = np.random.default_rng(4)


class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.argmax(y_pred, axis=1)
        values = ops.cast(ops.cast(y_true, "int32") == ops.cast(y_pred, "int32"), "float32")
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        self.true_positives.assign(0.0)


def test_custom_loss_and_its_gradient():
    y_true = RNG.uniform(size=(4, 3)).astype(np.float32)
    y_pred = RNG.uniform(size=(4, 3)).astype(np.float32)
    value = CustomMSE()(y_true, y_pred)
    expected = np.mean(np.mean((y_true - y_pred) ** 2, -1) + 0.1 * np.mean((0.5 - y_pred) ** 2,
                                                                          -1))
    assert float(value) == pytest.approx(expected, rel=1e-5)
    t = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(t)
        loss = CustomMSE()(y_true, t)

    def reference(p):
        return np.mean(np.mean((y_true - p) ** 2, -1) + 0.1 * np.mean((0.5 - p) ** 2, -1))

    np.testing.assert_allclose(tape.gradient(loss, t).numpy(), numerical_grad(reference, [y_pred]),
                               rtol=1e-4, atol=1e-6)


def test_custom_metric_in_fit_and_add_loss_layer():
    metric = CategoricalTruePositives()
    metric.update_state(np.array([0, 2, 1]), np.eye(3, dtype=np.float32)[[0, 1, 1]])
    assert float(metric.result()) == 2.0
    assert repr(metric.true_positives).startswith("<Variable path=ctp, shape=(), dtype=float32")
    metric.reset_state()
    assert float(metric.result()) == 0.0

    class ActivityRegularizationLayer(layers.Layer):
        def call(self, inputs):
            self.add_loss(ops.sum(inputs) * 0.1)
            return inputs

    inputs = keras.Input(shape=(4,), name="digits")
    hidden = ActivityRegularizationLayer()(layers.Dense(3, activation="relu")(inputs))
    model = keras.Model(inputs, layers.Dense(2, name="predictions")(hidden))
    model.compile(optimizer=keras.optimizers.SGD(0.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[CategoricalTruePositives()])
    x = RNG.normal(size=(8, 4)).astype(np.float32)
    y = RNG.integers(0, 2, size=8)
    logits = model(x).numpy()
    hidden_values = np.maximum(x @ model.layers[1].kernel.numpy() + model.layers[1].bias.numpy(),
                               0)
    shifted = logits - logits.max(1, keepdims=True)
    cross_entropy = np.mean(np.log(np.exp(shifted).sum(1)) - shifted[np.arange(8), y])
    logs = model.fit(x, y, batch_size=8, verbose=0).history
    assert logs["loss"][0] == pytest.approx(cross_entropy + 0.1 * hidden_values.sum(), rel=1e-5)
    assert logs["categorical_true_positives"][0] == np.sum(np.argmax(logits, 1) == y)


def test_merge_helpers_and_ops():
    a, b = keras.Input(shape=(2,)), keras.Input(shape=(3,))
    joined = layers.concatenate([a, b])
    assert joined.shape == (None, 5)
    model = keras.Model([a, b], [joined, layers.add([a, a]), layers.multiply([a, a])])
    x, z = np.ones((1, 2), np.float32), np.zeros((1, 3), np.float32)
    cat, total, product = model([2 * x, z])
    assert cat.numpy().tolist() == [[2, 2, 0, 0, 0]] and total.numpy().tolist() == [[4, 4]]
    assert product.numpy().tolist() == [[4, 4]]
    assert ops.convert_to_numpy(ops.one_hot(np.array([1, 0]), 3)).tolist() == [[0, 1, 0],
                                                                               [1, 0, 0]]
    assert ops.convert_to_numpy(ops.max(np.array([[1.0, 5.0], [3.0, 2.0]]), axis=0)).tolist() == \
        [3.0, 5.0]
