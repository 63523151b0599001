"""Forward rules of einsum, solve, cholesky, slogdet, eigh, eigvalsh, pinv
and svd: the generated forward code against central differences (over
shapes, batched), forward over reverse (the Hessian-vector product as
source), float32, and the refusals. ``test_forward_rules`` checks the same
rules against their VJPs by the inner-product identity."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad as sg
from tests.fd import numerical_jvp
from tests.primitives import forward, sample
from tests.primitives.test_factorisations import FUNCTIONS, invertible, spd
from tests.primitives.test_forward_rules import check_forward_against_vjp
from tests.primitives.test_products import attention, einsum_calls, traces


def assert_forward_matches_differences(f, args, argnum=0, seed=0, rtol=1e-6, atol=1e-8):
    direction = np.random.default_rng(seed).standard_normal(np.shape(args[argnum]))
    value, tangent = forward(f, args, argnum, direction)
    np.testing.assert_allclose(value, f(*args))
    np.testing.assert_allclose(tangent, numerical_jvp(f, args, argnum, direction), rtol=rtol, atol=atol)


def solved(a, b):
    return np.linalg.solve(a, b)


def cholesky_factor(a):
    return np.linalg.cholesky(a)


def upper_factor(a):
    return np.linalg.cholesky(a, upper=True)


def log_abs_det(a):
    sign, logdet = np.linalg.slogdet(a)
    return logdet * sign ** 2


def eigenvalues(a):
    return np.linalg.eigvalsh(a, UPLO="U")


def eigh_gauge_free(a):
    w, v = np.linalg.eigh(a)
    return np.sin(w)[..., None, :] * v ** 2  # (eigenvectors are defined up to sign)


def pseudo_inverse(a):
    return np.linalg.pinv(a)


def singular_values(a):
    return np.linalg.svd(a, compute_uv=False)


def svd_gauge_free(a):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(u ** 2 * s[..., None, :], axis=-1), np.sum(vh ** 2, axis=-2) * s[..., :1]


def svd_gauge_free_sum(a):
    left, right = svd_gauge_free(a)
    return np.sum(left ** 3) + np.sum(right ** 2)


@settings(max_examples=20, deadline=None)
@given(batch=st.lists(st.integers(1, 2), max_size=2), n=st.integers(1, 4), k=st.integers(0, 2),
       seed=st.integers(0, 2**16))
def test_forward_code_matches_finite_differences_over_shapes(batch, n, k, seed):
    shape = (*batch, n, n)
    a, s = invertible(shape, seed), spd(shape, seed)
    b = sample((n,) if k == 0 else (*batch, n, k), seed=seed + 1)
    for argnum in (0, 1):
        assert_forward_matches_differences(solved, (a, b), argnum, seed)
    for f, x in [(cholesky_factor, s), (upper_factor, s), (log_abs_det, a), (eigenvalues, s),
                 (pseudo_inverse, a), (eigh_gauge_free, s + np.diag(np.arange(n) * 2.0))]:
        assert_forward_matches_differences(f, (x,), 0, seed, rtol=1e-5, atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(batch=st.lists(st.integers(1, 2), max_size=1), m=st.integers(1, 4), n=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_svd_forward_code_matches_finite_differences(batch, m, n, seed):
    a = sample((*batch, m, n), seed=seed)
    values = np.linalg.svd(a, compute_uv=False)
    gaps = np.abs(values[..., :, None] - values[..., None, :]) + np.eye(min(m, n))
    if values.min() < 0.1 or gaps.min() < 0.1:
        return  # (distinct nonzero singular values only)
    assert_forward_matches_differences(singular_values, (a,), 0, seed, rtol=1e-5, atol=1e-7)
    direction = np.random.default_rng(seed).standard_normal(a.shape)
    _, tangents = forward(svd_gauge_free, (a,), 0, direction)
    for tangent, expected in zip(tangents, numerical_jvp(svd_gauge_free, (a,), 0, direction)):
        np.testing.assert_allclose(tangent, expected, rtol=1e-5, atol=1e-7)


def test_forward_mode_refuses_the_arbitrary_columns_of_a_full_svd():
    def factors(a):
        u, s, vh = np.linalg.svd(a)
        return np.sum(u ** 2)

    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        forward(factors, (sample((4, 2)),), 0, sample((4, 2), seed=1))
    # a square matrix has none: its full factorisation is the reduced one
    assert_forward_matches_differences(factors, (sample((3, 3)),), 0, rtol=1e-5, atol=1e-7)


# -- einsum ------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(einsum_calls())
def test_einsum_forward_rule_over_random_subscripts(operands):
    try:
        np.einsum(*operands)
    except ValueError:
        return  # (an output label the inputs lack, ...)
    check_forward_against_vjp(np.einsum, operands, {}, range(1, len(operands)))


def test_einsum_forward_code_with_several_active_operands():
    def quadratic_form(x, a):
        return np.einsum("i,ij,j->", x, a, x) + np.sum(np.einsum("ii->i", a) * x)

    x, a = sample((3,)), sample((3, 3), seed=1)
    for argnum in (0, 1):
        assert_forward_matches_differences(quadratic_form, (x, a), argnum)


# -- forward over reverse: the Hessian-vector product as generated source -----

SECOND_ORDER = [(f, args) for f, args, twice in FUNCTIONS if twice] + [
    (attention, (sample((2, 3, 4)), sample((2, 5, 4), seed=1), sample((2, 5, 4), seed=2))),
    (traces, (sample((3, 3)), sample((3,), seed=1))),
]


@pytest.mark.parametrize("f, args", SECOND_ORDER, ids=[f.__name__ for f, _ in SECOND_ORDER])
def test_hessian_vector_products_run_forward_over_reverse(f, args):
    sg.source(f, order=2, mode="forward")  # (refused, sg.hvp would fall back to reverse over reverse)
    direction = np.random.default_rng(1).standard_normal(np.shape(args[0]))
    np.testing.assert_allclose(sg.hvp(f)(*args, direction), numerical_jvp(sg.grad(f), args, 0, direction),
                               rtol=1e-5, atol=1e-6)


def test_svd_has_no_second_derivative_forward_over_reverse_either():
    def loss(a):
        return np.sum(np.linalg.svd(a, compute_uv=False) ** 3)

    # (refused where the derivative is built, naming the user's line)
    with pytest.raises(sg.UnsupportedSyntaxError,
                       match=r"second derivative of np.linalg.svd .*test_linalg_forward.py:\d+"):
        sg.hvp(loss)(sample((4, 2)), sample((4, 2), seed=1))


@pytest.mark.parametrize("f, args", [(solved, (invertible((3, 3)), sample((3,), seed=1))),
                                     (cholesky_factor, (spd((3, 3)),)), (log_abs_det, (invertible((3, 3)),)),
                                     (eigh_gauge_free, (spd((3, 3)),)), (pseudo_inverse, (sample((3, 2)),)),
                                     (svd_gauge_free_sum, (sample((4, 2)),)), (attention, SECOND_ORDER[-2][1])],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_float32_arguments_get_float32_tangents(f, args):
    args32 = tuple(np.asarray(a, np.float32) for a in args)
    value, tangent = forward(f, args32, 0, np.ones(np.shape(args[0]), np.float32))
    assert np.result_type(value) == np.float32 and np.result_type(tangent) == np.float32
    _, expected = forward(f, args, 0, np.ones(np.shape(args[0])))
    np.testing.assert_allclose(tangent, expected, rtol=2e-3, atol=2e-3)
