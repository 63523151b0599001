"""SimpleRNN, LSTM and GRU against NumPy loops written from Keras's equations
(keras/src/layers/rnn: LSTM gates i, f, c, o; GRU with reset_after=True and a
(2, 3 * units) bias; the LSTM forget bias starting at 1), with the layers'
own weights, and their gradients against central finite differences."""

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad

layers = tf.keras.layers
RNG = np.random.default_rng(9)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def simple_rnn(x, kernel, recurrent, bias):
    h = np.zeros((x.shape[0], recurrent.shape[0]))
    outputs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ kernel + h @ recurrent + bias)
        outputs.append(h)
    return np.stack(outputs, 1), [h]


def lstm(x, kernel, recurrent, bias):
    n = recurrent.shape[0]
    h = c = np.zeros((x.shape[0], n))
    outputs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = (z[:, k * n:(k + 1) * n] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, 1), [h, c]


def gru(x, kernel, recurrent, bias):
    n = recurrent.shape[0]
    h = np.zeros((x.shape[0], n))
    outputs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ kernel + bias[0]
        b = h @ recurrent + bias[1]
        z = sigmoid(a[:, :n] + b[:, :n])
        r = sigmoid(a[:, n:2 * n] + b[:, n:2 * n])
        h = z * h + (1 - z) * np.tanh(a[:, 2 * n:] + r * b[:, 2 * n:])
        outputs.append(h)
    return np.stack(outputs, 1), [h]


CASES = [(layers.SimpleRNN, simple_rnn), (layers.LSTM, lstm), (layers.GRU, gru)]


@pytest.mark.parametrize("cls,reference", CASES)
def test_recurrent_layers_match_their_equations(cls, reference):
    x = RNG.normal(size=(2, 4, 3)).astype(np.float32)
    layer = cls(5, return_sequences=True, return_state=True,
                bias_initializer="random_normal")
    outputs, *states = layer(x)
    weights = [w.numpy().astype(np.float64) for w in (layer.kernel, layer.recurrent_kernel,
                                                       layer.bias)]
    expected, expected_states = reference(x.astype(np.float64), *weights)
    np.testing.assert_allclose(outputs.numpy(), expected, rtol=1e-4, atol=1e-5)
    for state, want in zip(states, expected_states):
        np.testing.assert_allclose(state.numpy(), want, rtol=1e-4, atol=1e-5)
    last = cls(5, go_backwards=True)
    last(x)
    last.set_weights(layer.get_weights())
    np.testing.assert_allclose(last(x).numpy(), reference(x[:, ::-1].astype(np.float64),
                                                          *weights)[0][:, -1],
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls,reference", CASES)
def test_recurrent_gradients_match_finite_differences(cls, reference):
    x = RNG.normal(size=(2, 3, 2)).astype(np.float32)
    layer = cls(3)
    layer(x)
    weights = [w.numpy().astype(np.float64) for w in (layer.kernel, layer.recurrent_kernel,
                                                       layer.bias)]
    probe = RNG.normal(size=(2, 3))

    def loss(kernel, recurrent, bias, inputs):
        return np.sum(probe * reference(inputs, kernel, recurrent, bias)[0][:, -1])

    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        value = tf.reduce_sum(layer(t) * probe.astype(np.float32))
    grads = tape.gradient(value, [layer.kernel, layer.recurrent_kernel, layer.bias, t])
    args = [*weights, x.astype(np.float64)]
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(grad.numpy(), numerical_grad(loss, args, i), rtol=1e-3,
                                   atol=1e-4)


def test_lstm_forget_bias_and_orthogonal_recurrent_kernel():
    layer = layers.LSTM(3)
    layer(np.zeros((1, 2, 4), np.float32))
    np.testing.assert_array_equal(layer.bias.numpy(), [0] * 3 + [1] * 3 + [0] * 6)
    # the (3, 12) recurrent kernel has orthonormal rows (Keras's orthogonal initializer)
    u = layer.recurrent_kernel.numpy()
    np.testing.assert_allclose(u @ u.T, np.eye(3), atol=1e-5)
    model = tf.keras.Sequential([tf.keras.Input(shape=(None, 4)), layers.GRU(2),
                                 layers.Dense(1)])
    assert model(np.zeros((3, 6, 4), np.float32)).shape == (3, 1)
    with pytest.raises(ValueError, match="expected ndim=3"):
        layers.SimpleRNN(2)(np.zeros((2, 3), np.float32))
