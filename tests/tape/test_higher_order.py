"""Nested tapes: the inner backward pass is recorded by the outer tape."""

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad import S2SGradError
from tests.fd import numerical_jvp
from tests.tape.helpers import tape_grad
from tests.tape.test_gradient import A, B, CASES, M, P

RNG = np.random.default_rng(1)

SMOOTH = {
    "polynomial",
    "sin_exp",
    "log_sqrt",
    "tanh_div",
    "mean_axis",
    "var_std",
    "cumsum",
    "matmul",
    "matmul_wrt_b",
    "matmul_2d",
    "dot_outer",
    "getitem_basic",
    "getitem_fancy",
    "getitem_mask",
    "take",
    "reshape_transpose",
    "expand_squeeze",
    "concatenate",
    "stack",
    "where",
    "inv_det",
    "trace",
    "tensordot",
    "prod",
    "broadcast_row",
    "broadcast_row_wrt_b",
    "broadcast_col_wrt_c",
    "pow_tensor_exponent",
    "iteration",
}


def tape_hvp(f, args, argnum, v):
    """H·v for ``f`` at ``args`` by differentiating the inner tape's gradient."""
    tensors = [sg.constant(a) for a in args]
    x = tensors[argnum]
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            y = f(*tensors)
        g = inner.gradient(y, x)
        gv = np.sum(g * v)
    return outer.gradient(gv, x, unconnected_gradients="zero").numpy()


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in SMOOTH], ids=lambda c: c[0])
def test_hessian_vector_products_match_finite_differences(case):
    name, f, args, *rest = case
    argnum = rest[0] if rest else 0
    v = RNG.normal(size=np.shape(args[argnum]))

    def first(*xs):
        return tape_grad(f, xs, argnum)

    expected = numerical_jvp(first, args, argnum, v)
    np.testing.assert_allclose(tape_hvp(f, args, argnum, v), expected, rtol=1e-5, atol=1e-6)


def test_third_derivative():
    x = sg.constant(1.5)
    with sg.GradientTape() as t3:
        t3.watch(x)
        with sg.GradientTape() as t2:
            t2.watch(x)
            with sg.GradientTape() as t1:
                t1.watch(x)
                y = x**4
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    assert float(d1) == 4 * 1.5**3 and float(d2) == 12 * 1.5**2 and float(d3) == 24 * 1.5


def test_mixed_partials_with_variables():
    x, y = sg.Variable(2.0), sg.Variable(3.0)
    with sg.GradientTape() as outer:
        with sg.GradientTape() as inner:
            z = x * y**2 + np.sin(x * y)
        dz_dx = inner.gradient(z, x)
    d2 = outer.gradient(dz_dx, y)
    expected = 2 * 3.0 + np.cos(6.0) - 6.0 * np.sin(6.0)
    assert float(d2) == pytest.approx(expected, rel=1e-12)


def test_persistent_tape_differentiates_its_own_gradient():
    x = sg.constant(3.0)
    with sg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x**3
        dy = tape.gradient(y, x)
    assert float(dy) == 27.0
    assert float(tape.gradient(dy, x)) == 18.0


def test_hessian_by_jacobian_of_gradient():
    x = sg.constant(RNG.normal(size=3))
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            y = np.sum(x**3) + x[0] * x[1]
        g = inner.gradient(y, x)
    h = outer.jacobian(g, x).numpy()
    expected = np.diag(6 * x.numpy())
    expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_allclose(h, expected, rtol=1e-12)


def test_helpers_with_rules_are_recorded_as_primitives():
    from s2sgrad.primitives.shape import getitem_adjoint

    x = sg.constant(A)
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            y = np.sum(x[1] ** 3)
        g = inner.gradient(y, x)
        total = np.sum(g)
    assert getitem_adjoint in [r.prim for r in outer._records]
    h = outer.gradient(total, x).numpy()
    expected = np.zeros_like(A)
    expected[1] = 6 * A[1]
    np.testing.assert_allclose(h, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduce", [np.sum, np.mean])
def test_second_derivative_through_a_reduction_of_a_scalar(reduce, dtype):
    """The inner gradient spreads the seed over the scalar with full_like, a
    helper that returned a Python float for a NumPy scalar: not recorded, so
    the outer gradient was None (found through sg.grad(sg.grad(f)) of a
    loop, which runs on nested tapes)."""
    x = sg.constant(dtype(0.6))
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            s = reduce(x)
            y = s * np.cos(s)
        g = inner.gradient(y, x)
    h = outer.gradient(g, x)
    assert g.dtype == h.dtype == dtype
    expected = -2 * np.sin(0.6) - 0.6 * np.cos(0.6)
    np.testing.assert_allclose(float(h), expected, rtol=1e-5 if dtype is np.float32 else 1e-12)


def test_rule_that_would_lose_the_connection_raises():
    x = sg.constant(P[0])
    with pytest.raises(S2SGradError, match="higher derivative"):
        with sg.GradientTape() as t3:
            t3.watch(x)
            with sg.GradientTape() as t2:
                t2.watch(x)
                with sg.GradientTape() as t1:
                    t1.watch(x)
                    y = np.prod(x)
                d1 = t1.gradient(y, x)
                s = np.sum(d1)
            d2 = t2.gradient(s, x)
            t3.gradient(np.sum(d2), x)


def test_inner_gradient_of_matmul_is_recorded_for_outer():
    w = sg.Variable(M)
    x = sg.constant(B[:3])
    with sg.GradientTape() as outer:
        with sg.GradientTape() as inner:
            y = np.sum(np.tanh(w @ x))
        g = inner.gradient(y, w)
        penalty = np.sum(g * g)
    gp = outer.gradient(penalty, w)
    assert gp is not None and gp.shape == (3, 3)

    def penalty_of(m):
        t = np.tanh(m @ B[:3])
        grad = np.outer(1 - t**2, B[:3])
        return np.sum(grad * grad)

    from tests.fd import numerical_grad

    np.testing.assert_allclose(gp.numpy(), numerical_grad(penalty_of, (M,)), rtol=1e-5, atol=1e-7)
