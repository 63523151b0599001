"""The ops of ``s2sgrad.tf`` beyond the seeds' (sorting, gathers and scatters,
control flow, segment sums, the error function, matrix functions): values as
TensorFlow defines them, gradients through the tape against central finite
differences in float64."""

import math

import numpy as np
import pytest

import s2sgrad.tf as tf

RNG = np.random.default_rng(11)


def _fd(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (f(x + e) - f(x - e)) / (2 * eps)
    return g


def _check_gradient(op, x, rtol=1e-6, atol=1e-8):
    """tape.gradient of sum(op(x) * w) against finite differences of the same in float64."""
    out = op(tf.constant(x))
    w = RNG.normal(size=np.shape(np.asarray(out)))

    def scalar(value):
        return float(np.sum(np.asarray(op(tf.constant(value))) * w))

    t = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(t)
        loss = tf.reduce_sum(op(t) * w)
    np.testing.assert_allclose(np.asarray(tape.gradient(loss, t)), _fd(scalar, x), rtol=rtol, atol=atol)


def test_sort_argsort_top_k_unique():
    x = np.array([[3.0, -1.0, 2.5, 0.5], [0.1, 4.0, -2.0, 1.0]])
    np.testing.assert_array_equal(tf.sort(x).numpy(), np.sort(x))
    np.testing.assert_array_equal(tf.sort(x, direction="DESCENDING").numpy(), -np.sort(-x))
    np.testing.assert_array_equal(tf.argsort(x).numpy(), np.argsort(x))
    assert tf.argsort(x).dtype == tf.int32
    np.testing.assert_array_equal(tf.argsort([1.0, 3.0, 3.0, 2.0], direction="DESCENDING").numpy(),
                                  [1, 2, 3, 0])  # ties keep their order
    values, indices = tf.math.top_k(x, k=2)
    np.testing.assert_array_equal(values.numpy(), [[3.0, 2.5], [4.0, 1.0]])
    np.testing.assert_array_equal(indices.numpy(), [[0, 2], [1, 3]])
    y, idx = tf.unique([4, 1, 4, 2, 1])
    assert y.numpy().tolist() == [4, 1, 2] and idx.numpy().tolist() == [0, 1, 0, 2, 1]
    _check_gradient(lambda t: tf.sort(t, axis=-1), x)
    _check_gradient(lambda t: tf.sort(t, direction="DESCENDING", axis=0), x)
    _check_gradient(lambda t: tf.math.top_k(t, k=3).values, x)


def test_masks_gathers_and_scatters():
    x = RNG.normal(size=(3, 4))
    mask = np.array([True, False, True])
    np.testing.assert_array_equal(tf.boolean_mask(x, mask).numpy(), x[mask])
    np.testing.assert_array_equal(tf.sequence_mask([1, 3], 4).numpy(),
                                  [[True, False, False, False], [True, True, True, False]])
    idx = np.array([[0, 1], [2, 3], [0, 1]])
    np.testing.assert_array_equal(tf.gather_nd(x, idx).numpy(), x[[0, 2, 0], [1, 3, 1]])
    _check_gradient(lambda t: tf.boolean_mask(t, mask), x)
    _check_gradient(lambda t: tf.gather_nd(t, idx), x)   # a repeated index accumulates
    scattered = tf.scatter_nd([[1], [3], [1]], tf.constant([1.0, 2.0, 3.0]), [5])
    np.testing.assert_array_equal(scattered.numpy(), [0, 4, 0, 2, 0])  # repeats add, as in TF
    updates = RNG.normal(size=2)
    place = np.array([[0, 0], [2, 1]])
    expected = x.copy()
    expected[0, 0], expected[2, 1] = updates
    np.testing.assert_allclose(tf.tensor_scatter_nd_update(x, place, updates).numpy(), expected)
    added = x.copy()
    added[0, 0] += updates[0]
    added[2, 1] += updates[1]
    np.testing.assert_allclose(tf.tensor_scatter_nd_add(x, place, updates).numpy(), added)
    _check_gradient(lambda t: tf.tensor_scatter_nd_update(t, place, updates), x)
    _check_gradient(lambda u: tf.tensor_scatter_nd_update(x, place, u), updates)
    _check_gradient(lambda u: tf.tensor_scatter_nd_add(x, place, u * u), updates)
    _check_gradient(lambda t: tf.math.unsorted_segment_sum(t, [0, 2, 0], 3), x)
    np.testing.assert_allclose(tf.math.segment_sum(x, [0, 0, 1]).numpy(),
                               np.stack([x[0] + x[1], x[2]]))


def test_control_flow_runs_eagerly_and_is_differentiated():
    x = tf.Variable(1.5, dtype=tf.float64)
    with tf.GradientTape() as tape:
        y = tf.cond(x > 1.0, lambda: x ** 3, lambda: -x)
        i, z = tf.while_loop(lambda i, z: i < 3, lambda i, z: (i + 1, z * x), (0, y))
    assert int(i) == 3
    assert float(z) == pytest.approx(1.5 ** 6)
    assert float(tape.gradient(z, x)) == pytest.approx(6 * 1.5 ** 5)
    v = RNG.normal(size=(4, 3))
    _check_gradient(lambda t: tf.map_fn(lambda row: tf.reduce_sum(row ** 2), t), v)
    _check_gradient(lambda t: tf.vectorized_map(lambda row: row * tf.reduce_max(row), t), v)
    assert int(tf.while_loop(lambda k: k < 10, lambda k: k + 3, 1, maximum_iterations=2)) == 7


def test_shape_ops():
    x = RNG.normal(size=(3, 4))
    np.testing.assert_array_equal(tf.reverse(x, [1]).numpy(), x[:, ::-1])
    np.testing.assert_array_equal(tf.roll(x, 1, axis=0).numpy(), np.roll(x, 1, axis=0))
    np.testing.assert_array_equal(tf.repeat(x, 2, axis=1).numpy(), np.repeat(x, 2, axis=1))
    np.testing.assert_array_equal(tf.pad(x, [[1, 0], [0, 2]]).numpy(), np.pad(x, [(1, 0), (0, 2)]))
    assert tf.searchsorted([1.0, 2.0, 3.0], [2.5, 0.0]).numpy().tolist() == [2, 0]
    np.testing.assert_allclose(tf.math.cumprod(x, axis=1, exclusive=True).numpy()[:, 1], x[:, 0])
    for op in (lambda t: tf.reverse(t, [0]), lambda t: tf.roll(t, 2, axis=1),
               lambda t: tf.repeat(t, [1, 2, 0], axis=0), lambda t: tf.pad(t, [[0, 1], [2, 0]]),
               lambda t: tf.pad(t, [[1, 1], [1, 1]], mode="REFLECT"),
               lambda t: tf.math.cumprod(t, axis=1), lambda t: tf.math.cumprod(t, exclusive=True),
               lambda t: tf.math.cumprod(t, axis=1, reverse=True)):
        _check_gradient(op, x)


def test_elementwise_and_nn_functions():
    x = RNG.normal(size=(2, 5))
    np.testing.assert_allclose(tf.math.erf(x).numpy(), np.vectorize(math.erf)(x), rtol=1e-12)
    assert tf.math.erf(tf.constant([0.5])).dtype == tf.float32
    for op in (tf.math.erf, tf.math.erfc, tf.nn.gelu, lambda t: tf.nn.gelu(t, approximate=True),
               tf.nn.selu, lambda t: tf.math.l2_normalize(t, axis=1),
               lambda t: tf.math.reduce_euclidean_norm(t, axis=0),
               lambda t: tf.math.divide_no_nan(t, t * t + 0.5),
               lambda t: tf.math.xlogy(t, t * t + 1.0)):
        _check_gradient(op, x, rtol=1e-5)
    np.testing.assert_array_equal(tf.math.divide_no_nan(tf.constant([1.0, 2.0]), [0.0, 4.0]).numpy(),
                                  [0.0, 0.5])
    assert tf.math.count_nonzero([0.0, 1.0, 2.0]).numpy() == 2
    kept = tf.nn.dropout(tf.ones((100, 100)), rate=0.25, seed=3).numpy()
    assert set(np.unique(kept)) <= {0.0, np.float32(1 / 0.75)}
    assert abs(np.mean(kept == 0) - 0.25) < 0.03
    table = RNG.normal(size=(5, 3))
    _check_gradient(lambda t: tf.nn.embedding_lookup(t, [4, 0, 4]), table)


def test_linear_algebra():
    a = RNG.normal(size=(4, 4))
    spd = a @ a.T + 4 * np.eye(4)
    s, u, v = tf.linalg.svd(a)
    np.testing.assert_allclose((u.numpy() * s.numpy()) @ v.numpy().T, a, atol=1e-10)
    e, vecs = tf.linalg.eigh(spd)
    np.testing.assert_allclose(e.numpy(), np.linalg.eigvalsh(spd), rtol=1e-10)
    assert float(tf.linalg.logdet(spd)) == pytest.approx(np.linalg.slogdet(spd)[1])
    tall = RNG.normal(size=(6, 3))
    rhs = RNG.normal(size=(6, 2))
    np.testing.assert_allclose(tf.linalg.lstsq(tall, rhs).numpy(),
                               np.linalg.lstsq(tall, rhs, rcond=None)[0], atol=1e-10)
    ridge = np.linalg.solve(tall.T @ tall + 0.5 * np.eye(3), tall.T @ rhs)
    np.testing.assert_allclose(tf.linalg.lstsq(tall, rhs, l2_regularizer=0.5).numpy(), ridge, atol=1e-10)
    np.testing.assert_array_equal(tf.linalg.band_part(a, 0, -1).numpy(), np.triu(a))
    np.testing.assert_array_equal(tf.linalg.diag_part(a).numpy(), np.diag(a))
    np.testing.assert_array_equal(tf.linalg.diag(np.array([1.0, 2.0])).numpy(), np.diag([1.0, 2.0]))
    sym = lambda t: t @ tf.transpose(t) + 4.0 * tf.eye(4, dtype=tf.float64)  # noqa: E731
    _check_gradient(lambda t: tf.linalg.logdet(sym(t)), a, rtol=1e-5)
    _check_gradient(lambda t: tf.linalg.cholesky(sym(t)), a, rtol=1e-5)
    _check_gradient(lambda t: tf.linalg.eigh(sym(t))[0], a, rtol=1e-5)
    _check_gradient(lambda t: tf.linalg.slogdet(t)[1], a, rtol=1e-5)
    _check_gradient(lambda t: tf.linalg.lstsq(t, rhs), tall, rtol=1e-5)
    _check_gradient(lambda t: tf.linalg.svd(t, compute_uv=False), a, rtol=1e-5)
    _check_gradient(lambda t: tf.linalg.band_part(t, 1, 0), a)
    _check_gradient(lambda t: tf.linalg.set_diag(t, tf.linalg.diag_part(t) * 2.0), a)
    _check_gradient(lambda t: tf.linalg.lstsq(t, rhs, l2_regularizer=0.5), tall, rtol=1e-5)


def test_a_ragged_list_is_refused_as_tensorflow_refuses_it():
    with pytest.raises(ValueError, match="^Can't convert non-rectangular Python sequence to Tensor.$"):
        tf.constant([[1, 2], [3]])


def test_assigning_a_value_of_another_shape_is_tensorflows_error():
    a = tf.Variable([2.0, 3.0])
    with pytest.raises(ValueError, match=r"^Cannot assign value to variable ' Variable:0': Shape "
                       r"mismatch.The variable shape \(2,\), and the assigned value shape \(3,\) "
                       r"are incompatible.$"):
        a.assign([1.0, 2.0, 3.0])
    a.assign([1, 2])
    assert a.numpy().tolist() == [1.0, 2.0]
