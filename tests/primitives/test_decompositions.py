"""qr, eig, eigvals and lstsq: rules against finite differences (every mode
and shape they differentiate, batched), forward mode, the tape, float32,
and what they refuse."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad as sg
from s2sgrad.primitives import decompositions
from tests.fd import check_vjp, numerical_grad, numerical_jvp
from tests.primitives import Case, check_grad_tape_and_forward, forward, params, sample


def real_spectrum(n, seed=0, batch=()):
    """A matrix (not symmetric) with real, well separated eigenvalues: a
    generic one, not built from its eigenvectors (LAPACK's choice of their
    sign is continuous around a generic matrix, not always around a built one)."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-0.5, 0.5, (*batch, n, n)) + np.diag(np.linspace(-2.0, 2.0, n) * n)
    assert not np.any(np.imag(np.linalg.eigvals(a)))  # (complex with zero imaginary parts from NumPy 2.5)
    return a


QR_SHAPES = [(4, 2), (3, 3), (2, 4), (2, 4, 3), (2, 3, 5), (1, 1)]
CASES = [Case(np.linalg.qr, (sample(s),), {"mode": mode}, label=f"{s}-{mode}")
         for s in QR_SHAPES for mode in ("reduced", "r")]
CASES += [Case(np.linalg.qr, (sample(s),), {"mode": "complete"}, label=f"{s}-complete") for s in [(3, 3), (2, 4)]]
CASES += [
    Case(np.linalg.eig, (real_spectrum(3),)),
    Case(np.linalg.eig, (real_spectrum(3, batch=(2,)),), label="batched"),
    Case(np.linalg.eigvals, (real_spectrum(4, seed=1),)),
    Case(np.linalg.eigvals, (real_spectrum(2, seed=2, batch=(3,)),), label="batched"),
]
CASES += [Case(np.linalg.lstsq, (sample(sa), sample(sb, seed=1)), {"rcond": None}, label=f"{sa}-{sb}")
          for sa, sb in [((5, 3), (5,)), ((5, 3), (5, 2)), ((3, 5), (3,)), ((3, 3), (3, 2)), ((4, 1), (4,))]]
# eigvals' helpers: their own rules make its second derivative (in the
# cotangent and in the matrix)
CASES += [
    Case(decompositions.eigvals_adjoint, (sample((4,), seed=3), real_spectrum(4, seed=1))),
    Case(decompositions.eigvals_adjoint, (sample((3, 2), seed=3), real_spectrum(2, seed=2, batch=(3,))),
         label="batched"),
    Case(decompositions.eigvals_tangent, (sample((4, 4), seed=3), real_spectrum(4, seed=1))),
]
ALSO_COVERED = [decompositions.qr_adjoint, decompositions.eig_adjoint, decompositions.lstsq_adjoint,
                decompositions.eigvals_adjoint_tangent, decompositions.eigvals_curvature,
                decompositions.eigvals_tangent_tangent]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 2), max_size=2), m=st.integers(1, 5), n=st.integers(1, 5),
       mode=st.sampled_from(["reduced", "r", "complete"]), seed=st.integers(0, 2**16))
def test_qr_over_shapes_and_modes(batch, m, n, mode, seed):
    a = sample((*batch, m, n), seed=seed)
    if np.linalg.svd(a, compute_uv=False).min() < 0.1:
        return  # (full rank: the factors are smooth there)
    if mode == "complete" and m > n:
        with pytest.raises(NotImplementedError, match="mode='reduced'"):
            check_vjp(np.linalg.qr, (a,), {"mode": mode}, seed=seed)
        return
    check_vjp(np.linalg.qr, (a,), {"mode": mode}, seed=seed)
    direction = np.random.default_rng(seed).standard_normal(a.shape)
    tangent = decompositions.qr_tangent(direction, np.linalg.qr(a, mode), a, mode)
    for got, expected in zip(tangent if mode != "r" else [tangent],
                             numerical_jvp(np.linalg.qr, (a,), 0, direction, {"mode": mode})
                             if mode != "r" else [numerical_jvp(np.linalg.qr, (a,), 0, direction, {"mode": mode})]):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 5), n=st.integers(1, 5), k=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_lstsq_over_shapes(m, n, k, seed):
    a = sample((m, n), seed=seed)
    if np.linalg.svd(a, compute_uv=False).min() < 0.1:
        return  # (the rank is locally constant away from rank deficiency)
    b = sample((m,) if k == 0 else (m, k), seed=seed + 1)
    check_vjp(np.linalg.lstsq, (a, b), {"rcond": None}, seed=seed)


def test_a_complete_qr_of_a_tall_matrix_is_differentiated_through_its_reduced_part():
    def loss(a):
        q, r = np.linalg.qr(a, mode="complete")
        return np.sum(q[:, :2] ** 3) + np.sum(r ** 2)

    a = sample((4, 2))
    np.testing.assert_allclose(sg.grad(loss)(a), numerical_grad(loss, [a]), rtol=1e-5, atol=1e-7)


def test_refusals_name_what_has_no_derivative():
    def extra_columns(a):
        q, r = np.linalg.qr(a, mode="complete")
        return np.sum(q ** 3)

    with pytest.raises(NotImplementedError, match="columns of Q past n"):
        sg.grad(extra_columns)(sample((4, 2)))

    def raw(a):
        h, tau = np.linalg.qr(a, mode="raw")
        return np.sum(h)

    with pytest.raises(NotImplementedError, match="not 'raw'"):
        sg.grad(raw)(sample((3, 3)))

    def rotation_values(a):
        return np.sum(np.linalg.eigvals(a) ** 2)

    rotation = np.array([[0.0, -1.0], [1.0, 0.0]])
    with pytest.raises(NotImplementedError, match="complex ones"):
        sg.grad(rotation_values)(rotation)
    for f, x in [(qr_loss, sample((4, 3))), (lstsq_loss, sample((5, 3)))]:
        # (refused where the derivative is built, naming the user's line)
        with pytest.raises(sg.UnsupportedSyntaxError,
                           match=r"second derivative .*test_decompositions.py:\d+"):
            sg.hessian(f)(x)


def qr_loss(a):
    q, r = np.linalg.qr(a)
    return np.sum(q ** 3) + np.sum(np.linalg.qr(a, mode="r") ** 2)


def eig_loss(a):
    w, v = np.linalg.eig(a)
    return np.sum(w ** 3) + np.sum(v ** 2 * w) + np.sum(np.sin(np.linalg.eigvals(a)))


B = sample((5,), seed=1)


def lstsq_loss(a):
    x, residuals, rank, s = np.linalg.lstsq(a, B.astype(a.dtype), rcond=None)
    return np.sum(x ** 2) + np.sum(residuals) + np.sum(s ** 2) * float(rank)


FUNCTIONS = [(qr_loss, sample((4, 3))), (qr_loss, sample((3, 4))), (eig_loss, real_spectrum(3)),
             (lstsq_loss, sample((5, 3))), (lstsq_loss, sample((5, 5)))]
IDS = [f"{f.__name__}-{x.shape}" for f, x in FUNCTIONS]


@pytest.mark.parametrize("f, x", FUNCTIONS, ids=IDS)
def test_grad_tape_and_forward_of_user_functions(f, x):
    check_grad_tape_and_forward(f, (x,), 0, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("f, x", FUNCTIONS, ids=IDS)
def test_float32_arguments_get_float32_gradients(f, x):
    grad = sg.grad(f)(x.astype(np.float32))
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, numerical_grad(f, [x]), rtol=2e-2, atol=2e-2)


def test_lstsq_through_both_arguments_in_forward_mode():
    def solution(a, b):
        return np.linalg.lstsq(a, b, rcond=None)[0] + np.linalg.lstsq(a, b, rcond=None)[1][0]

    a, b = sample((5, 3)), sample((5,), seed=1)
    for argnum in (0, 1):
        direction = np.random.default_rng(argnum).standard_normal(np.shape((a, b)[argnum]))
        _, tangent = forward(solution, (a, b), argnum, direction)
        np.testing.assert_allclose(tangent, numerical_jvp(solution, (a, b), argnum, direction), rtol=1e-5, atol=1e-7)


def eigenvalue_loss(a):
    w = np.real(np.linalg.eigvals(a))
    return np.sum(w ** 3 * np.arange(1.0, np.shape(w)[-1] + 1.0)) + np.sum(np.sin(w))


@pytest.mark.parametrize("a", [real_spectrum(4, seed=1), real_spectrum(3, seed=2, batch=(2,))],
                         ids=["single", "batched"])
def test_eigvals_twice(a):
    from tests.fd import numerical_jacobian
    expected = numerical_jacobian(sg.grad(eigenvalue_loss), (a,))
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(sg.hessian(eigenvalue_loss)(a), expected, rtol=1e-5, atol=1e-7 * scale)
    direction = np.random.default_rng(0).standard_normal(a.shape)
    np.testing.assert_allclose(sg.hvp(eigenvalue_loss)(a, direction),
                               np.tensordot(expected, direction, axes=a.ndim), rtol=1e-5, atol=1e-6 * scale)
