"""``tf.random``: seeded normal and uniform samples (NumPy generators).

The numbers are not TensorFlow's, but the seeding contract is: after
``set_seed(s)`` the sequence of samples is reproducible, and an op-level
``seed=`` gives a reproducible stream of its own.
"""

import numpy as _np

from s2sgrad.tf._types import tf_constant as _tf_constant

_global_seed = None
_generator = _np.random.default_rng()
_op_generators = {}


def set_seed(seed):
    """Reset the global seed: later samples repeat from program start."""
    global _global_seed, _generator
    _global_seed = int(seed)
    _generator = _np.random.default_rng(_global_seed)
    _op_generators.clear()


def _rng(seed):
    if seed is None:
        return _generator
    key = int(seed)
    rng = _op_generators.get(key)
    if rng is None:
        base = 0 if _global_seed is None else _global_seed
        rng = _op_generators[key] = _np.random.default_rng([base, key])
    return rng


def _shape(shape):
    if hasattr(shape, "numpy"):
        shape = shape.numpy()
    return tuple(int(s) for s in _np.asarray(shape).reshape(-1)) if _np.ndim(shape) else (int(shape),)


def normal(shape, mean=0.0, stddev=1.0, dtype=_np.float32, seed=None, name=None):
    sample = _rng(seed).normal(size=_shape(shape))
    return _tf_constant((sample * stddev + mean).astype(dtype))


def _truncated(rng, shape):
    """Unit normal samples, those beyond two standard deviations drawn again."""
    sample = rng.normal(size=shape)
    bad = _np.abs(sample) > 2
    while bad.any():
        sample[bad] = rng.normal(size=int(bad.sum()))
        bad = _np.abs(sample) > 2
    return sample


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=_np.float32, seed=None, name=None):
    return _tf_constant((_truncated(_rng(seed), _shape(shape)) * stddev + mean).astype(dtype))


def uniform(shape, minval=0, maxval=None, dtype=_np.float32, seed=None, name=None):
    dtype = _np.dtype(dtype)
    rng = _rng(seed)
    if dtype.kind in "iu":
        if maxval is None:
            raise ValueError("Must specify maxval for integer dtype")
        return _tf_constant(rng.integers(minval, maxval, size=_shape(shape)).astype(dtype))
    if maxval is None:
        maxval = 1
    sample = rng.uniform(size=_shape(shape))
    return _tf_constant((sample * (maxval - minval) + minval).astype(dtype))


def shuffle(value, seed=None, name=None):
    v = _np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    return _tf_constant(_rng(seed).permutation(v))


def categorical(logits, num_samples, dtype=None, seed=None, name=None):
    """``num_samples`` class indices per row of ``logits`` (unnormalised log-probabilities)."""
    z = _np.asarray(logits.numpy() if hasattr(logits, "numpy") else logits, dtype=_np.float64)
    if z.ndim != 2:
        raise ValueError(f"logits should be a matrix [batch_size, num_classes], got shape {z.shape}")
    p = _np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rng = _rng(seed)
    draws = _np.stack([rng.choice(z.shape[1], size=int(num_samples), p=row) for row in p])
    return _tf_constant(draws.astype(_np.int64 if dtype is None else _np.dtype(dtype)))

