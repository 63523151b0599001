"""``tf.custom_gradient`` of a function that reads ``tf.Variable``s, TensorFlow's contract.

TensorFlow's documentation (tf.custom_gradient, 2.21): "If f uses Variables
(that are not part of the inputs), i.e. through get_variable, then grad_fn
should have signature g(*grad_ys, variables=None), where variables is a list
of the Variables, and return a 2-tuple (grad_xs, grad_vars) ... grad_vars is
a list<Tensor> with the derivatives of Tensors in y with respect to the
variables". Its eager decorator (custom_gradient.py, ``_eager_mode_decorator``)
takes the variables the function read that are *not* among its flattened
inputs, raises TypeError "@tf.custom_gradient grad_fn must accept keyword
argument 'variables', since function uses variables: ..." when ``grad_fn``
cannot take them, and ValueError "Must return gradient for each variable from
@custom_gradient grad_fn." for a wrong count. A variable passed as an input
is an input: its gradient is among ``grad_xs``.

Every custom gradient below is the function's true gradient, so the tape's
results are checked against finite differences of the plain function.
"""

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad

W0 = np.array([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]])
B0 = np.array([0.1, -0.3])
X0 = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])


def dense_loss(x, w, b):
    return float(np.sum(np.tanh(x @ w + b) ** 2))


def dense_grads(x, w, b, upstream):
    """d loss / d (x, w, b) for ``loss = upstream * sum(tanh(x @ w + b) ** 2)``."""
    h = np.tanh(x @ w + b)
    dz = upstream * 2 * h * (1 - h * h)
    return dz @ w.T, x.T @ dz, dz.sum(axis=0)


def _numpy(t):
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)


def test_closed_over_variables_are_passed_and_their_gradients_used():
    w = tf.Variable(W0, dtype=tf.float64)
    b = tf.Variable(B0, dtype=tf.float64)
    seen = {}

    @tf.custom_gradient
    def layer_loss(x):
        y = tf.reduce_sum(tf.tanh(tf.matmul(x, w) + b) ** 2)

        def grad_fn(upstream, variables=None):
            seen["variables"] = variables
            dx, dw, db = dense_grads(_numpy(x), w.numpy(), b.numpy(), _numpy(upstream))
            return dx, [dw, db]

        return y, grad_fn

    x = tf.constant(X0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = 3.0 * layer_loss(x)
    gx, gw, gb = tape.gradient(loss, [x, w, b])
    assert [v is u for v, u in zip(seen["variables"], (w, b))] == [True, True]
    np.testing.assert_allclose(gx.numpy(), 3 * numerical_grad(dense_loss, (X0, W0, B0), 0), rtol=1e-6)
    np.testing.assert_allclose(gw.numpy(), 3 * numerical_grad(dense_loss, (X0, W0, B0), 1), rtol=1e-6)
    np.testing.assert_allclose(gb.numpy(), 3 * numerical_grad(dense_loss, (X0, W0, B0), 2), rtol=1e-6)


def test_a_variable_passed_as_an_input_is_an_input():
    # TensorFlow: "variables used that are *not* part of the inputs"; grad_fn
    # without a variables argument is then fine, and returns the input's gradient
    w = tf.Variable(W0, dtype=tf.float64)

    @tf.custom_gradient
    def layer_loss(x, kernel):
        y = tf.reduce_sum(tf.tanh(tf.matmul(x, kernel) + B0) ** 2)

        def grad_fn(upstream):
            dx, dw, _ = dense_grads(_numpy(x), _numpy(kernel), B0, _numpy(upstream))
            return dx, dw

        return y, grad_fn

    x = tf.constant(X0)
    with tf.GradientTape() as tape:
        loss = layer_loss(x, w)
    (gw,) = tape.gradient(loss, [w])
    np.testing.assert_allclose(gw.numpy(), numerical_grad(dense_loss, (X0, W0, B0), 1), rtol=1e-6)


def test_a_single_variable_input_with_a_one_argument_grad_fn():
    v = tf.Variable(1.5, dtype=tf.float64)

    @tf.custom_gradient
    def cube(t):
        def grad_fn(upstream):
            return upstream * 3 * t * t

        return t * t * t, grad_fn

    with tf.GradientTape() as tape:
        y = cube(v)
    assert tape.gradient(y, v).numpy() == pytest.approx(3 * 1.5 ** 2)


def test_inputs_and_closed_over_variables_together():
    # the input variable is not in `variables`; the closed-over one is
    w = tf.Variable(W0, dtype=tf.float64)
    b = tf.Variable(B0, dtype=tf.float64)
    seen = {}

    @tf.custom_gradient
    def layer_loss(x, kernel):
        y = tf.reduce_sum(tf.tanh(tf.matmul(x, kernel) + b) ** 2)

        def grad_fn(upstream, variables=None):
            seen["variables"] = list(variables)
            dx, dw, db = dense_grads(_numpy(x), _numpy(kernel), b.numpy(), _numpy(upstream))
            return (dx, dw), [db]

        return y, grad_fn

    x = tf.constant(X0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = layer_loss(x, w)
    gx, gw, gb = tape.gradient(loss, [x, w, b])
    assert len(seen["variables"]) == 1 and seen["variables"][0] is b
    for got, argnum in ((gx, 0), (gw, 1), (gb, 2)):
        np.testing.assert_allclose(got.numpy(), numerical_grad(dense_loss, (X0, W0, B0), argnum), rtol=1e-6)


def test_second_order_through_a_variable_gradient():
    # y = v * x**2, grad_fn in tf ops: d/dv (dy/dv) = 0, d/dx (dy/dv) = 2x
    v = tf.Variable(2.0, dtype=tf.float64)

    @tf.custom_gradient
    def scaled_square(x):
        def grad_fn(upstream, variables=None):
            return upstream * 2 * v * x, [upstream * x * x]

        return v * x * x, grad_fn

    x = tf.Variable(3.0, dtype=tf.float64)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = scaled_square(x)
        dy_dv = inner.gradient(y, v)
    d2x, d2v = outer.gradient(dy_dv, [x, v], unconnected_gradients="zero")
    assert dy_dv.numpy() == pytest.approx(9.0)
    assert d2x.numpy() == pytest.approx(6.0) and d2v.numpy() == 0.0


def test_grad_fn_without_variables_keyword_is_tensorflows_type_error():
    v = tf.Variable(2.0)

    @tf.custom_gradient
    def scaled(x):
        return x * v, lambda upstream: upstream * v

    with tf.GradientTape():
        with pytest.raises(TypeError, match="grad_fn must accept keyword argument 'variables', "
                                            "since function uses variables"):
            scaled(tf.constant(1.0))


def test_wrong_number_of_variable_gradients_is_tensorflows_value_error():
    v = tf.Variable(2.0)
    u = tf.Variable(1.0)

    @tf.custom_gradient
    def scaled(x):
        def grad_fn(upstream, variables=None):
            return upstream * v, [upstream * x]  # two variables, one gradient

        return x * v * u, grad_fn

    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = scaled(x)
    with pytest.raises(ValueError, match="Must return gradient for each variable from @custom_gradient grad_fn."):
        tape.gradient(y, [x, v, u])


def test_structured_inputs_count_their_leaves():
    # TensorFlow flattens the positional arguments (nest.flatten): f([a, b]) has
    # two inputs and grad_fn returns a gradient for each, in any structure
    @tf.custom_gradient
    def product(pair, scale):
        a, b = pair["a"], pair["b"]

        def grad_fn(upstream):
            return {"a": upstream * b * scale, "b": upstream * a * scale}, upstream * a * b

        return a * b * scale, grad_fn

    a, b, s = (tf.Variable(v, dtype=tf.float64) for v in (2.0, 3.0, 0.5))
    with tf.GradientTape() as tape:
        y = product({"b": b, "a": a}, s)
    grads = tape.gradient(y, [a, b, s])
    assert [g.numpy() for g in grads] == pytest.approx([1.5, 1.0, 6.0])


def test_structured_inputs_with_too_few_gradients_is_tensorflows_value_error():
    @tf.custom_gradient
    def total(xs):
        return xs[0] + xs[1], lambda upstream: upstream

    x = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = total([x, x * 2.0])
    with pytest.raises(ValueError, match="expected to return 2 gradients, but returned 1 instead"):
        tape.gradient(y, x)
