"""``tf.keras.optimizers.schedules``: learning rates called with the optimizer's step count."""

import numpy as _np


class LearningRateSchedule:
    def __call__(self, step):
        raise NotImplementedError


class _DecayOverSteps(LearningRateSchedule):
    """A rate of ``p = step / decay_steps`` (floored if ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps, self.decay_rate, self.staircase = decay_steps, decay_rate, staircase

    def __call__(self, step):
        p = float(_np.asarray(step)) / self.decay_steps
        return _np.float32(self._rate(_np.floor(p) if self.staircase else p))


class ExponentialDecay(_DecayOverSteps):
    """``initial_learning_rate * decay_rate ** p``."""

    def _rate(self, p):
        return self.initial_learning_rate * self.decay_rate ** p


class InverseTimeDecay(_DecayOverSteps):
    """``initial_learning_rate / (1 + decay_rate * p)``."""

    def _rate(self, p):
        return self.initial_learning_rate / (1 + self.decay_rate * p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` for steps up to ``boundaries[i]``, ``values[-1]`` after the last."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(values) != len(boundaries) + 1:
            raise ValueError("The length of boundaries should be 1 less than the length of "
                             f"values; got {len(boundaries)} and {len(values)}")
        self.boundaries, self.values = list(boundaries), list(values)

    def __call__(self, step):
        step = float(_np.asarray(step))
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return _np.float32(value)
        return _np.float32(self.values[-1])


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` to ``alpha`` times it over ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        if warmup_target is not None or warmup_steps:
            raise NotImplementedError("s2sgrad.tf's CosineDecay has no warmup")
        self.initial_learning_rate, self.decay_steps, self.alpha = \
            initial_learning_rate, decay_steps, alpha

    def __call__(self, step):
        p = min(float(_np.asarray(step)), self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + _np.cos(_np.pi * p))
        return _np.float32(self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha))
