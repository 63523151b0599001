"""custom_gradient in TensorFlow's ``(y, grad_fn)`` form."""

import numpy as np
import pytest

import s2sgrad as sg


@sg.custom_gradient
def log1pexp(x):
    e = np.exp(x)

    def grad(upstream):
        return upstream * (1 - 1 / (1 + e))

    return np.log(1 + e), grad


@sg.custom_gradient
def clip_gradient_norm(x):
    def grad(upstream):
        return upstream * 0.5

    return x, grad


def test_value_and_custom_gradient():
    x = sg.constant(np.array([0.0, 100.0]))
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(log1pexp(x))
    with np.errstate(over="ignore"):
        assert np.isinf(log1pexp(sg.constant(1000.0)).numpy())  # the naive value overflows
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [0.5, 1.0])


def test_identity_forward_with_scaled_gradient():
    x = sg.Variable(3.0)
    with sg.GradientTape() as tape:
        y = clip_gradient_norm(x) * 2
    assert float(y) == 6.0
    assert float(tape.gradient(y, x)) == 1.0


def test_operations_inside_are_not_recorded():
    x = sg.constant(1.0)
    with sg.GradientTape() as tape:
        tape.watch(x)
        log1pexp(x)
    assert len(tape._records) == 1


def test_called_outside_a_tape_returns_the_value():
    assert float(log1pexp(sg.constant(0.0))) == pytest.approx(np.log(2.0))


def test_several_inputs():
    @sg.custom_gradient
    def mul(a, b):
        def grad(upstream):
            return upstream * b * 10, upstream * a * 100

        return a * b, grad

    a, b = sg.constant(2.0), sg.constant(3.0)
    with sg.GradientTape() as tape:
        tape.watch([a, b])
        y = mul(a, b)
    assert [float(g) for g in tape.gradient(y, [a, b])] == [30.0, 200.0]


def test_several_outputs():
    @sg.custom_gradient
    def split(x):
        def grad(d1, d2):
            return d1 * 2 + d2 * 3

        return (x * 1.0, x * 1.0), grad

    x = sg.constant(1.0)
    with sg.GradientTape() as tape:
        tape.watch(x)
        a, b = split(x)
        y = a * 10 + b
    assert float(tape.gradient(y, x)) == 23.0


def test_variables_are_passed_to_grad_fn():
    w = sg.Variable(2.0)

    @sg.custom_gradient
    def scaled(x):
        def grad(upstream, variables=None):
            return upstream * w, [upstream * x * 7]

        return x * w, grad

    x = sg.constant(3.0)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = scaled(x)
    gx, gw = tape.gradient(y, [x, w])
    assert float(gx) == 2.0 and float(gw) == 21.0


def test_variables_need_a_variables_argument():
    w = sg.Variable(2.0)

    @sg.custom_gradient
    def scaled(x):
        return x * w, lambda upstream: upstream

    with pytest.raises(TypeError, match="variables"):
        with sg.GradientTape():
            scaled(sg.constant(1.0))


def test_custom_gradient_is_differentiable_again():
    @sg.custom_gradient
    def cube(x):
        def grad(upstream):
            return upstream * 3 * x * x

        return x * x * x, grad

    x = sg.constant(2.0)
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            y = cube(x)
        g = inner.gradient(y, x)
    assert float(g) == 12.0
    assert float(outer.gradient(g, x)) == 12.0


@sg.custom_gradient
def times_second_fixed(x, y):
    """x * y whose grad_fn gives None for y (TensorFlow: y is unconnected through it)."""
    return x * y, lambda u: (u * y, None)


def test_none_from_grad_fn_is_an_unconnected_gradient():
    x, y = sg.constant(2.0), sg.constant(3.0)
    with sg.GradientTape(persistent=True) as tape:
        tape.watch([x, y])
        z = times_second_fixed(x, y)
    dx, dy = tape.gradient(z, [x, y])
    assert dx.numpy() == 3.0 and dy is None
    dx, dy = tape.gradient(z, [x, y], unconnected_gradients=sg.UnconnectedGradients.ZERO)
    assert dx.numpy() == 3.0 and dy.numpy() == 0.0


def test_none_from_grad_fn_leaves_other_paths_connected():
    x, y = sg.constant(2.0), sg.constant(3.0)
    with sg.GradientTape() as tape:
        tape.watch([x, y])
        z = times_second_fixed(x, np.sin(y)) * y  # dz/dy = x sin(y) along the other path
    dx, dy = tape.gradient(z, [x, y])
    np.testing.assert_allclose(dx.numpy(), np.sin(3.0) * 3.0)
    np.testing.assert_allclose(dy.numpy(), 2.0 * np.sin(3.0))


def test_none_from_grad_fn_severs_what_lies_behind_the_input():
    x, y = sg.constant(2.0), sg.constant(3.0)
    with sg.GradientTape() as tape:
        tape.watch([x, y])
        z = times_second_fixed(x, y * y)
    assert tape.gradient(z, [x, y])[1] is None


def test_none_from_grad_fn_under_a_recording_tape():
    x, y = sg.constant(2.0), sg.constant(3.0)
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch([x, y])
            z = times_second_fixed(x * x, y)
        dx, dy = inner.gradient(z, [x, y])  # 2 x y, None
    assert dy is None
    np.testing.assert_allclose(dx.numpy(), 12.0)
    np.testing.assert_allclose(outer.gradient(dx, x).numpy(), 6.0)
