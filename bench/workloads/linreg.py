"""Issue 4: a 500-step linear-regression fit on 1,000 points, tape + SGD, float32.

Model ``w·x + b``, loss the mean squared error, ``sg.optimizers.SGD`` with
learning rate 0.1. The hand-written side computes ``2·mean(r·x)`` and
``2·mean(r)`` for the residual ``r`` and updates in float32.
"""

import numpy as np

from bench.harness import PairRow, Target, assert_close, check_against_finite_differences

STEPS, POINTS, LEARNING_RATE = 500, 1000, 0.1


def make_data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, POINTS).astype(np.float32)
    y = (3.0 * x + 2.0 + 0.1 * rng.standard_normal(POINTS)).astype(np.float32)
    return x, y


def mse(w, b, x, y):
    return np.mean((w * x + b - y) ** 2)


def mse_grad(w, b, x, y):
    r = w * x + b - y
    return 2.0 * np.mean(r * x), 2.0 * np.mean(r)


def handwritten_fit(x, y):
    w, b = np.float32(0.0), np.float32(0.0)
    learning_rate = np.float32(LEARNING_RATE)
    for _ in range(STEPS):
        r = w * x + b - y
        dw = np.float32(2.0) * np.mean(r * x)
        db = np.float32(2.0) * np.mean(r)
        w = w - learning_rate * dw
        b = b - learning_rate * db
    return float(w), float(b)


def build_tape_fit():
    import s2sgrad as sg

    def tape_fit(x, y):
        w = sg.Variable(np.float32(0.0), name="w")
        b = sg.Variable(np.float32(0.0), name="b")
        optimizer = sg.optimizers.SGD(learning_rate=LEARNING_RATE)
        for _ in range(STEPS):
            with sg.GradientTape() as tape:
                loss = np.mean((w * x + b - y) ** 2)
            grads = tape.gradient(loss, [w, b])
            optimizer.apply_gradients(zip(grads, [w, b]))
        return float(w.numpy()), float(b.numpy())

    return tape_fit


def check_handwritten():
    x, y = make_data()
    args = (0.5, -0.25, x.astype(np.float64), y.astype(np.float64))
    check_against_finite_differences(mse, mse_grad(*args), args, (0, 1))


def compare(expected, actual):
    assert_close(expected, actual, 1e-4, "fitted (w, b)")


def rows(cfg):
    return [
        PairRow(
            "linear regression fit, 500 steps, 1000 points (tape)",
            handwritten=handwritten_fit,
            generated=build_tape_fit,
            target=Target(max_ratio=3.0),
            check_handwritten=check_handwritten,
            compare=compare,
            args=make_data(),
        )
    ]
