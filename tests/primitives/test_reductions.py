"""Reductions against finite differences, for every kind of ``axis``."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from s2sgrad.primitives import reductions, registry
from tests.fd import check_vjp
from tests.primitives import Case, check_user_function, params, sample

AXES = [
    {},
    {"axis": 0},
    {"axis": -1},
    {"axis": (0, 2)},
    {"axis": 1, "keepdims": True},
    {"axis": None, "keepdims": True},
]

WITH_ZEROS = np.array([[1.5, 0.0, 2.0, -0.7], [0.0, 1.2, 0.0, 0.9], [0.8, -1.1, 1.3, 0.6]])

CASES = [
    Case(f, (sample((2, 3, 4), 0.5, 1.5, seed=i),), kw, label=str(kw))
    for i, f in enumerate((np.sum, np.mean, np.prod, np.max, np.amax, np.min, np.amin, np.var, np.std))
    for kw in AXES
]
CASES += [
    Case(np.sum, (1.5,), label="float"),
    Case(np.mean, (sample((3,)),), {"dtype": np.float64}, label="dtype"),
    Case(np.prod, (WITH_ZEROS,), {"axis": 1}, label="zeros"),
    Case(np.prod, (WITH_ZEROS,), {"axis": 0}, label="zeros-axis0"),
    Case(np.prod, (WITH_ZEROS,), label="zeros-all"),
    Case(np.var, (sample((3, 5)),), {"axis": 1, "ddof": 1}, label="ddof"),
    Case(np.std, (sample((3, 5)),), {"ddof": 1}, label="ddof"),
    Case(np.cumsum, (sample((3, 4)),), label="flat"),
    Case(np.cumsum, (sample((3, 4)),), {"axis": 1}),
    Case(np.cumsum, (sample((3, 4)),), {"axis": -2}),
    Case(reductions.prod_of_others, (sample((3, 4), 0.5, 1.5),), {"axis": 1}),
    Case(reductions.prod_of_others, (sample((2, 3, 2)),), {"axis": (0, 2)}, label="tuple"),
    Case(reductions.prod_of_others, (WITH_ZEROS,), label="zeros"),
    Case(reductions.tie_share, (sample((3, 4)), np.max(sample((3, 4)))), argnums=()),
]
CASES += [
    Case(f, (sample((2, 3, 4), 0.5, 1.5, seed=i),), kw, label=str(kw))
    for i, f in enumerate((np.nansum, np.nanmean, np.nanmax, np.nanmin, np.ptp, np.median))
    for kw in AXES
]
WITH_NANS = np.where(WITH_ZEROS == 0.0, np.nan, WITH_ZEROS)
CASES += [
    Case(f, (WITH_NANS,), kw, label="nans" + str(kw))
    for f in (np.nansum, np.nanmean, np.nanmax, np.nanmin)
    for kw in ({}, {"axis": 1}, {"axis": 0, "keepdims": True})
]
CASES += [
    Case(np.cumprod, (sample((3, 4)),), label="flat"),
    Case(np.cumprod, (sample((3, 4)),), {"axis": 1}),
    Case(np.cumprod, (sample((2, 3, 4)),), {"axis": -2}, label="middle"),
    Case(np.cumprod, (WITH_ZEROS,), {"axis": 1}, label="zeros"),
    Case(np.cumprod, (WITH_ZEROS,), label="zeros-flat"),
    Case(np.average, (sample((3, 4)),)),
    Case(np.average, (sample((3, 4)), 1), label="axis"),
    Case(np.average, (sample((2, 3, 4)), (0, 2)), label="axes"),
    Case(np.average, (sample((3, 4)), 1, sample((4,), 0.5, 1.5)), label="weights-along"),
    Case(np.average, (sample((3, 4)), None, sample((3, 4), 0.5, 1.5)), label="weights"),
    Case(np.average, (sample((2, 3)), 0, sample((2, 3), 0.5, 1.5)), label="weights-axis"),
    Case(reductions.prefixes, (sample((3, 4)), 1, 1.0), argnums=(0,)),
    Case(reductions.prefixes, (sample((2, 3)),), argnums=(0,), label="flat"),
    Case(reductions.prefixes_adjoint, (sample((3, 4, 4)), sample((3, 4)), 1), argnums=(0,)),
    Case(reductions.spread_weights, (sample((4,)), sample((3, 4)), 1), argnums=(0,)),
    Case(reductions.gathered_weights, (sample((3, 4)), sample((4,)), -1), argnums=(0,)),
    Case(reductions.number_share, (WITH_NANS, 1), argnums=()),
    Case(reductions.middle_share, (sample((3, 4)), 1), argnums=()),
    Case(reductions.cumulative_axis, (None,), argnums=()),
]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    if registry.is_nondifferentiable(case.primitive):
        case.primitive(*case.args)
        return
    case.check()


def test_prod_gradient_with_zeros_is_exact():
    a = np.array([2.0, 0.0, 3.0, 0.0])
    (grad,) = reductions.prod(1.0, np.prod(a), a)
    np.testing.assert_array_equal(grad, [0.0, 0.0, 0.0, 0.0])
    a = np.array([2.0, 0.0, 3.0])
    (grad,) = reductions.prod(1.0, np.prod(a), a)
    np.testing.assert_array_equal(grad, [0.0, 6.0, 0.0])


@pytest.mark.parametrize("primitive", [np.max, np.min, np.nanmax, np.nanmin])
def test_ties_share_the_cotangent(primitive):
    a = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]])
    (grad,) = registry.lookup(primitive).vjp(np.ones(2), primitive(a, axis=1), a, axis=1)
    np.testing.assert_array_equal(np.sum(grad, axis=1), [1.0, 1.0])
    expected = [[0, 0.5, 0.5], [0.5, 0, 0.5]] if primitive in (np.max, np.nanmax) else [[1, 0, 0], [0, 1, 0]]
    np.testing.assert_array_equal(grad, expected)


def test_ptp_ties_share_both_ends():
    a = np.array([3.0, -1.0, 3.0, -1.0, 0.5])
    (grad,) = reductions.ptp(1.0, np.ptp(a), a)
    np.testing.assert_array_equal(grad, [0.5, -0.5, 0.5, -0.5, 0.0])


def test_nans_get_no_gradient():
    a = np.array([[1.0, np.nan, 2.0], [np.nan, np.nan, 4.0]])
    (grad,) = reductions.nanmean(np.ones(2), np.nanmean(a, axis=1), a, axis=1)
    np.testing.assert_array_equal(grad, [[0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])
    (grad,) = reductions.nanmean(1.0, np.nanmean(a), a)
    np.testing.assert_array_equal(grad, np.where(np.isnan(a), 0.0, 1 / 3))
    (grad,) = reductions.nansum(1.0, np.nansum(a), a)
    np.testing.assert_array_equal(grad, np.where(np.isnan(a), 0.0, 1.0))
    (grad,) = reductions.extreme(np.ones(2), np.nanmax(a, axis=1), a, axis=1)
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]])


def test_median_of_an_even_count_shares_the_two_middles():
    a = np.array([[4.0, 1.0, 3.0, 2.0], [0.5, 0.1, 0.9, 0.3]])
    (grad,) = reductions.median(np.ones(2), np.median(a, axis=1), a, axis=1)
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 0.5, 0.5], [0.5, 0.0, 0.0, 0.5]])
    (grad,) = reductions.median(1.0, np.median(a[0, :3]), a[0, :3])
    np.testing.assert_array_equal(grad, [0.0, 0.0, 1.0])


def test_cumprod_gradient_with_zeros_is_exact():
    a = np.array([2.0, 0.0, 3.0, 0.0, 5.0])
    (grad,) = reductions.cumprod(np.ones(5), np.cumprod(a), a)
    # d/da_1 of 2*a_1 + 2*a_1*3 (the later products hold the zero a_3)
    np.testing.assert_array_equal(grad, [1.0, 8.0, 0.0, 0.0, 0.0])


def test_unsupported_keywords_do_not_bind():
    """``where=`` would change the derivative; the rule refuses to bind it."""
    rule = registry.lookup(np.sum).vjp
    with pytest.raises(TypeError):
        rule(1.0, 0.0, np.ones(3), where=np.ones(3, bool))


@st.composite
def reductions_calls(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none" or ndim == 0:
        axis = None
    elif kind == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axis = tuple(draw(st.sets(st.integers(0, ndim - 1), min_size=1)))
    keepdims = draw(st.booleans())
    return shape, axis, keepdims


@settings(max_examples=40, deadline=None)
@given(
    call=reductions_calls(),
    primitive=st.sampled_from([np.sum, np.mean, np.prod, np.max, np.min, np.var, np.nansum,
                               np.nanmean, np.nanmax, np.nanmin, np.ptp, np.median]),
    seed=st.integers(0, 2**16),
)
def test_reductions_over_any_axes(call, primitive, seed):
    shape, axis, keepdims = call
    a = sample(shape, 0.5, 1.5, seed=seed)
    check_vjp(primitive, (a,), {"axis": axis, "keepdims": keepdims}, argnums=(0,), seed=seed)


def _prod_of_float(x, y):
    v0 = np.prod(np.exp(np.tanh(y)))
    v1 = (y if v0 > 1.0 else x) + y
    return np.sum(np.cos(x) * np.prod(v1))


def test_second_derivative_of_prod_of_a_float_is_a_float():
    """prod's second-order helpers on a 0-d input return a scalar, not a 0-d
    array (found by the random order-2 programs: d2/dy2 came back an ndarray)."""
    import s2sgrad as sg

    first = sg.grad(_prod_of_float, wrt=1)
    second = sg.grad(first, wrt=1)(0.1, -1.6)
    assert isinstance(second, float) and np.ndim(second) == 0 and not isinstance(second, np.ndarray)
    h = 1e-5
    expected = (first(0.1, -1.6 + h) - first(0.1, -1.6 - h)) / (2 * h)
    np.testing.assert_allclose(second, expected, rtol=1e-5, atol=1e-6)


# -- user functions, through every way in -------------------------------------


def nan_reductions(x):
    y = np.where(x > 0.8, np.nan, x)
    return (np.nansum(y ** 2) + np.sum(np.nanmean(y, axis=0) ** 3) + np.nanmax(y * 3.0)
            + np.sum(np.nanmin(y, axis=1, keepdims=True) * x[:, :1]))


def ranges_and_averages(x):
    return (np.sum(np.ptp(x, axis=1) ** 2) + np.average(x ** 2)
            + np.sum(np.average(x, axis=1, weights=np.arange(1.0, 5.0)) ** 3)
            + np.average(x, weights=x ** 2))


def medians(x):
    return np.sum(np.median(x, axis=0) ** 3) + np.median(x ** 2) + np.sum(np.median(x, axis=1, keepdims=True) * x)


def prefix_products(x):
    y = np.where(np.abs(x) < 0.2, 0.0, x)
    return np.sum(np.cumprod(y, axis=1)) + np.sum(np.cumprod(x) ** 2) + np.sum(x.cumprod(0))


@pytest.mark.parametrize("f", [nan_reductions, ranges_and_averages, medians, prefix_products], ids=lambda f: f.__name__)
def test_user_function(f):
    x = np.array([[0.5, -0.3, 1.2, 0.7], [0.0, 0.9, -1.1, 0.4], [1.5, -0.6, 0.25, -0.9]])
    check_user_function(f, x)
