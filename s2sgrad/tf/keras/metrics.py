"""``tf.keras.metrics``: running means of losses and accuracies.

A metric keeps its state in non-trainable float32 variables (``total`` and
``count``): ``update_state(...)`` adds to them, ``result()`` is the float32
tensor ``total / count`` (0 before any update, Keras's ``divide_no_nan``),
``reset_state()`` (also ``reset_states``) starts again, and calling the
metric updates it and returns the result. Updates read values, never
record them: a metric updated inside a ``tf.GradientTape`` adds nothing to
the tape. Accuracies follow Keras's definitions (``sparse_categorical``:
the argmax of the predictions equals the integer label, a trailing label
axis of size 1 squeezed).
"""

import numpy as _np

from s2sgrad.tf._module import camel_to_snake as _camel_to_snake
from s2sgrad.tf._types import missing_names as _missing_names
from s2sgrad.tf._types import tf_constant as _tf_constant
from s2sgrad.tf._types import tf_value as _tf_value
from s2sgrad.tf.keras import losses as _losses
from s2sgrad.tf.keras.variables import Variable as _Variable


def _array(x):
    """A value as a NumPy array with TensorFlow's conversions (not recorded)."""
    return _np.asarray(_tf_value(x.numpy() if hasattr(x, "numpy") else x))


class Metric:
    """Base class: override ``update_state`` and ``result``."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _camel_to_snake(type(self).__name__)
        self._dtype = _np.dtype(_np.float32 if dtype is None else dtype)
        self._variables = []

    @property
    def dtype(self):
        return self._dtype.name

    @property
    def variables(self):
        return list(self._variables)

    def add_variable(self, shape=(), initializer="zeros", dtype=None, name=None):
        if initializer != "zeros":
            raise ValueError(f"s2sgrad.tf's metric variables start at zeros, not {initializer!r}")
        variable = _Variable(_np.zeros(shape, dtype or self._dtype), trainable=False,
                             name="variable" if name is None else name)
        self._variables.append(variable)
        return variable

    add_weight = add_variable

    def update_state(self, *args, **kwargs):
        raise NotImplementedError

    def result(self):
        raise NotImplementedError

    def reset_state(self):
        for variable in self._variables:
            variable.assign(_np.zeros_like(variable.numpy()))

    reset_states = reset_state

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()


class Mean(Metric):
    """The (weighted) mean of every value given to ``update_state``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable(name="total")
        self.count = self.add_variable(name="count")

    def update_state(self, values, sample_weight=None):
        values = _array(values).astype(self._dtype)
        if sample_weight is None:
            self.total.assign_add(_np.sum(values, dtype=self._dtype))
            self.count.assign_add(self._dtype.type(values.size))
            return
        weights = _array(sample_weight).astype(self._dtype)
        while weights.ndim > values.ndim and weights.shape[-1] == 1:
            weights = weights[..., 0]
        while values.ndim > weights.ndim and values.shape[-1] == 1:
            values = values[..., 0]
        weights = _np.broadcast_to(weights, values.shape)
        self.total.assign_add(_np.sum(values * weights, dtype=self._dtype))
        self.count.assign_add(_np.sum(weights, dtype=self._dtype))

    def result(self):
        total, count = self.total.numpy(), self.count.numpy()
        return _tf_constant(self._dtype.type(total / count if count else 0.0))


class Sum(Metric):
    """The (weighted) sum of every value given to ``update_state``."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name, dtype)
        self.total = self.add_variable(name="total")

    def update_state(self, values, sample_weight=None):
        values = _array(values).astype(self._dtype)
        if sample_weight is not None:
            values = values * _array(sample_weight).astype(self._dtype)
        self.total.assign_add(_np.sum(values, dtype=self._dtype))

    def result(self):
        return _tf_constant(self.total.numpy())


class MeanMetricWrapper(Mean):
    """The mean of ``fn(y_true, y_pred)`` over every sample given."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name or fn.__name__, dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        values = self._fn(_array(y_true), _array(y_pred), **self._fn_kwargs)
        super().update_state(_array(values), sample_weight)


def _squeeze_labels(y_true, y_pred):
    """Keras's ``squeeze_or_expand_dimensions``: a trailing unit axis of one dropped."""
    if y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    elif y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    return y_true, y_pred


def accuracy(y_true, y_pred):
    """1.0 where ``y_pred`` equals ``y_true`` (cast to ``y_true``'s dtype), else 0.0."""
    y_true, y_pred = _squeeze_labels(_array(y_true), _array(y_pred))
    return (y_true == y_pred.astype(y_true.dtype)).astype(_np.float32)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true, y_pred = _squeeze_labels(_array(y_true), _array(y_pred))
    predicted = (y_pred > threshold).astype(y_pred.dtype)
    return _np.mean(y_true == predicted, axis=-1, dtype=_np.float32)


def categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _array(y_true), _array(y_pred)
    return (_np.argmax(y_true, -1) == _np.argmax(y_pred, -1)).astype(_np.float32)


def sparse_categorical_accuracy(y_true, y_pred):
    y_true, y_pred = _array(y_true), _array(y_pred)
    if y_true.ndim == y_pred.ndim:
        y_true = _np.squeeze(y_true, -1)
    predicted = _np.argmax(y_pred, axis=-1).astype(y_true.dtype)
    return (y_true == predicted).astype(_np.float32)


def _wrapper(fn, default_name):
    class Wrapped(MeanMetricWrapper):
        def __init__(self, name=default_name, dtype=None, **kwargs):
            super().__init__(fn, name, dtype, **kwargs)

    return Wrapped


Accuracy = _wrapper(accuracy, "accuracy")
BinaryAccuracy = _wrapper(binary_accuracy, "binary_accuracy")
CategoricalAccuracy = _wrapper(categorical_accuracy, "categorical_accuracy")
SparseCategoricalAccuracy = _wrapper(sparse_categorical_accuracy, "sparse_categorical_accuracy")
def _squared_error(y_true, y_pred):
    return _losses.mean_squared_error(y_true, y_pred).numpy()


def _absolute_error(y_true, y_pred):
    return _losses.mean_absolute_error(y_true, y_pred).numpy()


MeanSquaredError = _wrapper(_squared_error, "mean_squared_error")
MeanAbsoluteError = _wrapper(_absolute_error, "mean_absolute_error")
for _cls, _name in ((Accuracy, "Accuracy"), (BinaryAccuracy, "BinaryAccuracy"),
                    (CategoricalAccuracy, "CategoricalAccuracy"),
                    (SparseCategoricalAccuracy, "SparseCategoricalAccuracy"),
                    (MeanSquaredError, "MeanSquaredError"),
                    (MeanAbsoluteError, "MeanAbsoluteError")):
    _cls.__name__ = _cls.__qualname__ = _name
del _cls, _name

__getattr__ = _missing_names(
    "s2sgrad.tf.keras.metrics", "metrics",
    ("Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "Mean", "MeanAbsoluteError",
     "MeanMetricWrapper", "MeanSquaredError", "Metric", "SparseCategoricalAccuracy", "Sum"))
