"""``x op= y`` on an array writes into it: NumPy keeps x's dtype and shape.

Generated code computes a new version, ``x_1 = x op y`` (every value kept
for the adjoint), which NumPy would promote (a float32 array plus a float64
number is float64) and broadcast (a (3,) array plus a (2, 3) one is (2, 3)).
``runtime.in_place`` gives the new version the old one's dtype and shape,
or raises NumPy's error, so the value, the gradient and the tangent are
those of the function as it runs. Found by the random-program hunt in
forward mode: sg.jvp's value of a float32 program differed from f's.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import s2sgrad as sg
from s2sgrad import runtime
from tests.fd import numerical_grad, numerical_jvp


def shifted(x, y):
    y += np.cos(x) * 2.0          # np.cos of a float is a float64 scalar
    return np.sum(y * y)


def scaled(x, y):
    z = y * 1.0
    z *= np.exp(x)
    z -= np.float64(0.25) * x
    return np.sum(z ** 2)


def accumulated(w, y):
    acc = 0.0
    for k in range(3):
        acc += np.tanh(w * (k + 1.0)) * y    # an array from the first step on
    acc /= np.float64(3.0)
    return np.sum(acc * acc)


def counted(x):
    n = 0
    s = 0.0
    for i in range(4):
        n += 1
        s += x * i
    return s / n


PROGRAMS = [shifted, scaled, accumulated]


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_value_has_the_functions_dtype(f, dtype):
    y = np.array([0.1, -0.2, 0.3], dtype)
    expected = f(0.3, y.copy())
    value, gradient = sg.value_and_grad(f, wrt=1)(0.3, y.copy())
    assert type(value) is type(expected) and value == expected
    assert gradient.dtype == dtype
    out, tangent = sg.jvp(f, wrt=0)(0.3, y.copy(), 1.0)
    assert type(out) is type(expected) and out == expected
    assert np.result_type(tangent) == np.result_type(expected)


@pytest.mark.parametrize("f", PROGRAMS, ids=lambda f: f.__name__)
@given(x=st.floats(-1.5, 1.5), y=st.lists(st.floats(-2, 2), min_size=1, max_size=4))
@settings(max_examples=20, deadline=None)
def test_derivatives_match_differences(f, x, y):
    y = np.array(y)

    def pure(x, y):  # (f writes into y: each difference gets a copy)
        return f(x, y.copy())

    g = sg.grad(f, wrt=(0, 1))(x, y.copy())
    for i, expected in enumerate((numerical_grad(pure, (x, y), 0), numerical_grad(pure, (x, y), 1))):
        np.testing.assert_allclose(g[i], expected, rtol=1e-5, atol=1e-7)
    u = np.cos(np.arange(1.0, y.size + 1.0))
    _, tangent = sg.jvp(f, wrt=1)(x, y.copy(), u)
    np.testing.assert_allclose(tangent, numerical_jvp(pure, (x, y), 1, u), rtol=1e-5, atol=1e-7)
    df = sg.grad(f, wrt=0)
    np.testing.assert_allclose(sg.grad(df, wrt=0)(x, y.copy()),
                               numerical_grad(lambda x, y: df(x, y.copy()), (x, y), 0),
                               rtol=1e-5, atol=1e-6)


def test_numbers_are_rebound_without_a_helper():
    assert sg.grad(counted)(2.0) == pytest.approx(1.5)
    source = sg.source(counted)
    assert "in_place(n" not in source   # a counter of constants is a number
    assert "in_place(s" in source       # s += x * i: x may be an array


def incremented(x, k):
    k += 0.5
    return np.sum(x * k)


def broadened(x, y):
    x += y
    return np.sum(x)


def test_what_numpy_refuses_is_refused():
    with pytest.raises(TypeError, match="same_kind"):
        incremented(1.0, np.arange(3))
    with pytest.raises(TypeError, match="same_kind"):
        sg.grad(incremented)(1.0, np.arange(3))
    x, y = np.ones(3), np.ones((2, 3))
    with pytest.raises(ValueError) as numpy_error:
        broadened(x.copy(), y)
    h = sg.grad(broadened, wrt=1)
    with pytest.raises(ValueError) as ours:
        h(x.copy(), y)
    assert str(ours.value) == str(numpy_error.value)


@given(st.sampled_from([np.float16, np.float32, np.float64]),
       st.sampled_from([np.float32, np.float64, float]),
       st.sampled_from([(), (3,), (2, 3)]))
def test_in_place_is_numpys_in_place_add(target_dtype, operand_dtype, shape):
    target = np.full(shape, 0.75, target_dtype)
    operand = operand_dtype(1.0 / 3.0) if operand_dtype is float else \
        np.full(shape, 1.0 / 3.0, operand_dtype)
    expected = target.copy()
    expected += operand
    got = runtime.in_place(target + operand, target)
    assert got.dtype == expected.dtype and np.shape(got) == expected.shape
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, expected)
    rebound = 0.5 + operand
    assert runtime.in_place(rebound, 0.5) is rebound    # a number: rebound as it is


def doubled_then_paired(x, y):
    x *= 2.0                  # writes into the caller's array: y too, if it is x
    return np.sum(x * y)


def test_one_array_for_an_updated_argument_and_another_is_refused():
    b = np.array([1.0, 2.0, 1.2])
    with pytest.raises(sg.UnsupportedSyntaxError, match=r"argument 'x', which shares memory "
                       r"with argument 'y'.*test_in_place_ops.py:\d+"):
        sg.value_and_grad(doubled_then_paired)(b, b)
    with pytest.raises(sg.UnsupportedSyntaxError, match="shares memory"):
        sg.value_and_grad(doubled_then_paired)(b, b[:])   # a view of it too
    np.testing.assert_array_equal(b, [1.0, 2.0, 1.2])
    c = b.copy()
    np.testing.assert_allclose(sg.grad(doubled_then_paired)(b.copy(), c),
                               numerical_grad(lambda u, v: doubled_then_paired(u.copy(), v), (b, c), 0))
