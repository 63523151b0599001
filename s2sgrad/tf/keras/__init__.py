"""``tf.keras``: layers, models, losses, metrics, optimizers and initializers of
custom training loops (see :mod:`s2sgrad.tf.keras.layers`)."""

from s2sgrad.tf.keras import (  # noqa: F401
    activations, backend, callbacks, initializers, layers, losses, metrics, models, ops,
    optimizers, regularizers, saving, utils, variables)
from s2sgrad.tf.keras.layers import Input  # noqa: F401
from s2sgrad.tf.keras.models import Model, Sequential  # noqa: F401
from s2sgrad.tf.keras.variables import Variable  # noqa: F401
