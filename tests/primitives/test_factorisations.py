"""solve, cholesky, slogdet, eigh, eigvalsh, svd and pinv: rules (finite
differences in every entry, so the symmetric-input functions are checked on
the triangle they read), user functions through sg.grad, the tape, float32
and second order."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad as sg
from s2sgrad.primitives import linalg
from tests.fd import check_vjp, numerical_grad, numerical_jacobian
from tests.primitives import Case, params, sample


def spd(shape, seed=0):
    """A well-conditioned symmetric positive definite matrix (or a batch)."""
    b = sample(shape, seed=seed)
    return b @ np.swapaxes(b, -1, -2) + shape[-1] * np.eye(shape[-1])


def invertible(shape, seed=0):
    return sample(shape, seed=seed) + 3 * np.eye(shape[-1])


CASES = [
    Case(np.linalg.solve, (invertible((3, 3)), sample((3,), seed=1)), label="vector"),
    Case(np.linalg.solve, (invertible((3, 3)), sample((3, 2), seed=1)), label="matrix"),
    Case(np.linalg.solve, (invertible((2, 3, 3)), sample((3,), seed=1)), label="batched-vector"),
    Case(np.linalg.solve, (invertible((2, 3, 3)), sample((2, 3, 2), seed=1)), label="batched"),
    Case(np.linalg.solve, (invertible((3, 3)), sample((2, 3, 2), seed=1)), label="broadcast"),
    Case(np.linalg.cholesky, (spd((3, 3)),)),
    Case(np.linalg.cholesky, (spd((2, 3, 3)),), label="batched"),
    Case(np.linalg.cholesky, (spd((3, 3)),), {"upper": True}, label="upper"),
    Case(np.linalg.slogdet, (invertible((3, 3)),)),
    Case(np.linalg.slogdet, (sample((2, 3, 3)) - 3 * np.eye(3),), label="negative-batched"),
    Case(np.linalg.eigh, (spd((3, 3)),)),
    Case(np.linalg.eigh, (spd((2, 3, 3)),), {"UPLO": "U"}, label="batched-upper"),
    Case(np.linalg.eigvalsh, (spd((3, 3)),)),
    Case(np.linalg.eigvalsh, (spd((2, 3, 3)),), {"UPLO": "U"}, label="batched-upper"),
    Case(np.linalg.svd, (sample((3, 3)),), label="square"),
    Case(np.linalg.svd, (sample((4, 2)),), {"full_matrices": False}, label="tall"),
    Case(np.linalg.svd, (sample((2, 4)),), {"full_matrices": False}, label="wide"),
    Case(np.linalg.svd, (sample((2, 3, 2)),), {"full_matrices": False}, label="batched"),
    Case(np.linalg.svd, (sample((4, 2)),), {"compute_uv": False}, label="values"),
    Case(np.linalg.pinv, (sample((3, 2)),), label="tall"),
    Case(np.linalg.pinv, (sample((2, 4)),), label="wide"),
    Case(np.linalg.pinv, (sample((2, 3, 4)),), label="batched"),
    Case(linalg.as_lower, (sample((2, 3)), True)),
    Case(linalg.output_cotangent, ([sample((2,)), sample((3,))], (sample((2,)), sample((3,))), 1),
         argnums=()),
]
ALSO_COVERED = [linalg.svd_adjoint, linalg.svd_tangent]  # (svd_tangent: test_linalg_forward)


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


def test_output_cotangent_is_zero_where_nothing_flowed():
    results = (sample((2,)), sample((3,)))
    for cotangent in ([None, None], 0.0, [0.0, 1.0]):
        zero = linalg.output_cotangent(cotangent, results, 0)
        assert zero.shape == (2,) and not zero.any()
    assert linalg.output_cotangent([None, results[1]], results, 1) is results[1]


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 3), max_size=2), n=st.integers(1, 4), k=st.integers(0, 3),
       seed=st.integers(0, 2**16))
def test_solve_and_factorisations_over_shapes(batch, n, k, seed):
    shape = (*batch, n, n)
    a, s = invertible(shape, seed), spd(shape, seed)
    b = sample((n,) if k == 0 else (*batch, n, k), seed=seed + 1)
    check_vjp(np.linalg.solve, (a, b), seed=seed)
    check_vjp(np.linalg.cholesky, (s,), seed=seed)
    check_vjp(np.linalg.slogdet, (a,), seed=seed)
    check_vjp(np.linalg.eigvalsh, (s,), seed=seed)
    check_vjp(np.linalg.pinv, (a,), seed=seed)


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 2), max_size=1), m=st.integers(1, 4), n=st.integers(1, 4),
       seed=st.integers(0, 2**16))
def test_decompositions_with_gauge_invariant_losses(batch, m, n, seed):
    """Eigenvectors and singular vectors are defined up to sign: the losses
    read them through squares, as a user's must."""
    s = spd((*batch, n, n), seed)
    weights = sample((n, n), seed=seed + 1)

    def eigh_loss(a):
        w, v = np.linalg.eigh(a)
        return np.sum(v ** 2 * weights) + np.sum(np.sin(w))

    np.testing.assert_allclose(sg.grad(eigh_loss)(s), numerical_grad(eigh_loss, [s], 0), rtol=1e-5, atol=1e-6)
    a = sample((*batch, m, n), seed=seed)
    k = min(m, n)

    def svd_loss(a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.sum(u ** 2 * weights[:1, :k]) + np.sum(s ** 2) + np.sum(vh ** 2 * weights[:k, :1])

    values = np.linalg.svd(a, compute_uv=False)
    gaps = np.abs(values[..., :, None] - values[..., None, :]) + np.eye(k)
    if values.min() > 0.1 and gaps.min() > 0.1:  # distinct nonzero singular values
        np.testing.assert_allclose(sg.grad(svd_loss)(a), numerical_grad(svd_loss, [a], 0),
                                   rtol=1e-5, atol=1e-6)


# -- user functions: sg.grad, the tape, float32, order 2 ----------------------


def gaussian_log_likelihood(b, x):
    cov = b @ b.T + 3.0 * np.eye(3, dtype=b.dtype)
    sign, logdet = np.linalg.slogdet(cov)
    return -0.5 * (logdet + x @ np.linalg.solve(cov, x))


def cholesky_loss(b, y):
    a = b @ b.T + 3.0 * np.eye(3, dtype=b.dtype)
    lower = np.linalg.cholesky(a)
    return np.sum(np.linalg.solve(lower, y) ** 2) + np.sum(np.log(np.linalg.eigvalsh(a)))


def eigenvector_loss(a):
    w, v = np.linalg.eigh(a)
    return np.sum(v[0] ** 2 * w) + np.sum(w ** 2)


def eigenvalue_loss(a):
    w, v = np.linalg.eigh(a)
    return np.sum(np.sin(w))


def pinv_loss(a):
    return np.sum(np.linalg.pinv(a) ** 2)


def singular_value_loss(a):
    return np.sum(np.linalg.svd(a, compute_uv=False) ** 3)


def square_svd_loss(a):
    u, s, vh = np.linalg.svd(a)
    return np.sum(u ** 2 * s) + np.sum(s)


FUNCTIONS = [
    (gaussian_log_likelihood, (sample((3, 3)), sample((3,), seed=1)), True),
    (cholesky_loss, (sample((3, 3)), sample((3,), seed=1)), True),
    (eigenvector_loss, (spd((3, 3)),), True),
    (eigenvalue_loss, (spd((3, 3)),), True),
    (pinv_loss, (sample((3, 2)),), True),
    (singular_value_loss, (sample((4, 2)),), False),
    (square_svd_loss, (sample((3, 3)),), False),
]


@pytest.mark.parametrize("function, args, twice", FUNCTIONS, ids=[f.__name__ for f, _, _ in FUNCTIONS])
def test_grad_of_user_functions(function, args, twice):
    for i in range(len(args)):
        np.testing.assert_allclose(sg.grad(function, wrt=i)(*args), numerical_grad(function, args, i),
                                   rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("function, args, twice", [f for f in FUNCTIONS if f[2]],
                         ids=[f.__name__ for f, _, twice in FUNCTIONS if twice])
def test_second_order(function, args, twice):
    hessian = sg.hessian(function)(*args)
    np.testing.assert_allclose(hessian, numerical_jacobian(sg.grad(function), args, 0), rtol=1e-5, atol=1e-6)


def test_svd_refuses_a_second_derivative():
    # (refused where the derivative is built, naming the user's line)
    with pytest.raises(sg.UnsupportedSyntaxError,
                       match=r"second derivative of np.linalg.svd .*test_factorisations.py:\d+"):
        sg.hessian(singular_value_loss)(sample((4, 2)))


def test_svd_refuses_cotangents_on_the_arbitrary_columns_of_full_matrices():
    def loss(a):
        u, s, vh = np.linalg.svd(a)
        return np.sum(u)

    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        sg.grad(loss)(sample((4, 2)))


@pytest.mark.parametrize("function, args, twice", FUNCTIONS, ids=[f.__name__ for f, _, _ in FUNCTIONS])
def test_the_tape_records_them(function, args, twice):
    variables = [sg.Variable(a) for a in args]
    with sg.GradientTape() as tape:
        y = function(*variables)
    for i, grad in enumerate(tape.gradient(y, variables)):
        np.testing.assert_allclose(np.asarray(grad), numerical_grad(function, args, i), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("function, args, twice", FUNCTIONS, ids=[f.__name__ for f, _, _ in FUNCTIONS])
def test_float32_arguments_get_float32_gradients(function, args, twice):
    args32 = [np.asarray(a, np.float32) for a in args]
    for i in range(len(args)):
        assert sg.grad(function, wrt=i)(*args32).dtype == np.float32
