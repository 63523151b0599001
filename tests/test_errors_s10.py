"""Errors in the user's terms (session 10): derivatives of generated code
name the user's function, a function returning an array is told which
transform differentiates it, and an error raised by the user's own code
while a derivative runs points at the user's line."""

import inspect

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


# -- 2. an error of the user's own code names the user's line ---------------

def straight(x, W):
    y = x @ W
    return np.sum(y * y)


def looped(x, W):
    s = 0.0
    for _ in range(2):
        y = x @ W
        s = s + np.sum(y * y)
    return s


def while_looped(x, W):
    s = 0.0
    k = 0
    while k < 2:
        y = x @ W
        s = s + np.sum(y * y)
        k += 1
    return s


def branched(x, W):
    if np.sum(x) > 0.0:
        y = x @ W
    else:
        y = x
    return np.sum(y * y)


def _times(x, W):
    return x @ W


def through_a_helper(x, W):
    y = _times(x, W)
    return np.sum(y * y)


USERS = [straight, looped, while_looped, branched, through_a_helper]
X, BAD_W = np.ones(3), np.ones((4, 2))  # (3,) @ (4, 2): NumPy's shape error

CALLS = {
    "grad": lambda f: sg.grad(f)(X, BAD_W),
    "value_and_grad": lambda f: sg.value_and_grad(f, wrt=(0, 1))(X, BAD_W),
    "jvp": lambda f: sg.jvp(f)(X, BAD_W, np.ones(3)),
    "hessian": lambda f: sg.hessian(f)(X, BAD_W),
    "hvp": lambda f: sg.hvp(f)(X, BAD_W, np.ones(3)),
    "jacobian": lambda f: sg.jacobian(f)(X, BAD_W),
}


def _lines_of(f, *texts):
    """The file lines of ``f`` holding one of ``texts``."""
    lines, first = inspect.getsourcelines(f)
    return {first + k for k, line in enumerate(lines) if any(t in line for t in texts)}


def _users_lines(f):
    """Where the shape error is the user's: the line of ``x @ W``, or for
    the helper, its line or the line calling it (inlined into the caller)."""
    return _lines_of(f, "x @ W", "_times(") | _lines_of(_times, "x @ W")


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS)
@pytest.mark.parametrize("f", USERS, ids=[f.__name__ for f in USERS])
def test_an_error_of_the_users_code_ends_the_traceback_at_the_users_line(f, call):
    with pytest.raises(ValueError, match="matmul") as info:
        call(f)
    last = info.traceback[-1]
    assert str(last.path) == __file__, info.traceback
    assert last.lineno + 1 in _users_lines(f), (str(last), info.traceback)
    if call is CALLS["jacobian"]:  # (it runs f itself first, for the output's shape)
        return
    (note,) = info.value.__notes__
    assert note.startswith(f"(raised at {__file__}:"), note
    assert int(note.split(":")[1].split(",")[0]) in _users_lines(f), note
    assert "sg.source shows it" in note
    # (no frame of generated code is left in the traceback)
    assert not any(str(entry.path).startswith("<s2sgrad") for entry in info.traceback)


def test_an_error_of_the_users_code_at_order_3_names_the_users_line():
    def cubic(x):
        return np.sum(x ** 3 @ np.ones((4, 2)))

    with pytest.raises(ValueError, match="matmul") as info:
        sg.grad(sg.grad(sg.grad(lambda t: cubic(np.ones(3) * t))))(0.5)
    assert str(info.traceback[-1].path) == __file__


def test_the_checks_of_arguments_are_not_rewritten():
    with pytest.raises(TypeError) as info:
        sg.grad(straight)(np.arange(3), BAD_W)
    assert not hasattr(info.value, "__notes__")


# -- 4. wrong input found by feeding it ------------------------------------

def scaled(x, y=2.0):
    return np.sum(x * y)


@pytest.mark.parametrize("transform", [sg.jvp, sg.hvp])
def test_a_call_without_the_direction_says_how_the_transform_is_called(transform):
    name = transform.__name__
    with pytest.raises(TypeError) as info:  # (x taken for v: f's x was missing)
        transform(scaled)(np.ones(3))
    assert str(info.value) == (f"{name}(scaled) is called with the arguments of scaled, then "
                               "the direction v (its last positional argument): missing a "
                               "required argument: 'x'")
    with pytest.raises(TypeError, match=rf"^{name}\(scaled\) is called with the arguments of "
                                        "scaled, then the direction v; it got no positional"):
        transform(scaled)()


def yielding(x):
    yield x * 2.0


def test_a_generator_is_refused_as_a_generator_at_its_line():
    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        sg.grad(yielding)(1.0)
    line = inspect.getsourcelines(yielding)[1] + 1
    assert str(info.value) == f"yield (a generator) is not supported at {__file__}:{line}"


def test_a_call_with_wrong_arguments_names_the_transform_and_the_function():
    with pytest.raises(TypeError, match=r"^grad\(scaled\)\(\) takes from 1 to 2 positional "):
        sg.grad(scaled)(X, 1.0, 2.0)
    with pytest.raises(TypeError, match=r"^value_and_grad\(scaled\)\(\) missing 1 required "
                                        r"positional argument: 'x'$"):
        sg.value_and_grad(scaled)()
    with pytest.raises(TypeError, match=r"^grad\(grad\(cube\)\)\(\) got an unexpected keyword "):
        sg.grad(sg.grad(cube))(1.0, z=2.0)
    with pytest.raises(ValueError, match=r"^wrt=3 is out of range: grad\(cube\) takes 1 "):
        sg.grad(sg.grad(cube), wrt=3)
