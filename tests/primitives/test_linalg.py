"""Products and matrix functions, for 0-d, 1-d, 2-d and batched operands."""

import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s2sgrad.primitives import linalg, registry
from tests.fd import check_vjp
from tests.primitives import Case, params, sample

MATMUL_SHAPES = [
    ((4,), (4,)),
    ((4,), (4, 3)),
    ((2, 4), (4,)),
    ((2, 4), (4, 3)),
    ((5, 2, 4), (4, 3)),
    ((2, 4), (5, 4, 3)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((4,), (5, 4, 3)),
    ((5, 2, 4), (4,)),
]

DOT_SHAPES = [
    ((), (3,)),
    ((2, 3), ()),
    ((4,), (4,)),
    ((2, 4), (4,)),
    ((4,), (4, 3)),
    ((2, 4), (4, 3)),
    ((2, 3, 4), (5, 4, 2)),
    ((2, 3, 4), (4,)),
]

INNER_SHAPES = [((), (3,)), ((2, 3), ()), ((4,), (4,)), ((2, 4), (3, 4)), ((2, 3, 4), (5, 4))]

TENSORDOT_AXES = [
    ((2, 3, 4), (3, 4, 5), 2),
    ((2, 3, 4), (4, 5), 1),
    ((2, 3), (4, 5), 0),
    ((2, 3, 4), (4, 2, 5), ([0, 2], [1, 0])),
    ((3, 4), (4, 3), ([1, 0], [0, 1])),
    ((2, 3, 4), (5, 3), (-2, -1)),
]


def _operands(shape_a, shape_b, seed=0):
    return sample(shape_a, seed=seed), sample(shape_b, seed=seed + 1)


CASES = [
    Case(f, _operands(sa, sb, i), label=f"{sa}@{sb}")
    for f in (np.matmul, operator.matmul)
    for i, (sa, sb) in enumerate(MATMUL_SHAPES)
]
CASES += [Case(np.dot, _operands(sa, sb, i), label=f"{sa}.{sb}") for i, (sa, sb) in enumerate(DOT_SHAPES)]
CASES += [Case(np.inner, _operands(sa, sb, i), label=f"{sa}.{sb}") for i, (sa, sb) in enumerate(INNER_SHAPES)]
CASES += [
    Case(np.tensordot, _operands(sa, sb, i), {"axes": axes}, label=f"{sa}.{sb}-{axes}")
    for i, (sa, sb, axes) in enumerate(TENSORDOT_AXES)
]
CASES += [
    Case(np.outer, _operands((3,), (4,))),
    Case(np.outer, _operands((2, 2), ()), label="flattened"),
    Case(np.vdot, _operands((3, 2), (6,))),
    Case(np.linalg.inv, (sample((3, 3), seed=3) + 3 * np.eye(3),)),
    Case(np.linalg.inv, (sample((2, 3, 3), seed=4) + 3 * np.eye(3),), label="batched"),
    Case(np.linalg.det, (sample((3, 3), seed=5) + 2 * np.eye(3),)),
    Case(np.linalg.det, (sample((2, 2, 2), seed=6) + 2 * np.eye(2),), label="batched"),
    Case(np.linalg.norm, (sample((3, 4)),)),
    Case(np.linalg.norm, (sample((5,)), 2), label="ord2"),
    Case(np.linalg.norm, (sample((3, 4)), "fro"), label="fro"),
    Case(np.linalg.norm, (sample((2, 3, 4)),), {"axis": -1, "keepdims": True}, label="axis"),
    Case(np.linalg.norm, (sample((2, 3, 4)),), {"axis": (0, 2)}, label="axes"),
    Case(linalg.euclidean_only, (sample((3,)), None), argnums=()),
    Case(np.linalg.norm, (sample((5,)), 1), label="ord1"),
    Case(np.linalg.norm, (sample((5,)), np.inf), argnums=(0,), label="ordinf"),
    Case(np.linalg.norm, (sample((3, 4)), -np.inf), {"axis": 1}, argnums=(0,), label="axis-inf"),
    Case(np.linalg.norm, (sample((3, 4)), "nuc"), label="nuc"),
    Case(np.linalg.norm, (sample((3, 4)), 2), label="spectral"),
    Case(np.linalg.norm, (sample((3, 4)), -1), label="matrix-1"),
    Case(linalg.norm_direction, (sample((3,)), 1), argnums=()),
    Case(np.linalg.vector_norm, (sample((2, 3, 4)),)),
    Case(np.linalg.vector_norm, (sample((2, 3, 4)),), {"axis": (0, -1), "keepdims": True, "ord": 3},
         label="axes-3"),
    Case(np.linalg.vector_norm, (sample((3, 4)),), {"axis": 1, "ord": 1}, label="ord1"),
    Case(np.linalg.vector_norm, (sample((3, 4)),), {"ord": -np.inf}, label="min"),
    Case(np.linalg.vector_norm, (sample((3, 4)),), {"axis": 0, "ord": np.inf}, label="max"),
    Case(np.linalg.vector_norm, (sample((3, 4)),), {"axis": -1, "ord": -1.5}, label="negative"),
    Case(np.linalg.vector_norm, (sample((5,)),), {"ord": 0}, argnums=(0,), label="count"),
    # (its VJP in x and in the spread norm, held apart)
    Case(linalg.p_norm_direction, (sample((3, 4)), sample((3, 4), 1.0, 2.0, seed=1), 2), label="2"),
    Case(linalg.p_norm_direction, (sample((3, 4)), sample((3, 4), 1.0, 2.0, seed=1), 3.5), argnums=(0, 1),
         label="3.5"),
    Case(linalg.p_norm_direction, (sample((3, 4)), sample((3, 4), 1.0, 2.0, seed=1), -1), label="-1"),
    Case(linalg.p_norm_direction, (sample((3, 4)), sample((3, 4), 1.0, 2.0, seed=1), 1), label="1"),
    Case(linalg.p_norm_direction, (sample((3, 4)), sample((3, 4), 1.0, 2.0, seed=1), np.inf, 0),
         argnums=(0, 1), label="inf"),
    Case(np.linalg.tensorinv, (np.eye(6).reshape(6, 2, 3) + 0.1 * sample((6, 2, 3)),), {"ind": 1}),
    Case(np.linalg.tensorinv, (np.eye(6).reshape(2, 3, 6) + 0.1 * sample((2, 3, 6)),), label="ind2"),
    Case(np.linalg.tensorsolve, (np.eye(6).reshape(2, 3, 6) + 0.1 * sample((2, 3, 6)), sample((2, 3)))),
    Case(np.linalg.tensorsolve, (np.eye(6).reshape(6, 2, 3) + 0.1 * sample((6, 2, 3)), sample((2, 3))),
         {"axes": (0,)}, label="axes"),
    Case(np.linalg.tensorsolve, (np.eye(6).reshape(2, 3, 2, 3) + 0.1 * sample((2, 3, 2, 3)), sample((2, 3))),
         {"axes": (2, 1)}, label="axes2"),
    Case(linalg.as_matrix, (sample((2, 3, 4)), 1)),
    Case(linalg.tensorsolve_order, (3, (0,)), argnums=()),
    Case(linalg.cond_order, (None,), argnums=()),
    Case(linalg.p_norm_slope, (2,), argnums=()),
    Case(linalg.p_norm_curvature, (2,), argnums=()),
    Case(linalg.spectral_direction, (sample((3, 3)), 1), argnums=(0,), label="not spectral"),
    Case(np.trace, (sample((3, 4)),)),
    Case(np.trace, (sample((3, 4)), 1), label="offset"),
    Case(np.trace, (sample((2, 3, 4)),), {"axis1": 2, "axis2": 0, "offset": -1}, label="axes"),
]

# ("fro" first: the dtype tests take a primitive's first case to second order)
for _p in ("fro", None, "nuc", 1, -1, 2, -2, np.inf, -np.inf):
    CASES.append(Case(np.linalg.cond, (sample((3, 3)) + 2 * np.eye(3),), {"p": _p}, label=str(_p)))
CASES.append(Case(np.linalg.cond, (sample((2, 3, 3)) + 2 * np.eye(3),), {"p": "fro"}, label="batched"))

# The adjoint helpers, checked in their first argument (the cotangent) and in
# the operand they are bilinear in; the other operand only gives a shape.
HELPERS = [
    (linalg.matmul_adjoint_a, np.matmul, MATMUL_SHAPES, 2, {}),
    (linalg.matmul_adjoint_b, np.matmul, MATMUL_SHAPES, 1, {}),
    (linalg.dot_adjoint_a, np.dot, DOT_SHAPES, 2, {}),
    (linalg.dot_adjoint_b, np.dot, DOT_SHAPES, 1, {}),
    (linalg.inner_adjoint_a, np.inner, INNER_SHAPES, 2, {}),
    (linalg.inner_adjoint_b, np.inner, INNER_SHAPES, 1, {}),
]
for helper, product, shapes, other, kwargs in HELPERS:
    for i, (sa, sb) in enumerate(shapes):
        a, b = _operands(sa, sb, i)
        cotangent = sample(np.shape(product(a, b)), seed=i + 7)
        CASES.append(Case(helper, (cotangent, a, b), kwargs, argnums=(0, other), label=f"{sa}.{sb}"))
for i, (sa, sb, axes) in enumerate(TENSORDOT_AXES):
    a, b = _operands(sa, sb, i)
    cotangent = sample(np.shape(np.tensordot(a, b, axes)), seed=i + 7)
    CASES.append(Case(linalg.tensordot_adjoint_a, (cotangent, a, b, axes), argnums=(0, 2), label=str(axes)))
    CASES.append(Case(linalg.tensordot_adjoint_b, (cotangent, a, b, axes), argnums=(0, 1), label=str(axes)))
CASES.append(Case(linalg.trace_adjoint, (sample((2,)), sample((3, 4, 2)), 1, 0, 1), argnums=(0,)))


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    if registry.is_nondifferentiable(case.primitive):
        case.primitive(*case.args)
        return
    case.check()


@pytest.mark.parametrize("ord_, shape", [("fro", (3,)), (3, (3, 4)), ("max", (3, 4))])
def test_norm_refuses_orders_without_a_rule(ord_, shape):
    from s2sgrad.errors import UnsupportedSyntaxError
    x = sample(shape)
    with pytest.raises(UnsupportedSyntaxError, match="norm of a .* of order"):
        linalg.norm(1.0, 1.0, x, ord_)


@settings(max_examples=25, deadline=None)
@given(
    batch_a=st.lists(st.integers(1, 3), max_size=2),
    batch_b=st.lists(st.integers(1, 3), max_size=2),
    m=st.integers(1, 3), k=st.integers(1, 3), n=st.integers(1, 3),
    vector_a=st.booleans(), vector_b=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_matmul_with_broadcast_batches(batch_a, batch_b, m, k, n, vector_a, vector_b, seed):
    shape_a = (k,) if vector_a else (*batch_a, m, k)
    shape_b = (k,) if vector_b else (*batch_b, k, n)
    try:
        np.broadcast_shapes(tuple(batch_a), tuple(batch_b))
    except ValueError:
        return
    a, b = _operands(shape_a, shape_b, seed)
    check_vjp(np.matmul, (a, b), argnums=(0, 1), seed=seed)


ORDERS = [2, 1, 3, 0.5, -1.5, np.inf, -np.inf]


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    ord_=st.sampled_from(ORDERS + [0]),
    keepdims=st.booleans(),
    data=st.data(),
    seed=st.integers(0, 2**16),
)
def test_vector_norm_over_drawn_shapes_axes_and_orders(shape, ord_, keepdims, data, seed):
    ndim = len(shape)
    axis = data.draw(st.one_of(
        st.none(), st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)))
    # (entries kept away from zero and from each other: no kinks, no ties)
    x = np.random.default_rng(seed).permutation(np.prod(shape)).reshape(shape) * 0.25 + 0.5
    x = x * np.where(np.random.default_rng(seed + 1).random(shape) < 0.5, -1.0, 1.0)
    check_vjp(np.linalg.vector_norm, (x,), {"axis": axis, "keepdims": keepdims, "ord": ord_}, argnums=(0,),
              seed=seed)


def norms_of_rows(x):
    return sum(np.sum(np.linalg.vector_norm(x, ord=o, axis=-1) ** 2) for o in ORDERS) \
        + np.linalg.vector_norm(x, ord=3) * np.linalg.vector_norm(x[0])


def test_vector_norm_in_a_user_function_at_first_and_second_order():
    from tests.primitives import check_user_function
    check_user_function(norms_of_rows, sample((3, 4)) + 0.1)


def tensor_inverses_and_solves(x):
    inverse = np.linalg.tensorinv(np.eye(6).reshape(2, 3, 6) + 0.1 * x)
    solved = np.linalg.tensorsolve(np.eye(6).reshape(6, 2, 3) + 0.1 * x.reshape(6, 2, 3), x[1, :2, :3], axes=(0,))
    return np.sum(np.sin(inverse)) + np.sum(solved ** 3) + np.linalg.cond(x[0, :, :3] + 3.0 * np.eye(3), "fro")


def test_tensorinv_tensorsolve_and_cond_in_a_user_function_at_first_and_second_order():
    from tests.primitives import check_user_function
    check_user_function(tensor_inverses_and_solves, sample((2, 3, 6)))


def condition_number(x):
    return np.linalg.cond(x)


def test_cond_of_the_2_norm_refuses_a_second_derivative():
    # (the largest and smallest singular values: the SVD has no second derivative)
    from s2sgrad.errors import UnsupportedSyntaxError
    with pytest.raises(UnsupportedSyntaxError, match="second derivative.*test_linalg.py:"):
        import s2sgrad as sg
        sg.hessian(condition_number)(sample((3, 3)) + 2 * np.eye(3))
