"""Convolution and pooling layers (channels last), against direct loops in NumPy
written from TensorFlow's definitions (tf.nn.convolution: ``out[b, i, j, f] =
sum_{di, dj, c} x[b, i*s + di*d, j*s + dj*d, c] * k[di, dj, c, f]``; "same"
padding: output length ``ceil(n / s)``, ``max((out - 1) * s + extent - n, 0)``
padded, the smaller half before; average pooling over the input's entries
only), and gradients against central finite differences (float64)."""

import itertools

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad

layers = tf.keras.layers
RNG = np.random.default_rng(5)


def _pad(x, window, strides, dilation, padding, fill):
    spatial = x.shape[1:-1]
    extents = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
    if padding == "valid":
        return x, [(n - e) // s + 1 for n, e, s in zip(spatial, extents, strides)]
    out = [int(np.ceil(n / s)) for n, s in zip(spatial, strides)]
    total = [max((o - 1) * s + e - n, 0) for o, s, e, n in zip(out, strides, extents, spatial)]
    widths = [(0, 0)] + [(t // 2, t - t // 2) for t in total] + [(0, 0)]
    return np.pad(x, widths, constant_values=fill), out


def reference_conv(x, k, b, strides, dilation, padding):
    window = k.shape[:-2]
    xp, out = _pad(x, window, strides, dilation, padding, 0.0)
    y = np.zeros((x.shape[0], *out, k.shape[-1]))
    for position in itertools.product(*map(range, out)):
        for offset in itertools.product(*map(range, window)):
            at = tuple(p * s + o * d for p, s, o, d in zip(position, strides, offset, dilation))
            y[(slice(None), *position)] += xp[(slice(None), *at)] @ k[offset]
    return y + b


def reference_pool(x, window, strides, padding, kind):
    xp, out = _pad(x, window, strides, (1,) * len(window), padding, np.nan)
    y = np.zeros((x.shape[0], *out, x.shape[-1]))
    for position in itertools.product(*map(range, out)):
        block = xp[(slice(None),) + tuple(slice(p * s, p * s + w) for p, s, w in
                                          zip(position, strides, window))]
        block = block.reshape(x.shape[0], -1, x.shape[-1])
        y[(slice(None), *position)] = (np.nanmax if kind == "max" else np.nanmean)(block, 1)
    return y


CONV_CASES = [
    (layers.Conv2D, (2, 7, 6, 3), dict(filters=4, kernel_size=3)),
    (layers.Conv2D, (2, 7, 6, 3), dict(filters=4, kernel_size=3, strides=2, padding="same")),
    (layers.Conv2D, (1, 8, 7, 2), dict(filters=2, kernel_size=(2, 3), dilation_rate=2)),
    (layers.Conv2D, (1, 5, 5, 2), dict(filters=3, kernel_size=4, padding="same")),
    (layers.Conv1D, (2, 9, 3), dict(filters=5, kernel_size=3, padding="same", strides=2)),
]


@pytest.mark.parametrize("cls,shape,options", CONV_CASES)
def test_convolution_values_and_gradients(cls, shape, options):
    layer = cls(**options, bias_initializer="random_normal")
    x = RNG.normal(size=shape).astype(np.float32)
    out = layer(x)
    k, b = layer.kernel.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)
    rank = len(shape) - 2
    strides = layer.strides
    dilation = layer.dilation_rate
    expected = reference_conv(x.astype(np.float64), k, b, strides, dilation, layer.padding)
    assert out.shape == expected.shape and out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    weights = RNG.normal(size=expected.shape)

    def loss(x64, k64):
        return np.sum(weights * reference_conv(x64, k64, b, strides, dilation, layer.padding))

    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        value = tf.reduce_sum(layer(t) * weights.astype(np.float32))
    dx, dk = tape.gradient(value, [t, layer.kernel])
    np.testing.assert_allclose(dx.numpy(), numerical_grad(loss, [x, k], 0), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(dk.numpy(), numerical_grad(loss, [x, k], 1), rtol=1e-3, atol=1e-3)
    assert rank in (1, 2)


POOL_CASES = [
    (layers.MaxPooling2D, (2, 6, 7, 3), dict(), "max"),
    (layers.MaxPooling2D, (2, 6, 7, 3), dict(pool_size=3, strides=2, padding="same"), "max"),
    (layers.AveragePooling2D, (2, 5, 7, 2), dict(pool_size=3, strides=2, padding="same"),
     "mean"),
    (layers.AveragePooling2D, (1, 6, 6, 2), dict(pool_size=(2, 3)), "mean"),
    (layers.MaxPooling1D, (2, 9, 3), dict(pool_size=2, padding="same"), "max"),
    (layers.AveragePooling1D, (2, 9, 3), dict(pool_size=4, strides=3), "mean"),
]


@pytest.mark.parametrize("cls,shape,options,kind", POOL_CASES)
def test_pooling_values_and_gradients(cls, shape, options, kind):
    layer = cls(**options)
    x = RNG.permutation(np.arange(np.prod(shape))).reshape(shape).astype(np.float32) / 10
    expected = reference_pool(x.astype(np.float64), layer.pool_size, layer.strides,
                              layer.padding, kind)
    out = layer(x)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    weights = RNG.normal(size=expected.shape)
    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        value = tf.reduce_sum(layer(t) * weights.astype(np.float32))
    dx = tape.gradient(value, t)

    def loss(x64):
        return np.sum(weights * reference_pool(x64, layer.pool_size, layer.strides,
                                               layer.padding, kind))

    # (distinct entries: no ties, so the max is differentiable)
    np.testing.assert_allclose(dx.numpy(), numerical_grad(loss, [x]), rtol=1e-4, atol=1e-5)


def test_global_pooling_and_a_small_convnet_trains():
    x = RNG.normal(size=(3, 4, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(layers.GlobalAveragePooling2D()(x).numpy(), x.mean(axis=(1, 2)),
                               rtol=1e-5)
    np.testing.assert_allclose(layers.GlobalMaxPooling1D()(x[:, 0]).numpy(), x[:, 0].max(1))
    assert layers.GlobalAveragePooling1D(keepdims=True)(x[:, 0]).shape == (3, 1, 2)
    model = tf.keras.Sequential([
        tf.keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(4, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(2),
    ])
    assert [tuple(layer._output_shape)[1:] for layer in model.layers] == [
        (8, 8, 4), (4, 4, 4), (64,), (2,)]
    images = RNG.normal(size=(16, 8, 8, 1)).astype(np.float32)
    labels = (images[:, :4].sum(axis=(1, 2, 3)) > images[:, 4:].sum(axis=(1, 2, 3))).astype(int)
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    history = model.fit(images, labels, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    with pytest.raises(ValueError, match="expected ndim=4"):
        layers.Conv2D(2, 3)(x[:, 0])


def test_layer_names_are_keras_snake_case():
    # Keras's to_snake_case: conv2d, max_pooling2d, global_average_pooling1d, re_lu
    names = [layers.Conv2D(1, 1).name, layers.MaxPooling2D().name,
             layers.GlobalAveragePooling1D().name, layers.ReLU().name]
    stems = [name.rsplit("_", 1)[0] if name[-1].isdigit() and "_" in name and
             name.rsplit("_", 1)[1].isdigit() else name for name in names]
    assert stems == ["conv2d", "max_pooling2d", "global_average_pooling1d", "re_lu"]
