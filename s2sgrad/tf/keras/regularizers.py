"""``tf.keras.regularizers``: penalties on weights or activations, added to the loss.

``L1(l1)`` is ``l1 * sum(|x|)``, ``L2(l2)`` is ``l2 * sum(x**2)`` and
``L1L2(l1, l2)`` their sum, as Keras 3 defines them (no division by the
batch size; the defaults are 0.01, and 0 for ``L1L2``'s). A layer's
``kernel_regularizer`` / ``bias_regularizer`` (or ``add_weight``'s
``regularizer``) is evaluated each time ``layer.losses`` is read, so inside
a ``tf.GradientTape`` it is differentiated; an ``activity_regularizer`` is
applied to the layer's output at each call.
"""

import numpy as _np


class Regularizer:
    """Base class: a callable from a tensor to a scalar penalty."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        penalty = None
        if self.l1:
            penalty = _np.float32(self.l1) * _np.sum(_np.abs(x))
        if self.l2:
            term = _np.float32(self.l2) * _np.sum(_np.square(x))
            penalty = term if penalty is None else penalty + term
        return _np.float32(0.0) if penalty is None else penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01), "l1l2": L1L2}


def get(identifier):
    """A regularizer from its name (``"l2"``), a callable, or None."""
    if identifier is None or callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(f"Could not interpret regularizer identifier: {identifier!r}")
