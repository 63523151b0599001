"""Second and third derivatives through loops, as generated source.

A loop's gradient replays it from a stack (``push``/``pop``, primitives of
their own whose adjoints pop and push a stack of cotangents), so the
derivative of a derivative through ``for``/``while`` loops -- with break and
continue, nested, in callees, with branches -- is generated code like the
first one, never the tape. Each derivative of order n is checked against
central finite differences of the generated derivative of order n - 1, at
points away from every branch's threshold; mixed ``d2f/dxdy`` too, in
float32, and through ``sg.hessian`` and ``sg.hvp``.
"""

import math
import pathlib
import warnings

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad
from tests.transform.cases import scalar_loop_break as break_on_value
from tests.transform.test_order2 import (
    assert_derivative, check_second_derivatives, check_third_derivatives, generated)

GOLDEN = pathlib.Path(__file__).parent.parent / "golden"


def smooth(v, k):
    """A callee with a loop of its own (inlined into its callers)."""
    for _ in range(k):
        v = np.sin(v) + 0.5 * v
    return v


def running_sum(x):
    s = 0.0
    for i in range(3):
        s = s + np.sin(x * s + x)
    return s


def product_loop(x, y):
    p = 1.0
    for i in range(4):
        p = p * (x + 0.1 * i) * np.cos(y * p)
    return p


def counted_while(x, y):
    n = 0
    s = x
    while n < 3:
        s = np.tanh(s * y) + x
        n += 1
    return s * y


def data_dependent_while(x):
    s = x
    while s < 3.0:
        s = s * 1.7 + np.sin(s)
    return s * s


def continue_on_counter(x, y):
    s = y
    for i in range(5):
        if i == 2:
            continue
        s = s * np.cos(x * s) + y
    return s


def branch_in_loop(x, y):
    s = x
    for i in range(4):
        if s > y:
            s = s * 0.5 + np.sin(y)
        else:
            s = s * s + x * y
    return s


def nested_loops(x, y):
    s = 0.0
    for i in range(3):
        t = x
        for j in range(2):
            t = t * np.cos(y + s) + 0.3
        s = s + t * y
    return s


def nested_with_break(x):
    s = x
    for i in range(3):
        for j in range(4):
            s = np.sin(s) * 1.3 + x
            if s > 1.2:
                break
    return s


def loop_in_callee(x, y):
    return smooth(x * y, 3) + y * smooth(y, 2)


def callee_in_loop(x, y):
    s = y
    for i in range(2):
        s = smooth(s * x, 2) + s
    return s


def reassigned_argument(x, y):
    for i in range(3):
        x = np.exp(np.tanh(x * y)) + 0.1 * x
    return x


def math_functions(x):
    s = x
    for i in range(3):
        s = math.sin(s) * s + math.exp(-s * s)
    return s


def loop_over_array(x, y):
    v = np.array([0.3, -0.4, 0.8])
    s = 0.0
    for r in v:
        s = s + np.sin(r * x + s * y)
    return s


def array_argument(x, w):
    s = 0.0
    for i in range(3):
        s = s + np.sum(np.tanh(w * x + s))
    return s


def accumulated_power(x, y):
    s = 1.0
    for i in range(3):
        s = s + x ** (y + 0.5 * i)
    return s


def early_return_in_loop(x, y):
    s = x
    for i in range(6):
        s = s * np.cos(y) + x * x
        if s > 4.0:
            return s * y
    return s - y


def two_loops(x, y):
    a = x
    for i in range(3):
        a = np.sin(a) * y
    b = a
    for j in range(2):
        b = b * b + a * x
    return b


def while_with_break(x, y):
    s = x
    n = 0
    while True:
        s = s * np.tanh(y) + np.cos(s)
        n += 1
        if n >= 3:
            break
    return s


#: (function, points): points away from every threshold
CASES = [
    (running_sum, [(0.3,), (-0.7,), (1.1,)]),
    (product_loop, [(0.4, 0.6), (-0.3, 1.2)]),
    (counted_while, [(0.5, 0.8), (-0.4, 1.3)]),
    (data_dependent_while, [(0.7,), (1.1,)]),
    (break_on_value, [(0.3,), (1.0,), (-0.5,)]),
    (continue_on_counter, [(0.4, 0.7), (-0.6, 0.3)]),
    (branch_in_loop, [(0.9, 0.4), (0.2, 0.8), (0.6, 0.61)]),
    (nested_loops, [(0.4, 0.7), (-0.5, 0.2)]),
    (nested_with_break, [(0.3,), (0.9,)]),
    (loop_in_callee, [(0.4, 0.7), (-0.8, 1.1)]),
    (callee_in_loop, [(0.4, 0.7), (0.9, -0.3)]),
    (reassigned_argument, [(0.4, 0.7), (-0.2, 1.5)]),
    (math_functions, [(0.3,), (-0.8,), (1.2,)]),
    (loop_over_array, [(0.4, 0.7), (-1.1, 0.3)]),
    (accumulated_power, [(1.3, 0.7), (0.6, 1.4)]),
    (early_return_in_loop, [(0.9, 0.3), (0.5, 1.2), (1.7, 0.2)]),
    (two_loops, [(0.4, 0.7), (-0.9, 1.3)]),
    (while_with_break, [(0.4, 0.7), (-0.9, 1.3)]),
]
IDS = [f.__name__ for f, _ in CASES]


@pytest.mark.parametrize("f, points", CASES, ids=IDS)
def test_second_derivatives_through_loops_are_generated_source(f, points):
    check_second_derivatives(f, points)  # (mixed d2f/dxdy where there are two arguments)


@pytest.mark.parametrize("f, points", CASES, ids=IDS)
def test_third_derivatives_through_loops_are_generated_source(f, points):
    check_third_derivatives(f, points)


def test_an_array_argument_through_a_loop_at_order_two():
    w = np.array([0.3, -0.7, 1.1])
    first = sg.grad(array_argument)
    second = generated(sg.grad(first))
    for x in (0.4, -0.9):
        assert_derivative(second, first, (x, w), 0)
    # the gradient wrt the array, differentiated wrt the scalar: a vector
    gradient = sg.grad(array_argument, wrt=1)
    mixed = sg.jacobian(gradient, wrt=0)(0.4, w)
    expected = [numerical_grad(lambda x: gradient(x, w)[k], (0.4,), 0) for k in range(3)]
    np.testing.assert_allclose(mixed, expected, rtol=1e-6)


@pytest.mark.parametrize("f", [running_sum, break_on_value, nested_with_break, math_functions])
def test_float32_through_a_loop_at_order_two(f):
    second = generated(sg.grad(sg.grad(f)))
    got = second(np.float32(0.3))
    assert np.asarray(got).dtype == np.float32
    np.testing.assert_allclose(got, second(0.3), rtol=1e-3)


def test_hessian_and_hvp_through_loops_use_the_source_path():
    x = np.array([0.3, -0.5, 0.8])
    hessian = sg.hessian(array_argument, wrt=1)
    assert hessian.__name__ == "array_argument"  # (not the tape's second_derivative)
    H = hessian(0.7, x)
    g = sg.grad(array_argument, wrt=1)
    expected = np.stack([numerical_grad(lambda u: g(0.7, u)[i], (x,), 0) for i in range(3)])
    np.testing.assert_allclose(H, expected, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(H, H.T, atol=1e-10)
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(sg.hvp(array_argument, wrt=1)(0.7, x, v), H @ v, rtol=1e-9)


@pytest.mark.parametrize("f", [f for f, _ in CASES])
@pytest.mark.parametrize("order", [2, 3])
def test_higher_order_loop_sources_compile_without_warnings(f, order):
    source = sg.source(f, order=order)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile(source, f"<{f.__name__} order {order}>", "exec")
    assert "stack.append" not in source and ".pop()" not in source


def test_golden_second_derivative_of_a_loop():
    """The order-2 source of a loop is product output: a change is a decision."""
    expected = (GOLDEN / "running_sum_order2.py.txt").read_text()
    assert sg.source(running_sum, order=2) == expected


def test_the_cotangent_stack_mirrors_the_stack():
    source = sg.source(running_sum, order=2)
    # every value the first derivative pops has its cotangent pushed back
    # (on the cotangent stack of its stack), and every push pops one
    first = sg.source(running_sum)
    assert first.count("push(") == first.count("pop(") == 2
    assert source.count("push(ds_stack") == source.count("pop(ds_stack") == 1
    assert source.count("push(dt3_stack") == source.count("pop(dt3_stack") == 1
