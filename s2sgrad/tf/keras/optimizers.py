"""``tf.keras.optimizers``: s2sgrad's optimizers with a TF-flavoured step counter."""

from s2sgrad import optimizers as _base
from s2sgrad.tf.keras import schedules  # noqa: F401  (tf.keras.optimizers.schedules)
from s2sgrad.tf._types import ResourceVariable


def _tf_flavoured(base):
    """``base`` with a step counter that prints as TensorFlow's variables do."""
    return type(base.__name__, (base,), {"__doc__": base.__doc__, "__module__": __name__,
                                         "_variable_class": ResourceVariable})


Optimizer = _tf_flavoured(_base.Optimizer)
SGD = _tf_flavoured(_base.SGD)
Adam = _tf_flavoured(_base.Adam)
AdamW = _tf_flavoured(_base.AdamW)
Adamax = _tf_flavoured(_base.Adamax)
Nadam = _tf_flavoured(_base.Nadam)
RMSprop = _tf_flavoured(_base.RMSprop)
Adagrad = _tf_flavoured(_base.Adagrad)


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "adamax": Adamax, "nadam": Nadam,
            "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer from its name (``"adam"``) or the optimizer itself."""
    if isinstance(identifier, _base.Optimizer):
        return identifier
    try:
        return _BY_NAME[str(identifier).lower()]()
    except KeyError:
        raise ValueError(f"Could not interpret optimizer identifier: {identifier}") from None
