"""A two-layer ReLU network with softmax loss, in the style of CS231n.

The parameters are plain arguments of ``loss``; ``sg.grad`` gives their
gradients, and ``hand_backprop`` is the backward pass written out by hand.
"""

import numpy as np

import s2sgrad as sg

PARAMS = ("W1", "b1", "W2", "b2")


def loss(W1, b1, W2, b2, X, y_onehot, reg):
    """Mean softmax cross-entropy plus L2 weight decay reg * (|W1|^2 + |W2|^2)."""
    h = np.maximum(0.0, X @ W1 + b1)
    scores = h @ W2 + b2
    shifted = scores - np.max(scores, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    data_loss = -np.mean(np.sum(y_onehot * log_probs, axis=1))
    return data_loss + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))


def hand_backprop(W1, b1, W2, b2, X, y_onehot, reg):
    n = X.shape[0]
    pre = X @ W1 + b1
    h = np.maximum(0.0, pre)
    scores = h @ W2 + b2
    probs = np.exp(scores - np.max(scores, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    dscores = (probs - y_onehot) / n
    dW2 = h.T @ dscores + 2 * reg * W2
    db2 = np.sum(dscores, axis=0)
    dpre = (dscores @ W2.T) * (pre > 0)
    dW1 = X.T @ dpre + 2 * reg * W1
    db1 = np.sum(dpre, axis=0)
    return dW1, db1, dW2, db2


def make_spiral(rng, points_per_class=50, classes=3):
    """CS231n's spiral data set: interleaved arms, not linearly separable."""
    X, labels = [], []
    for k in range(classes):
        r = np.linspace(0.0, 1.0, points_per_class)
        t = np.linspace(k * 4.0, (k + 1) * 4.0, points_per_class) + 0.2 * rng.normal(size=points_per_class)
        X.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(points_per_class, k))
    labels = np.concatenate(labels)
    return np.concatenate(X), np.eye(classes)[labels]


def init_params(rng, n_in, n_hidden, n_out):
    return {
        "W1": 0.5 * rng.normal(size=(n_in, n_hidden)),
        "b1": np.zeros(n_hidden),
        "W2": 0.5 * rng.normal(size=(n_hidden, n_out)),
        "b2": np.zeros(n_out),
    }


def train(steps=300, n_hidden=50, learning_rate=1.0, reg=1e-3, seed=0):
    rng = np.random.default_rng(seed)
    X, Y = make_spiral(rng)
    params = init_params(rng, X.shape[1], n_hidden, Y.shape[1])
    loss_and_grads = sg.value_and_grad(loss, wrt=PARAMS)
    losses = []
    for step in range(steps):
        value, grads = loss_and_grads(**params, X=X, y_onehot=Y, reg=reg)
        losses.append(value)
        for name, g in zip(PARAMS, grads):
            params[name] = params[name] - learning_rate * g
    accuracy = np.mean(np.argmax(np.maximum(0.0, X @ params["W1"] + params["b1"]) @ params["W2"]
                                 + params["b2"], axis=1) == np.argmax(Y, axis=1))
    return params, losses, accuracy


def main():
    params, losses, accuracy = train()
    print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, training accuracy {accuracy:.2f}")
    X, Y = make_spiral(np.random.default_rng(1))
    auto = sg.grad(loss, wrt=PARAMS)(**params, X=X, y_onehot=Y, reg=1e-3)
    hand = hand_backprop(**params, X=X, y_onehot=Y, reg=1e-3)
    for name, a, b in zip(PARAMS, auto, hand):
        print(f"d loss / d {name}: max |s2sgrad - hand-written| = {np.max(np.abs(a - b)):.2e}")


if __name__ == "__main__":
    main()
