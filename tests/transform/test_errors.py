"""What s2sgrad refuses, it refuses clearly: the error names construct, file and line."""

import inspect

import numpy as np
import pytest

import s2sgrad as sg
from tests.transform import unsupported


def test_non_scalar_result_is_a_value_error():
    with pytest.raises(ValueError, match=r"vector_output.*shape \(3,\)"):
        sg.grad(unsupported.vector_output)(np.ones(3))


def test_integer_argument_is_a_type_error():
    with pytest.raises(TypeError, match="'x'"):
        sg.grad(unsupported.square)(3)
    with pytest.raises(TypeError, match="'x'"):
        sg.grad(unsupported.square_sum)(np.arange(3))


@pytest.mark.parametrize("name, construct", [
    ("uses_with", "with statement"),
    ("uses_yield", "yield"),
    ("uses_global_statement", "global statement"),
    ("uses_class", "class definition"),
    ("uses_lambda", "lambda"),
    ("uses_set_comprehension", "set comprehension"),
    ("unknown_primitive", "no derivative rule"),
    ("star_args", "*args"),
    # (the gradient would not follow the write: it was silently zero)
    ("copies_into", "np.copyto(), which writes into its argument"),
    ("writes_out", "np.multiply(..., out=...), which writes into an array"),
    ("method_writes_out", "x.sum(..., out=...), which writes into an array"),
    ("scatters_into", "call of np.add.at for its side effect, given 'x'"),
    ("shuffles", "call of np.random.shuffle for its side effect, given 'y'"),
])
def test_unsupported_constructs(name, construct):
    f = getattr(unsupported, name)
    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        sg.grad(f)(np.ones(3) if name == "unknown_primitive" else 1.0)
    message = str(info.value)
    assert construct in message
    assert "unsupported.py:" in message
    line = int(message.split("unsupported.py:")[1].split(":")[0].split()[0])
    last = f.__code__.co_firstlineno + len(inspect.getsource(f).splitlines())
    assert f.__code__.co_firstlineno <= line < last, "the line is inside the function"


def test_bad_wrt():
    with pytest.raises(ValueError, match="no argument 'z'"):
        sg.grad(unsupported.square, wrt="z")
    with pytest.raises(ValueError, match="out of range"):
        sg.grad(unsupported.square, wrt=3)
    with pytest.raises(TypeError):
        sg.grad(unsupported.square, wrt=1.5)


def test_not_a_function():
    with pytest.raises(TypeError, match="expects a function"):
        sg.grad(3)
    with pytest.raises(TypeError):
        sg.grad(np.sin)


def test_unsupported_error_is_an_s2sgrad_error():
    assert issubclass(sg.UnsupportedSyntaxError, sg.S2SGradError)
