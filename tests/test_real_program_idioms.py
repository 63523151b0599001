"""Real programs as their authors wrote them (min-char-rnn, dicts and lists of
parameters, arrays held by containers written into in place), each against
finite differences or the program's own hand-written gradient; the variants
that another reference could observe are refused at the user's line."""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import assert_grad_close, numerical_grad

vocab_size, hidden_size = 5, 4


# ---------------------------------------------------------------- min-char-rnn
def lossFun(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    """Karpathy's min-char-rnn forward pass (its parameters as arguments)."""
    xs, hs, ys, ps = {}, {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    # forward pass
    for t in range(len(inputs)):
        xs[t] = np.zeros((vocab_size, 1))  # encode in 1-of-k representation
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)  # hidden state
        ys[t] = np.dot(Why, hs[t]) + by  # unnormalized log probabilities for next chars
        ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))  # probabilities for next chars
        loss += -np.log(ps[t][targets[t], 0])  # softmax (cross-entropy loss)
    return loss


def lossFun_backward(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    """Karpathy's hand-written backward pass (without its clipping)."""
    xs, hs, ps = {}, {}, {}
    hs[-1] = np.copy(hprev)
    for t in range(len(inputs)):
        xs[t] = np.zeros((vocab_size, 1))
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
        y = np.dot(Why, hs[t]) + by
        ps[t] = np.exp(y) / np.sum(np.exp(y))
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1  # backprop into y
        dWhy += np.dot(dy, hs[t].T)
        dby += dy
        dh = np.dot(Why.T, dy) + dhnext  # backprop into h
        dhraw = (1 - hs[t] * hs[t]) * dh  # backprop through tanh nonlinearity
        dbh += dhraw
        dWxh += np.dot(dhraw, xs[t].T)
        dWhh += np.dot(dhraw, hs[t - 1].T)
        dhnext = np.dot(Whh.T, dhraw)
    return dWxh, dWhh, dWhy, dbh, dby


def _rnn_args(seed=0, length=6):
    rng = np.random.default_rng(seed)
    inputs = list(rng.integers(0, vocab_size, length))
    targets = list(rng.integers(0, vocab_size, length))
    return (inputs, targets, rng.normal(size=(hidden_size, 1)),
            rng.normal(size=(hidden_size, vocab_size)) * 0.3,
            rng.normal(size=(hidden_size, hidden_size)) * 0.3,
            rng.normal(size=(vocab_size, hidden_size)) * 0.3,
            rng.normal(size=(hidden_size, 1)) * 0.1, rng.normal(size=(vocab_size, 1)) * 0.1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_min_char_rnn_matches_its_hand_written_backward_pass(seed):
    args = _rnn_args(seed)
    value, grads = sg.value_and_grad(lossFun, wrt=(3, 4, 5, 6, 7))(*args)
    assert value == pytest.approx(lossFun(*args), rel=1e-14)
    for ours, theirs in zip(grads, lossFun_backward(*args)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)


def test_min_char_rnn_against_finite_differences():
    args = _rnn_args(3)
    for argnum in (2, 3, 4, 5, 6, 7):
        assert_grad_close(sg.grad(lossFun, wrt=argnum)(*args), lossFun, args, argnum)


def test_min_char_rnn_leaves_the_callers_arrays_alone():
    args = _rnn_args(4)
    before = [np.copy(a) for a in args[2:]]
    sg.grad(lossFun, wrt=3)(*args)
    for a, b in zip(args[2:], before):
        np.testing.assert_array_equal(a, b)


# ------------------------------------- arrays held by a dict or list, written into
def state_dict_written(x):
    hs = {}
    for t in range(3):
        hs[t] = np.zeros(x.shape)
        hs[t][...] = x * t
        hs[t][0] += x[1] * hs[t][2]
    return sum(np.sum(h ** 2) for h in hs.values())


def rows_of_a_list(x):
    rows = [np.zeros(3) for _ in range(2)]
    rows[0][1] = x[0] * 2
    rows[1][:] = x ** 2
    return np.sum(rows[0]) + np.sum(rows[1] * x)


def recurrence_through_an_item(x):
    hs = {}
    hs[0] = np.ones((3, 3))
    for t in range(3):
        hs[0][t] = np.sum(hs[0][t - 1] * x) * x[t]
    return np.sum(hs[0] ** 2)


def read_after_the_last_write(x):
    xs = [np.zeros(3), np.ones(3)]
    for t in range(3):
        xs[1][t] = x[t] ** 2
        xs[0][t] = xs[1][t] * x[0]
    h = xs[0]
    return np.sum(h * x) + sum(np.sum(v) for v in xs)


def in_place_on_an_item(x):
    xs = {"a": np.ones(3)}
    for t in range(3):
        xs["a"][t] += x[t] * xs["a"][(t + 1) % 3]
    return np.sum(xs["a"] ** 2)


@pytest.mark.parametrize("f", [state_dict_written, rows_of_a_list, recurrence_through_an_item,
                               read_after_the_last_write, in_place_on_an_item])
@pytest.mark.parametrize("seed", [0, 1])
def test_writes_into_arrays_a_container_holds(f, seed):
    x = np.random.default_rng(seed).normal(size=3)
    value, g = sg.value_and_grad(f)(x)
    assert value == pytest.approx(f(x), rel=1e-14)
    assert_grad_close(g, f, (x,))


# ------------------------------------------ a dict of parameters, updated in place
def one_sgd_step_then_loss(W, b, x, y):
    """A step of gradient descent on a dict of parameters, then the loss
    (the parameters after the step as a function of those before)."""
    params = {"W": W * 1.0, "b": np.copy(b)}
    h = np.tanh(params["W"] @ x + params["b"])
    err = h - y
    dh = err * (1 - h ** 2)
    grads = {"W": np.outer(dh, x), "b": dh}
    for k in params:
        params[k] -= 0.1 * grads[k]
    h = np.tanh(params["W"] @ x + params["b"])
    return 0.5 * np.sum((h - y) ** 2)


@pytest.mark.parametrize("argnum", [0, 1])
def test_a_dict_of_parameters_updated_in_place(argnum):
    rng = np.random.default_rng(5)
    args = (rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=4), rng.normal(size=3))
    value, g = sg.value_and_grad(one_sgd_step_then_loss, wrt=argnum)(*args)
    assert value == pytest.approx(one_sgd_step_then_loss(*args), rel=1e-14)
    assert_grad_close(g, one_sgd_step_then_loss, args, argnum)


def callers_arrays_in_a_dict(W, dW):
    params = {"W": W}
    params["W"] -= 0.1 * dW  # (NumPy changes the caller's W)
    return np.sum(params["W"] ** 2)


def test_a_dict_update_that_changes_the_callers_array_is_refused():
    with pytest.raises(sg.UnsupportedSyntaxError, match="params\\['W'\\]"):
        sg.grad(callers_arrays_in_a_dict)(np.ones(3), np.ones(3))


# ------------------------------------------- lists a helper builds and returns
def _features(x):
    out = []
    for k in range(1, 3):
        out.append(x ** k)
    return out


def appends_to_a_helpers_list(x):
    feats = _features(x)
    feats.append(np.sin(x))
    feats.extend([x * feats[0]])
    return sum(np.sum(f * w) for w, f in enumerate(feats))


def appends_to_a_nested_helpers_list(x):
    def layer_outputs(v):
        outs = {"in": v}
        outs["sq"] = v ** 2
        return outs

    outs = layer_outputs(x)
    outs["cube"] = outs["sq"] * x
    return np.sum(outs["cube"]) + np.sum(outs["in"])


_KEPT = []


def _kept_features(x):
    out = [x * 2.0]
    _KEPT.append(out)  # (the caller's list is also this module's)
    return out


def appends_to_a_list_kept_elsewhere(x):
    feats = _kept_features(x)
    feats.append(x)
    return np.sum(feats[0] * feats[1])


@pytest.mark.parametrize("f", [appends_to_a_helpers_list, appends_to_a_nested_helpers_list])
def test_appending_to_a_list_a_helper_returned(f):
    x = np.random.default_rng(6).normal(size=4)
    value, g = sg.value_and_grad(f)(x)
    assert value == pytest.approx(f(x), rel=1e-14)
    assert_grad_close(g, f, (x,))


def test_appending_to_a_list_a_helper_also_keeps_is_refused():
    with pytest.raises(sg.UnsupportedSyntaxError, match="other names may share"):
        sg.grad(appends_to_a_list_kept_elsewhere)(np.ones(3))


# ------------------------------------------------- methods of the user's objects
def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Network:
    """Nielsen's network.py (its parameters given rather than drawn)."""

    def __init__(self, weights, biases):
        self.num_layers = len(weights) + 1
        self.biases = biases
        self.weights = weights

    def feedforward(self, a):
        """Return the output of the network if ``a`` is input."""
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        # feedforward
        activation = x
        activations = [x]  # list to store all the activations, layer by layer
        zs = []  # list to store all the z vectors, layer by layer
        for b, w in zip(self.biases, self.weights):
            z = np.dot(w, activation) + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        # backward pass
        delta = self.cost_derivative(activations[-1], y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = np.dot(delta, activations[-2].transpose())
        for l in range(2, self.num_layers):
            z = zs[-l]
            sp = sigmoid_prime(z)
            delta = np.dot(self.weights[-l + 1].transpose(), delta) * sp
            nabla_b[-l] = delta
            nabla_w[-l] = np.dot(delta, activations[-l - 1].transpose())
        return (nabla_b, nabla_w)

    def cost_derivative(self, output_activations, y):
        return output_activations - y


def network_cost(weights, biases, x, y):
    net = Network(weights, biases)
    return 0.5 * np.sum((net.feedforward(x) - y) ** 2)


def _network(seed, sizes=(3, 5, 4, 2)):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(m, n)) for n, m in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=(m, 1)) for m in sizes[1:]]
    return weights, biases, rng.normal(size=(sizes[0], 1)), rng.normal(size=(sizes[-1], 1))


@pytest.mark.parametrize("seed", [0, 1])
def test_nielsens_network_matches_its_backprop(seed):
    weights, biases, x, y = _network(seed)
    value, (d_weights, d_biases) = sg.value_and_grad(network_cost, wrt=(0, 1))(weights, biases, x, y)
    assert value == pytest.approx(network_cost(weights, biases, x, y), rel=1e-14)
    nabla_b, nabla_w = Network(weights, biases).backprop(x, y)
    assert type(d_weights) is list and type(d_biases) is list
    for ours, theirs in zip(d_weights + d_biases, nabla_w + nabla_b):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-14)
    assert_grad_close(sg.grad(network_cost, wrt=2)(weights, biases, x, y), network_cost,
                      (weights, biases, x, y), 2)


class TwoLayerNet:
    """A CS231n-style model: parameters in ``self.params``, a loss method."""

    def __init__(self, W1, b1, W2, b2, reg=0.1):
        self.params = {}
        self.params["W1"] = W1
        self.params["b1"] = b1
        self.params["W2"] = W2
        self.params["b2"] = b2
        self.reg = reg

    def scores(self, X):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        hidden = np.maximum(0, X.dot(W1) + b1)
        return hidden.dot(W2) + b2

    def loss(self, X, y):
        scores = self.scores(X)
        shifted = scores - np.max(scores, axis=1, keepdims=True)
        log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        data_loss = -np.mean(log_probs[np.arange(X.shape[0]), y])
        reg_loss = 0.5 * self.reg * sum(np.sum(self.params[k] ** 2) for k in ("W1", "W2"))
        return data_loss + reg_loss


def two_layer_loss(W1, b1, W2, b2, X, y):
    model = TwoLayerNet(W1, b1, W2, b2)
    return model.loss(X, y)


@pytest.mark.parametrize("argnum", [0, 1, 2, 3])
def test_a_cs231n_style_model_object(argnum):
    rng = np.random.default_rng(7)
    args = (rng.normal(size=(4, 6)), rng.normal(size=6), rng.normal(size=(6, 3)),
            rng.normal(size=3), rng.normal(size=(5, 4)), rng.integers(0, 3, 5))
    value, g = sg.value_and_grad(two_layer_loss, wrt=argnum)(*args)
    assert value == pytest.approx(two_layer_loss(*args), rel=1e-14)
    assert_grad_close(g, two_layer_loss, args, argnum)


class Layer:
    def __init__(self, W, b=0.5):
        self.W = W
        self.b = b

    def forward(self, x):
        return np.tanh(self.W @ x + self.b)

    def energy(self, x):
        return np.sum(self.forward(x) ** 2)


def layer_energy(W, x):
    layer = Layer(W)
    layer.b = layer.b * 2.0
    return layer.energy(x)


def test_second_order_through_a_method():
    from tests.fd import numerical_jacobian

    rng = np.random.default_rng(8)
    W, x = rng.normal(size=(3, 3)), rng.normal(size=3)
    assert_grad_close(sg.grad(layer_energy)(W, x), layer_energy, (W, x))
    H = sg.hessian(layer_energy, wrt=1)(W, x)
    expected = numerical_jacobian(lambda W, x: sg.grad(layer_energy, wrt=1)(W, x), (W, x), 1)
    np.testing.assert_allclose(H, expected, rtol=1e-5, atol=1e-7)


def layers_made_in_a_loop(W, x):
    s = 0.0
    for i in range(3):
        layer = Layer(W * (i + 1.0), b=0.1 * i)
        s = s + np.sum(layer.forward(x) ** 2)
    return s


class Base:
    scale = 3.0

    def __init__(self, W):
        self.W = W

    def f(self, x):
        return np.sin(self.W @ x)


class Child(Base):
    def g(self, x):
        return np.sum(self.f(x) * self.scale)


def inherited_method(W, x):
    c = Child(W)
    return c.g(x)


@pytest.mark.parametrize("f", [layers_made_in_a_loop, inherited_method])
def test_objects_made_in_a_loop_and_inherited_methods(f):
    rng = np.random.default_rng(9)
    W, x = rng.normal(size=(3, 3)), rng.normal(size=3)
    for argnum in (0, 1):
        assert_grad_close(sg.grad(f, wrt=argnum)(W, x), f, (W, x), argnum)


class Doubled(Layer):
    def forward(self, x):
        return super().forward(x) * 2


def calls_super(W, x):
    layer = Doubled(W)
    return np.sum(layer.forward(x))


def reads_a_dunder(W, x):
    layer = Layer(W)
    return np.sum(W) * len(layer.__dict__)


class CachingAffine:
    def __init__(self, W):
        self.W = W

    def forward(self, x):
        self.cache = x  # (CS231n layers keep their input for backward)
        return x @ self.W


def caching_layer(W, x):
    layer = CachingAffine(W)
    return np.sum(layer.forward(x))


def returns_its_object(W, x):
    layer = CachingAffine(W)
    return layer


def test_objects_whose_methods_assign_attributes_or_that_escape_are_refused():
    import inspect

    W, x = np.ones((2, 2)), np.ones(2)
    with pytest.raises(sg.UnsupportedSyntaxError, match="assigning self.cache") as raised:
        sg.grad(caching_layer)(W, x)
    lines, first = inspect.getsourcelines(CachingAffine.forward)
    assert f"{__file__}:{first + 1}" in str(raised.value)
    with pytest.raises(sg.UnsupportedSyntaxError, match="used as a value"):
        sg.grad(returns_its_object)(W, x)
    with pytest.raises(sg.UnsupportedSyntaxError, match="Doubled.forward using super"):
        sg.grad(calls_super)(W, x)
    with pytest.raises(sg.UnsupportedSyntaxError, match="attribute __dict__ of object 'layer'"):
        sg.grad(reads_a_dunder)(W, x)


# ------------------------------ the same writes where another reference sees them
def stored_from_a_name(x):
    xs = {}
    a = np.zeros(3)
    xs[0] = a
    xs[0][1] = x[0]
    return np.sum(a * x)


def stored_argument(x):
    xs = {}
    xs[0] = x
    xs[0][0] = 1.0
    return np.sum(x)


def item_bound_before_the_write(x):
    xs = {}
    xs[0] = np.zeros(3)
    r = xs[0]
    xs[0][1] = x[0]
    return np.sum(r * x)


def item_bound_in_the_writing_loop(x):
    xs = [np.zeros(3)]
    s = 0.0
    for t in range(3):
        v = xs[0]
        xs[0][t] = x[t]
        s = s + np.sum(v * x)
    return s


def row_view_before_the_write(x):
    xs = {}
    xs[0] = np.zeros((2, 3))
    row = xs[0][0]
    xs[0][0, 1] = x[0]
    return np.sum(row * x)


def item_stored_twice(x):
    xs = {}
    xs[0] = np.zeros(3)
    xs[1] = xs[0]
    xs[1][0] = x[0]
    return np.sum(xs[0] * x)


@pytest.mark.parametrize("f, line, why", [
    (stored_from_a_name, "xs[0][1] = x[0]", "may be held by another name"),
    (stored_argument, "xs[0][0] = 1.0", "may be held by another name"),
    (item_bound_before_the_write, "xs[0][1] = x[0]", "a reference to an item of 'xs'"),
    (item_bound_in_the_writing_loop, "xs[0][t] = x[t]", "a reference to an item of 'xs'"),
    (row_view_before_the_write, "xs[0][0, 1] = x[0]", "a reference to an item of 'xs'"),
    (item_stored_twice, "xs[1][0] = x[0]", "may be held by another name"),
])
def test_writes_another_reference_would_see_are_refused(f, line, why):
    import inspect
    source, first = inspect.getsourcelines(f)
    lineno = first + next(i for i, text in enumerate(source) if text.strip() == line)
    with pytest.raises(sg.UnsupportedSyntaxError) as raised:
        sg.grad(f)(np.array([0.3, -0.7, 1.1]))
    message = str(raised.value)
    assert f"{__file__}:{lineno}" in message and why in message
    assert "_item" not in message and "_t" not in message.split(":")[0]


def test_the_primal_of_a_refused_write_is_what_python_computes():
    # (the refusals above are not over-cautious about the primal: Python
    # really does see the write through the other reference)
    x = np.array([0.3, -0.7, 1.1])
    assert stored_from_a_name(x) == pytest.approx(0.3 * -0.7)
    assert item_bound_before_the_write(x) == pytest.approx(0.3 * -0.7)
