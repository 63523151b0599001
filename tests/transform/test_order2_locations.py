"""Refusals at order 2 and above name the user's file and line (SPEC §1).

Generated code read again maps each of its lines to the user's line
(``errors.user_location``); these are the refusal paths reachable at order
>= 2 that did not name it, or named an internal construct: a rule without
a second derivative (``np.linalg.svd``'s: refused where the derivative is
built, in reverse and forward mode, not by a ``NotImplementedError`` when
it runs), a recursive nested function (its first derivative is generated
when it runs, from a function the generated code cannot name: refused by
the source path, taken by the tape), and order 3 over a second derivative
the tape takes (no source to read: refused at the line that sent order 2
to the tape, not as a ``*args`` wrapper in s2sgrad's own file). A
recursive module-level function is differentiated again as source (see
test_order2_entries.py).
"""

import inspect

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad


def recursive(x):
    def half(z):
        if z > 4.0:
            return half(z / 2)
        return z * z
    return half(x) * 2.0  # RECURSIVE CALL


def singular_values(x):
    return np.sum(np.linalg.svd(x * np.array([[1.0, 2.0], [3.0, 4.0]]))[1])  # SVD


def _where(function, marker):
    """``FILE:LINE`` of the line of ``function`` carrying comment ``marker``."""
    lines, first = inspect.getsourcelines(function)
    (offset,) = [i for i, line in enumerate(lines) if f"# {marker}" in line]
    return f"{inspect.getsourcefile(function)}:{first + offset}"


def _refusal(run):
    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        run()
    message = str(info.value)
    assert "<s2sgrad" not in message and "s2sgrad/" not in message, message
    return message


@pytest.mark.parametrize("run", [
    lambda: sg.grad(sg.grad(singular_values))(0.5),
    lambda: sg.source(singular_values, order=2),
    lambda: sg.hessian(singular_values)(0.5),
    lambda: sg.hvp(singular_values)(0.5, 1.0),
], ids=["grad", "source", "hessian", "hvp"])
def test_a_rule_without_a_second_derivative_is_refused_at_the_users_line(run):
    message = _refusal(run)
    assert "a second derivative of np.linalg.svd" in message
    assert f"at {_where(singular_values, 'SVD')}" in message


def test_a_recursive_call_at_order_two_names_the_call_not_call_vjp():
    message = _refusal(lambda: sg.source(recursive, order=2))
    assert "half()" in message and "differentiated again" in message and "call_vjp" not in message
    assert f"at {_where(recursive, 'RECURSIVE CALL')}" in message


@pytest.mark.parametrize("x", [0.5, 3.0, 9.0, 40.0])
def test_a_recursive_call_at_order_two_goes_through_the_tape(x):
    second = sg.grad(sg.grad(recursive))(x)
    np.testing.assert_allclose(second, numerical_grad(sg.grad(recursive), (x,)), rtol=1e-6)
    assert type(second) is float


@pytest.mark.parametrize("run", [
    lambda: sg.grad(sg.grad(sg.grad(recursive)))(0.5),
    lambda: sg.source(recursive, order=3),
    lambda: sg.jvp(sg.grad(sg.grad(recursive)))(0.5, 1.0),
], ids=["grad", "source", "jvp"])
def test_order_three_over_a_tape_second_derivative_names_the_users_line(run):
    message = _refusal(run)
    assert "order 3 or more" in message
    assert f"at {_where(recursive, 'RECURSIVE CALL')}" in message
