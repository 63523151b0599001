"""Keras functional models: ``tf.keras.Input``, layers called on KerasTensors,
``tf.keras.Model(inputs, outputs)`` with several inputs and outputs.

Reference: the Keras functional API guide (keras.io/guides/functional_api,
TensorFlow's "The Functional API" guide): ``Input(shape=(784,))`` has shape
``(None, 784)`` and dtype float32; a model's summary lists its
``input_layer (InputLayer)`` first; inputs given as a list are matched by
position, as a dict by the inputs' names; a model is callable on
KerasTensors like a layer. Values are checked against the same computation
written in NumPy, gradients against central finite differences.
"""

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad

keras = tf.keras
layers = tf.keras.layers
RNG = np.random.default_rng(11)


def test_input_and_layer_calls_are_symbolic():
    inputs = keras.Input(shape=(784,), name="img")
    assert inputs.shape == (None, 784) and inputs.dtype == tf.float32
    assert repr(inputs) == ("<KerasTensor shape=(None, 784), dtype=float32, sparse=False, "
                            "ragged=False, name=img>")
    x = layers.Dense(64, activation="relu")(inputs)
    assert x.shape == (None, 64)
    sequence = keras.Input(shape=(None,), dtype="int32")
    embedded = layers.Embedding(100, 8)(sequence)
    assert embedded.shape == (None, None, 8) and embedded.dtype == tf.float32
    with pytest.raises(TypeError, match="symbolic"):
        np.asarray(inputs)


def _mlp_weights(model):
    return [v.numpy().astype(np.float64) for v in model.trainable_variables]


def test_a_chain_of_layers_computes_and_differentiates_as_numpy(capsys):
    inputs = keras.Input(shape=(5,))
    hidden = layers.Dense(4, activation="tanh")(inputs)
    outputs = layers.Dense(2)(hidden)
    model = keras.Model(inputs=inputs, outputs=outputs, name="chain")
    x = RNG.normal(size=(3, 5)).astype(np.float32)
    w1, b1, w2, b2 = _mlp_weights(model)
    expected = np.tanh(x @ w1 + b1) @ w2 + b2
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-6)

    def loss(w1):
        return np.sum((np.tanh(x.astype(np.float64) @ w1 + b1) @ w2 + b2) ** 2)

    with tf.GradientTape() as tape:
        value = tf.reduce_sum(model(x) ** 2)
    grads = tape.gradient(value, model.trainable_variables)
    np.testing.assert_allclose(grads[0].numpy(), numerical_grad(loss, [w1]), rtol=1e-3,
                               atol=1e-4)
    assert [layer.name for layer in model.layers][0] == "input_layer" or \
        type(model.layers[0]).__name__ == "InputLayer"
    model.summary()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Model: "chain"'
    rows = [line.split("│")[1:4] for line in out if line.startswith("│")]
    assert [[c.strip() for c in row] for row in rows][0][1:] == ["(None, 5)", "0"]
    assert [c.strip() for c in rows[1]][1:] == ["(None, 4)", "24"]
    assert [c.strip() for c in rows[2]][1:] == ["(None, 2)", "10"]


def test_several_inputs_and_outputs_by_position_and_by_name():
    title = keras.Input(shape=(3,), name="title")
    body = keras.Input(shape=(2,), name="body")
    joined = layers.Concatenate()([title, body])
    priority = layers.Dense(1, name="priority")(joined)
    department = layers.Dense(4, name="department")(joined)
    model = keras.Model(inputs=[title, body], outputs={"priority": priority,
                                                        "department": department})
    t = RNG.normal(size=(6, 3)).astype(np.float32)
    b = RNG.normal(size=(6, 2)).astype(np.float32)
    by_position = model([t, b])
    by_name = model({"body": b, "title": t})
    assert set(by_position) == {"priority", "department"}
    np.testing.assert_allclose(by_position["priority"].numpy(), by_name["priority"].numpy())
    w, c = model.get_layer("priority").kernel.numpy(), model.get_layer("priority").bias.numpy()
    np.testing.assert_allclose(by_name["priority"].numpy(), np.concatenate([t, b], 1) @ w + c,
                               rtol=1e-5, atol=1e-6)
    assert model.output_names == ["priority", "department"]
    with pytest.raises(ValueError, match="no input named 'tags'"):
        model({"tags": t, "title": t, "body": b})

    # compile with a loss per output, weighted; fit on dicts of targets
    model.compile(optimizer=keras.optimizers.SGD(0.01),
                  loss={"priority": "mse",
                        "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
                  loss_weights={"priority": 1.0, "department": 0.2})
    y_priority = RNG.uniform(size=(6, 1)).astype(np.float32)
    y_department = np.eye(4, dtype=np.float32)[RNG.integers(0, 4, size=6)]
    predicted = model({"title": t, "body": b})
    p, d = predicted["priority"].numpy(), predicted["department"].numpy()
    shifted = d - d.max(axis=1, keepdims=True)
    cross_entropy = np.mean(np.log(np.exp(shifted).sum(1)) - np.sum(y_department * shifted, 1))
    expected = np.mean((p - y_priority) ** 2) + 0.2 * cross_entropy
    logs = model.train_on_batch({"title": t, "body": b},
                                {"priority": y_priority, "department": y_department},
                                return_dict=True)
    assert logs["loss"] == pytest.approx(expected, rel=1e-5)
    assert logs["priority_loss"] == pytest.approx(np.mean((p - y_priority) ** 2), rel=1e-5)
    history = model.fit({"title": t, "body": b}, {"priority": y_priority,
                                                   "department": y_department},
                        epochs=2, batch_size=3, verbose=0)
    assert sorted(history.history) == ["department_loss", "loss", "priority_loss"]


def test_models_and_operators_as_layers_and_shared_layers():
    inputs = keras.Input(shape=(3,))
    shared = layers.Dense(3, use_bias=False)
    outputs = shared(inputs) + 2.0 * shared(shared(inputs))
    model = keras.Model(inputs, outputs)
    assert len(model.trainable_variables) == 1
    w = shared.kernel.numpy()
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    np.testing.assert_allclose(model(x).numpy(), x @ w + 2 * (x @ w @ w), rtol=1e-5, atol=1e-6)
    outer_inputs = keras.Input(shape=(3,))
    outer = keras.Model(outer_inputs, layers.Dense(1)(model(outer_inputs)))
    assert outer(x).shape == (2, 1)
    assert len(outer.trainable_variables) == 3
    assert outer.layers[1] is model


def test_graph_errors_say_what_is_wrong():
    a, b = keras.Input(shape=(2,)), keras.Input(shape=(2,))
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, layers.Add()([a, b]))
    with pytest.raises(ValueError, match="must be KerasTensors"):
        keras.Model(a, np.zeros(2))
    model = keras.Model([a, b], layers.Add()([a, b]))
    with pytest.raises(ValueError, match="expects 2 inputs"):
        model([np.zeros((1, 2), np.float32)])


def test_summary_of_a_graph_has_keras_connected_to_column(capsys):
    # the functional API guide's toy ResNet: Keras 3 prints 223,242 (872.04 KB) parameters,
    # a 4-column table 76 characters wide (80-column output), cells wrapped at spaces and
    # long words cut with an ellipsis ("global_average_poo…"), connections as name[0][0]
    keras.backend.clear_session()  # (the layer names of a fresh program)
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    model = keras.Model(inputs, layers.Dense(10)(x), name="toy_resnet")
    model.summary(line_length=76)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == 'Model: "toy_resnet"'
    assert out[2] == "┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃"
    assert out[4] == "│ img (InputLayer)    │ (None, 32, 32, 3) │          0 │ -                 │"
    assert all(len(line) == 76 for line in out[1:-3])
    first_conv = [line for line in out if " (Conv2D) " in line][0]
    index = out.index(first_conv)
    assert out[index + 1] == ("│                     │ 32)               │            │"
                              "                   │")
    assert "(None, 30, 30," in first_conv and first_conv.endswith("│        896 │ img[0][0]         │")
    assert any(line.startswith("│ global_average_poo… │ (None, 64)") for line in out)
    assert any("max_pooling2d[0]… │" in line for line in out)
    assert out[-3] == " Total params: 223,242 (872.04 KB)"


def test_building_a_graph_leaves_batch_normalization_statistics_alone():
    inputs = keras.Input(shape=(3,))
    norm = layers.BatchNormalization()
    keras.Model(inputs, norm(inputs, training=True))
    np.testing.assert_array_equal(norm.moving_variance.numpy(), np.ones(3))
