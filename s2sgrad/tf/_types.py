"""The TensorFlow flavour of Tensor and Variable: TF's dtype defaults and printing.

The classes only change conversion and text: a ``EagerTensor`` records and
differentiates exactly like a :class:`~s2sgrad.tape.tensor.Tensor`, and
results of operations on TF-flavoured values are TF-flavoured.
"""

import dis
import operator
import pprint
import sys
import threading

import numpy as np

from s2sgrad.tape.escape import called_from_s2sgrad
from s2sgrad.tape.tensor import Tensor, _binary, _local, _new, _to_value, _unwrap, note_escape
from s2sgrad.tape.variable import Variable

_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)


_STRING = np.dtype(object)


def _text_value(v):
    """A tensor's value for its texts (one string from an indexed array: 0-d)."""
    return np.array(v, dtype=_STRING) if isinstance(v, bytes) else v


def _as_bytes(v):
    """Text as TensorFlow's strings: an object array of ``bytes`` (UTF-8; 0-d
    for one string, whose ``numpy()`` is the ``bytes``)."""
    encode = (lambda e: e.encode("utf-8")) if v.dtype.kind == "U" else bytes
    out = np.empty(v.shape, _STRING)
    for index, item in np.ndenumerate(v):
        out[index] = encode(item)
    return out


def tf_value(value, dtype=None):
    """``value`` as a NumPy value with TensorFlow's defaults.

    Python floats (and lists of them) become float32 and Python ints int32,
    as ``tf.constant`` does; NumPy values and tensors keep their dtype; text
    becomes bytes (``tf.string``: an object array of them), as TensorFlow
    keeps it.
    """
    if isinstance(value, (str, bytes)) or (dtype is not None and np.dtype(dtype) == _STRING):
        return _as_bytes(np.asarray(value))
    if isinstance(value, np.ndarray) and value.dtype == _STRING:
        return value
    if dtype is not None:
        return _to_value(value, np.dtype(dtype))
    if isinstance(value, Tensor):
        return value._value
    if isinstance(value, (np.ndarray, np.generic)):
        return _to_value(value)
    try:
        v = np.asarray(value)
    except ValueError:
        if isinstance(value, (list, tuple)):  # (NumPy refuses a ragged sequence)
            raise ValueError("Can't convert non-rectangular Python sequence to Tensor.") from None
        raise
    if v.dtype == _FLOAT64:
        v = v.astype(np.float32)
    elif v.dtype == _INT64:
        v = v.astype(np.int32)
    elif v.dtype.kind in "US":
        return _as_bytes(v)
    return v[()] if v.ndim == 0 else v


class DType:
    """A TensorFlow dtype: prints as TF's (``str`` ``<dtype: 'float32'>``,
    ``repr`` ``tf.float32``) and is equal to, hashes as, and converts to (via
    its ``dtype`` attribute, which NumPy reads) the NumPy dtype it names."""

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    @property
    def name(self):
        return "string" if self.dtype.kind in "USO" else self.dtype.name

    @property
    def as_numpy_dtype(self):
        return self.dtype.type

    @property
    def is_floating(self):
        return self.dtype.kind == "f"

    @property
    def is_integer(self):
        return self.dtype.kind in "iu"

    @property
    def is_complex(self):
        return self.dtype.kind == "c"

    @property
    def is_bool(self):
        return self.dtype.kind == "b"

    @property
    def size(self):
        return self.dtype.itemsize

    def __eq__(self, other):
        if isinstance(other, DType):
            return self.dtype == other.dtype
        try:
            return self.dtype == np.dtype(other)
        except TypeError:
            return False

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.dtype)

    def __getattr__(self, name):
        # the NumPy dtype's attributes (kind, itemsize, type, ...), so that a
        # tensor's dtype serves wherever a NumPy dtype is read
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.dtype, name)

    def __str__(self):
        return f"<dtype: {self.name!r}>"

    def __repr__(self):
        return f"tf.{self.name}"


_DTYPES = {}


def as_tf_dtype(dtype):
    """The ``DType`` of a NumPy dtype (one object per dtype)."""
    found = _DTYPES.get(dtype)
    if found is None:
        found = _DTYPES[dtype] = DType(dtype)
    return found


class TensorShape(tuple):
    """A shape that prints like TensorFlow's: ``(2, 3)``, ``TensorShape([2, 3])``."""

    __slots__ = ()

    def as_list(self):
        return list(self)

    @property
    def rank(self):
        return len(self)

    @property
    def ndims(self):
        return len(self)

    def num_elements(self):
        return int(np.prod(self, dtype=np.int64))

    def __repr__(self):
        return f"TensorShape({list(self)})"

    def __str__(self):
        return tuple.__repr__(self)


class _UnknownRank(TensorShape):
    """``TensorShape(None)``: a shape of unknown rank (``tf.TensorSpec(None)``)."""

    __slots__ = ()
    rank = ndims = None

    def as_list(self):
        raise ValueError("as_list() is not defined on an unknown TensorShape.")

    def __repr__(self):
        return "TensorShape(None)"

    def __str__(self):
        return "<unknown>"


_UNKNOWN_RANK = _UnknownRank()


class TensorSpec:
    """``tf.TensorSpec(shape, dtype)``: the shape (None for any length; ``shape=None``
    for any rank, as TensorFlow's) and dtype of a tensor, e.g. in a
    ``tf.function``'s ``input_signature``."""

    __slots__ = ("_shape", "_dtype", "_name")

    def __init__(self, shape, dtype=np.float32, name=None):
        self._shape = _UNKNOWN_RANK if shape is None else TensorShape(
            None if n is None else int(n) for n in shape)
        self._dtype = dtype if isinstance(dtype, DType) else DType(dtype)
        self._name = name

    @classmethod
    def from_tensor(cls, tensor, name=None):
        return cls(tensor.shape, tensor.dtype, name)

    shape = property(lambda self: self._shape)
    dtype = property(lambda self: self._dtype)
    name = property(lambda self: self._name)

    def is_compatible_with(self, spec_or_tensor):
        """Same dtype, same rank, and equal lengths where this spec gives one."""
        other = spec_or_tensor
        shape = other.shape if isinstance(other, TensorSpec) else np.shape(
            other._value if isinstance(other, Tensor) else other)
        dtype = other.dtype if isinstance(other, (TensorSpec, Tensor)) else np.asarray(other).dtype
        if self._shape is _UNKNOWN_RANK:
            return self._dtype == dtype
        return self._dtype == dtype and len(shape) == len(self._shape) and all(
            a is None or b is None or a == b for a, b in zip(self._shape, shape))

    def __eq__(self, other):
        return (isinstance(other, TensorSpec) and self._key() == other._key()
                and self._dtype == other._dtype and self._name == other._name)

    def _key(self):
        return None if self._shape is _UNKNOWN_RANK else tuple(self._shape)

    def __hash__(self):
        return hash((self._key(), self._dtype, self._name))

    def __repr__(self):
        return f"TensorSpec(shape={self._shape}, dtype={self._dtype!r}, name={self._name!r})"


def _numpy_text(value, is_repr):
    """The value part of TensorFlow's tensor texts."""
    if np.ndim(value) == 0:
        text = str(value)
    else:
        text = repr(value) if is_repr else str(value)
    if "\n" in text:
        text = "\n" + text
    return text


def _dtype_name(value):
    dtype = getattr(value, "dtype", None)
    if dtype is None or dtype.kind in "USO":
        return "string"
    return dtype.name


def true_dtype(dtype):
    """The dtype TensorFlow's ``/`` gives for operands of ``dtype``.

    Integers divide as floats: 8- and 16-bit ones as float32, wider ones as
    float64 (``math_ops.truediv``); other dtypes divide as themselves.
    """
    if dtype.kind not in "iu":
        return dtype
    return np.dtype(np.float32) if dtype.itemsize <= 2 else _FLOAT64


_SEQUENCES = (list, tuple)


def _as_true(x, dtype):
    """``x`` cast to ``dtype`` for true division if it is an integer tensor or
    array (integers have no gradient: the cast is not recorded)."""
    if isinstance(x, Tensor):
        if x._value.dtype.kind not in "iu":
            return x
        out = _new(x._result_type)
        out._value = np.asarray(x._value, dtype)[()]
        return out
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind in "iu":
        return x.astype(dtype)
    return x


def _operator(op, reflected=False):
    """A TF tensor's operator: a list or tuple operand becomes an array of the
    tensor's dtype (TF's ``convert_to_tensor(y, dtype=x.dtype)``), not float64."""
    if reflected:

        def method(self, other):
            if type(other) in _SEQUENCES:
                other = _to_value(other, self._value.dtype)
            return _binary(op, other, self, self._result_type)

    else:

        def method(self, other):
            if type(other) in _SEQUENCES:
                other = _to_value(other, self._value.dtype)
            return _binary(op, self, other, self._result_type)

    return method


def _true_division(reflected=False):
    """A TF tensor's ``/``: as :func:`_operator`, and integers divide as floats
    of :func:`true_dtype`."""

    def method(self, other):
        dtype = self._value.dtype
        if type(other) in _SEQUENCES:
            other = _to_value(other, dtype)
        a, b = (other, self) if reflected else (self, other)
        if dtype.kind in "iu":
            true = true_dtype(dtype)
            a, b = _as_true(a, true), _as_true(b, true)
        return _binary(operator.truediv, a, b, self._result_type)

    return method


#: the instructions of Python's binary operators and comparisons: ``array * t``
#: reaches a tensor's ``__array_ufunc__`` from one of them
_OPERATOR_CODES = frozenset(dis.opmap[name] for name in ("BINARY_OP", "COMPARE_OP")
                            if name in dis.opmap)
#: code object -> its instructions (``co_code`` is rebuilt on every access)
_instructions = {}


def _is_operator(frame):
    """True when ``frame`` is executing a binary operator or a comparison."""
    code = frame.f_code
    instructions = _instructions.get(code)
    if instructions is None:
        if len(_instructions) > 1000:
            _instructions.clear()
        instructions = _instructions[code] = code.co_code
    return instructions[frame.f_lasti] in _OPERATOR_CODES


#: NumPy functions on tensors as the tape records them (``np.sin(t)`` of an sg tensor)
_record_ufunc = Tensor.__array_ufunc__
_record_function = Tensor.__array_function__

#: code object -> whether it is s2sgrad's own (whose NumPy calls on tensors are recorded)
_inside = {}


def _is_inside(frame):
    if len(_inside) > 10000:
        _inside.clear()
    inside = _inside[frame.f_code] = called_from_s2sgrad(frame)
    return inside


def recorded(func, *args, **kwargs):
    """``func(*args, **kwargs)`` on tensors, recorded as ``np.<func>`` of sg
    tensors is: how the tf namespace's own ops call NumPy functions, without
    the detour through NumPy's dispatch (where the user's call of ``func``
    on a tf tensor gives a NumPy value)."""
    for a in args:
        if isinstance(a, Tensor):
            if isinstance(func, np.ufunc):
                return _record_ufunc(a, func, "__call__", *args, **kwargs)
            return _record_function(a, func, None, args, kwargs)
    return func(*args, **kwargs)


def _numpy_outside_tape(func, args, kwargs, frame):
    """``func`` called by the user on TF tensors: as in TensorFlow, on their
    NumPy values, giving NumPy values that no tape records (the tape notes
    the values leaving it, see :mod:`s2sgrad.tape.escape`)."""
    out = kwargs.get("out")
    if out is not None:
        outs = out if type(out) is tuple else (out,)
        if any(isinstance(o, Tensor) for o in outs):
            raise TypeError("a tf.Tensor is immutable: it cannot be a NumPy function's out=")
    result = func(*_unwrap(args), **{k: v._value if isinstance(v, Tensor) else v
                                     for k, v in kwargs.items()})
    if _local.active:
        name = getattr(func, "__name__", None) or type(func).__name__
        note_escape(_tensors_in(args), result, f"np.{name}", frame)
    return result


def _tensors_in(args):
    found = []
    for a in args:
        if isinstance(a, Tensor):
            found.append(a)
        elif type(a) in (list, tuple):
            found += _tensors_in(a)
    return tuple(found)


class _TFShape:
    """``shape`` as a ``TensorShape``, for tensors and variables alike; the
    operators convert Python lists as TensorFlow does; NumPy functions are
    TensorFlow's: recorded when s2sgrad's own ops (the tf namespace, Keras,
    derivative rules) call them, NumPy functions of the values, outside
    the tape, when the user does (``np.sin(t)`` is an ndarray, as in
    TensorFlow, where a tensor converts to an array; ``array * t`` is an
    operator, still the tensor's)."""

    __slots__ = ()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        frame = sys._getframe(1)
        inside = _inside.get(frame.f_code)
        if inside is None:
            inside = _is_inside(frame)
        if inside or _local.rule_depth or (
                method == "__call__" and "out" not in kwargs and _is_operator(frame)):
            return _record_ufunc(self, ufunc, method, *inputs, **kwargs)
        func = ufunc if method == "__call__" else getattr(ufunc, method)
        return _numpy_outside_tape(func, inputs, kwargs, frame)

    def __array_function__(self, func, types, args, kwargs):
        frame = sys._getframe(1)
        inside = _inside.get(frame.f_code)
        if inside is None:
            inside = _is_inside(frame)
        if inside or _local.rule_depth:
            return _record_function(self, func, types, args, kwargs)
        return _numpy_outside_tape(func, args, kwargs, frame)

    __add__, __radd__ = _operator(operator.add), _operator(operator.add, True)
    __sub__, __rsub__ = _operator(operator.sub), _operator(operator.sub, True)
    __mul__, __rmul__ = _operator(operator.mul), _operator(operator.mul, True)
    __truediv__, __rtruediv__ = _true_division(), _true_division(True)
    __pow__, __rpow__ = _operator(operator.pow), _operator(operator.pow, True)
    __matmul__ = _operator(operator.matmul)
    __rmatmul__ = _operator(operator.matmul, True)

    @property
    def shape(self):
        return TensorShape(getattr(self._value, "shape", ()))  # (an entry of strings: bytes)

    @property
    def dtype(self):
        """A ``DType`` (prints ``<dtype: 'float32'>``, equals ``np.float32``)."""
        return as_tf_dtype(getattr(self._value, "dtype", _STRING))

    def get_shape(self):
        return self.shape


class EagerTensor(_TFShape, Tensor):
    """A Tensor that converts and prints like ``tf.Tensor``."""

    __slots__ = ()

    def __init__(self, value, dtype=None):
        self._value = tf_value(value, dtype)

    def numpy(self):
        v = self._value
        if isinstance(v, bytes) or (v.dtype == _STRING and v.ndim == 0):
            return v[()] if not isinstance(v, bytes) else v
        return Tensor.numpy(self)

    def __repr__(self):
        v = _text_value(self._value)
        return (
            f"<tf.Tensor: shape={tuple(v.shape)}, dtype={_dtype_name(v)}, "
            f"numpy={_numpy_text(v, True)}>"
        )

    def __str__(self):
        v = _text_value(self._value)
        return f"tf.Tensor({_numpy_text(v, False)}, shape={tuple(v.shape)}, dtype={_dtype_name(v)})"


EagerTensor._result_type = EagerTensor


_scopes = threading.local()


def scope_prefix():
    """The current ``tf.name_scope`` path, ``"outer/inner/"`` (``""`` outside any)."""
    return getattr(_scopes, "prefix", "")


def set_scope_prefix(prefix):
    _scopes.prefix = prefix


class ResourceVariable(_TFShape, Variable):
    """A Variable that converts and prints like ``tf.Variable``; its name is
    prefixed by the ``tf.name_scope`` it is created in, as in TensorFlow."""

    __slots__ = ()
    _convert = staticmethod(tf_value)

    def __init__(self, initial_value=None, trainable=None, name=None, dtype=None, shape=None,
                 **ignored):
        super().__init__(initial_value, trainable, name, dtype, shape)
        self._name = scope_prefix() + self._name

    @property
    def name(self):
        return f"{self._name}:0"

    def __repr__(self):
        v = self._value
        return (
            f"<tf.Variable '{self._name}:0' shape={tuple(v.shape)} "
            f"dtype={_dtype_name(v)}, numpy={_numpy_text(v, True)}>"
        )

    __str__ = __repr__


    def assign(self, value, use_locking=None, name=None, read_value=True):
        """Replace the value; as TensorFlow's, the result reads the variable
        (an ``UnreadVariable``), or is None with ``read_value=False``."""
        shape = np.shape(value._value if isinstance(value, Tensor) else value)
        if shape != np.shape(self._value):
            raise ValueError(
                f"Cannot assign value to variable ' {self.name}': Shape mismatch.The variable "
                f"shape {tuple(np.shape(self._value))}, and the assigned value shape {shape} "
                "are incompatible.")
        Variable.assign(self, value)
        return UnreadVariable(self) if read_value else None

    def assign_add(self, delta, use_locking=None, name=None, read_value=True):
        Variable.assign_add(self, delta)
        return UnreadVariable(self) if read_value else None

    def assign_sub(self, delta, use_locking=None, name=None, read_value=True):
        Variable.assign_sub(self, delta)
        return UnreadVariable(self) if read_value else None


ResourceVariable._result_type = EagerTensor


def _of_variable(name):
    """The attribute ``name`` of an ``UnreadVariable``'s variable, read and written through."""
    return property(lambda self: getattr(self._variable, name),
                    lambda self, value: setattr(self._variable, name, value))


class UnreadVariable(ResourceVariable):
    """What ``tf.Variable.assign`` returns (TensorFlow's ``_UnreadVariable``):
    the same variable under another name -- its value is the variable's
    current value, assigning it assigns the variable, and a tape reading
    it reads the variable (the gradient is the variable's)."""

    __slots__ = ("_variable",)

    _value = _of_variable("_value")
    _snap = _of_variable("_snap")
    _uid = _of_variable("_uid")
    _trainable = _of_variable("_trainable")

    def __init__(self, variable):
        self._variable = variable
        self._name = "UnreadVariable"

    @property
    def name(self):
        return self._variable.name

    def __repr__(self):
        v = self._value
        return (
            f"<tf.Variable 'UnreadVariable' shape={tuple(v.shape)} "
            f"dtype={_dtype_name(v)}, numpy={_numpy_text(v, True)}>"
        )

    __str__ = __repr__


def missing_names(namespace, kind, names, hint=""):
    """A module ``__getattr__``: a name ``namespace`` lacks is an AttributeError
    listing the ``kind`` (e.g. "layers") it has, then ``hint``."""

    def __getattr__(name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"{namespace} has no {name}: s2sgrad.tf has the {kind} {', '.join(sorted(names))}"
            f"{hint}")

    return __getattr__


def tf_constant(value, dtype=None, shape=None):
    """``tf.constant``: a EagerTensor with TensorFlow's dtype defaults."""
    v = tf_value(value, dtype)
    if shape is not None:
        shape = tuple(shape)
        if np.size(v) == 1 and np.shape(v) != shape:
            v = np.full(shape, np.reshape(v, ()), dtype=v.dtype)
        elif np.shape(v) != shape:
            v = np.reshape(v, shape)
        v = v[()] if np.ndim(v) == 0 else v
    t = _new(EagerTensor)
    t._value = v
    return t


def as_tensor(x):
    """``x`` itself if it is a Tensor or Variable, else ``tf.constant(x)``."""
    if isinstance(x, Tensor):
        return x
    return tf_constant(x)


# -- tf.print ------------------------------------------------------------------------


def format_element(x):
    """One entry as TensorFlow prints it (shortest round-trip float text)."""
    if isinstance(x, (np.floating, float)):
        return _format_float(x)
    if isinstance(x, (np.bool_, bool)):
        return "1" if x else "0"
    if isinstance(x, (np.complexfloating, complex)):
        return f"({_format_float(x.real)},{_format_float(x.imag)})"
    if isinstance(x, bytes):
        return x.decode("utf-8", "replace")
    return str(x)


def _format_float(x):
    """C's ``%.{d}g`` with d digits, d+3 (float32) or d+2 (float64) when d won't round-trip."""
    if isinstance(x, np.float32) or isinstance(x, np.float16):
        digits, more = 6, 9
        kind = np.float32
    else:
        digits, more = 15, 17
        kind = np.float64
    value = kind(x)
    if np.isnan(value):
        return "-nan" if np.signbit(value) else "nan"
    if np.isinf(value):
        return "-inf" if value < 0 else "inf"
    text = "%.*g" % (digits, float(value))
    if kind(float(text)) != value:
        text = "%.*g" % (more, float(value))
    return text


def format_tensor(value, summarize=3):
    """A tensor value as ``tf.print`` shows it: ``[1 2 ... 9]``, nested rows."""
    a = np.asarray(value)
    if a.ndim == 0:
        return format_element(a[()])
    if summarize is None or summarize < 0:
        summarize = max(a.shape)
    parts = []
    _format_dim(a, a.ndim, 0, summarize, parts)
    return "".join(parts)


def _format_dim(a, ndim, dim, summarize, out):
    """TensorFlow's ``PrintOneDimV2``: ``a`` is the sub-array at depth ``dim``."""
    if dim == ndim:
        if isinstance(a, bytes):  # (a string inside an array is quoted)
            out.append('"' + format_element(a) + '"')
        else:
            out.append(format_element(a[()]))
        return
    out.append("[")
    n = a.shape[0]
    head = min(summarize, n)
    tail_start = max(summarize, n - summarize)
    for i in range(head):
        if i > 0:
            _dim_spacing(dim, ndim, out)
        _format_dim(a[i], ndim, dim + 1, summarize, out)
    if n > 2 * summarize:
        _dim_spacing(dim, ndim, out)
        out.append("...")
    for i in range(tail_start, n):
        _dim_spacing(dim, ndim, out)
        _format_dim(a[i], ndim, dim + 1, summarize, out)
    out.append("]")


def _dim_spacing(dim, ndim, out):
    if dim == ndim - 1:
        out.append(" ")
        return
    out.append("\n" * (ndim - dim - 1))
    out.append(" " * (dim + 1))


def format_for_print(x, summarize=3):
    """One ``tf.print`` input as TensorFlow renders it.

    A string is printed as it is; anything else is rendered with
    ``pprint.pformat`` after replacing each tensor in it by a placeholder,
    which is then replaced by the tensor's text (TensorFlow's recipe), so
    a tuple of scalars prints as ``(-2, 1)`` and Python values as their repr.
    """
    if isinstance(x, str):
        return x
    texts = {}

    def placeholder(leaf):
        if isinstance(leaf, Tensor):
            token = f"__s2sgrad_tensor_{len(texts)}__"
            texts[token] = format_tensor(leaf._value, summarize)
            return token
        if isinstance(leaf, (list, tuple)):
            items = [placeholder(i) for i in leaf]
            if hasattr(leaf, "_fields"):
                return type(leaf)(*items)
            return type(leaf)(items) if type(leaf) in (list, tuple) else items
        if isinstance(leaf, dict):
            return {k: placeholder(v) for k, v in leaf.items()}
        return leaf

    template = pprint.pformat(placeholder(x))
    for token, text in texts.items():
        template = template.replace(f"'{token}'", text, 1)
    return template


def tf_print(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None):
    """``tf.print``: tensors formatted as TensorFlow does, to stderr by default."""
    text = sep.join(format_for_print(x, summarize) for x in inputs) + end
    if output_stream is None:
        output_stream = sys.stderr
    if isinstance(output_stream, str):
        if output_stream.startswith("file://"):
            with open(output_stream[len("file://"):], "a") as f:
                f.write(text)
            return None
        raise ValueError(f"unsupported output_stream {output_stream!r}")
    sys.stdout.flush()
    output_stream.write(text)
    output_stream.flush()
    return None
