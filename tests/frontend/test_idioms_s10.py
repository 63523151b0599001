"""Python idioms of real numerical code, differentiated as written (reverse,
forward and second order against central differences) or refused at the
user's line: values taken out of arrays (``x.item()``, ``float(x)``,
``x.tolist()``), generator expressions, ``math`` functions of scalars,
copies written into, ``raise``/``assert``/``print`` checks, and methods of
the user's objects passed as arguments."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import s2sgrad as sg
from s2sgrad.codegen import cache
from tests.fd import assert_grad_close, numerical_grad, numerical_jacobian, numerical_jvp
from tests.idioms_helpers import asserts_with_a_message

X = np.array([0.3, -0.8, 1.1, 0.6])
W = np.array([[0.5, -0.3, 0.2, 0.1], [0.1, 0.4, -0.2, 0.3]])
B = np.array([0.1, -0.2])


def check(f, x=X, *before, second=True):
    """Gradient, value, JVP and (``second``) Hessian of ``f(*before, x)`` with
    respect to ``x`` against central differences."""
    x = np.array(x, dtype=float) if not isinstance(x, float) else x
    args = (*before, x)
    wrt = len(before)
    copy = (lambda v: v.copy()) if isinstance(x, np.ndarray) else (lambda v: v)
    assert_grad_close(sg.grad(f, wrt=wrt)(*before, copy(x)), f, args, argnum=wrt)
    value, g = sg.value_and_grad(f, wrt=wrt)(*before, copy(x))
    np.testing.assert_allclose(value, f(*before, copy(x)), rtol=1e-12)
    assert_grad_close(g, f, args, argnum=wrt)
    v = np.linspace(-1.0, 1.0, np.size(x)).reshape(np.shape(x)) if isinstance(x, np.ndarray) else 0.7
    primal, tangent = sg.jvp(f, wrt=wrt)(*before, copy(x), v)
    np.testing.assert_allclose(primal, f(*before, copy(x)), rtol=1e-12)
    np.testing.assert_allclose(tangent, numerical_jvp(f, args, wrt, v), rtol=1e-5, atol=1e-7)
    if second:
        gradient = sg.grad(f, wrt=wrt)
        np.testing.assert_allclose(sg.hessian(f, wrt=wrt)(*before, copy(x)),
                                   numerical_jacobian(gradient, args, wrt), rtol=1e-5, atol=1e-6)


def refused(f, construct, *args):
    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        sg.grad(f)(*(args or (X.copy(),)))
    message = str(info.value)
    assert construct in message and f"{__file__}:" in message, message
    return message


# ------------------------------------------- values taken out of arrays
def item_of_a_sum(x):
    s = np.sum(x * x)
    return s.item() * 2.0 + s


def item_of_entries(x):
    return x[0].item() * x[1] + x[2:3].item() ** 2


def item_by_index(x):
    a = np.outer(x, x)
    return a.item(5) * a.item((2, 3)) + a.item(1, 1)


def item_in_a_loop(x):
    t = 0.0
    for i in range(len(x)):
        t = t + np.sin(x.item(i)) * x[i]
    return t


def item_of_a_count(x):
    n = np.sum(x > 0).item()  # (an int: a bound)
    return np.sum(x[:n] ** 2)


def float_of_a_sum(x):
    return float(np.sum(x * x)) * 3.0 + float(x[1])


def tolist_entries(x):
    entries = x.tolist()
    return entries[0] * entries[1] + entries[2] ** 2


def tolist_in_a_generator(x):
    return sum(v * v for v in x.tolist())


def tolist_of_a_matrix(x):
    rows = np.outer(x, x[:2]).tolist()
    t = 0.0
    for r in rows:
        t = t + r[0] * r[1]
    return t


def tolist_one_entry_used(x):
    return x.tolist()[3] ** 3


@pytest.mark.parametrize("f", [item_of_a_sum, item_of_entries, item_by_index, item_in_a_loop,
                               item_of_a_count, float_of_a_sum, tolist_entries,
                               tolist_in_a_generator, tolist_of_a_matrix, tolist_one_entry_used])
def test_values_taken_out_of_arrays_keep_their_gradient(f):
    check(f)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(-2.0, 2.0), min_size=2, max_size=6), st.integers(0, 5))
def test_item_and_tolist_of_any_length(values, k):
    x = np.array(values)
    k = k % len(values)

    def f(x):
        return x.item(k) ** 2 * np.sum(x) + sum(v ** 3 for v in x.tolist())

    assert_grad_close(sg.grad(f)(x), f, (x,))


def test_item_keeps_float32_and_python_floats():
    assert sg.grad(item_of_entries)(X.astype(np.float32)).dtype == np.float32
    g = sg.grad(lambda a: np.float64(a).item() ** 2)(1.5)
    assert type(g) is float and g == 3.0


def item_with_keywords(x):
    return x.item(i=0)


def test_item_with_keywords_is_refused():
    refused(item_with_keywords, ".item() with these arguments")


# ------------------------------------------------- generator expressions
def sum_of_products(x):
    ws, vs = [x[0], x[1]], [x[2], x[3]]
    return sum(w * v for w, v in zip(ws, vs))


def sum_with_a_start(x):
    return sum((v * v for v in x), 1.0)


def max_and_min_of_generators(x):
    return max(v * v for v in x) + min(np.sin(v) for v in x)


def array_of_a_comprehension(x):
    return np.sum(np.array([np.sin(t) * t for t in x]) ** 2)


def any_and_all(x):
    if any(v > 1.0 for v in x) and not all(v > 0 for v in x):
        return np.sum(x ** 2)
    return np.sum(x)


def fsum_of_a_generator(x):
    return math.fsum(v * v for v in x) + math.fsum([x[0], x[1]])


@pytest.mark.parametrize("f", [sum_of_products, sum_with_a_start, max_and_min_of_generators,
                               array_of_a_comprehension, any_and_all, fsum_of_a_generator])
def test_generator_expressions(f):
    check(f)


# ---------------------------------------------------- math of scalars
def math_functions(x):
    a, b = x[0], x[2]
    r = math.exp(a) + math.log(b) + math.sqrt(b) + math.sin(a) + math.cos(a) + math.tanh(a)
    r += math.pow(b, 1.5) + math.hypot(a, b) + math.fabs(a) + math.log1p(b) + math.expm1(a)
    return r + math.atan2(a, b) + math.log(b, 2) + math.log10(b) + math.log2(b)


def math_error_functions(x):
    return math.erf(x[0]) * math.erfc(x[1]) + math.erf(x[2] * x[3])


def math_copysign(x):
    return math.copysign(x[2], x[1]) * math.copysign(x[0], 1.0)


def math_of_a_reduction(x):
    s = np.sum(x * x)
    return math.exp(s) + math.log(s)


@pytest.mark.parametrize("f", [math_functions, math_error_functions, math_copysign,
                               math_of_a_reduction])
def test_math_functions_of_scalars(f):
    check(f)


@pytest.mark.parametrize("f", [math.erf, math.erfc, math.sin])
def test_math_of_a_python_float_gives_a_python_float(f):
    g = sg.grad(lambda a: f(a) * a)(0.4)
    assert type(g) is float
    assert g == pytest.approx(numerical_grad(lambda a: f(a) * a, (0.4,)), rel=1e-6)


def math_lgamma(x):
    return math.lgamma(x[2])


def test_a_math_function_without_a_rule_is_refused_naming_it():
    refused(math_lgamma, "math.lgamma")


# ------------------------------------------------- copies written into
def copy_then_writes(x):
    y = x.copy()
    y[1] = x[0] * 3.0
    y[y > 0.5] *= 2.0
    y += x ** 2
    return np.sum(y * y)


def np_copy_and_np_array_written(x):
    y = np.copy(x)
    y[0] = y[3] * y[2]
    z = np.array(x)
    z[1:3] += y[0]
    return np.sum(y ** 2) + np.sum(z * x)


def copy_of_a_slice_written(x):
    y = x[:].copy()
    y[0] = x[1] ** 2
    return np.sum(y * x)


@pytest.mark.parametrize("f", [copy_then_writes, np_copy_and_np_array_written,
                               copy_of_a_slice_written])
def test_writes_into_copies(f):
    check(f)


def test_writes_into_copies_leave_the_argument_alone():
    x = X.copy()
    sg.grad(copy_then_writes)(x)
    sg.jvp(np_copy_and_np_array_written)(x, X)
    np.testing.assert_array_equal(x, X)


def view_written(x):
    x = x * 1.0
    y = x[:]
    y[0] = 5.0 * x[1]
    return np.sum(x ** 2)


def view_updated(x):
    x = x * 1.0
    y = x[:]
    y += 1.0
    return np.sum(x ** 2)


def asarray_written(x):
    y = np.asarray(x)
    y[0] = 2.0 * x[1]
    return np.sum(y ** 2)


@pytest.mark.parametrize("f, construct", [(view_written, "assignment into 'y'"),
                                          (view_updated, "augmented assignment to 'y'"),
                                          (asarray_written, "assignment into 'y'")])
def test_writes_through_a_view_are_refused(f, construct):
    refused(f, construct)


# ------------------------------------------- checks: raise, assert, print
def validates_its_input(x):
    if x.ndim != 1:
        raise ValueError(f"x must be 1-d, got {x.ndim}")
    if np.any(np.isnan(x)):
        raise ValueError("x has a NaN")
    return np.sum(x ** 2)


def raises_a_class(x):
    if x.shape[0] > 10:
        raise ValueError
    return np.sum(np.sin(x))


def returns_or_raises(x):
    if x.ndim == 1:
        return np.sum(x ** 3)
    else:
        raise TypeError("one axis only")


def raises_in_a_loop(x):
    t = 0.0
    for v in x:
        if v > 100.0:
            raise ValueError("too large") from None
        t = t + v * v
    return t


@pytest.mark.parametrize("f", [validates_its_input, raises_a_class, returns_or_raises,
                               raises_in_a_loop, asserts_with_a_message])
def test_checks_that_pass_change_nothing(f):
    check(f)


@pytest.mark.parametrize("f, x, error, text", [
    (validates_its_input, np.ones((2, 2)), ValueError, "x must be 1-d, got 2"),
    (returns_or_raises, np.ones((2, 2)), TypeError, "one axis only"),
    (raises_in_a_loop, X * 1000.0, ValueError, "too large"),
    (asserts_with_a_message, -X, AssertionError, "negative entries"),
])
def test_checks_that_fail_raise_the_users_error(f, x, error, text):
    for transform in (lambda: sg.grad(f)(x), lambda: sg.jvp(f)(x, x),
                      lambda: sg.value_and_grad(f)(x)):
        with pytest.raises(error, match=text):
            transform()


def bare_raise(x):
    raise


def test_a_bare_raise_is_refused():
    refused(bare_raise, "bare raise outside an except handler")


def prints_its_loss(x):
    s = np.sum(x * x)
    print("loss", s, f"{float(s):.3f}")
    return s


def test_print_runs_once_per_call_and_changes_nothing(capsys):
    check(prints_its_loss)
    capsys.readouterr()
    for call in (lambda: sg.grad(prints_its_loss)(X), lambda: sg.value_and_grad(prints_its_loss)(X),
                 lambda: sg.jvp(prints_its_loss)(X, X), lambda: sg.hvp(prints_its_loss)(X, X)):
        call()
        assert capsys.readouterr().out == f"loss {np.sum(X * X)} {np.sum(X * X):.3f}\n"


def try_body_differentiated(x):
    try:
        y = np.sum(np.sin(x))
    except (ValueError, ZeroDivisionError):
        y = 0.0
    finally:
        z = 2.0
    return y * z


def _inverse_sum(x):
    try:
        return np.sum(np.log(x))
    except FloatingPointError:
        return 0.0


def try_in_a_helper(x):
    return _inverse_sum(x * x)


def try_returning_a_vector(x):
    try:
        return np.sin(x) * x[0]
    except ValueError:
        return x


def test_try_whose_handler_does_not_run():
    check(try_body_differentiated)
    check(try_in_a_helper)
    np.testing.assert_allclose(sg.jacobian(try_returning_a_vector)(X),
                               numerical_jacobian(try_returning_a_vector, (X,)), rtol=1e-6, atol=1e-8)
    g = sg.grad(lambda a: try_body_differentiated(np.array([a, 2 * a])))
    assert sg.grad(g)(0.3) == pytest.approx(numerical_grad(g, (0.3,)), rel=1e-5)


def handler_of_a_singular_matrix(x):
    try:
        s = np.sum(np.linalg.inv(np.zeros((2, 2)) * x[0]))
    except np.linalg.LinAlgError:
        s = np.sum(x ** 2)
    return s


def handler_of_a_raise(x):
    try:
        if x[0] > 0:
            raise ValueError("positive")
        s = np.sum(x)
    except (KeyError, ValueError):
        s = np.sum(x ** 2)
    return s


@pytest.mark.parametrize("f, caught", [(handler_of_a_singular_matrix, "LinAlgError: Singular matrix"),
                                       (handler_of_a_raise, "ValueError: positive")])
def test_a_handler_that_would_run_is_refused_at_its_line(f, caught):
    line = f.__code__.co_firstlineno + [n for n, text in enumerate(
        open(__file__).read().splitlines()[f.__code__.co_firstlineno - 1:]) if "except" in text][0]
    for transform in (lambda: sg.grad(f)(X), lambda: sg.jvp(f)(X, X), lambda: sg.hessian(f)(X),
                      lambda: sg.value_and_grad(f)(X)):
        with pytest.raises(sg.UnsupportedSyntaxError) as info:
            transform()
        message = str(info.value)
        assert f"an except clause that would run (it catches {caught})" in message, message
        assert f"{__file__}:{line}" in message, message


# ------------------------------ methods of the user's objects as arguments
class Net:
    scale = 2.0

    def __init__(self, W, b):
        self.W = W
        self.b = b

    def act(self, z):
        return np.tanh(z) * self.scale

    def forward(self, x):
        return self.act(self.W @ x + self.b)

    def loss(self, x, y=1.0):
        return np.sum((self.forward(x) - y) ** 2)


class Sine:
    def __init__(self, W):
        self.W = W

    def forward(self, x):
        return np.sin(self.W @ x)

    def loss(self, x, y=1.0):
        return np.sum(self.forward(x) ** 2) * y


class Remembers:
    def __init__(self, W):
        self.W = W

    def forward(self, x):
        self.last = x
        return np.sum(self.W @ x)


def model_loss(model, x):
    return model.loss(x)


def model_loss_keywords(model, x):
    return model.loss(x, y=0.5) + model.loss(x=x)


def _squared_output(m, x):
    return np.sum(m.forward(x) ** 2)


def model_through_a_helper(model, x):
    return _squared_output(model, x)


def model_in_a_loop(model, x):
    s = 0.0
    for i in range(3):
        s = s + np.sum(model.forward(x * i))
    return s


def forward(model, x):
    return model.forward(x)


def two_models(a, x, b):
    return np.sum(a.forward(x) * b.forward(x))


@pytest.mark.parametrize("model", [Net(W, B), Sine(W)], ids=["Net", "Sine"])
@pytest.mark.parametrize("f", [model_loss, model_loss_keywords, model_through_a_helper,
                               model_in_a_loop])
def test_methods_of_an_argument(f, model):
    check(f, X, model)


def test_methods_of_two_arguments():
    net, sine = Net(W, B), Sine(W)
    g = sg.grad(two_models, wrt=1)(net, X, sine)
    assert_grad_close(g, two_models, (net, X, sine), argnum=1)


def test_each_class_gets_its_own_derivative_and_keeps_it():
    g = sg.grad(model_loss, wrt=1)
    net, sine = Net(W, B), Sine(W)
    for model in (net, sine, net, sine):
        assert_grad_close(g(model, X), model_loss, (model, X), argnum=1)
    generated = cache.stats["generated"]
    for model in (net, sine, Net(2 * W, B)):
        g(model, X)
    assert cache.stats["generated"] == generated


def test_methods_of_an_argument_are_inlined():
    from s2sgrad import pipeline

    entry = pipeline.code_for_call(model_loss, 1, (Net(W, B), X), {})
    assert "call_vjp" not in entry.source and "np.tanh" in entry.source, entry.source


def test_a_method_replaced_is_noticed_by_the_next_gradient(monkeypatch):
    net = Net(W, B)
    sg.grad(model_loss, wrt=1)(net, X)

    def cubed(self, z):
        return z ** 3

    monkeypatch.setattr(Net, "act", cubed)
    assert_grad_close(sg.grad(model_loss, wrt=1)(net, X), model_loss, (net, X), argnum=1)


def test_second_order_through_methods_of_an_argument():
    net = Net(W, B)

    def f(model, s):
        return model.loss(X * s)

    assert sg.grad(sg.grad(f, wrt=1), wrt=1)(net, 0.7) == pytest.approx(
        numerical_grad(sg.grad(f, wrt=1), (net, 0.7), 1), rel=1e-5)
    v = np.linspace(-1.0, 1.0, 4)
    np.testing.assert_allclose(sg.hvp(model_loss, wrt=1)(net, X, v),
                               numerical_jvp(sg.grad(model_loss, wrt=1), (net, X), 1, v),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sg.jacobian(forward, wrt=1)(net, X),
                               numerical_jacobian(forward, (net, X), 1), rtol=1e-5, atol=1e-7)


def test_differentiating_with_respect_to_the_object_names_it():
    with pytest.raises(TypeError, match="argument 'model', a Net"):
        sg.grad(model_loss, wrt=0)(Net(W, B), X)


def test_a_method_writing_into_self_is_refused():
    with pytest.raises(sg.UnsupportedSyntaxError, match="Remembers.forward") as info:
        sg.grad(lambda model, x: model.forward(x), wrt=1)(Remembers(W), X)
    assert "'self'" in str(info.value)


def test_the_source_of_such_a_function_says_why_it_needs_the_call():
    with pytest.raises(sg.UnsupportedSyntaxError, match="model.loss.. of argument 'model'") as info:
        sg.source(model_loss, wrt=1)
    assert f"{__file__}:" in str(info.value)


def test_a_method_replaced_on_the_object_itself_is_refused():
    net = Net(W, B)
    net.forward = lambda x: x  # (what Python calls for net.forward, not Net.forward)
    with pytest.raises(sg.UnsupportedSyntaxError, match="forward is replaced on the object") as info:
        sg.grad(model_through_a_helper, wrt=1)(net, X)
    assert f"{__file__}:" in str(info.value)
    assert_grad_close(sg.grad(model_through_a_helper, wrt=1)(Net(W, B), X),
                      model_through_a_helper, (Net(W, B), X), argnum=1)


class Layer:
    def __init__(self, W):
        self.W = W

    def __call__(self, x):
        return np.tanh(self.W @ x)


def calls_its_argument(layer, x):
    return np.sum(layer(x) ** 2)


def calls_a_function_argument(f, x):
    return np.sum(f(x))


def test_an_argument_called_runs_its_class_call():
    check(calls_its_argument, X, Layer(W))


def test_a_function_argument_called_is_still_refused_naming_it():
    with pytest.raises(sg.UnsupportedSyntaxError, match="call to f ") as info:
        sg.grad(calls_a_function_argument, wrt=1)(np.sin, X)
    assert f"{__file__}:" in str(info.value)


def model_loss_guarded(model, x):
    try:
        return model.loss(x)
    except FloatingPointError:
        return 0.0


def test_methods_of_an_argument_inside_a_try():
    check(model_loss_guarded, X, Net(W, B))
