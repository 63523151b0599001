"""``tf.keras.activations``."""

from s2sgrad.tf._core import sigmoid, tanh  # noqa: F401
from s2sgrad.tf.nn import elu, leaky_relu, relu, silu, softmax, softplus, swish  # noqa: F401


def linear(x):
    return x
