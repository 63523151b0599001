"""Reductions against finite differences, for every kind of ``axis``."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from s2sgrad.primitives import reductions, registry
from tests.fd import check_vjp
from tests.primitives import Case, params, sample

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


@pytest.mark.parametrize("primitive", [np.max, np.min])
def test_ties_share_the_cotangent(primitive):
    a = np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 2.0]])
    (grad,) = registry.lookup(primitive).vjp(np.ones(2), primitive(a, axis=1), a, axis=1)
    np.testing.assert_array_equal(np.sum(grad, axis=1), [1.0, 1.0])
    expected = [[0, 0.5, 0.5], [0.5, 0, 0.5]] if primitive is np.max else [[1, 0, 0], [0, 1, 0]]
    np.testing.assert_array_equal(grad, expected)


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
    primitive=st.sampled_from([np.sum, np.mean, np.prod, np.max, np.min, np.var]),
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
