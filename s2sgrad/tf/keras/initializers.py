"""``tf.keras.initializers``: the initializers Keras layers take by name.

An initializer is called with a shape (and dtype) and returns a tensor.
Unseeded ones draw from ``tf.random``'s global stream (reproducible after
``tf.random.set_seed``); a seeded one gives the same values on every call,
as Keras's do. The numbers are not TensorFlow's (see ``tf.random``); the
distributions and their scales are Keras's.
"""

import numpy as _np

from s2sgrad.tf import random as _random
from s2sgrad.tf._module import camel_to_snake as _camel_to_snake
from s2sgrad.tf._types import tf_constant as _tf_constant


def _fans(shape):
    """Keras's ``compute_fans``: (fan_in, fan_out) of a kernel shape."""
    shape = tuple(int(s) for s in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(_np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: ``initializer(shape, dtype=None)`` returns a tensor."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError

    def get_config(self):
        return {}


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _rng(self):
        if self.seed is None:
            return _random._rng(None)
        return _np.random.default_rng(int(self.seed))

    def __call__(self, shape, dtype=None):
        dtype = _np.float32 if dtype is None else _np.dtype(dtype)
        return _tf_constant(_np.asarray(self._sample(self._rng(), tuple(shape))).astype(dtype))

    def get_config(self):
        return {"seed": self.seed}


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return _tf_constant(_np.zeros(tuple(shape), _np.float32 if dtype is None else dtype))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return _tf_constant(_np.ones(tuple(shape), _np.float32 if dtype is None else dtype))


class Constant(Initializer):
    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        dtype = _np.float32 if dtype is None else dtype
        return _tf_constant(_np.full(tuple(shape), self.value, dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def _sample(self, rng, shape):
        return rng.normal(self.mean, self.stddev, size=shape)


class RandomUniform(_Random):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def _sample(self, rng, shape):
        return rng.uniform(self.minval, self.maxval, size=shape)


class TruncatedNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def _sample(self, rng, shape):
        return self.mean + _random._truncated(rng, shape) * self.stddev


class VarianceScaling(_Random):
    """Samples of variance ``scale / n``, ``n`` the fan ``mode`` names."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode!r}")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}")
        super().__init__(seed)
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def _sample(self, rng, shape):
        fan_in, fan_out = _fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = _np.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, size=shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, _np.sqrt(variance), size=shape)
        # the standard deviation of a unit normal truncated to [-2, 2]
        return _random._truncated(rng, shape) * (_np.sqrt(variance) / 0.87962566103423978)


class GlorotUniform(VarianceScaling):
    """Uniform in ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))``."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)


class HeUniform(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)


class LecunNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_in", "truncated_normal", seed)


class Orthogonal(_Random):
    """A random orthogonal matrix (of the last axis against the others), times
    ``gain``: the Q of a normal sample's QR decomposition, signs fixed by R's
    diagonal (Keras's recurrent kernels' default)."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def _sample(self, rng, shape):
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        rows = int(_np.prod(shape[:-1]))
        cols = shape[-1]
        flat = rng.normal(size=(max(rows, cols), min(rows, cols)))
        q, r = _np.linalg.qr(flat)
        q = q * _np.sign(_np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)


zeros, ones, constant = Zeros, Ones, Constant
orthogonal = Orthogonal
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_normal, he_uniform, lecun_normal = HeNormal, HeUniform, LecunNormal

_BY_NAME = {
    "zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
    "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform,
    "glorot_normal": GlorotNormal, "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "uniform": RandomUniform, "normal": RandomNormal,
    "orthogonal": Orthogonal,
}


def get(identifier):
    """An initializer from its name (``"glorot_uniform"``), class, or itself."""
    if identifier is None or isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if isinstance(identifier, str):
        key = identifier.lower()
        cls = _BY_NAME.get(key) or _BY_NAME.get(_camel_to_snake(identifier))
        if cls is not None:
            return cls()
    if callable(identifier):
        return identifier
    raise ValueError(
        f"Could not interpret initializer identifier: {identifier!r} (s2sgrad.tf knows "
        f"{', '.join(sorted(_BY_NAME))})")

