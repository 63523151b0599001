"""``tf.keras.utils``: ``to_categorical`` and ``set_random_seed``."""

import random as _python_random

import numpy as _np

from s2sgrad.tf import random as _random


def to_categorical(x, num_classes=None):
    """One-hot rows (float32) of integer labels ``x``; a trailing axis of 1 is dropped."""
    labels = _np.asarray(x.numpy() if hasattr(x, "numpy") else x).astype(_np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    return (labels[..., None] == _np.arange(num_classes)).astype(_np.float32)


def set_random_seed(seed):
    """Seed Python's, NumPy's and ``tf.random``'s generators."""
    if not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    _python_random.seed(seed)
    _np.random.seed(seed)
    _random.set_seed(seed)
