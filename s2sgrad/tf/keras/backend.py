"""``tf.keras.backend``: the session reset (layer names start again) and Keras's defaults."""

from s2sgrad.tf.keras import layers as _layers


def clear_session():
    """Forget the layer names given so far: the next Dense is ``dense`` again."""
    _layers._reset_names()


def floatx():
    return "float32"


def epsilon():
    return 1e-7
