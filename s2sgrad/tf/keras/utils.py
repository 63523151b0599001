"""``tf.keras.utils``: ``to_categorical``, ``set_random_seed`` and ``Progbar``."""

import random as _python_random
import sys as _sys
import time as _time

import numpy as _np

from s2sgrad.tf import random as _random


def to_categorical(x, num_classes=None):
    """One-hot rows (float32) of integer labels ``x``; a trailing axis of 1 is dropped."""
    labels = _np.asarray(x.numpy() if hasattr(x, "numpy") else x).astype(_np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    return (labels[..., None] == _np.arange(num_classes)).astype(_np.float32)


def set_random_seed(seed):
    """Seed Python's, NumPy's and ``tf.random``'s generators."""
    if not isinstance(seed, int):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed!r}")
    _python_random.seed(seed)
    _np.random.seed(seed)
    _random.set_seed(seed)


class Progbar:
    """``tf.keras.utils.Progbar``: Keras 3's progress line, as ``fit`` prints it.

    ``update(current, values)`` with ``values`` a list of ``(name, value)``:
    a value is averaged over the steps since it was first given, unless its
    name is in ``stateful_metrics`` or the update is the last one
    (``finalize``, by default when ``current`` reaches ``target``), which
    shows it as given. ``verbose=1`` draws ``32/32 ━━━━━━━━━━━━━━━━━━━━ 0s
    2ms/step - loss: 0.4213``: redrawn in place with Keras's colours on a
    terminal, elsewhere (a file, a pipe, a captured stream) only the final
    line, in plain text. ``verbose=2`` prints one line when done, ``32/32 -
    0s - 2ms/step - loss: 0.4213``; ``verbose=0`` nothing.
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step"):
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self._values, self._order = {}, []
        self._seen = 0
        self._start = _time.time()
        self._last_update = 0.0
        self._after_first_step = None
        self._previous_width = 0

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for name, value in values or ():
            if name not in self._order:
                self._order.append(name)
            value = float(_np.mean(_np.asarray(value.numpy() if hasattr(value, "numpy")
                                               else value)))
            if finalize or name in self.stateful_metrics:
                self._values[name] = [value, 1]
            else:
                weight = max(current - self._seen, 1)
                total = self._values.setdefault(name, [0.0, 0])
                total[0] += value * weight
                total[1] += weight
        self._seen = current
        now = _time.time()
        per_step = self._step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._last_update = now
            self._draw(current, finalize, now, per_step)
        elif self.verbose == 2 and finalize and self.target:
            count = f"{current:{len(str(self.target))}d}/{self.target}"
            text = f"{count} - {now - self._start:.0f}s -{_format_time(per_step, self.unit_name)}"
            _write(text + self._metrics_text(signed=False) + "\n")

    def add(self, n, values=None):
        self.update(self._seen + n, values)

    def _draw(self, current, finalize, now, per_step):
        styled = _sys.stdout.isatty() if hasattr(_sys.stdout, "isatty") else False
        if not styled and not finalize:
            return
        bold, green, grey, plain = (("\x1b[1m", "\33[32m", "\33[37m", "\x1b[0m") if styled
                                    else ("", "", "", ""))
        if self.target:
            done = int(self.width * current / self.target)
            count = f"{current:{len(str(self.target))}d}/{self.target}"
            bar = f"{bold}{count}{plain} "
            if done > 0:
                bar += f"{green}{'━' * done}{plain}"
            bar += f"{grey}{'━' * (self.width - done)}{plain}"
            visible = len(count) + 1 + self.width
        else:
            bar = f"{current:7d}/Unknown"
            visible = len(bar)
        if self.target and not finalize:
            eta = int(per_step * (self.target - current))
            elapsed = (f"{eta // 3600}:{eta % 3600 // 60:02d}:{eta % 60:02d}" if eta > 3600
                       else f"{eta // 60}:{eta % 60:02d}" if eta > 60 else f"{eta}s")
        else:
            elapsed = f"{now - self._start:.0f}s"
        details = _format_time(per_step, self.unit_name) + self._metrics_text(signed=True)
        info = f" {bold}{elapsed}{plain}{details}"
        visible += 1 + len(elapsed) + len(details)
        message = ("\b" * self._previous_width + "\r") if styled else ""
        message += bar + info
        if styled and self._previous_width > visible:
            message += " " * (self._previous_width - visible)
        self._previous_width = visible
        _write(message + ("\n" if finalize else ""))

    def _metrics_text(self, signed):
        text = ""
        for name in self._order:
            total, count = self._values[name]
            mean = total / max(1, count)
            large = abs(mean) > 1e-3 if signed else mean > 1e-3
            text += f" - {name}: {mean:.4f}" if large else f" - {name}: {mean:.4e}"
        return text

    def _step_duration(self, current, now):
        if not current:
            return 0
        if self._after_first_step is not None and current > 1:
            duration = (now - self._after_first_step) / (current - 1)
        else:
            duration = (now - self._start) / current
        if current == 1:
            self._after_first_step = now
        return duration


def _format_time(seconds, unit):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/{unit}"
    return f" {seconds * 1e6:.0f}us/{unit}"


def _write(text):
    _sys.stdout.write(text)
    _sys.stdout.flush()
