"""Batched forward rules of products, copies, norms and cumulative products.

Each is checked against its unbatched forward rule direction by direction
(``check_batched_against_stacked``, which the per-direction fallback would
pass too) over random shapes, and the batched code is checked to call the
rule itself, not the per-direction fallback. Hessians through them are
checked against finite differences of the gradient.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import s2sgrad as sg
from s2sgrad import pipeline
from s2sgrad.primitives import arrays, linalg, shape
from tests.fd import numerical_jacobian
from tests.primitives.test_forward_rules import _calling, check_batched_against_stacked

_K = st.sampled_from([1, 2, 5])
_SEED = st.integers(0, 10_000)
_DIM = st.integers(1, 3)


def _batched_source(primitive, args, kwargs, i):
    f = _calling(primitive, len(args), kwargs)
    return pipeline.gradient_code(f, i, mode="forward", batched=True).source


def _u(*shape):
    return np.random.default_rng(sum(shape)).uniform(0.5, 1.5, size=shape)


@pytest.mark.parametrize("primitive, args, kwargs, argnums", [
    (np.dot, (_u(2, 3), _u(3, 4)), {}, (0, 1)),
    (np.inner, (_u(2, 3), _u(4, 3)), {}, (0, 1)),
    (np.tensordot, (_u(2, 3, 4), _u(3, 4, 2)), {"axes": 2}, (0, 1)),
    (np.outer, (_u(3), _u(2, 2)), {}, (0, 1)),
    (np.vdot, (_u(2, 3), _u(6)), {}, (0, 1)),
    (np.tile, (_u(2, 3), (2, 1)), {}, (0,)),
    (np.repeat, (_u(2, 3), 2), {"axis": 1}, (0,)),
    (np.roll, (_u(2, 3), 1), {}, (0,)),
    (np.linalg.norm, (_u(2, 3),), {"axis": 1}, (0,)),
    (np.cumprod, (_u(2, 3),), {"axis": 1}, (0,)),
    (linalg.dot_adjoint_a, (_u(2, 4), _u(2, 3), _u(3, 4)), {}, (0, 2)),
    (linalg.dot_adjoint_b, (_u(2, 4), _u(2, 3), _u(3, 4)), {}, (0, 1)),
    (linalg.inner_adjoint_a, (_u(2, 4), _u(2, 3), _u(4, 3)), {}, (0, 2)),
    (linalg.inner_adjoint_b, (_u(2, 4), _u(2, 3), _u(4, 3)), {}, (0, 1)),
    (linalg.tensordot_adjoint_a, (_u(2, 2), _u(2, 3), _u(3, 2)), {"axes": 1}, (0, 2)),
    (linalg.tensordot_adjoint_b, (_u(2, 2), _u(2, 3), _u(3, 2)), {"axes": 1}, (0, 1)),
    (arrays.tile_adjoint, (_u(4, 3), _u(2, 3), (2, 1)), {}, (0,)),
    (shape.take_adjoint, (_u(2, 6), _u(2, 3), np.array([0, 0, 1, 1, 2, 2]), 1), {}, (0,)),
], ids=lambda p: getattr(p, "__name__", None))
def test_batched_code_calls_the_batched_rule(primitive, args, kwargs, argnums):
    for i in argnums:
        assert "each_direction" not in _batched_source(primitive, args, kwargs, i)
    check_batched_against_stacked(primitive, args, kwargs, argnums, 3)


def _shape(draw, ndim, n=st.integers(1, 3)):
    return tuple(draw(n) for _ in range(ndim))


@settings(max_examples=30, deadline=None)
@given(data=st.data(), k=_K, seed=_SEED)
def test_batched_dot_inner_and_their_adjoints_over_ranks(data, k, seed):
    rng = np.random.default_rng(seed)
    ra, rb = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
    n = data.draw(st.integers(1, 3))
    # dot: a's last axis meets b's second-to-last (its only one for a vector)
    sa = _shape(data.draw, max(ra - 1, 0)) + ((n,) if ra else ())
    sb = (_shape(data.draw, rb - 2) + (n,) + _shape(data.draw, 1) if rb >= 2
          else (n,) if rb == 1 else ())
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    check_batched_against_stacked(np.dot, (a, b), {}, (0, 1), k, seed)
    c = rng.normal(size=np.shape(np.dot(a, b)))
    check_batched_against_stacked(linalg.dot_adjoint_a, (c, a, b), {}, (0, 2), k, seed)
    check_batched_against_stacked(linalg.dot_adjoint_b, (c, a, b), {}, (0, 1), k, seed)
    # inner: the last axes meet
    sb = _shape(data.draw, max(rb - 1, 0)) + ((n,) if rb else ())
    sa = sa if rb else _shape(data.draw, ra)
    if ra and rb:
        sa = sa[:-1] + (n,)
    a, b = rng.normal(size=sa), rng.normal(size=sb)
    check_batched_against_stacked(np.inner, (a, b), {}, (0, 1), k, seed)
    c = rng.normal(size=np.shape(np.inner(a, b)))
    check_batched_against_stacked(linalg.inner_adjoint_a, (c, a, b), {}, (0, 2), k, seed)
    check_batched_against_stacked(linalg.inner_adjoint_b, (c, a, b), {}, (0, 1), k, seed)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), k=_K, seed=_SEED)
def test_batched_tensordot_and_its_adjoints_over_axes(data, k, seed):
    rng = np.random.default_rng(seed)
    contracted = _shape(data.draw, data.draw(st.integers(0, 2)))
    free_a, free_b = _shape(data.draw, data.draw(st.integers(0, 2))), _shape(data.draw, data.draw(st.integers(0, 2)))
    pa = data.draw(st.permutations(range(len(free_a) + len(contracted))))
    pb = data.draw(st.permutations(range(len(free_b) + len(contracted))))
    a = np.transpose(rng.normal(size=free_a + contracted), pa)
    b = np.transpose(rng.normal(size=contracted + free_b), pb)
    where_a = [list(pa).index(len(free_a) + i) for i in range(len(contracted))]
    where_b = [list(pb).index(i) for i in range(len(contracted))]
    negative = data.draw(st.booleans())
    axes = ([w - a.ndim if negative else w for w in where_a], where_b)
    check_batched_against_stacked(np.tensordot, (a, b), {"axes": axes}, (0, 1), k, seed)
    c = rng.normal(size=np.shape(np.tensordot(a, b, axes)))
    for helper, argnums in ((linalg.tensordot_adjoint_a, (0, 2)), (linalg.tensordot_adjoint_b, (0, 1))):
        check_batched_against_stacked(helper, (c, a, b), {"axes": axes}, argnums, k, seed)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), k=_K, seed=_SEED)
def test_batched_outer_vdot_tile_repeat_roll_cumprod_norm_over_shapes(data, k, seed):
    rng = np.random.default_rng(seed)
    s = _shape(data.draw, data.draw(_DIM))
    x, y = rng.uniform(0.5, 1.5, size=s), rng.normal(size=_shape(data.draw, data.draw(_DIM)))
    check_batched_against_stacked(np.outer, (x, y), {}, (0, 1), k, seed)
    check_batched_against_stacked(np.vdot, (x, rng.normal(size=x.size)), {}, (0, 1), k, seed)
    reps = tuple(data.draw(st.integers(1, 2)) for _ in range(data.draw(st.integers(1, 3))))
    check_batched_against_stacked(np.tile, (x, reps), {}, (0,), k, seed)
    c = rng.normal(size=np.shape(np.tile(x, reps)))
    check_batched_against_stacked(arrays.tile_adjoint, (c, x, reps), {}, (0,), k, seed)
    axis = data.draw(st.sampled_from([None] + list(range(-len(s), len(s)))))
    check_batched_against_stacked(np.repeat, (x, data.draw(st.integers(0, 2)), axis), {}, (0,), k, seed)
    check_batched_against_stacked(np.roll, (x, data.draw(st.integers(-3, 3))), {"axis": axis}, (0,), k, seed)
    check_batched_against_stacked(np.cumprod, (x,), {"axis": axis}, (0,), k, seed)
    keepdims = data.draw(st.booleans())
    check_batched_against_stacked(np.linalg.norm, (x,), {"axis": axis, "keepdims": keepdims}, (0,), k, seed)


def products(x, A):
    y = np.tile(np.dot(A, x), 2) + np.repeat(np.roll(x, 1), 2)
    return np.inner(y, y) * np.linalg.norm(x) + np.sum(np.tensordot(A, np.outer(x, x), 2) * x)


def test_hessian_through_the_batched_rules_equals_differences_and_is_one_pass():
    rng = np.random.default_rng(5)
    x, A = rng.uniform(0.5, 1.5, size=3), rng.normal(size=(3, 3))
    gradient = sg.grad(products)
    source = pipeline.gradient_code(gradient, 0, mode="forward", batched=True, tangent_only=True).source
    assert "each_direction" not in source
    H = sg.hessian(products)(x, A)
    np.testing.assert_allclose(H, numerical_jacobian(gradient, (x, A), 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(H, H.T, rtol=1e-10, atol=1e-10)
