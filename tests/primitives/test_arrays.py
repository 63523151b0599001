"""Tiling, repeating, diagonals, sorting, selecting, padding, differences,
linspace, and the joins and splits of several arrays.

The rules are checked by the inner-product identity (``CASES``); user
functions calling them are checked against finite differences through
``sg.grad``, through the tape, in float32, and at second order.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import s2sgrad as sg
from s2sgrad.primitives import arrays, shape
from tests.fd import check_vjp, numerical_grad, numerical_jacobian
from tests.primitives import Case, check_user_function, params, sample

A = sample((2, 3, 4), seed=1)
M = sample((3, 4), seed=2)
V = sample((5,), seed=3)
SQUARE = sample((4, 4), seed=4)
#: distinct entries (sorting is differentiable away from ties)
DISTINCT = np.random.default_rng(5).permutation(12).reshape(3, 4) * 0.37 - 2.0

CASES = [
    Case(np.hstack, ([M, sample((3, 2))],)),
    Case(np.hstack, ([V, 1.5, sample((2,))],), label="vectors"),
    Case(np.vstack, ([M, sample((4,))],)),
    Case(np.vstack, ([1.5, sample((1,))],), label="scalars"),
    Case(np.dstack, ([M, sample((3, 4, 2))],)),
    Case(np.dstack, ([V, V * 2],), label="vectors"),
    Case(np.column_stack, ([M, sample((3,))],)),
    Case(np.append, (M, V)),
    Case(np.append, (M, sample((1, 4))), {"axis": 0}, label="axis"),
    Case(np.hsplit, (M, 2)),
    Case(np.hsplit, (V, [1, 3]), label="vector"),
    Case(np.vsplit, (M, [1])),
    Case(np.dsplit, (A, 2)),
    Case(np.fliplr, (M,)),
    Case(np.flipud, (A,)),
    Case(np.rot90, (M,)),
    Case(np.rot90, (A, 2, (2, 0)), label="axes"),
    Case(np.rot90, (M, -3), label="negative"),
    Case(np.atleast_1d, (1.5,), label="float"),
    Case(np.atleast_2d, (V,)),
    Case(np.atleast_3d, (M,)),
    Case(np.tile, (M, 2)),
    Case(np.tile, (V, (2, 1, 3)), label="promoted"),
    Case(np.tile, (A, (2, 1)), label="short-reps"),
    Case(np.repeat, (M, 2)),
    Case(np.repeat, (M, [1, 0, 3], 0), label="counts"),
    Case(np.repeat, (A, 3, -1), label="axis"),
    Case(np.diagonal, (M,)),
    Case(np.diagonal, (A, 1, 2, 0), label="axes"),
    Case(np.linalg.diagonal, (A,)),
    Case(np.linalg.diagonal, (A,), {"offset": -1}, label="offset"),
    Case(np.diagonal, (M, -1), label="below"),
    Case(np.diag, (V,)),
    Case(np.diag, (V, -2), label="vector-below"),
    Case(np.diag, (M, 1), label="matrix"),
    Case(np.take_along_axis, (M, np.array([[0, 0], [3, 1], [2, 2]]), 1)),
    Case(np.take_along_axis, (A, np.array([[[1, 0, 1, 1]]]), 0), label="broadcast"),
    Case(np.take_along_axis, (V, np.array([4, -1, 0]), None), label="flat"),
    Case(np.sort, (DISTINCT,)),
    Case(np.sort, (DISTINCT, 0), label="axis0"),
    Case(np.sort, (DISTINCT, None), label="flat"),
    Case(np.partition, (DISTINCT, 2)),
    Case(np.partition, (DISTINCT, (0, 2), 0), label="axis0"),
    Case(np.select, ([M > 0.5, M < -0.5], [M, sample((4,))], sample((3, 1)))),
    Case(np.choose, (np.array([[0, 1, 2, 1]]), [M, sample((4,)), sample((3, 1))])),
    Case(np.choose, (np.array([0, 4, -1]), [V[:3], sample((3,))]), {"mode": "wrap"}, label="wrap"),
    Case(np.diff, (M,)),
    Case(np.diff, (A, 2, 1), label="twice"),
    Case(np.diff, (V, 0), label="zero"),
    Case(np.pad, (M, 2)),
    Case(np.pad, (M, ((1, 2), (0, 3)), "edge"), label="edge"),
    Case(np.pad, (M, ((2, 1), (3, 2)), "reflect"), label="reflect"),
    Case(np.pad, (M, 1, "symmetric"), label="symmetric"),
    Case(np.pad, (V, 7, "wrap"), label="wrap"),
    Case(np.gradient, (V,)),
    Case(np.gradient, (V, 0.5), {"edge_order": 2}, label="spacing-edge2"),
    Case(np.gradient, (A, 2.0), {"axis": 1}, label="axis"),
    Case(np.gradient, (M, 0.7), label="all-axes"),
    Case(np.gradient, (A,), {"axis": (1, 2), "edge_order": 2}, label="axes"),
    Case(np.gradient, (sample((2, 5)), 1.5), {"axis": -1}, label="two-entries"),
    Case(arrays.gradient_adjoint, ([sample((3, 4)), sample((3, 4))], M, 0.5), argnums=(0, 2)),
    Case(arrays.gradient_adjoint, (sample((5,)), V, 2.0, None, 2), argnums=(0, 2), label="vector"),
    Case(arrays.parts_inner, ([M, V], [sample((3, 4)), sample((5,))])),
    Case(arrays.parts_inner, (M, sample((3, 4))), label="arrays"),
    Case(arrays.scaled_parts, (1.5, [M, V])),
    Case(np.meshgrid, (V, sample((3,)))),
    Case(np.meshgrid, (V, sample((3,))), {"indexing": "ij"}, label="ij"),
    Case(np.meshgrid, (V, sample((3,))), {"sparse": True}, label="sparse"),
    Case(np.linspace, (0.5, 2.0, 5)),
    Case(np.linspace, (sample((3,)), sample((2, 1)), 4, False), label="arrays"),
    Case(np.linspace, (1.5, -0.5, 1), label="one"),
    # the scatter helpers, checked in the cotangent
    Case(shape.joined_cotangent, ([sample((3,)), sample((3, 2))], [sample((3,)), M[:, :2]],
                                  sample((3, 3)), 1), argnums=(0,)),
    Case(arrays.tile_adjoint, (sample((2, 6, 8)), M, (2, 2, 2)), argnums=(0,)),
    Case(arrays.diagonal_adjoint, (sample((3,)), M), argnums=(0,)),
    Case(arrays.diagonal_adjoint, (sample((4, 2)), A, 1, 0, 1), argnums=(0,), label="axes"),
    Case(arrays.diag_adjoint, (sample((6, 6)), V, 1), argnums=(0,)),
    Case(arrays.diag_adjoint, (sample((2,)), M, 2), argnums=(0,), label="matrix"),
    Case(arrays.masked_cotangents, (M, [M > 0, M <= 0], [M, sample((4,))]), argnums=(0,)),
    Case(arrays.masked_sum, ([M, sample((4,))], [M > 0, M <= 0], M), argnums=(0,)),
    Case(arrays.pad_adjoint, (sample((5, 7)), M, ((1, 1), (2, 1)), "reflect"), argnums=(0,)),
    Case(arrays.pad_adjoint, (sample((7, 8)), M, 2), argnums=(0,), label="constant"),
    Case(arrays.diff_adjoint, (sample((3, 2)), M, 2), argnums=(0,)),
    Case(arrays.diff_adjoint, (V, V, 0), argnums=(0,), label="zero"),
]
ALSO_COVERED = [arrays.grid_adjoint, arrays.grid_spread]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("position", [0, 1])
def test_grid_adjoint_and_grid_spread_are_transposes(position, indexing):
    """<grid_adjoint(c), u> = <c, grid_spread(u)>: each is the other's rule."""
    grids = np.meshgrid(V, V[:3] * 2.0, indexing=indexing)
    x = [V, V[:3]][position]
    c = [sample(np.shape(grids[0]), seed=7), sample(np.shape(grids[1]), seed=8)]
    u = sample(np.shape(x), seed=9)
    spread = arrays.grid_spread(u, grids, position, indexing)
    assert spread[1 - position] is None
    np.testing.assert_allclose(np.sum(arrays.grid_adjoint(c, grids, x, position, indexing) * u),
                               np.sum(c[position] * spread[position]), rtol=1e-12)
    (back, *_) = arrays.grid_spread_vjp(c, spread, u, grids, position, indexing)
    np.testing.assert_allclose(back, arrays.grid_adjoint(c, grids, x, position, indexing), rtol=1e-12)


# -- user functions, through every way in -------------------------------------

W = np.linspace(-1.0, 1.0, 12).reshape(3, 4)


def hstack_matrices(x):
    return np.sum(np.hstack([x, x * 2.0]) ** 3)


def hstack_vectors(x):
    return np.sum(np.hstack([x[0], x[1, 1:], x[2, 0] * 3.0]) ** 3)


def vstack_rows(x):
    return np.sum(np.vstack([x[0], x]) ** 3)


def dstack_matrices(x):
    return np.sum(np.dstack([x, x ** 2]) ** 3)


def column_stack_columns(x):
    return np.sum(np.column_stack([x, x[:, 0]]) ** 3)


def append_flat(x):
    return np.sum(np.append(x, x[0] * 2.0) ** 3)


def append_rows(x):
    return np.sum(np.append(x, x[:1] * 2.0, axis=0) ** 3)


def split_variants(x):
    left, right = np.hsplit(x, 2)
    top, bottom = np.vsplit(x, [1])
    return np.sum(right ** 3) + np.sum(left * right) + np.sum(bottom ** 3) - np.sum(top)


def flips_and_rotations(x):
    return np.sum(np.fliplr(x) ** 3) + np.sum(np.flipud(x) * x) + np.sum(np.rot90(x, 3) ** 3)


def atleast_forms(x):
    return np.sum(np.atleast_2d(x[0]) ** 3) + np.sum(np.atleast_3d(x) ** 3) + np.sum(np.atleast_1d(x[0, 0]) ** 2)


def tile_and_repeat(x):
    return np.sum(np.tile(x, (2, 1, 2)) ** 3) + np.sum(np.repeat(x, 2, axis=1) ** 3) + np.sum(np.repeat(x, 2) * x[0, 0])


def repeat_method(x):
    return np.sum(x.repeat([1, 0, 3], axis=0) ** 3)


def diagonals(x):
    return np.sum(np.diag(x, 1) ** 3) + np.sum(np.diag(np.diag(x)) ** 2) + np.sum(x.diagonal(-1) ** 3)


def take_along(x):
    return np.sum(np.take_along_axis(x, np.array([[0, 0], [1, 3], [2, 2]]), 1) ** 3)


def sorted_weighted(x):
    return np.sum(np.sort(x, axis=0) ** 3) + np.sum(np.sort(x, axis=None) * x[0, 0])


def partitioned(x):
    return np.sum(np.partition(x, 1) ** 3)


def selected(x):
    return np.sum(np.select([x > 0.5, x < -0.5], [x ** 2, np.sin(x)], x * 3.0))


def chosen(x):
    return np.sum(np.choose(np.array([[0, 1, 2, 0]]), [x, x ** 2, 3.0 * x]) ** 2)


def differences(x):
    return np.sum(np.diff(x, 2, axis=1) ** 3) + np.sum(np.diff(x) ** 2)


def padded(x):
    return (np.sum(np.pad(x, ((1, 2), (0, 3)), "reflect") ** 3) + np.sum(np.pad(x, 2) ** 3)
            + np.sum(np.pad(x, 3, mode="wrap") ** 3) + np.sum(np.pad(x, 1, "edge") ** 3))


def finite_differences(x):
    return (np.sum(np.gradient(x[0]) ** 3) + np.sum(np.gradient(x, 0.5, axis=1, edge_order=2) ** 3)
            + np.sum(np.gradient(x)[0] * np.gradient(x)[1]))


def spacing_of_differences(h):
    return np.sum(np.gradient(np.sin(h[1] * 3.0), h[0, 0] + 1.0) ** 3)


def gridded(x):
    u, v = np.meshgrid(x[0], x[1, :3] * 2.0)
    p, q = np.meshgrid(x[2], x[0], indexing="ij")
    return np.sum(np.sin(u) * v ** 2) + np.sum(p * q ** 3)


def linspaced(x):
    return np.sum(np.linspace(x[0], x[1], 7) ** 3) + np.sum(np.linspace(x[0, 0], 3.0, 5) ** 3)


def transposes_rolls_and_shifts(x):
    t = x[None] * np.ones((2, 1, 1))
    return (np.sum(np.matrix_transpose(t) ** 3) + np.sum(np.rollaxis(t, 2) ** 2 * np.arange(4.0)[:, None, None])
            + np.sum(np.linalg.diagonal(t, offset=1) ** 3) + np.sum(np.fft.fftshift(x) * DISTINCT)
            + np.sum(np.fft.ifftshift(x, axes=1) ** 3))


def stack_of_entries(x):
    return np.sum(np.stack([x, x ** 2]) ** 3)


def array_display_with_constants(x):
    # (its second derivative meets the constant entries' missing cotangents)
    rows = np.array([[x[0, 0] ** 2, 3.0], [x[1, 1] * x[0, 1], 1.0 - x[2, 0]]])
    return np.sum(np.array([x[0, 0] * x[1, 0], 2.0, np.sin(x[2, 3])]) ** 2) + np.sum((rows @ rows) ** 2)


USER_FUNCTIONS = [
    hstack_matrices, hstack_vectors, vstack_rows, dstack_matrices, column_stack_columns,
    append_flat, append_rows, split_variants, flips_and_rotations, atleast_forms, tile_and_repeat,
    repeat_method, diagonals, take_along, sorted_weighted, partitioned, selected, chosen,
    differences, finite_differences, spacing_of_differences, padded, gridded, linspaced,
    stack_of_entries, transposes_rolls_and_shifts,
]


@pytest.mark.parametrize("f", USER_FUNCTIONS, ids=lambda f: f.__name__)
def test_user_function(f):
    check_user_function(f, DISTINCT / 2.0)


def test_array_display_with_constant_entries_at_second_order():
    # (the tape takes np.array's entries out of the recording, as TensorFlow
    # does, and warns: checked through the source path only)
    x = DISTINCT / 2.0
    expected = numerical_grad(array_display_with_constants, (x,))
    np.testing.assert_allclose(sg.grad(array_display_with_constants)(x), expected, rtol=1e-5, atol=1e-7)
    hessian = numerical_jacobian(sg.grad(array_display_with_constants), (x,))
    np.testing.assert_allclose(sg.hessian(array_display_with_constants)(x), hessian, rtol=1e-5, atol=1e-6)
    direction = np.random.default_rng(0).standard_normal(np.shape(x))
    np.testing.assert_allclose(sg.hvp(array_display_with_constants)(x, direction),
                               np.tensordot(hessian, direction, axes=2), rtol=1e-5, atol=1e-6)


# -- refusals -----------------------------------------------------------------


def sort_in_place(x):
    y = x * 2.0
    y.sort()
    return np.sum(y * W)


def pad_with_constant_values(x):
    return np.sum(np.pad(x, 1, constant_values=2.0) ** 2)


def diff_with_prepend(x):
    return np.sum(np.diff(x, prepend=0.0) ** 2)


def linspace_with_step(x):
    return np.sum(np.linspace(x[0, 0], 2.0, 5, retstep=True)[0] ** 2)


def gradient_with_two_spacings(x):
    return np.sum(np.gradient(x, 0.5, 2.0)[0] ** 2)


def gradient_along_coordinates(x):
    return np.sum(np.gradient(x[0], np.array([0.0, 0.5, 1.5, 1.75])) ** 2)


def grid_of_one(x):
    return np.sum(np.meshgrid(x[0])[0] ** 2)


def atleast_of_two(x):
    return np.sum(np.atleast_2d(x[0], x[1])[0] ** 2)


@pytest.mark.parametrize("f, construct", [
    (sort_in_place, ".sort()"),
    (pad_with_constant_values, "constant_values"),
    (diff_with_prepend, "prepend"),
    (linspace_with_step, "retstep"),
    (atleast_of_two, "too many positional arguments"),
    (gradient_with_two_spacings, "too many positional arguments"),
    (grid_of_one, "meshgrid with these arguments"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_what_the_rules_do_not_cover_is_refused(f, construct):
    with pytest.raises(sg.UnsupportedSyntaxError, match=construct) as info:
        sg.grad(f)(M)
    assert "test_arrays.py:" in str(info.value)


def pad_by_mean(x):
    return np.sum(np.pad(x, 1, mode="mean") ** 2)


def test_a_pad_mode_that_is_no_copy_has_no_gradient():
    with pytest.raises(NotImplementedError, match="mode='mean'"):
        sg.grad(pad_by_mean)(M)


def test_gradient_along_coordinate_arrays_is_not_differentiated():
    with pytest.raises(NotImplementedError, match="coordinate arrays"):
        sg.grad(gradient_along_coordinates)(M)


# -- over drawn shapes and axes -------------------------------------------------


@st.composite
def array_and_axis(draw, min_dims=1):
    shape = draw(array_shapes(min_dims=min_dims, max_dims=3, min_side=1, max_side=4))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return shape, axis


@settings(max_examples=30, deadline=None)
@given(call=array_and_axis(), seed=st.integers(0, 2**16), data=st.data())
def test_gathers_over_drawn_axes(call, seed, data):
    shape, axis = call
    a = np.random.default_rng(seed).permutation(int(np.prod(shape))).reshape(shape) * 0.1 + 0.05
    check_vjp(np.sort, (a, axis), argnums=(0,), seed=seed)
    check_vjp(np.repeat, (a, data.draw(st.integers(0, 3)), axis), argnums=(0,), seed=seed)
    check_vjp(np.diff, (a, data.draw(st.integers(0, 2)), axis), argnums=(0,), seed=seed)
    kth = data.draw(st.integers(0, shape[axis] - 1))
    check_vjp(np.partition, (a, kth, axis), argnums=(0,), seed=seed)
    picks = np.random.default_rng(seed).integers(0, shape[axis], size=shape[:axis % len(shape)] + (3,)
                                                 + shape[axis % len(shape) + 1:])
    check_vjp(np.take_along_axis, (a, picks, axis), argnums=(0,), seed=seed)
    edge_order = data.draw(st.sampled_from([1, 2]))
    if shape[axis] > edge_order:
        check_vjp(np.gradient, (a, data.draw(st.floats(0.5, 2.0))), {"axis": axis, "edge_order": edge_order},
                  argnums=(0, 1), seed=seed)
    mode = data.draw(st.sampled_from(arrays.COPYING_PAD_MODES))
    widths = data.draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)),
                                min_size=len(shape), max_size=len(shape)))
    check_vjp(np.pad, (a, widths, mode), argnums=(0,), seed=seed)


@settings(max_examples=30, deadline=None)
@given(shape=array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3),
       reps=st.lists(st.integers(1, 3), min_size=0, max_size=4), seed=st.integers(0, 2**16))
def test_tile_over_drawn_shapes(shape, reps, seed):
    check_vjp(np.tile, (sample(shape, seed=seed), tuple(reps)), argnums=(0,), seed=seed)


@settings(max_examples=30, deadline=None)
@given(extents=st.lists(st.integers(0, 3), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_joins_over_drawn_shapes(extents, seed):
    """Each join gives its arrays axes of length 1 its own way; an extent 0
    stands for an array with fewer axes (promoted), others for that many
    entries along the join's axis."""
    shapes = {
        np.vstack: [(k, 3) if k else (3,) for k in extents],
        np.hstack: [(2, k) if k else (2, 1) for k in extents],
        np.dstack: [(2, 3, k) if k else (2, 3) for k in extents],
        np.column_stack: [(2, k) if k else (2,) for k in extents],
    }
    for join, drawn in shapes.items():
        parts = [sample(s, seed=seed + i) for i, s in enumerate(drawn)]
        check_vjp(join, (parts,), argnums=(0,), seed=seed)
    vectors = [sample((k,) if k else (), seed=seed + i) for i, k in enumerate(extents)]
    check_vjp(np.hstack, (vectors,), argnums=(0,), seed=seed)


def weighted_sort(x):
    return np.sum(np.sort(x, axis=-1) * np.arange(1.0, 5.0))


def weighted_partition(x):
    return np.sum(np.partition(x, 1, axis=-1)[..., :2] * np.array([1.0, 10.0]))


def median_of_rows(x):
    return np.sum(np.median(x, axis=-1) * np.array([1.0, 10.0]))


def test_ties_of_sort_partition_and_median_go_to_the_stable_sorts_entry():
    # autograd's and JAX's convention: the cotangent of a sorted position goes
    # to the entry the stable sort put there (not shared among equal entries)
    x = np.array([[2.0, 1.0, 2.0, 2.0], [3.0, 3.0, 0.5, 3.0]])
    order = np.argsort(x, axis=-1, kind="stable")
    rows = np.arange(2)[:, None]
    expected = np.zeros_like(x)
    expected[rows, order] = np.arange(1.0, 5.0)
    np.testing.assert_array_equal(sg.grad(weighted_sort)(x), expected)
    expected = np.zeros_like(x)
    expected[rows, order[:, :2]] = [1.0, 10.0]
    np.testing.assert_array_equal(sg.grad(weighted_partition)(x), expected)
    expected = np.zeros_like(x)
    expected[rows, order[:, 1:3]] = np.array([[0.5], [5.0]])
    np.testing.assert_array_equal(sg.grad(median_of_rows)(x), expected)
    direction = np.random.default_rng(0).standard_normal(x.shape)
    for f in (weighted_sort, weighted_partition, median_of_rows):
        np.testing.assert_allclose(sg.jvp(f)(x, direction)[1], np.sum(sg.grad(f)(x) * direction))


def descending_sort(x):
    return np.sum(np.sort(x, axis=0, descending=True) ** 2 * np.arange(1.0, 4.0)[:, None])


@pytest.mark.skipif(not arrays.SORT_DESCENDS, reason="NumPy before 2.5 sorts in ascending order only")
def test_descending_sort():
    check_user_function(descending_sort, DISTINCT[:3] / 2.0)
    x = np.array([[2.0, 1.0], [1.0, 1.0], [2.0, 3.0]])  # (ties: the stable sort's entry)
    order = np.argsort(x, axis=0, stable=True, descending=True)
    expected = np.zeros_like(x)
    np.put_along_axis(expected, order, 2.0 * np.take_along_axis(x, order, 0) * np.arange(1.0, 4.0)[:, None], 0)
    np.testing.assert_array_equal(sg.grad(descending_sort)(x), expected)
