"""``tf.keras.optimizers``: s2sgrad's optimizers with a TF-flavoured step counter."""

from s2sgrad import optimizers as _base
from s2sgrad.tf._types import ResourceVariable


class Optimizer(_base.Optimizer):
    _variable_class = ResourceVariable


class SGD(_base.SGD):
    __doc__ = _base.SGD.__doc__
    _variable_class = ResourceVariable


class Adam(_base.Adam):
    __doc__ = _base.Adam.__doc__
    _variable_class = ResourceVariable


class RMSprop(_base.RMSprop):
    __doc__ = _base.RMSprop.__doc__
    _variable_class = ResourceVariable


class Adagrad(_base.Adagrad):
    __doc__ = _base.Adagrad.__doc__
    _variable_class = ResourceVariable


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer from its name (``"adam"``) or the optimizer itself."""
    if isinstance(identifier, _base.Optimizer):
        return identifier
    try:
        return _BY_NAME[str(identifier).lower()]()
    except KeyError:
        raise ValueError(f"Could not interpret optimizer identifier: {identifier}") from None
