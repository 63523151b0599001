"""Bugs found by the random-program generator, one minimal reproducer each.

Every test compares s2sgrad's value and gradient with the primal and with
central finite differences on a reproducer of cases_found.py; the bug2 table
compares second derivatives with differences of the generated first one. The reason
string of each case describes the bug as found. Cases still open are strict
xfails (listed in OPEN): when a fix makes one pass, take it out of OPEN; the
others were fixed and stay as regression tests. For cases in MAY_REFUSE a
clear UnsupportedSyntaxError is an acceptable answer too (the contract
allows refusing, never a wrong gradient).
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


#: long enough for generation on a loaded machine (an alarm inside compile()
#: surfaces as CPython's SystemError "AST constructor recursion depth mismatch")
HANG_SECONDS = 30


@contextlib.contextmanager
def time_limit(seconds=HANG_SECONDS):
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


def check(f, *args, may_refuse=False):
    """value_and_grad of every argument of ``f`` against the primal and finite
    differences; ``f`` may update its arguments in place, so each call gets
    fresh copies."""
    def fresh(*a):
        return f(*map(_copy, a))

    wrt = tuple(range(len(args)))
    try:
        with time_limit():
            value, grads = sg.value_and_grad(f, wrt=wrt)(*map(_copy, args))
    except sg.UnsupportedSyntaxError:
        if may_refuse:
            return
        raise
    np.testing.assert_allclose(value, fresh(*args), rtol=1e-12, err_msg="value")
    for i, grad in enumerate(grads):
        expected = numerical_grad(fresh, args, i)
        assert np.shape(grad) == np.shape(args[i]), f"argument {i}: gradient shape {np.shape(grad)}"
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7, err_msg=f"argument {i}")


#: reproducers of bugs not fixed yet
OPEN = set()
#: programs s2sgrad may refuse instead of differentiating
MAY_REFUSE = {"augassign_through_alias", "augassign_through_view"}


def bug(name, args, reason):
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if name in OPEN else []
    return pytest.param(getattr(cases, name), args, name in MAY_REFUSE, id=name, marks=marks)


@pytest.mark.parametrize("f, args, may_refuse", [
    # fixed: dead-code elimination dropped `n += 1` in a while loop whose counter
    # is only read by the loop test, so the generated primal looped forever
    pytest.param(cases.while_counter, (1.5,), False, id="while_counter"),
    pytest.param(cases.while_counter_with_body, (1.5,), False, id="while_counter_with_body"),
    bug("negated_broadcast_sum", (X3, Y23),
        "np.sum(-(x + y)) with x (3,), y (2, 3): the negated seed `-1.0` is not repeated to "
        "the broadcast shape before unbroadcast, so dx is -1 instead of -2 per entry"),
    bug("negated_sum", (Y23,),
        "np.sum(-x): the gradient is the float -1.0, not an array of x's shape (same cause: "
        "the negated seed is never repeated to the operand's shape)"),
    bug("augassign_through_alias", (X3, Y3),
        "`v = x; x += y` mutates the array v also names, but s2sgrad treated `x += y` as a "
        "rebinding: dy was 0 instead of 1 (wrong gradient; now refused at run time)"),
    bug("augassign_through_view", (Y23.copy(), Y3),
        "`v = x[0]; x *= y` writes through the view v; s2sgrad ignores it (wrong gradient)"),
    bug("swap_in_loop", (0.5, 0.7),
        "`x, y = y, x` inside a loop is lowered to `x = y; y = x` (not simultaneous) and its "
        "adjoint to `dx = 0.0; dy = dx`"),
    bug("swap_after_update_in_loop", (0.3, 0.7),
        "`y = y * 2.0; x, y = y, x` in a loop: the swap's adjoint is still sequential, "
        "`dx = dy; dy = dx * 2.0` reads the new dx, so dy is 0 instead of 2"),
    bug("tuple_rebinding_in_loop", (0.5, 0.7),
        "`v = x; for ...: v = (y, v)`, return v[0] * v[1]: the two cotangents of the tuple v are "
        "combined with `+` (tuple concatenation) instead of add_cotangents"),
    bug("setitem_name_in_loop", (X3, 0.7),
        "`x[0] = y` (a bare name on the right) inside a loop: the adjoint zeroes dx[0] but "
        "never adds it to dy, so dy is 0"),
    bug("copy_name_in_loop", (Y23, 0.5),
        "`v = x; x = v * y` in a loop: the adjoint never forms dv (= dx * y) and the adjoint "
        "of `v = x` sets dx = 0.0, so dx is 0"),
    bug("rebind_iterated_array_enumerate", (0.5, Y23),
        "the rebind_iterated_array fix misses enumerate: `for j, r in enumerate(y): y = r * 2.0` "
        "still iterates over the rebound y"),
    bug("swap_with_temporary_in_loop", (0.5, Y23),
        "`v = y * 2.0; v, y = y, v` in a loop: the adjoint is `dv = dy; dy = dv + dv * 2.0`, "
        "counting the dead v's cotangent as dy (3x instead of 2x per iteration)"),
    bug("read_then_setitem", (X3,),
        "`v = np.sin(x); x[0] = 2.0; return np.sum(v * x)`: dv is folded to `x` and read "
        "after the adjoint restored x[0], so it uses the old x instead of the written one"),
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
    bug("rebind_then_setitem", (X3, Y3),
        "valid program rejected by an internal error: `x = x - y; x[1] *= 2.0` raises "
        "UnsupportedSyntaxError \"undefined name 'x_1'\" (normalise) at <file>:None - no line"),
    bug("setitem_after_conditional_rebind", (X3, Y3),
        "was \"undefined name 'x_2'\" at <file>:None; now a spurious \"assignment into 'x_2', "
        "which may share memory\" (naming the SSA name) although no other name shares x"),
    bug("conditional_rebind_after_setitem", (X3, Y3),
        "spurious UnsupportedSyntaxError \"assignment into 'x' while another name shares it\": "
        "no other name shares x (the SSA copy made for the later conditional rebinding does)"),
    bug("setitem_then_call", (X3, Y3),
        "spurious 'assignment into x while another name shares it': x is passed to a user "
        "function only *after* the write (the sharing check is not flow-sensitive)"),
    bug("setitem_then_conditional_expression", (X3, Y3),
        "same spurious rejection when x later appears in a conditional expression"),
    bug("call_then_setitem", (X3, Y3),
        "spurious 'assignment into x while another name shares it' after `s = np.sum(smooth(x, "
        "y))`: passing x to a user function makes every later write into x refused"),
    bug("conditional_copy_then_setitem", (X3, Y3),
        "spurious \"assignment into 'x_2', which may share memory\": both definitions of x "
        "(the argument, an np.copy) are writable; the message also names the SSA name x_2"),
    bug("augassign_after_unpacked_call", (X3, Y3),
        "spurious run-time refusal 'augmented assignment to x, an array other names share': "
        "only s2sgrad's own temporary (the tuple pair returned) holds x"),
    bug("augassign_after_conditional_view", (Y23.copy(), Y3),
        "same spurious run-time refusal: the temporary holding the view x[0] chosen by the "
        "conditional expression (the user's v is a fresh product) counts as another name"),
    bug("setitem_into_fresh_local", (X3, Y3),
        "over-conservative: writing into `v = x * 2.0` (a fresh array) is rejected as 'may "
        "share memory'; issue 3 asks for x[i] += v on arrays (only np.copy results work)"),
    bug("shape_save_in_nested_loop", (0.5, Y3),
        "shape-only saves (d6ecced): `v = v + x` in the outer loop pops `v_shape` in the "
        "adjoint but the primal pushes it only in the inner loop: IndexError pop from empty list"),
    bug("shape_save_in_empty_loop", (X3, Y3),
        "shape-only saves: the seed `repeat_to_shape(1.0, x_shape)` reads the shape saved in a "
        "loop that ran zero times (None): TypeError '<' between NoneType and int"),
    bug("return_in_while_in_for_then_swap", (np.array([0.1, 0.2, 0.3]), 1.5),
        "returns inside loops: the result was set inside the loop (the return became a "
        "break) and after it; the final return read the name, not the version joining both "
        "(the gradient of y came out 0)"),
    bug("return_in_while_in_for_then_swap", (np.array([0.1, 0.2, 0.3]), 0.5),
        "the same program, returning from inside the loop"),
    bug("flag_set_in_the_branch_it_tests", (np.array([0.8, -0.5]),),
        "`if done: ... else: ...; done = True` in a loop: the adjoint chose the branch by the "
        "flag's value after the branch ran (pre-existing; found through the flags returns "
        "inside loops use)"),
    bug("returns_in_nested_whiles", (np.array([0.8, -0.5, -1.1]),) * 2,
        "returns in nested whiles: the outer while's flag test read the flag the inner one "
        "had just set (the branch snapshot above)"),
    bug("returns_in_nested_whiles", (np.array([0.8, 0.5, 1.1]),) * 2,
        "the same program, not entering the loops"),
    bug("return_in_a_loop_in_a_loop_else", (np.array([[0.3, 0.2], [0.1, -0.4]]),
                                             np.array([0.3, 0.2])),
        "a return inside a loop in a for-else's else block was assigned but did not end the "
        "function (loop-elses were rewritten after returns)"),
    bug("return_in_a_loop_in_a_loop_else", (np.array([[3.3, 2.2], [0.1, 0.4]]),
                                             np.array([3.3, 2.2])),
        "the same program, breaking out of the loop"),
    bug("return_in_an_inner_loop_else", (np.array([0.3, 0.2]),),
        "the same, the else of an inner loop returning"),
    bug("return_in_an_inner_loop_else", (np.array([3.3, 2.2]),),
        "the same, other values"),
    bug("return_in_a_loop_that_never_runs_then_in_a_while", (1.408, 0.637),
        "the result set in a first returning loop had no version after it (names bound only "
        "in a loop are not), so the join after a second returning loop was skipped and the "
        "final return read the first loop's result"),
    bug("return_in_a_loop_that_never_runs_then_in_a_while", (-0.8, 0.637),
        "the same program, returning from the while"),
    bug("folded_seed_through_a_reassigned_argument", (np.ones((2, 3)), Y3),
        "`x = x * 1.0`: the seed of x's sums, folded to a scalar in `dx_1 = 2.0 + 1.0`, "
        "reached the argument as `dx_1` and was returned as a float for an array argument "
        "(pre-existing)"),
])
def test_found_by_generator(f, args, may_refuse):
    check(f, *args, may_refuse=may_refuse)


def test_value_saved_by_one_loop_and_recomputed_in_another():
    """A name assigned in two loops: the remat of one assignment removed its
    pops while the other loop's saving still pushed it (stack misaligned)."""
    check(cases.recompute_name_saved_by_another_loop, 0.3, Y3)


def test_in_place_accumulation_only_for_arguments_never_reassigned():
    x = np.array([[5.5e-201, -2.4e-2, -2.4e-2], [1.2e-232, -1.33, 0.86]])
    y = np.array([6.8e-141, -1.79, -1.15])
    check(cases.accumulate_into_reassigned_argument, x, y)


def test_zero_placeholder_passed_on_by_an_if_join_gets_the_arguments_shape():
    check(cases.placeholder_through_an_if_join, np.zeros(3), Y3)


def test_call_result_sharing_a_written_argument_is_refused():
    # (the call is inlined, so the sharing is seen when generating, not at run time)
    with pytest.raises(sg.UnsupportedSyntaxError, match="another name shares it"):
        sg.grad(cases.call_returning_argument_then_setitem)(X3.copy(), Y3)


def _ravel_then_return_in_loop(x):
    v = x.ravel()
    for r in x:
        return np.sum(x)
    return np.sum(v * v)


def _reshape_on_one_arm(x, c):
    w = x[::-1].reshape(-1)
    if c > 0.0:
        w = w.reshape(2, 3)[:, 0]
        return np.sum(w * w)
    return np.sum(x)


@pytest.mark.parametrize("f, args", [
    (_ravel_then_return_in_loop, (np.arange(1.0, 7.0).reshape(2, 3),)),
    (_ravel_then_return_in_loop, (np.zeros((0, 3)) + 0.5,)),
    (_reshape_on_one_arm, (np.arange(1.0, 7.0).reshape(2, 3), 1.0)),
    (_reshape_on_one_arm, (np.arange(1.0, 7.0).reshape(2, 3), -1.0)),
])
def test_a_placeholder_cotangent_reaching_a_view_rule_is_shaped(f, args):
    """A 0.0 placeholder adjoint (a branch or loop where nothing flowed)
    reaching reshape's rule raised 'cannot reshape array of size 1' (found by
    the random programs)."""
    got = sg.grad(f)(*args)
    expected = numerical_grad(f, args)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def bug2(name, args, reason):
    return pytest.param(getattr(cases, name), args, id=name)


@pytest.mark.parametrize("f, args", [
    bug2("power_in_a_loop", (0.7, 1.2),
         "second derivatives through a loop run on nested tapes, where log_or_zero took the "
         "base to math.log unrecorded: d2/dxdy of `x = y ** x` in a loop was 0.12, not 1.07"),
    bug2("square_of_a_sum", (-1.38, 0.7),
         "`v = np.sum(x); return v * v`: the first derivative's full_like(x, 2 * v) was taken "
         "as a constant, so d2/dx2 was 0 (also sg.hessian(np.sum(x) ** 2) of an array)"),
    bug2("unpacked_tuple_helper", (0.7, 0.7375),
         "an inlined helper returning a tuple, unpacked: the adjoint of the adjoint added the "
         "tuple's cotangents with + (concatenation), ValueError (4,) against (2,)"),
    bug2("function_of_a_tuple_entry", (0.7, 0.7375),
         "np.sin of an inlined tuple helper's entry: TypeError bad operand type for unary -: "
         "'NoneType' (the unused entry's cotangent) in d2/dx2"),
    bug2("square_of_a_sum_beside_a_loop", (0.7, 1.2),
         "a loop sends second derivatives to nested tapes; there the first derivative's "
         "full_like(y, 2 * v) of a float y returned a Python float, which the tape does not "
         "record: d2/dy2 and d2/dydx were 0.0"),
    bug2("sum_in_a_returning_while", (0.7, 1.2),
         "the same through a returning while loop: d2/dy2 0.0 (differences -1.61)"),
    bug2("closure_over_a_rebound_argument", (1.1971743893140863, 0.619502735896273),
         "the hunt's program, minimised: a nested def reading y before and after y is "
         "rebound, then a returning while loop: d2/dy2 0.0 (differences 1.26)"),
])
def test_second_derivatives_found_by_generator(f, args):
    first = [sg.grad(f, wrt=i) for i in range(len(args))]
    for i, d in enumerate(first):
        np.testing.assert_allclose(d(*args), numerical_grad(f, args, i), rtol=1e-5, atol=1e-7)
        for j in range(len(args)):
            with time_limit():
                second = sg.grad(d, wrt=j)(*args)
            assert isinstance(second, float), f"d2/d{i}d{j} is a {type(second).__name__}"
            np.testing.assert_allclose(second, numerical_grad(d, args, j), rtol=1e-5, atol=1e-7,
                                       err_msg=f"d2/d{i}d{j}")


def _log1p_of_square_of_sum(x, y):
    y += x
    if np.sum(x) < 1.0:
        return np.sum(np.log1p(np.sum(y) * np.sum(y)))
    return np.sum(x) + np.sum(y)


@pytest.mark.parametrize("x, y", [(0.0, 0.0), (0.3, 0.2)])
def test_a_second_derivative_of_floats_through_sums_is_a_scalar(x, y):
    """repeat_to spread a cotangent over a float as a 0-d array, which reached
    the second derivative (found by the random order-2 programs)."""
    first = sg.grad(_log1p_of_square_of_sum)
    second = sg.grad(first)(x, y)
    assert not isinstance(second, np.ndarray)
    s = x + y
    np.testing.assert_allclose(second, 2 * (1 - s * s) / (1 + s * s) ** 2, rtol=1e-12)
