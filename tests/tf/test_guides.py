"""Programs in the style of TensorFlow's guides, run with ``import s2sgrad.tf as tf``.

Each follows a guide's code (only the data is ours: TensorFlow's random
numbers are not reproduced) and checks what the guide shows: the lines it
prints, in its format; losses that decrease; parameters that reach the
true ones; and gradients equal to ``sg.grad`` of the same loss written in
NumPy (float64) or to finite differences.

- "Basic training loops": a linear model as a ``tf.Module`` (``w=5, b=0``)
  fitted to ``y = 3x + 2 + noise`` by ``assign_sub``; its Keras version as a
  ``tf.keras.Model`` with ``optimizers.SGD``.
- "Multilayer perceptrons for digit recognition" (core APIs): an MLP of
  ``tf.Module`` dense layers built on first call, Xavier-initialised.
- "Introduction to gradients and automatic differentiation": the gradient of
  a Dense layer's loss, printing ``kernel, shape: (3, 2)`` (Keras 3's names).
- "Custom training: walkthrough": a ``Sequential`` Dense stack, a
  ``grad`` helper, ``SparseCategoricalCrossentropy(from_logits=True)``, and a
  training loop with ``metrics.Mean`` and ``SparseCategoricalAccuracy``
  printing ``Epoch 000: Loss: 1.024, Accuracy: 35.000%``.
"""

import re

import numpy as np

import s2sgrad as sg
import s2sgrad.tf as tf

RNG = np.random.default_rng(2026)


# -- basic training loops --------------------------------------------------------------


class LinearModel(tf.Module):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.w = tf.Variable(5.0)
        self.b = tf.Variable(0.0)

    def __call__(self, x):
        return self.w * x + self.b


def loss(target_y, predicted_y):
    return tf.reduce_mean(tf.square(target_y - predicted_y))


def linear_data():
    x = tf.cast(tf.linspace(-2, 2, 201), tf.float32)
    noise = tf.constant(RNG.normal(size=201).astype(np.float32))
    return x, x * 3.0 + 2.0 + noise


def test_basic_training_loop_with_a_module(capsys):
    x, y = linear_data()
    model = LinearModel()
    assert model.variables == (model.b, model.w)  # attributes sorted by name

    def train(model, x, y, learning_rate):
        with tf.GradientTape() as t:
            current_loss = loss(y, model(x))
        dw, db = t.gradient(current_loss, [model.w, model.b])
        model.w.assign_sub(learning_rate * dw)
        model.b.assign_sub(learning_rate * db)

    losses = []
    for epoch in range(10):
        train(model, x, y, learning_rate=0.1)
        current_loss = loss(y, model(x))
        losses.append(float(current_loss))
        print(f"Epoch {epoch:2d}:")
        print("    ", report(model, current_loss))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch  0:" and lines[18] == "Epoch  9:"
    assert re.fullmatch(r"     W = \d\.\d\d, b = \d\.\d\d, loss=\d+\.\d{5}", lines[19])
    assert all(a > b for a, b in zip(losses, losses[1:]))
    assert abs(model.w.numpy() - 3.0) < 0.2 and abs(model.b.numpy() - 2.0) < 0.3


def report(model, loss):
    return f"W = {model.w.numpy():1.2f}, b = {model.b.numpy():1.2f}, loss={loss:2.5f}"


def test_the_linear_gradient_is_sg_grads():
    x, y = linear_data()
    model = LinearModel()
    with tf.GradientTape() as t:
        current_loss = loss(y, model(x))
    dw, db = t.gradient(current_loss, [model.w, model.b])
    xs, ys = x.numpy().astype(np.float64), y.numpy().astype(np.float64)

    def numpy_loss(w, b):
        return np.mean(np.square(ys - (w * xs + b)))

    expected = sg.grad(numpy_loss, wrt=(0, 1))(5.0, 0.0)
    np.testing.assert_allclose([dw.numpy(), db.numpy()], expected, rtol=1e-5)


def test_basic_training_loop_with_a_keras_model():
    class MyModelKeras(tf.keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.w = tf.Variable(5.0)
            self.b = tf.Variable(0.0)

        def call(self, x):
            return self.w * x + self.b

    x, y = linear_data()
    model = MyModelKeras()
    assert model.trainable_variables == [model.w, model.b]  # Keras: assignment order
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.1)
    loss_fn = tf.keras.losses.MeanSquaredError()
    first = float(loss_fn(y, model(x)))
    for _ in range(10):
        with tf.GradientTape() as tape:
            current = loss_fn(y, model(x))
        grads = tape.gradient(current, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    assert float(loss_fn(y, model(x))) < first / 5
    assert int(optimizer.iterations.numpy()) == 10


# -- an MLP of tf.Module layers (the core-APIs MLP tutorial) -----------------------------


def xavier_init(shape):
    in_dim, out_dim = shape
    limit = tf.sqrt(6.0) / tf.sqrt(tf.cast(in_dim + out_dim, tf.float32))
    return tf.random.uniform(shape=(in_dim, out_dim), minval=-limit, maxval=limit, seed=22)


class DenseLayer(tf.Module):
    def __init__(self, out_dim, weight_init=xavier_init, activation=tf.identity):
        self.out_dim = out_dim
        self.weight_init = weight_init
        self.activation = activation
        self.built = False

    def __call__(self, x):
        if not self.built:
            self.in_dim = x.shape[1]
            self.w = tf.Variable(self.weight_init(shape=(self.in_dim, self.out_dim)))
            self.b = tf.Variable(tf.zeros(shape=(self.out_dim,)))
            self.built = True
        return self.activation(tf.add(tf.matmul(x, self.w), self.b))


class MLP(tf.Module):
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x, preds=False):
        for layer in self.layers:
            x = layer(x)
        return x


def cross_entropy_loss(y_pred, y):
    sparse_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=y_pred)
    return tf.reduce_mean(sparse_ce)


def clusters(n_per_class, n_features, n_classes, spread=0.6):
    centres = RNG.normal(scale=2.0, size=(n_classes, n_features))
    labels = np.repeat(np.arange(n_classes), n_per_class)
    features = centres[labels] + spread * RNG.normal(size=(labels.size, n_features))
    order = RNG.permutation(labels.size)
    return features[order].astype(np.float32), labels[order].astype(np.int32)


def test_mlp_of_modules_trains_and_its_gradient_is_sg_grads():
    features, labels = clusters(40, 5, 3)
    x, y = tf.constant(features), tf.constant(labels)
    mlp = MLP([DenseLayer(8, activation=tf.nn.relu), DenseLayer(3)])
    mlp(x)  # builds the layers
    first, second = mlp.layers
    assert mlp.trainable_variables == (first.b, first.w, second.b, second.w)
    assert mlp.submodules == (first, second)

    with tf.GradientTape() as tape:
        batch_loss = cross_entropy_loss(mlp(x), y)
    grads = tape.gradient(batch_loss, mlp.trainable_variables)

    def numpy_loss(b1, w1, b2, w2):
        hidden = np.maximum(features.astype(np.float64) @ w1 + b1, 0)
        logits = hidden @ w2 + b2
        logp = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
        return -np.mean(logp[np.arange(labels.size), labels])

    values = [v.numpy().astype(np.float64) for v in mlp.trainable_variables]
    expected = sg.grad(numpy_loss, wrt=(0, 1, 2, 3))(*values)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-4, atol=1e-6)

    optimizer = tf.keras.optimizers.Adam(learning_rate=0.05)
    losses = []
    for _ in range(60):
        with tf.GradientTape() as tape:
            batch_loss = cross_entropy_loss(mlp(x), y)
        grads = tape.gradient(batch_loss, mlp.trainable_variables)
        optimizer.apply_gradients(zip(grads, mlp.trainable_variables))
        losses.append(float(batch_loss))
    assert losses[-1] < losses[0] / 4
    accuracy = np.mean(np.argmax(mlp(x).numpy(), axis=1) == labels)
    assert accuracy > 0.9


# -- the autodiff guide: gradients of a layer's variables -------------------------------------


def test_gradients_with_respect_to_a_dense_layer(capsys):
    tf.keras.backend.clear_session()
    layer = tf.keras.layers.Dense(2, activation="relu")
    x = tf.constant([[1.0, 2.0, 3.0]])
    with tf.GradientTape() as tape:
        y = layer(x)
        loss = tf.reduce_mean(y**2)
    grad = tape.gradient(loss, layer.trainable_variables)
    for var, g in zip(layer.trainable_variables, grad):
        print(f"{var.name}, shape: {g.shape}")
    # (TensorFlow 2.16+, Keras 3: a weight's name is its own; Keras 2 printed dense/kernel:0)
    assert capsys.readouterr().out == "kernel, shape: (3, 2)\nbias, shape: (2,)\n"
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    pre = x.numpy() @ kernel + bias
    dpre = np.where(pre > 0, pre, 0)  # d mean(relu^2) / d pre for 2 outputs: relu * 2 / 2
    np.testing.assert_allclose(grad[0].numpy(), x.numpy().T @ dpre, rtol=1e-6)
    np.testing.assert_allclose(grad[1].numpy(), dpre[0], rtol=1e-6)


# -- the custom training walkthrough -----------------------------------------------------------


def test_custom_training_walkthrough(capsys):
    tf.random.set_seed(1)
    features, labels = clusters(40, 4, 3, spread=0.8)
    model = tf.keras.Sequential([
        tf.keras.layers.Dense(10, activation=tf.nn.relu, input_shape=(4,)),
        tf.keras.layers.Dense(10, activation=tf.nn.relu),
        tf.keras.layers.Dense(3),
    ])
    loss_object = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def loss(model, x, y, training):
        y_ = model(x, training=training)
        return loss_object(y_true=y, y_pred=y_)

    def grad(model, inputs, targets):
        with tf.GradientTape() as tape:
            loss_value = loss(model, inputs, targets, training=True)
        return loss_value, tape.gradient(loss_value, model.trainable_variables)

    optimizer = tf.keras.optimizers.SGD(learning_rate=0.05)
    loss_value, grads = grad(model, features, labels)
    print(f"Step: {optimizer.iterations.numpy()}, Initial Loss: {loss_value.numpy()}")
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    print(f"Step: {optimizer.iterations.numpy()},         Loss: "
          f"{loss(model, features, labels, training=True).numpy()}")

    train_loss_results, train_accuracy_results = [], []
    for epoch in range(41):
        epoch_loss_avg = tf.keras.metrics.Mean()
        epoch_accuracy = tf.keras.metrics.SparseCategoricalAccuracy()
        for start in range(0, len(labels), 32):
            x, y = features[start:start + 32], labels[start:start + 32]
            loss_value, grads = grad(model, x, y)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            epoch_loss_avg.update_state(loss_value)
            epoch_accuracy.update_state(y, model(x, training=True))
        train_loss_results.append(epoch_loss_avg.result())
        train_accuracy_results.append(epoch_accuracy.result())
        if epoch % 20 == 0:
            print("Epoch {:03d}: Loss: {:.3f}, Accuracy: {:.3%}".format(
                epoch, epoch_loss_avg.result(), epoch_accuracy.result()))

    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"Step: 0, Initial Loss: \d+\.\d+", lines[0])
    assert re.fullmatch(r"Step: 1,         Loss: \d+\.\d+", lines[1])
    assert [line[:10] for line in lines[2:]] == ["Epoch 000:", "Epoch 020:", "Epoch 040:"]
    assert all(re.fullmatch(r"Epoch \d{3}: Loss: \d\.\d{3}, Accuracy: \d+\.\d{3}%", line)
               for line in lines[2:])
    assert float(train_loss_results[-1]) < float(train_loss_results[0]) / 2
    assert float(train_accuracy_results[-1]) > 0.9
    assert train_loss_results[0].dtype == tf.float32

    test_accuracy = tf.keras.metrics.Accuracy()
    logits = model(features, training=False)
    prediction = tf.argmax(logits, axis=1, output_type=tf.int32)
    test_accuracy(prediction, labels)
    assert float(test_accuracy.result()) > 0.9


# -- the modules guide, Keras part: a layer whose variables are made in build -----------------


def test_flexible_dense_layer_and_a_model_of_them():
    tf.keras.backend.clear_session()

    class FlexibleDense(tf.keras.layers.Layer):
        def __init__(self, out_features, **kwargs):
            super().__init__(**kwargs)
            self.out_features = out_features

        def build(self, input_shape):
            self.w = tf.Variable(tf.random.normal([input_shape[-1], self.out_features]), name="w")
            self.b = tf.Variable(tf.zeros([self.out_features]), name="b")

        def call(self, inputs):
            return tf.matmul(inputs, self.w) + self.b

    flexible_dense = FlexibleDense(out_features=3)
    assert flexible_dense.variables == []  # not built yet
    out = flexible_dense(tf.constant([[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]))
    assert out.shape == (2, 3)
    assert [v.name for v in flexible_dense.variables] == ["flexible_dense/w:0",
                                                          "flexible_dense/b:0"]

    class MySequentialModel(tf.keras.Model):
        def __init__(self, name=None, **kwargs):
            super().__init__(**kwargs)
            self.dense_1 = FlexibleDense(out_features=3)
            self.dense_2 = FlexibleDense(out_features=2)

        def call(self, x):
            return self.dense_2(self.dense_1(x))

    model = MySequentialModel(name="the_model")
    assert model(tf.constant([[2.0, 2.0, 2.0]])).shape == (1, 2)
    assert model.submodules == (model.dense_1, model.dense_2)
    assert model.variables == [model.dense_1.w, model.dense_1.b, model.dense_2.w, model.dense_2.b]
