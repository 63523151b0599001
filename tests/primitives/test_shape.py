"""Shape functions, subscripts, sequences, and the runtime helpers' own rules."""

import builtins
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, broadcastable_shapes

from s2sgrad import runtime
from s2sgrad.primitives import registry, shape
from tests.fd import check_vjp
from tests.primitives import Case, params, sample

A = sample((2, 3, 4), seed=1)
M = sample((3, 4), seed=2)
V = sample((5,), seed=3)

CASES = [
    Case(np.reshape, (A, (6, 4))),
    Case(np.reshape, (A, (4, -1)), {"order": "F"}, label="F"),
    Case(np.reshape, (1.5, (1, 1)), label="float"),
    Case(np.ravel, (A,)),
    Case(np.ravel, (M,), {"order": "F"}, label="F"),
    Case(np.squeeze, (sample((3, 1, 2, 1)),)),
    Case(np.squeeze, (sample((3, 1, 2, 1)),), {"axis": -1}, label="axis"),
    Case(np.expand_dims, (M, (0, -1))),
    Case(np.broadcast_to, (sample((3, 1)), (2, 3, 4))),
    Case(np.copy, (M,)),
    Case(builtins.float, (np.array(1.5),), keeps_dtype=False),
    Case(np.float64, (M,), keeps_dtype=False),
    # float32 rounding makes the cast noisy at the usual step: difference coarsely
    Case(np.float32, (M,), keeps_dtype=False, options={"eps": 1e-2, "rtol": 1e-4}),
    Case(np.transpose, (A,)),
    Case(np.transpose, (A, (1, 2, 0)), label="axes"),
    Case(np.transpose, (A, (-1, 0, -2)), label="negative-axes"),
    Case(np.swapaxes, (A, 0, -1)),
    Case(np.moveaxis, (A, 0, -1)),
    Case(np.moveaxis, (A, (0, 1), (2, 0)), label="several"),
    Case(np.flip, (A,)),
    Case(np.flip, (A, (0, 2)), label="axes"),
    Case(np.roll, (V, 2)),
    Case(np.roll, (M, (1, -2), (0, 1)), label="axes"),
    Case(np.triu, (M, 1)),
    Case(np.tril, (M, -1)),
    Case(operator.getitem, (M, 1), label="int"),
    Case(operator.getitem, (M, (slice(None), slice(1, 3))), label="slices"),
    Case(operator.getitem, (A, (Ellipsis, None, 2)), label="ellipsis-newaxis"),
    Case(operator.getitem, (V, np.array([0, 2, 2, 4, 0])), label="repeated-fancy"),
    Case(operator.getitem, (M, ([0, 2, 0], [1, 1, 1])), label="fancy-pairs"),
    Case(operator.getitem, (M, M > 0), label="mask"),
    Case(operator.getitem, (np.array(2.5), ()), label="0-d"),
    Case(np.take, (M, [0, 2, 0])),
    Case(np.take, (M, [[1, 1], [0, 3]], 1), label="axis"),
    Case(np.take, (A, 2, -1), label="scalar-index"),
    Case(np.take, (M, [0, 7, -9, 2]), {"mode": "wrap"}, label="wrap"),
    Case(np.take, (M, [[-1, 1], [0, 9]], 1), {"mode": "clip"}, label="clip"),
    Case(np.concatenate, ([M, sample((2, 4))],)),
    Case(np.concatenate, ([M, sample((3, 1)), sample((3, 2))], 1), label="axis1"),
    Case(np.concatenate, ([M, V], None), label="flat"),
    Case(np.split, (V, [1, 3])),
    Case(np.split, (M, 2, 1), label="sections"),
    Case(np.array_split, (V, 3)),
    Case(np.stack, ([M, M + 1, M * 2],)),
    Case(np.stack, ([V, V], -1), label="last"),
    Case(np.stack, ([1.5, -0.5],), label="floats"),
    Case(np.unstack, (A,)),
    Case(np.unstack, (A,), {"axis": 2}, label="axis"),
    Case(np.array, ([1.5, -0.5, 2.0],)),
    Case(np.array, ([[1.5, -0.5], [0.25, 2.0]],), label="nested"),
    Case(np.asarray, (M,), label="array"),
    Case(np.asarray, ([1.5, 2.0],), label="list"),
    Case(np.array, (V,), {"ndmin": 3}, label="ndmin"),
    # the runtime helpers generated code calls
    Case(runtime.unbroadcast, (A, sample((3, 1))), argnums=(0,), label="sum"),
    Case(runtime.unbroadcast, (sample((3, 1)), A), argnums=(0,), label="broadcast"),
    Case(runtime.unbroadcast, (sample((3, 1)), sample((1, 4))), argnums=(0,), label="mixed"),
    Case(runtime.unbroadcast, (M, M), argnums=(0,), label="same"),
    Case(runtime.repeat_to, (sample((2, 4)), A, 1), argnums=(0,), label="axis"),
    Case(runtime.repeat_to, (sample((2, 1, 4)), A, 1, True), argnums=(0,), label="keepdims"),
    Case(runtime.repeat_to, (sample(()), A), argnums=(0,), label="all"),
    Case(runtime.repeat_to, (sample((3,)), A, (0, -1)), argnums=(0,), label="tuple"),
    Case(runtime.repeat_to, (1.5, M), argnums=(0,), label="float"),
    Case(runtime.owned_copy, (A,)),
    Case(runtime.in_place, (A, sample((2, 3, 4), seed=3)), argnums=(0,)),
    Case(runtime.in_place, (A, np.zeros((2, 3, 4), np.float32)), argnums=(0,), label="cast",
         keeps_dtype=False),
    Case(runtime.unbroadcast_to, (A, (3, 1)), argnums=(0,), label="sum"),
    Case(runtime.unbroadcast_to, (sample((3, 1)), (2, 3, 4)), argnums=(0,), label="broadcast"),
    Case(runtime.cotangent_or_zero, (A,)),
    Case(runtime.as_gradient, (A, A), argnums=(0,)),
    Case(runtime.as_gradient, (sample(()), A), argnums=(0,), label="placeholder"),
    Case(runtime.zero_slot, (A, (1, slice(0, 2))), argnums=(0,)),
    Case(runtime.slot_of, (A, (1, slice(0, 2))), argnums=(0,)),
    Case(runtime.slot_of, (A, (np.array([1, 0, 1, 1]), slice(0, 2))), argnums=(0,), label="repeated"),
    Case(runtime.written_only, (sample((4, 3, 4)), A, np.array([1, 0, 1, 1])), argnums=(0,), label="repeated"),
    Case(runtime.add_cotangents, (A, sample((3, 4)))),
    Case(runtime.addend_share, (A, sample((3, 4))), argnums=(0,)),
    Case(runtime.addend_share, (A, A), argnums=(0,), label="same shape"),
    Case(shape.pieces_adjoint, ([sample((2, 3)), sample((1, 3), seed=2)], [sample((2, 3)), sample((1, 3))]),
         argnums=(0,)),
    # scatter helpers, checked in the cotangent
    Case(shape.getitem_adjoint, (sample((3,)), V, np.array([4, 0, 4])), argnums=(0,), label="fancy"),
    Case(shape.getitem_adjoint, (sample((3, 2)), M, (slice(None), slice(1, 3))), argnums=(0,), label="slice"),
    Case(shape.take_adjoint, (sample((3, 2)), M, [1, 3], 1), argnums=(0,)),
    Case(shape.take_adjoint, (sample((4,)), M, [1, 3, 3, 11]), argnums=(0,), label="flat"),
    Case(shape.take_adjoint, (sample((4,)), M, [1, 30, -13, 11], None, "wrap"), argnums=(0,), label="wrap"),
    Case(shape.concatenate_adjoint, (sample((5, 4)), [M, sample((2, 4))], 0), argnums=(0,)),
    Case(shape.concatenate_adjoint, (sample((17,)), [M, V], None), argnums=(0,), label="flat"),
    Case(shape.array_adjoint, (sample((2, 2)), [[1.0, 2.0], [3.0, 4.0]]), argnums=(0,)),
    Case(np.matrix_transpose, (A,)),
    Case(np.linalg.matrix_transpose, (M,)),
    Case(np.rollaxis, (A, 2)),
    Case(np.rollaxis, (A, 0, 3), label="to the end"),
    Case(np.rollaxis, (A, -1, 1), label="negative"),
    Case(np.rollaxis, (A, 1, -3), label="negative start"),
    Case(shape.rolled_position, (3, 0, 3), argnums=()),
    Case(np.fft.fftshift, (A,)),
    Case(np.fft.fftshift, (A, (0, -1)), label="axes"),
    Case(np.fft.ifftshift, (sample((3, 5)), 1)),
    Case(shape.inverse_permutation, ((2, 0, 1),), argnums=()),
    Case(shape.stacked_cotangent, ([sample((3, 2)), sample((3, 2), seed=2)],
                                   [sample((3, 2)), sample((3, 2))], 1), argnums=(0,)),
    Case(shape.array_of_cotangent, ([[sample(()), sample(())], [sample(()), sample(())]],
                                    [[1.0, 2.0], [3.0, 4.0]], sample((4,))), argnums=(0,)),
    Case(shape.item, (sample((1, 1)),), label="one entry"),
    Case(shape.item, (sample((3, 4)), 5), label="flat index"),
    Case(shape.item, (sample((3, 4)), (2, 1)), label="index tuple"),
    Case(shape.item, (sample(()),), label="0-d"),
    Case(shape.item_cotangent, (0.7, sample((1,)), None), argnums=(0,), label="one entry"),
    Case(shape.item_cotangent, (0.7, sample((3, 4)), 5), argnums=(0,), label="flat index"),
    Case(shape.item_cotangent, (0.7, sample((3, 4)), (2, 1)), argnums=(0,), label="index tuple"),
]

if hasattr(runtime, "zeros_like"):
    CASES.append(Case(runtime.zeros_like, (M,), argnums=()))
if hasattr(runtime, "full_like"):
    CASES.append(Case(runtime.full_like, (M, 1.0), argnums=()))
ALSO_COVERED = [getattr(runtime, name) for name in ("require_scalar", "require_float") if hasattr(runtime, name)]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    if registry.is_nondifferentiable(case.primitive):
        case.primitive(*case.args)
        return
    case.check()


def test_getitem_of_a_list_routes_to_one_entry():
    (grads, _) = shape.getitem(2.0, 1.5, [0.5, 1.5, 2.5], 1)
    assert grads == [None, 2.0, None]


def test_getitem_adjoint_keeps_float32():
    a = np.ones((3, 2), np.float32)
    grad = shape.getitem_adjoint(np.ones(2, np.float32), a, 0)
    assert grad.dtype == np.float32


@settings(max_examples=30, deadline=None)
@given(
    like=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_unbroadcast_is_adjoint_to_broadcasting(like, data, seed):
    """unbroadcast(., like) and its rule satisfy the inner-product identity."""
    g_shape = data.draw(broadcastable_shapes(like, min_dims=0, max_dims=4, max_side=3))
    check_vjp(runtime.unbroadcast, (sample(g_shape, seed=seed), sample(like, seed=seed + 1)), argnums=(0,), seed=seed)
    check_vjp(runtime.unbroadcast, (sample(like, seed=seed), sample(g_shape, seed=seed + 1)), argnums=(0,), seed=seed)


@settings(max_examples=40, deadline=None)
@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=3), data=st.data(), seed=st.integers(0, 2**16))
def test_rollaxis_and_shifts_over_drawn_axes(shape, data, seed):
    ndim = len(shape)
    axis = data.draw(st.integers(-ndim, ndim - 1))
    start = data.draw(st.integers(-ndim, ndim))
    x = np.random.default_rng(seed).standard_normal(shape)
    check_vjp(np.rollaxis, (x, axis, start), argnums=(0,), seed=seed)
    axes = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1)))
    check_vjp(np.fft.fftshift, (x, axes), argnums=(0,), seed=seed)
    check_vjp(np.fft.ifftshift, (x, axes), argnums=(0,), seed=seed)
