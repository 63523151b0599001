"""Constructs of issue 10 that crashed with an internal error: each is
differentiated now (checked against central finite differences, and at
order 2 where it applies) or refused with ``UnsupportedSyntaxError`` naming
the construct and the user's line."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad as sg
from tests.fd import numerical_grad, numerical_jacobian


def assert_grad(f, *args):
    np.testing.assert_allclose(sg.grad(f)(*args), numerical_grad(f, args), rtol=1e-5, atol=1e-7)


def assert_hessian(f, *args):
    expected = numerical_jacobian(sg.grad(f), args)
    np.testing.assert_allclose(sg.hessian(f)(*args), expected, rtol=1e-5, atol=1e-6)


RNG = np.random.default_rng(10)
X6 = RNG.standard_normal(6)
X3 = RNG.standard_normal(3)


# -- 2. np.take with mode="wrap" / "clip" ------------------------------------

def take_wrap(x):
    return np.sum(np.take(x, np.array([0, 4, 7, -8, 13]), mode="wrap") ** 2)


def take_clip(x):
    return np.sum(np.take(x, np.array([-1, 2, 9, 9]), mode="clip") ** 3)


def take_wrap_axis(x):
    m = x.reshape(2, 3)
    return np.sum(np.sin(np.take(m, np.array([1, 3, -1]), axis=1, mode="wrap")))


@pytest.mark.parametrize("f", [take_wrap, take_clip, take_wrap_axis])
def test_take_modes(f):
    assert_grad(f, X6)
    assert_hessian(f, X6)


# -- 10. writes through repeated indices: the last write wins ----------------

def add_at_repeated(x, idx):
    y = x * 1.0
    y[idx] += x[:len(idx)] ** 2
    return np.sum(y ** 2)


def set_repeated(x, idx):
    y = x * 1.0
    v = np.sin(x[:len(idx)])
    y[idx] = v
    return np.sum(y ** 2 * np.arange(1.0, 7.0))


def mul_repeated(x, idx):
    y = x * 1.0
    y[idx] *= x[1:len(idx) + 1]
    return np.sum(y ** 2)


def sub_repeated(x, idx):
    y = x * 1.0
    y[idx] -= x[:len(idx)] * 2.0
    return np.sum(y ** 3)


def set_scalar_repeated(x, idx):
    y = x * 1.0
    y[idx] = x[5] * 3.0  # one value broadcast to every written entry
    return np.sum(y ** 2)


def set_rows_repeated(x, idx):
    m = x.reshape(2, 3) * 1.0
    m[idx[:2] % 2, 1:] = np.cos(x[:2])[:, None] * x[2:4]
    return np.sum(m ** 2)


def read_repeated(x, idx):
    return np.sum(np.sin(x[idx]) * np.arange(1.0, len(idx) + 1))


WRITES = [add_at_repeated, set_repeated, mul_repeated, sub_repeated, set_scalar_repeated,
          set_rows_repeated, read_repeated]


@pytest.mark.parametrize("f", WRITES)
def test_repeated_index_writes_follow_numpy(f):
    idx = np.array([0, 0, 1, 3, 0])
    assert_grad(f, X6, idx)
    assert_hessian(f, X6, idx)


def test_overwritten_value_gets_no_cotangent():
    def f(v):
        y = np.zeros(3)
        y[np.array([0, 0, 2])] = v
        return np.sum(y * np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(sg.grad(f)(np.array([5.0, 6.0, 7.0])), [0.0, 1.0, 3.0])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=2, max_size=5), st.integers(0, len(WRITES) - 1))
def test_repeated_indices_hypothesis(indices, which):
    assert_grad(WRITES[which], X6, np.array(indices))


# -- 1. the pieces of np.split / np.array_split used -------------------------

def split_unpacked(x):
    a, b, c = np.split(x, 3)
    return np.sum(a * b) + np.sum(np.sin(c))


def split_indexed_some(x):
    pieces = np.array_split(x, 4)  # pieces 1 and 3 unused
    return np.sum(pieces[0] ** 2) + np.sum(pieces[2] * pieces[0][0])


def split_iterated(x):
    s = 0.0
    for q in np.split(x, [1, 4]):
        s = s + np.sum(q ** 2) * np.sum(q)
    return s


def split_axis(x):
    top, bottom = np.split(x.reshape(2, 3), 2, axis=0)
    return np.sum(np.tanh(top) * bottom)


@pytest.mark.parametrize("f", [split_unpacked, split_indexed_some, split_iterated, split_axis])
def test_split_pieces(f):
    assert_grad(f, X6)
    assert_hessian(f, X6)


# -- 3. np.linalg.norm of every order, with axis -----------------------------

NORMS = [
    (1, None, (6,)), (np.inf, None, (6,)), (-np.inf, None, (6,)), (2, None, (6,)),
    (1, 1, (2, 3)), (np.inf, -1, (2, 3)), (-np.inf, 0, (2, 3)),
    ("fro", None, (2, 3)), (1, None, (2, 3)), (-1, None, (2, 3)), (np.inf, None, (2, 3)),
    (-np.inf, None, (2, 3)), ("nuc", None, (2, 3)), (2, None, (2, 3)), (-2, None, (2, 3)),
    ("nuc", (1, 2), (2, 1, 3)), (1, (2, 0), (2, 1, 3)),
]


@pytest.mark.parametrize("ord, axis, shape", NORMS, ids=str)
def test_norm_orders(ord, axis, shape):
    def f(x):
        return np.sum(np.sin(np.linalg.norm(x.reshape(shape), ord=ord, axis=axis)))
    x = np.array([0.3, -1.2, 0.7, 2.1, -0.4, 1.5])  # no ties
    assert_grad(f, x)
    if ord in ("nuc", 2, -2) and len(shape) > 1 and axis != 1:
        with pytest.raises(sg.UnsupportedSyntaxError, match="second derivative of np.linalg.norm.*test_crashes_fixed.py:"):
            sg.hessian(f)(x)
    else:
        assert_hessian(f, x)


# -- 4. a module-level array constant (in an if, or through an attribute) -----

W = np.array([1.0, -2.0, 3.0])
M32 = np.arange(6.0).reshape(3, 2) / 5


def global_in_if(x):
    if W[0] > 0:
        return np.sum(np.sin(x) * W)
    return np.sum(x)


def global_any_in_if(x):
    if np.any(W > 0):
        return np.sum(x ** 2 * W)
    return np.sum(x)


def global_attribute(x):
    return np.sum((M32.T @ x) ** 2) + np.sum(np.dot(M32.T, x))


@pytest.mark.parametrize("f", [global_in_if, global_any_in_if, global_attribute])
def test_global_array_constants(f):
    assert_grad(f, X3)
    assert_hessian(f, X3)


# -- 6. matmul of vectors and matrices, every spelling -----------------------

B = RNG.standard_normal((2, 3, 3))


@pytest.mark.parametrize("f", [
    lambda x: np.sum(np.sin(x @ M32)),
    lambda x: np.sum(np.sin(M32.T @ x)),
    lambda x: x @ x,
    lambda x: np.sum(np.matmul(x, M32) ** 2),
    lambda x: np.sum(np.dot(M32.T, x) ** 2),
    lambda x: np.sum(np.tanh(B @ x)),
    lambda x: np.sum(np.tanh(x @ B)),
    lambda x: np.dot(x, np.sin(x)),
], ids=["v@M", "M@v", "v@v", "matmul", "dot", "batched@v", "v@batched", "dot vv"])
def test_matmul_vectors(f):
    assert_grad(f, X3)
    assert_hessian(f, X3)


# -- 5. reductions along axes of a reshaped 1-d array ------------------------

@pytest.mark.parametrize("f", [
    lambda x: np.sum(x.reshape(2, 3).sum(axis=1) ** 2),
    lambda x: np.sum(x.reshape(2, 3).sum(axis=-1, keepdims=True) ** 2),
    lambda x: np.sum(np.max(x.reshape(2, 3), axis=1) ** 2),
    lambda x: np.sum(x.reshape(2, 3).mean(axis=0) ** 3),
    lambda x: np.sum(np.prod(x.reshape(3, 2), axis=-2, keepdims=True) * x.reshape(3, 2)),
    lambda x: np.sum(x.reshape(1, 2, 3).std(axis=(0, 2)) ** 2),
], ids=["sum1", "sum-1 keepdims", "max1", "mean0", "prod-2 keepdims", "std axes"])
def test_reshaped_reductions(f):
    assert_grad(f, X6)
    assert_hessian(f, X6)


# -- 7. a nested def reading a variable assigned after it --------------------

def reads_later(x):
    def inner(t):
        return y * t + np.sin(y)
    y = x ** 2
    return np.sum(inner(x))


def reads_rebound(x):
    y = x
    def inner():
        return np.sum(y * x)
    y = np.cos(x)  # the value at the call is read
    return inner()


@pytest.mark.parametrize("f", [reads_later, reads_rebound])
def test_nested_def_reads_value_at_call(f):
    assert_grad(f, X3)
    assert_hessian(f, X3)
