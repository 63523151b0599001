"""Keras's built-in loop (compile/fit/evaluate/predict) in ``s2sgrad.tf``.

Checked against the loop TensorFlow's guides write by hand (tape, loss,
gradient, optimizer step), gradients against NumPy, and Keras's reporting
rules (loss averaged over the epoch's samples, metrics from the same
predictions, ``val_`` entries, ``evaluate``'s list)."""

import re

import numpy as np
import pytest

import s2sgrad as sg
import s2sgrad.tf as tf

RNG = np.random.default_rng(7)


class Linear(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(5.0)
        self.b = tf.Variable(0.0)

    def call(self, x):
        return self.w * x + self.b


def _data(n=64):
    x = RNG.uniform(-2, 2, size=n).astype(np.float32)
    return x, (3.0 * x + 2.0 + 0.1 * RNG.normal(size=n)).astype(np.float32)


def _mse(w, b, x, y):
    return np.mean((w * x + b - y) ** 2)


def test_fit_is_the_hand_written_loop():
    x, y = _data()
    model = Linear()
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    history = model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    # the same steps by hand, in float64 with s2sgrad's gradient of the NumPy loss
    w, b, epoch_losses = 5.0, 0.0, []
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    for _ in range(3):
        total = 0.0
        for start in range(0, 64, 16):
            xb, yb = x64[start:start + 16], y64[start:start + 16]
            total += _mse(w, b, xb, yb) * len(xb)
            dw, db = sg.grad(_mse, wrt=(0, 1))(w, b, xb, yb)
            w, b = w - 0.1 * dw, b - 0.1 * db
        epoch_losses.append(total / 64)
    assert model.w.numpy() == pytest.approx(w, rel=1e-4)
    assert model.b.numpy() == pytest.approx(b, rel=1e-4, abs=1e-5)
    assert list(history.history) == ["loss"] and history.epoch == [0, 1, 2]
    np.testing.assert_allclose(history.history["loss"], epoch_losses, rtol=1e-4)


def test_classifier_with_metrics_validation_evaluate_and_predict(capsys):
    n, classes = 120, 3
    centres = RNG.normal(size=(classes, 4)) * 3.0
    labels = RNG.integers(0, classes, size=n)
    x = (centres[labels] + RNG.normal(size=(n, 4))).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.layers.Dense(16, activation="relu"),
                                 tf.keras.layers.Dense(classes)])
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.03),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, labels, epochs=15, batch_size=32, validation_split=0.25, verbose=2)
    out = capsys.readouterr().out.splitlines()
    # Keras 3's verbose=2 line: count, time, time per step, then the logs sorted by name
    assert out[0] == "Epoch 1/15"
    assert re.fullmatch(r"3/3 - \d+s - \d+(ms|us|s)/step - accuracy: \d\.\d{4} - loss: "
                        r"\d\.\d{4} - val_accuracy: \d\.\d{4} - val_loss: \d\.\d{4}", out[1])
    assert list(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.8
    loss, accuracy = model.evaluate(x, labels, verbose=0)
    logits = model.predict(x, verbose=0)
    assert logits.shape == (n, classes) and isinstance(logits, np.ndarray)
    shifted = logits - logits.max(axis=1, keepdims=True)
    expected_loss = np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(n), labels])
    assert loss == pytest.approx(expected_loss, rel=1e-4)
    assert accuracy == pytest.approx(np.mean(np.argmax(logits, axis=1) == labels))
    assert model.evaluate(x, labels, verbose=0, return_dict=True)["accuracy"] == accuracy
    assert model.metrics_names == ["loss", "accuracy"]


def test_loss_functions_by_name_and_callable_and_train_on_batch():
    x, y = _data(32)
    for loss in ("mean_squared_error", tf.keras.losses.mean_squared_error,
                 tf.keras.losses.MeanSquaredError()):
        model = Linear()
        model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.05), loss=loss,
                      metrics=["mae"])
        before = _mse(5.0, 0.0, x, y)
        value, mae = model.train_on_batch(x, y)
        assert value == pytest.approx(before, rel=1e-5)
        assert mae == pytest.approx(np.mean(np.abs(5.0 * x - y)), rel=1e-5)
        assert model.w.numpy() != 5.0


def test_errors_say_what_is_wrong():
    model = Linear()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="loss identifier"):
        model.compile(loss="no_such_loss")
    model.compile(loss="mse")
    with pytest.raises(ValueError, match="Data cardinality is ambiguous"):
        model.fit(np.ones(3), np.ones(4), verbose=0)


def test_activation_layers_and_their_gradients():
    x = np.array([[-2.0, -0.5, 0.0, 0.7, 3.0]], dtype=np.float32)
    layers = tf.keras.layers
    cases = [
        (layers.Activation("tanh"), np.tanh(x), 1 - np.tanh(x) ** 2),
        (layers.ReLU(), np.maximum(x, 0), (x > 0).astype(np.float32)),
        (layers.ReLU(max_value=1.0, negative_slope=0.1),
         np.minimum(np.where(x >= 0, x, 0.1 * x), 1.0), np.where(x >= 1, 0, np.where(x >= 0, 1, 0.1))),
        (layers.LeakyReLU(), np.where(x > 0, x, 0.3 * x), np.where(x > 0, 1.0, 0.3)),
        (layers.Lambda(lambda t: t * 2.0), 2 * x, np.full_like(x, 2.0)),
    ]
    for layer, expected, derivative in cases:
        t = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = layer(t)
        np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6, err_msg=type(layer).__name__)
        np.testing.assert_allclose(tape.gradient(y, t).numpy(), derivative, rtol=1e-6,
                                   err_msg=type(layer).__name__)
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        y = layers.Softmax()(t)
        loss = tf.reduce_sum(y * tf.constant([[1.0, 2.0, 3.0, 4.0, 5.0]]))
    p = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    np.testing.assert_allclose(y.numpy(), p, rtol=1e-6)
    w = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    np.testing.assert_allclose(tape.gradient(loss, t).numpy(), p * (w - np.sum(p * w)), rtol=1e-5)
    assert layers.Reshape((5, 1))(tf.constant(x)).shape == (1, 5, 1)
    probabilities = tf.keras.Sequential([tf.keras.layers.Dense(3), layers.Softmax()])
    np.testing.assert_allclose(np.sum(probabilities(x).numpy(), axis=-1), 1.0, rtol=1e-6)


def test_summary_lists_layers_shapes_and_parameter_counts(capsys):
    model = tf.keras.Sequential([tf.keras.layers.Dense(64, activation="relu", input_shape=(4,)),
                                 tf.keras.layers.Dropout(0.1), tf.keras.layers.Dense(10)])
    model.summary()
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith('Model: "sequential')
    rows = [line for line in out if line.startswith("\u2502")]
    assert [r.split("\u2502")[1].split()[1] for r in rows] == ["(Dense)", "(Dropout)", "(Dense)"]
    assert [r.split("\u2502")[2].strip() for r in rows] == ["(None, 64)"] * 2 + ["(None, 10)"]
    assert [r.split("\u2502")[3].strip() for r in rows] == ["320", "0", "650"]  # 4*64+64, 64*10+10
    assert " Total params: 970 (3.79 KB)" in out and " Non-trainable params: 0 (0.00 B)" in out
    lines = []
    tf.keras.Sequential([tf.keras.layers.Dense(3)]).summary(print_fn=lines.append)
    assert "0 (unbuilt)" in lines[4]
