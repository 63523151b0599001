"""``tf.keras.Model`` (functional, or subclassed with ``call``) and ``tf.keras.Sequential``.

A model is a layer of layers: its weights are its layers' (in the order
the layers were assigned, added, or called in a functional graph), and it
is trained with a custom loop (``tf.GradientTape``,
``optimizer.apply_gradients(zip(grads, model.trainable_variables))``) or by
Keras's ``compile``/``fit``/``evaluate``/``predict``
(:mod:`s2sgrad.tf.keras.training`, that same loop).

A functional model, ``tf.keras.Model(inputs, outputs)``, replays the layer
calls that led from its ``tf.keras.Input`` tensors to its outputs (each a
:class:`~s2sgrad.tf.keras.layers.KerasTensor`, or a list or dict of them)
on the values it is called with: a list or dict of inputs is matched by
position or by the inputs' names, the outputs come back in the structure
they were given in. It can itself be called on KerasTensors (a model used
as a layer).
"""

import numpy as _np

from s2sgrad.tf.keras.layers import InputLayer as _InputLayer
from s2sgrad.tf.keras.layers import KerasTensor as _KerasTensor
from s2sgrad.tf.keras.layers import Layer as _Layer
from s2sgrad.tf.keras.layers import _unique_name
from s2sgrad.tf.keras.layers import _unsupported
from s2sgrad.tf.keras import saving as _saving
from s2sgrad.tf.keras import summary as _summary
from s2sgrad.tf.keras import training as _training


def _flat(structure):
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in _flat(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flat(item)]
    return [structure]


def _rebuild(structure, values):
    """``structure`` with each KerasTensor replaced by its value in ``values``."""
    if isinstance(structure, _KerasTensor):
        return values[id(structure)]
    if isinstance(structure, dict):
        return {k: _rebuild(v, values) for k, v in structure.items()}
    if isinstance(structure, (list, tuple)):
        return type(structure)(_rebuild(v, values) for v in structure)
    return structure


class Model(_Layer):
    """``tf.keras.Model``: ``Model(inputs, outputs)`` from ``tf.keras.Input``, or a
    subclass that makes layers in ``__init__`` and uses them in ``call``."""

    _casts_inputs = False

    def __init__(self, *args, **kwargs):
        inputs = kwargs.pop("inputs", args[0] if args else None)
        outputs = kwargs.pop("outputs", args[1] if len(args) > 1 else None)
        if len(args) > 2:
            raise TypeError("Model takes at most two positional arguments: inputs and outputs")
        if inputs is not None and type(self) is Model and kwargs.get("name") is None:
            kwargs["name"] = _unique_name("functional")  # (Keras 3's class for it: Functional)
        super().__init__(**kwargs)
        self._graph = None
        if inputs is not None or outputs is not None:
            self._init_graph(inputs, outputs)

    # -- functional models ----------------------------------------------------------------

    def _init_graph(self, inputs, outputs):
        if inputs is None or outputs is None:
            raise ValueError("A functional model needs both `inputs` and `outputs`")
        for what, structure in (("inputs", inputs), ("outputs", outputs)):
            for leaf in _flat(structure):
                if not isinstance(leaf, _KerasTensor):
                    raise ValueError(
                        f"All `{what}` values must be KerasTensors (from tf.keras.Input and "
                        f"layers called on them). Received: {what}={structure!r} including "
                        f"invalid value {leaf!r} of type {type(leaf)}")
        flat_inputs = _flat(inputs)
        for leaf in flat_inputs:
            if not isinstance(leaf._node.layer, _InputLayer):
                raise ValueError("A functional model's inputs must be tf.keras.Input tensors; "
                                 f"{leaf.name} is the output of layer {leaf._node.layer.name!r}")
        nodes, seen, layers = [], set(), []
        known = {id(t) for t in flat_inputs}

        def visit(tensor, path):
            node = tensor._node
            if id(node) in seen:
                return
            if isinstance(node.layer, _InputLayer):
                if id(tensor) not in known:
                    raise ValueError(
                        f"Graph disconnected: cannot find parent for tensor {tensor!r} (the "
                        "output of an Input that is not among the model's inputs)")
                seen.add(id(node))
                return
            if id(node) in path:
                raise ValueError("A functional model's graph has a cycle")
            for parent in node.input_tensors:
                visit(parent, path | {id(node)})
            seen.add(id(node))
            nodes.append(node)

        for tensor in _flat(outputs):
            visit(tensor, frozenset())
        input_layers = [t._node.layer for t in flat_inputs]
        for node in nodes:
            if not any(node.layer is layer for layer in layers):
                layers.append(node.layer)
        self._graph = (inputs, outputs, nodes)
        self._input_layers = input_layers
        self._graph_layers = layers
        self.built = True

    @property
    def inputs(self):
        return None if self._graph is None else _flat(self._graph[0])

    @property
    def outputs(self):
        return None if self._graph is None else _flat(self._graph[1])

    @property
    def input(self):
        return None if self._graph is None else self._graph[0]

    @property
    def output(self):
        return None if self._graph is None else self._graph[1]

    @property
    def input_names(self):
        return [t._node.layer.name for t in self.inputs or ()]

    @property
    def output_names(self):
        if self._graph is None:
            return None
        structure = self._graph[1]
        if isinstance(structure, dict):
            return list(structure)
        return [t._node.layer.name for t in _flat(structure)]

    def _feed(self, values):
        """The model's inputs matched with ``values`` (by position or by name)."""
        inputs = self._graph[0]
        flat = _flat(inputs)
        if isinstance(values, dict):
            by_name = {}
            for tensor in flat:
                for key in (tensor.name, tensor._node.layer.name):
                    by_name.setdefault(key, tensor)
            if isinstance(inputs, dict):
                by_name.update(inputs)
            fed = {}
            for key, value in values.items():
                if key not in by_name:
                    raise ValueError(f"The model has no input named {key!r}; its inputs are "
                                     f"{[t._node.layer.name for t in flat]}")
                fed[id(by_name[key])] = value
            missing = [t._node.layer.name for t in flat if id(t) not in fed]
            if missing:
                raise ValueError(f"No value was given for the model's input {missing[0]!r}")
            return fed
        values = list(values) if isinstance(values, (list, tuple)) and len(flat) > 1 else [values]
        if len(values) != len(flat):
            raise ValueError(f"The model expects {len(flat)} inputs, but it received "
                             f"{len(values)} input tensors.")
        return {id(t): v for t, v in zip(flat, values)}

    def _run_graph(self, values, training=None):
        inputs, outputs, nodes = self._graph
        known = {}
        for key, value in self._feed(values).items():
            known[key] = value
        for node in nodes:
            args, kwargs = _rebuild((node.args, node.kwargs), known)
            if training is not None and "training" not in kwargs:
                kwargs = dict(kwargs, training=training)
            result = node.layer(args[0], *args[1:], **kwargs)
            for symbolic, value in zip(_flat(node.outputs), _flat(result)):
                known[id(symbolic)] = value
        return _rebuild(outputs, known)

    def call(self, inputs, training=None):
        if self._graph is not None:
            return self._run_graph(inputs, training)
        raise NotImplementedError(
            f"Model {type(self).__name__} has no call method: a subclass of tf.keras.Model "
            "defines call(self, inputs)")

    @property
    def layers(self):
        """The layers this model holds, in the order they were assigned (a
        functional model: its inputs', then in the order they are called)."""
        if self.__dict__.get("_graph") is not None:
            return list(self._input_layers) + list(self._graph_layers)
        return [child for child in self._children() if isinstance(child, _Layer)]

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}.")

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **options):
        """Keras's ``compile``: the optimizer, loss and metrics ``fit`` uses."""
        self._compiled = _training.Compiled(optimizer, loss, metrics, **options)
        self._compiled.output_names = self.output_names
        self.optimizer = self._compiled.optimizer
        self.loss = loss

    fit = _training.fit
    evaluate = _training.evaluate
    predict = _training.predict
    train_on_batch = _training.train_on_batch
    test_on_batch = _training.test_on_batch

    def predict_on_batch(self, x):
        return _training.predict(self, x, batch_size=_training._count(_training._array(x)),
                                 verbose=0)

    @property
    def metrics(self):
        compiled = getattr(self, "_compiled", None)
        return compiled.all_metrics() if compiled is not None else []

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs):
        """Keras's table of the layers: name (type), output shape, parameter count."""
        write = print_fn or print
        for line in _summary.summary_lines(self, line_length, positions):
            write(line)

    def save(self, filepath, overwrite=True, **kwargs):
        """The model, its weights and compiled state in a ``.keras`` file
        (:mod:`s2sgrad.tf.keras.saving`: s2sgrad's own format)."""
        _saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        """The weights in a ``.weights.h5`` file (a NumPy archive, not HDF5)."""
        _saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        _saving.load_weights(self, filepath, skip_mismatch=skip_mismatch)


class Sequential(Model):
    """``tf.keras.Sequential([...])``: each layer applied to the previous one's output.

    Given its input shape (a first ``tf.keras.Input(shape=...)``, or
    ``input_shape=`` on the first layer) the model is built at once, as
    Keras builds it; otherwise on its first call.
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._layers = []
        self._input_spec = None
        for layer in layers or ():
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, _InputLayer):
            layer = layer.output
        if isinstance(layer, _KerasTensor) and isinstance(layer._node.layer, _InputLayer):
            if self._layers or self._input_spec is not None:
                raise ValueError("tf.keras.Input can only be the first entry of a Sequential")
            self._input_spec = layer
            return
        if not isinstance(layer, _Layer):
            raise TypeError("The added layer must be an instance of class Layer. "
                            f"Received: layer={layer!r} of type {type(layer)}.")
        self._layers.append(layer)
        self.built = False
        first = self._layers[0]
        shape = (self._input_spec.shape if self._input_spec is not None
                 else getattr(first, "_batch_input_shape", None))
        if shape is not None:
            self._build_from(shape)

    def pop(self):
        if not self._layers:
            raise TypeError("There are no layers in the model.")
        layer = self._layers.pop()
        return layer

    @property
    def layers(self):
        return list(self._layers)

    def _build_from(self, batch_shape):
        """Build every layer by one inference pass over a batch of zeros."""
        dtype = self._input_spec.dtype if self._input_spec is not None else _np.float32
        sample = _np.zeros(tuple(1 if n is None else n for n in batch_shape), dtype)
        self(sample, training=False)

    def call(self, inputs, training=None):
        for layer in self._layers:
            inputs = layer(inputs, training=training)
        return inputs


load_model = _saving.load_model
save_model = _saving.save_model
