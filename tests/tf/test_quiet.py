"""TensorFlow computes log(0) = -inf, 1/0 = inf and sqrt(-1) = nan without a
word; so does s2sgrad.tf (forward ops, tape gradients, tf.function), while
NumPy called by the program on its own arrays still warns as NumPy does."""

import os
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent("""
    import numpy as np
    import s2sgrad.tf as tf
    x = tf.constant([0.0, 1.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.math.log(x)
        z = tf.reduce_sum(y * 0.0 + x / x)
    print(y)
    print(tape.gradient(z, x))
    print(tf.math.log(0.0), tf.constant(1.0) / 0.0, tf.sqrt(-1.0))

    @tf.function
    def f(a):
        with tf.GradientTape() as t:
            t.watch(a)
            b = tf.reduce_sum(tf.math.log(a))
        return t.gradient(b, a)

    print(f(x))
    np.log(np.zeros(1))
""")


def test_no_runtime_warnings_where_tensorflow_prints_none():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root, S2SGRAD_CACHE="0")
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "tf.Tensor([-inf   0.], shape=(2,), dtype=float32)",
        "tf.Tensor([nan  0.], shape=(2,), dtype=float32)",
        "tf.Tensor(-inf, shape=(), dtype=float32) tf.Tensor(inf, shape=(), dtype=float32) "
        "tf.Tensor(nan, shape=(), dtype=float32)",
        "tf.Tensor([inf  1.], shape=(2,), dtype=float32)",
    ]
    # only the program's own NumPy call warns
    assert done.stderr.count("RuntimeWarning") == 1, done.stderr
