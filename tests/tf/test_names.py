"""Names TensorFlow's guides use: TensorSpec, device, einsum, linalg.solve, errors,
and tf.function tracing once per input signature.

References: tensorflow.org/api_docs/python/tf/TensorSpec (repr
``TensorSpec(shape=(None,), dtype=tf.int32, name=None)``); tf/reshape ("If
one component of shape is the special value -1, the size of that dimension
is computed so that the total size remains constant"; a size mismatch is
``InvalidArgumentError: ... Input to reshape is a tensor with 6 values, but
the requested shape has 4 [Op:Reshape]``); the guide "Introduction to
graphs and tf.function" and "TensorFlow basics": ``my_func`` printing
"Tracing." is called with int32 [1, 2, 3], int32 [10, 9, 8] and float32
[10.0, 9.1, 8.2] and prints "Tracing." twice; ``f(1); f(1); f(2)`` prints
"Tracing with 1" and "Tracing with 2" (Python values are part of the
signature) while ``tf.print`` executes every call.
"""

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad


def test_tensor_spec():
    spec = tf.TensorSpec(shape=[None], dtype=tf.int32)
    assert repr(spec) == "TensorSpec(shape=(None,), dtype=tf.int32, name=None)"
    assert repr(tf.TensorSpec((2, 3))) == "TensorSpec(shape=(2, 3), dtype=tf.float32, name=None)"
    assert spec.is_compatible_with(tf.constant([1, 2, 3]))
    assert not spec.is_compatible_with(tf.constant([1.0]))
    assert not spec.is_compatible_with(tf.constant([[1]]))
    assert tf.TensorSpec.from_tensor(tf.ones((2,))) == tf.TensorSpec((2,), tf.float32)


def test_device_is_accepted():
    with tf.device("CPU:0"):
        x = tf.constant(1.0) + 1
    assert x.numpy() == 2.0


def test_reshape_errors_are_invalid_argument_errors():
    x = tf.range(6)
    assert tf.reshape(x, [-1, 3]).shape == (2, 3)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"tensor with 6 values, but the requested shape has 4 \[Op:Reshape\]"):
        tf.reshape(x, [2, 2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="requires a multiple of 4"):
        tf.reshape(x, [-1, 4])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Only one input size may be -1"):
        tf.reshape(x, [-1, -1])
    assert issubclass(tf.errors.InvalidArgumentError, tf.errors.OpError)
    try:
        tf.reshape(x, [4])
    except tf.errors.OpError as e:
        assert e.op == "Reshape" and e.error_code == tf.errors.INVALID_ARGUMENT


def test_einsum_and_solve_values():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(tf.einsum("ij,jk->ik", a, b).numpy(), a @ b)
    m = np.array([[3.0, 1.0], [1.0, 2.0]])
    rhs = np.array([[9.0], [8.0]])
    np.testing.assert_allclose(tf.linalg.solve(m, rhs).numpy(), [[2.0], [3.0]])
    np.testing.assert_allclose(tf.linalg.solve(m, rhs, adjoint=True).numpy(),
                               np.linalg.solve(m.T, rhs))


def test_einsum_and_solve_gradients():
    rng = np.random.default_rng(0)
    a0, m0 = rng.normal(size=(2, 3)), rng.normal(size=(3, 3)) + 3 * np.eye(3)
    rhs = rng.normal(size=(3, 2))
    a, m = tf.Variable(a0), tf.Variable(m0)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.einsum("ij,jk->ik", a, tf.linalg.solve(m, rhs)) ** 2)
        loss += tf.reduce_sum(tf.linalg.solve(m, rhs, adjoint=True) ** 3)
    ga, gm = tape.gradient(loss, [a, m])

    def f(a, m):
        return np.sum((a @ np.linalg.solve(m, rhs)) ** 2) + np.sum(np.linalg.solve(m.T, rhs) ** 3)

    np.testing.assert_allclose(ga.numpy(), numerical_grad(f, [a0, m0], 0), rtol=1e-5)
    np.testing.assert_allclose(gm.numpy(), numerical_grad(f, [a0, m0], 1), rtol=1e-5)


# -- tf.function: Python side effects once per trace -------------------------------------


def test_tracing_once_per_shape_and_dtype(capsys):
    @tf.function
    def my_func(x):
        print("Tracing.")
        return tf.reduce_sum(x)

    assert my_func(tf.constant([1, 2, 3])).numpy() == 6
    assert my_func(tf.constant([10, 9, 8])).numpy() == 27
    assert my_func(tf.constant([10.0, 9.1, 8.2], dtype=tf.float32)).dtype == tf.float32
    assert capsys.readouterr().out == "Tracing.\nTracing.\n"
    assert my_func.experimental_get_tracing_count() == 2
    my_func(tf.constant([1, 2]))  # a new shape: traced again
    assert capsys.readouterr().out == "Tracing.\n"


def test_python_values_are_part_of_the_signature_and_tf_print_runs_each_call(capsys):
    @tf.function
    def f(x):
        print("Tracing with", x)
        tf.print("Executing with", x)

    f(1)
    f(1)
    f(2)
    captured = capsys.readouterr()
    assert captured.out == "Tracing with 1\nTracing with 2\n"
    assert captured.err == "Executing with 1\nExecuting with 1\nExecuting with 2\n"


def test_a_print_of_the_users_own_is_not_touched(capsys):
    lines = []

    @tf.function
    def f(x, print=lines.append):
        print(x)
        return x

    f(1)
    f(1)
    assert lines == [1, 1] and capsys.readouterr().out == ""


def test_input_signature_traces_once_and_checks_arguments(capsys):
    @tf.function(input_signature=(tf.TensorSpec(shape=[None], dtype=tf.int32),))
    def g(x):
        print("Tracing g")
        return x + 1

    assert g(tf.constant([1, 2])).numpy().tolist() == [2, 3]
    g(tf.constant([1, 2, 3]))
    assert capsys.readouterr().out == "Tracing g\n"
    with pytest.raises(TypeError, match="input_signature"):
        g(tf.constant([1.0]))


def test_tracing_with_a_tape_block_keeps_values(capsys):
    w = tf.Variable(2.0)

    @tf.function
    def step(x):
        print("tracing step")
        with tf.GradientTape() as tape:
            loss = w * x * x
        return loss, tape.gradient(loss, w)

    for _ in range(3):
        loss, grad = step(tf.constant(3.0))
    assert (loss.numpy(), grad.numpy()) == (18.0, 9.0)
    assert capsys.readouterr().out == "tracing step\n"
