"""quantile, percentile, nanquantile, nanpercentile (linear method) and
np.i0: rules against finite differences over shapes, axes and q, NaNs,
forward mode, the tape, float32, order 2 for i0, and the refusals."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad as sg
from s2sgrad.primitives import quantiles, special
from tests.fd import check_vjp, numerical_jacobian, numerical_jvp
from tests.primitives import Case, check_grad_tape_and_forward, params, sample

FUNCTIONS = [(np.quantile, 1.0), (np.percentile, 100.0), (np.nanquantile, 1.0), (np.nanpercentile, 100.0)]
# q off the kinks: q (n - 1) is never an integer for the n used here
CALLS = [(0.3, {}), (np.array([0.1, 0.55, 0.95]), {"axis": 1}), (0.7, {"axis": (0, 2), "keepdims": True}),
         (np.array([[0.2], [0.63]]), {"axis": -1, "keepdims": True})]
CASES = [Case(f, (sample((3, 4, 5)), q * scale), kw, label=f"{np.shape(q)}-{kw}")
         for f, scale in FUNCTIONS for q, kw in CALLS]
WITH_NANS = sample((3, 4, 5))
WITH_NANS[0, 0, :3] = np.nan
WITH_NANS[1, 2, 1] = np.nan
CASES += [Case(np.nanquantile, (WITH_NANS, np.array([0.3, 0.85])), {"axis": -1}, argnums=(0, 1), label="nans"),
          Case(np.nanpercentile, (WITH_NANS, 43.0), {"axis": (0, 2)}, argnums=(0, 1), label="nans")]
CASES += [Case(np.i0, (sample((3, 4), -30.0, 30.0),)), Case(np.i0, (np.array([0.0, 1e-3, 19.99, 20.0, 25.0]),),
                                                             label="series-asymptotic"),
          Case(special.i1, (sample((3, 4), -30.0, 30.0),)),
          Case(special.i1, (np.array([0.0, 1e-3, 19.99, 20.0, 25.0]),), label="series-asymptotic")]
# the cotangents' own rule (second order), in the cotangent, a and q
CASES += [Case(quantiles.quantile_cotangents, (sample((2, 2, 4), seed=3), sample((2, 4, 5)), np.array([0.15, 0.6]), -1),
               argnums=(0, 1, 2)),
          Case(quantiles.quantile_cotangents, (sample((3,), seed=3), WITH_NANS[:, 2], 0.3, 1, "linear", None, True,
                                               False), argnums=(0, 1, 2), label="nans"),
          Case(quantiles.quantile_cotangents, (2.0, sample((6,)), 37.0, None, "linear", None, False, True),
               argnums=(0, 1, 2), label="percent")]
_A, _Q = sample((2, 4, 5)), np.array([0.15, 0.6])
CASES += [Case(quantiles.quantile_tangent, (sample((2, 4, 5), seed=4), sample((2,), seed=5),
                                            np.quantile(_A, _Q, axis=-1), _A, _Q, -1), argnums=(0, 1, 3, 4))]
# (their rules refuse a third derivative)
ALSO_COVERED = [quantiles.quantile_curvature, quantiles.quantile_cotangents_tangent, quantiles.quantile_tangent_tangent]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), q_shape=st.lists(st.integers(1, 2), max_size=2),
       axis=st.sampled_from([None, 0, -1, (0, -1)]), keepdims=st.booleans(), which=st.integers(0, 3),
       seed=st.integers(0, 2**16))
def test_quantiles_over_shapes_axes_and_q(shape, q_shape, axis, keepdims, which, seed):
    f, scale = FUNCTIONS[which]
    if axis == (0, -1) and len(shape) == 1:
        axis = 0
    a = sample(tuple(shape), seed=seed)
    q = sample(tuple(q_shape), 0.0, 1.0, seed=seed + 1) * scale
    counts = np.size(a) if axis is None else np.prod([shape[i] for i in np.atleast_1d(axis)])
    position = q / scale * (counts - 1)
    if np.min(np.abs(position - np.round(position))) < 1e-3:
        return  # (at a kink finite differences average the two one-sided slopes)
    gaps = np.diff(np.sort(a, axis=None))
    if np.size(gaps) and np.min(gaps) < 1e-4:
        return  # (near ties a difference step reorders the entries: seed 275 drew two 6e-7 apart)
    if which >= 2 and len(q_shape) >= 2 and axis == (0, -1) and len(shape) > 2:
        with pytest.raises(NotImplementedError, match="q of two or more dimensions"):
            quantiles.quantile_cotangents(np.ones(np.shape(f(a, q, axis))), a, q, axis, nan=True)
        return
    check_vjp(f, (a, q), {"axis": axis, "keepdims": keepdims}, seed=seed)


def test_an_all_nan_slice_gets_no_gradient():
    a = sample((2, 4))
    a[1] = np.nan
    g_a, g_q = quantiles.quantile_cotangents(np.ones(2), a, 0.3, 1, nan=True)
    assert not g_a[1].any() and np.isfinite(g_q)


def spread(x, q):
    return np.sum(np.percentile(x, q, axis=0) * np.nanquantile(x, 0.37, axis=0)) \
        + np.quantile(x, q / 100.0).sum() + np.sum(np.i0(x) ** 2)


ARGS = (sample((4, 3)), np.array([15.0, 62.0]))


@pytest.mark.parametrize("argnum", [0, 1])
def test_grad_tape_forward_and_float32_of_a_user_function(argnum):
    expected = check_grad_tape_and_forward(spread, ARGS, argnum, rtol=1e-5, atol=1e-7)
    single = sg.grad(spread, wrt=argnum)(*(a.astype(np.float32) for a in ARGS))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, expected, rtol=1e-3, atol=1e-3)


def test_other_methods_and_weights_are_refused():
    def nearest(x):
        return np.quantile(x, 0.3, method="nearest")

    with pytest.raises(NotImplementedError, match="'linear' method only"):
        sg.grad(nearest)(sample((5,)))



@pytest.mark.parametrize("inner, outer", [(0, 0), (1, 1), (1, 0), (0, 1)])
def test_second_derivatives_and_mixed_partials_of_a_user_function(inner, outer):
    expected = numerical_jacobian(sg.grad(spread, wrt=inner), ARGS, outer)
    np.testing.assert_allclose(sg.jacobian(sg.grad(spread, wrt=inner), wrt=outer)(*ARGS), expected,
                               rtol=1e-5, atol=1e-6)
    if inner == outer:
        np.testing.assert_allclose(sg.hessian(spread, wrt=inner)(*ARGS), expected, rtol=1e-5, atol=1e-6)
        direction = np.random.default_rng(inner).standard_normal(np.shape(ARGS[inner]))
        np.testing.assert_allclose(sg.hvp(spread, wrt=inner)(*ARGS, direction),
                                   np.tensordot(expected, direction, axes=np.ndim(direction)), rtol=1e-5,
                                   atol=1e-6)


def cubed_quantile(x):
    return np.quantile(np.array([x, 1.0, -2.0, 0.5]) * x, 0.3) ** 3


def test_a_third_derivative_is_refused():
    np.testing.assert_allclose(sg.grad(sg.grad(cubed_quantile))(0.7),
                               numerical_jacobian(sg.grad(cubed_quantile), (0.7,)), rtol=1e-6)
    with pytest.raises((sg.UnsupportedSyntaxError, NotImplementedError), match="third derivative"):
        sg.grad(sg.grad(sg.grad(cubed_quantile)))(0.7)


def bessel(x):
    return np.sum(np.i0(x) * np.sin(x))


@pytest.mark.parametrize("x", [sample((4,)), np.array([0.0, 19.999, 20.0, 27.0])], ids=["small", "edges"])
def test_i0_twice_forward_over_reverse(x):
    sg.source(bessel, order=2, mode="forward")
    np.testing.assert_allclose(sg.hessian(bessel)(x), numerical_jacobian(sg.grad(bessel), [x]), rtol=1e-5,
                               atol=1e-6)
    direction = np.ones_like(x)
    np.testing.assert_allclose(sg.hvp(bessel)(x, direction), numerical_jvp(sg.grad(bessel), [x], 0, direction),
                               rtol=1e-5, atol=1e-6)
