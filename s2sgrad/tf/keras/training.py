"""Keras's built-in training loop: ``compile``, ``fit``, ``evaluate``, ``predict``.

What :class:`s2sgrad.tf.keras.Model` runs for a compiled model, written as
the custom loop a reader of TensorFlow's guides would write: for each batch,
the forward pass under a ``tf.GradientTape``, the loss (Keras's mean over
the batch), ``tape.gradient`` for the trainable variables and the
optimizer's ``apply_gradients``; the metrics are updated from the same
predictions. Inputs are arrays or tensors, or a ``tf.data`` dataset of
``(x, y)`` batches; ``sample_weight``, ``class_weight`` and models with several
inputs or outputs are refused with an error saying so.

``fit`` returns a :class:`History` whose ``history`` maps ``"loss"``, each
metric's name and their ``"val_"`` versions to one value per epoch (the
loss is the mean over the epoch's samples, as Keras reports it). Progress
is printed one line per epoch (``verbose=1`` or ``2``; Keras's progress bar
is not drawn), nothing with ``verbose=0``.
"""

import math

import numpy as _np

from s2sgrad.tape.tape import GradientTape
from s2sgrad.tf import data as _data
from s2sgrad.tf.keras import losses as _losses
from s2sgrad.tf.keras import metrics as _metrics
from s2sgrad.tf.keras import optimizers as _optimizers

#: loss names Keras accepts in ``compile``, and the accuracy "accuracy" means with each
_LOSSES = {
    "mse": ("mean_squared_error", None),
    "mean_squared_error": ("mean_squared_error", None),
    "mae": ("mean_absolute_error", None),
    "mean_absolute_error": ("mean_absolute_error", None),
    "binary_crossentropy": ("binary_crossentropy", _metrics.binary_accuracy),
    "categorical_crossentropy": ("categorical_crossentropy", _metrics.categorical_accuracy),
    "sparse_categorical_crossentropy": ("sparse_categorical_crossentropy",
                                        _metrics.sparse_categorical_accuracy),
}

_METRICS = {
    "mse": (_metrics.MeanSquaredError,),
    "mean_squared_error": (_metrics.MeanSquaredError,),
    "mae": (_metrics.MeanAbsoluteError,),
    "mean_absolute_error": (_metrics.MeanAbsoluteError,),
    "binary_accuracy": (_metrics.BinaryAccuracy,),
    "categorical_accuracy": (_metrics.CategoricalAccuracy,),
    "sparse_categorical_accuracy": (_metrics.SparseCategoricalAccuracy,),
}


class History:
    """What ``fit`` returns: ``history`` (name -> one value per epoch), ``epoch``, ``params``."""

    def __init__(self, model, params):
        self.model = model
        self.params = params
        self.epoch = []
        self.history = {}

    def _record(self, epoch, logs):
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)


class Compiled:
    """The optimizer, loss and metrics ``compile`` was given, resolved."""

    def __init__(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                 weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                 jit_compile="auto", **ignored):
        if loss_weights is not None or weighted_metrics is not None:
            raise NotImplementedError(
                "s2sgrad.tf's Model.compile does not support loss_weights or weighted_metrics")
        self.optimizer = _optimizers.get(optimizer)
        self.loss, accuracy = _resolve_loss(loss)
        self.metrics = [_resolve_metric(m, accuracy) for m in _as_list(metrics)]
        self.loss_tracker = _metrics.Mean(name="loss")

    def loss_value(self, y, y_pred):
        if self.loss is None:
            raise ValueError("No loss to compute: pass a loss to Model.compile(loss=...)")
        value = self.loss(y, y_pred)
        if getattr(value, "ndim", 0):
            value = _np.mean(value)  # (a loss function gives one value per sample)
        return value

    def all_metrics(self):
        return [self.loss_tracker, *self.metrics]

    def logs(self, prefix=""):
        return {prefix + m.name: float(_np.asarray(m.result())) for m in self.all_metrics()}


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _resolve_loss(loss):
    """The loss callable and the accuracy function "accuracy" then means."""
    if loss is None:
        return None, _metrics.accuracy
    if isinstance(loss, str):
        try:
            name, accuracy = _LOSSES[loss.lower()]
        except KeyError:
            raise ValueError(f"Could not interpret loss identifier: {loss}") from None
        return getattr(_losses, name), accuracy or _metrics.accuracy
    if not callable(loss):
        raise ValueError(f"Could not interpret loss identifier: {loss!r}")
    # a loss function, or a Loss object, by its Keras name
    name = getattr(loss, "__name__", None) or getattr(loss, "name", "")
    _, accuracy = _LOSSES.get(name, (None, None))
    return loss, accuracy or _metrics.accuracy


def _resolve_metric(metric, accuracy):
    if isinstance(metric, _metrics.Metric):
        return metric
    if isinstance(metric, str):
        key = metric.lower()
        if key in ("accuracy", "acc"):
            return _metrics.MeanMetricWrapper(accuracy, name=metric)
        if key in _METRICS:
            return _METRICS[key][0](name=metric)
        raise ValueError(f"Could not interpret metric identifier: {metric}")
    if callable(metric):
        return _metrics.MeanMetricWrapper(metric, name=getattr(metric, "__name__", "metric"))
    raise ValueError(f"Could not interpret metric identifier: {metric!r}")


def _array(value, what):
    if value is None:
        return None
    if isinstance(value, dict) or (isinstance(value, (list, tuple)) and value
                                   and hasattr(value[0], "shape") and len(value) > 1
                                   and not _np.isscalar(value[0])):
        raise NotImplementedError(
            f"s2sgrad.tf's Model.fit takes {what} as one array or tensor, not a "
            f"{type(value).__name__} of them (models with several inputs or outputs)")
    if hasattr(value, "numpy"):
        value = value.numpy()
    return _np.asarray(value)


def _dataset_batches(x, y, what):
    """The (x, y) batches of a tf.data dataset given as ``x``, or None for arrays."""
    if not isinstance(x, _data.Dataset):
        return None
    if y is not None:
        raise ValueError(f"Model.{what}: y must not be given when x is a dataset "
                         "(its elements are (x, y) pairs)")
    return x


def _batches(n, batch_size, order):
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]


def _refuse_unsupported(**options):
    for name, value in options.items():
        if value is not None:
            raise NotImplementedError(f"s2sgrad.tf's Model.fit does not support {name}")


def _format_logs(logs):
    parts = []
    for name, value in logs.items():
        parts.append(f"{name}: {value:.4f}" if abs(value) >= 1e-3 or value == 0
                     else f"{name}: {value:.4e}")
    return " - ".join(parts)


def _verbosity(verbose):
    return 1 if verbose == "auto" else int(verbose)


def train_step(model, compiled, x, y):
    """One optimizer step on a batch; updates the loss tracker and metrics."""
    with GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = compiled.loss_value(y, y_pred)
    variables = model.trainable_variables
    grads = tape.gradient(loss, variables)
    compiled.optimizer.apply_gradients(
        [(g, v) for g, v in zip(grads, variables) if g is not None])
    _update_metrics(compiled, loss, y, y_pred, len(x))


def _update_metrics(compiled, loss, y, y_pred, count):
    compiled.loss_tracker.update_state(loss, sample_weight=count)
    for metric in compiled.metrics:
        metric.update_state(y, y_pred)


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
        sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
        validation_batch_size=None, validation_freq=1):
    compiled = _compiled(model, "fit")
    _refuse_unsupported(class_weight=class_weight, sample_weight=sample_weight,
                        steps_per_epoch=steps_per_epoch, validation_steps=validation_steps)
    dataset = _dataset_batches(x, y, "fit")
    if dataset is None:
        x, y = _array(x, "x"), _array(y, "y")
        if y is None:
            raise ValueError("Model.fit needs targets: fit(x, y, ...)")
        if len(x) != len(y):
            raise ValueError(f"x and y have different numbers of samples: {len(x)} and {len(y)}")
        if validation_data is None and validation_split:
            split = int(len(x) * (1.0 - validation_split))
            x, y, validation_data = x[:split], y[:split], (x[split:], y[split:])
    elif validation_split:
        raise ValueError("validation_split is not supported for a dataset: pass validation_data")
    batch_size = batch_size or 32
    n = None if dataset is not None else len(x)
    steps = dataset._cardinality if dataset is not None else max(1, math.ceil(n / batch_size))
    verbose = _verbosity(verbose)
    callbacks = _as_list(callbacks)
    history = History(model, {"verbose": verbose, "epochs": epochs, "steps": steps})
    model.stop_training = False
    _call(callbacks, "set_model", model)
    _call(callbacks, "on_train_begin", {})
    for epoch in range(initial_epoch, epochs):
        _call(callbacks, "on_epoch_begin", epoch, {})
        for metric in compiled.all_metrics():
            metric.reset_state()
        if dataset is not None:
            steps = 0
            for x_batch, y_batch in dataset:
                train_step(model, compiled, _array(x_batch, "x"), _array(y_batch, "y"))
                steps += 1
        else:
            order = _np.random.permutation(n) if shuffle else _np.arange(n)
            for index in _batches(n, batch_size, order):
                train_step(model, compiled, x[index], y[index])
        logs = compiled.logs()
        if validation_data is not None and (epoch + 1) % validation_freq == 0:
            if isinstance(validation_data, _data.Dataset):
                x_val, y_val = validation_data, None
            else:
                x_val, y_val = validation_data[:2]
            val = evaluate(model, x_val, y_val, batch_size=validation_batch_size or batch_size,
                           verbose=0, return_dict=True)
            logs.update({"val_" + k: v for k, v in val.items()})
        history._record(epoch, logs)
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}")
            print(f"{steps}/{steps} - {_format_logs(logs)}")
        _call(callbacks, "on_epoch_end", epoch, logs)
        if model.stop_training:
            break
    _call(callbacks, "on_train_end", {})
    model.history = history
    return history


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
             steps=None, callbacks=None, return_dict=False):
    compiled = _compiled(model, "evaluate")
    _refuse_unsupported(sample_weight=sample_weight, steps=steps)
    batch_size = batch_size or 32
    dataset = _dataset_batches(x, y, "evaluate")
    if dataset is None:
        x, y = _array(x, "x"), _array(y, "y")
        batches = ((x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size))
    else:
        batches = ((_array(a, "x"), _array(b, "y")) for a, b in dataset)
    for metric in compiled.all_metrics():
        metric.reset_state()
    count = 0
    for x_batch, y_batch in batches:
        y_pred = model(x_batch, training=False)
        _update_metrics(compiled, compiled.loss_value(y_batch, y_pred), y_batch, y_pred,
                        len(x_batch))
        count += 1
    logs = compiled.logs()
    if _verbosity(verbose):
        print(f"{count}/{count} - {_format_logs(logs)}")
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    _refuse_unsupported(steps=steps)
    batch_size = batch_size or 32
    if isinstance(x, _data.Dataset):
        batches = (_array(e[0] if isinstance(e, tuple) else e, "x") for e in x)
    else:
        x = _array(x, "x")
        batches = (x[i:i + batch_size] for i in range(0, len(x), batch_size))
    outputs = [_np.asarray(model(b, training=False).numpy()) for b in batches]
    if _verbosity(verbose):
        count = max(1, len(outputs))
        print(f"{count}/{count}")
    return _np.concatenate(outputs) if outputs else _np.zeros((0,), _np.float32)


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
    compiled = _compiled(model, "train_on_batch")
    _refuse_unsupported(sample_weight=sample_weight, class_weight=class_weight)
    for metric in compiled.all_metrics():
        metric.reset_state()
    train_step(model, compiled, _array(x, "x"), _array(y, "y"))
    logs = compiled.logs()
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def test_on_batch(model, x, y=None, sample_weight=None, return_dict=False):
    return evaluate(model, x, y, batch_size=len(x), verbose=0, sample_weight=sample_weight,
                    return_dict=return_dict)


def _compiled(model, method):
    compiled = getattr(model, "_compiled", None)
    if compiled is None:
        raise RuntimeError(f"You must call `compile()` before using the model ({method}).")
    return compiled


def _call(callbacks, hook, *args):
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)


def _size_text(count, itemsize=4):
    size = float(count * itemsize)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024


def summary_lines(model):
    """The lines of ``model.summary()`` in Keras 3's layout (a layer's output
    shape is the one of its last call, the batch axis shown as None)."""
    widths = (33, 24, 15)

    def row(cells, left="\u2502", middle="\u2502", right="\u2502"):
        texts = [f" {c:<{w - 2}} " if i < 2 else f" {c:>{w - 2}} " for i, (c, w) in
                 enumerate(zip(cells, widths))]
        return left + middle.join(texts) + right

    def rule(left, middle, right, fill):
        return left + middle.join(fill * w for w in widths) + right

    lines = [f'Model: "{model.name}"',
             rule("\u250f", "\u2533", "\u2513", "\u2501"),
             row(("Layer (type)", "Output Shape", "Param #"), "\u2503", "\u2503", "\u2503"),
             rule("\u2521", "\u2547", "\u2529", "\u2501")]
    layers = model.layers
    for i, layer in enumerate(layers):
        shape = getattr(layer, "_output_shape", None)
        shape_text = "?" if shape is None else str((None, *tuple(shape)[1:]))
        count = sum(int(_np.size(v.numpy())) for v in layer.variables)
        params = f"{count:,}" if layer.built else "0 (unbuilt)"
        lines.append(row((f"{layer.name} ({type(layer).__name__})", shape_text, params)))
        if i < len(layers) - 1:
            lines.append(rule("\u251c", "\u253c", "\u2524", "\u2500"))
    lines.append(rule("\u2514", "\u2534", "\u2518", "\u2500"))
    trainable = sum(int(_np.size(v.numpy())) for v in model.trainable_variables)
    total = sum(int(_np.size(v.numpy())) for v in model.variables)
    lines += [f" Total params: {total:,} ({_size_text(total)})",
              f" Trainable params: {trainable:,} ({_size_text(trainable)})",
              f" Non-trainable params: {total - trainable:,} ({_size_text(total - trainable)})"]
    return lines
