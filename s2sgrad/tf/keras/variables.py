"""Keras 3's variables (what ``add_weight`` and a metric's ``add_variable`` make)."""

import numpy as _np

from s2sgrad.tf._types import ResourceVariable as _ResourceVariable
from s2sgrad.tf._types import tf_constant as _tf_constant


class Variable(_ResourceVariable):
    """A Keras 3 weight (``add_weight``): ``name`` is the weight's own name
    (``kernel``), ``path`` the layers' path to it (``dense/kernel``), and it
    prints as Keras 3 prints its variables, ``<Variable path=dense/kernel,
    shape=(3, 2), dtype=float32, value=[...]>``; otherwise a ``tf.Variable``."""

    __slots__ = ()

    @property
    def name(self):
        return self._name.rsplit("/", 1)[-1]

    @property
    def path(self):
        return self._name

    @property
    def value(self):
        """The current value, as a tensor (Keras 3: a property)."""
        return _tf_constant(self._value)

    def __repr__(self):
        return (f"<Variable path={self.path}, shape={tuple(self._value.shape)}, "
                f"dtype={self._value.dtype.name}, value={_np.asarray(self._value)}>")

    __str__ = __repr__
