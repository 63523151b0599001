"""Arithmetic operators and their ufunc twins against finite differences."""

import builtins
import math
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

from s2sgrad.primitives import operators
from tests.fd import check_vjp
from tests.primitives import Case, params, sample

BINARY = [
    operator.add, np.add, operator.sub, np.subtract, operator.mul, np.multiply,
    operator.truediv, np.divide,
]

SHAPE_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((2, 1, 4), (3, 1)),
    ((), (2, 3)),
    (None, (3,)),
    (None, None),
]


def _pair(shape_x, shape_y, positive=False):
    low = 0.5 if positive else -2.0
    return sample(shape_x, low, 2.0, seed=1), sample(shape_y, 0.5, 2.0, seed=2)


CASES = [
    Case(f, _pair(sx, sy), label=f"{sx}-{sy}")
    for f in BINARY
    for sx, sy in SHAPE_PAIRS
]
CASES += [
    Case(f, (sample(s, seed=3),), label=str(s))
    for f in (operator.neg, np.negative, operator.pos, np.positive)
    for s in ((2, 3), None)
]
CASES += [
    Case(f, _pair(sx, sy, positive=True), label=f"{sx}-{sy}")
    for f in (operator.pow, np.power)
    for sx, sy in SHAPE_PAIRS
]
CASES += [
    # a negative base with an integer exponent: only the base has a derivative
    Case(operator.pow, (sample((3, 2), -2.0, -0.5), 3.0), argnums=(0,), label="negative-base"),
    Case(np.power, (sample((4,), -2.0, 2.0), 2), argnums=(0,), label="int-exponent"),
    Case(builtins.pow, (1.7, 0.6)),
    Case(math.pow, (1.7, -1.3)),
    Case(operators.log_or_zero, (sample((3, 4), 0.5, 2.0),)),
]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


def test_power_at_zero_base_is_finite():
    x = np.array([0.0, 1.5])
    y = np.array([2.0, 2.0])
    ans = x**y
    gx, gy = operators.power(np.ones(2), ans, x, y)
    np.testing.assert_allclose(gx, [0.0, 3.0])
    np.testing.assert_allclose(gy, [0.0, np.log(1.5) * 1.5**2])


def test_power_exponent_gradient_is_quiet_for_negative_base():
    x = np.array([-2.0])
    with np.errstate(all="raise"):
        gx, _ = operators.power(np.ones(1), x**2, x, 2)
    np.testing.assert_allclose(gx, [-4.0])



@settings(max_examples=30, deadline=None)
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    primitive=st.sampled_from(BINARY + [np.power]),
    seed=st.integers(0, 2**16),
)
def test_binary_rules_undo_broadcasting(shapes, primitive, seed):
    sx, sy = shapes.input_shapes
    x = sample(sx, 0.5, 2.0, seed=seed)
    y = sample(sy, 0.5, 2.0, seed=seed + 1)
    check_vjp(primitive, (x, y), argnums=(0, 1), seed=seed)
