"""Inlining calls to the user's own functions (s2sgrad.frontend.inline).

An inlined call must give the gradient of the call (finite differences),
generate what writing the body in place generates, run the callee's
primal once, and leave the calls it cannot move (recursion, closures,
other modules, writes into arguments, shadowed globals) as calls.
"""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad
from tests.transform import random_helpers

RNG = np.random.default_rng(5)
W, U = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 4))
XS, H0 = RNG.standard_normal((6, 3)), RNG.standard_normal(4)


def cell(x, h, W, U):
    return np.tanh(x @ W + h @ U)


def rnn_with_cell(W, U, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = cell(xs[t], h, W, U)
    return np.sum(h ** 2)


def rnn_inline(W, U, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ W + h @ U)
    return np.sum(h ** 2)


def test_a_cell_function_generates_what_the_inline_loop_generates():
    with_cell, inline = sg.source(rnn_with_cell), sg.source(rnn_inline)
    assert "call_vjp" not in with_cell
    assert with_cell.count("push(") == inline.count("push(") == 3
    args = (W, U, XS, H0)
    np.testing.assert_allclose(sg.grad(rnn_with_cell)(*args), sg.grad(rnn_inline)(*args),
                               rtol=1e-12)
    np.testing.assert_allclose(sg.grad(rnn_with_cell)(*args),
                               numerical_grad(rnn_with_cell, args, 0), rtol=1e-6)


def collide(x, y):
    """Locals named like the caller's: renamed apart when inlined."""
    result = x * y
    x = np.sin(result)
    if np.sum(x) > 0:
        return x + y
    return x - y


def uses_helpers(x, y):
    result = collide(y, x) * 2.0
    x = collide(x, result)
    return np.sum(x) + np.sum(collide(x, y))


def test_locals_named_like_the_callers_are_renamed_apart():
    assert "call_vjp" not in sg.source(uses_helpers, wrt=(0, 1))
    args = (RNG.standard_normal(3), RNG.standard_normal(3))
    grads = sg.grad(uses_helpers, wrt=(0, 1))(*args)
    for i in range(2):
        np.testing.assert_allclose(grads[i], numerical_grad(uses_helpers, args, i), rtol=1e-6)


def printing(a):
    print("callee ran")
    return a * 3.0


def prints_once(x):
    return np.sum(printing(x))


def test_the_callee_runs_once_per_gradient_call(capsys):
    sg.grad(prints_once)(np.ones(2))
    assert capsys.readouterr().out == "callee ran\n"


def inner_square(v):
    return v * v


def outer_helper(v, k=1.5):
    return np.sin(inner_square(v)) * k


def second_order(x):
    return np.sum(outer_helper(x) + outer_helper(x, k=0.5))


def test_second_derivatives_through_helper_calls():
    x = RNG.standard_normal(3)
    hessian = sg.hessian(second_order)(x)
    expected = np.stack([numerical_grad(lambda v: sg.grad(second_order)(v)[i], (x,), 0)
                         for i in range(3)])
    np.testing.assert_allclose(hessian, expected, rtol=1e-5, atol=1e-7)


def factorial_power(x, n):
    if n <= 1:
        return x
    return x * factorial_power(x, n - 1)


def recursive(x):
    return np.sum(factorial_power(x, 3))


def make_closure(k):
    def scaled_by_closure(v):
        return v * k
    return scaled_by_closure


closure_helper = make_closure(2.5)


def with_closure(x):
    return np.sum(closure_helper(x))


def from_other_module(x, y):
    return np.sum(random_helpers.smooth(x, y))


def writes_its_argument(v):
    v[0] = 0.0
    return v * 2.0


def calls_a_writer(x):
    return np.sum(writes_its_argument(x * 1.0))


def test_a_callee_writing_into_its_parameter_is_the_callers_write():
    # (its VJP would not see the write into the caller's array: inlined, the
    # write is the caller's own, whose adjoint restores what it overwrote)
    args = (RNG.standard_normal(3),)
    assert "call_vjp" not in sg.source(calls_a_writer)
    np.testing.assert_allclose(sg.grad(calls_a_writer)(*args),
                               numerical_grad(calls_a_writer, args, 0), rtol=1e-6, atol=1e-9)


def reads_global_w(v):
    return v @ W


def shadows_w(x):
    W = np.ones((3, 4))  # noqa: N806 (a local named like the callee's global)
    return np.sum(reads_global_w(x) * W[0])


@pytest.mark.parametrize("function, args", [
    (recursive, (RNG.standard_normal(3),)),
    (with_closure, (RNG.standard_normal(3),)),
    (from_other_module, (RNG.standard_normal(3), RNG.standard_normal(3))),
    (shadows_w, (RNG.standard_normal(3),)),
])
def test_calls_that_cannot_move_stay_calls(function, args):
    assert "call_vjp" in sg.source(function)
    np.testing.assert_allclose(sg.grad(function)(*args), numerical_grad(function, args, 0),
                               rtol=1e-6, atol=1e-9)


def plain_scaled_sum(a, b=2.0):
    return np.sum(a * b)


def plain_defaults_and_keywords(x):
    return plain_scaled_sum(x) + plain_scaled_sum(b=0.5, a=x) + plain_scaled_sum(x, 4.0)


def test_defaults_and_keywords_of_an_inlined_call():
    assert "call_vjp" not in sg.source(plain_defaults_and_keywords)
    x = RNG.standard_normal(3)
    np.testing.assert_allclose(sg.grad(plain_defaults_and_keywords)(x), np.full(3, 6.5))


def grows_its_parameter(v):
    for _ in range(2):
        v = v * 1.5
    return v


def reads_the_argument_after_the_call(x):
    y = grows_its_parameter(x)
    return np.sum(y * x)


def test_a_parameter_the_callee_reassigns_is_its_own_variable():
    x = RNG.standard_normal(3)
    assert "call_vjp" not in sg.source(reads_the_argument_after_the_call)
    np.testing.assert_allclose(sg.grad(reads_the_argument_after_the_call)(x), 4.5 * x, rtol=1e-12)


def first_helper(v):
    return v * 2.0


def calls_a_rebindable_helper(x):
    return np.sum(first_helper(x))


def test_rebinding_an_inlined_function_generates_again():
    global first_helper
    original = first_helper
    x = np.ones(2)
    np.testing.assert_allclose(sg.grad(calls_a_rebindable_helper)(x), [2.0, 2.0])
    try:
        def first_helper(v):  # noqa: F811 (rebinding the name is the point)
            return v * 5.0

        np.testing.assert_allclose(sg.grad(calls_a_rebindable_helper)(x), [5.0, 5.0])
    finally:
        first_helper = original


def rnn_with_a_nested_cell(W, U, xs, h0):
    def cell(h, x):  # reads W and U from the enclosing function
        return np.tanh(x @ W + h @ U)

    row = lambda t: xs[t]  # noqa: E731
    h = h0
    for t in range(xs.shape[0]):
        h = cell(h, row(t))
    return np.sum(h ** 2)


def test_nested_defs_and_named_lambdas_are_inlined():
    source = sg.source(rnn_with_a_nested_cell)
    assert "call_vjp" not in source and "def cell" not in source and "def row" not in source
    assert source.count("stack.append") == sg.source(rnn_inline).count("stack.append")
    args = (W, U, XS, H0)
    np.testing.assert_allclose(sg.grad(rnn_with_a_nested_cell)(*args),
                               numerical_grad(rnn_with_a_nested_cell, args, 0), rtol=1e-6)


def rnn_with_nested_helpers(W, U, xs, h0):
    def cell(h, x):
        return np.tanh(x @ W + h @ U)

    step = lambda h, t: cell(h, xs[t])  # noqa: E731  (calls another nested def)
    h = h0
    for t in range(xs.shape[0]):
        h = step(h, t)
    return np.sum(h ** 2)


def test_a_nested_def_calling_another_is_inlined_with_what_that_one_reads():
    source = sg.source(rnn_with_nested_helpers)
    assert "call_vjp" not in source and "def " not in source.split("\n", 1)[1]
    args = (W, U, XS, H0)
    np.testing.assert_allclose(sg.grad(rnn_with_nested_helpers)(*args),
                               numerical_grad(rnn_with_nested_helpers, args, 0), rtol=1e-6)


def nested_helper_that_cannot_be_inlined(x):
    def double(v):
        return v * x

    def writes(*vs):  # *args: not inlined
        return double(vs[0])

    return np.sum(writes(x))


def nested_helper_writing_a_local(x):
    def double(v):
        return v * x

    def writes(v):
        w = v * 1.0
        w[0] = double(w)[0]  # a write into its own array: inlined like the caller's
        return w

    return np.sum(writes(x))


def test_a_nested_def_calling_another_that_stays_a_call_is_refused_clearly():
    with pytest.raises(sg.UnsupportedSyntaxError, match="calling another nested def"):
        sg.grad(nested_helper_that_cannot_be_inlined)(np.ones(3))
    args = (RNG.standard_normal(3),)
    np.testing.assert_allclose(sg.grad(nested_helper_writing_a_local)(*args),
                               numerical_grad(nested_helper_writing_a_local, args, 0), rtol=1e-6)
