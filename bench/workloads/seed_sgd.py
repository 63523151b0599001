"""Issue 4: the seed document's 1,000-step SGD loop, tape + ``apply_gradients``, float32.

The s2sgrad side is the seed program verbatim under ``import s2sgrad.tf as tf``:
once eagerly, once with the whole loop inside ``tf.function`` (whose tape
block runs as generated code; its conversion happens on the untimed first
call, as TensorFlow's tracing does).
The hand-written side is the same loop on NumPy float32 scalars with the
gradient ``2·a·x + b`` written out; like TensorFlow it rounds ``lr·g`` and
``x - lr·g`` to float32 separately, which is why both end at x = 0.999998569
(see ../shared/acceptance/README.md) and not at 1.
"""

import numpy as np

from bench.harness import PairRow, Target, WrongResult, assert_close, check_against_finite_differences

STEPS = 1000
EXPECTED_X = np.float32(0.999998569)


def quadratic(x, a, b, c):
    return a * x ** 2 + b * x + c


def quadratic_grad(x, a, b, c):
    return 2 * a * x + b


def handwritten_loop():
    x = np.float32(0.0)
    a, b, c = np.float32(1.0), np.float32(-2.0), np.float32(1.0)
    learning_rate = np.float32(0.01)
    for _ in range(STEPS):
        y = a * x ** 2 + b * x + c
        dy_dx = 2 * a * x + b
        x = x - learning_rate * dy_dx
    return float(x), float(y)


def build_tape_loop():
    import s2sgrad.tf as tf

    def tape_loop():
        x = tf.Variable(0.0, name="x", dtype=tf.float32)
        a = tf.constant(1.0)
        b = tf.constant(-2.0)
        c = tf.constant(1.0)
        optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)
        for _ in range(STEPS):
            with tf.GradientTape() as tape:
                y = a * tf.pow(x, 2) + b * x + c
            dy_dx = tape.gradient(y, x)
            optimizer.apply_gradients(grads_and_vars=[(dy_dx, x)])
        return float(x.numpy()), float(y.numpy())

    return tape_loop


def build_function_loop():
    import s2sgrad.tf as tf

    x = tf.Variable(0.0, name="x", dtype=tf.float32)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)

    @tf.function
    def minimizef():
        a = tf.constant(1.0)
        b = tf.constant(-2.0)
        c = tf.constant(1.0)
        for _ in tf.range(STEPS):
            with tf.GradientTape() as tape:
                y = a * tf.pow(x, 2) + b * x + c
            dy_dx = tape.gradient(y, x)
            optimizer.apply_gradients(grads_and_vars=[(dy_dx, x)])
        return y

    def function_loop():
        x.assign(0.0)
        y = minimizef()
        return float(x.numpy()), float(y.numpy())

    return function_loop


def check_handwritten():
    check_against_finite_differences(quadratic, quadratic_grad(0.3, 1.0, -2.0, 1.0), (0.3, 1.0, -2.0, 1.0), (0,))
    x, _ = handwritten_loop()
    if np.float32(x) != EXPECTED_X:
        raise WrongResult(f"hand-written loop ends at x = {x!r}, the seed shows {float(EXPECTED_X)!r}")


def compare(expected, actual):
    if np.float32(actual[0]) != EXPECTED_X:
        raise WrongResult(f"ends at x = {actual[0]!r}, the seed shows {float(EXPECTED_X)!r}")
    assert_close(expected, actual, 1e-6, "final (x, y)")


def rows(cfg):
    return [
        PairRow(
            "seed SGD loop, 1000 steps, float32 (s2sgrad.tf)",
            handwritten=handwritten_loop,
            generated=build_tape_loop,
            target=Target(max_seconds=0.030),
            check_handwritten=check_handwritten,
            compare=compare,
        ),
        PairRow(
            "seed SGD loop inside tf.function, 1000 steps, float32 (s2sgrad.tf)",
            handwritten=handwritten_loop,
            generated=build_function_loop,
            target=Target(max_seconds=0.005),
            check_handwritten=check_handwritten,
            compare=compare,
        ),
    ]
