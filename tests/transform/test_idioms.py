"""Python idioms of real numerical code, differentiated as source.

Each program is written the way such code is written in the wild (an MLP
with its parameters in a dict, a list of ``(W, b)`` layers, a
min-char-rnn-style loop over dicts, CS231n-style layers returning a
cache, a class with ``forward()``), and its gradient is checked against
central differences, through ``sg.grad`` and ``sg.value_and_grad`` both.
Gradients with respect to a list, tuple or dict come back in the same
structure (SPEC §1).
"""

import math
import re
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import assert_grad_close, assert_structure_grad_close

RNG = np.random.default_rng(11)


def check(f, args, wrt=0, **tolerances):
    """The gradient and value_and_grad of ``f`` at ``args`` against differences."""
    grad = sg.grad(f, wrt=wrt)(*args)
    value, grad_again = sg.value_and_grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    for g in (grad, grad_again):
        if isinstance(args[wrt], (list, tuple, dict)):
            assert_structure_grad_close(g, f, args, wrt, **tolerances)
        else:
            assert_grad_close(g, f, args, wrt, **tolerances)
    return grad


# ---------------------------------------------------------------- programs

def mlp_loss(params, x, y):
    h = np.tanh(x @ params["W1"] + params["b1"])
    scores = h @ params["W2"] + params["b2"]
    return np.mean((scores - y) ** 2)


def mlp_params():
    return {"W1": RNG.standard_normal((3, 4)) * 0.5, "b1": RNG.standard_normal(4) * 0.1,
            "W2": RNG.standard_normal((4, 2)) * 0.5, "b2": np.zeros(2)}


def test_mlp_with_its_parameters_in_a_dict():
    x, y = RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))
    grads = check(mlp_loss, (mlp_params(), x, y))
    assert list(grads) == ["W1", "b1", "W2", "b2"]


def network(layers, x):
    for W, b in layers:
        x = np.tanh(x @ W + b)
    return np.sum(x ** 2)


def make_layers(sizes):
    return [(RNG.standard_normal((m, n)) * 0.5, RNG.standard_normal(n) * 0.1)
            for m, n in zip(sizes[:-1], sizes[1:])]


def test_list_of_layers_of_different_shapes():
    layers = make_layers([3, 5, 2])
    grads = check(network, (layers, RNG.standard_normal((4, 3))))
    assert isinstance(grads, list) and all(isinstance(layer, tuple) for layer in grads)


def test_gradient_with_respect_to_the_input_of_a_list_of_layers():
    check(network, (make_layers([3, 4, 4, 1]), RNG.standard_normal((2, 3))), wrt=1)


def numbered_network(layers, x):
    activations = [x]
    for i, (W, b) in enumerate(layers):
        z = activations[-1] @ W + b
        activations.append(np.tanh(z) if i < len(layers) - 1 else z)
    return np.sum(activations[-1] ** 2) + 0.01 * sum(np.sum(W * W) for W, _ in layers)


def test_enumerate_append_and_a_generator_in_sum():
    check(numbered_network, (make_layers([3, 4, 2]), RNG.standard_normal((2, 3))))


VOCAB = 4


def char_rnn_loss(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    xs, hs, ys, ps = {}, {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    for t in range(len(inputs)):
        xs[t] = np.eye(VOCAB)[:, [inputs[t]]]  # one-hot column
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
        ys[t] = np.dot(Why, hs[t]) + by
        ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
        loss += -np.log(ps[t][targets[t], 0])
    return loss


@pytest.mark.parametrize("wrt", [2, 3, 4, 5, 6, 7])
def test_min_char_rnn_loop_over_dicts(wrt):
    hidden = 3
    args = ([0, 2, 1, 3, 2], [2, 1, 3, 2, 0], RNG.standard_normal((hidden, 1)) * 0.1,
            RNG.standard_normal((hidden, VOCAB)) * 0.3, RNG.standard_normal((hidden, hidden)) * 0.3,
            RNG.standard_normal((VOCAB, hidden)) * 0.3, np.zeros((hidden, 1)),
            np.zeros((VOCAB, 1)))
    check(char_rnn_loss, args, wrt=wrt)


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def two_layer_loss(x, w1, b1, w2, b2):
    h, cache1 = affine_forward(x, w1, b1)
    a, _ = relu_forward(h)
    scores, cache2 = affine_forward(a, w2, b2)
    return np.sum(scores ** 2)


@pytest.mark.parametrize("wrt", range(5))
def test_layers_returning_an_unused_cache(wrt):
    args = (RNG.standard_normal((3, 2, 2)), RNG.standard_normal((4, 5)), RNG.standard_normal(5),
            RNG.standard_normal((5, 2)), RNG.standard_normal(2))
    check(two_layer_loss, args, wrt=wrt)


class Dense:
    def __init__(self, n_in, n_out):
        self.W = RNG.standard_normal((n_in, n_out)) * 0.5
        self.b = RNG.standard_normal(n_out) * 0.1

    def forward(self, x):
        return np.tanh(x @ self.W + self.b)


LAYER1, LAYER2 = Dense(3, 4), Dense(4, 2)


def model_loss(x, scale=1.0):
    return scale * np.sum(LAYER2.forward(LAYER1.forward(x)) ** 2)


def test_methods_of_plain_objects_holding_arrays():
    check(model_loss, (RNG.standard_normal((2, 3)),))
    check(model_loss, (RNG.standard_normal((2, 3)), 2.5))


@dataclass
class Params:
    W: np.ndarray
    b: np.ndarray


HOLDER = Params(RNG.standard_normal((2, 3)), RNG.standard_normal(2))


def dataclass_loss(x):
    return np.sum(np.tanh(HOLDER.W @ x + HOLDER.b))


def test_dataclass_parameter_holder_read_as_constants():
    check(dataclass_loss, (RNG.standard_normal(3),))


# ----------------------------------------------------------------- idioms

def comprehensions(x):
    squares = [x[i] ** 2 for i in range(len(x)) if i != 1]
    weights = {i: math.exp(-i) * x[i] for i in range(len(x))}
    return sum(squares) + sum(weights[i] * v for i, v in enumerate(x)) + weights.get(0)


def lists_in_loops(x):
    out = []
    for v in x:
        out.append(np.sin(v))
    out.extend([x[0] * 2, x[1] * 3])
    last = out.pop()
    first = out.pop(0)
    return last * first + sum(out)


def zips(x, y):
    pairs = list(zip(x, y))
    xs, ys = zip(*pairs)
    total = 0.0
    for a, b in reversed(pairs):
        total = 0.5 * total + a * b
    return total + max(xs[0], ys[0], 0.25) + min(x[1], y[1])


def star_arguments(x):
    np.random.seed(0)
    noise = np.random.rand(*x.shape)
    return np.sum(x * noise * np.ones(*x.shape)) + abs(x).max()


def dict_idioms(x):
    d = dict(a=x, b=2 * x)
    d["c"] = d["a"] * d["b"]
    d["a"] = d["a"] + 1.0
    d["total"] = 0.0
    d["total"] += np.sum(d["c"])  # a number: a new object, as in Python
    total = 0.0
    for key, value in d.items():
        total = total + np.sum(value)
    for key in d:
        total = total + np.sum(d[key] ** 2)
    return total + sum(np.sum(v) for v in d.values()) + np.sum(d.get("z", x))


def text_and_errors(x, verbose=False):
    y = x * 2
    if verbose:
        print(f"y = {np.sum(y):.3f} {'on' if verbose else 'off'!r}")
    try:
        z = np.log(y ** 2 + 1.0)
    except FloatingPointError:
        z = y
    else:
        z = z * 3.0
    finally:
        w = math.sqrt(2.0)
    return np.sum(z) * w


@pytest.mark.parametrize("f", [comprehensions, lists_in_loops, star_arguments, dict_idioms,
                               text_and_errors])
def test_idiom(f):
    check(f, (RNG.standard_normal(3),))


def test_zip_enumerate_reversed_and_extremes():
    x, y = RNG.standard_normal(3), RNG.standard_normal(3)
    check(zips, (x, y))
    check(zips, (x, y), wrt=1)


def test_print_of_an_f_string_runs_in_the_gradient(capsys):
    sg.grad(text_and_errors)(np.ones(2), True)
    assert "y = 4.000 'on'" in capsys.readouterr().out


# --------------------------------------------------------- structured wrt

Pair = namedtuple("Pair", "W b")


def affine_pair(p, x):
    W, b = p
    return np.sum(np.tanh(W @ x + b))


def nested(params):
    (a, b), rest = params["pair"], params["rest"]
    return np.sum(a * b) + sum(np.sum(r ** 2) for r in rest)


@pytest.mark.parametrize("kind", [tuple, list, Pair])
def test_tuple_list_and_namedtuple_arguments(kind):
    p = kind([RNG.standard_normal((2, 3)), RNG.standard_normal(2)]) if kind is not Pair \
        else Pair(RNG.standard_normal((2, 3)), RNG.standard_normal(2))
    grads = check(affine_pair, (p, RNG.standard_normal(3)))
    assert type(grads) is type(p)


def test_nested_structures_and_unused_entries():
    params = {"pair": (RNG.standard_normal(3), RNG.standard_normal(3)),
              "rest": [RNG.standard_normal(2), RNG.standard_normal((2, 2))], "unused": 1.5}
    grads = check(nested, (params,))
    assert grads["unused"] == 0.0


def test_structure_in_a_tuple_of_wrt():
    x = RNG.standard_normal(3)
    p = (RNG.standard_normal((2, 3)), RNG.standard_normal(2))
    dp, dx = sg.grad(affine_pair, wrt=(0, 1))(p, x)
    assert isinstance(dp, tuple)
    assert_structure_grad_close(dp, affine_pair, (p, x), 0)
    assert_grad_close(dx, affine_pair, (p, x), 1)


def slices_of_tuples(x):
    t = (x, 2 * x, 3 * x)
    head, rest = t[0], t[1:]
    backwards = t[::-1]
    return np.sum(head * rest[1] + backwards[0] * backwards[2])


def sequence_arithmetic(x):
    repeated = [x] * 3
    grown = (x,) + (3 * x,)
    joined = [x] + [2 * x]
    joined += [x * x]
    return np.sum(repeated[0] * repeated[2] + grown[1] + joined[1] * joined[2])


def pairs_loop(x):
    pairs = [(x, 2 * x), (3 * x, x * x)]
    total = 0.0
    for a, b in pairs:
        total = total + a * b
    return np.sum(total)


@pytest.mark.parametrize("f", [slices_of_tuples, sequence_arithmetic, pairs_loop])
def test_sequence_cotangents_are_sequences(f):
    grad = check(f, (0.7,))
    assert isinstance(grad, float), type(grad)
    check(f, (RNG.standard_normal(2),))


def tuple_slices_of_an_argument(t):
    return np.sum(t[0] * t[-1]) + sum(np.sum(v) for v in t[1:])


def test_slices_of_a_tuple_argument():
    check(tuple_slices_of_an_argument,
          ((RNG.standard_normal(2), RNG.standard_normal((3, 2)), RNG.standard_normal(2)),))


# ---------------------------------------------------------------- refused

def writes_into_an_item(x):
    rows = {}
    rows[0] = np.zeros(3)
    rows[0][1] = x
    return np.sum(rows[0] * rows[0])


def test_a_write_into_an_array_a_dict_holds():
    # (only the dict holds the array: tests/test_real_program_idioms.py has more)
    assert sg.grad(writes_into_an_item)(1.5) == pytest.approx(3.0)


def writes_into_an_item_holding_the_argument(x):
    rows = {}
    rows[0] = x
    rows[0][1] = 2.0
    return np.sum(rows[0])


def test_a_write_into_an_argument_a_dict_holds_is_refused_naming_it():
    with pytest.raises(sg.UnsupportedSyntaxError, match=r"rows\[0\]\[\.\.\.\]") as caught:
        sg.grad(writes_into_an_item_holding_the_argument)(np.ones(3))
    assert "test_idioms.py" in str(caught.value)


def appends_to_its_argument(items, x):
    items.append(x)
    return np.sum(items[-1])


def appends_to_a_shared_list(x):
    a = [x]
    b = a
    b.append(2 * x)
    return np.sum(a[-1])


def writes_a_shared_dict(x):
    d = {"x": x}
    holder = [d]
    d["x"] = 3 * x
    return np.sum(holder[0]["x"])


@pytest.mark.parametrize("f, construct", [
    (appends_to_its_argument, ".append() on 'items'"),
    (appends_to_a_shared_list, ".append() on 'b'"),
])
def test_writes_that_another_reference_would_see_are_refused(f, construct):
    args = ([], np.ones(2)) if f is appends_to_its_argument else (np.ones(2),)
    wrt = 1 if f is appends_to_its_argument else 0
    with pytest.raises(sg.UnsupportedSyntaxError, match=re.escape(construct)) as caught:
        sg.grad(f, wrt=wrt)(*args)
    assert "test_idioms.py" in str(caught.value)


def adds_into_an_array_item(x):
    d = {"a": x}
    d["a"] += 1.0  # adds into x itself, as NumPy does
    return np.sum(d["a"] * x)


def test_augmented_assignment_into_an_array_item_is_refused_when_it_runs():
    with pytest.raises(sg.UnsupportedSyntaxError, match=re.escape("augmented assignment to \"d['a']\"")):
        sg.grad(adds_into_an_array_item)(np.ones(2))
    assert sg.grad(adds_into_an_array_item)(1.5) == pytest.approx(2 * 1.5 + 1.0)


def test_item_write_into_a_dict_another_container_holds_is_not_wrong():
    try:
        g = sg.grad(writes_a_shared_dict)(np.ones(2))
    except sg.UnsupportedSyntaxError as refusal:
        assert "test_idioms.py" in str(refusal)
    else:
        assert_grad_close(g, writes_a_shared_dict, (np.ones(2),))


def only_the_cache_is_used(x, w, b):
    out, cache = affine_forward(x, w, b)
    return np.sum(cache[1] ** 2)


def test_an_argument_reached_only_through_an_unused_output_gets_zeros():
    x, w, b = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 2)), RNG.standard_normal(2)
    dx = check(only_the_cache_is_used, (x, w, b))
    assert isinstance(dx, np.ndarray) and dx.shape == x.shape
    check(only_the_cache_is_used, (x, w, b), wrt=1)


# ----------------------------------------------------------- second order

def dict_of_powers(x):
    d = {"a": x, "b": 2 * x}
    d["c"] = d["a"] * d["b"]
    return d["c"] * d.get("a")


def appended_terms(x):
    terms = []
    for i in range(3):
        terms.append(x * i)
    return sum(terms) * x


def polynomial(x):
    return sum(x ** k for k in range(4))


def joined_tuples(x):
    t = (x, 2 * x) + (x * x,)
    return t[0] * t[2]


def scaled_with_cache(x):
    out, cache = affine_forward(np.reshape(x, (1, 1)), np.ones((1, 1)), np.zeros(1))
    return np.sum(out ** 3)


@pytest.mark.parametrize("f", [dict_of_powers, appended_terms, polynomial, joined_tuples,
                               scaled_with_cache])
def test_second_derivative(f):
    first = sg.grad(f)
    assert_grad_close(sg.grad(first)(0.7), first, (0.7,))
