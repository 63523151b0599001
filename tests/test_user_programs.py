"""Functions written the way users write them, one minimised reproducer per
class of wrong or crashing gradient found by the adversarial hunt (issue 10):
each is compared with central finite differences, or must be refused with an
UnsupportedSyntaxError naming the construct and this file's line."""

import contextlib
import os
import sys

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad import pipeline
from tests.fd import numerical_grad, numerical_jacobian
from tests.other_module_helpers import scale_in_place, sgd_step

X = np.array([0.3, -1.1, 0.8])
HERE = os.path.basename(__file__)


def check(f, *args):
    """value_and_grad and grad of every argument against the primal and
    central differences (each call gets fresh copies: ``f`` may write into
    its arguments)."""
    def fresh(*a):
        return f(*[np.copy(v) if isinstance(v, np.ndarray) else v for v in a])

    wrt = tuple(range(len(args)))
    value, grads = sg.value_and_grad(f, wrt=wrt)(*[np.copy(a) if isinstance(a, np.ndarray) else a
                                                   for a in args])
    np.testing.assert_allclose(value, fresh(*args), rtol=1e-12)
    for i, grad in enumerate(grads):
        assert np.shape(grad) == np.shape(args[i])
        np.testing.assert_allclose(grad, numerical_grad(fresh, args, i), rtol=1e-6, atol=1e-8)


def refused(f, *args, says):
    with pytest.raises(sg.UnsupportedSyntaxError) as caught:
        sg.grad(f)(*args)
    message = str(caught.value)
    assert says in message, message
    assert "object at 0x" not in message
    return message


# -- a helper updating its parameter in place: ``a *= c`` on the caller's array


def scale_local(a, c):
    a *= c


def normalise_in_place(v):
    v /= np.sqrt(np.sum(v * v))
    return v


def sgd_local(w, g):
    w -= 0.1 * g
    return w


def update_through_helper(x):
    y = x + 0.0
    scale_local(y, 3.0)
    return np.sum(y * y)


def helper_returns_the_updated_argument(x):
    y = x.copy()
    z = normalise_in_place(y)
    return np.sum(z * np.array([1.0, 2.0, 3.0])) + np.sum(y)


def helper_updates_a_number(x):
    s = x[0] * 1.0
    scale_local(s, 3.0)  # a number: the caller's s is unchanged
    return s * s + x[1]


def parameter_updated_by_helper(x, y):
    scale_local(y, -1.2)
    return np.sum(y * x) + np.sum(y[::-1][1:])


def training_steps_through_helper(x):
    w = x * 1.0
    for _ in range(3):
        w = sgd_local(w, w * x)
    return np.sum(w ** 2)


def old_and_new_both_read(x):
    w = x * 1.0
    v = sgd_local(w, x)
    return np.sum(w ** 2) + np.sum(v * x)


@pytest.mark.parametrize("f", [update_through_helper, helper_returns_the_updated_argument,
                               helper_updates_a_number, training_steps_through_helper,
                               old_and_new_both_read])
def test_a_helper_updating_its_parameter_updates_the_callers_array(f):
    check(f, X)


def test_a_helper_updating_the_callers_own_parameter():
    check(parameter_updated_by_helper, X, np.array([0.96, -1.0, -0.42]))


def test_second_derivative_through_a_helper_updating_its_parameter():
    def f(x):
        y = x * x
        scale_local(y, 3.0)
        return np.sum(y * y)
    np.testing.assert_allclose(sg.hessian(f)(X), numerical_jacobian(sg.grad(f), [X], 0),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sg.hessian(f)(X), np.diag(108.0 * X ** 2), rtol=1e-6)


def shared_argument_updated_by_helper(x):
    y = x * 1.0
    held = [y]
    scale_local(y, 2.0)
    return np.sum(held[0])


def test_a_helper_updating_a_shared_argument_is_refused():
    message = refused(shared_argument_updated_by_helper, X, says="updates 'y' in place")
    assert f"{HERE}:" in message


def update_in_another_module(x):
    w = x * 1.0
    w = sgd_step(w, x)
    return np.sum(w ** 2)


def side_effect_in_another_module(x):
    y = x + 0.0
    scale_in_place(y, 3.0)
    return np.sum(y * y)


def test_a_helper_of_another_module_updating_its_parameter_is_refused():
    refused(update_in_another_module, X, says="augmented assignment to parameter 'w'")
    refused(side_effect_in_another_module, X, says="for its side effect")


def doubled(a, n):
    if n == 0:
        return 0.0
    a *= 2.0
    return doubled(a, n - 1) + np.sum(a)


def recursive_update(x):
    y = x * 1.0
    return doubled(y, 2) + np.sum(y)


def test_a_recursive_helper_updating_its_parameter_is_refused():
    refused(recursive_update, X, says="augmented assignment to parameter 'a'")


# -- aliasing: a list built in a loop holds the array updated in place


def history_then_update(x):
    history = []
    h = x * 1.0
    for _ in range(3):
        history.append(h)
        h *= 0.5
    return np.sum(history[0]) + np.sum(history[2])


def history_then_rebind(x):
    history = []
    h = x * 1.0
    for _ in range(3):
        history.append(h)
        h = h * 0.5
    return np.sum(history[0]) + np.sum(history[2] * x)


def test_an_update_in_place_of_an_array_a_list_holds_is_refused_in_a_loop():
    refused(history_then_update, X, says="augmented assignment to 'h'")
    check(history_then_rebind, X)


# -- sequences: slices of tuples concatenated, lists repeated then written


def tuple_slices_concatenated(x):
    t = (x, x * 2)
    s = t[-1:] + t[:1]
    return np.sum(s[0] - s[1] ** 2)


def repeated_list_written(x):
    items = [x[0], x[1]]
    doubled_items = items * 2
    doubled_items[0] = doubled_items[0] * 10.0
    return sum(doubled_items)


def list_written_through_a_slice(x):
    items = [x[0], x[1], x[2]] * 1
    items[1] = items[2] * items[0]
    return items[0] * items[1] + items[2]


@pytest.mark.parametrize("f", [tuple_slices_concatenated, repeated_list_written,
                               list_written_through_a_slice])
def test_sequences(f):
    check(f, X)


def test_forward_mode_through_a_helper_updating_its_parameter():
    v = np.array([0.5, -1.0, 2.0])
    value, tangent = sg.jvp(update_through_helper)(X, v)
    np.testing.assert_allclose(value, update_through_helper(X.copy()))
    np.testing.assert_allclose(tangent, numerical_grad(update_through_helper, [X], 0) @ v, rtol=1e-6)


# -- recursion as deep as the function itself goes


def power_by_recursion(x, n):
    if n == 0:
        return 1.0
    return x * power_by_recursion(x, n - 1)


def deep_recursion(x):
    return power_by_recursion(x, 600)


def test_a_recursion_as_deep_as_the_primal_goes_is_differentiated():
    limit = sys.getrecursionlimit()
    assert deep_recursion(1.0001) > 0  # the primal itself recurses 600 deep
    np.testing.assert_allclose(sg.grad(deep_recursion)(1.0001), 600 * 1.0001 ** 599, rtol=1e-10)
    assert sys.getrecursionlimit() == limit


def test_a_recursion_too_deep_for_the_gradient_says_so(monkeypatch):
    # without the room the pipeline makes, 600 calls need more frames than
    # Python allows: the error says what ran out and what to do
    monkeypatch.setattr(pipeline, "_room_for_recursion", contextlib.nullcontext)
    sg.grad(lambda x: power_by_recursion(x, 3) + x)(1.0)  # (generated before the limit counts)
    with pytest.raises(RecursionError, match="power_by_recursion recursed deeper than .*setrecursionlimit"):
        sg.grad(deep_recursion)(1.0001)


def test_a_callable_object_is_refused_by_its_class_name():
    class Loss:
        def __call__(self, x):
            return np.sum(x ** 2)
    with pytest.raises(TypeError, match="an instance of .*Loss") as caught:
        sg.grad(Loss())
    assert "object at 0x" not in str(caught.value)
