"""Optimizers (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad) and gradient
clipping, as in Keras.

Defaults and update formulas follow Keras 3 / tf_keras exactly, including
the order of float operations: every hyper-parameter is cast to the
variable's dtype first and each step of a formula is rounded to that dtype
(``x - lr * g`` rounds ``lr * g`` and the difference separately, as
TensorFlow does), so float32 training reproduces TensorFlow's numbers.

``apply_gradients(grads_and_vars)`` skips ``None`` gradients with a
warning (all ``None`` is a ValueError); ``minimize(loss, var_list)`` takes
a zero-argument ``loss`` callable. ``clipnorm``, ``global_clipnorm`` and
``clipvalue`` clip gradients before the update.
"""

import warnings
from collections.abc import Sequence

import numpy as np

from s2sgrad.tape.tensor import _NUMERIC_SCALARS, Tensor
from s2sgrad.tape.variable import Variable

_ONE = np.int64(1)

__all__ = [
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Optimizer",
    "RMSprop",
    "SGD",
    "clip_by_global_norm",
    "clip_by_norm",
    "clip_by_value",
]


# -- clipping (work on Tensors, recorded, and on NumPy arrays alike) ---------


def clip_by_norm(t, clip_norm, axes=None):
    """``t`` scaled down so its L2 norm (over ``axes``) is at most ``clip_norm``.

    >>> import numpy as np, s2sgrad as sg
    >>> sg.clip_by_norm(np.array([3.0, 4.0]), 1.0)
    array([0.6, 0.8])
    """
    t = _as_array_like(t)
    l2sum = np.sum(t * t, axis=_axes(axes), keepdims=True)
    positive = l2sum > 0
    l2sum_safe = np.where(positive, l2sum, np.ones_like(l2sum))
    l2norm = np.where(positive, np.sqrt(l2sum_safe), l2sum)
    return t * clip_norm / np.maximum(l2norm, clip_norm)


def tensor_list(t_list):
    """``t_list`` as a list; TypeError unless it is a sequence (not a str).

    TensorFlow's rule for ``clip_by_global_norm`` and ``global_norm``: a
    single tensor or array is refused rather than iterated as its rows.
    """
    if not isinstance(t_list, Sequence) or isinstance(t_list, str):
        raise TypeError(
            f"`t_list` should be a sequence of tensors. Received {type(t_list).__name__}."
        )
    return list(t_list)


def global_norm(t_list):
    """``sqrt(sum of squares of every entry of every tensor)``; None entries skipped."""
    total = None
    for t in tensor_list(t_list):
        if t is None:
            continue
        t = _as_array_like(t)
        sq = np.sum(t * t)
        total = sq if total is None else total + sq
    if total is None:
        return np.float32(0.0)
    return np.sqrt(total)


def clip_by_global_norm(t_list, clip_norm, use_norm=None):
    """Scale every tensor by ``clip_norm / max(global_norm, clip_norm)``.

    Returns ``(clipped_list, global_norm)``; ``None`` entries stay ``None``.
    A non-finite global norm makes every clipped value NaN, as in TensorFlow.

    >>> import numpy as np, s2sgrad as sg
    >>> clipped, norm = sg.clip_by_global_norm([np.array([3.0]), np.array([4.0])], 1.0)
    >>> print(clipped, norm)
    [array([0.6]), array([0.8])] 5.0
    """
    t_list = tensor_list(t_list)
    if use_norm is None:
        use_norm = global_norm(t_list)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = clip_norm * np.minimum(1.0 / use_norm, 1.0 / clip_norm)
        scale = scale + (use_norm - use_norm)  # NaN when the norm is not finite
    clipped = []
    for t in t_list:
        if t is None:
            clipped.append(None)
            continue
        t = _as_array_like(t)
        s = scale
        dtype = t.dtype
        if np.result_type(s) != dtype:
            s = _cast_like(s, dtype)
        clipped.append(t * s)
    return clipped, use_norm


def clip_by_value(t, clip_value_min, clip_value_max):
    """``t`` with entries below/above the bounds replaced by the bounds.

    >>> import numpy as np, s2sgrad as sg
    >>> sg.clip_by_value(np.array([-2.0, 0.5, 3.0]), -1.0, 1.0)
    array([-1. ,  0.5,  1. ])
    """
    t = _as_array_like(t)
    return np.minimum(np.maximum(t, clip_value_min), clip_value_max)


def _as_array_like(t):
    if isinstance(t, (Tensor, np.ndarray, np.generic)):
        return t
    return np.asarray(t)


def _axes(axes):
    if axes is None or np.ndim(axes) == 0:
        return axes
    return tuple(axes)


def _cast_like(value, dtype):
    if isinstance(value, Tensor):
        from s2sgrad.tape.tensor import cast

        return cast(value, dtype=dtype)
    return np.asarray(value, dtype=dtype)[()]


# -- the pairs given to apply_gradients -------------------------------------------------


def _report_skipped(skipped, every_pair):
    """Warn about the variables ``apply_gradients`` skipped for want of a gradient.

    As in Keras: a ValueError instead when that is ``every_pair``.
    """
    names = [getattr(v, "name", repr(v)) for v in skipped]
    if every_pair:
        raise ValueError(f"No gradients provided for any variable: {names}.")
    warnings.warn(
        f"Gradients do not exist for variables {names} when minimizing "
        "the loss. If you're using `model.compile()`, did you forget to "
        "provide a `loss` argument?",
        stacklevel=3,
    )


def _value_of(variable):
    """The current value of ``variable``; a TypeError for anything but a Variable."""
    if not isinstance(variable, Variable):
        raise TypeError(f"can only update Variables, got {type(variable).__name__}")
    return variable._value


def _gradient_value(g, value):
    """The gradient ``g`` (a Tensor or NumPy value) as a NumPy value of ``value``'s dtype.

    A NumPy scalar of the value's own type (the common case for scalar
    variables) needs no conversion.
    """
    if isinstance(g, Tensor):
        g = g._value
    tv = type(value)
    if type(g) is tv and tv in _NUMERIC_SCALARS:
        return g
    if not isinstance(g, (np.ndarray, np.generic)) or g.dtype != value.dtype:
        return np.asarray(g, dtype=value.dtype)[()]
    return g


# -- the optimizers ------------------------------------------------------------------


class Optimizer:
    """Base class: gradient clipping, the step counter, per-variable state."""

    #: Class of the ``iterations`` counter (the tf flavour prints like TF).
    _variable_class = Variable

    def __init__(
        self,
        learning_rate,
        name,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        **kwargs,
    ):
        unknown = set(kwargs) - {
            "use_ema",
            "ema_momentum",
            "ema_overwrite_frequency",
            "loss_scale_factor",
            "gradient_accumulation_steps",
            "jit_compile",
            "decay",
        }
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {sorted(unknown)}")
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self._learning_rate = learning_rate
        self._iterations = self._variable_class(
            np.int64(0), trainable=False, name="iteration"
        )
        #: id(variable) -> (variable, list of state arrays)
        self._state = {}
        self._lr_cast = {}

    def __setstate__(self, state):
        # (unpickled: the slots are keyed by the ids of the restored variables)
        self.__dict__.update(state)
        self._state = {id(var): (var, slots) for var, slots in state["_state"].values()}

    # -- public state --------------------------------------------------------
    @property
    def iterations(self):
        """The number of update steps applied so far (an int64 Variable)."""
        return self._iterations

    @property
    def learning_rate(self):
        return self._current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = value
        self._lr_cast.clear()

    @property
    def variables(self):
        """The optimizer's own state: the counter and every slot array."""
        out = [self._iterations]
        for _, slots in self._state.values():
            out.extend(slots)
        return out

    def get_config(self):
        config = {
            "name": self.name,
            "learning_rate": float(np.asarray(self._current_learning_rate())),
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
        }
        config.update(self._hyper())
        return config

    def _hyper(self):
        return {}

    # -- applying gradients ------------------------------------------------------
    def apply_gradients(self, grads_and_vars, name=None, **kwargs):
        """Update each variable with its gradient; returns ``iterations``.

        Pairs whose gradient is ``None`` are skipped with a warning (a
        ValueError when every gradient is ``None``), as in Keras.
        """
        pairs = list(grads_and_vars)
        if self.clipnorm or self.global_clipnorm or self.clipvalue:
            pairs = self._clipped(pairs)
        lr = self._learning_rate
        if callable(lr) or isinstance(lr, Tensor):
            lr = self._current_learning_rate()
        skipped = self._apply(pairs, lr)
        if skipped:
            _report_skipped(skipped, len(skipped) == len(pairs))
        it = self._iterations
        it._set(it._value + _ONE)
        return it

    def _clipped(self, pairs):
        """``pairs`` with every gradient clipped; the ``None`` ones last, left as they are."""
        present = [(g, v) for g, v in pairs if g is not None]
        grads = self._clip([g._value if isinstance(g, Tensor) else g for g, _ in present])
        clipped = [(g, v) for g, (_, v) in zip(grads, present)]
        return clipped + [(g, v) for g, v in pairs if g is None]

    def _apply(self, pairs, lr):
        """Update each variable with a gradient; returns the variables skipped
        because their gradient is ``None``."""
        lr_as, step = self._lr_as, self._step
        skipped = []
        for g, v in pairs:
            if g is None:
                skipped.append(v)
                continue
            value = _value_of(v)
            step(v, value, _gradient_value(g, value), lr_as(lr, value.dtype))
        return skipped

    def _step(self, v, value, g, lr_v):
        """One variable's update: weight decay, then the optimizer's rule."""
        if self.weight_decay:
            wd = np.asarray(self.weight_decay, dtype=value.dtype)[()]
            v._set(value - value * wd * lr_v)
        self._update(v, g, lr_v, self._slots(v))

    def minimize(self, loss, var_list, tape=None):
        """Compute the gradients of ``loss()`` for ``var_list`` and apply them.

        ``loss`` is a zero-argument callable (or a Tensor recorded by
        ``tape``); ``var_list`` a list of variables or a callable returning
        one.
        """
        from s2sgrad.tape.tape import GradientTape

        if tape is None:
            if not callable(loss):
                raise ValueError("`tape` is required when a `Tensor` loss is passed.")
            tape = GradientTape()
            with tape:
                if not callable(var_list):
                    tape.watch(var_list)
                loss_value = loss()
                if callable(var_list):
                    var_list = var_list()
        else:
            loss_value = loss() if callable(loss) else loss
            if callable(var_list):
                var_list = var_list()
        var_list = list(var_list)
        grads = tape.gradient(loss_value, var_list)
        return self.apply_gradients(zip(grads, var_list))

    # -- helpers -----------------------------------------------------------------
    def _current_learning_rate(self):
        lr = self._learning_rate
        if callable(lr) and not isinstance(lr, Tensor):
            lr = lr(self._iterations._value)
        if isinstance(lr, Tensor):
            lr = lr._value
        return lr

    def _lr_as(self, lr, dtype):
        cached = self._lr_cast.get(dtype)
        if cached is not None and cached[0] is lr:
            return cached[1]
        value = np.asarray(lr, dtype=dtype)[()]
        self._lr_cast[dtype] = (lr, value)
        return value

    def _clip(self, grads):
        if self.clipnorm is not None and self.clipnorm > 0:
            return [clip_by_norm(g, np.asarray(self.clipnorm, dtype=g.dtype)[()]) for g in grads]
        if self.global_clipnorm is not None and self.global_clipnorm > 0:
            return clip_by_global_norm(grads, self.global_clipnorm)[0]
        if self.clipvalue is not None and self.clipvalue > 0:
            return [clip_by_value(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _slots(self, var):
        entry = self._state.get(id(var))
        if entry is None:
            entry = (var, self._init_slots(var._value))
            self._state[id(var)] = entry
        return entry[1]

    def _init_slots(self, value):
        return []

    def _update(self, var, g, lr, slots):
        raise NotImplementedError

    def _cast(self, x, dtype):
        return np.asarray(x, dtype=dtype)[()]


class SGD(Optimizer):
    """Gradient descent, with optional (Nesterov) momentum.

    ``m = momentum * m - lr * g``; ``x += m`` (Nesterov:
    ``x += momentum * m - lr * g``); without momentum ``x -= lr * g``.
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        if not isinstance(momentum, (int, float)) or momentum < 0 or momentum > 1:
            raise ValueError("`momentum` must be a float between [0, 1].")
        self.momentum = momentum
        self.nesterov = bool(nesterov)

    def _hyper(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}

    def _init_slots(self, value):
        if self.momentum == 0:
            return []
        return [np.zeros_like(value)[()]]

    def _step(self, v, value, g, lr_v):
        """Without momentum or weight decay a step is ``x -= lr * g`` and nothing else.

        So it keeps no per-variable state and goes straight to the
        assignment: this is the whole optimizer step of a plain SGD
        training loop, run once per step.
        """
        if self.momentum or self.weight_decay:
            return super()._step(v, value, g, lr_v)
        v._set(value - g * lr_v)

    def _update(self, var, g, lr, slots):
        if not slots:
            var._set(var._value - g * lr)
            return
        momentum = self._cast(self.momentum, var._value.dtype)
        m = slots[0] * momentum - g * lr
        slots[0] = m
        if self.nesterov:
            var._set(var._value + (m * momentum - g * lr))
        else:
            var._set(var._value + m)


class Adam(Optimizer):
    """Adam (Kingma & Ba), with Keras's epsilon-hat form and optional AMSGrad.

    ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``;
    ``m += (g - m) * (1 - beta_1)``; ``v += (g**2 - v) * (1 - beta_2)``;
    ``x -= m * alpha / (sqrt(v) + epsilon)``.
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        name="adam",
        **kwargs,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = bool(amsgrad)

    def _hyper(self):
        return {
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }

    def _init_slots(self, value):
        zeros = np.zeros_like(value)[()]
        return [zeros, zeros, zeros] if self.amsgrad else [zeros, zeros]

    def _update(self, var, g, lr, slots):
        dtype = var._value.dtype
        step = self._cast(self._iterations._value + 1, dtype)
        beta_1_power = self._cast(self.beta_1, dtype) ** step
        beta_2_power = self._cast(self.beta_2, dtype) ** step
        alpha = lr * np.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m = slots[0] + (g - slots[0]) * (1 - self.beta_1)
        v = slots[1] + (np.square(g) - slots[1]) * (1 - self.beta_2)
        slots[0] = m
        slots[1] = v
        if self.amsgrad:
            v = np.maximum(slots[2], v)
            slots[2] = v
        var._set(var._value - (m * alpha) / (np.sqrt(v) + self.epsilon))


class RMSprop(Optimizer):
    """RMSprop: divide the step by a running root-mean-square of the gradients.

    ``v = rho * v + (1 - rho) * g**2``; ``x -= lr * g / sqrt(v + epsilon)``
    (centered: ``sqrt(v - mean_g**2 + epsilon)``); with momentum the step
    goes through ``m = momentum * m + step``.
    """

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        name="rmsprop",
        **kwargs,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = bool(centered)

    def _hyper(self):
        return {
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }

    def _init_slots(self, value):
        zeros = np.zeros_like(value)[()]
        return [zeros, zeros, zeros]  # velocity, momentum, average gradient

    def _update(self, var, g, lr, slots):
        rho = self.rho
        velocity = rho * slots[0] + (1 - rho) * np.square(g)
        slots[0] = velocity
        if self.centered:
            average = rho * slots[2] + (1 - rho) * g
            slots[2] = average
            denominator = velocity - np.square(average) + self.epsilon
        else:
            denominator = velocity + self.epsilon
        increment = lr * g / np.sqrt(denominator)
        if self.momentum > 0:
            m = self.momentum * slots[1] + increment
            slots[1] = m
            var._set(var._value - m)
        else:
            var._set(var._value - increment)


class Adagrad(Optimizer):
    """Adagrad: ``acc += g**2``; ``x -= lr * g / sqrt(acc + epsilon)``."""

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        name="adagrad",
        **kwargs,
    ):
        super().__init__(learning_rate, name, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _hyper(self):
        return {
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }

    def _init_slots(self, value):
        return [np.full_like(value, self.initial_accumulator_value)[()]]

    def _update(self, var, g, lr, slots):
        acc = slots[0] + np.square(g)
        slots[0] = acc
        var._set(var._value - lr * g / np.sqrt(acc + self.epsilon))


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras's default ``weight_decay=0.004``):
    ``x -= x * weight_decay * lr`` before each Adam step."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adamw", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, name,
                         weight_decay=weight_decay, **kwargs)


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm): ``m += (g - m) * (1 - beta_1)``;
    ``u = max(beta_2 * u, |g|)``; ``x -= lr / (1 - beta_1**t) * m / (u + epsilon)``."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adamax", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def _init_slots(self, value):
        zeros = np.zeros_like(value)[()]
        return [zeros, zeros]

    def _update(self, var, g, lr, slots):
        dtype = var._value.dtype
        step = self._cast(self._iterations._value + 1, dtype)
        beta_1_power = self._cast(self.beta_1, dtype) ** step
        m = slots[0] + (g - slots[0]) * (1 - self.beta_1)
        u = np.maximum(self.beta_2 * slots[1], np.abs(g))
        slots[0], slots[1] = m, u
        var._set(var._value - (lr * m) / ((1 - beta_1_power) * (u + self.epsilon)))


class Nadam(Optimizer):
    """Adam with Nesterov momentum, Keras's form (the momentum schedule
    ``u_t = beta_1 * (1 - 0.5 * 0.96 ** (0.004 t))`` and its running product)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="nadam", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self._u_products = [1.0]  # prod of u_1..u_t, index t

    def _hyper(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def _init_slots(self, value):
        zeros = np.zeros_like(value)[()]
        return [zeros, zeros]

    def _u(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** (0.004 * t))

    def _u_product(self, t):
        while len(self._u_products) <= t:
            self._u_products.append(self._u_products[-1] * self._u(len(self._u_products)))
        return self._u_products[t]

    def _update(self, var, g, lr, slots):
        dtype = var._value.dtype
        t = int(self._iterations._value) + 1
        u_t, u_next = self._cast(self._u(t), dtype), self._cast(self._u(t + 1), dtype)
        product = self._cast(self._u_product(t), dtype)
        product_next = product * u_next
        beta_2_power = self._cast(self.beta_2, dtype) ** self._cast(t, dtype)
        m = slots[0] + (g - slots[0]) * (1 - self.beta_1)
        v = slots[1] + (np.square(g) - slots[1]) * (1 - self.beta_2)
        slots[0], slots[1] = m, v
        m_hat = u_next * m / (1 - product_next) + (1 - u_t) * g / (1 - product)
        v_hat = v / (1 - beta_2_power)
        var._set(var._value - (m_hat * lr) / (np.sqrt(v_hat) + self.epsilon))
