"""``tf.io``: ``decode_raw`` (a string's bytes as numbers)."""

import numpy as _np

from s2sgrad.tf._types import as_tensor as _as_tensor
from s2sgrad.tf._types import missing_names as _missing_names
from s2sgrad.tf._types import tf_constant as _tf_constant


def decode_raw(input_bytes, out_type, little_endian=True, fixed_length=None, name=None):
    """The bytes of each string read as ``out_type`` numbers (one string: a vector)."""
    value = _np.asarray(_as_tensor(input_bytes)._value)
    dtype = _np.dtype(out_type).newbyteorder("<" if little_endian else ">")
    rows = [_np.frombuffer(item, dtype).astype(_np.dtype(out_type)) for item in value.reshape(-1)]
    if value.ndim == 0:
        return _tf_constant(rows[0])
    return _tf_constant(_np.stack(rows).reshape(value.shape + (-1,)))


__getattr__ = _missing_names("s2sgrad.tf.io", "io ops", ("decode_raw",))
