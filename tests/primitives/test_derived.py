"""The sympy-derived smooth rules: values, reuse of ``ans``, reproducibility."""

import inspect
import math

import numpy as np
import pytest

from s2sgrad.primitives import _derived, registry
from tests.fd import check_vjp
from tests.primitives import Case, params, sample

#: function name -> an interval inside its domain, away from singularities
DOMAINS = {
    "sin": (-3, 3), "cos": (-3, 3), "tan": (-1.2, 1.2),
    "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctan": (-3, 3),
    "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atan": (-3, 3),
    "sinh": (-2, 2), "cosh": (-2, 2), "tanh": (-2, 2),
    "arcsinh": (-3, 3), "arccosh": (1.2, 3), "arctanh": (-0.9, 0.9),
    "asinh": (-3, 3), "acosh": (1.2, 3), "atanh": (-0.9, 0.9),
    "exp": (-2, 2), "exp2": (-2, 2), "expm1": (-2, 2),
    "log": (0.2, 3), "log2": (0.2, 3), "log10": (0.2, 3), "log1p": (-0.8, 2),
    "sqrt": (0.2, 3), "cbrt": (0.2, 3), "square": (-2, 2), "reciprocal": (0.5, 2),
    "deg2rad": (-90, 90), "radians": (-90, 90), "rad2deg": (-2, 2), "degrees": (-2, 2),
}

NUMPY_UNARY = [
    getattr(np, name) for name in DOMAINS
    if name not in ("asin", "acos", "atan", "asinh", "acosh", "atanh")
]
MATH_UNARY = [
    getattr(math, name) for name in DOMAINS
    if hasattr(math, name) and registry.lookup(getattr(math, name)) is not None
]

CASES = [Case(f, (sample((3, 4), *DOMAINS[f.__name__], seed=i),), label="array") for i, f in enumerate(NUMPY_UNARY)]
CASES += [Case(f, (sample(None, *DOMAINS[f.__name__], seed=i),), label="float") for i, f in enumerate(NUMPY_UNARY[:4])]
CASES += [Case(f, (sample(None, *DOMAINS[f.__name__], seed=i),)) for i, f in enumerate(MATH_UNARY)]
CASES += [
    Case(np.cbrt, (sample((5,), -3, -0.3),), label="negative"),
    Case(np.arctan2, (sample((3, 4), seed=1), sample((4,), 0.5, 2, seed=2))),
    Case(np.arctan2, (sample((2, 1), seed=3), sample((3,), -2, -0.5, seed=4)), label="left-half"),
    Case(np.hypot, (sample((3, 4), seed=5), sample((3, 1), seed=6))),
    Case(np.logaddexp, (sample((3, 4), seed=7), sample((), seed=8))),
    Case(np.logaddexp, (np.array([800.0, -800.0]), np.array([799.0, -801.0])), label="large"),
    Case(np.logaddexp2, (sample((4,), seed=9), sample((2, 4), seed=10))),
    Case(math.atan2, (0.3, -1.1)),
    Case(math.hypot, (0.3, -1.1)),
]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


def _body(rule_function):
    return inspect.getsource(rule_function).split("\n", 2)[2]


@pytest.mark.parametrize("primitive", [np.tanh, np.exp, np.sqrt, np.cbrt, np.tan, np.expm1, np.reciprocal, np.hypot])
def test_rule_reuses_the_primal_result(primitive):
    body = _body(registry.lookup(primitive).vjp)
    assert "ans" in body
    assert f"np.{primitive.__name__}(" not in body


def test_logaddexp_is_stable_for_large_inputs():
    x, y = np.array([1000.0]), np.array([1000.0])
    gx, gy = registry.lookup(np.logaddexp).vjp(np.ones(1), np.logaddexp(x, y), x, y)
    np.testing.assert_allclose(gx, [0.5])
    np.testing.assert_allclose(gy, [0.5])


@pytest.mark.parametrize("primitive", [np.sin, np.tanh, np.log2, np.exp2, np.deg2rad, np.arctan2, np.logaddexp2])
def test_float32_is_preserved_by_constants(primitive):
    """Constants such as log(2) and pi are Python floats: float32 stays float32."""
    nargs = registry.lookup(primitive).vjp.__code__.co_argcount - 2
    args = [sample((3,), 0.5, 2.0, seed=i).astype(np.float32) for i in range(nargs)]
    ans = primitive(*args)
    for grad in registry.lookup(primitive).vjp(np.ones_like(ans), ans, *args):
        assert grad.dtype == np.float32


@pytest.fixture(scope="module")
def derive():
    """The derive module (imports sympy) with ``render`` run only once."""
    from s2sgrad.primitives import derive

    text = derive.render()
    patch = pytest.MonkeyPatch()
    patch.setattr(derive, "render", lambda: text)
    yield derive
    patch.undo()


def test_derived_module_is_up_to_date(derive):
    """derive.py re-derives exactly the checked-in _derived.py."""
    assert derive.render() == derive.TARGET.read_text()


def test_derive_check_flags_a_stale_file(derive, tmp_path, monkeypatch):
    stale = tmp_path / "_derived.py"
    stale.write_text("# stale\n")
    monkeypatch.setattr(derive, "TARGET", stale)
    assert derive.main(["--check"]) == 1
    assert derive.main([]) == 0
    assert derive.main(["--check"]) == 0


def test_check_vjp_catches_a_wrong_rule():
    """The checker itself is sharp: a rule off by a factor fails."""
    rule = registry.Primitive(np.sin, vjp=lambda g, ans, x: (2 * g * np.cos(x),), elementwise=True)
    with pytest.raises(AssertionError):
        check_vjp(rule, (sample((3,)),), argnums=(0,))
