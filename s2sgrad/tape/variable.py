"""Variables: named, mutable tensors that tapes watch when they are read.

A :class:`Variable` holds a NumPy value that ``assign`` / ``assign_add`` /
``assign_sub`` replace (never mutate in place). Used in an operation while
a tape records, it is *read*: the tape sees the read-snapshot Tensor of
the current value (cached until the next assignment), which is what the
recorded program refers to -- so assigning later never changes what an
earlier recording computed, and the gradient with respect to the variable
is the sum over its snapshots.

Trainable variables are watched automatically by tapes created with
``watch_accessed_variables=True`` (the default).
"""

import itertools

import numpy as np

from s2sgrad.tape import tensor as _tensor
from s2sgrad.tape.tensor import _NUMERIC_SCALARS, Tensor, _new, _to_value

_uids = itertools.count()


class Variable(Tensor):
    """A mutable tensor: ``assign``, ``assign_add``, ``assign_sub``, ``numpy()``.

    Arithmetic, indexing and NumPy functions work on its current value and
    return Tensors. ``trainable=False`` variables are not watched unless a
    tape watches them explicitly.

    >>> import s2sgrad as sg
    >>> w = sg.Variable(1.0, name="w")
    >>> _ = w.assign_sub(0.25)
    >>> print(w.numpy())
    0.75
    """

    __slots__ = ("_snap", "_name", "_trainable", "_uid")
    _is_variable = True

    def __init__(
        self,
        initial_value=None,
        trainable=None,
        name=None,
        dtype=None,
        shape=None,
        **ignored,
    ):
        if initial_value is None:
            raise ValueError("initial_value must be specified")
        if callable(initial_value):
            initial_value = initial_value()
        value = self._convert(initial_value, dtype)
        if type(value) is np.ndarray:
            value = value.copy()
        if shape is not None and tuple(shape) != value.shape:
            raise ValueError(
                f"shape {tuple(shape)} does not match the initial value's shape {value.shape}"
            )
        self._value = value
        self._snap = None
        self._name = "Variable" if name is None else str(name)
        self._trainable = True if trainable is None else bool(trainable)
        self._uid = next(_uids)

    #: converts an initial or assigned value (the tf flavour overrides it).
    _convert = staticmethod(_to_value)

    @property
    def name(self):
        return self._name

    @property
    def trainable(self):
        return self._trainable

    def _read(self):
        """The Tensor snapshot of the current value (one per assignment)."""
        s = self._snap
        if s is None:
            s = _new(self._result_type)
            s._value = self._value
            self._snap = s
        return s

    def read_value(self):
        """The current value as a Tensor; reading it inside a tape watches it."""
        s = self._read()
        for tape in _tensor._local.active:
            tape._read_variable(self)
        return s

    value = read_value

    def _set(self, value):
        v = self._value
        if type(value) is type(v) and type(v) in _NUMERIC_SCALARS:
            # same fixed-size scalar type: same dtype, shape ()
            self._value = value
            self._snap = None
            return
        if value.dtype != v.dtype:
            value = value.astype(v.dtype)
        if value.shape != v.shape:
            raise ValueError(
                f"cannot assign a value of shape {value.shape} to variable "
                f"{self._name!r} of shape {v.shape}"
            )
        if type(value) is np.ndarray:
            if value.ndim == 0:
                value = value[()]
        self._value = value
        self._snap = None

    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Replace the value (same shape; converted to the variable's dtype)."""
        if isinstance(value, Tensor):
            value = value._value
        elif not isinstance(value, np.generic):
            value = np.array(value, dtype=self._value.dtype)
        self._set(value)
        return self

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        """``self = self + delta``."""
        if isinstance(delta, Tensor):
            delta = delta._value
        self._set(_numpy(self._value + delta))
        return self

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        """``self = self - delta``."""
        if isinstance(delta, Tensor):
            delta = delta._value
        self._set(_numpy(self._value - delta))
        return self

    def __repr__(self):
        prefix = type(self).__name__ + "("
        body = np.array2string(np.asarray(self._value), separator=", ", prefix=prefix)
        return f"{prefix}{body}, dtype={self.dtype}, name={self._name!r})"

    __str__ = __repr__


Variable._result_type = Tensor


def _numpy(value):
    if isinstance(value, (np.ndarray, np.generic)):
        return value
    return np.asarray(value)[()]
