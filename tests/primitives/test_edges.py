"""Rules at their edge points, end to end through ``sg.grad`` and the tape.

* powers with a constant exponent are smooth at 0 when the exponent is a
  non-negative integer (x**0 is constant, x**1 has second derivative 0):
  first and second derivatives there match central differences, for Python
  floats, NumPy scalars and arrays, float64 and float32; a differentiated
  exponent has derivative x**y*log(x), 0 at x == 0 for y > 0, and an
  exponent that is not differentiated never makes the base's gradient nan;
* ``%``, ``np.mod``/``np.remainder``, ``np.fmod``/``math.fmod`` and
  ``divmod`` are differentiable in both operands away from their jumps
  (1 on the left, -floor(x/y) or -trunc(x/y) on the right);
* a piece of ``np.split`` that nothing reads gets a zero cotangent.

Second derivatives are checked against central differences of the
generated first derivative, which is itself checked against differences of
the function.
"""

import math
import warnings

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import assert_grad_close, numerical_grad
from tests.tape.helpers import tape_grad


def power_0(x):
    return x ** 0


def power_0_float(x):
    return x ** 0.0


def power_1(x):
    return x ** 1


def power_1_float(x):
    return x ** 1.0


def power_2(x):
    return x ** 2


def power_3(x):
    return x ** 3


def np_power_0(x):
    return np.power(x, 0)


def builtin_pow_1(x):
    return pow(x, 1)


def general_power(x, y):
    return x ** y


INTEGER_POWERS = [power_0, power_0_float, power_1, power_1_float, power_2, power_3,
                  np_power_0, builtin_pow_1]
POINTS = [0.0, 1.3, -0.7]
KINDS = {
    "float": float,
    "float64": np.float64,
    "float32": np.float32,
}


def _sum_power_0(x):
    return np.sum(x ** 0)


def _sum_power_1(x):
    return np.sum(x ** 1)


def _sum_power_2(x):
    return np.sum(x ** 2)


def _quiet(call, *args):
    """``call(*args)`` with every NumPy and Python warning an error."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        return call(*args)


def _tolerance(kind):
    return {"rtol": 1e-3, "atol": 1e-4} if kind == "float32" else {}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("f", INTEGER_POWERS, ids=lambda f: f.__name__)
def test_integer_powers_first_and_second_derivatives(f, point, kind):
    x = KINDS[kind](point)
    first = sg.grad(f)
    second = sg.grad(first)
    d1 = _quiet(first, x)
    d2 = _quiet(second, x)
    assert np.isfinite(d1) and np.isfinite(d2)
    assert_grad_close(d1, f, (point,), **_tolerance(kind))
    assert_grad_close(d2, first, (point,), **_tolerance(kind))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("f", [_sum_power_0, _sum_power_1, _sum_power_2], ids=lambda f: f.__name__)
def test_integer_powers_of_arrays_holding_zero(f, dtype):
    x = np.array([0.0, 0.5, -1.5, 0.0], dtype=dtype)
    g = _quiet(sg.grad(f), x)
    assert g.dtype == dtype and g.shape == x.shape
    assert_grad_close(g, f, (x.astype(np.float64),), **_tolerance(np.dtype(dtype).name))


@pytest.mark.parametrize("y", [0.0, 1.0, 2.0, 3])
def test_a_variable_exponent_at_zero(y):
    d_dx = sg.grad(general_power, wrt=0)
    assert _quiet(d_dx, 0.0, y) == pytest.approx(numerical_grad(general_power, (0.0, y), 0), abs=1e-7)
    d2_dx2 = sg.grad(d_dx, wrt=0)
    assert _quiet(d2_dx2, 0.0, y) == pytest.approx(numerical_grad(d_dx, (0.0, y), 0), abs=1e-6)


@pytest.mark.parametrize("x, y", [(0.0, 2.0), (0.0, 0.5), (1.7, 2.5), (0.4, -1.5)])
def test_the_exponents_derivative(x, y):
    # at 0 (y > 0) the function is 0 on both sides of y: the derivative is 0, not nan
    d_dy = sg.grad(general_power, wrt=1)
    assert_grad_close(_quiet(d_dy, x, y), general_power, (x, y), argnum=1)


def test_a_constant_exponent_leaves_a_negative_base_finite_on_the_tape():
    # the tape evaluates the whole rule; the exponent's log(x) is nan for x < 0
    # but must neither warn nor reach the base's gradient
    x = np.array([-1.5, 0.0, 2.0])
    g = _quiet(tape_grad, lambda t: np.sum(t ** 2.0), (x,))
    np.testing.assert_allclose(g, 2 * x)
    g0 = _quiet(tape_grad, lambda t: np.sum(t ** 0), (x,))
    np.testing.assert_array_equal(g0, np.zeros(3))


@pytest.mark.parametrize("point", [0.0, -1.5])
def test_second_derivative_of_the_first_power_on_the_tape(point):
    x = sg.Variable(point)
    with sg.GradientTape() as outer:
        with sg.GradientTape() as inner:
            y = x ** 1
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert float(dy.numpy()) == 1.0
    assert d2y is None or float(d2y.numpy()) == 0.0


# -- remainders -------------------------------------------------------------


def percent(x, y):
    return x % y


def np_mod(x, y):
    return np.sum(np.mod(x, y))


def np_remainder(x, y):
    return np.sum(np.remainder(x, y))


def np_fmod(x, y):
    return np.sum(np.fmod(x, y))


def math_fmod(x, y):
    return math.fmod(x, y)


def divmod_remainder(x, y):
    q, r = divmod(x, y)
    return r


def divmod_both(x, y):
    q, r = divmod(x, y)
    return q * 2.0 + r * 3.0


def divmod_both_reversed(x, y):
    q, r = divmod(x, y)
    return r * 3.0 + q * 2.0


def np_divmod(x, y):
    q, r = np.divmod(x, y)
    return np.sum(r * q + r)


def percent_in_a_product(x, y):
    return (x % y) * x


SCALAR_REMAINDERS = [percent, math_fmod, divmod_remainder, divmod_both, divmod_both_reversed,
                     percent_in_a_product]
#: (Tensors have no __divmod__ and do not convert to float for math.fmod)
ON_THE_TAPE = [percent, percent_in_a_product]
ARRAY_REMAINDERS = [np_mod, np_remainder, np_fmod, np_divmod]


@pytest.mark.parametrize("x, y", [(5.3, 1.7), (-5.3, 1.7), (5.3, -1.7), (0.4, 2.0)])
@pytest.mark.parametrize("f", SCALAR_REMAINDERS, ids=lambda f: f.__name__)
def test_remainders_of_floats(f, x, y):
    dx, dy = sg.grad(f, wrt=(0, 1))(x, y)
    assert_grad_close(dx, f, (x, y), argnum=0)
    assert_grad_close(dy, f, (x, y), argnum=1)
    if f in ON_THE_TAPE:
        tdx = tape_grad(f, (x, y), 0)
        tdy = tape_grad(f, (x, y), 1)
        np.testing.assert_allclose([tdx, tdy], [dx, dy], rtol=1e-12)


@pytest.mark.parametrize("f", ARRAY_REMAINDERS, ids=lambda f: f.__name__)
def test_remainders_of_arrays(f):
    x = np.array([[5.3, -4.1, 0.6], [2.2, -0.3, 7.9]])
    y = np.array([1.7, -0.9, 2.3])
    dx, dy = sg.grad(f, wrt=(0, 1))(x, y)
    assert_grad_close(dx, f, (x, y), argnum=0)
    assert_grad_close(dy, f, (x, y), argnum=1)
    np.testing.assert_allclose(tape_grad(f, (x, y), 0), dx, rtol=1e-12)
    np.testing.assert_allclose(tape_grad(f, (x, y), 1), dy, rtol=1e-12)


def test_fmod_truncates_where_mod_floors():
    x, y = np.array([-5.3]), np.array([1.7])
    _, d_mod = sg.grad(np_mod, wrt=(0, 1))(x, y)
    _, d_fmod = sg.grad(np_fmod, wrt=(0, 1))(x, y)
    assert d_mod[0] == pytest.approx(4.0) and d_fmod[0] == pytest.approx(3.0)  # -floor, -trunc


# -- sequences with unread parts --------------------------------------------


def second_half(x):
    a, b = np.split(x, 2)
    return np.sum(b) * 2.0


def both_halves(x):
    a, b = np.split(x, 2)
    return np.sum(b * 3.0) + np.sum(a)


@pytest.mark.parametrize("f", [second_half, both_halves], ids=lambda f: f.__name__)
def test_split_pieces_nothing_reads(f):
    x = np.arange(1.0, 5.0)
    g = sg.grad(f)(x)
    assert_grad_close(g, f, (x,))
    np.testing.assert_allclose(tape_grad(f, (x,)), g, rtol=1e-12)

