"""SPEC 4: in ``s2sgrad.tf`` a NumPy function applied to a tensor behaves as in
TensorFlow -- it returns a NumPy value outside the tape (the gradient through
it is None, with the warning of SPEC 2) -- while the tf namespace's own ops,
Keras and the derivative rules keep recording.

TensorFlow's guide "Customization basics: tensors and operations": "NumPy
operations automatically convert Tensors to NumPy ndarrays", shown by
``np.add(tensor, 1)`` printing an ndarray. An ``EagerTensor`` converts
through ``__array__`` and has ``__array_priority__ = 100``, so ``ndarray *
tensor`` defers to the tensor's ``__rmul__`` (a tensor), and ``ndarray +=
tensor`` writes into the array.
"""

import math
import warnings

import numpy as np
import pytest

import s2sgrad as sg
import s2sgrad.tf as tf


def test_numpy_functions_give_numpy_values():
    t = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    added = np.add(t, 1)
    assert type(added) is np.ndarray and added.dtype == np.float32
    np.testing.assert_array_equal(added, [[2.0, 3.0], [4.0, 5.0]])
    assert type(np.sin(tf.constant(1.0))) is np.float32
    assert type(np.sum(t)) is np.float32 and np.sum(t) == 10.0
    assert type(np.concatenate([t, t])) is np.ndarray
    assert type(np.mean(tf.Variable([1.0, 2.0]))) is np.float32
    assert type(np.asarray(t)) is np.ndarray and type(t.numpy()) is np.ndarray
    assert np.shape(t) == (2, 2)
    assert type(np.maximum.reduce(t, axis=0)) is np.ndarray


def test_operators_with_arrays_stay_tensors():
    t = tf.constant([1.0, 2.0])
    for result in (np.ones(2) * t, np.ones(2) + t, np.float32(2.0) * t, np.ones(2) < t):
        assert isinstance(result, tf.Tensor)
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(np.array([3.0, 4.0], np.float32) * x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [3.0, 4.0])


def test_in_place_operators_write_into_the_array():
    a = np.zeros(2, np.float32)
    a += tf.constant([1.0, 2.0])
    np.testing.assert_array_equal(a, [1.0, 2.0])


def test_the_gradient_through_a_numpy_function_is_none_with_a_warning():
    x = tf.Variable(0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with tf.GradientTape(persistent=True) as tape:
            s = np.sin(x)
            y = x * s  # comes back
            z = x * tf.sin(x)
    assert type(s) is np.float32
    assert tape.gradient(y, x).numpy() == pytest.approx(np.sin(0.5))  # s is a constant
    assert tape.gradient(z, x).numpy() == pytest.approx(np.sin(0.5) + 0.5 * np.cos(0.5))
    ours = [w for w in caught if issubclass(w.category, sg.S2SGradWarning)]
    assert len(ours) == 1 and "`np.sin(x)`" in str(ours[0].message)
    assert ours[0].filename == __file__


def test_a_loss_made_by_numpy_functions_only_has_no_gradient():
    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        loss = np.sum(np.square(x))
    assert type(loss) is np.float32
    with pytest.raises(TypeError):  # as TensorFlow: the target must be a tensor
        tape.gradient(loss, x)


def test_values_taken_out_warn_in_tf_too_and_follow_the_filters():
    x = tf.Variable(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sg.S2SGradWarning)
        with tf.GradientTape():
            c = x.numpy()
            with pytest.raises(sg.S2SGradWarning, match="numpy"):
                x * c
        with tf.GradientTape():
            with pytest.raises(sg.S2SGradWarning, match="math.exp"):
                x + math.exp(x)


def test_tf_ops_keras_and_second_derivatives_keep_recording():
    x = tf.Variable([0.3, -0.7])
    with warnings.catch_warnings():
        warnings.simplefilter("error", sg.S2SGradWarning)  # nothing leaves the tape here
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                y = tf.reduce_sum(tf.sin(x) * tf.exp(x)) + tf.reduce_mean(tf.nn.softmax(x) * x)
            g = inner.gradient(y, x)
        h = outer.gradient(g, x)
        layer = tf.keras.layers.Dense(2, kernel_initializer="ones")
        with tf.GradientTape() as tape:
            out = tf.reduce_sum(layer(tf.reshape(x, (1, 2))) ** 2)
        kernel_grad, bias_grad = tape.gradient(out, layer.trainable_variables)

    def f(v):
        e = np.exp(v - v.max())
        return np.sum(np.sin(v) * np.exp(v)) + np.mean(e / e.sum() * v)

    from tests.fd import numerical_grad, numerical_jacobian
    x0 = x.numpy().astype(np.float64)
    np.testing.assert_allclose(g.numpy(), numerical_grad(f, [x0]), rtol=1e-4, atol=1e-5)
    hessian = numerical_jacobian(lambda v: numerical_grad(f, [v]), [x0])
    np.testing.assert_allclose(h.numpy(), hessian.sum(axis=0), rtol=1e-3, atol=1e-4)
    s = x0.sum()
    np.testing.assert_allclose(kernel_grad.numpy(), np.outer(x0, [2 * s, 2 * s]), rtol=1e-5)
    np.testing.assert_allclose(bias_grad.numpy(), [2 * s, 2 * s], rtol=1e-5)


def test_sg_tapes_record_numpy_functions():
    x = sg.Variable(0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sg.S2SGradWarning)
        with sg.GradientTape() as tape:
            y = x * np.sin(x)
    assert isinstance(y, sg.Tensor)
    assert tape.gradient(y, x).numpy() == pytest.approx(np.sin(0.5) + 0.5 * np.cos(0.5))
