"""Sparse Hessians: after its first call of a shape, ``sg.hessian`` probes
only as many directions as the colouring of the Hessian's pattern needs,
checked on every call by one random probe direction.

Each Hessian here is compared with finite differences of the gradient and
with the dense batched pass, at several points (the pattern is found at the
first), including patterns that change from point to point, where the probe
must send the call back to the dense pass.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import s2sgrad as sg
from s2sgrad import api
from s2sgrad.transform import colouring
from tests.fd import numerical_jacobian

rng = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def _small_shapes_too(monkeypatch):
    """The shapes here are small: let them be coloured."""
    monkeypatch.setattr(colouring, "FEWEST_DIRECTIONS", 4)


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def chain(x):
    d = np.diff(x)
    return np.sum(np.cos(d) * x[1:]) + np.sum(np.exp(0.1 * x) ** 2)


def pentadiagonal(x):
    return np.sum(x[2:] * np.sin(x[:-2])) + np.sum(np.tanh(x) ** 3)


def arrowhead(x):
    return x[0] * np.sum(x ** 2) + np.sum(np.log1p(x[1:] ** 2))


def grid(X):
    return np.sum((X[1:, :] - X[:-1, :]) ** 2 * X[1:, :]) + np.sum(np.sin(X[:, 1:] * X[:, :-1]))


def relu_dependent(x):
    """The diagonal's pattern depends on the signs of x (np.where selects)."""
    return np.sum(np.where(x > 0, x, 0.0) ** 3) + np.sum(x[1:] * x[:-1])


def masked(x):
    """Its diagonal is 6 x (x > 0): multiplied by a mask, not selected, so
    the NaN pass finds the diagonal at any point and the plan holds."""
    return np.sum(np.maximum(x, 0.0) ** 3) + np.sum(x[1:] * x[:-1])


def branch_dependent(x):
    if x[0] > 0:
        return np.sum(x[1:] * x[:-1])
    return np.sum(x[2:] * x[:-2] * x[0])


def _dense(f, x):
    gradient = api._transform(f, 0, "hessian")
    _, call = api._forward_function(gradient, 0, "hessian", batched=True, tangent_only=True)
    tangents, offsets = api._batched_basis([x])
    derivative = api._batched_like(call((x,), {}, tangents), x.size, x)
    return api._assemble_batched(derivative, x, x, 0, offsets)


def _plan_count(hessian):
    plans = [c.cell_contents for c in hessian.__closure__ if isinstance(c.cell_contents, dict)
             and all(isinstance(k, tuple) for k in c.cell_contents)]
    (plans,) = [p for p in plans if p]
    (plan,) = plans.values()
    return None if plan is None else plan.count


@pytest.mark.parametrize("f, shape, colours", [
    (rosenbrock, (12,), 3), (chain, (9,), 3), (pentadiagonal, (11,), 3), (grid, (4, 5), None),
])
def test_sparse_hessian_equals_differences_and_the_dense_pass_at_every_point(f, shape, colours):
    hessian = sg.hessian(f)
    for _ in range(4):
        x = rng.uniform(-1.0, 1.0, shape)
        H = hessian(x)
        assert H.shape == shape + shape and H.dtype == np.float64
        np.testing.assert_allclose(H, numerical_jacobian(sg.grad(f), (x,), 0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(H, _dense(f, x), rtol=1e-12, atol=1e-12)
    count = _plan_count(hessian)
    assert count is not None and count < x.size // 2
    if colours is not None:
        assert count == colours


def test_a_zero_entry_at_the_first_point_is_still_in_the_pattern():
    """x[1] = 0 makes H[1, 2] = -400 x[1] zero at the first call: the NaN
    pass still finds the entry, so the next point's Hessian has it."""
    hessian = sg.hessian(rosenbrock)
    x = rng.uniform(-1.0, 1.0, 10)
    x[1] = 0.0
    assert hessian(x)[1, 2] == 0.0
    y = rng.uniform(-1.0, 1.0, 10)
    np.testing.assert_allclose(hessian(y), _dense(rosenbrock, y), rtol=1e-12, atol=1e-12)
    assert _plan_count(hessian) == 3


@pytest.mark.parametrize("f, first, second", [
    (relu_dependent, -np.abs(rng.normal(size=10)) - 0.1, np.abs(rng.normal(size=10)) + 0.1),
    (branch_dependent, np.abs(rng.normal(size=10)) + 0.1, -np.abs(rng.normal(size=10)) - 0.1),
])
def test_a_pattern_that_changes_with_the_point_falls_back_to_the_dense_pass(f, first, second):
    hessian = sg.hessian(f)
    np.testing.assert_allclose(hessian(first), _dense(f, first), rtol=1e-12, atol=1e-12)
    assert _plan_count(hessian) is not None  # (sparse at the first point)
    for x in (second, first, second):  # (the probe disagrees at the second: dense from then on)
        H = hessian(x)
        np.testing.assert_allclose(H, _dense(f, x), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(H, numerical_jacobian(sg.grad(f), (x,), 0),
                                   rtol=1e-5, atol=1e-6)
    assert _plan_count(hessian) is None


def test_a_diagonal_masked_at_the_first_point_stays_in_the_pattern():
    hessian = sg.hessian(masked)
    for x in (-np.abs(rng.normal(size=10)) - 0.1, np.abs(rng.normal(size=10)) + 0.1):
        np.testing.assert_allclose(hessian(x), _dense(masked, x), rtol=1e-12, atol=1e-12)
    assert _plan_count(hessian) == 3


def test_a_dense_hessian_keeps_the_dense_pass():
    hessian = sg.hessian(arrowhead)
    for _ in range(2):
        x = rng.uniform(-1.0, 1.0, 8)
        np.testing.assert_allclose(hessian(x), _dense(arrowhead, x), rtol=1e-12, atol=1e-12)
    assert _plan_count(hessian) is None


def test_float32_sparse_hessian_keeps_float32():
    hessian = sg.hessian(rosenbrock)
    for _ in range(3):
        x = rng.uniform(-1.0, 1.0, 12).astype(np.float32)
        H = hessian(x)
        assert H.dtype == np.float32
        np.testing.assert_allclose(H, _dense(rosenbrock, x.astype(np.float64)), rtol=1e-4,
                                   atol=1e-2)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1), st.floats(0.05, 0.6))
def test_colouring_separates_columns_that_share_a_row(m, k, seed, density):
    pattern = np.random.default_rng(seed).random((m, k)) < density
    colours = colouring.colour_columns(pattern)
    assert colours.shape == (k,) and (colours >= 0).all()
    for i in range(m):
        used = colours[pattern[i]]
        assert len(set(used.tolist())) == len(used)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 10), st.integers(0, 2**32 - 1), st.floats(0.1, 0.5))
def test_a_plan_recovers_any_matrix_of_its_pattern_and_refuses_others(n, seed, density):
    r = np.random.default_rng(seed)
    pattern = r.random((n, n)) < density
    H = np.where(pattern, r.normal(size=(n, n)), 0.0)
    plan = colouring.Plan(pattern, np.float64, (n,))
    compressed = plan.seeds @ H.T  # (what the batched pass gives: H along each seed)
    np.testing.assert_allclose(plan.hessian(compressed), H, rtol=1e-13, atol=1e-13)
    outside = np.argwhere(~pattern)
    if len(outside):
        i, j = outside[r.integers(len(outside))]
        wrong = H.copy()
        wrong[i, j] = 1.0
        assert plan.hessian(plan.seeds @ wrong.T) is None
        assert not plan.enabled


def test_few_directions_keep_the_dense_pass():
    hessian = sg.hessian(rosenbrock)
    x = rng.uniform(-1.0, 1.0, 3)
    for _ in range(2):
        np.testing.assert_allclose(hessian(x), _dense(rosenbrock, x), rtol=1e-12, atol=1e-12)
    assert _plan_count(hessian) is None
