"""tf.Module and tf.name_scope, as TensorFlow's module.py and its guide define them.

TensorFlow's ``_flatten_module`` walks ``vars(module)`` sorted by attribute
name, flattens each attribute with ``tf.nest`` (dicts by sorted key), yields
each leaf once, and walks the submodules it found after the module's own
leaves. The guide "Introduction to modules, layers, and models" prints
``trainable variables: (<tf.Variable 'train_me:0' ...>,)`` for its
SimpleModule, whose ``__init__`` never calls ``super().__init__``.
"""

import numpy as np
import pytest

import s2sgrad.tf as tf
from tests.fd import numerical_grad


class SimpleModule(tf.Module):
    def __init__(self, name=None):  # as the guide: no super().__init__
        self.a_variable = tf.Variable(5.0, name="train_me")
        self.non_trainable_variable = tf.Variable(5.0, trainable=False, name="do_not_train_me")

    def __call__(self, x):
        return self.a_variable * x + self.non_trainable_variable


class Dense(tf.Module):
    def __init__(self, in_features, out_features, name=None):
        super().__init__(name=name)
        self.w = tf.Variable(tf.random.normal([in_features, out_features]), name="w")
        self.b = tf.Variable(tf.zeros([out_features]), name="b")

    def __call__(self, x):
        return tf.nn.relu(x @ self.w + self.b)


class SequentialModule(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.dense_1 = Dense(in_features=3, out_features=3)
        self.dense_2 = Dense(in_features=3, out_features=2)

    def __call__(self, x):
        return self.dense_2(self.dense_1(x))


def test_the_guides_simple_module():
    module = SimpleModule(name="simple")
    assert str(module(tf.constant(5.0))) == "tf.Tensor(30.0, shape=(), dtype=float32)"
    assert str(module.trainable_variables) == (
        "(<tf.Variable 'train_me:0' shape=() dtype=float32, numpy=5.0>,)")
    assert str(module.variables) == (
        "(<tf.Variable 'train_me:0' shape=() dtype=float32, numpy=5.0>, "
        "<tf.Variable 'do_not_train_me:0' shape=() dtype=float32, numpy=5.0>)")
    assert module.name == "simple_module"  # no super().__init__: the class name


def test_variables_of_nested_modules_in_attribute_order_then_submodules():
    model = SequentialModule(name="the_model")
    d1, d2 = model.dense_1, model.dense_2
    assert model.submodules == (d1, d2)
    # own leaves first (none), then dense_1's b, w, then dense_2's b, w
    assert model.variables == (d1.b, d1.w, d2.b, d2.w)
    assert [v.name for v in model.variables] == ["b:0", "w:0", "b:0", "w:0"]
    assert model.name == "the_model" and d1.name == "dense"
    assert model(tf.constant([[2.0, 2.0, 2.0]])).shape == (1, 2)


def test_containers_are_flattened_as_tf_nest_does():
    module = tf.Module()
    a, b, c, d = (tf.Variable(float(i), name=n) for i, n in enumerate("abcd"))
    inner = tf.Module(name="inner")
    inner.v = d
    module.z_list = [b, (a,)]
    module.a_dict = {"y": c, "x": inner, "again": b}
    assert module.variables == (b, c, a, d)  # a_dict: again, x (a module), y; z_list; inner
    assert module.submodules == (inner,)
    assert inner.variables == (d,)


def test_submodules_of_submodules_and_cycles():
    a, b, c = tf.Module(), tf.Module(), tf.Module()
    a.b = b
    b.c = c
    c.a = a  # a cycle is walked once
    assert list(a.submodules) == [b, c]
    assert list(b.submodules) == [c, a]
    assert list(c.submodules) == [a, b]


def test_trainable_and_non_trainable():
    module = SimpleModule()
    assert module.trainable_variables == (module.a_variable,)
    assert module.non_trainable_variables == (module.non_trainable_variable,)


def test_names_and_name_scopes():
    assert tf.Module().name == "module"

    class MyDenseLayer(tf.Module):
        pass

    assert MyDenseLayer().name == "my_dense_layer"
    with pytest.raises(ValueError, match="not a valid module name"):
        tf.Module(name="not valid")
    with tf.name_scope("outer") as scope:
        assert scope == "outer/"
        with tf.name_scope("inner") as inner:
            assert inner == "outer/inner/"
            assert tf.Variable(1.0, name="v").name == "outer/inner/v:0"
    assert tf.Variable(1.0, name="v").name == "v:0"
    module = tf.Module(name="mod")
    assert module.name_scope.name == "mod/"
    with module.name_scope:
        assert tf.Variable(1.0, name="w").name == "mod/w:0"


def test_with_name_scope_and_lazily_created_variables():
    # tf.Module's docstring: variables created on first call, inside the module's scope
    class MyModule(tf.Module):
        @tf.Module.with_name_scope
        def __call__(self, x):
            if not hasattr(self, "w"):
                self.w = tf.Variable(tf.ones([x.shape[1], 3]), name="w")
            return tf.matmul(x, self.w)

    module = MyModule(name="my")
    assert module(tf.ones([2, 4])).shape == (2, 3)
    assert module.w.name == "my/w:0" and module.variables == (module.w,)


def test_module_gradient_matches_finite_differences():
    tf.random.set_seed(3)
    model = SequentialModule()
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    for variable, grad in zip(model.trainable_variables, grads):
        original = variable.numpy().astype(np.float64)

        def loss_of(value, variable=variable):
            variable.assign(value.astype(np.float32))
            return float(tf.reduce_sum(model(x) ** 2))

        expected = numerical_grad(loss_of, [original], eps=1e-2)
        variable.assign(original)
        np.testing.assert_allclose(grad.numpy(), expected, rtol=2e-2, atol=2e-2)
