"""Batched tangents: forward code along k directions at once (one leading
axis on every tangent), and what uses it: ``sg.hessian`` (forward over
reverse, every direction in one pass) and ``sg.jacobian``'s forward mode.

Batched code is checked against the unbatched forward code direction by
direction, Hessians and Jacobians against finite differences and reverse
mode, through loops, branches, calls, broadcasting and float32.
"""

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad import api, pipeline
from tests.fd import numerical_jacobian
from tests.transform import forward_cases as fc
from tests.transform.test_forward import CASES

rng = np.random.default_rng(3)


def _batched(f, argnum):
    entry = pipeline.gradient_code(f, argnum, mode="forward", batched=True)
    (tangent_name,) = entry.seed_name
    forward = pipeline.bind(entry, f)
    return lambda args, directions: forward(*args, **{tangent_name: directions})


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("f, args, argnum", CASES, ids=lambda c: getattr(c, "__name__", None))
def test_batched_jvp_is_the_stacked_jvps(f, args, argnum, k):
    directions = rng.normal(size=(k,) + np.shape(args[argnum]))
    value, batched = _batched(f, argnum)(args, directions)
    one = sg.jvp(f, wrt=argnum)
    expected = []
    for u in directions:
        expected.append(one(*args, float(u) if isinstance(args[argnum], float) else u)[1])
    np.testing.assert_allclose(value, f(*args))
    assert np.shape(batched) == (k,) + np.shape(expected[0])
    np.testing.assert_allclose(batched, np.stack(expected), rtol=1e-12, atol=1e-14)


HESSIAN_CASES = [
    (fc.rosenbrock, (rng.normal(size=6),), 0),
    (fc.softmax_cross_entropy, (rng.normal(size=(3, 4)), rng.normal(size=4), np.eye(3)[1]), 0),
    (fc.softmax_cross_entropy, (rng.normal(size=(3, 4)), rng.normal(size=4), np.eye(3)[1]), 1),
    (fc.mlp, (rng.normal(size=(5, 3)), rng.normal(size=3), rng.normal(size=(2, 5))), 0),
    (fc.loop_sum, (np.array([0.3, -0.2, 0.4]), 3), 0),
    (fc.nested_loops, (np.array([0.9, 1.2]),), 0),
    (fc.branchy, (np.array([0.5, 1.0]), np.array([2.0, -1.0])), 0),
    (fc.branchy, (np.array([-0.5, -1.0]), np.array([2.0, -1.0])), 1),
    (fc.calls_helper, (rng.normal(size=3),), 0),
    (fc.writes, (rng.normal(size=3),), 0),
    (fc.broadcast_add, (0.7, rng.normal(size=(2, 3))), 0),
    (fc.broadcast_add, (rng.normal(size=(1, 3)), rng.normal(size=(2, 3))), 0),
    (fc.doubling, (0.7,), 0),
]


@pytest.mark.parametrize("f, args, argnum", HESSIAN_CASES,
                         ids=lambda c: getattr(c, "__name__", None))
def test_hessian_is_one_batched_pass_equal_to_differences_and_reverse(f, args, argnum):
    gradient = sg.grad(f, wrt=argnum)
    _batched(gradient, argnum)  # (the batched pass exists: no direction-by-direction fallback)
    H = sg.hessian(f, wrt=argnum)(*args)
    x = args[argnum]
    assert np.shape(H) == np.shape(x) + np.shape(x)
    np.testing.assert_allclose(H, numerical_jacobian(gradient, args, argnum), rtol=1e-5, atol=1e-6)
    one_by_one = api._hessian_direction_by_direction(f, argnum, gradient)(*args)
    np.testing.assert_allclose(H, one_by_one, rtol=1e-12, atol=1e-14)
    if f not in (fc.loop_sum, fc.nested_loops, fc.doubling):  # (reverse over reverse: no loops)
        reverse = sg.jacobian(gradient, wrt=argnum)(*args)
        np.testing.assert_allclose(H, reverse, rtol=1e-10, atol=1e-12)


def test_hessian_blocks_of_several_arguments_in_one_pass():
    W, x, y = rng.normal(size=(3, 4)), rng.normal(size=4), np.eye(3)[2]
    blocks = sg.hessian(fc.softmax_cross_entropy, wrt=(0, 1))(W, x, y)
    for a in range(2):
        for b in range(2):
            expected = numerical_jacobian(sg.grad(fc.softmax_cross_entropy, wrt=a), (W, x, y), b)
            np.testing.assert_allclose(blocks[a][b], expected, rtol=1e-5, atol=1e-6)
    assert isinstance(blocks, tuple) and all(isinstance(row, tuple) for row in blocks)


def einsum_energy(A, x):
    return np.einsum("i,ij,j->", x, A, x) ** 2


def einsum_square(x):
    return np.einsum("i,i->", x, x) ** 2


def test_terms_of_a_list_valued_tangent_add_entry_by_entry():
    """x twice in einsum: the two terms of its cotangents' tangent are lists,
    added entry by entry (``+`` concatenated them: a wrong Hessian)."""
    x = rng.normal(size=3)
    expected = 4.0 * (np.dot(x, x) * np.eye(3) + 2.0 * np.outer(x, x))
    np.testing.assert_allclose(sg.hessian(einsum_square)(x), expected, rtol=1e-12)
    v = rng.normal(size=3)
    np.testing.assert_allclose(sg.hvp(einsum_square)(x, v), expected @ v, rtol=1e-12)


def test_hessian_through_a_rule_without_a_batched_form_runs_direction_by_direction():
    A, x = rng.normal(size=(3, 3)), rng.normal(size=3)
    with pytest.raises(sg.UnsupportedSyntaxError, match="no batched rule"):
        _batched(sg.grad(einsum_energy, wrt=1), 1)
    H = sg.hessian(einsum_energy, wrt=1)(A, x)
    np.testing.assert_allclose(H, numerical_jacobian(sg.grad(einsum_energy, wrt=1), (A, x), 1),
                               rtol=1e-5, atol=1e-6)


def writes_its_argument(x):
    x[0] = x[1] * 2.0
    return np.sum(x ** 3)


def test_a_function_writing_into_its_argument_leaves_the_directions_alone():
    x = np.array([1.0, 2.0, 3.0])
    hessian = sg.hessian(writes_its_argument)
    expected = numerical_jacobian(sg.grad(writes_its_argument), (x.copy(),), 0)
    for _ in range(2):  # (the cached directions are not written into)
        np.testing.assert_allclose(hessian(x.copy()), expected, rtol=1e-5, atol=1e-6)
    v = np.array([0.5, -1.0, 2.0])
    sg.jvp(writes_its_argument)(x.copy(), v)
    np.testing.assert_array_equal(v, [0.5, -1.0, 2.0])  # (the caller's direction unchanged)


def test_hessian_of_float32_keeps_float32():
    x = rng.normal(size=5).astype(np.float32)
    H = sg.hessian(fc.rosenbrock)(x)
    assert H.dtype == np.float32 and H.shape == (5, 5)
    np.testing.assert_allclose(H, sg.hessian(fc.rosenbrock)(x.astype(np.float64)), rtol=1e-4,
                               atol=1e-2)


def test_hessian_of_a_scalar_function_of_a_scalar_is_a_float():
    h = sg.hessian(fc.quad, wrt=1)(2.0, 0.5)
    assert isinstance(h, float) and h == pytest.approx(4.0)


def _reverse_jacobian(f, args, wrt):
    """Reverse mode's Jacobian (one VJP per output entry), whatever the shapes."""
    vjp = api._vjp_function(f, wrt)
    out = np.asarray(f(*args))
    rows = []
    for i in range(out.size):
        seed = np.zeros(out.size, dtype=out.dtype)
        seed[i] = 1.0
        rows.append(vjp(*args, **{api._seed_name(vjp): seed.reshape(out.shape)}))
    if isinstance(wrt, tuple):
        return tuple(np.reshape(np.array([r[k] for r in rows]), out.shape + np.shape(args[w]))
                     for k, w in enumerate(wrt))
    return np.reshape(np.array(rows), out.shape + np.shape(args[wrt]))


def tall_loop(x, n):
    out = np.zeros(6)
    for i in range(n):
        out = out + np.cos(x[0] * i) * np.arange(6.0) + x[1]
    return out


def tall_branch(t, c):
    if t > 0.0:
        y = np.outer(c, c) * t ** 2
    else:
        y = np.exp(t * c)[:, None] + c
    return y


def two_inputs(a, b):
    return np.concatenate([np.sin(a) * b[0], np.cos(b) * a[1]])


JACOBIAN_CASES = [
    (fc.one_to_many, (0.3,), 0),
    (fc.vector_out, (rng.normal(size=2),), 0),  # (2 inputs, 2 outputs: reverse)
    (fc.calls_helper, (rng.normal(size=3),), 0),  # (scalar out: reverse)
    (tall_loop, (np.array([0.4, -0.3]), 3), 0),
    (tall_branch, (0.6, rng.normal(size=3)), 0),
    (tall_branch, (-0.6, rng.normal(size=3)), 0),
    (two_inputs, (rng.normal(size=2), rng.normal(size=3)), (0, 1)),
]


@pytest.mark.parametrize("f, args, wrt", JACOBIAN_CASES, ids=lambda c: getattr(c, "__name__", None))
def test_jacobian_either_mode_equals_reverse_and_differences(f, args, wrt):
    J = sg.jacobian(f, wrt=wrt)(*args)
    reverse = _reverse_jacobian(f, args, wrt)
    pairs = zip(J, reverse, wrt) if isinstance(wrt, tuple) else [(J, reverse, wrt)]
    for got, expected, w in pairs:
        assert np.shape(got) == np.shape(expected) and np.result_type(got) == np.result_type(expected)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(got, numerical_jacobian(f, args, w), rtol=1e-5, atol=1e-6)


def test_jacobian_of_few_inputs_and_many_outputs_is_one_forward_pass(monkeypatch):
    calls = []
    vjp_of = api._vjp_function

    def counting(fun, wrt):
        vjp = vjp_of(fun, wrt)
        return lambda *a, **k: calls.append(1) or vjp(*a, **k)

    monkeypatch.setattr(api, "_vjp_function", counting)
    J = sg.jacobian(fc.one_to_many)(0.3)
    assert J.shape == (1000,) and not calls  # (no reverse pass ran)
    grid = np.linspace(0.0, 1.0, 1000)
    np.testing.assert_allclose(J, grid * np.cos(grid * 0.3) + 1.0, rtol=1e-12)


def test_jacobian_modes_agree_in_float32():
    x = rng.normal(size=2).astype(np.float32)
    J = sg.jacobian(tall_loop)(x, 2)
    expected = _reverse_jacobian(tall_loop, (x, 2), 0)
    assert J.dtype == expected.dtype and J.shape == expected.shape == (6, 2)
    np.testing.assert_allclose(J, expected, rtol=1e-6)
