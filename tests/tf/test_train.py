"""``tf.train.Checkpoint`` in ``s2sgrad.tf``: variables saved by attribute path,
restored by path (deferred for variables made on first call), managers."""

import numpy as np
import pytest

import s2sgrad.tf as tf


class Flexible(tf.Module):
    def __init__(self, out_features, name=None):
        super().__init__(name=name)
        self.out_features = out_features
        self.built = False

    def __call__(self, x):
        if not self.built:
            self.w = tf.Variable(tf.random.normal([x.shape[-1], self.out_features]), name="w")
            self.b = tf.Variable(tf.zeros([self.out_features]), name="b")
            self.built = True
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)


class Two(tf.Module):
    def __init__(self):
        super().__init__()
        self.dense_1 = Flexible(3)
        self.dense_2 = Flexible(2)

    def __call__(self, x):
        return self.dense_2(self.dense_1(x))


X = tf.constant([[2.0, -1.0, 0.5]])


def test_write_list_and_deferred_restore(tmp_path):
    model = Two()
    expected = model(X).numpy()
    prefix = str(tmp_path / "my_checkpoint")
    assert tf.train.Checkpoint(model=model).write(prefix) == prefix
    names = [name for name, _ in tf.train.list_variables(prefix)]
    assert names == ["_CHECKPOINTABLE_OBJECT_GRAPH", "model/dense_1/b/.ATTRIBUTES/VARIABLE_VALUE",
                     "model/dense_1/w/.ATTRIBUTES/VARIABLE_VALUE",
                     "model/dense_2/b/.ATTRIBUTES/VARIABLE_VALUE",
                     "model/dense_2/w/.ATTRIBUTES/VARIABLE_VALUE"]
    assert dict(tf.train.list_variables(prefix))["model/dense_1/w/.ATTRIBUTES/VARIABLE_VALUE"] == [3, 3]
    fresh = Two()
    tf.train.Checkpoint(model=fresh).restore(prefix)   # its variables do not exist yet
    np.testing.assert_array_equal(fresh(X).numpy(), expected)
    built = Two()
    built(X)
    tf.train.Checkpoint(model=built).restore(prefix).assert_consumed()
    np.testing.assert_array_equal(built(X).numpy(), expected)


def test_keras_model_and_optimizer_save_and_restore_with_a_manager(tmp_path):
    def make():
        model = tf.keras.Sequential([tf.keras.layers.Dense(4, activation="tanh"),
                                     tf.keras.layers.Dense(1)])
        model(np.ones((1, 3), np.float32))
        return model, tf.keras.optimizers.SGD(0.1)

    model, optimizer = make()
    optimizer.apply_gradients([(tf.ones_like(v), v) for v in model.trainable_variables])
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(checkpoint, str(tmp_path), max_to_keep=2)
    paths = [manager.save() for _ in range(3)]
    assert manager.checkpoints == paths[1:] and manager.latest_checkpoint == paths[-1]
    assert not (tmp_path / "ckpt-1.index").exists() and (tmp_path / "ckpt-3.index").exists()
    other, other_optimizer = make()
    status = tf.train.Checkpoint(model=other, optimizer=other_optimizer).restore(
        tf.train.latest_checkpoint(str(tmp_path)))
    status.assert_consumed()
    for a, b in zip(model.variables, other.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(other_optimizer.iterations.numpy()) == 1


def test_restore_reports_what_did_not_match(tmp_path):
    model = Two()
    model(X)
    prefix = tf.train.Checkpoint(model=model).write(str(tmp_path / "c"))
    status = tf.train.Checkpoint(other=Two()).restore(prefix)
    with pytest.raises(AssertionError, match="model/dense_1"):
        status.assert_consumed()
    status.expect_partial()
    with pytest.raises(ValueError, match="Failed to find"):
        tf.train.Checkpoint(model=model).restore(str(tmp_path / "missing"))
