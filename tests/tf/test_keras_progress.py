"""Keras 3's reporting in ``fit``/``evaluate``/``predict`` and its weights.

The progress lines are Keras 3's ProgbarLogger's (keras/src/callbacks/
progbar_logger.py, keras/src/utils/progbar.py): ``Epoch i/n`` only when
``epochs > 1``; ``verbose=1`` the bar ``32/32 ━━━━━━━━━━━━━━━━━━━━ 0s
2ms/step - accuracy: 0.8750 - loss: 0.4213`` (logs sorted by name, each
``.4f`` above 1e-3 in magnitude, else ``.4e``), ``verbose=2`` ``32/32 - 0s -
2ms/step - ...``. ``sample_weight`` and ``class_weight`` weight the loss
(Keras's ``sum_over_batch_size``: the weighted sum over the number of
samples), not the ``metrics=`` (only ``weighted_metrics``); checked
against the same step computed by hand with s2sgrad's gradient.
"""

import io
import re

import numpy as np
import pytest

import s2sgrad as sg
import s2sgrad.tf as tf

BAR = "━" * 20
TIME = r"\d+s \d+(ms|us|s)/step"


class Linear(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(2.0)
        self.b = tf.Variable(0.5)

    def call(self, x):
        return self.w * x + self.b


def _data(n=40, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 1)).astype(np.float32)  # (one feature, one target)
    return x, (3.0 * x - 1.0 + 0.05 * rng.normal(size=(n, 1))).astype(np.float32)


def _compiled(metrics=None, **kwargs):
    model = Linear()
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.1), loss="mse",
                  metrics=metrics, **kwargs)
    return model


def test_fit_verbose_1_prints_keras_3_lines(capsys):
    x, y = _data()
    history = _compiled(["mae"]).fit(x, y, epochs=2, batch_size=16, verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2" and len(out) == 4
    for line, epoch in ((out[1], 0), (out[3], 1)):
        match = re.fullmatch(rf"3/3 {BAR} {TIME} - loss: (\S+) - mae: (\S+)", line)
        assert match, line
        assert match.group(2) == f"{history.history['loss'][epoch]:.4f}"
        assert match.group(3) == f"{history.history['mae'][epoch]:.4f}"


def test_one_epoch_prints_no_epoch_line_and_verbose_0_nothing(capsys):
    x, y = _data()
    model = _compiled()
    model.fit(x, y, batch_size=8, verbose="auto")
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and re.fullmatch(rf"5/5 {BAR} {TIME} - loss: \d+\.\d{{4}}", out[0])
    model.fit(x, y, epochs=3, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capsys.readouterr().out == ""


def test_evaluate_and_predict_lines(capsys):
    x, y = _data(70)
    model = _compiled(["mae"])
    loss, mae = model.evaluate(x, y)
    predictions = model.predict(x, batch_size=10)
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(rf"3/3 {BAR} {TIME} - loss: {loss:.4f} - mae: {mae:.4f}", out[0]), out
    assert re.fullmatch(rf"7/7 {BAR} {TIME}", out[1]), out
    np.testing.assert_allclose(predictions, 2.0 * x + 0.5, rtol=1e-6)
    # (the values themselves, independently of the code under test)
    assert loss == pytest.approx(np.mean((2.0 * x + 0.5 - y) ** 2), rel=1e-5)


def test_verbose_2_line(capsys):
    x, y = _data()
    _compiled().fit(x, y, epochs=1, batch_size=40, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and re.fullmatch(r"1/1 - \d+s - \d+(ms|us|s)/step - loss: \S+", out[0])


def test_progbar_numbers_and_terminal_drawing(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    bar = tf.keras.utils.Progbar(4, interval=0)
    bar.update(1, [("loss", 1.0), ("tiny", 1e-5)])
    bar.update(2, [("loss", 3.0), ("tiny", -1e-5)])  # averaged: 2.0, 0
    first, second = screen.getvalue().split("\r")[1:]
    plain = re.sub(r"\x1b\[\d+m", "", second)
    assert "\x1b[1m2/4\x1b[0m " in second and "\x1b[32m" + "━" * 10 in second
    assert re.fullmatch(rf"2/4 {BAR} \d+s \d+(ms|us|s)/step - loss: 2\.0000 - tiny: 0\.0000e\+00",
                        plain.rstrip("\b ")), plain
    bar.update(4, [("loss", 0.25)])  # the last update shows the value as given
    last = re.sub(r"\x1b\[\d+m", "", screen.getvalue().split("\r")[-1])
    assert " - loss: 0.2500 - tiny:" in last and last.endswith("\n")


def _weighted_step(w, b, x, y, weights):
    """One SGD step of Keras's weighted mse, by hand: sum(w * l) / n."""
    def loss(w, b):
        return np.sum(weights * (w * x + b - y) ** 2) / len(x)
    dw, db = sg.grad(loss, wrt=(0, 1))(w, b)
    return loss(w, b), w - 0.1 * dw, b - 0.1 * db


def test_sample_weight_and_class_weight_weight_the_loss_not_the_metrics():
    x, y = _data(16)
    weights = np.linspace(0.0, 2.0, 16)[:, None]
    model = _compiled(["mse"], weighted_metrics=["mse"])
    logs = model.train_on_batch(x, y, sample_weight=weights, return_dict=True)
    expected, w, b = _weighted_step(2.0, 0.5, x.astype(float), y.astype(float), weights)
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    assert model.w.numpy() == pytest.approx(w, rel=1e-5)
    assert model.b.numpy() == pytest.approx(b, rel=1e-5)
    residual = (2.0 * x + 0.5 - y).astype(float)
    assert logs["mse"] == pytest.approx(np.mean(residual ** 2), rel=1e-5)
    assert logs["weighted_mse"] == pytest.approx(
        np.sum(weights * residual ** 2) / np.sum(weights), rel=1e-5)

    labels = (x > 0).astype(np.int64)  # (n, 1) class indices
    one = _compiled()
    one.fit(x, labels, batch_size=16, class_weight={0: 0.5, 1: 3.0}, shuffle=False, verbose=0)
    other = _compiled()
    other.fit(x, labels, batch_size=16, sample_weight=np.where(labels == 1, 3.0, 0.5),
              shuffle=False, verbose=0)
    assert one.w.numpy() == other.w.numpy() != 2.0


def test_dataset_with_sample_weights_and_evaluate_weights():
    x, y = _data(20)
    weights = (np.arange(20) % 2).astype(np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(20)
    model = _compiled()
    history = model.fit(dataset, verbose=0)
    expected, w, _ = _weighted_step(2.0, 0.5, x.astype(float), y.astype(float),
                                    weights[:, None])
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert model.w.numpy() == pytest.approx(w, rel=1e-5)
    value = model.evaluate(x, y, sample_weight=weights, verbose=0)
    residual = model.predict(x, verbose=0) - y
    assert value == pytest.approx(np.sum(weights[:, None] * residual ** 2) / 20, rel=1e-5)


def test_callbacks_see_params_and_batch_logs():
    seen = []

    class Recorder(tf.keras.callbacks.Callback):
        def set_params(self, params):
            seen.append(("params", params["epochs"], params["steps"]))

        def on_train_batch_end(self, batch, logs=None):
            seen.append(("batch", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            seen.append(("epoch", epoch, sorted(logs)))

    x, y = _data(20)
    _compiled(["mae"]).fit(x, y, batch_size=10, epochs=1, validation_data=(x, y),
                           callbacks=[Recorder()], verbose=0)
    assert seen == [("params", 1, 2), ("batch", 0, ["loss", "mae"]),
                    ("batch", 1, ["loss", "mae"]),
                    ("epoch", 0, ["loss", "mae", "val_loss", "val_mae"])]


def test_lambda_callback_batch_hooks_by_either_name():
    calls = []
    x, y = _data(20)
    callback = tf.keras.callbacks.LambdaCallback(
        on_batch_end=lambda batch, logs: calls.append(("old", batch)),
        on_train_batch_begin=lambda batch, logs: calls.append(("begin", batch)))
    _compiled().fit(x, y, batch_size=10, callbacks=[callback], verbose=0)
    assert calls == [("begin", 0), ("old", 0), ("begin", 1), ("old", 1)]


def test_steps_per_epoch_carries_a_repeated_dataset_on():
    x, y = _data(8)
    seen = []

    class Batches(tf.keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat()
    model = _compiled()
    history = model.fit(dataset, epochs=2, steps_per_epoch=3, callbacks=[Batches()], verbose=0)
    assert seen == [0, 1, 2, 0, 1, 2] and len(history.history["loss"]) == 2
    with pytest.raises(ValueError, match="steps_per_epoch"):
        model.fit(dataset, epochs=1, verbose=0)
    assert model.evaluate(dataset, steps=2, verbose=0) == pytest.approx(
        np.mean((model.predict(x, verbose=0) - y) ** 2), rel=1e-5)


def test_model_checkpoint_and_learning_rate_scheduler(tmp_path, capsys):
    x, y = _data(16)
    model = _compiled()
    path = str(tmp_path / "best.weights.h5")
    checkpoint = tf.keras.callbacks.ModelCheckpoint(path, monitor="loss", save_best_only=True,
                                                    save_weights_only=True, verbose=1)
    scheduler = tf.keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1))
    history = model.fit(x, y, epochs=2, batch_size=16, callbacks=[checkpoint, scheduler],
                        verbose=0)
    out = capsys.readouterr().out
    assert "Epoch 1: loss improved from inf to " in out and f"saving model to {path}" in out
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05])
    saved = _compiled()
    saved(x)
    saved.load_weights(path)
    assert saved.w.numpy() != 2.0
