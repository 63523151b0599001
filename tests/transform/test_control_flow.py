"""Loops, calls, recursion: every construct against finite differences."""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad
from tests.transform import cases
from tests.transform.test_reverse import check_all

rng = np.random.default_rng(1)


@pytest.mark.parametrize("name, args", [
    ("rnn", (rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(4, 3)), rng.normal(size=(6, 3)),
             rng.normal(size=4))),
    ("rnn_calls", (rng.normal(size=(4, 4)) * 0.5, rng.normal(size=(4, 3)),
                   rng.normal(size=(5, 3)), rng.normal(size=4))),
    ("iterate_sequences", (rng.normal(size=(3, 4)), rng.normal(size=4))),
    ("iterate_backwards", (rng.normal(size=(3, 4)), rng.normal(size=4))),
    ("nested_loops_break", (rng.normal(size=4),)),
    ("nested_loops_break", (np.array([0.9, 1.2, 0.3, 1.4]),)),
    ("nested_def", (rng.normal(size=3), rng.normal(size=3))),
    ("named_lambdas", (rng.normal(size=3), rng.normal(size=3))),
    ("branch_in_loop_in_call", (np.array([0.5, -1.0, 2.0, 0.3]),)),
    ("accumulate_loop", (rng.normal(size=5),)),
    ("overwrite_many_times", (rng.normal(size=3) * 0.5,)),
    ("data_dependent_while", (rng.normal(size=3) * 0.5,)),
])
def test_loops_and_calls(name, args):
    check_all(getattr(cases, name), *args)


@pytest.mark.parametrize("x", [0.3, 1.0, -0.5])
def test_break_at_data_dependent_iteration(x):
    check_all(cases.scalar_loop_break, x)


@pytest.mark.parametrize("x", [0.3, 1.0, 4.0, 20.0])
def test_while_with_continue(x):
    check_all(cases.while_continue, x)


@pytest.mark.parametrize("name, args", [
    ("return_in_loop", (np.array([0.3, 0.5, 0.4, 0.2]),)),  # returns in the third iteration
    ("return_in_loop", (np.array([0.1, 0.1]),)),  # runs out: the return after the loop
    ("return_in_nested_loops", (np.array([0.3, 0.4]),)),  # from the inner loop of the second
    ("return_in_nested_loops", (np.array([0.1, 0.05]),)),
    ("return_in_while_true", (np.array([0.3, 0.4]),)),
    ("return_in_loop_in_branch", (np.array([0.2, 0.9]), np.array([[0.1, 0.2], [0.4, 0.7]]))),
    ("return_in_loop_in_branch", (np.array([0.2, 0.1]), np.array([[0.1, 0.2], [0.4, 0.3]]))),
    ("return_in_loop_in_branch", (np.array([0.2, 0.1]), -np.array([[0.1, 0.2], [0.4, 0.3]]))),
])
def test_return_inside_loops(name, args):
    check_all(getattr(cases, name), *args)


@pytest.mark.parametrize("name, args", [
    ("for_else", (np.array([0.1, 0.2]),)),  # no break: the else runs
    ("for_else", (np.array([1.0, 0.8]),)),  # breaks
    ("while_else_with_inner_break", (np.array([0.1, 0.2]),)),
    ("while_else_with_inner_break", (np.array([1.0, 1.5]),)),
    ("while_else_with_inner_break", (np.array([4.0, 4.5]),)),
])
def test_loops_with_else(name, args):
    check_all(getattr(cases, name), *args)


@pytest.mark.parametrize("name", ["view_read_after_a_write", "inlined_view_read_after_a_write",
                                  "view_read_in_the_next_iteration"])
def test_a_view_read_after_a_write_into_its_array_is_refused(name):
    # (it changed with the write; gradients would follow the values before it)
    with pytest.raises(sg.UnsupportedSyntaxError, match="a view or a call's result shares it"):
        sg.grad(getattr(cases, name))(np.array([1.0, 2.0, 3.0]))


def test_a_view_read_before_the_write_is_differentiated():
    check_all(cases.view_read_before_the_write, np.array([0.3, -0.2, 0.5]))


def test_recursion_with_data_dependent_depth():
    g = sg.grad(cases.power_recursive)
    for n in (0, 1, 4):
        expected = n * 1.3 ** (n - 1) if n else 0.0
        assert g(1.3, n) == pytest.approx(expected)


def test_nested_def_reading_differentiated_enclosing_variables():
    x, y = rng.normal(size=3), rng.normal(size=3)
    check_all(cases.nested_def_capturing, x, y)
    check_all(cases.nested_def_capturing_reassigned, x, y)


def test_nested_def_used_as_a_value_is_refused():
    with pytest.raises(sg.UnsupportedSyntaxError, match="used as a value"):
        sg.grad(cases.nested_def_as_value)(np.ones(2))


def test_loop_stack_holds_only_what_the_adjoint_reads():
    source = sg.source(cases.scalar_loop_break)
    # s and _t2 = s * 0.9 are never read by the adjoint: not saved
    assert "stack.append(s)" not in source
    assert "stack.append(_t2)" not in source


def test_loop_does_not_mutate_inputs():
    x = rng.normal(size=(6, 3))
    copy = x.copy()
    sg.grad(cases.rnn, wrt=(0, 1))(np.eye(4) * 0.5, rng.normal(size=(4, 3)), x, np.ones(4))
    np.testing.assert_array_equal(x, copy)


def test_array_writes():
    W, h0 = rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3)
    gW, gh = sg.grad(cases.recurrence_into_array, wrt=(0, 1))(W, h0, 4)
    np.testing.assert_allclose(gW, numerical_grad(cases.recurrence_into_array, (W, h0, 4), 0),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gh, numerical_grad(cases.recurrence_into_array, (W, h0, 4), 1),
                               rtol=1e-5, atol=1e-7)
    x = np.array([0.3, -0.5, 1.2, 0.7])
    before = x.copy()
    check_all(cases.subscript_updates, x)
    np.testing.assert_array_equal(x, before)


def test_advanced_indexing():
    check_all(cases.advanced_indexing, np.array([0.3, -0.5, 1.2, 0.7]))


@pytest.mark.parametrize("name", ["write_through_view", "write_shared"])
def test_writes_into_shared_arrays_are_refused(name):
    with pytest.raises(sg.UnsupportedSyntaxError, match="shar"):
        sg.grad(getattr(cases, name))(np.array([0.3, -0.5, 1.2]))
