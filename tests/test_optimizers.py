"""Optimizers and clipping against reference loops written from TensorFlow's docs.

The references below are written from the documented update rules (not
from s2sgrad's code) and run on fixed gradient sequences, so each check
compares the optimizer's trajectory with an independent one.
"""

import warnings

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad import optimizers as opt
from tests.fd import numerical_grad

RNG = np.random.default_rng(3)
GRADS = [RNG.normal(size=(3,)) for _ in range(25)]
START = RNG.normal(size=(3,))


def run(optimizer, dtype=np.float64, grads=GRADS):
    v = sg.Variable(START.astype(dtype))
    for g in grads:
        optimizer.apply_gradients([(g.astype(dtype), v)])
    return v.numpy()


def reference_sgd(learning_rate=0.01, momentum=0.0, nesterov=False):
    w, velocity = START.copy(), np.zeros(3)
    for g in GRADS:
        velocity = momentum * velocity - learning_rate * g
        if nesterov:
            w = w + momentum * velocity - learning_rate * g
        else:
            w = w + velocity
    return w


def reference_adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    w, m, v, v_max = START.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    for t, g in enumerate(GRADS, start=1):
        lr_t = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        v_max = np.maximum(v_max, v)
        w = w - lr_t * m / (np.sqrt(v_max if amsgrad else v) + epsilon)
    return w


def reference_rmsprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
    w, ms, mg, mom = START.copy(), np.zeros(3), np.zeros(3), np.zeros(3)
    for g in GRADS:
        ms = rho * ms + (1 - rho) * g * g
        mg = rho * mg + (1 - rho) * g
        denominator = ms - mg * mg if centered else ms
        step = learning_rate * g / np.sqrt(denominator + epsilon)
        mom = momentum * mom + step
        w = w - (mom if momentum else step)
    return w


def reference_adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
    w, acc = START.copy(), np.full(3, initial_accumulator_value)
    for g in GRADS:
        acc = acc + g * g
        w = w - learning_rate * g / np.sqrt(acc + epsilon)
    return w


CASES = [
    (opt.SGD, {}, reference_sgd),
    (opt.SGD, {"learning_rate": 0.1, "momentum": 0.9}, reference_sgd),
    (opt.SGD, {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}, reference_sgd),
    (opt.Adam, {}, reference_adam),
    (opt.Adam, {"learning_rate": 0.05, "beta_1": 0.8, "amsgrad": True}, reference_adam),
    (opt.RMSprop, {}, reference_rmsprop),
    (opt.RMSprop, {"learning_rate": 0.01, "centered": True, "momentum": 0.5}, reference_rmsprop),
    (opt.Adagrad, {}, reference_adagrad),
    (opt.Adagrad, {"learning_rate": 0.1, "initial_accumulator_value": 1.0}, reference_adagrad),
]


@pytest.mark.parametrize("cls, kwargs, reference", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_update_formula_float64(cls, kwargs, reference):
    np.testing.assert_allclose(run(cls(**kwargs)), reference(**kwargs), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls, kwargs, reference", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_update_formula_float32(cls, kwargs, reference):
    result = run(cls(**kwargs), np.float32)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, reference(**kwargs), rtol=2e-5, atol=2e-6)


def test_defaults_are_keras_defaults():
    assert opt.SGD().get_config()["learning_rate"] == pytest.approx(0.01)
    adam = opt.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-7)
    rms = opt.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == (
        0.001,
        0.9,
        0.0,
        1e-7,
        False,
    )
    ada = opt.Adagrad()
    assert (ada.learning_rate, ada.initial_accumulator_value, ada.epsilon) == (0.001, 0.1, 1e-7)


def test_sgd_rounds_each_float32_step_like_tensorflow():
    """The seed program: lr * g and x - lr * g are rounded separately."""
    x = sg.Variable(np.float32(0.0))
    sgd = opt.SGD(learning_rate=0.01)
    ref = np.float32(0.0)
    lr = np.float32(0.01)
    for _ in range(1000):
        with sg.GradientTape() as tape:
            y = x**2 - 2 * x + 1
        sgd.apply_gradients([(tape.gradient(y, x), x)])
        g = np.float32(2) * ref - np.float32(2)
        ref = np.float32(ref - np.float32(g * lr))
    assert x.numpy() == ref == np.float32(0.999998569)


def test_apply_gradients_counts_iterations_and_returns_them():
    sgd = opt.SGD()
    v = sg.Variable(1.0)
    assert int(sgd.iterations) == 0
    it = sgd.apply_gradients(zip([1.0], [v]))
    assert it is sgd.iterations and int(sgd.iterations) == 1
    assert sgd.iterations.dtype == np.int64


def test_none_gradients_are_skipped_with_a_warning():
    sgd = opt.SGD(learning_rate=1.0)
    a, b = sg.Variable(1.0, name="a"), sg.Variable(1.0, name="b")
    with pytest.warns(UserWarning, match="'b'"):
        sgd.apply_gradients([(2.0, a), (None, b)])
    assert float(a) == -1.0 and float(b) == 1.0


def test_all_none_gradients_is_a_value_error():
    with pytest.raises(ValueError, match="No gradients"):
        opt.SGD().apply_gradients([(None, sg.Variable(1.0))])


def test_minimize_with_a_zero_argument_loss():
    w = sg.Variable(np.array([1.0, -2.0]))
    sgd = opt.SGD(learning_rate=0.1)
    for _ in range(200):
        sgd.minimize(lambda: np.sum((w - 3.0) ** 2), [w])
    np.testing.assert_allclose(w.numpy(), [3.0, 3.0], rtol=1e-6)
    assert int(sgd.iterations) == 200
    sgd.minimize(lambda: np.sum(w**2), lambda: [w])
    assert int(sgd.iterations) == 201


def test_minimize_with_a_tensor_loss_needs_the_tape():
    w = sg.Variable(2.0)
    sgd = opt.SGD(learning_rate=0.5)
    with sg.GradientTape() as tape:
        loss = w * w
    sgd.minimize(loss, [w], tape=tape)
    assert float(w) == 0.0
    with pytest.raises(ValueError):
        sgd.minimize(loss, [w])


def test_non_trainable_variables_in_var_list_are_watched():
    w = sg.Variable(2.0, trainable=False)
    opt.SGD(learning_rate=0.25).minimize(lambda: w * w, [w])
    assert float(w) == 1.0


def test_learning_rate_schedule_and_setter():
    sgd = opt.SGD(learning_rate=lambda step: 1.0 / (1 + int(step)))
    v = sg.Variable(0.0)
    for _ in range(3):
        sgd.apply_gradients([(1.0, v)])
    assert float(v) == pytest.approx(-(1 + 1 / 2 + 1 / 3))
    sgd.learning_rate = 0.5
    sgd.apply_gradients([(1.0, v)])
    assert float(v) == pytest.approx(-(1 + 1 / 2 + 1 / 3) - 0.5)


def test_clipnorm_clips_each_gradient():
    g1, g2 = np.array([3.0, 4.0]), np.array([0.3, 0.4])
    a, b = sg.Variable(np.zeros(2)), sg.Variable(np.zeros(2))
    opt.SGD(learning_rate=1.0, clipnorm=1.0).apply_gradients([(g1, a), (g2, b)])
    np.testing.assert_allclose(a.numpy(), -g1 / 5.0)
    np.testing.assert_allclose(b.numpy(), -g2)


def test_global_clipnorm_scales_all_gradients_together():
    g1, g2 = np.array([3.0, 0.0]), np.array([0.0, 4.0])
    a, b = sg.Variable(np.zeros(2)), sg.Variable(np.zeros(2))
    opt.SGD(learning_rate=1.0, global_clipnorm=1.0).apply_gradients([(g1, a), (g2, b)])
    np.testing.assert_allclose(a.numpy(), -g1 / 5.0)
    np.testing.assert_allclose(b.numpy(), -g2 / 5.0)


def test_clipvalue():
    a = sg.Variable(np.zeros(3))
    opt.SGD(learning_rate=1.0, clipvalue=0.5).apply_gradients([(np.array([-2.0, 0.1, 3.0]), a)])
    np.testing.assert_allclose(a.numpy(), [0.5, -0.1, -0.5])


def test_only_one_clipping_option():
    with pytest.raises(ValueError, match="Only one"):
        opt.SGD(clipnorm=1.0, clipvalue=1.0)


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError):
        opt.Adam(betta_1=0.9)


def test_clip_by_norm():
    t = np.array([3.0, 4.0])
    np.testing.assert_allclose(sg.clip_by_norm(t, 1.0), [0.6, 0.8])
    np.testing.assert_allclose(sg.clip_by_norm(t, 10.0), t)
    np.testing.assert_allclose(sg.clip_by_norm(np.zeros(2), 1.0), [0.0, 0.0])
    rows = np.array([[3.0, 4.0], [0.3, 0.4]])
    np.testing.assert_allclose(sg.clip_by_norm(rows, 1.0, axes=[1]), [[0.6, 0.8], [0.3, 0.4]])


def test_clip_by_global_norm():
    ts = [np.array([3.0, 0.0]), None, np.array([[0.0, 4.0]])]
    clipped, norm = sg.clip_by_global_norm(ts, 2.5)
    assert norm == pytest.approx(5.0) and clipped[1] is None
    np.testing.assert_allclose(clipped[0], [1.5, 0.0])
    np.testing.assert_allclose(clipped[2], [[0.0, 2.0]])
    unchanged, _ = sg.clip_by_global_norm([np.array([0.1])], 1.0)
    np.testing.assert_allclose(unchanged[0], [0.1])
    nan, _ = sg.clip_by_global_norm([np.array([np.inf, 1.0])], 1.0)
    assert np.isnan(nan[0]).all()
    with pytest.raises(TypeError):
        sg.clip_by_global_norm(np.array([1.0]), 1.0)


def test_clip_by_value():
    np.testing.assert_array_equal(sg.clip_by_value(np.array([-2.0, 0.5, 3.0]), -1.0, 1.0), [-1.0, 0.5, 1.0])


def test_clip_by_norm_is_differentiable_on_the_tape():
    x0 = np.array([3.0, 4.0, 1.0])
    x = sg.constant(x0)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(sg.clip_by_norm(x, 2.0) * np.array([1.0, 2.0, 3.0]))
    expected = numerical_grad(lambda v: np.sum(opt.clip_by_norm(v, 2.0) * np.array([1.0, 2.0, 3.0])), (x0,))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), expected, rtol=1e-6)


def test_gradient_with_wrong_shape_is_rejected():
    with pytest.raises(ValueError):
        opt.SGD().apply_gradients([(np.ones(3), sg.Variable(np.ones(2)))])


def test_no_warning_for_complete_gradients():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.Adam().apply_gradients([(np.ones(2), sg.Variable(np.ones(2)))])


# -- plain SGD (no momentum, no weight decay) takes a short path --------------------


def mixed_pairs():
    """Variables of several dtypes and shapes with gradients of every accepted form."""
    variables = [
        sg.Variable(np.float32(0.75), name="f32"),
        sg.Variable(np.array([1.0, -2.0, 0.5]), name="f64"),
        sg.Variable(np.array([[0.1, 0.2]], dtype=np.float16), name="f16"),
        sg.Variable(np.float64(-3.0), name="scalar"),
        sg.Variable(np.float32(2.0), name="skipped"),
    ]
    grads = [
        sg.constant(np.float32(0.3)),                 # a Tensor of the variable's type
        np.array([0.5, 0.25, -1.0], dtype=np.float32),  # an array of another dtype
        sg.constant(np.array([[1.5, -0.5]])),         # a float64 Tensor for a float16 variable
        0.7,                                          # a Python float
        None,                                         # no gradient: skipped with a warning
    ]
    return grads, variables


def general_sgd_step(optimizer, pairs):
    """One step through the update every optimizer shares (slots, then ``_update``)."""
    lr = optimizer._current_learning_rate()
    skipped = opt.Optimizer._apply(optimizer, pairs, lr)
    optimizer.iterations.assign_add(np.int64(1))
    return skipped


@pytest.mark.parametrize("lr", [0.1, np.float32(0.01), lambda step: 0.5 / (1 + int(step))])
def test_plain_sgd_matches_the_general_update_bit_for_bit(lr):
    grads, fast = mixed_pairs()
    _, general = mixed_pairs()
    fast_sgd, general_sgd = opt.SGD(learning_rate=lr), opt.SGD(learning_rate=lr)
    for _ in range(3):
        with pytest.warns(UserWarning, match="'skipped'"):
            fast_sgd.apply_gradients(zip(grads, fast))
        assert [v.name for v in general_sgd_step(general_sgd, list(zip(grads, general)))] == [
            "skipped"
        ]
    for a, b in zip(fast, general):
        assert a.numpy().dtype == b.numpy().dtype and type(a.numpy()) is type(b.numpy())
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(fast_sgd.iterations) == int(general_sgd.iterations) == 3
    assert fast_sgd.variables == [fast_sgd.iterations]  # no per-variable state


@pytest.mark.parametrize("kwargs", [{"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                                    {"weight_decay": 0.1}])
def test_sgd_with_momentum_or_weight_decay_takes_the_general_update(kwargs):
    grads, fast = mixed_pairs()
    _, general = mixed_pairs()
    sgd, reference = opt.SGD(learning_rate=0.1, **kwargs), opt.SGD(learning_rate=0.1, **kwargs)
    for _ in range(3):
        with pytest.warns(UserWarning):
            sgd.apply_gradients(zip(grads, fast))
        general_sgd_step(reference, list(zip(grads, general)))
    for a, b in zip(fast, general):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(sgd.variables) == (5 if "momentum" in kwargs else 1)  # the momentum slots


@pytest.mark.parametrize("kwargs", [{}, {"momentum": 0.9}, {"clipnorm": 1.0}])
def test_every_gradient_none_is_a_value_error_and_updates_nothing(kwargs):
    a, b = sg.Variable(1.0, name="a"), sg.Variable(2.0, name="b")
    sgd = opt.SGD(**kwargs)
    with pytest.raises(ValueError, match=r"No gradients provided for any variable: \['a', 'b'\]"):
        sgd.apply_gradients([(None, a), (None, b)])
    assert (float(a), float(b), int(sgd.iterations)) == (1.0, 2.0, 0)


@pytest.mark.parametrize("kwargs", [{}, {"momentum": 0.9}])
def test_only_variables_can_be_updated(kwargs):
    with pytest.raises(TypeError, match="can only update Variables"):
        opt.SGD(**kwargs).apply_gradients([(1.0, sg.constant(1.0))])


def test_clipping_skips_none_gradients_with_a_warning():
    a, b = sg.Variable(np.zeros(2), name="a"), sg.Variable(np.zeros(2), name="b")
    with pytest.warns(UserWarning, match="'b'"):
        opt.SGD(learning_rate=1.0, clipnorm=1.0).apply_gradients(
            [(None, b), (np.array([3.0, 4.0]), a)]
        )
    np.testing.assert_allclose(a.numpy(), [-0.6, -0.8])
    np.testing.assert_array_equal(b.numpy(), [0.0, 0.0])
