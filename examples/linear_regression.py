"""Linear regression with the GradientTape and SGD, TensorFlow-tutorial style.

Saves a loss-curve PNG when matplotlib is installed (``pip install s2sgrad[plots]``).
"""

import numpy as np

import s2sgrad as sg


def make_data(rng, n=200, true_w=3.0, true_b=2.0, noise=0.1):
    x = rng.uniform(-1.0, 1.0, size=n)
    y = true_w * x + true_b + noise * rng.normal(size=n)
    return x, y


def fit(x, y, steps=200, learning_rate=0.1):
    """Fit y = w*x + b by gradient descent; returns w, b and the loss per step."""
    w = sg.Variable(0.0, name="w")
    b = sg.Variable(0.0, name="b")
    optimizer = sg.optimizers.SGD(learning_rate=learning_rate)
    losses = []
    for step in range(steps):
        with sg.GradientTape() as tape:
            loss = np.mean((w * x + b - y) ** 2)
        grads = tape.gradient(loss, [w, b])
        optimizer.apply_gradients(zip(grads, [w, b]))
        losses.append(float(loss))
    return float(w.numpy()), float(b.numpy()), losses


def plot_losses(losses, path):
    """Save the loss curve to path; returns False when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot(losses)
    ax.set_xlabel("step")
    ax.set_ylabel("mean squared error")
    ax.set_yscale("log")
    fig.savefig(path)
    plt.close(fig)
    return True


def main():
    x, y = make_data(np.random.default_rng(0))
    w, b, losses = fit(x, y)
    print(f"w = {w:.3f} (true 3), b = {b:.3f} (true 2), final loss {losses[-1]:.4f}")
    if plot_losses(losses, "linear_regression_loss.png"):
        print("loss curve saved to linear_regression_loss.png")
    else:
        print("matplotlib is not installed: no plot")


if __name__ == "__main__":
    main()
