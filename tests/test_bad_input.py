"""Bad input gets one clear error; s2sgrad's warning class is public."""

import warnings

import numpy as np
import pytest

import s2sgrad as sg


def test_the_warning_class_is_exported_and_a_user_warning():
    assert "S2SGradWarning" in sg.__all__
    assert issubclass(sg.S2SGradWarning, UserWarning)
    assert not issubclass(sg.S2SGradWarning, sg.S2SGradError)
    with pytest.warns(sg.S2SGradWarning):
        warnings.warn("x", sg.S2SGradWarning)


def _product(x, y):
    return x * y


def _returns_none(x):
    y = x * 2.0  # noqa: F841  (no return: None, a common slip)


def _returns_text(x):
    return "loss"


@pytest.mark.parametrize("wrt", [(), [], (0, 0), (0, "x"), ("y", 1)])
def test_an_empty_or_repeated_wrt_is_a_value_error(wrt):
    with pytest.raises(ValueError, match="wrt"):
        sg.grad(_product, wrt=wrt)


@pytest.mark.parametrize("transform", [sg.grad, sg.value_and_grad])
@pytest.mark.parametrize("f, what", [(_returns_none, "None"), (_returns_text, "str 'loss'")])
def test_a_function_returning_no_number_is_a_value_error(transform, f, what):
    with pytest.raises(ValueError, match=f"{f.__name__} must return a real scalar to be differentiated; "
                                         f"it returned {what}"):
        transform(f)(1.5)


@pytest.mark.parametrize("value, what", [
    (1 + 2j, "a complex"), ("3.0", "a str"), (np.array([1.0 + 1j]), "of dtype complex128"),
    (np.array(["a"]), "of dtype <U1"),
])
def test_a_non_real_argument_is_a_type_error_naming_it(value, what):
    with pytest.raises(TypeError, match=f"argument 'x'.*{what}|argument 'x' {what}"):
        sg.grad(_product)(value, 2.0)
