"""Non-differentiable primitives: declared, callable, never also given a rule."""

import builtins
import math
import operator

import numpy as np
import pytest

from s2sgrad.primitives import registry

SAMPLE = [
    np.floor, np.ceil, np.round, np.around, np.rint, np.trunc, np.fix, np.sign,
    np.floor_divide, operator.floordiv, np.argmax, np.argmin, np.argsort,
    np.shape, np.ndim, np.size, builtins.len, np.zeros_like, np.ones_like, np.empty_like,
    np.zeros, np.ones, np.isnan, np.isfinite, operator.lt, operator.eq, np.less,
    np.logical_and, math.floor, math.ceil, builtins.round, builtins.int,
    np.random.rand, np.random.randn, np.random.normal, np.random.uniform, np.random.seed,
]


@pytest.mark.parametrize("primitive", SAMPLE, ids=lambda p: getattr(p, "__name__", repr(p)))
def test_declared_nondifferentiable(primitive):
    assert registry.is_nondifferentiable(primitive)
    assert registry.lookup(primitive) is None


def test_no_primitive_is_both_differentiable_and_not():
    both = [p for p in registry.registered_primitives() if registry.is_nondifferentiable(p)]
    assert both == []


@pytest.mark.parametrize("primitive", [operator.mod, np.sort, np.arange, np.linspace, np.full_like])
def test_differentiable_functions_are_not_declared_constant(primitive):
    """These depend smoothly on some argument; calling them constant would be silently wrong."""
    assert not registry.is_nondifferentiable(primitive)
