"""Bugs found by the random-program generator, one minimal reproducer each.

Every test compares s2sgrad's gradient (and, where relevant, value) with
central finite differences on the reproducer of cases_found.py. They are
strict xfails: when a fix makes one pass, remove its mark (the unmarked
ones were fixed already and stay as regression tests).
"""

import contextlib
import signal
import threading

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad
from tests.transform import cases_found as cases

X3 = np.array([0.3, -1.1, 0.8])
Y3 = np.array([-0.4, 0.9, 1.3])
Y23 = np.array([[0.5, -0.7, 1.2], [0.9, 0.2, -1.3]])


@contextlib.contextmanager
def time_limit(seconds):
    """Turn a hanging gradient into a failure."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def check(f, *args):
    """value_and_grad of every argument of ``f`` against the primal and finite
    differences; ``f`` may update its arguments in place, so each call gets
    fresh copies."""
    def fresh(*a):
        return f(*map(_copy, a))

    wrt = tuple(range(len(args)))
    with time_limit(2):
        value, grads = sg.value_and_grad(f, wrt=wrt)(*map(_copy, args))
    np.testing.assert_allclose(value, fresh(*args), rtol=1e-12, err_msg="value")
    for i, grad in enumerate(grads):
        expected = numerical_grad(fresh, args, i)
        assert np.shape(grad) == np.shape(args[i]), f"argument {i}: gradient shape {np.shape(grad)}"
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7, err_msg=f"argument {i}")


def bug(name, args, reason):
    return pytest.param(getattr(cases, name), args, id=name,
                        marks=pytest.mark.xfail(strict=True, reason=reason))


@pytest.mark.parametrize("f, args", [
    # fixed: dead-code elimination dropped `n += 1` in a while loop whose counter
    # is only read by the loop test, so the generated primal looped forever
    pytest.param(cases.while_counter, (1.5,), id="while_counter"),
    pytest.param(cases.while_counter_with_body, (1.5,), id="while_counter_with_body"),
    bug("negated_broadcast_sum", (X3, Y23),
        "np.sum(-(x + y)) with x (3,), y (2, 3): the negated seed `-1.0` is not repeated to "
        "the broadcast shape before unbroadcast, so dx is -1 instead of -2 per entry"),
    bug("augassign_through_alias", (X3, Y3),
        "`v = x; x += y` mutates the array v also names, but s2sgrad treats `x += y` as a "
        "rebinding: dy is 0 instead of 1 (wrong gradient, not a rejection)"),
    bug("augassign_through_view", (Y23.copy(), Y3),
        "`v = x[0]; x *= y` writes through the view v; s2sgrad ignores it (wrong gradient)"),
    bug("swap_in_loop", (0.5, 0.7),
        "`x, y = y, x` inside a loop is lowered to `x = y; y = x` (not simultaneous) and its "
        "adjoint to `dx = 0.0; dy = dx`"),
    bug("setitem_name_in_loop", (X3, 0.7),
        "`x[0] = y` (a bare name on the right) inside a loop: the adjoint zeroes dx[0] but "
        "never adds it to dy, so dy is 0"),
    bug("rebind_iterated_array", (0.5, Y23),
        "`for r in y: y = ...` is lowered to indexing the *current* y (`y = y[i] * 2.0`), "
        "so rebinding the iterated name changes the iteration"),
    bug("subscript_of_overwritten_in_loop", (0.5, Y3),
        "`y = np.sin(y) * y[1]` in a loop: the adjoint recomputes `y[1]` after y was "
        "overwritten instead of using the value the primal read"),
    bug("subscript_of_loop_row", (0.5, Y23),
        "`for r in y: x = x * r[1]`: the adjoint recomputes `r[1]` before restoring r, "
        "so every iteration uses the last row"),
    bug("unpack_call_in_loop", (0.5, 0.7),
        "`v, x = pair(y, x)` in a loop: the adjoint 'restores' x as `_t[1]` (its new value) "
        "and passes it to the callee's vjp instead of the x the call received"),
    bug("unpack_tuple_name_in_loop", (0.5, 0.7),
        "same with `t = pair(y, x); v, x = t`: old x is rematerialised as t[1]"),
    bug("subscript_of_zero_cotangent", (X3, 0.7),
        "after `x[1] *= 2.0`, an if whose untaken arm reads x sets `dx = 0.0`; the adjoint of "
        "the subscript write then evaluates `dx[1]`: TypeError 'float' object is not subscriptable"),
    bug("subscript_of_zero_cotangent_in_loop", (0.5, Y23),
        "`v = np.copy(y); v[1] += 1.0` in a loop starts with `dv = 0.0` and evaluates `dv[1]`: "
        "TypeError 'float' object is not subscriptable"),
    bug("unused_array_gradient_shape", (X3, 0.7),
        "x is rebound and only read by a condition in a loop: its gradient is returned as the "
        "float 0.0 instead of zeros of shape (3,)"),
    bug("loop_in_else_after_constant", (0.5, 0.7),
        "`x = 1.2; if ...: pass else: for ...: x = x * y`: the loop's pre-initialisation "
        "`x_1 = None` overwrites the live x_1 (TypeError NoneType * float)"),
    bug("common_subexpression_across_loop", (-1.0, -0.65),
        "CSE merges the condition's np.sum(y) with the returned np.sum(y) although a loop in "
        "the else arm rebinds y: value_and_grad returns the wrong value and gradients"),
    bug("setitem_after_conditional_rebind", (X3, Y3),
        "valid program rejected by an internal error: UnsupportedSyntaxError \"undefined name "
        "'x_2'\" (normalise) at <file>:None - no line number"),
    bug("conditional_rebind_after_setitem", (X3, Y3),
        "spurious UnsupportedSyntaxError \"assignment into 'x' while another name shares it\": "
        "no other name shares x (the SSA copy made for the later conditional rebinding does)"),
    bug("setitem_into_fresh_local", (X3, Y3),
        "over-conservative: writing into `v = x * 2.0` (a fresh array) is rejected as 'may "
        "share memory'; issue 3 asks for x[i] += v on arrays (only np.copy results work)"),
])
def test_found_by_generator(f, args):
    check(f, *args)
