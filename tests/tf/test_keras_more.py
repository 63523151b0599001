"""More of ``tf.keras`` in ``s2sgrad.tf``: losses (Keras's docstring values),
layers (values and gradients against finite differences), optimizers (one
step by the formula), schedules, callbacks, utils, ``tf.config``."""

import numpy as np
import pytest

import s2sgrad.tf as tf

RNG = np.random.default_rng(5)
Y_TRUE = [[0.0, 1.0], [0.0, 0.0]]
Y_PRED = [[0.6, 0.4], [0.4, 0.6]]


@pytest.mark.parametrize("loss, y_true, y_pred, expected", [
    (tf.keras.losses.Huber(), Y_TRUE, Y_PRED, 0.155),
    (tf.keras.losses.KLDivergence(), [[0, 1], [0, 0]], Y_PRED, 0.458),
    (tf.keras.losses.Hinge(), Y_TRUE, Y_PRED, 1.3),
    (tf.keras.losses.LogCosh(), Y_TRUE, [[1.0, 1.0], [0.0, 0.0]], 0.108),
    (tf.keras.losses.Poisson(), Y_TRUE, [[1.0, 1.0], [0.0, 0.0]], 0.5),
    (tf.keras.losses.CosineSimilarity(axis=1), [[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]], -0.5),
])
def test_losses_give_kerass_documented_values(loss, y_true, y_pred, expected):
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, abs=1e-3)


@pytest.mark.parametrize("loss", [tf.keras.losses.Huber(delta=0.3), tf.keras.losses.LogCosh(),
                                  tf.keras.losses.Poisson(), tf.keras.losses.CosineSimilarity()])
def test_loss_gradients_match_finite_differences(loss):
    y_true = RNG.uniform(0.1, 1.0, size=(3, 4))
    y_pred = RNG.uniform(0.1, 1.0, size=(3, 4))
    t = tf.constant(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(t)
        value = loss(y_true, t)
    g = tape.gradient(value, t).numpy()
    fd = np.zeros_like(y_pred)
    for i in np.ndindex(y_pred.shape):
        e = np.zeros_like(y_pred)
        e[i] = 1e-6
        fd[i] = (float(loss(y_true, y_pred + e)) - float(loss(y_true, y_pred - e))) / 2e-6
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-9)


def _tape_gradient(layer, x, w):
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        loss = tf.reduce_sum(layer(t) * w)
    return tape.gradient(loss, [t, *layer.trainable_variables])


def test_layer_normalization_and_merges():
    x = RNG.normal(size=(3, 5))
    layer = tf.keras.layers.LayerNormalization(dtype="float64")
    out = layer(x).numpy()
    expected = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-10)
    w = RNG.normal(size=(3, 5))
    dx, dgamma, dbeta = _tape_gradient(layer, x, w)
    fd = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1e-6
        fd[i] = (np.sum(layer(x + e).numpy() * w) - np.sum(layer(x - e).numpy() * w)) / 2e-6
    np.testing.assert_allclose(dx.numpy(), fd, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(dgamma.numpy(), np.sum(expected * w, axis=0), rtol=1e-10)
    np.testing.assert_allclose(dbeta.numpy(), np.sum(w, axis=0), rtol=1e-10)
    a, b = tf.constant(x), tf.constant(2.0 * x)
    layers = tf.keras.layers
    np.testing.assert_allclose(layers.Add()([a, b]).numpy(), 3 * x)
    np.testing.assert_allclose(layers.Multiply()([a, b]).numpy(), 2 * x * x)
    np.testing.assert_allclose(layers.Average()([a, b]).numpy(), 1.5 * x)
    np.testing.assert_allclose(layers.Subtract()([a, b]).numpy(), -x)
    np.testing.assert_allclose(layers.Maximum()([a, b]).numpy(), np.maximum(x, 2 * x))
    assert layers.Concatenate()([a, b]).shape == (3, 10)
    assert layers.Concatenate(axis=0)([a, b]).shape == (6, 5)


def test_embedding_rows_and_their_gradient():
    layer = tf.keras.layers.Embedding(6, 3)
    ids = np.array([[1, 4], [1, 0]])
    out = layer(ids)
    assert out.shape == (2, 2, 3) and out.dtype == tf.float32
    np.testing.assert_array_equal(out.numpy()[0, 0], layer.embeddings.numpy()[1])
    assert np.all(np.abs(layer.embeddings.numpy()) <= 0.05)  # Keras's "uniform": U(-0.05, 0.05)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(ids))
    grad = np.asarray(tape.gradient(loss, layer.embeddings))
    np.testing.assert_array_equal(grad[:, 0], [1, 2, 0, 0, 1, 0])  # row 1 used twice


def _one_step(opt, x0=10.0):
    var = tf.Variable(x0)
    opt.minimize(lambda: (var ** 2) / 2.0, [var])
    return float(var.numpy())


def test_optimizers_first_step_follows_the_formula():
    # Nadam: Keras's docstring example (10.0 -> 9.8); Adamax: lr / (1 - b1) * m / u = lr
    assert f"{_one_step(tf.keras.optimizers.Nadam(learning_rate=0.2)):.1f}" == "9.8"
    assert _one_step(tf.keras.optimizers.Adamax(learning_rate=0.2)) == pytest.approx(9.8, rel=1e-6)
    # AdamW: x -= x * wd * lr, then Adam's first step of size lr
    expected = 10.0 - 10.0 * 0.004 * 0.1 - 0.1
    assert _one_step(tf.keras.optimizers.AdamW(learning_rate=0.1)) == pytest.approx(expected, rel=1e-5)


def test_schedules():
    schedules = tf.keras.optimizers.schedules
    decay = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert float(decay(20)) == pytest.approx(0.025)
    assert float(schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True)(15)) == pytest.approx(0.05)
    piecewise = schedules.PiecewiseConstantDecay([5, 10], [1.0, 0.5, 0.1])
    assert [float(piecewise(s)) for s in (0, 5, 6, 11)] == pytest.approx([1.0, 1.0, 0.5, 0.1])
    assert float(schedules.CosineDecay(1.0, 10)(5)) == pytest.approx(0.5)
    assert float(schedules.InverseTimeDecay(1.0, 1, 1.0)(3)) == pytest.approx(0.25)
    opt = tf.keras.optimizers.SGD(learning_rate=decay)
    var = tf.Variable(1.0)
    for _ in range(3):
        opt.apply_gradients([(tf.constant(1.0), var)])
    steps = [0.1 * 0.5 ** (k / 10) for k in range(3)]
    assert float(var.numpy()) == pytest.approx(1.0 - sum(steps), rel=1e-6)


def test_early_stopping_and_lambda_callback():
    x = RNG.normal(size=(32, 1)).astype(np.float32)
    y = x * 0.0
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    seen = []
    stop = tf.keras.callbacks.EarlyStopping(monitor="loss", patience=2)
    history = model.fit(x, y, epochs=20, verbose=0, callbacks=[
        stop, tf.keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: seen.append(e))])
    # the loss is 0 from the start: no improvement after the first epoch, stop after patience
    assert len(history.epoch) == 3 and seen == [0, 1, 2] and stop.stopped_epoch == 2


def test_utils_config_and_random():
    np.testing.assert_array_equal(tf.keras.utils.to_categorical([0, 2, 1], 3),
                                  np.eye(3, dtype=np.float32)[[0, 2, 1]])
    assert tf.keras.utils.to_categorical([[1], [0]]).shape == (2, 2)
    tf.keras.utils.set_random_seed(3)
    first = tf.random.normal([3]).numpy()
    tf.keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(tf.random.normal([3]).numpy(), first)
    assert [d.device_type for d in tf.config.list_physical_devices()] == ["CPU"]
    assert tf.config.list_physical_devices("GPU") == []
    draws = tf.random.categorical(tf.math.log([[0.5, 0.5, 0.0]]), 200, seed=1).numpy()
    assert draws.shape == (1, 200) and set(np.unique(draws)) == {0, 1}
    calls = []

    @tf.function
    def f(x):
        calls.append(1)
        return x * 2.0

    tf.config.run_functions_eagerly(True)
    try:
        assert tf.config.functions_run_eagerly()
        assert float(f(tf.constant(2.0))) == 4.0
    finally:
        tf.config.run_functions_eagerly(False)
    assert not tf.config.functions_run_eagerly()
