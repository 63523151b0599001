"""tf.keras layers, models, initializers and metrics, against Keras's documentation.

Expected values come from the Keras API pages (keras.io / tensorflow.org
api_docs tf.keras.*): the metric examples are the docstring examples
(``Mean`` of [1, 3, 5, 7] is 4.0, with sample_weight [1, 1, 0, 0] 2.0,
...); ``Dense`` computes ``activation(dot(input, kernel) + bias)`` with a
kernel of shape (input_dim, units); ``Dropout`` zeroes with probability
``rate`` and scales the rest by ``1 / (1 - rate)`` only when ``training``;
``BatchNormalization`` normalises by the batch's moments in training and
updates ``moving = moving * momentum + batch * (1 - momentum)``, and
normalises by the moving ones in inference. Gradients are checked in
float64 layers against finite differences and ``sg.grad`` of the same
function written in NumPy.
"""

import numpy as np
import pytest

import s2sgrad as sg
import s2sgrad.tf as tf
from tests.fd import numerical_grad

RNG = np.random.default_rng(7)
layers = tf.keras.layers


# -- Dense and the Layer machinery ----------------------------------------------------------


def test_dense_builds_on_first_call_from_the_input_shape():
    layer = layers.Dense(3, activation="relu")
    assert not layer.built and layer.weights == []
    x = tf.ones((2, 5))
    y = layer(x)
    assert layer.built and y.shape == (2, 3) and y.dtype == tf.float32
    assert layer.kernel.shape == (5, 3) and layer.bias.shape == (3,)
    assert layer.trainable_variables == [layer.kernel, layer.bias]
    # Keras 3: name is the weight's, path the layer's path to it (TF 2.16+ prints these)
    assert layer.kernel.name == "kernel" and layer.bias.path == f"{layer.name}/bias"
    assert repr(layer.bias) == (f"<Variable path={layer.name}/bias, shape=(3,), "
                                "dtype=float32, value=[0. 0. 0.]>")
    np.testing.assert_allclose(y.numpy(), np.maximum(x.numpy() @ layer.kernel.numpy(), 0),
                               rtol=1e-6)
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(3))


def test_dense_options_and_initializers():
    layer = layers.Dense(2, use_bias=False, kernel_initializer="ones")
    np.testing.assert_array_equal(layer(np.ones((1, 3))).numpy(), [[3.0, 3.0]])
    assert layer.bias is None and len(layer.weights) == 1
    layer = layers.Dense(2, kernel_initializer=tf.keras.initializers.Zeros(),
                         bias_initializer=tf.keras.initializers.Constant(0.5))
    np.testing.assert_array_equal(layer(np.ones((1, 3))).numpy(), [[0.5, 0.5]])
    with pytest.raises(ValueError, match="positive integer"):
        layers.Dense(0)
    with pytest.raises(ValueError, match="activation"):
        layers.Dense(1, activation="no_such_activation")


def test_glorot_uniform_limits_and_seeds():
    init = tf.keras.initializers.GlorotUniform(seed=1)
    w = init((300, 200)).numpy()
    limit = np.sqrt(6 / (300 + 200))
    assert w.dtype == np.float32 and np.abs(w).max() <= limit
    assert abs(w.var() - limit**2 / 3) < 0.05 * limit**2  # uniform on [-l, l]: l^2 / 3
    np.testing.assert_array_equal(init((300, 200)).numpy(), w)  # seeded: the same each call
    normal = tf.keras.initializers.RandomNormal(mean=1.0, stddev=0.5, seed=3)((4000,)).numpy()
    assert abs(normal.mean() - 1.0) < 0.05 and abs(normal.std() - 0.5) < 0.05
    tf.random.set_seed(5)
    first = layers.Dense(4)(tf.ones((1, 3)))
    tf.random.set_seed(5)
    np.testing.assert_array_equal(layers.Dense(4)(tf.ones((1, 3))).numpy(), first.numpy())


def test_layer_subclass_with_build_and_add_weight():
    class Linear(layers.Layer):
        def __init__(self, units=4):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                     initializer="random_normal", trainable=True)
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)
            self.total = self.add_weight(shape=(), initializer="zeros", trainable=False)

        def call(self, inputs):
            return tf.matmul(inputs, self.w) + self.b

    layer = Linear()
    assert layer.name == "linear"
    out = layer(tf.ones((2, 2)))
    assert out.shape == (2, 4)
    assert layer.trainable_weights == [layer.w, layer.b]
    assert layer.non_trainable_weights == [layer.total]
    assert layer.weights == [layer.w, layer.b, layer.total]
    assert Linear().name == "linear_1"


def test_inputs_are_converted_and_cast_to_the_layer_dtype():
    layer = layers.Dense(1, kernel_initializer="ones")
    assert layer(np.ones((1, 2), np.float64)).dtype == tf.float32
    assert layer([[1.0, 2.0]]).numpy().tolist() == [[3.0]]
    assert layers.Dense(1, dtype="float64")(np.ones((1, 2))).dtype == tf.float64


def test_freezing_a_layer():
    model = tf.keras.Sequential([layers.Dense(2, input_shape=(3,)), layers.Dense(1)])
    first, second = model.layers
    first.trainable = False
    assert model.trainable_variables == [second.kernel, second.bias]
    assert model.non_trainable_variables == [first.kernel, first.bias]
    model.trainable = False
    assert model.trainable_variables == [] and len(model.weights) == 4


# -- Flatten, Dropout, BatchNormalization -------------------------------------------------


def test_flatten():
    assert layers.Flatten()(tf.ones((2, 3, 4))).shape == (2, 12)
    assert layers.Flatten()(tf.ones((5,))).shape == (5, 1)


def test_dropout_only_when_training():
    layer = layers.Dropout(0.25, seed=0)
    x = tf.ones((200, 50))
    assert layer(x) is x or np.array_equal(layer(x).numpy(), x.numpy())
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    out = layer(x, training=True).numpy()
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        layers.Dropout(1.5)


def test_dropout_gradient_is_the_mask():
    layer = layers.Dropout(0.5, seed=1)
    x = tf.Variable(tf.ones((4, 4)))
    with tf.GradientTape() as tape:
        out = layer(x, training=True)
        y = tf.reduce_sum(out)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), out.numpy())  # x is ones


def test_batch_normalization_training_and_inference():
    layer = layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    x = RNG.normal(3.0, 2.0, size=(64, 3)).astype(np.float32)
    out = layer(x, training=True).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-3), rtol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * x.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * x.var(axis=0),
                               rtol=1e-5)
    inference = layer(x).numpy()  # training not given: the moving statistics
    expected = (x - layer.moving_mean.numpy()) / np.sqrt(layer.moving_variance.numpy() + 1e-3)
    np.testing.assert_allclose(inference, expected, rtol=1e-5, atol=1e-5)
    assert [v.name for v in layer.weights] == [  # (Keras 3's names: the weight's own)
        "gamma", "beta", "moving_mean", "moving_variance"]
    assert layer.trainable_weights == [layer.gamma, layer.beta]


def test_batch_normalization_gradient_matches_finite_differences():
    layer = layers.BatchNormalization(dtype="float64")
    x0 = RNG.normal(size=(6, 2))
    weights = RNG.normal(size=(6, 2))

    def loss_of(x):
        return float(tf.reduce_sum(layer(tf.constant(x), training=True) * weights))

    x = tf.Variable(x0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) * weights)
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    np.testing.assert_allclose(grads[0].numpy(), numerical_grad(loss_of, [x0]), rtol=1e-5,
                               atol=1e-7)
    normalised = (x0 - x0.mean(0)) / np.sqrt(x0.var(0) + 1e-3)
    np.testing.assert_allclose(grads[1].numpy(), np.sum(normalised * weights, 0), rtol=1e-6)
    np.testing.assert_allclose(grads[2].numpy(), np.sum(weights, 0), rtol=1e-12)


# -- models ---------------------------------------------------------------------------------


def test_sequential_with_an_input_shape_is_built_at_once():
    model = tf.keras.Sequential([
        layers.Dense(10, activation=tf.nn.relu, input_shape=(4,)),
        layers.Dense(3),
    ])
    assert [v.shape for v in model.trainable_variables] == [(4, 10), (10,), (10, 3), (3,)]
    model = tf.keras.Sequential([tf.keras.Input(shape=(4,)), layers.Dense(2)])
    assert [v.shape for v in model.weights] == [(4, 2), (2,)]


def test_sequential_add_and_delayed_build():
    model = tf.keras.Sequential()
    model.add(layers.Dense(8, activation="relu"))
    model.add(layers.Dense(1))
    assert model.weights == [] and len(model.layers) == 2
    assert model(tf.ones((3, 5))).shape == (3, 1)
    assert len(model.trainable_variables) == 4
    with pytest.raises(TypeError, match="instance of class Layer"):
        model.add(lambda x: x)


class MyModel(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.dense1 = layers.Dense(4, activation=tf.nn.relu, dtype="float64")
        self.dropout = layers.Dropout(0.5)
        self.dense2 = layers.Dense(2, dtype="float64")

    def call(self, inputs, training=False):
        return self.dense2(self.dropout(self.dense1(inputs), training=training))


def test_model_subclass_tracks_its_layers_and_passes_training():
    model = MyModel()
    x = RNG.normal(size=(5, 3))
    assert model(x).shape == (5, 2)
    assert model.name.startswith("my_model") and model.layers == [model.dense1, model.dropout,
                                                                   model.dense2]
    assert model.trainable_variables == [model.dense1.kernel, model.dense1.bias,
                                         model.dense2.kernel, model.dense2.bias]
    np.testing.assert_array_equal(model(x, training=False).numpy(), model(x).numpy())


def test_sequential_passes_training_to_the_layers_that_take_it():
    model = tf.keras.Sequential([layers.Dropout(0.5, seed=2)])
    x = tf.ones((10, 10))
    np.testing.assert_array_equal(model(x).numpy(), x.numpy())
    assert (model(x, training=True).numpy() == 0).any()


def test_dense_stack_gradient_matches_sg_grad_of_the_same_numpy_loss():
    model = tf.keras.Sequential([
        layers.Dense(5, activation="tanh", input_shape=(3,), dtype="float64"),
        layers.Dense(2, dtype="float64"),
    ])
    x = RNG.normal(size=(7, 3))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(model(x)))
    grads = tape.gradient(loss, model.trainable_variables)

    def numpy_loss(w1, b1, w2, b2):
        return np.mean(np.square(np.tanh(x @ w1 + b1) @ w2 + b2))

    values = [v.numpy() for v in model.trainable_variables]
    expected = sg.grad(numpy_loss, wrt=(0, 1, 2, 3))(*values)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


def test_what_is_not_supported_says_so():
    with pytest.raises(AttributeError, match="layers has no Conv3D"):
        layers.Conv3D
    with pytest.raises(AttributeError, match="metrics has no AUC"):
        tf.keras.metrics.AUC
    with pytest.raises(ValueError, match="needs both `inputs` and `outputs`"):
        tf.keras.Model(inputs=tf.keras.Input(shape=(2,)), outputs=None)
    with pytest.raises(TypeError, match="not understood"):
        layers.Dense(1, kernel_size=3)


# -- metrics: the Keras docstring examples -------------------------------------------------------


def test_mean_metric():
    m = tf.keras.metrics.Mean()
    m.update_state([1, 3, 5, 7])
    assert m.result().numpy() == 4.0
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result().numpy() == 2.0
    assert str(m.result()) == "tf.Tensor(2.0, shape=(), dtype=float32)"
    m.reset_states()
    assert m.result().numpy() == 0.0
    assert m(tf.constant(3.0)).numpy() == 3.0 and m.name == "mean"


@pytest.mark.parametrize("metric, y_true, y_pred, weights, plain, weighted", [
    ("Accuracy", [[1], [2], [3], [4]], [[0], [2], [3], [4]], [1, 1, 0, 0], 0.75, 0.5),
    ("SparseCategoricalAccuracy", [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], [0.7, 0.3],
     0.5, 0.3),
    ("CategoricalAccuracy", [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]],
     [0.7, 0.3], 0.5, 0.3),
    ("BinaryAccuracy", [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], [1, 0, 0, 1], 0.75, 0.5),
])
def test_accuracy_metrics(metric, y_true, y_pred, weights, plain, weighted):
    m = getattr(tf.keras.metrics, metric)()
    m.update_state(y_true, y_pred)
    assert m.result().numpy() == pytest.approx(plain)
    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=weights)
    assert m.result().numpy() == pytest.approx(weighted)


def test_metric_updates_inside_a_tape_are_not_recorded():
    m = tf.keras.metrics.Mean()
    w = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        loss = w * w
        m.update_state(loss)
    assert tape.gradient(loss, w).numpy() == 4.0
    assert m.result().numpy() == 4.0 and m.total.trainable is False
