"""Second and third derivatives: generated code read again by the pipeline.

Each derivative of order n is checked against central finite differences
of the generated derivative of order n - 1, at points on both sides of
every branch; every generated source of order 2 and 3 compiles with
warnings as errors; the entry guards of a derivative are not
differentiated again (line counts), and the new derivative has its own.
"""

import warnings

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad


def helper(a, b):
    return a * b + np.sin(a)


def branchy(x, y):
    if x > y:
        z = helper(x, y) + np.log(x * x + 1.0)
    else:
        z = np.cos(x) * y
    return z * x


def nested_if(x, y):
    z = x * y
    if x > 0.0:
        if y > 0.5:
            z = helper(z, x) * y
        else:
            z = np.exp(z) + x
        w = z * np.tanh(x)
    else:
        w = np.sin(z) * x
    return w * y


def overwrite(x, y):
    a = x * x
    if a > y:
        a = np.sin(a) * y
        b = a * x
    else:
        a = helper(y, a)
        b = a + x
    a = a * b
    return a + x


def several_arguments(x, y, z):
    if x > y and y < z:
        t = x * y * z
    elif x > z:
        t = helper(x, z) + y
    else:
        t = np.cos(y) * z * x
    return t * t


def power_in_a_branch(x, y):
    if x > 1.0:
        r = x ** y
    else:
        r = helper(x, y) ** 2
    return r * y


def early_return(x, y):
    if x > y:
        return helper(x, x) * y
    s = np.tanh(x * y)
    if s > 0.2:
        return s * x
    return s + y


def straight_line(x, y):
    u = np.sin(x * y) + x ** 3
    return u * np.exp(-y) + helper(u, x)


def pair(a, b):
    return np.sin(a) * b, np.cos(b) + a


def tuple_helper(x, y):
    p, q = pair(x, y)
    if p > q:
        r = p * q
    else:
        r = p + q * q
    return r


def quad(a, x):
    return a * x ** 2 + 3.0 * x + 1.0


def quickstart(x, a, b, c):
    return a * x ** 2 + b * x + c


def array_intermediate(s, x):
    v = np.sin(x * s)
    return np.sum(v * v[0])


def array_argument(x):
    return np.sum(np.sin(x) * x[0])


#: (function, points): each branch of each function is taken at some point
CASES = [
    (branchy, [(1.3, 0.4), (0.2, 0.9)]),
    (nested_if, [(0.7, 0.9), (0.6, 0.2), (-0.8, 0.4)]),
    (overwrite, [(1.2, 0.5), (0.3, 0.7)]),
    (several_arguments, [(0.9, 0.5, 0.8), (0.9, 0.5, 0.3), (0.2, 0.5, 0.8), (0.2, 0.9, 0.6)]),
    (power_in_a_branch, [(1.4, 1.7), (0.6, 0.8)]),
    (early_return, [(0.9, 0.3), (0.3, 1.2), (-0.5, 0.4)]),
    (straight_line, [(0.4, 0.7), (-0.3, 1.1)]),
    (tuple_helper, [(0.3, 0.7), (1.2, -0.4)]),  # list cotangents, summed by add_cotangents
]
IDS = [f.__name__ for f, _ in CASES]


def generated(function):
    """``function`` itself, asserting it is generated code (not the tape fallback)."""
    assert hasattr(function, "__s2sgrad_source__")
    return function


def assert_derivative(derivative, function, point, wrt):
    got = derivative(*point)
    expected = numerical_grad(function, point, wrt)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def check_second_derivatives(f, points):
    """Every d2f/(d arg i)(d arg j), generated, against differences of the first."""
    n = len(points[0])
    for inner in range(n):
        first = sg.grad(f, wrt=inner)
        for outer in range(n):
            second = generated(sg.grad(first, wrt=outer))
            for point in points:
                assert_derivative(second, first, point, outer)
                assert isinstance(second(*point), float)


def check_third_derivatives(f, points):
    """d3f/dx3 (and d/dy d2f/dx2), generated, against differences of the second."""
    second = sg.grad(sg.grad(f))
    third = generated(sg.grad(second))
    for point in points:
        assert_derivative(third, second, point, 0)
    if len(points[0]) > 1:  # a mixed one: d/dy d/dx d/dx
        third = generated(sg.grad(second, wrt=1))
        for point in points:
            assert_derivative(third, second, point, 1)


@pytest.mark.parametrize("f, points", CASES, ids=IDS)
def test_second_derivatives_match_finite_differences_of_the_first(f, points):
    check_second_derivatives(f, points)


@pytest.mark.parametrize("f, points", CASES, ids=IDS)
def test_third_derivatives_match_finite_differences_of_the_second(f, points):
    check_third_derivatives(f, points)


@pytest.mark.parametrize("f", [f for f, _ in CASES] + [quad, quickstart, array_argument,
                                                          array_intermediate])
@pytest.mark.parametrize("order", [2, 3])
def test_every_higher_order_source_compiles_without_warnings(f, order):
    source = sg.source(f, order=order)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile(source, f"<{f.__name__} order {order}>", "exec")
    assert "(1.0)[" not in source


def test_an_indexed_array_intermediate_at_order_two_runs():
    x = np.array([0.3, -0.7, 1.1])
    first = sg.grad(array_intermediate)
    second = generated(sg.grad(first))
    for s in (0.4, -1.3):
        assert_derivative(second, first, (s, x), 0)
    # with respect to an array, the first derivative is an array: refused clearly
    with pytest.raises(ValueError, match="real scalar"):
        sg.grad(sg.grad(array_argument))(x)


def test_the_first_order_guards_are_not_differentiated_again():
    source = sg.source(quad, wrt=1, order=2)
    # 17 lines when the guards were differentiated: now the guard checks x
    # (one call), that quad returns a scalar (the first derivative's
    # requirement, kept, not differentiated) and casts; Python floats skip it
    assert source == (
        "def grad_grad_quad(a, x):\n"
        "    if not a.__class__ is x.__class__ is float:\n"
        "        require_float_scalar(x, 'x', 'quad')\n"
        "        require_scalar(a * x ** 2 + 3.0 * x + 1.0, 'quad')\n"
        "        return gradient_of(a * 2, x)\n"
        "    return a * 2\n"), source
    assert len(sg.source(quickstart, order=2).splitlines()) <= 7  # was 34
    second = sg.grad(sg.grad(quad, wrt=1), wrt=1)
    assert second(3.0, 0.5) == 6.0


def test_the_entry_checks_arguments_and_the_program_is_the_derivative():
    # the first derivative's result is shaped like x: its check is on x, at
    # the entry, and computes nothing of the program
    source = sg.source(quad, wrt=1, order=2)
    # (cast to x's type: a * 2 is a Python float where x may be float32)
    endings = ("    return a * 2", "    return gradient_of(a * 2, x)")
    assert source.rstrip().endswith(endings), source
    # (the primal only in the check of quad's result, where not all are floats)
    assert "3.0" not in source.split("    return gradient_of(a * 2, x)\n")[1], source
    assert sg.source(quickstart, order=2).rstrip().endswith(endings)
    second = sg.grad(sg.grad(quad, wrt=1), wrt=1)
    with pytest.raises(ValueError, match="the gradient of quad must return a real scalar to be "
                                         r"differentiated; it has the shape of its argument 'x', "
                                         r"\(2,\) \(for the matrix of second derivatives, use "
                                         r"sg.hessian\)"):
        second(1.0, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="quad must return a real scalar to be differentiated; "
                                         r"it returned ndarray of shape \(2,\)"):
        second(np.array([1.0, 2.0]), 1.0)
    mixed = sg.grad(sg.grad(quad, wrt=0), wrt=1)  # d/dx of the gradient wrt a (shaped like a)
    assert mixed(2.0, 3.0) == 6.0
    with pytest.raises(ValueError, match="the gradient of quad must return a real scalar"):
        mixed(np.array([1.0, 2.0]), 3.0)
    assert generated(sg.grad(sg.grad(sg.grad(quad, wrt=1), wrt=1), wrt=1))(0.3, 0.5) == 0.0


def test_the_second_derivative_has_guards_of_its_own():
    second = sg.grad(sg.grad(quad, wrt=1), wrt=1)
    with pytest.raises(TypeError, match="^cannot differentiate quad with respect to integer argument 'x'"):
        second(1.0, 2)
    np.testing.assert_allclose(second(np.float32(3.0), np.float64(0.5)), 6.0)


def test_no_zero_fill_for_an_adjoint_read_under_one_arm_only():
    # _t6 (the log's argument) exists only when x > y: so does its adjoint
    for order in (2, 3):
        source = sg.source(branchy, order=order)
        assert not [line for line in source.splitlines() if line.endswith(" = 0.0")], source


def counted_power(x, y):
    n = 0
    while n < 2:  # a loop whose adjoint replays a stack (once run on the tape)
        n += 1
    return y ** x


def test_the_exponents_derivative_after_a_counted_loop():
    # on the tape, log(y) of np.float64 values was computed by math.log, a
    # float it did not record: d/dy of d/dx y**x lost the log(y) term
    for i in (0, 1):
        first = sg.grad(counted_power, wrt=i)
        for j in (0, 1):
            second = generated(sg.grad(first, wrt=j))
            assert_derivative(second, first, (1.58, 1.55), j)


def tanh_times_sum(x, y):
    return np.tanh(x) * np.sum(y)


def test_a_folded_seed_spread_by_full_like_carries_its_derivative():
    # grad wrt y is full_like(y, tanh(x)): its value depends on x (it was
    # treated as a constant, so d/dx of it was 0)
    first = sg.grad(tanh_times_sum, wrt=1)
    second = generated(sg.grad(first, wrt=0))
    for point in ((0.4, 0.3), (-1.1, 2.0)):
        assert_derivative(second, first, point, 0)
    x, y = 0.4, np.array([0.3, -0.2, 0.5])
    hvp = sg.hvp(tanh_times_sum, wrt=0)
    weights = np.array([1.0, 2.0, -0.5])
    mixed = sg.jvp(first, wrt=0)(x, y, 1.0)[1]  # d/dx of the gradient wrt y
    h = 1e-6
    np.testing.assert_allclose(mixed, (first(x + h, y) - first(x - h, y)) / (2 * h), rtol=1e-6)
    np.testing.assert_allclose(np.sum(mixed * weights), np.sum(weights) * (1 - np.tanh(x) ** 2))
    assert hvp(x, y, 1.0) == pytest.approx(numerical_grad(sg.grad(tanh_times_sum), (x, y), 0))


def looped(a, n):
    s = a * 0.5
    for i in range(n):
        s = np.sin(s) + a * (0.1 * i)
        if s > 2.5:
            break
    return s


def loop_in_a_branch(x, y):
    if x > 1.0:
        y = x ** looped(0.5, 2) * y
    else:
        y = -1.2 * x * y
    return y * x


def test_a_loop_inside_a_branch_at_order_two():
    # the loop's trip count is assigned before the loop and in it, under
    # the branch; the adjoint reads it under the same test (it was refused
    # as "read before assignment", before the tape could take over)
    for i in (0, 1):
        first = sg.grad(loop_in_a_branch, wrt=i)
        for j in (0, 1):
            second = sg.grad(first, wrt=j)
            for point in ((1.3, 0.5), (0.3, 0.5)):
                assert_derivative(second, first, point, j)


def returns_a_tuple(x):
    return (np.sin(x) * x,)


def test_a_tuple_result_compiles_and_is_refused_when_called():
    source = sg.source(returns_a_tuple)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile(source, "<returns_a_tuple>", "exec")
    with pytest.raises(ValueError, match="real scalar"):
        sg.grad(returns_a_tuple)(0.5)


def same_flag_twice(x, y):
    done = False
    if done:
        z = x * y
    else:
        if done:  # dead code: under both arms of one test
            w = np.sin(x) + y
            return w * x
        z = np.cos(x) * y
    return z * x


def test_code_under_both_arms_of_one_test_is_read_again():
    first = sg.grad(same_flag_twice)
    second = generated(sg.grad(first))
    assert_derivative(second, first, (0.4, 0.9), 0)
