"""The GradientTape: record operations eagerly, then rewind them for gradients.

Shows first and second derivatives, watching constants, a persistent tape, and
a linear-regression fit with ``sg.optimizers.SGD``.
"""

import numpy as np

import s2sgrad as sg


def derivatives():
    x = sg.Variable(3.0)  # trainable variables are watched automatically
    c = sg.constant(2.0)  # constants only when watched explicitly
    with sg.GradientTape() as outer:
        with sg.GradientTape(persistent=True) as inner:
            inner.watch(c)
            y = c * x ** 2 + np.sin(x)
        dy_dx, dy_dc = inner.gradient(y, [x, c])
    d2y_dx2 = outer.gradient(dy_dx, x)
    print("y       =", y)
    print("dy/dx   =", dy_dx, "  (2*c*x + cos(x))")
    print("dy/dc   =", dy_dc, "  (x**2)")
    print("d2y/dx2 =", d2y_dx2, "  (2*c - sin(x))")
    print("dy/dx again from the persistent tape:", inner.gradient(y, x))


def linear_regression():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, size=1000)
    y = 3.0 * x + 2.0 + 0.1 * rng.normal(size=1000)

    w = sg.Variable(0.0, name="w")
    b = sg.Variable(0.0, name="b")
    optimizer = sg.optimizers.SGD(learning_rate=0.1)
    for step in range(300):
        with sg.GradientTape() as tape:
            loss = np.mean((w * x + b - y) ** 2)
        grads = tape.gradient(loss, [w, b])
        optimizer.apply_gradients(zip(grads, [w, b]))
    print(f"fit: w = {w.numpy():.3f} (true 3), b = {b.numpy():.3f} (true 2), loss = {loss}")


if __name__ == "__main__":
    derivatives()
    print()
    linear_regression()
