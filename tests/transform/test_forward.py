"""Forward mode as source: JVPs against finite differences and reverse mode,
forward over reverse (HVPs, Hessians) through loops, branches and calls,
and the generated code itself."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import s2sgrad as sg
from tests.fd import numerical_grad, numerical_jvp
from tests.transform import forward_cases as fc

rng = np.random.default_rng(12)


def _jvp_close(f, args, argnum, **tolerances):
    u = rng.normal(size=np.shape(args[argnum]))
    if np.ndim(args[argnum]) == 0:
        u = float(u)
    value, tangent = sg.jvp(f, wrt=argnum)(*args, u)
    np.testing.assert_allclose(value, f(*args))
    np.testing.assert_allclose(tangent, numerical_jvp(f, args, argnum, u),
                               **({"rtol": 1e-6, "atol": 1e-8} | tolerances))
    return tangent


CASES = [
    (fc.rosenbrock, (rng.normal(size=6),), 0),
    (fc.softmax_cross_entropy, (rng.normal(size=(3, 4)), rng.normal(size=4), np.eye(3)[1]), 0),
    (fc.softmax_cross_entropy, (rng.normal(size=(3, 4)), rng.normal(size=4), np.eye(3)[1]), 1),
    (fc.mlp, (rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=(2, 5))), 0),
    (fc.mlp, (rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=(2, 5))), 2),
    (fc.loop_sum, (rng.normal(size=3) * 0.3, 4), 0),
    (fc.doubling, (0.7,), 0),
    (fc.branchy, (np.array([0.5, 1.0]), np.array([2.0, -1.0])), 0),
    (fc.branchy, (np.array([-0.5, -1.0]), np.array([2.0, -1.0])), 1),
    (fc.calls_helper, (rng.normal(size=4),), 0),
    (fc.closure_of(np.array([0.5, -2.0, 1.0])), (rng.normal(size=3),), 0),
    (fc.writes, (rng.normal(size=3),), 0),
    (fc.break_in_loop, (0.4,), 0),
    (fc.break_in_loop, (2.5,), 0),
    (fc.vector_out, (rng.normal(size=4),), 0),
    (fc.inactive_branch, (1.3, 2), 0),
    (fc.nested_loops, (np.array([0.9, 1.2]),), 0),
    (fc.broadcast_add, (0.7, rng.normal(size=(2, 3))), 0),
]


@pytest.mark.parametrize("f, args, argnum", CASES, ids=lambda c: getattr(c, "__name__", None))
def test_jvp_against_finite_differences(f, args, argnum):
    _jvp_close(f, args, argnum)


@pytest.mark.parametrize("f, args, argnum", CASES, ids=lambda c: getattr(c, "__name__", None))
def test_jvp_against_reverse_mode(f, args, argnum):
    """⟨v, J u⟩ from forward mode equals ⟨Jᵀ v, u⟩ from reverse mode (its Jacobian)."""
    u = rng.normal(size=np.shape(args[argnum]))
    if np.ndim(args[argnum]) == 0:
        u = float(u)
    value, tangent = sg.jvp(f, wrt=argnum)(*args, u)
    v = rng.normal(size=np.shape(value))
    J = sg.jacobian(f, wrt=argnum)(*args)
    transposed = np.tensordot(v, J, axes=np.ndim(v)) if np.ndim(v) else v * J
    assert np.sum(v * tangent) == pytest.approx(np.sum(transposed * u), rel=1e-9, abs=1e-12)


def test_scalar_in_scalar_out_keeps_python_floats():
    value, tangent = sg.jvp(fc.quad, wrt=1)(2.0, 0.5, 1.0)
    assert isinstance(tangent, float) and tangent == pytest.approx(2 * 2.0 * 0.5 + 3.0)


def test_generated_forward_source_reads_like_the_math():
    text = sg.source(fc.mlp, wrt=0, mode="forward")
    assert text.startswith("def jvp_mlp(W1, x, W2, *, dW1):")
    assert "dW1 @ x" in text
    assert "zeros_like" not in text  # nothing is zero-filled: x and W2 carry no tangent
    assert "dx" not in text and "dW2" not in text
    lines = sg.source(fc.loop_sum, mode="forward").splitlines()
    # the tangent of s right after s, inside the loop
    at = next(i for i, line in enumerate(lines) if line.strip().startswith("s = s +"))
    assert lines[at + 1].strip().startswith("ds = ")


def test_forward_mode_has_no_tangent_of_inactive_values():
    text = sg.source(fc.inactive_branch, wrt=0, mode="forward")
    assert "dk" not in text and "dn" not in text


def test_a_primitive_without_a_forward_rule_is_refused_with_the_users_line():
    with pytest.raises(sg.UnsupportedSyntaxError, match=r"divmod.*no forward rule.*test_forward.py:\d+"):
        sg.source(_divmods, mode="forward")


def _divmods(x):
    return divmod(x, 0.7)[1]


def test_bad_mode_and_bad_direction():
    with pytest.raises(ValueError, match="mode must be"):
        sg.source(fc.quad, mode="sideways")
    with pytest.raises(ValueError, match="direction v has shape"):
        sg.jvp(fc.rosenbrock)(np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match="one argument"):
        sg.jvp(fc.quad, wrt=(0, 1))


# -- forward over reverse ----------------------------------------------------

def _check_hessian(f, args, argnum=0, rtol=1e-5, atol=1e-7):
    H = sg.hessian(f, wrt=argnum)(*args)
    x = args[argnum]
    first = sg.grad(f, wrt=argnum)
    n = int(np.size(x))
    expected = np.stack([numerical_jvp(first, args, argnum, np.eye(n)[j].reshape(np.shape(x)))
                         for j in range(n)], axis=-1).reshape(np.shape(x) + np.shape(x))
    np.testing.assert_allclose(H, expected, rtol=rtol, atol=atol)
    flat = np.reshape(H, (n, n))
    np.testing.assert_allclose(flat, flat.T, rtol=1e-9, atol=1e-9)  # symmetric
    return H


def test_rosenbrock_hessian():
    x = np.array([0.5, 1.2, -0.3, 0.8])
    H = _check_hessian(fc.rosenbrock, (x,))
    assert H[0, 0] == pytest.approx(1200 * 0.25 - 400 * 1.2 + 2)


def test_softmax_cross_entropy_and_mlp_hessians():
    W, x, y = rng.normal(size=(3, 4)), rng.normal(size=4), np.eye(3)[2]
    _check_hessian(fc.softmax_cross_entropy, (W, x, y), 0)
    _check_hessian(fc.softmax_cross_entropy, (W, x, y), 1)
    W1, x, W2 = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(2, 4))
    _check_hessian(fc.mlp, (W1, x, W2), 0)
    _check_hessian(fc.mlp, (W1, x, W2), 2)


@pytest.mark.parametrize("f, args", [
    (fc.loop_sum, (np.array([0.3, -0.2, 0.4]), 3)),
    (fc.nested_loops, (np.array([0.9, 1.2]),)),
    (fc.branchy, (np.array([0.5, 1.0]), np.array([2.0, -1.0]))),
    (fc.calls_helper, (rng.normal(size=3),)),
    (fc.writes, (rng.normal(size=3),)),
])
def test_hessians_through_loops_branches_and_calls(f, args):
    _check_hessian(f, args)


def test_hessian_of_a_loop_is_generated_source_not_the_tape():
    text = sg.source(fc.loop_sum, order=2, mode="forward")
    assert "pop(s_stack)" in text and "pop(ds_stack)" in text
    hessian = sg.hessian(fc.loop_sum)
    assert hessian.__name__ == "loop_sum"  # (the tape's fallback is not used)


def test_hessian_shapes():
    assert isinstance(sg.hessian(fc.doubling)(0.7), float)
    assert sg.hessian(fc.doubling)(0.7) == pytest.approx(
        numerical_grad(sg.grad(fc.doubling), (0.7,), 0), rel=1e-6)
    W, x, y = rng.normal(size=(3, 4)), rng.normal(size=4), np.eye(3)[0]
    blocks = sg.hessian(fc.softmax_cross_entropy, wrt=(0, 1))(W, x, y)
    assert [[b.shape for b in row] for row in blocks] == [
        [(3, 4, 3, 4), (3, 4, 4)], [(4, 3, 4), (4, 4)]]
    np.testing.assert_allclose(blocks[0][0], sg.hessian(fc.softmax_cross_entropy, 0)(W, x, y))
    np.testing.assert_allclose(blocks[0][1], np.moveaxis(blocks[1][0], 0, -1), atol=1e-12)


def test_hvp_is_one_forward_over_reverse_pass():
    x, v = rng.normal(size=5), rng.normal(size=5)
    H = sg.hessian(fc.rosenbrock)(x)
    np.testing.assert_allclose(sg.hvp(fc.rosenbrock)(x, v), H @ v, rtol=1e-10)
    W, U = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    y = np.eye(3)[1]
    x = rng.normal(size=4)
    expected = numerical_jvp(sg.grad(fc.softmax_cross_entropy), (W, x, y), 0, U)
    np.testing.assert_allclose(sg.hvp(fc.softmax_cross_entropy)(W, x, y, U), expected, rtol=1e-6)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 6), seed=st.integers(0, 10_000))
def test_rosenbrock_hessian_property(n, seed):
    x = np.random.default_rng(seed).uniform(-1.5, 1.5, size=n)
    _check_hessian(fc.rosenbrock, (x,))


@settings(max_examples=15, deadline=None)
@given(x=st.floats(-1.0, 1.0), n=st.integers(0, 4))
def test_second_derivative_through_a_loop_property(x, n):
    xs = np.array([x, 0.5 * x])
    _check_hessian(fc.loop_sum, (xs, n))
