"""``tf.data.Dataset`` in ``s2sgrad.tf``: TensorFlow's element structure, batching,
shuffling, and input loops that train."""

import numpy as np
import pytest

import s2sgrad.tf as tf

Dataset = tf.data.Dataset


def test_slices_keep_the_structure_and_tensorflows_dtypes():
    x = np.arange(6, dtype=np.float64).reshape(3, 2)
    pairs = list(Dataset.from_tensor_slices((x, np.array([0, 1, 2]))))
    assert len(pairs) == 3 and pairs[1][0].shape == (2,) and pairs[1][0].dtype == tf.float64
    np.testing.assert_array_equal(pairs[2][0].numpy(), [4.0, 5.0])
    assert int(pairs[2][1]) == 2
    records = list(Dataset.from_tensor_slices({"a": [1.0, 2.0], "b": [3, 4]}))
    assert records[0]["a"].dtype == tf.float32 and records[1]["b"].dtype == tf.int32
    with pytest.raises(ValueError, match="do not match"):
        Dataset.from_tensor_slices((np.ones(3), np.ones(4)))


def test_batch_shuffle_repeat_take_skip_map_filter():
    ds = Dataset.range(10)
    assert [b.numpy().tolist() for b in ds.batch(4)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(ds.batch(4)) == 3 and len(ds.batch(4, drop_remainder=True)) == 2
    shuffled = list(ds.shuffle(10, seed=3).as_numpy_iterator())
    assert sorted(shuffled) == list(range(10)) and shuffled != list(range(10))
    small = list(ds.shuffle(2, seed=0).as_numpy_iterator())  # a buffer of 2 moves an element <= 1 slot early
    assert sorted(small) == list(range(10))
    assert all(small[i] <= i + 1 for i in range(10))
    again = ds.shuffle(10, seed=3)
    assert list(again.as_numpy_iterator()) != list(again.as_numpy_iterator())  # reshuffled each pass
    assert list(ds.repeat(2).take(12).as_numpy_iterator()) == [*range(10), 0, 1]
    assert list(ds.skip(7).as_numpy_iterator()) == [7, 8, 9]
    assert list(ds.map(lambda i: i * i).filter(lambda v: v % 2 == 0).as_numpy_iterator()) == \
        [0, 4, 16, 36, 64]
    assert [(int(i), int(v)) for i, v in ds.take(2).enumerate(5)] == [(5, 0), (6, 1)]
    zipped = Dataset.zip((ds, ds.map(lambda i: -i)))
    assert [(int(a), int(b)) for a, b in zipped.take(2)] == [(0, 0), (1, -1)]
    assert list(ds.batch(3).unbatch().as_numpy_iterator()) == list(range(10))
    assert int(ds.reduce(np.int64(0), lambda s, v: s + v)) == 45
    assert int(ds.repeat().cardinality()) == tf.data.INFINITE_CARDINALITY
    assert int(Dataset.zip((ds.repeat(), ds.repeat())).cardinality()) == tf.data.INFINITE_CARDINALITY
    assert len(Dataset.zip((ds.repeat(), ds.take(4)))) == 4 and len(ds.take(20)) == 10
    with pytest.raises(TypeError, match="infinite"):
        len(ds.repeat())


def test_an_input_loop_over_a_dataset_trains_and_fit_takes_the_dataset():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(64, 1)).astype(np.float32)
    y = (3.0 * x - 1.0).astype(np.float32)
    w, b = tf.Variable(0.0), tf.Variable(0.0)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.3)
    ds = Dataset.from_tensor_slices((x, y)).shuffle(64, seed=1).batch(16).prefetch(tf.data.AUTOTUNE)
    for _ in range(40):
        for xb, yb in ds:
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((w * xb + b - yb) ** 2)
            optimizer.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
    assert float(w) == pytest.approx(3.0, abs=1e-3) and float(b) == pytest.approx(-1.0, abs=1e-3)

    def trained(data, **options):
        model = tf.keras.Sequential([tf.keras.layers.Dense(1, kernel_initializer="ones")])
        model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.1), loss="mse")
        history = model.fit(data, epochs=2, verbose=0, **options)
        return model.layers[0].kernel.numpy(), history.history["loss"]

    from_dataset = trained(Dataset.from_tensor_slices((x, y)).batch(16))
    from_arrays = trained(x, y=y, batch_size=16, shuffle=False)
    np.testing.assert_allclose(from_dataset[0], from_arrays[0], rtol=1e-6)
    np.testing.assert_allclose(from_dataset[1], from_arrays[1], rtol=1e-6)
