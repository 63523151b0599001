"""``tf.keras.Model`` (subclassed, with ``call``) and ``tf.keras.Sequential``.

A model is a layer of layers: its weights are its layers' (in the order
the layers were assigned or added), and it is trained with a custom loop
(``tf.GradientTape``, ``optimizer.apply_gradients(zip(grads,
model.trainable_variables))``) or by Keras's ``compile``/``fit``/``evaluate``/
``predict`` (:mod:`s2sgrad.tf.keras.training`, that same loop). Saving,
``summary`` and functional models built from ``tf.keras.Input`` are not
here: each raises an error saying so.
"""

import numpy as _np

from s2sgrad.tf.keras.layers import Input as _Input
from s2sgrad.tf.keras.layers import Layer as _Layer
from s2sgrad.tf.keras.layers import _unsupported
from s2sgrad.tf.keras import training as _training


class Model(_Layer):
    """``tf.keras.Model``: subclass it, make layers in ``__init__``, use them in ``call``."""

    _casts_inputs = False

    def __init__(self, *args, **kwargs):
        if args or "inputs" in kwargs or "outputs" in kwargs:
            raise _unsupported("functional models (Model(inputs, outputs)); subclass "
                              "tf.keras.Model with a call method, or use tf.keras.Sequential")
        super().__init__(**kwargs)

    def call(self, inputs, training=None):
        raise NotImplementedError(
            f"Model {type(self).__name__} has no call method: a subclass of tf.keras.Model "
            "defines call(self, inputs)")

    @property
    def layers(self):
        """The layers this model holds, in the order they were assigned."""
        return [child for child in self._children() if isinstance(child, _Layer)]

    def _refuse(name):
        def method(self, *args, **kwargs):
            raise _unsupported(f"Model.{name}")

        method.__name__ = name
        return method

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **options):
        """Keras's ``compile``: the optimizer, loss and metrics ``fit`` uses."""
        self._compiled = _training.Compiled(optimizer, loss, metrics, **options)
        self.optimizer = self._compiled.optimizer
        self.loss = loss

    fit = _training.fit
    evaluate = _training.evaluate
    predict = _training.predict
    train_on_batch = _training.train_on_batch
    test_on_batch = _training.test_on_batch

    def predict_on_batch(self, x):
        return _np.asarray(self(x, training=False).numpy())

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
        for line in _training.summary_lines(self):
            write(line)
    save = _refuse("save")
    save_weights = _refuse("save_weights")
    load_weights = _refuse("load_weights")
    del _refuse


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
        if isinstance(layer, _Input):
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
