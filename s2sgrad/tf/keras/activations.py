"""``tf.keras.activations``."""

from s2sgrad.tf._core import sigmoid, tanh  # noqa: F401
from s2sgrad.tf.nn import elu, leaky_relu, relu, silu, softmax, softplus, swish  # noqa: F401


def linear(x):
    return x



_BY_NAME = {
    "elu": elu, "leaky_relu": leaky_relu, "linear": linear, "relu": relu, "sigmoid": sigmoid,
    "silu": silu, "softmax": softmax, "softplus": softplus, "swish": swish, "tanh": tanh,
}


def get(identifier):
    """An activation from its name (``"relu"``), a callable, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    try:
        return _BY_NAME[identifier]
    except (KeyError, TypeError):
        raise ValueError(
            f"Could not interpret activation function identifier: {identifier!r} "
            f"(s2sgrad.tf knows {', '.join(sorted(_BY_NAME))})") from None
