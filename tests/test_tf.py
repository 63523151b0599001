"""s2sgrad.tf: TensorFlow's dtype defaults, printing, ops, losses and tf.function."""

import sys

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad

RNG = np.random.default_rng(4)


# -- dtypes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, dtype",
    [
        (lambda: tf.constant(1.0), np.float32),
        (lambda: tf.constant([1.0, 2.0]), np.float32),
        (lambda: tf.constant(1), np.int32),
        (lambda: tf.constant(True), np.bool_),
        (lambda: tf.constant(np.array([1.0])), np.float64),
        (lambda: tf.constant(1, dtype=tf.float64), np.float64),
        (lambda: tf.Variable(3.0), np.float32),
        (lambda: tf.Variable(0.0, dtype=tf.float32), np.float32),
        (lambda: tf.fill((2, 3), 3.0), np.float32),
        (lambda: tf.zeros((2,)), np.float32),
        (lambda: tf.ones((2,), dtype=tf.int32), np.int32),
        (lambda: tf.range(5), np.int32),
        (lambda: tf.range(0.0, 1.0, 0.25), np.float32),
        (lambda: tf.cast(tf.constant(1), tf.float32), np.float32),
        (lambda: tf.constant(2.0) * 3, np.float32),
        (lambda: 2 * tf.Variable(5.0), np.float32),
        (lambda: tf.pow(tf.constant(2.0), 2), np.float32),
        (lambda: tf.reduce_mean(tf.constant([1, 2, 4])), np.int32),
    ],
)
def test_tensorflow_dtype_defaults(make, dtype):
    assert make().dtype == dtype


def test_tensor_classes():
    x = tf.constant(1.0)
    v = tf.Variable(1.0)
    assert isinstance(x, tf.Tensor) and tf.is_tensor(x) and tf.is_tensor(v)
    assert type(v * 2) is tf.Tensor
    assert v.name == "Variable:0" and tf.Variable(1.0, name="x").name == "x:0"
    assert x.shape.as_list() == [] and tf.zeros((2, 3)).shape.as_list() == [2, 3]


# -- printing -----------------------------------------------------------------------------


def test_str_and_repr_of_tensors():
    assert str(tf.constant(-2.0)) == "tf.Tensor(-2.0, shape=(), dtype=float32)"
    assert repr(tf.constant(9.0)) == "<tf.Tensor: shape=(), dtype=float32, numpy=9.0>"
    assert str(tf.constant([1.0, 2.0])) == "tf.Tensor([1. 2.], shape=(2,), dtype=float32)"
    assert repr(tf.constant([1, 2])) == (
        "<tf.Tensor: shape=(2,), dtype=int32, numpy=array([1, 2], dtype=int32)>"
    )
    assert str(tf.ones((2, 2))) == "tf.Tensor(\n[[1. 1.]\n [1. 1.]], shape=(2, 2), dtype=float32)"
    assert repr(tf.ones((2, 2))) == (
        "<tf.Tensor: shape=(2, 2), dtype=float32, numpy=\n"
        "array([[1., 1.],\n       [1., 1.]], dtype=float32)>"
    )
    assert repr(tf.constant(True)) == "<tf.Tensor: shape=(), dtype=bool, numpy=True>"


def test_str_and_repr_of_variables():
    v = tf.Variable(0.0, name="x")
    assert repr(v) == "<tf.Variable 'x:0' shape=() dtype=float32, numpy=0.0>"
    assert str(v) == repr(v)
    w = tf.Variable([2.0, 3.0])
    assert repr(w) == (
        "<tf.Variable 'Variable:0' shape=(2,) dtype=float32, numpy=array([2., 3.], dtype=float32)>"
    )


def test_format_uses_the_numpy_value():
    assert f"{tf.constant(9.0)}" == "9.0"
    assert f"{tf.constant(114.0)}" == "114.0"
    assert f"{tf.constant(1 / 3):.3f}" == "0.333"
    assert f"{tf.ones((2,))}" == "[1. 1.]"


@pytest.mark.parametrize(
    "args, text",
    [
        ((tf.constant(-2.0),), "-2"),
        ((tf.constant(np.float32(0.999998569)),), "0.999998569"),
        ((tf.constant(0.1),), "0.1"),
        ((tf.constant(np.float64(0.1)),), "0.1"),
        ((tf.constant(np.float64(1 / 3)),), "0.33333333333333331"),
        ((tf.constant(1e-8),), "1e-08"),
        ((tf.constant(np.inf),), "inf"),
        ((tf.constant(3),), "3"),
        ((tf.constant(True),), "1"),
        ((tf.constant([1, 2, 3]),), "[1 2 3]"),
        ((tf.range(10),), "[0 1 2 ... 7 8 9]"),
        ((tf.constant([[1, 2], [3, 4]]),), "[[1 2]\n [3 4]]"),
        ((tf.zeros((2, 1, 2)),), "[[[0 0]]\n\n [[0 0]]]"),
        (((tf.constant(-2.0), tf.constant(1.0)),), "(-2, 1)"),
        (([tf.constant(1.5), "a", 2.5],), "[1.5, 'a', 2.5]"),
        (({"b": tf.constant(1), "a": 2},), "{'a': 2, 'b': 1}"),
        (("y =", tf.constant(0.0), "; x =", tf.Variable(2.5)), "y = 0 ; x = 2.5"),
        ((1, 2.5, None), "1 2.5 None"),
    ],
)
def test_tf_print_formats_like_tensorflow(capsys, args, text):
    tf.print(*args)
    captured = capsys.readouterr()
    assert captured.err == text + "\n" and captured.out == ""


def test_tf_print_options(capsys):
    tf.print(tf.range(10), summarize=-1, output_stream=sys.stdout, sep=",", end="!")
    assert capsys.readouterr().out == "[0 1 2 3 4 5 6 7 8 9]!"
    tf.print("a", "b", sep="-")
    assert capsys.readouterr().err == "a-b\n"


# -- tf.function and tf.range --------------------------------------------------------------


def test_tf_function_runs_the_python_function():
    @tf.function
    def f(x):
        total = tf.constant(0.0)
        for i in tf.range(4):
            total = total + x * tf.cast(i, tf.float32)
        return total

    assert float(f(tf.constant(2.0))) == 12.0
    assert f.python_function(tf.constant(1.0)).numpy() == 6.0


def test_tf_function_with_arguments_and_methods():
    class Model:
        def __init__(self):
            self.w = tf.Variable(2.0)

        @tf.function(input_signature=None)
        def __call__(self, x):
            return self.w * x

    assert float(Model()(tf.constant(3.0))) == 6.0


def test_tape_inside_tf_function():
    x = tf.Variable(1.0)

    @tf.function
    def grad():
        with tf.GradientTape() as tape:
            y = x * x * x
        return tape.gradient(y, x)

    assert float(grad()) == 3.0


def test_range_variants():
    assert tf.range(2, 8, 2).numpy().tolist() == [2, 4, 6]
    assert tf.range(tf.constant(3)).numpy().tolist() == [0, 1, 2]
    assert [int(i) for i in tf.range(3)] == [0, 1, 2]


# -- ops -------------------------------------------------------------------------------------


X = RNG.normal(size=(3, 4))


def _softmax(v, axis=-1):
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


OPS = [
    ("sigmoid", tf.sigmoid, lambda v: 1 / (1 + np.exp(-v))),
    ("nn.sigmoid", tf.nn.sigmoid, lambda v: 1 / (1 + np.exp(-v))),
    ("relu", tf.nn.relu, lambda v: np.maximum(v, 0)),
    ("leaky_relu", tf.nn.leaky_relu, lambda v: np.where(v > 0, v, 0.2 * v)),
    ("elu", tf.nn.elu, lambda v: np.where(v > 0, v, np.expm1(np.minimum(v, 0)))),
    ("softplus", tf.nn.softplus, lambda v: np.log1p(np.exp(v))),
    ("softmax", tf.nn.softmax, _softmax),
    ("softmax_axis0", lambda v: tf.nn.softmax(v, axis=0), lambda v: _softmax(v, 0)),
    ("log_softmax", tf.nn.log_softmax, lambda v: np.log(_softmax(v))),
    ("tanh", tf.tanh, np.tanh),
    ("square", tf.square, np.square),
    ("exp", tf.exp, np.exp),
    ("logsumexp", lambda v: tf.reduce_logsumexp(v, axis=1), lambda v: np.log(np.exp(v).sum(axis=1))),
    ("matmul_tb", lambda v: tf.matmul(v, v, transpose_b=True), lambda v: v @ v.T),
    ("matmul_ta", lambda v: tf.matmul(v, v, transpose_a=True), lambda v: v.T @ v),
    ("reduce_max", lambda v: tf.reduce_max(v, axis=[0]), lambda v: v.max(axis=0)),
    ("reduce_mean", lambda v: tf.reduce_mean(v, axis=-1, keepdims=True), lambda v: v.mean(-1, keepdims=True)),
    ("transpose", lambda v: tf.transpose(v), lambda v: v.T),
    ("reshape", lambda v: tf.reshape(v, [2, 6]), lambda v: v.reshape(2, 6)),
    ("tile", lambda v: tf.tile(v, [2, 1]), lambda v: np.tile(v, (2, 1))),
    ("concat", lambda v: tf.concat([v, v * 2], axis=1), lambda v: np.concatenate([v, 2 * v], 1)),
    ("stack", lambda v: tf.stack([v, v * v]), lambda v: np.stack([v, v * v])),
    ("gather", lambda v: tf.gather(v, [2, 0, 2]), lambda v: v[[2, 0, 2]]),
    ("where", lambda v: tf.where(v > 0, v, -2 * v), lambda v: np.where(v > 0, v, -2 * v)),
    ("clip", lambda v: tf.clip_by_value(v, -0.5, 0.5), lambda v: np.clip(v, -0.5, 0.5)),
    ("norm", lambda v: tf.norm(v, axis=1), lambda v: np.linalg.norm(v, axis=1)),
    ("rsqrt", lambda v: tf.math.rsqrt(v * v + 1), lambda v: 1 / np.sqrt(v * v + 1)),
    ("identity", tf.identity, lambda v: v),
    ("squared_difference", lambda v: tf.math.squared_difference(v, 1.0), lambda v: (v - 1) ** 2),
]


@pytest.mark.parametrize("name, tf_op, reference", OPS, ids=lambda c: c if isinstance(c, str) else "")
def test_op_values_and_gradients(name, tf_op, reference):
    np.testing.assert_allclose(tf_op(tf.constant(X)).numpy(), reference(X), rtol=1e-12, atol=1e-12)
    expected = numerical_grad(_weighted_ref(reference), (X,))
    np.testing.assert_allclose(_tf_grad_ref(tf_op, reference), expected, rtol=1e-5, atol=1e-7)


def _weighted_ref(reference):
    weights = np.linspace(1.0, 2.0, reference(X).size).reshape(reference(X).shape)
    return lambda v: np.sum(reference(v) * weights)


def _tf_grad_ref(tf_op, reference):
    weights = np.linspace(1.0, 2.0, reference(X).size).reshape(reference(X).shape)
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf_op(x) * weights)
    return tape.gradient(y, x).numpy()


def test_relu_gradient_at_zero_is_zero():
    x = tf.constant([0.0, 1.0, -1.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.nn.relu(x))
    assert tape.gradient(y, x).numpy().tolist() == [0.0, 1.0, 0.0]


def test_sigmoid_does_not_overflow():
    # (exp(-1000) underflowing to 0 is the exact float: NumPy ignores underflow by default)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        values = tf.sigmoid(tf.constant([-1000.0, 0.0, 1000.0])).numpy()
    assert values.tolist() == [0.0, 0.5, 1.0]


def test_misc_ops():
    x = tf.constant([[1.0, 5.0], [7.0, 2.0]])
    assert tf.argmax(x, axis=1).numpy().tolist() == [1, 0] and tf.argmax(x).dtype == np.int64
    assert tf.shape(x).numpy().tolist() == [2, 2] and tf.shape(x).dtype == np.int32
    assert int(tf.size(x)) == 4 and int(tf.rank(x)) == 2
    assert tf.one_hot([0, 2], 3).numpy().tolist() == [[1, 0, 0], [0, 0, 1]]
    assert tf.expand_dims(x, 0).shape == (1, 2, 2) and tf.squeeze(tf.zeros((1, 2))).shape == (2,)
    assert tf.add(1, 2).dtype == np.int32 and int(tf.add(1, 2)) == 3
    assert float(tf.reduce_sum(tf.constant([1.0, 2.0]))) == 3.0
    assert tf.eye(2).numpy().tolist() == [[1, 0], [0, 1]]
    assert tf.linspace(0.0, 1.0, 3).numpy().tolist() == [0.0, 0.5, 1.0]
    assert tf.where(tf.constant([True, False, True])).numpy().tolist() == [[0], [2]]
    assert tf.equal(x, 5.0).numpy().tolist() == [[False, True], [False, False]]
    assert tf.convert_to_tensor([1.0]).dtype == np.float32
    assert tf.zeros_like(x).numpy().sum() == 0 and tf.ones_like(x).dtype == np.float32
    assert tf.stop_gradient(x) is not x
    assert tf.linalg.matmul is tf.matmul and tf.math.reduce_sum is tf.reduce_sum


def test_cast_truncates_to_integers_and_stops_gradient():
    x = tf.constant([1.7, -1.7])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.cast(x, tf.int32)
    assert y.numpy().tolist() == [1, -1]
    assert tape.gradient(tf.cast(y, tf.float32), x) is None


# -- random -------------------------------------------------------------------------------


def test_random_is_reproducible_under_a_seed():
    tf.random.set_seed(7)
    a = tf.random.normal((3,), seed=1)
    b = tf.random.uniform((2, 2), minval=-1.0, maxval=1.0)
    tf.random.set_seed(7)
    assert tf.random.normal((3,), seed=1).numpy().tolist() == a.numpy().tolist()
    assert tf.random.uniform((2, 2), minval=-1.0, maxval=1.0).numpy().tolist() == b.numpy().tolist()
    assert a.dtype == np.float32 and b.shape == (2, 2)
    assert ((b.numpy() >= -1) & (b.numpy() < 1)).all()
    c = tf.random.normal((1000,), mean=5.0, stddev=0.1, dtype=tf.float64)
    assert c.dtype == np.float64 and abs(float(tf.reduce_mean(c)) - 5.0) < 0.02
    assert tf.random.uniform((4,), maxval=3, dtype=tf.int32).dtype == np.int32


# -- losses --------------------------------------------------------------------------------

Y_TRUE = RNG.uniform(size=(5, 3))
Y_PRED = RNG.uniform(0.05, 0.95, size=(5, 3))
LOGITS = RNG.normal(size=(5, 4))
LABELS = np.array([0, 3, 1, 1, 2])


def _bce(t, p):
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)), axis=-1)


def _scce(labels, p):
    p = p / p.sum(axis=-1, keepdims=True)  # Keras normalises probabilities
    return -np.log(p[np.arange(len(labels)), labels])


LOSSES = [
    ("mse", tf.keras.losses.MeanSquaredError(), Y_TRUE, Y_PRED, lambda t, p: np.mean((p - t) ** 2)),
    ("mae", tf.keras.losses.MeanAbsoluteError(), Y_TRUE, Y_PRED, lambda t, p: np.mean(np.abs(p - t))),
    ("bce", tf.keras.losses.BinaryCrossentropy(), Y_TRUE.round(), Y_PRED, lambda t, p: np.mean(_bce(t, p))),
    (
        "bce_logits",
        tf.keras.losses.BinaryCrossentropy(from_logits=True),
        Y_TRUE.round(),
        LOGITS[:, :3],
        lambda t, x: np.mean(_bce(t, 1 / (1 + np.exp(-x)))),
    ),
    (
        "scce",
        tf.keras.losses.SparseCategoricalCrossentropy(),
        LABELS,
        _softmax(LOGITS),
        lambda t, p: np.mean(_scce(t, p)),
    ),
    (
        "scce_logits",
        tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        LABELS,
        LOGITS,
        lambda t, x: np.mean(_scce(t, _softmax(x))),
    ),
    (
        "cce",
        tf.keras.losses.CategoricalCrossentropy(),
        np.eye(4)[LABELS],
        _softmax(LOGITS),
        lambda t, p: np.mean(-np.sum(t * np.log(p / p.sum(-1, keepdims=True)), axis=-1)),
    ),
    (
        "mse_sum",
        tf.keras.losses.MeanSquaredError(reduction="sum"),
        Y_TRUE,
        Y_PRED,
        lambda t, p: np.sum(np.mean((p - t) ** 2, axis=-1)),
    ),
]


@pytest.mark.parametrize("name, loss, y_true, y_pred, reference", LOSSES, ids=lambda c: c if isinstance(c, str) else "")
def test_loss_values_and_gradients(name, loss, y_true, y_pred, reference):
    value = loss(tf.constant(y_true), tf.constant(y_pred))
    assert value.shape == () and value.dtype == np.float64
    np.testing.assert_allclose(float(value), reference(y_true, y_pred), rtol=1e-6)
    p = tf.Variable(y_pred)
    with tf.GradientTape() as tape:
        value = loss(y_true, p)
    expected = numerical_grad(lambda v: reference(y_true, v), (y_pred,))
    np.testing.assert_allclose(tape.gradient(value, p).numpy(), expected, rtol=1e-5, atol=1e-7)


def test_loss_reductions_and_weights():
    mse = tf.keras.losses.MeanSquaredError(reduction="none")
    per_sample = mse(Y_TRUE, Y_PRED)
    assert per_sample.shape == (5,)
    weighted = tf.keras.losses.MeanSquaredError()(Y_TRUE, Y_PRED, sample_weight=np.arange(5.0))
    np.testing.assert_allclose(float(weighted), np.sum(per_sample.numpy() * np.arange(5.0)) / 5)
    column = tf.keras.losses.MeanSquaredError()(Y_TRUE[:, :1], Y_PRED[:, 0])
    np.testing.assert_allclose(float(column), np.mean((Y_PRED[:, 0] - Y_TRUE[:, 0]) ** 2))
    assert tf.keras.losses.MeanSquaredError()(tf.constant([1.0]), tf.constant([3.0])).dtype == np.float32
    with pytest.raises(ValueError):
        tf.keras.losses.MeanSquaredError(reduction="average")


# -- keras optimizers ----------------------------------------------------------------------


def test_keras_optimizers_are_tf_flavoured():
    sgd = tf.keras.optimizers.SGD(learning_rate=0.1)
    x = tf.Variable(1.0)
    sgd.apply_gradients([(tf.constant(1.0), x)])
    assert repr(sgd.iterations) == "<tf.Variable 'iteration:0' shape=() dtype=int64, numpy=1>"
    assert float(x) == pytest.approx(0.9)
    assert isinstance(tf.keras.optimizers.get("adam"), tf.keras.optimizers.Adam)


def test_linear_regression_converges():
    tf.random.set_seed(0)
    X_ = tf.random.normal((200, 2))
    w_true = tf.constant([[2.0], [-3.0]])
    y = tf.matmul(X_, w_true) + 0.5
    w = tf.Variable(tf.zeros((2, 1)))
    b = tf.Variable(tf.zeros((1,)))
    optimizer = tf.keras.optimizers.Adam(learning_rate=0.1)
    loss_fn = tf.keras.losses.MeanSquaredError()
    for _ in range(300):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, tf.matmul(X_, w) + b)
        grads = tape.gradient(loss, [w, b])
        optimizer.apply_gradients(zip(grads, [w, b]))
    np.testing.assert_allclose(w.numpy().ravel(), [2.0, -3.0], atol=1e-2)
    np.testing.assert_allclose(b.numpy(), [0.5], atol=1e-2)
    assert w.dtype == np.float32
