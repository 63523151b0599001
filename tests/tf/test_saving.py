"""Saving and loading: ``model.save("x.keras")`` / ``tf.keras.models.load_model``,
``save_weights`` / ``load_weights`` (``.weights.h5``, a NumPy archive here),
``tf.saved_model.save`` / ``load`` of a ``tf.Module`` with ``tf.function``
methods (with and without ``input_signature``), as TensorFlow's "Save and
load Keras models" and "Introduction to modules" guides use them: the
restored object computes what the saved one did, and keeps training."""

import numpy as np
import pytest

import s2sgrad.tf as tf

keras = tf.keras
RNG = np.random.default_rng(2)


def _data():
    x = RNG.normal(size=(20, 4)).astype(np.float32)
    return x, (x @ RNG.normal(size=(4, 2))).astype(np.float32)


def _functional():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(3, activation="relu", kernel_regularizer="l2")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def test_keras_file_round_trip_keeps_weights_and_compiled_state(tmp_path):
    x, y = _data()
    model = _functional()
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [v.name for v in restored.weights] == [v.name for v in model.weights]
    # the optimizer state came too: one more step is the same step
    model.fit(x, y, epochs=1, shuffle=False, verbose=0)
    restored.fit(x, y, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    uncompiled = keras.models.load_model(path, compile=False)
    with pytest.raises(RuntimeError, match="compile"):
        uncompiled.evaluate(x, y, verbose=0)


def test_weights_file_loads_into_the_same_architecture(tmp_path):
    x, _ = _data()
    model = _functional()
    path = str(tmp_path / "ckpt.weights.h5")
    model.save_weights(path)
    other = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(2)])
    assert not np.allclose(other.predict(x, verbose=0), model.predict(x, verbose=0))
    other.load_weights(path)
    np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    wrong = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(5),
                              keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="has shape"):
        wrong.load_weights(path)
    with pytest.raises(ValueError, match=r"must end in `\.weights\.h5`"):
        model.save_weights(str(tmp_path / "ckpt.h5"))
    with pytest.raises(ValueError, match="Invalid filepath extension"):
        model.save(str(tmp_path / "model.h5"))


def _make_lambda_model():
    return keras.Sequential([keras.Input(shape=(2,)), keras.layers.Lambda(lambda t: t * 2)])


def test_what_cannot_be_saved_says_so(tmp_path):
    with pytest.raises(ValueError, match="lambda"):
        _make_lambda_model().save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="File format not supported"):
        (tmp_path / "bad.keras").write_text("not a zip")
        keras.models.load_model(tmp_path / "bad.keras")


class Multiplier(tf.Module):
    def __init__(self, value):
        super().__init__()
        self.weight = tf.Variable(value)

    @tf.function
    def multiply(self, x):
        return x * self.weight

    @tf.function(input_signature=[tf.TensorSpec(shape=[None], dtype=tf.float32)])
    def add_weight(self, x):
        return x + self.weight


def test_saved_model_round_trip_of_a_module(tmp_path):
    module = Multiplier(3.0)
    assert float(module.multiply(tf.constant(2.0))) == 6.0
    module.weight.assign(4.0)
    tf.saved_model.save(module, str(tmp_path / "saved"))
    restored = tf.saved_model.load(str(tmp_path / "saved"))
    assert float(restored.multiply(tf.constant(2.0))) == 8.0
    assert list(restored.add_weight(tf.constant([1.0, 2.0])).numpy()) == [5.0, 6.0]
    assert [v.numpy() for v in restored.trainable_variables] == [4.0]
    restored.weight.assign(1.0)  # (a separate object from the saved one)
    assert float(module.weight.numpy()) == 4.0
    with pytest.raises(TypeError, match="input_signature"):
        restored.add_weight(tf.constant([[1.0]]))
    with pytest.raises(OSError, match="SavedModel file does not exist"):
        tf.saved_model.load(str(tmp_path / "nothing"))


def test_input_signature_methods_count_their_traces():
    module = Multiplier(1.0)
    module.add_weight(tf.constant([1.0]))
    module.add_weight(tf.constant([1.0, 2.0, 3.0]))
    assert module.add_weight.experimental_get_tracing_count() == 1
