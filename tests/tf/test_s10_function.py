"""``tf.function`` as the "Better performance with tf.function" guide uses it
with variables and gradients (guides/function_gradients.py):

* ``get_concrete_function(*args)``: TensorFlow's ConcreteFunction takes the
  tensor arguments only, the Python ones bound when it was made (the guide's
  ``train_step_1 = tf.function(train_step).get_concrete_function(w, x, y, opt1)``
  then ``train_step_1(w, x, y)``: "`opt1` is not used as a parameter");
* a variable returned from a ``tf.function`` comes back as a tensor of its
  value (TensorFlow converts a function's outputs to tensors: the guide's
  ``Count`` prints ``tf.Tensor(1, shape=(), dtype=int32)``), and a tape
  reading it reads the variable;
* ``tf.TensorSpec(None)`` is a spec of any shape (TensorFlow: "shape: Value
  convertible to tf.TensorShape", None being an unknown rank), printed
  ``TensorSpec(shape=<unknown>, dtype=tf.float32, name=None)``.
"""

import numpy as np
import pytest

import s2sgrad.tf as tf


def test_concrete_functions_bind_their_python_arguments():
    opt1 = tf.keras.optimizers.Adam(learning_rate=1e-2)
    opt2 = tf.keras.optimizers.Adam(learning_rate=1e-3)

    def train_step(w, x, y, optimizer):
        with tf.GradientTape() as tape:
            L = tf.reduce_sum(tf.square(w * x - y))
        gradients = tape.gradient(L, [w])
        optimizer.apply_gradients(zip(gradients, [w]))

    w = tf.Variable(2.0)
    x = tf.constant([-1.0])
    y = tf.constant([2.0])
    step1 = tf.function(train_step).get_concrete_function(w, x, y, opt1)
    step2 = tf.function(train_step).get_concrete_function(w, x, y, opt2)
    # alternating; Keras 3's Adam in float64: alpha = lr sqrt(1 - b2^t) / (1 - b1^t),
    # each optimizer's moments seeing the other's steps in w
    states = {1: (0.0, 0.0, 0), 2: (0.0, 0.0, 0)}
    expected = 2.0
    for i in range(10):
        which, lr = (1, 1e-2) if i % 2 == 0 else (2, 1e-3)
        (step1 if which == 1 else step2)(w, x, y)
        m, v, t = states[which]
        g = 2 * (expected * -1.0 - 2.0) * -1.0
        t += 1
        m += (g - m) * 0.1
        v += (g * g - v) * 0.001
        expected -= m * lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t) / (np.sqrt(v) + 1e-7)
        states[which] = (m, v, t)
    assert opt1.iterations.numpy() == 5 and opt2.iterations.numpy() == 5
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-6)


def test_a_concrete_function_checks_its_tensor_arguments():
    def scale(x, factor):
        return x * factor

    concrete = tf.function(scale).get_concrete_function(tf.TensorSpec([None, 2]), 3.0)
    np.testing.assert_array_equal(concrete(tf.ones([4, 2])).numpy(), np.full((4, 2), 3.0, np.float32))
    with pytest.raises(TypeError, match="tensor arguments only"):
        concrete(tf.ones([4, 2]), 3.0)
    with pytest.raises(TypeError, match="does not fit"):
        concrete(tf.ones([4, 3]))
    from_tensor = tf.function(scale).get_concrete_function(tf.ones([2]), factor=2.0)
    np.testing.assert_array_equal(from_tensor(tf.constant([1.0, 2.0])).numpy(), [2.0, 4.0])


def test_a_method_concrete_function_binds_the_instance():
    class Scaler(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(3.0)

        @tf.function
        def __call__(self, x):
            return self.w * x

    scaler = Scaler()
    concrete = scaler.__call__.get_concrete_function(tf.TensorSpec([]))
    assert concrete(tf.constant(2.0)).numpy() == 6.0


def test_a_returned_variable_is_a_tensor_and_its_gradient_reaches_the_variable():
    class Count(tf.Module):
        def __init__(self):
            self.count = None

        @tf.function
        def __call__(self):
            if self.count is None:
                self.count = tf.Variable(0)
            return self.count.assign_add(1)

    c = Count()
    first, second = c(), c()
    assert type(first).__name__ == "EagerTensor" and str(first) == "tf.Tensor(1, shape=(), dtype=int32)"
    assert str(second) == "tf.Tensor(2, shape=(), dtype=int32)"

    v = tf.Variable([1.0, 2.0])

    @tf.function
    def both():
        return [v, {"v": v}], v * 2.0

    with tf.GradientTape() as tape:
        (first, holder), doubled = both()
        y = tf.reduce_sum(first * 3.0) + tf.reduce_sum(holder["v"]) + tf.reduce_sum(doubled)
    assert type(first).__name__ == type(holder["v"]).__name__ == "EagerTensor"
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [6.0, 6.0])


def test_tensor_spec_none_is_any_shape():
    spec = tf.TensorSpec(None)
    assert repr(spec) == "TensorSpec(shape=<unknown>, dtype=tf.float32, name=None)"
    assert repr(spec.shape) == "TensorShape(None)" and spec.shape.rank is None
    assert spec.is_compatible_with(tf.ones([2, 3])) and spec.is_compatible_with(tf.constant(1.0))
    assert not spec.is_compatible_with(tf.constant(1))
    assert spec != tf.TensorSpec([]) and spec == tf.TensorSpec(None)

    @tf.function(input_signature=[tf.TensorSpec(None)])
    def total(x):
        return tf.reduce_sum(x)

    assert total(tf.ones([2, 3])).numpy() == 6.0 and total(tf.constant(2.0)).numpy() == 2.0
    assert total.experimental_get_tracing_count() == 1
