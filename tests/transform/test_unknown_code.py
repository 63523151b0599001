"""Unknown code is never assumed harmless (issue 10).

Decorators, calls that write into what they are passed, callables that
depend on the input and arrays still held by containers or other names:
each case, written as a user would, is either differentiated (checked
against central finite differences) or refused with an
UnsupportedSyntaxError naming the construct and the user's line.
"""

import functools
import inspect
import operator

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import assert_grad_close

X = np.array([0.3, -1.2, 0.7])


def refused(f, arg, construct):
    """Assert ``sg.grad(f)(arg)`` is refused naming ``construct`` at a line of
    this file inside ``f`` (or inside the function it names)."""
    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        sg.grad(f)(arg)
    message = str(info.value)
    assert construct in message, message
    assert "test_unknown_code.py:" in message, message
    return int(message.split("test_unknown_code.py:")[1].split(":")[0].split()[0])


def line_of(f, text):
    """The file line of the first line of ``f`` containing ``text``."""
    lines, first = inspect.getsourcelines(f.__code__)
    return first + next(i for i, line in enumerate(lines) if text in line)


# ------------------------------------------------------------ decorators
def passes_through(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


def passes_through_documented(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        """Calls fn."""
        return fn(*args, **kwargs)
    return wrapper


def doubles(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return 2.0 * fn(*args, **kwargs)
    return wrapper


def doubles_unwrapped(fn):
    def wrapper(*args, **kwargs):
        return 2.0 * fn(*args, **kwargs)
    return wrapper


def doubles_named(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


def squares_named(fn):
    @functools.wraps(fn)
    def wrapper(x):
        y = fn(x)
        return y * y
    return wrapper


@passes_through
def cube_through(x):
    return x * x * x


@passes_through_documented
@passes_through
def cube_through_twice(x):
    return x * x * x


@doubles_named
def cube_doubled(x):
    return x * x * x


@squares_named
@doubles_named
def sin_doubled_squared(x):
    return np.sin(x)


@doubles
def cube_doubled_varargs(x):
    return x * x * x


@doubles_unwrapped
def cube_doubled_plain(x):
    return x * x * x


def calls_doubled(x):
    return cube_doubled(x) + x


@pytest.mark.parametrize("f", [cube_through, cube_through_twice, cube_doubled,
                               sin_doubled_squared, calls_doubled])
@pytest.mark.parametrize("x", [1.5, -0.4])
def test_what_is_called_is_differentiated(f, x):
    assert_grad_close(sg.grad(f)(x), f, (x,))
    value, g = sg.value_and_grad(f)(x)
    assert value == pytest.approx(f(x))


@pytest.mark.parametrize("f, wrapper", [(cube_doubled_varargs, doubles),
                                        (cube_doubled_plain, doubles_unwrapped)])
def test_a_wrapper_that_does_more_than_pass_on_is_refused_by_name(f, wrapper):
    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        sg.grad(f)
    message = str(info.value)
    assert "*args/**kwargs" in message and "wrapper" in message, message
    line = int(message.split("test_unknown_code.py:")[1].split(":")[0])
    assert line_of(wrapper, "def wrapper") - 1 <= line <= line_of(wrapper, "def wrapper"), message


# ------------------------------------------------ calls that write into
def fill_first(a, v):
    a[0] = v


def fill_first_twice(a, v):
    a[0] = v
    a[1] = v * v


def writes_through_helper(x):
    a = np.zeros(3)
    fill_first(a, x)
    return np.sum(a * a) + x


def writes_twice_through_helper(x):
    a = np.ones(3)
    fill_first_twice(a, np.sin(x))
    return np.sum(a * np.cos(a))


def writes_into_argument_copy(x):
    a = x * 2.0
    fill_first(a, 1.0)
    return np.sum(a * x)


@pytest.mark.parametrize("f, x", [(writes_through_helper, 1.3), (writes_twice_through_helper, 0.4),
                                  (writes_into_argument_copy, X)])
def test_a_helper_writing_into_its_argument(f, x):
    try:
        g = sg.grad(f)(x)
    except sg.UnsupportedSyntaxError as exc:  # refused is fine, silently wrong is not
        assert "writes into" in str(exc) and "test_unknown_code.py:" in str(exc), str(exc)
        return
    assert_grad_close(g, f, (x,))


def append_to(items, v):
    items.append(v)


def appends_through_helper(x):
    items = [x]
    append_to(items, x * x)
    return items[0] + items[1]


GLOBAL_LIST = [0.0]
GLOBAL_ARRAY = np.zeros(2)


def store_global(v):
    GLOBAL_LIST[0] = v


def store_global_array(v):
    GLOBAL_ARRAY[1] = v


def writes_global(x):
    store_global(x * x)
    return x + GLOBAL_LIST[0]


def writes_global_array(x):
    store_global_array(np.sin(x))
    return x * np.sum(GLOBAL_ARRAY)


def make_writers():
    k = 2.0  # (a closure: these stay calls, never inlined)

    def sin_into(a, v):
        np.sin(v * k, out=a)
        return k

    def copy_into(a, v):
        np.copyto(a, v * k)
        return k

    def fill(a, v):
        a[0] = v * k
    return sin_into, copy_into, fill


sin_into, copy_into, fill_closure = make_writers()


def writes_out_through_closure(x):
    a = np.zeros(3)
    k = sin_into(a, x)
    return np.sum(a) * k


def copies_through_closure(x):
    a = np.zeros(3)
    k = copy_into(a, x)
    return np.sum(a * a) * k


def fills_argument_through_closure(x):
    fill_closure(x, 1.0)
    return np.sum(x * x)


def sets_item(x):
    a = np.zeros(3)
    operator.setitem(a, 0, x)
    return np.sum(a * a)


def adds_in_place(x):
    a = np.ones(3) * x
    a = operator.iadd(a, x)
    return np.sum(a * a)


def adds_at(x):
    a = np.zeros(3)
    np.add.at(a, [0, 0], x)
    return np.sum(a * a)


def ufunc_out(x):
    a = np.zeros(3)
    np.sin(x, out=a)
    return np.sum(a)


def puts(x):
    a = np.zeros(3)
    np.put(a, [0], x)
    return np.sum(a * a)


def places(x):
    a = np.zeros(3)
    np.place(a, a == 0, x)
    return np.sum(a * a)


def copies_to(x):
    a = np.zeros(3)
    np.copyto(a, x)
    return np.sum(a * a)


@pytest.mark.parametrize("f, x, construct, where", [
    (appends_through_helper, 1.5, "append_to", "append_to(items"),
    (writes_global, 1.5, "GLOBAL_LIST", "store_global(x"),
    (writes_global_array, 1.5, "GLOBAL_ARRAY", "store_global_array("),
    (writes_out_through_closure, X, "sin_into(), which writes into 'a'", "sin_into("),
    (copies_through_closure, X, "copy_into(), which writes into 'a'", "copy_into("),
    (fills_argument_through_closure, X, "fill_closure(), which writes into 'a'", "fill_closure("),
    (sets_item, 1.5, "operator.setitem", "operator.setitem"),
    (adds_in_place, 1.5, "operator.iadd", "operator.iadd"),
    (adds_at, 1.5, "add.at", "np.add.at"),
    (ufunc_out, X, "out=", "out=a"),
    (puts, 1.5, "np.put()", "np.put"),
    (places, 1.5, "np.place()", "np.place"),
    (copies_to, X, "np.copyto()", "np.copyto"),
])
def test_calls_writing_into_what_they_are_passed_are_refused(f, x, construct, where):
    assert refused(f, x, construct) == line_of(f, where)


# --------------------------------------- callables depending on the input
def make_scaler(x):
    def scale(y):
        return x * y
    return scale


def power_partial(x):
    f = functools.partial(np.power, x)
    return f(3.0)


def multiply_partial(x):
    f = functools.partial(np.multiply, 2.0)
    return np.sum(f(x))  # (what f is, is known at run time only)


def closure_from_helper(x):
    f = make_scaler(x)
    return f(2.0)


def bound_method(x):
    f = x.sum
    return f()


def getattr_function(x):
    return getattr(np, "sin")(x)


def getattr_method(x):
    f = getattr(x, "sum")
    return f()


def chosen_function(x):
    f = np.sin if np.sum(x) > 0 else np.cos
    return np.sum(f(x))


@pytest.mark.parametrize("f, x, construct, where", [
    (power_partial, 1.5, "functools.partial", "functools.partial"),
    (multiply_partial, X, "call to f", "f(x)"),
    (closure_from_helper, 1.5, "call to f", "f(2.0)"),
    (bound_method, X, "call to f", "f()"),
    (getattr_method, X, "getattr", "getattr(x"),
    (getattr_function, X, "call to getattr(np, 'sin')", "getattr(np"),
    (chosen_function, X, "call to f", "f(x)"),
])
def test_calls_of_unresolved_callables_are_refused(f, x, construct, where):
    assert refused(f, x, construct) == line_of(f, where)


def test_the_refusal_names_no_internal_object():
    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        sg.grad(getattr_function)(X)
    assert "object at 0x" not in str(info.value)


# -------------------------------------------------------------- aliasing
def scaled_while_listed(x):
    y = x * 1.0
    items = [y]
    y *= 3.0
    return np.sum(items[0])


def added_while_in_tuple(x):
    y = x * 1.0
    pair = (y, 1.0)
    y += x
    return np.sum(pair[0] * x)


def scaled_while_nested(x):
    y = x * 1.0
    items = [[y, x]]
    y *= 3.0
    return np.sum(items[0][0])


def scaled_through_alias(x):
    y = x * 1.0
    z = y
    z *= 3.0
    return np.sum(y)


def written_through_alias(x):
    y = x * 1.0
    z = y
    z[0] = 5.0
    return np.sum(y * x)


@pytest.mark.parametrize("f, construct, where", [
    (scaled_while_listed, "augmented assignment to 'y'", "y *= 3.0"),
    (added_while_in_tuple, "augmented assignment to 'y'", "y += x"),
    (scaled_while_nested, "augmented assignment to 'y'", "y *= 3.0"),
    (scaled_through_alias, "augmented assignment to 'z'", "z *= 3.0"),
    (written_through_alias, "assignment into 'z'", "z[0] = 5.0"),
])
def test_writes_to_an_array_other_names_hold_are_refused(f, construct, where):
    assert refused(f, X.copy(), construct) == line_of(f, where)
    with pytest.raises(sg.UnsupportedSyntaxError):
        sg.value_and_grad(f)(X.copy())


def scaled_after_listing_a_number(x):
    y = x * 1.0
    items = [y]
    y *= 3.0
    return items[0] + y


def test_numbers_in_containers_are_new_objects():
    f = scaled_after_listing_a_number
    assert_grad_close(sg.grad(f)(1.5), f, (1.5,))
