"""``tf.nn``: activations and cross-entropies, built from recorded NumPy ops."""

import numpy as np

from s2sgrad.tape.tensor import stop_gradient as _stop_gradient
from s2sgrad.tf._core import _lowers_to, _negative_magnitude
from s2sgrad.tf._types import as_tensor as _as_tensor
from s2sgrad.tf._core import log_sigmoid, sigmoid, softplus, tanh  # noqa: F401


@_lowers_to(template="np.where({0} > 0, {0}, 0)")
def relu(features, name=None):
    """``max(x, 0)`` with derivative 0 at 0, as TensorFlow's."""
    x = _as_tensor(features)
    return np.where(x > 0, x, 0)


def relu6(features, name=None):
    x = _as_tensor(features)
    return np.where(x > 6, 6, np.where(x > 0, x, 0))


def leaky_relu(features, alpha=0.2, name=None):
    x = _as_tensor(features)
    return np.where(x > 0, x, alpha * x)


@_lowers_to(template="np.where({0} > 0, {0}, np.expm1(np.minimum({0}, 0)))")
def elu(features, name=None):
    x = _as_tensor(features)
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


def silu(features, beta=1.0):
    x = _as_tensor(features)
    return x * sigmoid(beta * x)


swish = silu


def log_softmax(logits, axis=-1, name=None):
    x = _as_tensor(logits)
    shifted = x - np.max(_stop_gradient(x), axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(logits, axis=-1, name=None):
    x = _as_tensor(logits)
    e = np.exp(x - np.max(_stop_gradient(x), axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def l2_loss(t, name=None):
    t = _as_tensor(t)
    return np.sum(t * t) / 2


def bias_add(value, bias, data_format=None, name=None):
    return _as_tensor(value) + bias


def sigmoid_cross_entropy_with_logits(labels=None, logits=None, name=None):
    """``max(x, 0) - x * z + log(1 + exp(-|x|))``: stable for any logits, with
    ``-|x|`` taking its slope from the side ``max(x, 0)`` does not, so the
    gradient at ``x = 0`` is ``sigmoid(0) - z`` (as TensorFlow's, which selects
    both with ``x >= 0``)."""
    x = _as_tensor(logits)
    z = _as_tensor(labels)
    return np.where(x > 0, x, 0) - x * z + np.log1p(np.exp(_negative_magnitude(x)))


def softmax_cross_entropy_with_logits(labels, logits, axis=-1, name=None):
    return -np.sum(_as_tensor(labels) * log_softmax(logits, axis=axis), axis=axis)


def sparse_softmax_cross_entropy_with_logits(labels=None, logits=None, name=None):
    logp = log_softmax(logits, axis=-1)
    labels = np.asarray(labels._value if hasattr(labels, "_value") else labels)
    hot = labels[..., None] == np.arange(logp.shape[-1])
    return -np.sum(np.where(hot, logp, 0), axis=-1)


def moments(x, axes, shift=None, keepdims=False, name=None):
    x = _as_tensor(x)
    axes = tuple(axes)
    mean = np.mean(x, axis=axes, keepdims=True)
    variance = np.mean(np.square(x - _stop_gradient(mean)), axis=axes, keepdims=True)
    if not keepdims:
        mean = np.squeeze(mean, axis=axes)
        variance = np.squeeze(variance, axis=axes)
    return mean, variance


from s2sgrad.tf._ops import (  # noqa: F401,E402
    batch_normalization, dropout, embedding_lookup, gelu, l2_normalize, selu, top_k,
    weighted_cross_entropy_with_logits)
