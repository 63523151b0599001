"""Functions written the way users write them, one minimised reproducer per
class of wrong or crashing derivative found by the third adversarial hunt
(issue 10): each is compared with central finite differences in float64, or
must be refused with an UnsupportedSyntaxError naming the construct and this
file's line -- in forward mode (``sg.jvp``, ``sg.hessian``) as in reverse."""

import os
import re

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad, numerical_jacobian, numerical_jvp
from tests.other_module_helpers import damped

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


# -- a loop-carried cotangent still the scalar 0.0 meets a matrix product in
#    a second derivative (forward mode of a recurrence kept in a list fell
#    back to it): "matmul: Input operand 0 does not have enough dimensions"


def recurrence_kept_in_a_list(x, Wx, Wh):
    h = np.zeros(2)
    hs = []
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh)
        hs.append(h)
    return np.sum(np.stack(hs) ** 2)


def recurrence_read_at_both_ends(x, W):
    h = np.zeros(3)
    hs = []
    for t in range(3):
        h = np.tanh(W @ h + x[t])
        hs.append(h)
    return np.sum(hs[-1]) + np.sum(hs[0] ** 2)


XS = np.array([[0.2, -0.5], [0.3, 0.8]])
WX = np.array([[0.1, 0.2], [-0.3, 0.4]])
WH = np.array([[0.5, -0.6], [0.2, 0.1]])
W3 = np.array([[0.4, 0.3, -0.1], [0.3, -0.5, 0.2], [-0.1, 0.2, 0.6]])


@pytest.mark.parametrize("f, args", [(recurrence_kept_in_a_list, (XS, WX, WH)),
                                     (recurrence_read_at_both_ends, (X, W3))])
def test_forward_mode_and_hessians_of_recurrences_kept_in_lists(f, args):
    for wrt in range(len(args)):
        v = np.cos(np.arange(np.size(args[wrt]))).reshape(np.shape(args[wrt]))
        out, tangent = sg.jvp(f, wrt=wrt)(*args, v)
        np.testing.assert_allclose(out, f(*args), rtol=1e-12)
        np.testing.assert_allclose(tangent, numerical_jvp(f, args, wrt, v), rtol=1e-6, atol=1e-9)
    H = sg.hessian(f, wrt=len(args) - 1)(*args)
    expected = numerical_jacobian(lambda *a: numerical_grad(f, a, len(args) - 1, eps=1e-4), args,
                                  len(args) - 1, eps=1e-4)
    np.testing.assert_allclose(H, expected, rtol=1e-4, atol=1e-6)


# -- np.array of differentiable entries and constants, differentiated twice:
#    the constant entry's cotangent is a hole ("NoneType * float")


def array_of_entries_and_a_constant(y):
    v = np.array([y[0] * y[1], np.sin(y[2]), 1.0])
    return np.sum(v ** 2)


def test_hessian_of_an_array_built_from_entries_and_constants():
    y = np.array([0.3, 0.5, -0.1, 0.4])
    y0, y1, y2, _ = y
    expected = np.zeros((4, 4))
    expected[0, 0], expected[1, 1] = 2 * y1 ** 2, 2 * y0 ** 2
    expected[0, 1] = expected[1, 0] = 4 * y0 * y1
    expected[2, 2] = 2 * np.cos(2 * y2)
    np.testing.assert_allclose(sg.hessian(array_of_entries_and_a_constant)(y), expected, atol=1e-12)


# -- a helper with *args parameters: refused naming it, not "<object object at 0x...>"


def sum_of_terms(x):
    def add(*vals):
        return sum(vals)
    return add(x[0], x[1] ** 2, x[2])


def test_a_local_helper_with_star_args_is_refused_by_its_name():
    for call in (lambda: sg.grad(sum_of_terms)(X), lambda: sg.jvp(sum_of_terms)(X, X)):
        with pytest.raises(sg.UnsupportedSyntaxError) as caught:
            call()
        message = str(caught.value)
        assert "call to add with variable arguments" in message and HERE in message, message
        assert "object at 0x" not in message


# -- a complex result (issue 10, part 3). s2sgrad differentiates real
#    functions: as jax.grad (without holomorphic=True) and autograd's grad,
#    grad refuses a complex result -- with a ValueError naming the function
#    and what to differentiate instead. Where the imaginary part is exactly
#    zero (NumPy 2.5's np.linalg.eigvals of a matrix with real eigenvalues
#    is complex with zero imaginary parts, where NumPy 2.4's was real) the
#    result is its real part, so such code gives the same gradient under both.
#    Forward mode differentiates complex results as they are.


def sum_times_i(x):
    return np.sum(x * 1j)


def sum_of_phases(x):
    return np.sum(np.exp(1j * x))


def helper_returning_complex(x):
    return np.sum(np.cos(x) * 1.0 + 0j) + 2j * x[0]


@pytest.mark.parametrize("f", [sum_times_i, sum_of_phases, helper_returning_complex])
def test_a_complex_result_is_refused_by_grad(f):
    for transform in (sg.grad, sg.value_and_grad, sg.hessian):
        with pytest.raises(ValueError, match=rf"{f.__name__} must return a real scalar to be "
                                             r"differentiated; it returned the complex value "
                                             r".*np\.real"):
            transform(f)(X + 0.1)


def real_part_of_phases(x):
    return np.real(np.sum(np.exp(1j * x)))


def modulus(x):
    return np.abs(np.sum(x * (1.0 + 2j)))


@pytest.mark.parametrize("f", [real_part_of_phases, modulus])
def test_the_real_part_or_modulus_of_a_complex_value_is_differentiated(f):
    check_all_modes(f, X)


def eigenvalue_sum(a):
    return np.sum(np.linalg.eigvals(a) ** 2)


def test_eigvals_sum_has_one_gradient_under_numpy_2_4_and_2_5():
    a = np.array([[2.0, 0.3, 0.1], [0.2, 1.0, -0.4], [0.0, 0.5, -1.5]])
    assert not np.any(np.imag(np.linalg.eigvals(a)))
    value, grad = sg.value_and_grad(eigenvalue_sum)(a)
    assert value == eigenvalue_sum(a)
    np.testing.assert_allclose(grad, 2 * a.T, rtol=1e-8, atol=1e-12)  # d tr(A^2) = 2 A^T
    np.testing.assert_allclose(grad, numerical_grad(lambda m: np.real(eigenvalue_sum(m)), [a]),
                               rtol=1e-6, atol=1e-8)
    assert grad.dtype == np.float64


def test_forward_mode_differentiates_a_complex_result():
    v = np.array([1.0, -0.5, 2.0])
    out, tangent = sg.jvp(sum_of_phases)(X, v)
    assert out == sum_of_phases(X)
    np.testing.assert_allclose(tangent, np.sum(1j * np.exp(1j * X) * v), rtol=1e-12)


# -- a Hessian (or a second derivative) of a function whose result is not a
#    real scalar: the first derivative's check was left out when its code was
#    read again, so the Hessian of the sum of the entries came back


def squares(x):
    return x ** 2


def returns_nothing(x):
    y = x * 2.0
    print(y)


def pair_of(x):
    return np.stack([x, x * x])


@pytest.mark.parametrize("f, says", [(squares, r"returned ndarray of shape \(3,\)"),
                                     (returns_nothing, "returned None")])
def test_the_hessian_of_a_function_without_a_scalar_result_is_refused(f, says):
    for call in (lambda: sg.hessian(f)(X), lambda: sg.hvp(f)(X, X)):
        with pytest.raises(ValueError, match=f"{f.__name__} must return a real scalar to be "
                                             f"differentiated; it {says}"):
            call()


def test_a_second_derivative_of_a_function_without_a_scalar_result_is_refused():
    with pytest.raises(ValueError, match=r"pair_of must return a real scalar to be "
                                         r"differentiated; it returned ndarray of shape \(2,\)"):
        sg.grad(sg.grad(pair_of))(0.5)


# -- values taken out of the tape and computed with on the same line, or
#    written into a NumPy array by a NumPy function: the lost path warns


def escape_then_square(x):
    return x[1] * 3.0 + float(x[2]) ** 2


def copied_into_an_array(x):
    y = np.zeros(3)
    np.copyto(y, x * 2.0)
    return np.sum(y * x)


@pytest.mark.parametrize("f, what", [(escape_then_square, "float(x[2])"),
                                     (copied_into_an_array, "np.copyto(y, x * 2.0)")])
def test_a_tape_warns_where_an_escaped_value_comes_back(f, what):
    x = sg.Variable(X)
    with pytest.warns(sg.S2SGradWarning, match=re.escape(f"`{what}` at ") + rf".*{HERE}:\d+"):
        with sg.GradientTape() as tape:
            y = f(x)
    assert tape.gradient(y, x) is not None


# -- sg.jvp's reverse-over-reverse route (forward mode does not inline a
#    helper of another module) and sg.jacobian ran the function itself on
#    the caller's arrays first: a function writing into its argument moved
#    the point the derivative was then taken at


def writes_into_its_argument_then_calls(x, y):
    y += y[::-1]
    y[-1] *= np.sin(x[1] * 2.0)
    return np.sum(damped(y, 2) ** 2)


def writes_into_its_argument_vector(x, y):
    y += y[::-1]
    y[-1] *= np.sin(x[1] * 2.0)
    return damped(y, 2) ** 2


def test_jvp_and_jacobian_take_the_derivative_at_the_callers_values():
    y = np.array([1.7, -0.25, 0.4])
    v = np.array([1.0, 0.5, -0.3])
    f = writes_into_its_argument_then_calls
    yy = y.copy()
    out, tangent = sg.jvp(f)(X, yy, v)
    np.testing.assert_array_equal(yy, y)  # (the caller's array is left alone)
    np.testing.assert_allclose(out, fresh(f)(X, y), rtol=1e-12)
    np.testing.assert_allclose(tangent, numerical_jvp(fresh(f), [X, y], 0, v), rtol=1e-6, atol=1e-9)
    g = writes_into_its_argument_vector
    np.testing.assert_allclose(sg.jacobian(g)(X, y.copy()), numerical_jacobian(fresh(g), [X, y], 0),
                               rtol=1e-6, atol=1e-9)


# -- items of a list updated in a loop (acc[i % 2] += ...), differentiated
#    twice: the zero cotangent of the list reached unbroadcast ("Field
#    elements must be 2- or 3-tuples") in sg.jvp and sg.hessian


def accumulate_into_list_items(x):
    acc = [0.0, 0.0]
    for i in range(3):
        acc[i % 2] += x[i] * (i + 1)
    return acc[0] * acc[1]


def test_second_derivatives_through_list_items_updated_in_a_loop():
    v = np.array([1.0, 0.5, -0.2])
    out, tangent = sg.jvp(accumulate_into_list_items)(X, v)
    np.testing.assert_allclose(tangent, numerical_jvp(accumulate_into_list_items, [X], 0, v), rtol=1e-7)
    # (x0 + 3 x2) * 2 x1
    np.testing.assert_allclose(sg.hessian(accumulate_into_list_items)(X),
                               [[0.0, 2.0, 0.0], [2.0, 0.0, 6.0], [0.0, 6.0, 0.0]], atol=1e-12)
