"""A tiny character-level RNN (in the style of min-char-rnn) trained by s2sgrad.

The loss unrolls a tanh RNN over a short sequence with a Python ``for`` loop;
``sg.value_and_grad`` differentiates through the loop. ``hand_backprop`` is the
same model's backpropagation through time written out by hand, to compare.
"""

import numpy as np

import s2sgrad as sg

PARAMS = ("Wxh", "Whh", "Why", "bh", "by")
TEXT = "hello world, hello s2sgrad. "


def loss(Wxh, Whh, Why, bh, by, inputs, targets, h0):
    """Summed cross-entropy of predicting targets[t] from inputs[:t+1] (one-hot rows)."""
    h = h0
    total = 0.0
    for t in range(inputs.shape[0]):
        h = np.tanh(Wxh @ inputs[t] + Whh @ h + bh)
        y = Why @ h + by
        m = np.max(y)
        log_p = y - m - np.log(np.sum(np.exp(y - m)))
        total = total - np.sum(targets[t] * log_p)
    return total


def hand_backprop(Wxh, Whh, Why, bh, by, inputs, targets, h0):
    """Backpropagation through time for the same loss, as min-char-rnn writes it."""
    hs, ps = {-1: h0}, {}
    for t in range(inputs.shape[0]):
        hs[t] = np.tanh(Wxh @ inputs[t] + Whh @ hs[t - 1] + bh)
        y = Why @ hs[t] + by
        ps[t] = np.exp(y - np.max(y)) / np.sum(np.exp(y - np.max(y)))
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dh_next = np.zeros_like(h0)
    for t in reversed(range(inputs.shape[0])):
        dy = ps[t] - targets[t]
        dWhy += np.outer(dy, hs[t])
        dby += dy
        dh = Why.T @ dy + dh_next
        draw = (1 - hs[t] ** 2) * dh
        dbh += draw
        dWxh += np.outer(draw, inputs[t])
        dWhh += np.outer(draw, hs[t - 1])
        dh_next = Whh.T @ draw
    return dWxh, dWhh, dWhy, dbh, dby


def encode(text):
    chars = sorted(set(text))
    one_hot = np.eye(len(chars))[[chars.index(c) for c in text]]
    return chars, one_hot


def init_params(rng, vocab, hidden):
    return {
        "Wxh": 0.1 * rng.normal(size=(hidden, vocab)),
        "Whh": 0.1 * rng.normal(size=(hidden, hidden)),
        "Why": 0.1 * rng.normal(size=(vocab, hidden)),
        "bh": np.zeros(hidden),
        "by": np.zeros(vocab),
    }


def train(steps=60, hidden=16, seq_length=12, learning_rate=0.1, seed=0):
    """Adagrad over windows of TEXT, as min-char-rnn does; returns params and losses."""
    chars, data = encode(TEXT)
    params = init_params(np.random.default_rng(seed), len(chars), hidden)
    memory = {name: np.zeros_like(value) for name, value in params.items()}
    loss_and_grads = sg.value_and_grad(loss, wrt=PARAMS)
    h0 = np.zeros(hidden)
    losses = []
    for step in range(steps):
        start = (step * seq_length) % (len(TEXT) - seq_length - 1)
        inputs, targets = data[start:start + seq_length], data[start + 1:start + seq_length + 1]
        value, grads = loss_and_grads(**params, inputs=inputs, targets=targets, h0=h0)
        losses.append(value)
        for name, g in zip(PARAMS, grads):
            memory[name] += g * g
            params[name] -= learning_rate * g / np.sqrt(memory[name] + 1e-8)
    return params, losses


def main():
    params, losses = train()
    print(f"loss per window: {losses[0]:.3f} -> {losses[-1]:.3f}")
    chars, data = encode(TEXT)
    args = dict(inputs=data[:12], targets=data[1:13], h0=np.zeros(len(params["bh"])))
    auto = sg.grad(loss, wrt=PARAMS)(**params, **args)
    hand = hand_backprop(**params, **args)
    for name, a, b in zip(PARAMS, auto, hand):
        print(f"d loss / d {name:3s}: max |s2sgrad - hand-written| = {np.max(np.abs(a - b)):.2e}")


if __name__ == "__main__":
    main()
