"""``tf.keras.layers``: the ``Layer`` base class and the layers of the training guides.

A layer is a ``tf.Module`` that builds its weights on its first call, from
the shape of what it is called with (``build(input_shape)``, run once),
and then computes ``call(inputs)``. As Keras's do:

- weights are found in the order they were assigned or made by
  ``add_weight`` (a layer's own first, then its sublayers', in attribute
  order), ``trainable_weights`` / ``non_trainable_weights`` / ``weights``
  and their ``*_variables`` aliases are lists, ``layer.trainable = False``
  freezes the layer and its sublayers;
- floating inputs are cast to the layer's dtype (float32), NumPy arrays and
  lists converted first;
- ``training=`` given to an outer layer or model reaches the inner layers
  whose ``call`` takes it (``Dropout``, ``BatchNormalization``);
- names are unique per class (``dense``, ``dense_1``, ...) and variables are
  named in the layer's name scope (``dense/kernel:0``, Keras 2's names).

- called on a :class:`KerasTensor` (``tf.keras.Input``), a layer is built
  and returns KerasTensors: a step of a functional model's graph;
- ``losses`` holds the ``add_loss`` values of the last call (cleared when
  the outermost layer is called again) and the weight regularizers'
  penalties.

Only what TensorFlow's guides use is here; another layer name is an
``AttributeError`` saying so.
"""

import collections as _collections
import inspect as _inspect
import operator as _op
import re as _re
import threading as _threading

import numpy as _np

from s2sgrad.tf import random as _random
from s2sgrad.tf._core import cast as _cast
from s2sgrad.tf._core import convert_to_tensor as _convert_to_tensor
from s2sgrad.tf._core import concat as _concat
from s2sgrad.tf._core import gather as _gather
from s2sgrad.tf._core import maximum as _maximum
from s2sgrad.tf._core import minimum as _minimum
from s2sgrad.tf._core import reduce_mean as _reduce_mean
from s2sgrad.tf._core import sqrt as _sqrt
from s2sgrad.tf._core import stack as _stack
from s2sgrad.tf._core import reshape as _reshape
from s2sgrad.tf._core import where as _where
from s2sgrad.tf._core import stop_gradient as _stop_gradient
from s2sgrad.tf._module import Module as _Module
from s2sgrad.tf._module import name_scope as _name_scope
from s2sgrad.tf._module import nest_leaves as _nest_leaves
from s2sgrad.tf._types import EagerTensor as _EagerTensor
from s2sgrad.tf._types import ResourceVariable as _ResourceVariable
from s2sgrad.tf._types import TensorShape as _TensorShape
from s2sgrad.tf._types import as_tf_dtype as _as_tf_dtype
from s2sgrad.tf._types import missing_names as _missing_names
from s2sgrad.tf.errors import OpError as _OpError
from s2sgrad.tf.keras import activations as _activations
from s2sgrad.tf.keras import initializers as _initializers
from s2sgrad.tf.keras import regularizers as _regularizers
from s2sgrad.tf.keras.variables import Variable as _Variable

_name_counts = _collections.Counter()
_name_lock = _threading.Lock()
_context = _threading.local()
_UNSET = object()
_takes_training = {}


def _reset_names():
    with _name_lock:
        _name_counts.clear()


def _snake_case(name):
    """Keras's layer names from class names: ``MaxPooling2D`` -> ``max_pooling2d``."""
    name = _re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return _re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _unique_name(base):
    """Keras's layer names: ``dense``, then ``dense_1``, ``dense_2``, ..."""
    with _name_lock:
        n = _name_counts[base]
        _name_counts[base] += 1
    return base if n == 0 else f"{base}_{n}"


def _unsupported(what):
    """The error for a Keras feature s2sgrad.tf does not have."""
    return NotImplementedError(
        f"s2sgrad.tf does not support {what}; it has the layers, models, losses, metrics and "
        "optimizers of custom training loops written with tf.GradientTape")


class KerasTensor:
    """A symbolic tensor of a functional model: what ``tf.keras.Input(...)``
    returns and what a layer called on one returns. It has a shape (``None``
    where any length goes, the batch axis first) and a dtype, and remembers
    the layer call that made it (its ``node``); ``tf.keras.Model(inputs,
    outputs)`` replays those calls on real inputs. Python's operators on it
    (``x + y``, ``2 * x``, ``x[:, 0]``) are recorded as layer calls too."""

    def __init__(self, shape, dtype, node, index=0, name=None):
        self.shape = _TensorShape(shape)
        self.dtype = _as_tf_dtype(_np.dtype(dtype))
        self._node, self._index = node, index
        self.name = name or _unique_name("keras_tensor")

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def _keras_history(self):
        return self._node.layer, self._index

    def __repr__(self):
        return (f"<KerasTensor shape={tuple(self.shape)}, dtype={self.dtype.name}, "
                f"sparse=False, ragged=False, name={self.name}>")

    def __len__(self):
        raise TypeError("A symbolic KerasTensor has no length: call the model on data")

    def __bool__(self):
        raise TypeError("A symbolic KerasTensor cannot be used as a Python bool")

    def __array__(self, *args, **kwargs):
        raise TypeError(
            "A KerasTensor is symbolic: it cannot be converted to a NumPy array. Use it as "
            "the input of a Keras layer or of tf.keras.Model(inputs, outputs)")


def _operator_layer(name, fn, reflected=False):
    def method(self, other=_UNSET):
        operands = [self] if other is _UNSET else ([other, self] if reflected else [self, other])
        return _Operation(fn, name)(operands)

    method.__name__ = name
    return method


for _name, _fn in (("add", _op.add), ("subtract", _op.sub), ("multiply", _op.mul),
                   ("divide", _op.truediv), ("matmul", _op.matmul), ("power", _op.pow)):
    _dunder = {"subtract": "sub", "multiply": "mul", "divide": "truediv",
               "power": "pow"}.get(_name, _name)
    setattr(KerasTensor, f"__{_dunder}__", _operator_layer(_name, _fn))
    setattr(KerasTensor, f"__r{_dunder}__", _operator_layer(_name, _fn, reflected=True))
KerasTensor.__neg__ = _operator_layer("negative", _op.neg)
KerasTensor.__getitem__ = lambda self, key: _Operation(_op.getitem, "get_item", key)([self])


class _Node:
    """One layer call in a functional graph: the layer, what it was called
    with (KerasTensors among other values) and the KerasTensors it made."""

    def __init__(self, layer, args, kwargs):
        self.layer, self.args, self.kwargs = layer, args, kwargs
        self.outputs = None

    @property
    def input_tensors(self):
        return [leaf for leaf in _nest_leaves((self.args, self.kwargs))
                if isinstance(leaf, KerasTensor)]


def _map(fn, value):
    if isinstance(value, dict):
        return {k: _map(fn, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_map(fn, v) for v in value)
    return fn(value)


def _argument_text(value):
    if isinstance(value, (_EagerTensor, _ResourceVariable)):
        return f"tf.Tensor(shape={value.shape}, dtype={value.dtype.name})"
    return repr(value)


def _with_call_info(error, layer, inputs, args, kwargs):
    """``error`` as Keras 3 re-raises an error of a layer's ``call``: its message
    led by "Exception encountered when calling Dense.call()" and followed by
    the arguments, once (by the innermost failing layer). Errors of classes
    other than Python's and ``tf.errors``' (s2sgrad's own) are left as they are."""
    is_op_error = isinstance(error, _OpError)
    if getattr(error, "_keras_call_info_injected", False) or not (
            is_op_error or type(error).__module__ == "builtins"):
        return error.with_traceback(error.__traceback__)
    signature = _inspect.signature(layer.call)
    try:
        bound = signature.bind(inputs, *args, **kwargs)
    except TypeError:
        return error.with_traceback(error.__traceback__)
    lines = []
    for parameter in signature.parameters.values():
        if parameter.name in bound.arguments:
            value = _map(_argument_text, bound.arguments[parameter.name])
        else:
            value = parameter.default
        lines.append(f"  \u2022 {parameter.name}={value}")
    message = error.message if is_op_error else (error.args[0] if error.args else "")
    name = f"{type(layer).__name__}.call()"
    message = (f"Exception encountered when calling {name}.\n\n\x1b[1m{message}\x1b[0m\n\n"
               f"Arguments received by {name}:\n" + "\n".join(lines))
    if is_op_error:
        new = type(error)(error.node_def, error.op, message)
    else:
        try:
            new = type(error)(message)
        except TypeError:
            new = RuntimeError(message)
    new._keras_call_info_injected = True
    return new.with_traceback(error.__traceback__)


def _is_symbolic(value):
    return any(isinstance(leaf, KerasTensor) for leaf in _nest_leaves(value))


class InputLayer:
    """The input of a functional model (``tf.keras.Input`` makes one and returns
    its ``output``); listed in a functional model's ``layers`` as Keras lists it."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 input_shape=None, **kwargs):
        if shape is None and input_shape is not None:
            shape = input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("You must pass a `shape` argument.")
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
            batch_shape = (batch_size,) + shape
        self.name = name or _unique_name("input_layer")
        self.built, self.trainable = True, True
        self.weights = self.trainable_weights = self.non_trainable_weights = []
        self.variables = self.trainable_variables = []
        self._node = _Node(self, (), {})
        self.output = KerasTensor(tuple(batch_shape), _np.float32 if dtype is None else dtype,
                                  self._node, name=name)
        self._node.outputs = self.output
        self._output_shape = self.output.shape
        self.dtype = self.output.dtype.name

    def count_params(self):
        return 0


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None, optional=False):
    """``tf.keras.Input(shape=...)``: a symbolic input (a :class:`KerasTensor`), the
    start of a functional model or the input shape of a ``Sequential`` one."""
    if tensor is not None or sparse:
        raise _unsupported("Input(tensor=...) and sparse inputs")
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape,
                      name=name).output


def _sample(tensor, size):
    """Zeros standing for a KerasTensor, ``size`` wherever its length is free."""
    return _np.zeros(tuple(size if n is None else n for n in tensor.shape), tensor.dtype.dtype)


def _call_takes_training(cls):
    found = _takes_training.get(cls)
    if found is None:
        parameters = _inspect.signature(cls.call).parameters.values()
        found = _takes_training[cls] = any(
            p.name == "training" or p.kind is p.VAR_KEYWORD for p in parameters)
    return found


def _shape_of(inputs):
    if isinstance(inputs, (list, tuple)):
        return [_shape_of(x) for x in inputs]
    if isinstance(inputs, dict):
        return {k: _shape_of(v) for k, v in inputs.items()}
    shape = getattr(inputs, "shape", None)
    return None if shape is None else _TensorShape(shape)


class Layer(_Module):
    """``tf.keras.layers.Layer``: subclass it with ``build`` and ``call``."""

    #: floating inputs are cast to the layer's dtype (models leave that to their layers)
    _casts_inputs = True

    def __init__(self, trainable=True, name=None, dtype=None, input_shape=None,
                 batch_input_shape=None, activity_regularizer=None, **kwargs):
        for key in kwargs:
            if key not in ("dynamic", "autocast", "input_dim"):
                raise TypeError(f"Keyword argument not understood: {key!r}")
        if "input_dim" in kwargs and input_shape is None:
            input_shape = (kwargs["input_dim"],)
        self._name = name or _unique_name(_snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self._dtype = _np.dtype(_np.float32 if dtype is None else dtype)
        self._made_weights = []
        self._losses, self._regularized = [], []
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self.built = False
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            input_shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
            self._batch_input_shape = (None,) + input_shape

    # -- building and calling ---------------------------------------------------

    def build(self, input_shape):
        """Make the weights, once, from the first input's shape."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        """The layer's computation (the identity unless overridden)."""
        return inputs

    def __call__(self, inputs, *args, **kwargs):
        if _is_symbolic((inputs, args, kwargs)):
            return self._call_symbolic(inputs, args, kwargs)
        outermost = getattr(_context, "depth", 0) == 0
        if outermost:
            self._clear_losses()
        _context.depth = getattr(_context, "depth", 0) + 1
        try:
            return self._call_eagerly(inputs, args, kwargs)
        finally:
            _context.depth -= 1

    def _call_symbolic(self, inputs, args, kwargs):
        """A layer call on KerasTensors: it builds the layer (a call on zeros) and
        returns KerasTensors of the output's shape, a node of the functional graph."""
        node = _Node(self, (inputs, *args), kwargs)
        shapes = []
        for size in (2, 3):  # (a length that differs between the two runs is free: None)
            arguments = _map(lambda v: _sample(v, size) if isinstance(v, KerasTensor) else v,
                             (inputs, args, kwargs))
            # (in inference mode: a run on zeros must not move BatchNormalization's statistics)
            options = dict(arguments[2], training=False)
            outputs = self(arguments[0], *arguments[1], **options)
            shapes.append(outputs)
        self._clear_losses()
        count = iter(range(1 << 30))

        def symbolic(first, second):
            shape = tuple(a if a == b else None for a, b in zip(first.shape, second.shape))
            return KerasTensor(shape, first.dtype, node, next(count))

        if isinstance(shapes[0], (list, tuple)):
            node.outputs = type(shapes[0])(symbolic(a, b) for a, b in zip(*shapes))
        elif isinstance(shapes[0], dict):
            node.outputs = {k: symbolic(shapes[0][k], shapes[1][k]) for k in shapes[0]}
        else:
            node.outputs = symbolic(*shapes)
        self.__dict__["_output_shape"] = _map(lambda t: t.shape, node.outputs)
        self.__dict__.setdefault("_inbound_nodes", []).append(node)
        return node.outputs

    def _call_eagerly(self, inputs, args, kwargs):
        inputs = self._cast_inputs(inputs)
        training = kwargs.pop("training", None)
        if training is None:
            training = getattr(_context, "training", None)
        if training is not None and _call_takes_training(type(self)):
            kwargs["training"] = training
        outer = getattr(_context, "training", None)
        _context.training = training
        try:
            with _name_scope(self.name):
                if not self.built:
                    self.build(_shape_of(inputs))
                    self.built = True
                try:
                    outputs = self.call(inputs, *args, **kwargs)
                except Exception as error:
                    raise _with_call_info(error, self, inputs, args, kwargs) from None
                if self.activity_regularizer is not None:
                    for output in _nest_leaves(outputs):
                        self.add_loss(self.activity_regularizer(output))
                if not self.__dict__.get("_inbound_nodes"):
                    # (for Model.summary; past Module.__setattr__, on every call)
                    self.__dict__["_output_shape"] = getattr(outputs, "shape", None)
                return outputs
        finally:
            _context.training = outer

    def _cast_inputs(self, inputs):
        """Floating inputs in the layer's dtype; arrays and lists as tensors."""
        if isinstance(inputs, dict):
            return {k: self._cast_inputs(v) for k, v in inputs.items()}
        if isinstance(inputs, (list, tuple)) and any(
                isinstance(x, _EagerTensor) or isinstance(x, _np.ndarray) for x in inputs):
            return type(inputs)(self._cast_inputs(x) for x in inputs)
        x = _convert_to_tensor(inputs)
        if self._casts_inputs and x.dtype.kind == "f" and x.dtype != self._dtype:
            x = _cast(x, self._dtype)
        return x

    def add_weight(self, name=None, shape=None, dtype=None, initializer=None, regularizer=None,
                   trainable=True, constraint=None, **kwargs):
        """A new variable of this layer, initialised by ``initializer``
        (``glorot_uniform`` for floating weights by default, as Keras)."""
        if constraint is not None:
            raise _unsupported("weight constraints")
        shape = () if shape is None else tuple(int(s) for s in shape)
        dtype = self._dtype if dtype is None else _np.dtype(dtype)
        if initializer is None:
            initializer = "glorot_uniform" if dtype.kind == "f" else "zeros"
        value = _initializers.get(initializer)(shape, dtype=dtype)
        variable = _Variable(value, trainable=trainable, dtype=dtype,
                             name="variable" if name is None else name)
        self._made_weights.append(variable)
        if regularizer is not None:
            self._regularized.append((variable, _regularizers.get(regularizer)))
        return variable

    add_variable = add_weight

    # -- losses -------------------------------------------------------------------------

    def add_loss(self, loss):
        """Add ``loss`` (a scalar tensor) to what training minimises; cleared at
        the start of each call of the outermost layer or model, as Keras does."""
        self.__dict__.setdefault("_losses", []).append(loss)

    @property
    def losses(self):
        """The ``add_loss`` values of the last call and the weight regularizers'
        penalties (computed now), this layer's then its sublayers'."""
        found = list(self.__dict__.get("_losses", ()))
        found += [regularizer(variable) for variable, regularizer
                  in self.__dict__.get("_regularized", ()) if variable.trainable]
        for child in self._children():
            if isinstance(child, Layer):
                found += child.losses
        return found

    def _clear_losses(self):
        self.__dict__["_losses"] = []
        for child in self._children():
            if isinstance(child, Layer):
                child._clear_losses()

    # -- weights ----------------------------------------------------------------------

    @property
    def dtype(self):
        return self._dtype.name

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)
        for child in self._children():
            if isinstance(child, Layer):
                child.trainable = value

    def _own_and_children(self):
        """This layer's variables and the modules it holds, in assignment order."""
        own, children, seen = [], [], set()
        for value in vars(self).values():
            for leaf in _nest_leaves(value):
                if id(leaf) in seen or leaf is self:
                    continue
                seen.add(id(leaf))
                if isinstance(leaf, _ResourceVariable):
                    own.append(leaf)
                elif isinstance(leaf, _Module):
                    children.append(leaf)
        return own, children

    def _children(self):
        return self._own_and_children()[1]

    @property
    def trainable_weights(self):
        if not self._trainable:
            return []
        own, children = self._own_and_children()
        found = [v for v in own if v.trainable]
        for child in children:
            found += child.trainable_weights if isinstance(child, Layer) else list(
                child.trainable_variables)
        return _unique(found)

    @property
    def non_trainable_weights(self):
        own, children = self._own_and_children()
        if self._trainable:
            found = [v for v in own if not v.trainable]
            for child in children:
                found += child.non_trainable_weights if isinstance(child, Layer) else list(
                    child.non_trainable_variables)
        else:
            found = list(own)
            for child in children:
                found += child.weights if isinstance(child, Layer) else list(child.variables)
        return _unique(found)

    @property
    def weights(self):
        return _unique(self.trainable_weights + self.non_trainable_weights)

    @property
    def variables(self):
        return self.weights

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def set_weights(self, weights):
        mine = self.weights
        if len(weights) != len(mine):
            raise ValueError(
                f"You called `set_weights(weights)` on layer {self.name!r} with a weight list "
                f"of length {len(weights)}, but the layer was expecting {len(mine)} weights.")
        for variable, value in zip(mine, weights):
            variable.assign(value)

    def count_params(self):
        return int(sum(_np.size(v.numpy()) for v in self.weights))


def _unique(variables):
    seen = set()
    return [v for v in variables if not (id(v) in seen or seen.add(id(v)))]


class _Operation(Layer):
    """A Python operator applied to KerasTensors (``x + y``), as a layer of the graph."""

    def __init__(self, fn, name, *constants):
        super().__init__(name=_unique_name(name))
        self._fn, self._constants = fn, constants

    def _cast_inputs(self, inputs):
        return inputs

    def call(self, inputs):
        return self._fn(*inputs, *self._constants)


class Dense(Layer):
    """``activation(inputs @ kernel + bias)``, the kernel ``(input_dim, units)``."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, (int, _np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError("Received an invalid value for `units`, expected a positive "
                             f"integer. Received: units={units!r}")
        if kernel_constraint is not None or bias_constraint is not None:
            raise _unsupported("Dense's constraints")
        self.activity_regularizer = _regularizers.get(activity_regularizer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self.units = int(units)
        self.activation = _activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)

    def build(self, input_shape):
        last = input_shape[-1] if len(input_shape) else None
        if last is None:
            raise ValueError(
                "The last dimension of the inputs to a Dense layer should be defined. "
                f"Found None. Full input shape received: {tuple(input_shape)}")
        self.kernel = self.add_weight("kernel", (last, self.units),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.units,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        outputs = inputs @ self.kernel
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)


class Flatten(Layer):
    """Each sample flattened: ``(batch, d1, d2, ...)`` -> ``(batch, d1 * d2 * ...)``."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)

    def call(self, inputs):
        if inputs.ndim == 0:
            raise ValueError("A Flatten layer needs inputs with a batch axis; got a scalar.")
        if inputs.ndim == 1:
            return _reshape(inputs, (inputs.shape[0], 1))
        return _reshape(inputs, (inputs.shape[0], -1))


class Dropout(Layer):
    """With ``training=True``: entries zeroed with probability ``rate``, the rest
    scaled by ``1 / (1 - rate)``; otherwise the identity."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError("Invalid value received for argument `rate`. Expected a float "
                             f"value between 0 and 1. Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self._rng = None if seed is None else _np.random.default_rng(int(seed))

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        rng = self._rng if self._rng is not None else _random._rng(None)
        shape = inputs.shape if self.noise_shape is None else tuple(
            n if s is None else s for s, n in zip(self.noise_shape, inputs.shape))
        if self.rate == 1:
            keep = _np.zeros(shape, inputs.dtype)
        else:
            keep = (rng.uniform(size=shape) >= self.rate) / (1 - self.rate)
        return inputs * keep.astype(inputs.dtype)


class BatchNormalization(Layer):
    """Normalises over every axis but ``axis``: by the batch's mean and variance
    with ``training=True`` (and updates the moving ones), else by the moving ones."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if any(x is not None for x in (beta_regularizer, gamma_regularizer, beta_constraint,
                                       gamma_constraint)):
            raise _unsupported("BatchNormalization's regularizers and constraints")
        if not isinstance(axis, int):
            raise _unsupported("BatchNormalization over several axes")
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale = center, scale
        self._initializers = (gamma_initializer, beta_initializer, moving_mean_initializer,
                              moving_variance_initializer)

    def build(self, input_shape):
        ndim = len(input_shape)
        self._axis = self.axis % ndim
        dim = (input_shape[self._axis],)
        gamma, beta, mean, variance = self._initializers
        self.gamma = self.add_weight("gamma", dim, initializer=gamma) if self.scale else None
        self.beta = self.add_weight("beta", dim, initializer=beta) if self.center else None
        self.moving_mean = self.add_weight("moving_mean", dim, initializer=mean,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", dim, initializer=variance,
                                               trainable=False)
        self.built = True

    def call(self, inputs, training=None):
        axes = tuple(i for i in range(inputs.ndim) if i != self._axis)
        shape = [1] * inputs.ndim
        shape[self._axis] = -1
        if training:
            # tf.nn.moments: the variance about the mean with its gradient stopped
            mean = _np.mean(inputs, axis=axes, keepdims=True)
            variance = _np.mean(_np.square(inputs - _stop_gradient(mean)), axis=axes,
                                keepdims=True)
            decay = _np.asarray(1 - self.momentum, inputs.dtype)
            for moving, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
                value = _np.reshape(batch.numpy(), -1)
                moving.assign_sub((moving.numpy() - value) * decay)
        else:
            mean = _np.reshape(self.moving_mean, shape)
            variance = _np.reshape(self.moving_variance, shape)
        inv = 1 / _np.sqrt(variance + _np.asarray(self.epsilon, inputs.dtype))
        if self.gamma is not None:
            inv = inv * _np.reshape(self.gamma, shape)
        offset = -mean * inv
        if self.beta is not None:
            offset = offset + _np.reshape(self.beta, shape)
        return inputs * inv + offset


class Activation(Layer):
    """``activation(inputs)``, the activation given by name or as a function."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)


class ReLU(Layer):
    """``max(inputs, 0)`` (Keras's ``max_value``, ``negative_slope`` and ``threshold`` too)."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def call(self, inputs):
        if self.negative_slope == 0 and self.threshold == 0 and self.max_value is None:
            return _activations.relu(inputs)
        below = self.negative_slope * (inputs - self.threshold)
        out = _where(inputs >= self.threshold, inputs, below)
        if self.max_value is not None:
            out = _minimum(out, _cast(self.max_value, out.dtype))
        return out


class LeakyReLU(Layer):
    """``inputs`` where positive, ``negative_slope * inputs`` elsewhere (Keras 3's 0.3)."""

    def __init__(self, negative_slope=0.3, **kwargs):
        alpha = kwargs.pop("alpha", None)
        super().__init__(**kwargs)
        self.negative_slope = float(negative_slope if alpha is None else alpha)

    def call(self, inputs):
        return _activations.leaky_relu(inputs, alpha=self.negative_slope)


class Softmax(Layer):
    """The softmax of the inputs over ``axis`` (the last by default)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs, mask=None):
        if mask is not None:
            raise _unsupported("Softmax with a mask")
        return _activations.softmax(inputs, axis=self.axis)


class Reshape(Layer):
    """Each sample reshaped to ``target_shape`` (which may hold one -1)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs):
        return _reshape(inputs, (inputs.shape[0], *self.target_shape))


class Lambda(Layer):
    """A layer that calls ``function(inputs)``."""

    def __init__(self, function, output_shape=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)


class Embedding(Layer):
    """Rows of a ``(input_dim, output_dim)`` table picked by integer inputs."""

    _casts_inputs = False

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 **kwargs):
        super().__init__(**kwargs)
        if embeddings_regularizer is not None or embeddings_constraint is not None or mask_zero:
            raise _unsupported("Embedding's regularizers, constraints and masks")
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = _initializers.get(embeddings_initializer)

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer)
        self.built = True

    def call(self, inputs):
        ids = _np.asarray(inputs.numpy() if hasattr(inputs, "numpy") else inputs)
        if ids.dtype.kind == "f":
            ids = ids.astype(_np.int64)
        return _gather(self.embeddings, ids)


class _Merge(Layer):
    """A layer of a list of inputs of one shape (broadcasting as NumPy does)."""

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"A {type(self).__name__} layer should be called on a list of at "
                             f"least 2 inputs. Received: inputs={inputs!r}")
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return self._finish(out, len(inputs))

    def _finish(self, out, count):
        return out


class Add(_Merge):
    def _merge(self, a, b):
        return a + b


class Subtract(Layer):
    def call(self, inputs):
        if len(inputs) != 2:
            raise ValueError("A Subtract layer should be called on exactly 2 inputs")
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    def _merge(self, a, b):
        return a * b


class Average(_Merge):
    def _merge(self, a, b):
        return a + b

    def _finish(self, out, count):
        return out / float(count)


class Maximum(_Merge):
    def _merge(self, a, b):
        return _maximum(a, b)


class Minimum(_Merge):
    def _merge(self, a, b):
        return _minimum(a, b)


class Concatenate(Layer):
    """The inputs joined along ``axis`` (the last by default)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return _concat(list(inputs), axis=self.axis)


class LayerNormalization(Layer):
    """Each sample normalised over ``axis`` (the last), then scaled by ``gamma``
    and shifted by ``beta``: ``(x - mean) / sqrt(var + epsilon) * gamma + beta``."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.axis, self.epsilon, self.center, self.scale = axis, float(epsilon), center, scale
        self.beta_initializer = _initializers.get(beta_initializer)
        self.gamma_initializer = _initializers.get(gamma_initializer)

    def build(self, input_shape):
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        shape = tuple(input_shape[a] for a in axes)
        self.gamma = self.add_weight("gamma", shape, initializer=self.gamma_initializer) \
            if self.scale else None
        self.beta = self.add_weight("beta", shape, initializer=self.beta_initializer) \
            if self.center else None
        self.built = True

    def call(self, inputs):
        axes = self.axis if isinstance(self.axis, int) else tuple(self.axis)
        mean = _reduce_mean(inputs, axis=axes, keepdims=True)
        centred = inputs - mean
        variance = _reduce_mean(centred * centred, axis=axes, keepdims=True)
        out = centred / _sqrt(variance + self.epsilon)
        if self.gamma is not None:
            out = out * self.gamma
        if self.beta is not None:
            out = out + self.beta
        return out


def add(inputs, **kwargs):
    """``Add()(inputs)``, Keras's functional form."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


# -- convolution and pooling (channels last) -------------------------------------------------


def _tuple(value, rank, what):
    values = (value,) * rank if isinstance(value, (int, _np.integer)) else tuple(value)
    if len(values) != rank or not all(int(v) > 0 for v in values):
        raise ValueError(f"The `{what}` argument must be a tuple of {rank} positive integers. "
                         f"Received: {what}={value!r}")
    return tuple(int(v) for v in values)


def _padding(padding):
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError("The `padding` argument must be a string, one of 'valid' or 'same'. "
                         f"Received: padding={padding!r}")
    return padding


def _data_format(data_format):
    if data_format not in (None, "channels_last"):
        raise _unsupported(f"data_format={data_format!r} (only channels_last)")


def _windows(x, window, strides, dilation, padding, fill=0.0):
    """The inputs padded as TensorFlow pads them, and for each offset in the window
    the strided slice of the spatial axes it meets: ``(offset, slice)`` pairs."""
    spatial = x.shape[1:-1]
    extents = [(k - 1) * d + 1 for k, d in zip(window, dilation)]
    if padding == "same":
        sizes = [-(-n // s) for n, s in zip(spatial, strides)]
        totals = [max((o - 1) * s + e - n, 0) for o, s, e, n in zip(sizes, strides, extents,
                                                                      spatial)]
        widths = [(0, 0)] + [(t // 2, t - t // 2) for t in totals] + [(0, 0)]
        if any(t for t in totals):
            padded = _np.pad(x, widths)
            if fill:
                mask = _np.pad(_np.zeros(x.shape, x.dtype), widths,
                               constant_values=_np.asarray(fill, x.dtype))
                padded = padded + mask
            x = padded
    else:
        sizes = [(n - e) // s + 1 for n, e, s in zip(spatial, extents, strides)]
        if any(o <= 0 for o in sizes):
            raise ValueError(f"The window {tuple(window)} is larger than the input's spatial "
                             f"shape {tuple(spatial)} (padding='valid')")
    for offset in _np.ndindex(*window):
        index = (slice(None),) + tuple(
            slice(i * d, i * d + (o - 1) * s + 1, s)
            for i, d, o, s in zip(offset, dilation, sizes, strides)) + (slice(None),)
        yield offset, x[index]


class _Conv(Layer):
    """A convolution over ``rank`` spatial axes: ``sum`` over the window of the
    input's slices times the kernel's matrices (the kernel ``(*kernel_size,
    in_channels, filters)``), plus the bias, through the activation."""

    rank = 2

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        _data_format(data_format)
        if groups != 1 or kernel_constraint is not None or bias_constraint is not None:
            raise _unsupported("grouped convolutions and kernel constraints")
        self.filters = int(filters)
        self.kernel_size = _tuple(kernel_size, self.rank, "kernel_size")
        self.strides = _tuple(strides, self.rank, "strides")
        self.dilation_rate = _tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = _padding(padding)
        self.activation = _activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)

    def build(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected ndim={self.rank + 2}, found ndim={len(input_shape)}. "
                             f"Full shape received: {tuple(input_shape)}")
        channels = input_shape[-1]
        self.kernel = self.add_weight("kernel", (*self.kernel_size, channels, self.filters),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)
        self.built = True

    def call(self, inputs):
        outputs = None
        for offset, window in _windows(inputs, self.kernel_size, self.strides,
                                       self.dilation_rate, self.padding):
            term = window @ self.kernel[offset]
            outputs = term if outputs is None else outputs + term
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.activation(outputs)


class Conv1D(_Conv):
    """``tf.keras.layers.Conv1D``: inputs ``(batch, steps, channels)``."""

    rank = 1


class Conv2D(_Conv):
    """``tf.keras.layers.Conv2D``: inputs ``(batch, rows, cols, channels)``."""

    rank = 2


class _Pooling(Layer):
    """Max or average over windows of the spatial axes (``strides`` = the pool
    size by default); average pooling with ``"same"`` padding averages over the
    input's entries only, as TensorFlow does."""

    rank, reduce = 2, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        _data_format(data_format)
        self.pool_size = _tuple(pool_size, self.rank, "pool_size")
        self.strides = _tuple(self.pool_size if strides is None else strides, self.rank,
                              "strides")
        self.padding = _padding(padding)

    def call(self, inputs):
        ones = (1,) * self.rank
        fill = -_np.inf if self.reduce == "max" else 0.0
        windows = [w for _, w in _windows(inputs, self.pool_size, self.strides, ones,
                                          self.padding, fill)]
        out = windows[0]
        for window in windows[1:]:
            out = _maximum(out, window) if self.reduce == "max" else out + window
        if self.reduce == "max":
            return out
        counts = None
        for _, window in _windows(_np.ones((1, *inputs.shape[1:-1], 1), inputs.dtype),
                                  self.pool_size, self.strides, ones, self.padding):
            counts = window if counts is None else counts + window
        return out / counts


def _variant(base, name, rank, reduce):
    """The layer class ``name``: ``base`` over ``rank`` spatial axes, by ``reduce``."""
    return type(name, (base,), {"rank": rank, "reduce": reduce, "__module__": __name__,
                                "__doc__": f"``tf.keras.layers.{name}``: {base.__doc__}"})


MaxPooling1D = _variant(_Pooling, "MaxPooling1D", 1, "max")
MaxPooling2D = _variant(_Pooling, "MaxPooling2D", 2, "max")
AveragePooling1D = _variant(_Pooling, "AveragePooling1D", 1, "mean")
AveragePooling2D = _variant(_Pooling, "AveragePooling2D", 2, "mean")
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = (MaxPooling1D, MaxPooling2D, AveragePooling1D,
                                              AveragePooling2D)


class _GlobalPooling(Layer):
    """The mean or max over every spatial axis (kept as 1s with ``keepdims``)."""

    rank, reduce = 1, "mean"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        _data_format(data_format)
        self.keepdims = keepdims

    def call(self, inputs, mask=None):
        if mask is not None:
            raise _unsupported(f"{type(self).__name__} with a mask")
        axes = tuple(range(1, 1 + self.rank))
        if self.reduce == "max":
            return _np.max(inputs, axis=axes, keepdims=self.keepdims)
        return _reduce_mean(inputs, axis=list(axes), keepdims=self.keepdims)


GlobalAveragePooling1D = _variant(_GlobalPooling, "GlobalAveragePooling1D", 1, "mean")
GlobalAveragePooling2D = _variant(_GlobalPooling, "GlobalAveragePooling2D", 2, "mean")
GlobalMaxPooling1D = _variant(_GlobalPooling, "GlobalMaxPooling1D", 1, "max")
GlobalMaxPooling2D = _variant(_GlobalPooling, "GlobalMaxPooling2D", 2, "max")
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D


# -- recurrent layers -------------------------------------------------------------------------


class _Recurrent(Layer):
    """A recurrent layer over ``(batch, timesteps, features)``: the cell's step
    run along the time axis (a Python loop of recorded ops). ``return_sequences``
    gives every step's output, ``return_state`` the final states too (Keras's
    ``[output, *states]``), ``go_backwards`` reads the steps in reverse;
    ``initial_state`` may be given to the call. Weights: ``kernel`` ``(features,
    gates * units)``, ``recurrent_kernel`` ``(units, gates * units)``, ``bias``."""

    gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, **kwargs):
        for option in ("kernel_constraint", "recurrent_constraint", "bias_constraint"):
            if kwargs.pop(option, None) is not None:
                raise _unsupported(f"{type(self).__name__}'s constraints")
        extra = {k: kwargs.pop(k) for k in ("unit_forget_bias", "reset_after") if k in kwargs}
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if dropout or recurrent_dropout or stateful:
            raise _unsupported(f"{type(self).__name__} with dropout, recurrent_dropout or "
                               "stateful=True")
        self.units = int(units)
        self.activation = _activations.get(activation)
        self.recurrent_activation = _activations.get(recurrent_activation)
        self.use_bias = use_bias
        self.return_sequences, self.return_state = return_sequences, return_state
        self.go_backwards = go_backwards
        self.kernel_initializer = _initializers.get(kernel_initializer)
        self.recurrent_initializer = _initializers.get(recurrent_initializer)
        self.bias_initializer = _initializers.get(bias_initializer)
        self.kernel_regularizer = _regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = _regularizers.get(recurrent_regularizer)
        self.bias_regularizer = _regularizers.get(bias_regularizer)
        self._configure(**extra)

    def _configure(self):
        pass

    def _bias_shape(self):
        return (self.gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(f"Input 0 of layer {self.name!r} is incompatible with the layer: "
                             f"expected ndim=3, found ndim={len(input_shape)}. Full shape "
                             f"received: {tuple(input_shape)}")
        width = self.gates * self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], width),
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, width),
                                                initializer=self.recurrent_initializer,
                                                regularizer=self.recurrent_regularizer)
        self.bias = (self.add_weight("bias", self._bias_shape(),
                                     initializer=self._bias_initializer(),
                                     regularizer=self.bias_regularizer)
                     if self.use_bias else None)
        self.built = True

    def _initial_states(self, batch, dtype):
        return [_np.zeros((batch, self.units), dtype) for _ in range(self._state_count)]

    _state_count = 1

    def call(self, inputs, initial_state=None, mask=None, training=None):
        if mask is not None:
            raise _unsupported(f"{type(self).__name__} with a mask")
        steps = inputs.shape[1]
        if initial_state is None:
            states = self._initial_states(inputs.shape[0], inputs.dtype)
        else:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) \
                else [initial_state]
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs = []
        for t in order:
            output, states = self._step(inputs[:, t, :], states)
            outputs.append(output)
        result = _stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        if self.return_state:
            return [result, *states]
        return result

    def _gates(self, x, h):
        """The input's and the state's contributions to the gates, with the bias."""
        gates = x @ self.kernel + h @ self.recurrent_kernel
        return gates + self.bias if self.bias is not None else gates


class SimpleRNN(_Recurrent):
    """``h = activation(x @ kernel + h @ recurrent_kernel + bias)``."""

    def _step(self, x, states):
        h = self.activation(self._gates(x, states[0]))
        return h, [h]


class LSTM(_Recurrent):
    """Keras's LSTM: gates ``i, f, c, o`` in that order along the kernels' last
    axis; ``c = f * c + i * activation(z_c)``, ``h = o * activation(c)``; the
    forget gate's bias starts at 1 (``unit_forget_bias``)."""

    gates, _state_count = 4, 2

    def _configure(self, unit_forget_bias=True):
        self.unit_forget_bias = unit_forget_bias

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def initializer(shape, dtype=None):
            values = _np.array(base((units * 4,), dtype=dtype).numpy())
            values[units:2 * units] = 1
            return values

        return initializer

    def _step(self, x, states):
        h, c = states
        z = self._gates(x, h)
        n = self.units
        i = self.recurrent_activation(z[:, :n])
        f = self.recurrent_activation(z[:, n:2 * n])
        c = f * c + i * self.activation(z[:, 2 * n:3 * n])
        o = self.recurrent_activation(z[:, 3 * n:])
        h = o * self.activation(c)
        return h, [h, c]


class GRU(_Recurrent):
    """Keras 3's GRU (``reset_after=True``): gates ``z, r, h``; the bias is
    ``(2, 3 * units)``, one row for the input's part, one for the state's;
    ``h = z * h + (1 - z) * activation(x_h + r * (h @ U_h + b_h))``."""

    gates = 3

    def _configure(self, reset_after=True):
        if not reset_after:
            raise _unsupported("GRU(reset_after=False)")

    def _bias_shape(self):
        return (2, 3 * self.units)

    def _step(self, x, states):
        h = states[0]
        n = self.units
        inner_x = x @ self.kernel
        inner_h = h @ self.recurrent_kernel
        if self.bias is not None:
            inner_x = inner_x + self.bias[0]
            inner_h = inner_h + self.bias[1]
        z = self.recurrent_activation(inner_x[:, :n] + inner_h[:, :n])
        r = self.recurrent_activation(inner_x[:, n:2 * n] + inner_h[:, n:2 * n])
        candidate = self.activation(inner_x[:, 2 * n:] + r * inner_h[:, 2 * n:])
        h = z * h + (1 - z) * candidate
        return h, [h]


__getattr__ = _missing_names(
    "s2sgrad.tf.keras.layers", "layers",
    ("Activation", "Add", "Average", "AveragePooling1D", "AveragePooling2D", "AvgPool1D",
     "AvgPool2D", "BatchNormalization", "Concatenate", "Conv1D", "Conv2D", "Dense", "Dropout",
     "add", "average", "concatenate", "maximum", "minimum", "multiply", "subtract",
     "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
     "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GRU",
     "LSTM", "SimpleRNN",
     "MaxPool1D", "MaxPool2D", "MaxPooling1D", "MaxPooling2D",
     "Embedding", "Flatten", "Input", "InputLayer", "Lambda", "Layer", "LayerNormalization",
     "LeakyReLU", "Maximum", "Minimum", "Multiply", "ReLU", "Reshape", "Softmax", "Subtract"),
    " (subclass Layer for others)")
