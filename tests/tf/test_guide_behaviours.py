"""Behaviours TensorFlow's guides show (tests/tf/guides/intro_to_modules.py):
``tf.matmul``'s InvalidArgumentError for mismatched inner dimensions, Keras 3's
"Exception encountered when calling ..." for an error in a layer's ``call``, and
Keras 3's default name of a functional model ("functional")."""

import numpy as np
import pytest

import s2sgrad.tf as tf
from s2sgrad.errors import S2SGradError


def test_matmul_of_mismatched_matrices_is_invalid_argument():
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        tf.matmul(tf.ones((1, 4)), tf.ones((3, 3)))
    assert str(caught.value) == "Matrix size-incompatible: In[0]: [1,4], In[1]: [3,3] [Op:MatMul]"
    assert caught.value.op == "MatMul"
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"In\[0\]: \[2,1,4\], In\[1\]: "
                                                             r"\[3,3\] \[Op:BatchMatMulV2\]"):
        tf.matmul(tf.ones((2, 1, 4)), tf.ones((3, 3)))
    # transposes are applied first: (4, 1)^T @ (4, 2) is fine
    got = tf.matmul(tf.ones((4, 1)), tf.ones((4, 2)), transpose_a=True)
    np.testing.assert_array_equal(got.numpy(), np.full((1, 2), 4.0, np.float32))


class Affine(tf.keras.layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight(shape=(3, 2))

    def call(self, inputs, scale=1.0):
        return tf.matmul(inputs, self.w) * scale


class Outer(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.inner = Affine()

    def call(self, x):
        return self.inner(x)


def test_an_error_in_call_names_the_layer_and_its_arguments_once():
    layer = Affine()
    layer(tf.ones((1, 3)))
    model = Outer()
    model.inner = layer
    # (the model's call fails too: only the innermost call adds its context)
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        model(tf.ones((2, 4)))
    assert str(caught.value) == (
        "Exception encountered when calling Affine.call().\n\n"
        "\x1b[1mMatrix size-incompatible: In[0]: [2,4], In[1]: [3,2] [Op:MatMul]\x1b[0m\n\n"
        "Arguments received by Affine.call():\n"
        "  \u2022 inputs=tf.Tensor(shape=(2, 4), dtype=float32)\n"
        "  \u2022 scale=1.0")


class Failing(tf.keras.layers.Layer):
    def call(self, inputs, table):
        return table[inputs.shape[0]]


def test_python_errors_keep_their_class_and_other_arguments_their_repr():
    with pytest.raises(KeyError) as caught:
        Failing()(tf.ones((2,)), {"a": 1})
    message = caught.value.args[0]
    assert message.startswith("Exception encountered when calling Failing.call().\n\n\x1b[1m2\x1b[0m")
    # (Keras maps its formatting over structures: the 1 becomes the string '1')
    assert message.endswith("  \u2022 inputs=tf.Tensor(shape=(2,), dtype=float32)\n"
                            "  \u2022 table={'a': '1'}")


class Unsupported(tf.keras.layers.Layer):
    def call(self, inputs):
        raise S2SGradError("not differentiable here")


def test_s2sgrad_errors_pass_unchanged():
    with pytest.raises(S2SGradError) as caught:
        Unsupported()(tf.ones((2,)))
    assert str(caught.value) == "not differentiable here"


def test_a_functional_model_is_named_as_keras_3_names_it():
    inputs = tf.keras.Input(shape=(3,))
    first = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(inputs))
    second = tf.keras.Model(inputs=inputs, outputs=tf.keras.layers.Dense(2)(inputs))
    named = tf.keras.Model(inputs, tf.keras.layers.Dense(2)(inputs), name="mine")
    assert first.name.startswith("functional") and second.name.startswith("functional")
    assert first.name != second.name and named.name == "mine"
    assert not Outer().name.startswith("functional")
