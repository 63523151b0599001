"""``tf.image``: ``adjust_contrast``.

TensorFlow registers no gradient for ``AdjustContrastv2``; asking a tape for
one through it raises ``LookupError`` naming the op, as TensorFlow does (the
autodiff guide shows it), rather than a gradient TensorFlow would not give.
"""

import numpy as _np

from s2sgrad.tape.tape import custom_gradient as _custom_gradient
from s2sgrad.tf._core import convert_to_tensor as _convert_to_tensor
from s2sgrad.tf._types import missing_names as _missing_names


def _no_gradient(op):
    """``fn``'s result recorded as the op ``op``, whose gradient raises ``LookupError``."""

    def grad(*upstream):
        raise LookupError(f"gradient registry has no entry for: {op}")

    def wrap(fn):
        @_custom_gradient
        def recorded(*args):
            return fn(*args), grad

        return recorded

    return wrap


@_no_gradient("AdjustContrastv2")
def _adjust_contrast(images, contrast_factor):
    mean = _np.mean(images, axis=(-3, -2), keepdims=True)
    return (images - mean) * contrast_factor + mean


def adjust_contrast(images, contrast_factor):
    """``(x - mean) * contrast_factor + mean`` per channel, the mean over height and width."""
    images = _convert_to_tensor(images)
    if images.ndim < 3:
        raise ValueError(f"images must be at least three-dimensional, got shape {images.shape}")
    return _adjust_contrast(images, _convert_to_tensor(contrast_factor))


__getattr__ = _missing_names("s2sgrad.tf.image", "image ops", ("adjust_contrast",))
