"""Logistic regression trained with ``sg.grad`` on generated two-class data."""

import numpy as np

import s2sgrad as sg


def loss(w, b, X, y):
    """Mean binary cross-entropy of sigmoid(X @ w + b) against labels y in {0, 1}."""
    z = X @ w + b
    # log(1 + exp(-z)) and log(1 + exp(z)), written stably with logaddexp
    return np.mean(y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z))


def make_data(rng, n=300, n_features=4):
    X = rng.normal(size=(n, n_features))
    true_w = rng.normal(size=n_features)
    y = (X @ true_w + 0.5 > 0).astype(float)
    return X, y


def hand_gradient(w, b, X, y):
    """The textbook gradient: X.T @ (sigmoid(z) - y) / n and mean(sigmoid(z) - y)."""
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    return X.T @ (p - y) / len(y), np.mean(p - y)


def train(X, y, steps=100, learning_rate=1.0):
    w = np.zeros(X.shape[1])
    b = 0.0
    loss_grad = sg.grad(loss, wrt=("w", "b"))
    losses = []
    for step in range(steps):
        losses.append(loss(w, b, X, y))
        dw, db = loss_grad(w, b, X, y)
        w = w - learning_rate * dw
        b = b - learning_rate * db
    return w, b, losses


def accuracy(w, b, X, y):
    return np.mean((X @ w + b > 0) == (y > 0.5))


def main():
    X, y = make_data(np.random.default_rng(0))
    w, b, losses = train(X, y)
    print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}, accuracy {accuracy(w, b, X, y):.3f}")


if __name__ == "__main__":
    main()
