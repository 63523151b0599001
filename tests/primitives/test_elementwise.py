"""Hand-written elementwise rules: kinks, selections, clipping, remainders."""

import builtins
import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from s2sgrad.primitives import elementwise, registry, special
from tests.fd import check_vjp
from tests.primitives import Case, check_user_function, params, sample


def away_from_zero(shape, seed=0):
    """Inputs with |x| >= 0.2, where abs and the selections are smooth."""
    x = sample(shape, 0.2, 2.0, seed=seed)
    signs = np.where(sample(shape, seed=seed + 1) > 0, 1.0, -1.0)
    return x * signs if shape is not None else float(x * signs)


SELECTIONS = [np.maximum, np.minimum, np.fmax, np.fmin]

CASES = [
    Case(f, (away_from_zero((3, 4)),), label="array")
    for f in (np.absolute, np.fabs, builtins.abs, operator.abs)
]
CASES += [Case(builtins.abs, (-1.3,), label="float"), Case(math.fabs, (-1.3,))]
CASES += [
    Case(f, (sample((3, 4), seed=1), sample((4,), seed=2)))
    for f in SELECTIONS
]
CASES += [
    Case(special.erf, (sample((3, 4), seed=41),)),
    Case(builtins.max, (0.3, -1.2)),
    Case(builtins.min, (0.3, -1.2)),
    Case(np.where, (sample((3, 4), seed=3) > 0, sample((3, 4), seed=4), sample((4,), seed=5))),
    Case(np.where, (np.array([True, False]), sample((3, 1), seed=6), 1.5), label="float-y"),
    Case(np.clip, (sample((3, 4), seed=7), -0.5, 0.7), label="scalar-bounds"),
    Case(np.clip, (sample((3, 4), seed=8), sample((4,), -1.5, 0, seed=9), sample((3, 1), 0.1, 1.0, seed=10)), label="array-bounds"),
    Case(np.clip, (sample((5,), seed=11), None, 0.5), label="no-min"),
    Case(np.clip, (sample((5,), seed=12), -0.5, None), label="no-max"),
    Case(operator.mod, (sample((3, 4), 0.1, 5.0, seed=13), sample((4,), 0.7, 1.9, seed=14))),
    Case(np.remainder, (sample((6,), -5.0, 5.0, seed=15), 1.3)),
    Case(np.fmod, (sample((6,), -5.0, 5.0, seed=16), sample((2, 1), 0.7, 1.9, seed=17))),
    Case(math.fmod, (5.3, 1.7)),
    Case(math.erf, (0.4,)),
    Case(math.erfc, (-0.7,)),
    Case(math.copysign, (1.3, -0.5), argnums=(0,)),
    Case(math.copysign, (-1.3, 0.5), argnums=(0,), label="flipped"),
    Case(builtins.divmod, (5.3, 1.7)),
    Case(builtins.divmod, (-5.3, 1.7), label="negative"),
    Case(np.divmod, (sample((6,), -5.0, 5.0, seed=18), sample((2, 1), 0.7, 1.9, seed=19))),
    Case(elementwise.below_bound, (sample((3,)), 0.0), argnums=()),
    Case(elementwise.above_bound, (sample((3,)), 0.0), argnums=()),
    Case(elementwise.within_bounds, (sample((3,)), -0.5, 0.5), argnums=()),
]


# -- sinc, replaced values, parts of real numbers, casts, signs and exponents --

NEAR_ZERO = np.array([-0.7, -0.004, 0.0, 0.003, 0.009, 0.011, 1.3, 2.5])

CASES += [
    Case(np.sinc, (sample((3, 4), seed=20),)),
    Case(np.sinc, (NEAR_ZERO,), label="near-zero", options={"eps": 1e-4}),
    Case(elementwise.sinc_slope, (NEAR_ZERO,), options={"eps": 1e-4}),
    Case(np.nan_to_num, (np.array([0.5, np.nan, np.inf, -np.inf, -1.5]),)),
    Case(np.nan_to_num, (np.array([[0.5, np.nan], [np.inf, -np.inf]]), True, 2.0, 3.0, -4.0), label="values"),
    Case(elementwise.replaced_cotangent, (sample((4,)), np.array([True, False, True, True]), 1.5),
         argnums=(0,)),
    Case(np.real, (sample((3, 4), seed=21),)),
    Case(np.conj, (sample((3, 4), seed=22),)),
    Case(np.astype, (sample((3, 4), seed=23), np.float64), keeps_dtype=False),
    Case(np.astype, (sample((3, 4), seed=23), np.float64), {"copy": False}, label="view"),
    Case(np.astype, (sample((3, 4), seed=24), np.float32), keeps_dtype=False,
         options={"eps": 1e-2, "rtol": 1e-4}, label="float32"),
    Case(np.astype, (sample((3, 4), seed=25), np.int64), keeps_dtype=False, argnums=(), label="int"),
    Case(elementwise.cast_like, (sample((3,), seed=26), np.ones(3, np.float32)), argnums=(0,),
         keeps_dtype=False, options={"eps": 1e-2, "rtol": 1e-4}),
    Case(elementwise.cast_like, (sample((3,), seed=26), np.ones(3)), argnums=(0,), label="same"),
    Case(elementwise.is_inexact, (np.float32,), argnums=()),
    Case(np.copysign, (away_from_zero((3, 4), seed=27), sample((4,), seed=28)), argnums=(0,)),
    Case(np.ldexp, (sample((3, 4), seed=29), np.array([1, -2, 0, 3]))),
    Case(np.frexp, (away_from_zero((5,), seed=30),)),
    Case(np.float_power, (sample((3, 4), 0.5, 2.0, seed=31), sample((4,), seed=32))),
]
ALSO_COVERED = [elementwise.sinc_curvature]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    if registry.is_nondifferentiable(case.primitive):
        case.primitive(*case.args)  # callable on these inputs; no rule to check
        return
    case.check()


@pytest.mark.parametrize("primitive", SELECTIONS)
def test_ties_split_the_cotangent_evenly(primitive):
    rule = registry.lookup(primitive).vjp
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 0.0, 5.0])
    gx, gy = rule(np.ones(3), primitive(x, y), x, y)
    assert gx[0] == gy[0] == 0.5
    np.testing.assert_array_equal(gx + gy, np.ones(3))


@pytest.mark.parametrize("primitive", [builtins.max, builtins.min])
def test_builtin_ties_split_the_cotangent_evenly(primitive):
    gx, gy = registry.lookup(primitive).vjp(1.0, primitive(2.0, 2.0), 2.0, 2.0)
    assert gx == gy == 0.5


def test_fmax_ignores_nan_operand():
    x, y = np.array([np.nan, 1.0]), np.array([2.0, np.nan])
    gx, gy = elementwise.select_extreme(np.ones(2), np.fmax(x, y), x, y)
    np.testing.assert_array_equal(gx, [0.0, 1.0])
    np.testing.assert_array_equal(gy, [1.0, 0.0])


def test_abs_has_zero_subgradient_at_zero():
    (grad,) = elementwise.absolute(np.ones(3), None, np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(grad, [-1.0, 0.0, 1.0])


def test_clip_gives_boundary_entries_to_a():
    a = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    ga, gmin, gmax = elementwise.clip(np.ones(5), np.clip(a, -0.5, 0.5), a, -0.5, 0.5)[:3]
    np.testing.assert_array_equal(ga, [0, 1, 1, 1, 0])
    assert gmin == 1 and gmax == 1


@settings(max_examples=25, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    primitive=st.sampled_from(SELECTIONS + [np.arctan2, np.hypot, np.logaddexp]),
    seed=st.integers(0, 2**16),
)
def test_binary_rules_undo_broadcasting(shapes, primitive, seed):
    sx, sy = shapes.input_shapes
    x = sample(sx, 0.5, 2.0, seed=seed)
    y = sample(sy, -2.0, -0.5, seed=seed + 1)  # never ties with x
    check_vjp(primitive, (x, y), argnums=(0, 1), seed=seed)


def _clipped_sum(x):
    return np.sum(np.clip(x, -0.5, 0.5))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_gradient_of_clip_has_the_arguments_dtype(dtype):
    """The seed 1.0 folded away left clip's bool mask as the gradient."""
    import s2sgrad as sg

    x = np.linspace(-1.0, 1.0, 5).astype(dtype)
    got = sg.grad(_clipped_sum)(x)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, [0.0, 1.0, 1.0, 1.0, 0.0])
    assert isinstance(sg.grad(_clipped_sum)(0.2), float)


def test_sinc_is_smooth_through_zero():
    """The series and the closed forms meet: the derivatives are continuous
    at |x| = 0.01 and right at 0."""
    x = np.array([0.0, 0.00999999, 0.01, -0.01, 1e-9])
    slope = elementwise.sinc_slope(x)
    np.testing.assert_allclose(slope, (np.sinc(x + 1e-7) - np.sinc(x - 1e-7)) / 2e-7, atol=1e-8)
    curvature = elementwise.sinc_curvature(x)
    np.testing.assert_allclose(curvature[:4], [-np.pi ** 2 / 3, *((elementwise.sinc_slope(x[1:4] + 1e-7)
                                               - elementwise.sinc_slope(x[1:4] - 1e-7)) / 2e-7)], rtol=1e-7)


def sinc_and_casts(x):
    y = np.nan_to_num(np.log(x * x - 0.1), nan=0.5, neginf=-3.0)
    return (np.sum(np.sinc(x) ** 2) + np.sum(y * x) + np.sum(np.real(x) * np.conj(x) ** 2)
            + np.sum(x.astype(np.float64) ** 3) + np.sum(np.copysign(x, x[0]) ** 3)
            + np.sum(np.ldexp(x, 2) * x) + np.sum(x.conj() * x.astype(int)) + np.sum(np.imag(x) * x))


def test_user_function():
    x = np.array([[0.5, -0.3, 1.2, 0.7], [0.0, 0.9, -1.1, 0.4], [1.5, -0.6, 0.25, -0.9]])
    check_user_function(sinc_and_casts, x)
