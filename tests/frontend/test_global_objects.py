"""Objects of the user's classes defined at module level and used inside a
differentiated function: ``layer(x)`` (``__call__``), ``layer.forward(x)``,
methods calling other methods through ``self``, objects holding objects.
Their bodies are inlined with ``self`` read as the global object, so the
gradient is the one of the same code written out by hand."""

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.errors import UnsupportedSyntaxError
from tests.fd import assert_grad_close, numerical_grad


class Dense:
    def __init__(self, n_in, n_out, seed):
        rng = np.random.default_rng(seed)
        self.W = rng.normal(size=(n_out, n_in)) * 0.5
        self.b = rng.normal(size=n_out) * 0.1

    def activation(self, z):
        return np.tanh(z)

    def __call__(self, x):
        return self.activation(self.W @ x + self.b)


class Scaled:
    def __init__(self, inner, scale):
        self.inner = inner
        self.scale = scale

    def __call__(self, x):
        return self.scale * self.inner(x)

    def forward(self, x):
        return self(x) + self.inner.b[0]


class Model:
    def __init__(self):
        self.layers = [Dense(3, 4, 0), Dense(4, 2, 1)]
        self.first = Dense(3, 3, 2)
        self.head = Scaled(Dense(3, 2, 3), 1.5)

    def loss(self, x, y):
        h = self.first(x)
        return np.sum((self.head.forward(h) - y) ** 2)


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, x):
        self.calls += 1
        return x * 2.0


layer = Dense(3, 4, 7)
scaled = Scaled(Dense(3, 2, 8), 2.5)
model = Model()
counter = Counter()
vectorised = np.vectorize(lambda v: v * 2.0)
X = np.array([0.3, -0.7, 1.1])


def call_object(x):
    return np.sum(layer(x) ** 2)


def call_method(x):
    return np.sum(layer.activation(x * 3.0) * x)


def call_nested(x):
    return np.sum(scaled(x) ** 2) + np.sum(scaled.forward(x))


def call_model_method(x):
    return model.loss(x, np.array([0.5, -0.5]))


def call_in_loop(x):
    total = 0.0
    for _ in range(3):
        x = np.tanh(layer.W[:3] @ x)
        total = total + np.sum(scaled(x))
    return total


CASES = [call_object, call_method, call_nested, call_model_method, call_in_loop]


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_gradient_matches_finite_differences(f):
    assert_grad_close(sg.grad(f)(X), f, [X])


@pytest.mark.parametrize("f", CASES, ids=lambda f: f.__name__)
def test_forward_mode_matches_finite_differences(f):
    direction = np.array([0.2, 0.5, -1.0])
    _, tangent = sg.jvp(f)(X, direction)
    expected = np.dot(numerical_grad(f, [X]), direction)
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f", [call_object, call_nested], ids=lambda f: f.__name__)
def test_hessian_matches_finite_differences_of_the_gradient(f):
    hessian = np.asarray(sg.hessian(f)(X))
    g = sg.grad(f)
    eps = 1e-5
    expected = np.array([(g(X + eps * e) - g(X - eps * e)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(hessian, expected, rtol=1e-5, atol=1e-7)


def test_generated_code_reads_the_objects_attributes():
    text = sg.source(call_object)
    assert "layer.W" in text and "layer.b" in text
    assert "call_vjp" not in text  # inlined: no call into a second generated function


class Act:
    def __init__(self):
        self.k = 2.0

    def __call__(self, x):
        return np.sin(self.k * x)


act_object = Act()


def call_act(x):
    return np.sum(act_object(x))


def test_a_replaced_method_is_noticed(monkeypatch):
    np.testing.assert_allclose(sg.grad(call_act)(X), 2.0 * np.cos(2.0 * X))
    monkeypatch.setattr(Act, "__call__", lambda self, x: self.k * x ** 2)
    np.testing.assert_allclose(sg.grad(call_act)(X), 4.0 * X)


def test_an_object_that_writes_its_own_attributes_is_refused():
    def f(x):
        return np.sum(counter(x))

    with pytest.raises(UnsupportedSyntaxError, match="test_global_objects.py") as raised:
        sg.grad(f)(X)
    assert "Counter.__call__()" in str(raised.value) and "'self'" in str(raised.value)


def test_library_callables_are_not_taken_for_user_objects():
    def f(x):
        return np.sum(vectorised(x))

    with pytest.raises(UnsupportedSyntaxError):
        sg.grad(f)(X)


class Cell:
    def __init__(self, W, k):
        self.W = W
        self.k = k

    def __call__(self, x):
        return self.k * np.tanh(self.W @ x)

    def loss(self, x):
        return np.sum(self(x) ** 2)


def local_object_called(W):
    cell = Cell(W, 2.0)
    return np.sum(cell(np.ones(3)))


def local_object_calling_itself(W):
    cell = Cell(W, 0.5)
    return cell.loss(np.array([0.2, -0.4, 0.9]))


@pytest.mark.parametrize("f", [local_object_called, local_object_calling_itself],
                         ids=lambda f: f.__name__)
def test_local_object_with_call(f):
    W = np.random.default_rng(3).normal(size=(2, 3))
    assert_grad_close(sg.grad(f)(W), f, [W])
    u = np.random.default_rng(4).normal(size=W.shape)
    _, tangent = sg.jvp(f)(W, u)
    np.testing.assert_allclose(tangent, np.sum(numerical_grad(f, [W]) * u), rtol=1e-6)
