"""Loops rebinding names to views, with conditions whose branch changes
between iterations (issues 9 and 10): every gradient against central finite
differences, for both arguments, at the reported input and at inputs drawn
by hypothesis."""

import inspect

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import s2sgrad as sg
from tests.fd import numerical_grad
from tests.transform import cases_loops

CASES = [f for _, f in inspect.getmembers(cases_loops, inspect.isfunction)
         if f.__module__ == cases_loops.__name__]
ISSUE_A = np.arange(6.0).reshape(2, 3) / 7


def smooth_at(f, args, argnum, h=1e-5):
    """Whether ``f`` is differentiable at ``args`` along each coordinate of
    argument ``argnum``: the forward and backward differences agree (a
    condition on the boundary between its branches makes them differ by the
    jump or kink there)."""
    x = np.asarray(args[argnum], dtype=np.float64)

    def at(shift):
        moved = list(args)
        moved[argnum] = float(x + shift) if x.ndim == 0 else x + shift
        return f(*moved)

    centre = at(0.0)
    for k in range(x.size):
        step = np.zeros(x.shape)
        step.flat[k] = h
        forward, backward = (at(step) - centre) / h, (centre - at(-step)) / h
        if not np.isfinite(forward + backward) or \
                abs(forward - backward) > 1e-3 * (1 + abs(forward)):
            return False
    return True


def check_gradient(f, a, A, argnum):
    got = sg.grad(f, wrt=argnum)(a, A.copy())
    expected = numerical_grad(f, (a, A), argnum)
    assert np.shape(got) == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("argnum", [0, 1])
def test_issue_9_at_the_reported_input(argnum):
    # off by 0.06 for A before the fix (0.041 instead of 0.100 per entry)
    assert smooth_at(cases_loops.issue_9, (0.3, ISSUE_A), argnum)
    check_gradient(cases_loops.issue_9, 0.3, ISSUE_A, argnum)


@pytest.mark.parametrize("argnum", [0, 1])
def test_issue_10_with_the_iterations_taking_different_branches(argnum):
    # a = 1.0: the first iteration takes `a` (1.0 >= 0.915), the second `s3`
    # (s3 - 1.0 < 0.915)
    f = cases_loops.issue_10_rescaled
    assert smooth_at(f, (1.0, ISSUE_A), argnum)
    check_gradient(f, 1.0, ISSUE_A, argnum)


@pytest.mark.parametrize("argnum", [0, 1])
@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
@settings(max_examples=15, deadline=None)
@given(a=st.floats(-1.5, 1.5),
       A=hnp.arrays(np.float64, (2, 3), elements=st.floats(-1.0, 1.0)))
@example(a=0.3, A=ISSUE_A)
@example(a=1.0, A=ISSUE_A)
def test_loops_with_views_and_conditions(f, argnum, a, A):
    assume(smooth_at(f, (a, A), argnum))
    check_gradient(f, a, A, argnum)
