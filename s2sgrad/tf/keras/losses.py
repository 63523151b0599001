"""``tf.keras.losses``: Keras's losses, reductions and dtype handling.

Each loss computes a per-sample value (the mean over the last axis) and
reduces it: ``"sum_over_batch_size"`` (the default: the weighted sum
divided by the number of per-sample values), ``"sum"`` or ``"none"``.
"""

import numpy as np

from s2sgrad.tf._core import cast
from s2sgrad.tf._types import as_tensor
from s2sgrad.tf import nn as _nn

_EPSILON = 1e-7


def _prepare(y_true, y_pred):
    """y_pred as a float tensor, y_true cast to its dtype, ranks matched."""
    y_pred = as_tensor(y_pred)
    if y_pred.dtype.kind not in "fc":
        y_pred = cast(y_pred, np.float32)
    y_true = cast(as_tensor(y_true), y_pred.dtype)
    return _match_ranks(y_true, y_pred)


def _match_ranks(y_true, y_pred):
    """Squeeze a trailing unit axis so that (n, 1) meets (n,) as Keras does."""
    rt, rp = y_true.ndim, y_pred.ndim
    if rt == rp + 1 and y_true.shape[-1] == 1:
        y_true = np.squeeze(y_true, -1)
    elif rp == rt + 1 and y_pred.shape[-1] == 1:
        y_pred = np.squeeze(y_pred, -1)
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    return np.mean(np.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    return np.mean(np.abs(y_pred - y_true), axis=-1)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _prepare(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        per_entry = _nn.sigmoid_cross_entropy_with_logits(labels=y_true, logits=y_pred)
    else:
        p = np.clip(y_pred, _EPSILON, 1.0 - _EPSILON)
        per_entry = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
    return np.mean(per_entry, axis=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_pred = as_tensor(y_pred)
    y_true = cast(as_tensor(y_true), y_pred.dtype)
    if label_smoothing:
        n = y_pred.shape[axis]
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / n
    if from_logits:
        return _nn.softmax_cross_entropy_with_logits(y_true, y_pred, axis=axis)
    p = y_pred / np.sum(y_pred, axis=axis, keepdims=True)
    p = np.clip(p, _EPSILON, 1.0 - _EPSILON)
    return -np.sum(y_true * np.log(p), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1):
    y_pred = as_tensor(y_pred)
    labels = np.asarray(as_tensor(y_true).numpy()).astype(np.int64)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels[..., 0]
    logits = y_pred if from_logits else np.log(np.clip(y_pred, _EPSILON, 1.0 - _EPSILON))
    return _nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)


def huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _prepare(y_true, y_pred)
    error = np.abs(y_pred - y_true)
    quadratic = np.minimum(error, delta)
    return np.mean(0.5 * quadratic * quadratic + delta * (error - quadratic), axis=-1)


def kl_divergence(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true = np.clip(y_true, _EPSILON, 1.0)
    y_pred = np.clip(y_pred, _EPSILON, 1.0)
    return np.sum(y_true * np.log(y_true / y_pred), axis=-1)


def hinge(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    values = np.asarray(y_true.numpy() if hasattr(y_true, "numpy") else y_true)
    if np.all((values == 0) | (values == 1)):
        y_true = 2.0 * y_true - 1.0  # (Keras maps 0/1 labels to -1/1)
    return np.mean(np.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def log_cosh(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    x = y_pred - y_true
    return np.mean(x + np.logaddexp(0.0, -2.0 * x) - np.log(2.0).astype(np.float32), axis=-1)


def poisson(y_true, y_pred):
    y_true, y_pred = _prepare(y_true, y_pred)
    return np.mean(y_pred - y_true * np.log(y_pred + _EPSILON), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    y_true, y_pred = _prepare(y_true, y_pred)

    def unit(x):
        return x / np.sqrt(np.maximum(np.sum(x * x, axis=axis, keepdims=True), 1e-12))

    return -np.sum(unit(y_true) * unit(y_pred), axis=axis)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh


class Loss:
    """A loss function object: ``loss(y_true, y_pred, sample_weight=None)``."""

    def __init__(self, reduction="sum_over_batch_size", name=None, **kwargs):
        if reduction in ("auto", None):
            reduction = "sum_over_batch_size"
        if reduction not in ("sum_over_batch_size", "sum", "none", "mean"):
            raise ValueError(f"Invalid value for argument `reduction`: {reduction!r}")
        self.reduction = reduction
        self.name = name or type(self).__name__
        self._kwargs = kwargs

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        losses = self.call(y_true, y_pred)
        if sample_weight is not None:
            weight = cast(as_tensor(sample_weight), losses.dtype)
            if weight.ndim > losses.ndim and weight.shape[-1] == 1:
                weight = np.squeeze(weight, -1)
            losses = losses * weight
        if self.reduction == "none":
            return losses
        total = np.sum(losses)
        if self.reduction == "sum":
            return total
        return total / np.asarray(max(losses.size, 1), dtype=losses.dtype)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, **self._kwargs}


class MeanSquaredError(Loss):
    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error"):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        return mean_squared_error(y_true, y_pred)


class MeanAbsoluteError(Loss):
    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error"):
        super().__init__(reduction, name)

    def call(self, y_true, y_pred):
        return mean_absolute_error(y_true, y_pred)


class BinaryCrossentropy(Loss):
    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="binary_crossentropy",
    ):
        super().__init__(
            reduction, name, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis
        )

    def call(self, y_true, y_pred):
        return binary_crossentropy(y_true, y_pred, **self._kwargs)


class CategoricalCrossentropy(Loss):
    def __init__(
        self,
        from_logits=False,
        label_smoothing=0.0,
        axis=-1,
        reduction="sum_over_batch_size",
        name="categorical_crossentropy",
    ):
        super().__init__(
            reduction, name, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis
        )

    def call(self, y_true, y_pred):
        return categorical_crossentropy(y_true, y_pred, **self._kwargs)


class SparseCategoricalCrossentropy(Loss):
    def __init__(
        self,
        from_logits=False,
        ignore_class=None,
        reduction="sum_over_batch_size",
        name="sparse_categorical_crossentropy",
    ):
        if ignore_class is not None:
            raise NotImplementedError("ignore_class is not supported")
        super().__init__(reduction, name, from_logits=from_logits)

    def call(self, y_true, y_pred):
        return sparse_categorical_crossentropy(y_true, y_pred, **self._kwargs)


def _loss_class(name, fn, default_name, **defaults):
    def __init__(self, reduction="sum_over_batch_size", name=default_name, **kwargs):
        unknown = set(kwargs) - set(defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected arguments {sorted(unknown)}")
        Loss.__init__(self, reduction, name, **{**defaults, **kwargs})

    def call(self, y_true, y_pred):
        return fn(y_true, y_pred, **self._kwargs)

    return type(name, (Loss,), {"__init__": __init__, "call": call,
                                "__doc__": f"The ``{default_name}`` loss as an object."})


Huber = _loss_class("Huber", huber, "huber_loss", delta=1.0)
KLDivergence = _loss_class("KLDivergence", kl_divergence, "kl_divergence")
Hinge = _loss_class("Hinge", hinge, "hinge")
LogCosh = _loss_class("LogCosh", log_cosh, "log_cosh")
Poisson = _loss_class("Poisson", poisson, "poisson")
CosineSimilarity = _loss_class("CosineSimilarity", cosine_similarity, "cosine_similarity", axis=-1)
