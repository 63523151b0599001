"""Functions written the way users write them, one minimised reproducer per
class of wrong or crashing derivative found by the third adversarial hunt
(issue 10): each is compared with central finite differences in float64, or
must be refused with an UnsupportedSyntaxError naming the construct and this
file's line -- in forward mode (``sg.jvp``, ``sg.hessian``) as in reverse."""

import os

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad, numerical_jvp

X = np.array([0.3, -1.1, 0.8])
HERE = os.path.basename(__file__)


def fresh(f):
    """``f`` called on copies (it may write into its arguments)."""
    return lambda *a: f(*[np.copy(v) if isinstance(v, np.ndarray) else v for v in a])


def check_all_modes(f, *args):
    """grad, value_and_grad and jvp of argument 0 against the primal and
    central differences."""
    value, grad = sg.value_and_grad(f)(*[np.copy(a) for a in args])
    np.testing.assert_allclose(value, fresh(f)(*args), rtol=1e-12)
    np.testing.assert_allclose(grad, numerical_grad(fresh(f), args, 0), rtol=1e-6, atol=1e-8)
    v = np.linspace(-1.0, 1.0, np.size(args[0])).reshape(np.shape(args[0]))
    out, tangent = sg.jvp(f)(*[np.copy(a) for a in args], v)
    np.testing.assert_allclose(out, fresh(f)(*args), rtol=1e-12)
    np.testing.assert_allclose(tangent, numerical_jvp(fresh(f), args, 0, v), rtol=1e-6, atol=1e-8)


def refused_in_every_mode(f, *args, says):
    v = np.ones_like(args[0])
    for name, call in (("grad", lambda: sg.grad(f)(*args)), ("jvp", lambda: sg.jvp(f)(*args, v)),
                       ("hessian", lambda: sg.hessian(f)(*args))):
        with pytest.raises(sg.UnsupportedSyntaxError) as caught:
            call()
        message = str(caught.value)
        assert says in message and HERE in message, (name, message)


# -- a write through a second name for the same array: forward mode dropped
#    the write as dead code (a wrong value as well as a wrong tangent)


def write_through_tuple_alias(x):
    a = x + 0.0
    b, c = a, a
    c[0] = 5.0
    return np.sum(b * x)


def write_through_copy_of_name(x):
    a = x + 0.0
    b = a
    b[0] = 5.0
    return np.sum(a * x)


def write_through_view_in_loop(x):
    a = x * 2.0
    for i in range(2):
        b = a
        b[i] = x[i] ** 2
    return np.sum(a)


@pytest.mark.parametrize("f", [write_through_tuple_alias, write_through_copy_of_name,
                               write_through_view_in_loop])
def test_a_write_through_an_alias_is_refused_in_forward_mode_too(f):
    refused_in_every_mode(f, X, says="share")


def write_into_a_private_copy(x):
    a = x + 0.0
    b = np.copy(a)
    b[0] = 5.0
    return np.sum(a * x) + np.sum(b * b)


def test_a_write_into_a_copy_is_still_differentiated_in_both_modes():
    check_all_modes(write_into_a_private_copy, X)
