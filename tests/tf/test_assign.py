"""What ``tf.Variable.assign`` / ``assign_add`` / ``assign_sub`` return.

TensorFlow (``resource_variable_ops.BaseResourceVariable.assign``): with
``read_value=True`` the result is ``self._lazy_read(assign_op)``, an
``_UnreadVariable`` sharing the variable's handle, printed as
``<tf.Variable 'UnreadVariable' shape=(1, 1) dtype=float32, numpy=array([[3.]],
dtype=float32)>`` (tensorflow/tensorflow#35781); with ``read_value=False``
the assign op, which is None when executing eagerly.
"""

import numpy as np

import s2sgrad.tf as tf


def test_assign_returns_an_unread_variable_printed_as_tensorflow_does():
    v = tf.Variable([[1.0]])
    assert repr(v.assign([[3.0]])) == (
        "<tf.Variable 'UnreadVariable' shape=(1, 1) dtype=float32, "
        "numpy=array([[3.]], dtype=float32)>")
    assert str(tf.Variable(2.0).assign_add(1.0)) == (
        "<tf.Variable 'UnreadVariable' shape=() dtype=float32, numpy=3.0>")
    assert repr(v) == "<tf.Variable 'Variable:0' shape=(1, 1) dtype=float32, numpy=array([[3.]], dtype=float32)>"


def test_read_value_false_returns_none():
    v = tf.Variable(1.0)
    assert v.assign(2.0, read_value=False) is None
    assert v.assign_add(1.0, read_value=False) is None
    assert v.assign_sub(0.5, read_value=False) is None
    assert v.numpy() == 2.5


def test_the_result_is_the_variable_under_another_name():
    v = tf.Variable([1.0, 2.0])
    alias = v.assign([3.0, 4.0])
    v.assign_add([1.0, 1.0])
    np.testing.assert_array_equal(alias.numpy(), [4.0, 5.0])  # reads the variable now
    alias.assign_sub([4.0, 4.0])
    np.testing.assert_array_equal(v.numpy(), [0.0, 1.0])  # assigns the variable
    assert alias.name == v.name and alias.dtype == tf.float32 and alias.shape == (2,)


def test_a_tape_reading_the_result_differentiates_the_variable():
    v = tf.Variable([1.0, 2.0])
    alias = v.assign([3.0, -4.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(alias * alias) + tf.reduce_sum(v)
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), 2 * np.array([3.0, -4.0]) + 1)
    assert tape.watched_variables() == (v,) and tape.watched_variables()[0] is v
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(v * v)
    np.testing.assert_allclose(tape.gradient(y, alias).numpy(), [6.0, -8.0])
