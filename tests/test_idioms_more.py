"""Ordinary Python a user of autograd or JAX writes, differentiated as written
(against central differences: gradient, forward mode, second order), or
refused at the user's line when the value truly leaves the differentiated
world."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import s2sgrad as sg
from tests.fd import assert_grad_close, numerical_jacobian, numerical_jvp
from tests.idioms_helpers import asserts

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


# ------------------------------------------------------- lambda and map/reduce
import functools  # noqa: E402
import math  # noqa: E402
import warnings  # noqa: E402

W = 1.7


def map_lambda_of_a_global(x):
    xs = [x[0], x[1], x[2]]
    ys = list(map(lambda v: v * W, xs))
    return ys[0] + ys[1] * ys[2]


def map_lambda_over_an_array(x):
    return np.sum(np.array(list(map(lambda v: v * np.sin(v), x))))


def map_lambda_of_two_lists(x):
    return sum(map(lambda a, b: a * b, x, x[::-1]))


def map_of_a_numpy_function(x):
    return sum(map(np.tanh, x))


def map_of_a_nested_def(x):
    scale = x[0]

    def scaled(v):
        return v * scale

    return sum(list(map(scaled, x)))


def map_lambda_reading_a_local(x):
    w = np.sum(x)
    return sum(tuple(map(lambda v: v * w, x)))


def map_iterated_by_a_loop(x):
    t = 0.0
    for y in map(lambda v: v ** 2, x):
        t = t * 0.5 + y
    return t


def reduce_lambda(x):
    return functools.reduce(lambda a, b: a * b, [x[0], x[1], x[2]])


def reduce_lambda_with_initial(x):
    return functools.reduce(lambda a, b: a + b * b, x, 1.0)


def reduce_of_a_function(x):
    return np.sum(functools.reduce(np.maximum, [x, x[::-1] * 0.5 + 0.1, np.sin(x)]))


def reduce_in_a_condition(x):
    if functools.reduce(lambda a, b: a + b, x) > 0:
        return np.sum(x ** 3)
    return np.sum(x)


def local_lambda_called(x):
    square = lambda v: v * v + np.sin(v)  # noqa: E731
    return np.sum(square(x))


@pytest.mark.parametrize("f", [map_lambda_of_a_global, map_lambda_over_an_array,
                               map_lambda_of_two_lists, map_of_a_numpy_function,
                               map_of_a_nested_def, map_lambda_reading_a_local,
                               map_iterated_by_a_loop, reduce_lambda,
                               reduce_lambda_with_initial, reduce_of_a_function,
                               reduce_in_a_condition, local_lambda_called])
def test_lambda_map_reduce(f):
    check(f)


def reduce_reusing_the_lambdas_names(x):
    a = x[0] * 3.0  # the lambda's a and b are its own
    b = 2.0
    return functools.reduce(lambda a, b: a * b, x) + a * b


def test_reduce_keeps_the_functions_own_names_apart():
    check(reduce_reusing_the_lambdas_names)


def lambda_given_to_a_function_without_source(x):
    return np.sum(np.apply_along_axis(lambda r: r * 2.0, 0, x))


def test_a_lambda_given_elsewhere_is_refused_at_its_line():
    refused(lambda_given_to_a_function_without_source, "lambda")


# ------------------------------------------------------ sorted, max and min
def sorted_by_key(x):
    ys = sorted([x[0], x[1], x[2]], key=lambda v: abs(v))
    return ys[0] * 2.0 + ys[2]


def sorted_by_builtin_key_reversed(x):
    ys = sorted(x, key=abs, reverse=True)
    return ys[0] * 3.0 + ys[1] * ys[3]


def sorted_plainly(x):
    ys = sorted([x[0], 2.0 * x[1], x[2] ** 2])
    return ys[0] - ys[1] * ys[2]


def max_and_min_of_a_list(x):
    xs = [x[0], x[1], x[2]]
    return max(xs) + min(xs) * 2.0


def max_of_an_array(x):
    return max(x) * 1.5 + min(x * x)


def max_of_a_generator(x):
    return max(v * np.cos(v) for v in x)


def max_with_key(x):
    return max([x[0], x[1], x[2]], key=lambda v: v * v) + min(x, key=abs) * 3.0


def max_of_arguments_with_key(x):
    return max(x[0], x[1], x[2], key=abs)


def max_of_several_arguments(x):
    return max(x[0], x[1], x[2]) + min(x[0], x[1]) * 3.0


@pytest.mark.parametrize("f", [sorted_by_key, sorted_by_builtin_key_reversed, sorted_plainly,
                               max_and_min_of_a_list, max_of_an_array, max_of_a_generator,
                               max_with_key, max_of_arguments_with_key,
                               max_of_several_arguments])
def test_sorted_max_min(f):
    check(f)


@given(st.lists(st.integers(-30, 30), min_size=4, max_size=6, unique_by=abs))
def test_sorted_and_max_follow_any_order(values):
    x = np.array(values) / 10.0  # (distinct |x|: no ties, where there is no derivative)
    for f in (sorted_by_builtin_key_reversed, max_of_an_array, max_with_key):
        assert_grad_close(sg.grad(f)(x), f, (x,))


def max_with_default(x):
    return max(x, default=0.0)


def test_max_with_default_is_refused():
    refused(max_with_default, "max")


def test_ties_go_to_the_item_python_returns():
    def first_of_equals(x):
        return max([x[0], x[1]]) * 1.0

    # max returns its first largest item: the gradient is that item's
    assert list(sg.grad(first_of_equals)(np.array([2.0, 2.0]))) == [1.0, 0.0]


# ------------------------------------------------------------------ walrus
def walrus_in_a_condition(x):
    if (s := np.sum(x * x)) > 1.0:
        return s * 2.0
    return s


def walrus_in_an_assignment(x):
    y = (n := np.sin(x)) * 2.0
    return np.sum(y * n)


def walrus_in_a_comprehension(x):
    return sum([(y := v * v) + y for v in x])


def walrus_in_a_filter(x):
    return sum([y * v for v in x if (y := v * 2.0) > 0.0])


def walrus_value_after_the_comprehension(x):
    ys = [(y := np.sin(v)) for v in x]
    return ys[0] * y


def walrus_in_a_while_test(x):
    t = 0.0
    k = 0
    while (k := k + 1) < len(x):
        t = t + x[k] * x[k - 1]
    return t


@pytest.mark.parametrize("f", [walrus_in_a_condition, walrus_in_an_assignment,
                               walrus_in_a_comprehension, walrus_in_a_filter,
                               walrus_value_after_the_comprehension, walrus_in_a_while_test])
def test_walrus(f):
    check(f)


def walrus_in_a_conditional_expression(x):
    return np.sum(x) if np.sum(x) > 10 else (s := np.sum(x * x)) * s


def test_a_walrus_evaluated_only_sometimes_is_refused():
    refused(walrus_in_a_conditional_expression, "walrus")


# ------------------------------------------------------------- with blocks
def errstate_block(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(x * x) * x
    return np.sum(y)


def printoptions_and_catch_warnings(x):
    with np.printoptions(precision=3), warnings.catch_warnings():
        y = np.sum(np.exp(x))
    return y


@pytest.mark.parametrize("f", [errstate_block, printoptions_and_catch_warnings])
def test_with_blocks_that_change_no_value(f):
    check(f)


def errstate_raising(x):
    with np.errstate(all="raise"):
        return np.sum(np.log(x))


def test_errstate_that_raises_is_refused():
    refused(errstate_raising, "with statement")


# ------------------------------------------------------- starred unpacking
def star_rest(x):
    a, *rest = [x[0], x[1], x[2]]
    return a * rest[0] + rest[1]


def star_in_the_middle(x):
    first, *_, last = [x[0], x[1], x[2], x[3]]
    return first * last


def star_first(x):
    *init, last = x
    return np.sum(np.array(init)) * last


def star_of_an_array(x):
    a, *rest = x
    return a * np.sum(np.array(rest))


def star_in_a_loop(x):
    t = 0.0
    for head, *tail in [(x[0], x[1], x[2]), (x[3], x[2], x[1])]:
        t = t + head * sum(tail)
    return t


@pytest.mark.parametrize("f", [star_rest, star_in_the_middle, star_first, star_of_an_array,
                               star_in_a_loop])
def test_starred_unpacking(f):
    check(f)


def test_starred_unpacking_of_too_few_items_is_pythons_error():
    def three(x):
        a, *rest, b, c = x
        return a * b

    with pytest.raises(ValueError, match="not enough values to unpack"):
        sg.grad(three)(np.ones(2))


# ------------------------------------------------ ordinary code that already ran
def leaves_then_bounds(x):
    n = int(np.sum(x > 0))
    t = 0.0
    for i in range(n):
        t = t + x[i] ** 2
    return t


def float_of_a_value(x):
    return float(np.sum(x)) ** 2


def prints(x):
    s = np.sum(x * x)
    print("loss", s, float(s))
    return s


def try_except_finally(x):
    try:
        y = np.sum(np.sin(x))
    except ValueError:
        y = 0.0
    finally:
        z = 1.0
    return y * z


def copies_and_conversions(x):
    x = x.copy()
    x[0] = x[0] * 2.0
    y = np.asarray(x)
    z = np.array(y, dtype=float)
    return np.sum(z ** 3)


def branches_on_types_and_shapes(x):
    if isinstance(x, np.ndarray) and x.ndim == 1 and x.shape[0] == len(x):
        return np.sum(x * x)
    return x * x


def math_functions(x):
    s = 0.0
    for v in x:
        s = s + math.exp(v) + math.sqrt(v * v + 1) + math.log(v * v + 1) * math.pi
    return s


def augmented_subscripts_of_a_copy(x):
    y = x.copy()
    y[1] += x[0] * 2.0
    y[0] *= x[2]
    return np.sum(y * y)


def one_argument_where(x):
    return np.sum(x[np.where(x > 0)] ** 2)


@pytest.mark.parametrize("f", [leaves_then_bounds, float_of_a_value, prints, asserts,
                               try_except_finally, copies_and_conversions,
                               branches_on_types_and_shapes, math_functions,
                               augmented_subscripts_of_a_copy, one_argument_where])
def test_ordinary_code(f, capsys):
    check(f)


# ------------------------------------------------------------------- the tape
def test_the_tape_runs_these_idioms_eagerly():
    x = sg.Variable(X.copy())
    with sg.GradientTape() as tape:
        y = max_with_key(x) + sorted_by_key(x) + reduce_lambda(x) + star_in_the_middle(x)
    expected = sum(sg.grad(f)(X.copy()) for f in (max_with_key, sorted_by_key, reduce_lambda,
                                                  star_in_the_middle))
    np.testing.assert_allclose(tape.gradient(y, x), expected, rtol=1e-12)
