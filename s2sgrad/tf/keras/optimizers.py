"""``tf.keras.optimizers``: s2sgrad's optimizers with a TF-flavoured step counter."""

import numpy as _np

from s2sgrad import optimizers as _base
from s2sgrad.tf._types import ResourceVariable


def _tf_flavoured(base):
    """``base`` with a step counter that prints as TensorFlow's variables do."""
    return type(base.__name__, (base,), {"__doc__": base.__doc__, "__module__": __name__,
                                         "_variable_class": ResourceVariable})


Optimizer = _tf_flavoured(_base.Optimizer)
SGD = _tf_flavoured(_base.SGD)
Adam = _tf_flavoured(_base.Adam)
AdamW = _tf_flavoured(_base.AdamW)
Adamax = _tf_flavoured(_base.Adamax)
Nadam = _tf_flavoured(_base.Nadam)
RMSprop = _tf_flavoured(_base.RMSprop)
Adagrad = _tf_flavoured(_base.Adagrad)


class schedules:  # noqa: N801  (Keras's module tf.keras.optimizers.schedules)
    """Learning-rate schedules: called with the optimizer's step count."""

    class LearningRateSchedule:
        def __call__(self, step):
            raise NotImplementedError

    class ExponentialDecay(LearningRateSchedule):
        """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floored if ``staircase``)."""

        def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                     name="ExponentialDecay"):
            self.initial_learning_rate = initial_learning_rate
            self.decay_steps, self.decay_rate, self.staircase = decay_steps, decay_rate, staircase

        def __call__(self, step):
            p = float(_np.asarray(step)) / self.decay_steps
            if self.staircase:
                p = _np.floor(p)
            return _np.float32(self.initial_learning_rate * self.decay_rate ** p)

    class InverseTimeDecay(LearningRateSchedule):
        """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``."""

        def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                     name="InverseTimeDecay"):
            self.initial_learning_rate = initial_learning_rate
            self.decay_steps, self.decay_rate, self.staircase = decay_steps, decay_rate, staircase

        def __call__(self, step):
            p = float(_np.asarray(step)) / self.decay_steps
            if self.staircase:
                p = _np.floor(p)
            return _np.float32(self.initial_learning_rate / (1 + self.decay_rate * p))

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


_BY_NAME = {"sgd": SGD, "adam": Adam, "adamw": AdamW, "adamax": Adamax, "nadam": Nadam,
            "rmsprop": RMSprop, "adagrad": Adagrad}


def get(identifier):
    """An optimizer from its name (``"adam"``) or the optimizer itself."""
    if isinstance(identifier, _base.Optimizer):
        return identifier
    try:
        return _BY_NAME[str(identifier).lower()]()
    except KeyError:
        raise ValueError(f"Could not interpret optimizer identifier: {identifier}") from None
