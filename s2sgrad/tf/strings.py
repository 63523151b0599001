"""``tf.strings``: the string ops TensorFlow's tensor guide uses.

TensorFlow's strings are bytes: ``tf.constant("Gray wolf")`` holds
``b'Gray wolf'`` (text is encoded as UTF-8), and these ops work entry by
entry on tensors of them. Splitting gives a tensor for one string; the
split of a vector of strings (TensorFlow's ``RaggedTensor``) is an error
saying so. Strings are never differentiated.
"""

import re as _re

import numpy as _np

from s2sgrad.tf._types import as_tensor as _as_tensor
from s2sgrad.tf._types import missing_names as _missing_names
from s2sgrad.tf._types import tf_constant as _tf_constant


def _strings(x):
    value = _np.asarray(_as_tensor(x)._value)
    if value.dtype != object:
        raise TypeError(f"Input must be a string tensor, got {_as_tensor(x).dtype.name}")
    return value


def _each(fn, x, dtype=object):
    value = _strings(x)
    out = _np.empty(value.shape, dtype)
    for index, item in _np.ndenumerate(value):
        out[index] = fn(item)
    return _tf_constant(out) if dtype == object else _tf_constant(out.astype(dtype))


def _one(x, what):
    value = _strings(x)
    if value.ndim:
        raise NotImplementedError(
            f"s2sgrad.tf's tf.strings.{what} takes one string (a scalar tensor): the result for "
            "several would be a tf.RaggedTensor, which s2sgrad.tf does not have")
    return value[()]


def _bytes(sep):
    return sep.encode("utf-8") if isinstance(sep, str) else sep


def split(input, sep=None, maxsplit=-1, name=None):
    parts = _one(input, "split").split(None if sep is None else _bytes(sep), maxsplit)
    return _tf_constant(_np.array(parts, dtype=object).reshape(len(parts)))


def bytes_split(input, name=None):
    text = _one(input, "bytes_split")
    return _tf_constant(_np.array([text[i:i + 1] for i in range(len(text))],
                                  dtype=object).reshape(len(text)))


def unicode_split(input, input_encoding, errors="replace", name=None):
    text = _one(input, "unicode_split").decode(input_encoding, errors)
    return _tf_constant(_np.array([c.encode(input_encoding) for c in text],
                                  dtype=object).reshape(len(text)))


def unicode_decode(input, input_encoding, errors="replace", name=None, **kwargs):
    text = _one(input, "unicode_decode").decode(input_encoding, errors)
    return _tf_constant(_np.array([ord(c) for c in text], _np.int32))


def unicode_encode(input, output_encoding, errors="replace", name=None):
    codes = _np.asarray(_as_tensor(input)._value)
    if codes.ndim != 1:
        raise NotImplementedError("s2sgrad.tf's tf.strings.unicode_encode takes one vector of "
                                  "code points")
    return _tf_constant("".join(chr(int(c)) for c in codes).encode(output_encoding))


def to_number(string_tensor, out_type=_np.float32, name=None):
    dtype = _np.dtype(out_type)
    convert = float if dtype.kind == "f" else int
    return _each(lambda s: convert(s.decode("utf-8")), string_tensor, dtype)


def as_string(input, precision=-1, name=None, **kwargs):
    value = _np.asarray(_as_tensor(input)._value)
    out = _np.empty(value.shape, object)
    for index, item in _np.ndenumerate(value):
        if value.dtype.kind == "f":
            text = f"{item:.{precision if precision >= 0 else 6}f}"
        elif value.dtype.kind == "b":
            text = "true" if item else "false"
        else:
            text = str(item)
        out[index] = text.encode("utf-8")
    return _tf_constant(out)


def length(input, unit="BYTE", name=None):
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ValueError(f"unit must be BYTE or UTF8_CHAR, got {unit!r}")
    if unit == "BYTE":
        return _each(len, input, _np.int32)
    return _each(lambda s: len(s.decode("utf-8")), input, _np.int32)


def lower(input, encoding="", name=None):
    return _each(bytes.lower, input)


def upper(input, encoding="", name=None):
    return _each(bytes.upper, input)


def strip(input, name=None):
    return _each(bytes.strip, input)


def substr(input, pos, len, unit="BYTE", name=None):
    if unit != "BYTE":
        raise NotImplementedError("s2sgrad.tf's tf.strings.substr counts bytes (unit='BYTE')")
    return _each(lambda s: s[pos:pos + len], input)


def join(inputs, separator="", name=None):
    arrays = _np.broadcast_arrays(*[_strings(x) for x in inputs])
    out = _np.empty(arrays[0].shape, object)
    for index in _np.ndindex(out.shape):
        out[index] = _bytes(separator).join(a[index] for a in arrays)
    return _tf_constant(out)


def reduce_join(inputs, axis=None, keepdims=False, separator="", name=None):
    value = _strings(inputs)
    if axis is None:
        return _tf_constant(_np.array(_bytes(separator).join(value.reshape(-1)), dtype=object))
    moved = _np.moveaxis(value, axis, -1)
    out = _np.empty(moved.shape[:-1], object)
    for index in _np.ndindex(out.shape):
        out[index] = _bytes(separator).join(moved[index])
    if keepdims:
        out = _np.expand_dims(out, axis)
    return _tf_constant(out)


def regex_full_match(input, pattern, name=None):
    compiled = _re.compile(_bytes(pattern))
    return _each(lambda s: compiled.fullmatch(s) is not None, input, _np.bool_)


__getattr__ = _missing_names(
    "s2sgrad.tf.strings", "string ops",
    ("as_string", "bytes_split", "join", "length", "lower", "reduce_join", "regex_full_match",
     "split", "strip", "substr", "to_number", "unicode_decode", "unicode_encode",
     "unicode_split", "upper"))
