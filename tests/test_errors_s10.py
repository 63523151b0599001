"""Errors in the user's terms (session 10): derivatives of generated code
name the user's function, a function returning an array is told which
transform differentiates it, and an error raised by the user's own code
while a derivative runs points at the user's line."""

import numpy as np
import pytest

import s2sgrad as sg


def cube(x):
    return x ** 3


def doubled(x):
    return x * 2.0


# -- 1. a derivative of generated code names the user's function ------------

SECOND_ORDER = {
    "hessian": lambda f: sg.hessian(f)(3),
    "hvp": lambda f: sg.hvp(f)(3, 1.0),
    "grad of grad": lambda f: sg.grad(sg.grad(f))(3),
    "jvp of grad": lambda f: sg.jvp(sg.grad(f))(3, 1.0),
    "grad of grad of grad": lambda f: sg.grad(sg.grad(sg.grad(f)))(3),
}


@pytest.mark.parametrize("call", SECOND_ORDER.values(), ids=SECOND_ORDER)
def test_an_integer_argument_of_a_second_derivative_names_the_users_function(call):
    with pytest.raises(TypeError) as info:
        call(cube)
    assert str(info.value) == ("cannot differentiate cube with respect to integer argument "
                               "'x' (3); pass a float")


def test_a_second_derivative_with_respect_to_an_array_names_the_users_function():
    with pytest.raises(ValueError) as info:
        sg.grad(sg.grad(doubled))(np.ones(2))
    assert "grad_" not in str(info.value)
    assert str(info.value).startswith("the gradient of doubled must return a real scalar")
    assert "sg.hessian" in str(info.value)


# -- 3. a function returning an array: every scalar transform, neutrally ----

SCALAR_TRANSFORMS = {
    "grad": lambda f, x: sg.grad(f)(x),
    "value_and_grad": lambda f, x: sg.value_and_grad(f)(x),
    "hessian": lambda f, x: sg.hessian(f)(x),
    "hvp": lambda f, x: sg.hvp(f)(x, np.ones_like(x)),
}


@pytest.mark.parametrize("call", SCALAR_TRANSFORMS.values(), ids=SCALAR_TRANSFORMS)
def test_an_array_result_is_refused_neutrally_and_points_to_jacobian(call):
    with pytest.raises(ValueError) as info:
        call(doubled, np.ones(3))
    message = str(info.value)
    assert message.startswith("doubled must return a real scalar to be differentiated; it "
                              "returned ndarray of shape ("), message
    assert message.endswith("(for an array output, use sg.jacobian)"), message
    assert not message.startswith("grad requires"), message
    # (and what it points to does differentiate it)
    np.testing.assert_allclose(sg.jacobian(doubled)(np.ones(3)), 2.0 * np.eye(3))
