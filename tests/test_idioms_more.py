"""Ordinary Python a user of autograd or JAX writes, differentiated as written
(against central differences: gradient, forward mode, second order), or
refused at the user's line when the value truly leaves the differentiated
world."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import s2sgrad as sg
from tests.fd import assert_grad_close, numerical_jacobian, numerical_jvp

X = np.array([0.3, -0.8, 1.1, 0.6])


def check(f, x=X, second=True):
    """grad, value_and_grad, jvp (and the Hessian) of ``f`` at ``x`` against
    central differences."""
    x = np.array(x, dtype=float)
    assert_grad_close(sg.grad(f)(x.copy()), f, (x.copy(),))
    value, g = sg.value_and_grad(f)(x.copy())
    np.testing.assert_allclose(value, f(x.copy()), rtol=1e-12)
    assert_grad_close(g, f, (x.copy(),))
    v = np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    primal, tangent = sg.jvp(f)(x.copy(), v)
    np.testing.assert_allclose(primal, f(x.copy()), rtol=1e-12)
    np.testing.assert_allclose(tangent, numerical_jvp(f, (x.copy(),), 0, v), rtol=1e-5, atol=1e-7)
    if second:
        gradient = sg.grad(f)
        np.testing.assert_allclose(sg.hessian(f)(x.copy()),
                                   numerical_jacobian(gradient, (x.copy(),)), rtol=1e-5, atol=1e-6)


def refused(f, construct, x=X):
    """``f`` is refused naming ``construct`` and the line it is on."""
    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        sg.grad(f)(np.array(x, dtype=float))
    message = str(info.value)
    assert construct in message, message
    assert f"{__file__}:" in message, message
    return message


# ---------------------------------------------------------------- np.clip
def clip_min_max_keywords(x):
    return np.sum(np.clip(x, min=-0.5, max=0.5) * x)


def clip_min_keyword_alone(x):
    return np.sum(np.clip(x, min=-0.5) * x ** 2)


def clip_max_keyword_alone(x):
    return np.sum(np.clip(x, max=0.5) * x ** 2)


def clip_none_lower(x):
    return np.sum(np.clip(x, None, 0.5) * x)


def clip_method_keywords(x):
    return np.sum(x.clip(min=-0.5, max=0.5) * x)


def clip_old_keywords(x):
    return np.sum(np.clip(x, a_min=-0.5, a_max=0.5) * x)


@pytest.mark.parametrize("f", [clip_min_max_keywords, clip_min_keyword_alone,
                               clip_max_keyword_alone, clip_none_lower, clip_method_keywords,
                               clip_old_keywords])
def test_clip_spellings(f):
    check(f)


# -------------------------------------------------------------- enumerate
def enumerate_start_keyword(x):
    t = 0.0
    for i, v in enumerate(x, start=1):
        t = t + i * v * v
    return t


def enumerate_start_positional(x):
    t = 0.0
    for i, v in enumerate(x, 3):
        t = t + i * np.sin(v)
    return t


def enumerate_start_zero(x):
    t = 0.0
    for i, v in enumerate(x, start=0):
        t = t + i * v * v
    return t


def enumerate_start_in_comprehension(x):
    return sum([i * v * v for i, v in enumerate(x, start=2)])


def enumerate_start_rebound(x):
    k = 2
    t = 0.0
    for i, v in enumerate(x, k):
        k = k + 1  # the count starts where k was when the loop began
        t = t + i * k * v * v
    return t


@pytest.mark.parametrize("f", [enumerate_start_keyword, enumerate_start_positional,
                               enumerate_start_zero, enumerate_start_in_comprehension,
                               enumerate_start_rebound])
def test_enumerate_with_start(f):
    check(f)


def reversed_and_stepped_ranges(x):
    t = 0.0
    k = 1.0
    for v in reversed(x):
        t = t + k * v
        k = k * 2.0
    for i in range(len(x) - 1, -1, -2):
        t = t + x[i] * x[i]
    for i in range(1, len(x), 2):
        t = t * x[i]
    return t


def test_reversed_and_stepped_ranges():
    check(reversed_and_stepped_ranges)


# ------------------------------------------------- sums of lists and generators
def np_sum_of_list_comprehension(x):
    return np.sum([np.sin(v) for v in x])


def np_sum_of_list_of_products(x):
    return np.sum([v * w for v, w in zip(x, x[::-1])])


def sum_of_generator(x):
    return sum(v ** 2 for v in x)


def any_all_conditions(x):
    if any(v > 0.5 for v in x) and all(v > -5 for v in x):
        return np.sum(x * x)
    return np.sum(x)


@pytest.mark.parametrize("f", [np_sum_of_list_comprehension, np_sum_of_list_of_products,
                               sum_of_generator, any_all_conditions])
def test_sums_of_lists_and_generators(f):
    check(f)


@given(st.lists(st.floats(-2.0, 2.0), min_size=1, max_size=5))
def test_np_sum_of_list_comprehension_any_length(values):
    x = np.array(values)
    assert_grad_close(sg.grad(np_sum_of_list_comprehension)(x), np_sum_of_list_comprehension, (x,))


def test_np_sum_of_list_float32_keeps_dtype():
    x = X.astype(np.float32)
    g = sg.grad(np_sum_of_list_comprehension)(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-6)


def clip_with_bound_arguments(x, lo, hi):
    return np.sum(np.clip(x * 2.0, min=lo, max=hi) ** 2)


@pytest.mark.parametrize("wrt", [0, 1, 2])
def test_clip_keyword_bounds_are_differentiated(wrt):
    args = (X.copy(), np.array([-0.4, 0.0, -1.0, 0.1]), 0.9)
    g = sg.grad(clip_with_bound_arguments, wrt=wrt)(*args)
    assert_grad_close(g, clip_with_bound_arguments, args, argnum=wrt)
    _, t = sg.jvp(clip_with_bound_arguments, wrt=wrt)(*args, np.ones_like(args[wrt]))
    np.testing.assert_allclose(
        t, numerical_jvp(clip_with_bound_arguments, args, wrt, np.ones_like(args[wrt])), rtol=1e-5)


def test_clip_keywords_on_the_tape():
    x = sg.Variable(X.copy())
    with sg.GradientTape() as tape:
        y = np.sum(np.clip(x, min=-0.5, max=0.5) * x)
    assert_grad_close(tape.gradient(y, x), clip_min_max_keywords, (X.copy(),))
    with sg.GradientTape() as tape:
        y = np.sum(np.clip(x, max=0.5) * x ** 2)
    assert_grad_close(tape.gradient(y, x), clip_max_keyword_alone, (X.copy(),))
