"""Convolutions, correlations, fill values, conversions and cumulative_sum."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad as sg
from s2sgrad.primitives import signals
from tests.fd import check_vjp, numerical_grad, numerical_jvp
from tests.primitives import Case, check_user_function, params, sample

A, V = sample((5,), seed=1), sample((3,), seed=2)
M = sample((3, 4), seed=3)

CASES = [
    Case(f, (a, v), {"mode": mode}, label=f"{mode}-{len(a)}-{len(v)}")
    for f in (np.convolve, np.correlate)
    for mode in ("full", "same", "valid")
    for a, v in ((A, V), (V, A), (A[:4], sample((4,), seed=4)))
]
CASES += [
    Case(np.full, ((2, 3), 1.5)),
    Case(np.full, ((2, 3), sample((3,), seed=5)), label="array-fill"),
    Case(np.full_like, (M, 0.5), argnums=(1,)),
    Case(np.full_like, (M, sample((4,), seed=6)), argnums=(1,), label="array-fill"),
    Case(np.asanyarray, (M,)),
    Case(np.ascontiguousarray, (M,)),
    Case(np.asfortranarray, (M,)),
    Case(np.asfortranarray, (A,), label="vector"),  # (a view: one axis is in both orders)
    Case(np.asarray_chkfinite, (M,)),
    Case(np.require, (M,)),
    Case(np.cumulative_sum, (A,)),
    Case(np.cumulative_sum, (M,), {"axis": 1}, label="axis"),
    Case(np.cumulative_sum, (M,), {"axis": 0, "include_initial": True}, label="initial"),
    Case(signals.cumulative_sum_adjoint, (sample((4, 4), seed=7), M, 0, True), argnums=(0,)),
    Case(signals.cumulative_sum_adjoint, (A, A), argnums=(0,), label="flat"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), mode=st.sampled_from(["full", "same", "valid"]),
       correlation=st.booleans(), seed=st.integers(0, 10_000))
def test_convolutions_over_lengths_and_modes(n, m, mode, correlation, seed):
    f = np.correlate if correlation else np.convolve
    check_vjp(f, (sample((n,), seed=seed), sample((m,), seed=seed + 1)), {"mode": mode},
              argnums=(0, 1), seed=seed)


def smoothed(x):
    kernel = np.array([0.25, 0.5, 0.25])
    return np.sum(np.convolve(np.tanh(x), kernel, "same") ** 2) + np.sum(np.correlate(x, x * x, "full"))


def running(x):
    return np.sum(np.cumulative_sum(x ** 2, axis=0, include_initial=True) * np.full_like(x[:1], x[0, 1]))


def filled(x):
    return np.sum(np.full((2, 3), x[1, 2]) * np.asfortranarray(x[:2, :3]) ** 2)


@pytest.mark.parametrize("f", [smoothed, running])
def test_user_functions_to_second_order(f):
    check_user_function(f, sample((3, 4), seed=8) if f is not smoothed else sample((6,), seed=9))


def test_fill_values_to_second_order():
    """(np.full builds its array without NumPy's dispatch, so the tape cannot
    see it: source transformation only)"""
    x = sample((3, 4), seed=10)
    np.testing.assert_allclose(sg.grad(filled)(x), numerical_grad(filled, (x,)), rtol=1e-6, atol=1e-8)
    u = sample((3, 4), seed=11)
    np.testing.assert_allclose(sg.hvp(filled)(x, u), numerical_jvp(sg.grad(filled), (x,), 0, u),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sg.jvp(filled)(x, u)[1], numerical_jvp(filled, (x,), 0, u),
                               rtol=1e-6, atol=1e-8)


def test_window_padding_refuses_an_unknown_mode():
    with pytest.raises(ValueError, match="mode must be"):
        signals.window_padding(3, 2, "middle", False)
