"""Keras's built-in training loop: ``compile``, ``fit``, ``evaluate``, ``predict``.

What :class:`s2sgrad.tf.keras.Model` runs for a compiled model, written as
the custom loop a reader of TensorFlow's guides would write: for each batch,
the forward pass under a ``tf.GradientTape``, the loss (Keras's
``sum_over_batch_size``: the sum of the per-sample losses, weighted by
``sample_weight`` / ``class_weight``, over the number of samples) plus the
model's ``losses`` (regularizers, ``add_loss``), ``tape.gradient`` for the
trainable variables and the optimizer's ``apply_gradients``; the metrics
are updated from the same predictions. Inputs are arrays or tensors (a
list or dict of them for several inputs or outputs), or a ``tf.data``
dataset of ``(x, y)`` or ``(x, y, sample_weight)`` batches.

``fit`` returns a :class:`History` whose ``history`` maps ``"loss"`` and each
metric's name (sorted, as Keras 3 sorts its logs), then their ``"val_"``
versions, to one value per epoch (the loss is the mean over the epoch's
samples, as Keras reports it). Progress is Keras 3's: ``Epoch 1/5`` (when
there are several epochs) and ``32/32 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step -
accuracy: 0.8750 - loss: 0.4213`` with ``verbose=1`` (redrawn per batch on a
terminal, only the final line elsewhere; :class:`s2sgrad.tf.keras.utils.
Progbar`), ``32/32 - 0s - 2ms/step - ...`` with ``verbose=2``, nothing with
``verbose=0``; ``evaluate`` and ``predict`` print their one line likewise.
"""

import math

import numpy as _np

from s2sgrad.tape.tape import GradientTape
from s2sgrad.tf import data as _data
from s2sgrad.tf.keras import losses as _losses
from s2sgrad.tf.keras import metrics as _metrics
from s2sgrad.tf.keras import optimizers as _optimizers
from s2sgrad.tf.keras import utils as _utils

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
    """The optimizer, loss and metrics ``compile`` was given, resolved.

    A model with several outputs (a list or dict of them) takes one loss
    for every output, a list of them or a dict by output name, weighted by
    ``loss_weights``; its metrics are a list (for every output) or a dict by
    output name, logged as ``<output>_<metric>`` with each output's loss as
    ``<output>_loss``. Metrics are not weighted by ``sample_weight`` (as
    Keras's ``metrics=``); ``weighted_metrics`` are.
    """

    def __init__(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                 weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                 jit_compile="auto", **ignored):
        self.optimizer = _optimizers.get(optimizer)
        self._loss_spec, self._metric_spec = loss, metrics
        self._weighted_spec, self._loss_weights = weighted_metrics, loss_weights
        self.loss_tracker = _metrics.Mean(name="loss")
        self._built_for = None
        self.metrics, self.weighted, self.output_losses, self.losses = [], [], [], []
        if not isinstance(loss, (list, tuple, dict)):
            self._build(None)

    def _build(self, names):
        """Resolve the losses and metrics for outputs ``names`` (None: one output)."""
        self._built_for = names
        keys = [None] if names is None else list(names)

        def per_output(spec, what):
            if isinstance(spec, dict):
                unknown = set(spec) - set(keys)
                if unknown:
                    raise ValueError(f"In the dict argument `{what}`, key {sorted(unknown)[0]!r} "
                                     f"does not correspond to any model output. Received: "
                                     f"{what}={spec!r}")
                return [spec.get(k) for k in keys]
            if isinstance(spec, (list, tuple)) and names is not None and what == "loss":
                if len(spec) != len(keys):
                    raise ValueError(f"For a model with {len(keys)} outputs, `loss` should "
                                     f"have {len(keys)} entries; received {len(spec)}")
                return list(spec)
            if what != "loss" and isinstance(spec, (list, tuple)) and names is not None \
                    and len(spec) == len(keys) and all(isinstance(m, (list, tuple))
                                                       for m in spec):
                return list(spec)
            return [spec for _ in keys]

        losses = per_output(self._loss_spec, "loss")
        weights = (per_output(self._loss_weights, "loss_weights")
                   if self._loss_weights is not None else [1.0] * len(keys))
        self.losses = []
        metric_lists, weighted_lists = (per_output(self._metric_spec, "metrics"),
                                        per_output(self._weighted_spec, "weighted_metrics"))
        self.metrics, self.weighted, self.output_losses = [], [], []
        for i, key in enumerate(keys):
            fn, accuracy = _resolve_loss(losses[i])
            self.losses.append((fn, 1.0 if weights[i] is None else float(weights[i])))
            prefix = "" if key is None else f"{key}_"
            for target, specs in ((self.metrics, metric_lists[i]),
                                  (self.weighted, weighted_lists[i])):
                for spec in _as_list(specs):
                    metric = _resolve_metric(spec, accuracy)
                    if prefix:
                        metric.name = prefix + metric.name
                    if target is self.weighted and any(m.name == metric.name
                                                       for _, m in self.metrics):
                        metric.name = "weighted_" + metric.name  # (Keras's name on a clash)
                    target.append((i, metric))
            if key is not None and fn is not None:
                self.output_losses.append((i, _metrics.Mean(name=f"{key}_loss")))

    @property
    def loss(self):
        return self.losses[0][0] if self.losses else None

    def _outputs(self, y, y_pred):
        """Targets and predictions as matching lists, and the output names."""
        if isinstance(y_pred, dict):
            names = list(y_pred)
            if self._built_for != names:
                self._build(names)
            if not isinstance(y, dict):
                y = dict(zip(names, _as_list(y)))
            missing = [k for k in names if k not in y]
            if missing:
                raise ValueError(f"The targets have no entry for the output {missing[0]!r}")
            return [y[k] for k in names], [y_pred[k] for k in names]
        if isinstance(y_pred, (list, tuple)):
            names = list(self.output_names or [f"output_{i}" for i in range(len(y_pred))])
            if self._built_for != names:
                self._build(names)
            if isinstance(y, dict):
                y = [y[k] for k in names]
            return list(y), list(y_pred)
        if self._built_for is not None:
            self._build(None)
        return [y], [y_pred]

    output_names = None

    def loss_value(self, y, y_pred, sample_weight=None):
        ys, preds = self._outputs(y, y_pred)
        total = None
        for i, ((fn, weight), target, pred) in enumerate(zip(self.losses, ys, preds)):
            if fn is None:
                continue
            weights = sample_weight[i] if isinstance(sample_weight, list) else sample_weight
            value = _reduce(fn, target, pred, weights)
            for j, tracker in self.output_losses:
                if j == i:
                    tracker.update_state(value, sample_weight=len(pred))
            value = value * weight if weight != 1.0 else value
            total = value if total is None else total + value
        if total is None:
            raise ValueError("No loss to compute: pass a loss to Model.compile(loss=...)")
        self._last = (ys, preds, sample_weight)
        return total

    def update_metrics(self, y, y_pred):
        ys, preds, sample_weight = self._last
        for i, metric in self.metrics:
            metric.update_state(ys[i], preds[i])
        for i, metric in self.weighted:
            weights = sample_weight[i] if isinstance(sample_weight, list) else sample_weight
            metric.update_state(ys[i], preds[i], sample_weight=weights)

    def all_metrics(self):
        return ([self.loss_tracker] + [m for _, m in self.output_losses]
                + [m for _, m in self.metrics] + [m for _, m in self.weighted])

    def logs(self, prefix=""):
        return {prefix + m.name: float(_np.asarray(m.result())) for m in self.all_metrics()}


def _reduce(fn, y, y_pred, sample_weight):
    """Keras's ``sum_over_batch_size``: the weighted sum of the per-sample losses
    over their number (a ``Loss`` object reduces itself)."""
    if isinstance(fn, _losses.Loss):
        return fn(y, y_pred, sample_weight=sample_weight)
    value = fn(y, y_pred)
    if not getattr(value, "ndim", 0):
        return value if sample_weight is None else value * _np.float32(
            _np.mean(sample_weight))
    if sample_weight is not None:
        weights = _np.asarray(sample_weight, _np.float32)
        while weights.ndim > value.ndim and weights.shape[-1] == 1:
            weights = weights[..., 0]
        value = value * weights.astype(value.dtype)
    return _np.sum(value) / _np.asarray(max(int(_np.size(value)), 1), value.dtype)


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


def _is_several(value):
    """A list, tuple or dict of arrays (several inputs or outputs), not one nested list."""
    if isinstance(value, dict):
        return True
    return (isinstance(value, (list, tuple)) and len(value) > 0
            and all(hasattr(v, "shape") and getattr(v, "ndim", 0) > 0 for v in value))


def _array(value, what=None):
    """``value`` as NumPy arrays: one array, or a list/tuple/dict of them."""
    if value is None:
        return None
    if _is_several(value):
        if isinstance(value, dict):
            return {k: _array(v) for k, v in value.items()}
        return [_array(v) for v in value]
    if hasattr(value, "numpy"):
        value = value.numpy()
    return _np.asarray(value)


def _leaves(value):
    if isinstance(value, dict):
        return [leaf for k in value for leaf in _leaves(value[k])]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def _take(value, index):
    """The samples ``index`` (a slice or an index array) of each array in ``value``."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: _take(v, index) for k, v in value.items()}
    if isinstance(value, list):
        return [_take(v, index) for v in value]
    return value[index]


def _count(value):
    """The number of samples in ``value`` (its arrays must agree)."""
    counts = {len(leaf) for leaf in _leaves(value)}
    if len(counts) != 1:
        raise ValueError(f"Data cardinality is ambiguous: the arrays hold "
                         f"{sorted(counts)} samples")
    return counts.pop()


def _dataset_batches(x, y, what):
    """The batches of a tf.data dataset given as ``x``, or None for arrays."""
    if not isinstance(x, _data.Dataset):
        return None
    if y is not None:
        raise ValueError(f"Model.{what}: y must not be given when x is a dataset "
                         "(its elements are (x, y) or (x, y, sample_weight) tuples)")
    return x


def _unpack(element):
    """(x, y, sample_weight) of a dataset element, as Keras unpacks it."""
    if isinstance(element, tuple):
        if not 1 <= len(element) <= 3:
            raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                             f"`(x, y, sample_weight)`, found: {element!r}")
        parts = [_array(part) for part in element] + [None] * (3 - len(element))
        return tuple(parts)
    return _array(element), None, None


def _class_weights(y, class_weight):
    """Per-sample weights from ``class_weight`` (a dict: class index -> weight)."""
    if isinstance(y, (list, dict)):
        raise ValueError("`class_weight` is only supported for models with a single output.")
    labels = _np.asarray(y)
    if labels.ndim >= 2 and labels.shape[-1] > 1:
        labels = _np.argmax(labels, axis=-1)
    else:
        labels = _np.round(labels.reshape(len(labels), -1)[:, 0]).astype(_np.int64)
    largest = max(int(k) for k in class_weight)
    table = _np.ones(max(largest, int(labels.max(initial=0))) + 1, _np.float32)
    for key, weight in class_weight.items():
        table[int(key)] = weight
    return table[labels]


def _sorted_logs(compiled, prefix=""):
    return dict(sorted(compiled.logs(prefix).items()))


def _verbosity(verbose):
    return 1 if verbose == "auto" else int(verbose)


def train_step(model, compiled, x, y, sample_weight=None):
    """One optimizer step on a batch; updates the loss tracker and metrics."""
    with GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = compiled.loss_value(y, y_pred, sample_weight)
        loss = _with_added_losses(model, loss)
    variables = model.trainable_variables
    grads = tape.gradient(loss, variables)
    compiled.optimizer.apply_gradients(
        [(g, v) for g, v in zip(grads, variables) if g is not None])
    _update_metrics(compiled, loss, y, y_pred, _count(x))


def _with_added_losses(model, loss):
    """The loss plus the model's ``losses`` (regularizers, ``add_loss``), as Keras adds them."""
    extra = getattr(model, "losses", None)
    for value in extra or ():
        loss = loss + _np.sum(value)
    return loss


def _update_metrics(compiled, loss, y, y_pred, count):
    compiled.loss_tracker.update_state(loss, sample_weight=count)
    compiled.update_metrics(y, y_pred)


def _epoch_batches(x, y, sample_weight, dataset, batch_size, shuffle):
    """One epoch's (x, y, sample_weight) batches."""
    if dataset is not None:
        for element in dataset:
            yield _unpack(element)
        return
    n = _count(x)
    if shuffle and shuffle != "batch":
        order = _np.random.permutation(n)
    else:
        order = _np.arange(n)
    for start in range(0, n, batch_size):
        index = order[start:start + batch_size]
        yield _take(x, index), _take(y, index), _take(sample_weight, index)


class _Batches:
    """The (x, y, sample_weight) batches of each epoch; with ``steps`` (Keras's
    ``steps_per_epoch``), that many per epoch, a dataset's iterator carried on
    from one epoch to the next (so a repeated dataset goes on)."""

    def __init__(self, x, y, sample_weight, dataset, batch_size, shuffle, steps=None):
        self.args = (x, y, sample_weight, dataset, batch_size, shuffle)
        self.steps, self.dataset = steps, dataset
        self._iterator = None

    def epoch(self):
        if self.steps is None:
            yield from _epoch_batches(*self.args)
            return
        for _ in range(self.steps):
            if self._iterator is None:
                self._iterator = _epoch_batches(*self.args)
            try:
                yield next(self._iterator)
            except StopIteration:
                self._iterator = None
                if self.dataset is not None:  # (Keras: the data ran out; stop this epoch)
                    return
                self._iterator = _epoch_batches(*self.args)
                yield next(self._iterator)
        if self.dataset is None:
            self._iterator = None


def _steps(x, dataset, batch_size):
    if dataset is not None:
        n = dataset._cardinality
        return n if n >= 0 else None
    return max(1, math.ceil(_count(x) / batch_size))


def _split_validation(x, y, sample_weight, validation_split):
    """Keras's ``validation_split``: the last fraction of the samples, before shuffling."""
    split = int(_count(x) * (1.0 - validation_split))
    head, tail = slice(0, split), slice(split, None)
    validation = (_take(x, tail), _take(y, tail), _take(sample_weight, tail))
    return _take(x, head), _take(y, head), _take(sample_weight, head), validation


class _Progress:
    """Keras's ProgbarLogger: ``Epoch i/n`` (when n > 1) and a progress line per epoch."""

    def __init__(self, verbose, steps, epochs=1):
        self.verbose, self.steps, self.epochs = verbose, steps, epochs
        self.bar = None

    def begin(self, epoch=None):
        if not self.verbose:
            return
        self.bar = _utils.Progbar(self.steps, verbose=self.verbose)
        if epoch is not None and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}")

    def batch(self, step, logs=None):
        if self.verbose == 1:
            self.bar.update(step, list((logs or {}).items()), finalize=False)

    def end(self, step, logs=None):
        if self.verbose:
            if self.bar.target is None:
                self.bar.target = step
            self.bar.update(self.bar.target, list((logs or {}).items()), finalize=True)


def fit(model, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
        validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
        sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
        validation_batch_size=None, validation_freq=1):
    compiled = _compiled(model, "fit")
    dataset = _dataset_batches(x, y, "fit")
    if dataset is None:
        x, y, sample_weight = _array(x), _array(y), _array(sample_weight)
        if y is None:
            raise ValueError("Model.fit needs targets: fit(x, y, ...)")
        if _count(x) != _count(y):
            raise ValueError("Data cardinality is ambiguous. Make sure all arrays contain the "
                             f"same number of samples.'x' sizes: {_count(x)}\n"
                             f"'y' sizes: {_count(y)}")
        if validation_data is None and validation_split:
            x, y, sample_weight, validation_data = _split_validation(
                x, y, sample_weight, validation_split)
        if class_weight is not None:
            weights = _class_weights(y, class_weight)
            sample_weight = weights if sample_weight is None else sample_weight * weights
    else:
        if validation_split:
            raise ValueError("`validation_split` is only supported for Tensors or NumPy "
                             "arrays, found following types in the input: "
                             f"{[type(x)]}")
        if sample_weight is not None:
            raise ValueError("`sample_weight` argument is not supported when using a dataset "
                             "as input; the dataset's elements carry it: (x, y, sample_weight)")
    batch_size = batch_size or 32
    steps = steps_per_epoch or _steps(x, dataset, batch_size)
    if steps is None and dataset is not None and dataset._cardinality < 0 and \
            dataset._cardinality == _data.INFINITE_CARDINALITY:
        raise ValueError("When providing an infinite dataset, you must specify the number of "
                         "steps to run (`steps_per_epoch`).")
    verbose = _verbosity(verbose)
    callbacks = _as_list(callbacks)
    batches = _Batches(x, y, sample_weight, dataset, batch_size, shuffle, steps_per_epoch)
    history = History(model, {"verbose": verbose, "epochs": epochs, "steps": steps})
    progress = _Progress(verbose, steps, epochs)
    model.stop_training = False
    _call(callbacks, "set_model", model)
    _call(callbacks, "set_params", dict(history.params))
    _call(callbacks, "on_train_begin", {})
    for epoch in range(initial_epoch, epochs):
        for metric in compiled.all_metrics():
            metric.reset_state()
        _call(callbacks, "on_epoch_begin", epoch, {})
        progress.begin(epoch)
        step = 0
        for step, (x_batch, y_batch, w_batch) in enumerate(batches.epoch(), 1):
            if class_weight is not None and dataset is not None:
                weights = _class_weights(y_batch, class_weight)
                w_batch = weights if w_batch is None else w_batch * weights
            _call(callbacks, "on_train_batch_begin", step - 1, {})
            train_step(model, compiled, x_batch, y_batch, w_batch)
            logs = _sorted_logs(compiled)
            _call(callbacks, "on_train_batch_end", step - 1, logs)
            progress.batch(step, logs)
            if model.stop_training:
                break
        logs = _sorted_logs(compiled)
        if validation_data is not None and (epoch + 1) % validation_freq == 0:
            if isinstance(validation_data, _data.Dataset):
                x_val, y_val, w_val = validation_data, None, None
            else:
                x_val, y_val, w_val = (tuple(validation_data) + (None,))[:3]
            val = evaluate(model, x_val, y_val, batch_size=validation_batch_size or batch_size,
                           verbose=0, sample_weight=w_val, steps=validation_steps,
                           return_dict=True)
            logs.update({"val_" + k: v for k, v in val.items()})
        # (Keras's order: the user's callbacks, which may add to the logs, then the
        # History and the progress bar)
        _call(callbacks, "on_epoch_end", epoch, logs)
        history._record(epoch, logs)
        progress.end(step, logs)
        if model.stop_training:
            break
    _call(callbacks, "on_train_end", dict(logs) if epochs > initial_epoch else {})
    model.history = history
    return history


def evaluate(model, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
             steps=None, callbacks=None, return_dict=False):
    compiled = _compiled(model, "evaluate")
    batch_size = batch_size or 32
    dataset = _dataset_batches(x, y, "evaluate")
    if dataset is None:
        x, y, sample_weight = _array(x), _array(y), _array(sample_weight)
    batches = _Batches(x, y, sample_weight, dataset, batch_size, False, steps).epoch()
    callbacks = _as_list(callbacks)
    progress = _Progress(_verbosity(verbose), steps or _steps(x, dataset, batch_size))
    for metric in compiled.all_metrics():
        metric.reset_state()
    _call(callbacks, "set_model", model)
    _call(callbacks, "on_test_begin", {})
    progress.begin()
    count = 0
    for count, (x_batch, y_batch, w_batch) in enumerate(batches, 1):
        _call(callbacks, "on_test_batch_begin", count - 1, {})
        y_pred = model(x_batch, training=False)
        loss = _with_added_losses(model, compiled.loss_value(y_batch, y_pred, w_batch))
        _update_metrics(compiled, loss, y_batch, y_pred, _count(x_batch))
        logs = _sorted_logs(compiled)
        _call(callbacks, "on_test_batch_end", count - 1, logs)
        progress.batch(count, logs)
    logs = _sorted_logs(compiled)
    progress.end(count, logs)
    _call(callbacks, "on_test_end", logs)
    if return_dict:
        return logs
    return _in_metric_order(compiled, logs)


def _in_metric_order(compiled, logs):
    """``evaluate``'s list: the loss first, then the metrics in compile's order."""
    names = [m.name for m in compiled.all_metrics()]
    values = [logs[n] for n in names if n in logs]
    values += [logs[k] for k in sorted(logs) if k not in names]
    return values[0] if len(values) == 1 else values


def _concat_outputs(outputs):
    first = outputs[0]
    if isinstance(first, dict):
        return {k: _concat_outputs([o[k] for o in outputs]) for k in first}
    if isinstance(first, (list, tuple)):
        return [_concat_outputs([o[i] for o in outputs]) for i in range(len(first))]
    return _np.concatenate(outputs)


def _numpy(value):
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numpy(v) for v in value]
    return _np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def predict(model, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
    batch_size = batch_size or 32
    dataset = x if isinstance(x, _data.Dataset) else None
    if dataset is None:
        x = _array(x)
    callbacks = _as_list(callbacks)
    progress = _Progress(_verbosity(verbose), steps or _steps(x, dataset, batch_size))
    _call(callbacks, "set_model", model)
    _call(callbacks, "on_predict_begin", {})
    progress.begin()
    outputs = []
    for step, (x_batch, _, _) in enumerate(
            _Batches(x, None, None, dataset, batch_size, False, steps).epoch(), 1):
        _call(callbacks, "on_predict_batch_begin", step - 1, {})
        outputs.append(_numpy(model(x_batch, training=False)))
        _call(callbacks, "on_predict_batch_end", step - 1, {"outputs": outputs[-1]})
        progress.batch(step)
    progress.end(len(outputs))
    _call(callbacks, "on_predict_end", {})
    return _concat_outputs(outputs) if outputs else _np.zeros((0,), _np.float32)


def train_on_batch(model, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
    compiled = _compiled(model, "train_on_batch")
    x, y, sample_weight = _array(x), _array(y), _array(sample_weight)
    if class_weight is not None:
        weights = _class_weights(y, class_weight)
        sample_weight = weights if sample_weight is None else sample_weight * weights
    for metric in compiled.all_metrics():
        metric.reset_state()
    train_step(model, compiled, x, y, sample_weight)
    logs = _sorted_logs(compiled)
    if return_dict:
        return logs
    return _in_metric_order(compiled, logs)


def test_on_batch(model, x, y=None, sample_weight=None, return_dict=False):
    return evaluate(model, x, y, batch_size=_count(_array(x)), verbose=0,
                    sample_weight=sample_weight, return_dict=return_dict)


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
