"""Functions differentiated by the tests (they must live in a file)."""

import math

import numpy
import numpy as np
from numpy import sin as numpy_sine

import s2sgrad as sg

SCALE = 3.0


def quadratic(x, a, b, c):
    return a * x ** 2 + b * x + c


def elementwise_chain(x):
    return np.sum(np.tanh(x) * np.exp(-x ** 2) + np.log1p(x ** 2))


def reassigned(x, y):
    h = np.tanh(x) * y
    h = h * 3.0 + x
    h = h / (1.0 + y ** 2)
    return np.sum(h ** 2)


def aliased_numpy(x):
    return numpy.sum(numpy_sine(x) * numpy.cos(x))


def uses_global(x):
    return np.sum(x * SCALE) + SCALE


def make_closure(w):
    def closure(x):
        return np.sum((x * w) ** 2)

    return closure


def math_functions(x):
    return math.exp(math.sin(x)) / (1.0 + x * x) + math.sqrt(x) * math.log(x)


def broadcasting(x, y):
    return np.sum(np.sin(x) * y + x / (1.0 + y ** 2))


def reductions(x):
    a = np.sum(x, axis=0)
    b = np.mean(x, axis=1, keepdims=True)
    c = np.max(x * b, axis=-1)
    return np.sum(a ** 2) + np.sum(c) + np.prod(np.tanh(x))


def linalg(W, x, v):
    h = np.tanh(W @ x)
    return np.dot(h, v) + np.sum(np.outer(h, v)) + np.sum(W.T @ h)


def shapes(x):
    y = np.reshape(x, (3, 2))
    z = np.transpose(y) * 2.0
    return np.sum(z.reshape(6) ** 3) + np.sum(x.T * x.T)


def subscripts(x):
    return x[0] * x[1] + np.sum(x[1:] ** 2) + np.sum(x[::2]) + x[-1]


def branches(x, y):
    if x > 0 and y < 2.0:
        z = x * y
    elif x < -1:
        return x ** 3
    else:
        z = -x + y
    w = z if z > 0 else z * 2.0
    return w * y


def tuple_unpacking(x, y):
    a, b = np.sin(x), np.cos(y)
    c, d = (a * b, a + b)
    return np.sum(c * d)


def augmented(x):
    s = x * 1.0
    s += x ** 2
    s *= 3.0
    s -= np.sin(x)
    s /= 2.0
    return np.sum(s)


def stopped(x):
    return np.sum(x * sg.stop_gradient(x))


def nondifferentiable_calls(x):
    k = np.argmax(x)
    return x[k] * np.floor(np.sum(x)) + np.sum(np.round(x) * x)


def maximum_where_clip(x, y):
    return np.sum(np.maximum(x, y) + np.where(x > 0, x, y ** 2) + np.clip(x, -0.5, 0.5))


def keyword_call(x):
    return np.sum(np.sum(x, axis=0, keepdims=True) * x)


def unused_argument(x, y):
    return np.sum(x ** 2)


def vector_output(x):
    return np.sin(x) * 2.0


def integer_literal_power(x):
    return np.sum(x ** 3 - 2 * x ** 2)


def with_print(x):
    print("x is", x)
    y = x * 2.0
    assert y is not None
    return y * y


def default_argument(x, scale=2.0):
    return scale * x ** 2


def keyword_only(x, *, k=3.0):
    return k * x ** 2


def softmax_cross_entropy(W, b, X, Y):
    logits = X @ W + b
    m = sg.stop_gradient(np.max(logits, axis=1, keepdims=True))
    z = logits - m
    lse = np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.sum(Y * (z - lse)) / X.shape[0]


lambda_square = lambda x: x * x  # noqa: E731


def rnn(W, U, x, h0):
    h = h0
    for t in range(x.shape[0]):
        h = np.tanh(W @ h + U @ x[t])
    return np.sum(h ** 2)


def cell(h, x, W, U):
    return np.tanh(W @ h + U @ x)


def rnn_calls(W, U, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = cell(h, xs[t], W, U)
    return np.sum(h ** 2)


def scalar_loop_break(x):
    s = 0.0
    for i in range(10):
        s = s * 0.9 + np.sin(x * i)
        if s > 2.0:
            break
    return s


def while_continue(x):
    while x < 10.0:
        x = x * 1.5 + 0.1
        if x > 5.0:
            continue
        x = x + 0.01
    return x


def iterate_sequences(xs, w):
    s = 0.0
    for i, row in enumerate(xs):
        s += np.sum(row * w) * i
    for a, b in zip(xs, xs):
        s += np.sum(a * b * w)
    for row in xs:
        s = s + np.sum(row)
    for v in (w, w * 2.0):
        s = s + np.sum(v ** 2)
    return s


def nested_loops_break(x):
    total = 0.0
    for i in range(3):
        acc = x[i]
        for j in range(4):
            acc = acc * np.cos(acc) + x[j]
            if acc > 1.5:
                break
        total = total + acc * i
    return total


def nested_def(x, y):
    def inner(a, b, scale=2.0):
        return np.sin(a) * scale + b

    z = inner(x, y) + inner(x * y, y, scale=3.0)
    return np.sum(z ** 2)


def nested_def_capturing(x, y):
    def inner(a):
        return a * y

    return np.sum(inner(x))


def power_recursive(x, n):
    if n == 0:
        return 1.0
    return x * power_recursive(x, n - 1)


def helper(v, k):
    if k > 1:
        return v * k
    return v ** 3


def branch_in_loop_in_call(x):
    s = 0.0
    for i in range(4):
        if x[i] > 0:
            s = s + helper(x[i], i)
        else:
            s = s - x[i] ** 2
    return s


def accumulate_loop(x):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * x[i - 1]
    return s


def overwrite_many_times(x):
    y = x
    for _ in range(5):
        y = np.sin(y) * 1.1 + y * y * 0.1
    return np.sum(y)


def data_dependent_while(x):
    n = 0
    y = x
    while np.sum(y ** 2) < 50.0 and n < 100:
        y = y * 1.3 + 0.05
        n += 1
    return np.sum(y)


def recurrence_into_array(W, h0, T):
    h = np.zeros((T + 1, h0.shape[0]))
    h[0] = h0
    for t in range(T):
        h[t + 1] = np.tanh(W @ h[t])
    return np.sum(h ** 2)


def subscript_updates(x):
    y = np.copy(x)
    y[1:3] *= 2.0
    y[0] += x[2] ** 2
    y[-1] = np.sin(y[0])
    return np.sum(y * y)


def write_through_view(x):
    y = x[1:]
    y[0] = 2.0
    return np.sum(y)


def write_shared(x):
    y = np.copy(x)
    z = y
    y[0] = 1.0
    return np.sum(z * x)


def advanced_indexing(x):
    idx = np.array([0, 2, 2])
    mask = x > 0
    return np.sum(x[idx] ** 2) + np.sum(x[mask] * 3.0) + np.sum(x[None, :, np.newaxis]) + x[..., 1]


def soft_threshold(x, t):
    return np.sign(x) * np.maximum(np.abs(x) - t, 0.0)


@sg.defgrad(soft_threshold)
def soft_threshold_vjp(g, ans, x, t):
    if np.ndim(x) == 0:
        inside = float(abs(x) > t)
    else:
        inside = (np.abs(x) > t).astype(float)
    return (g * inside, -np.sum(g * np.sign(x) * inside))


def uses_custom_rule(x, t):
    return np.sum(soft_threshold(x * 2.0, t) ** 2)


def cube(x):
    return x ** 3


@sg.defgrad(cube)
def cube_vjp(g, ans, x):
    return (3.0 * g * x ** 2,)


def uses_cube(x):
    return np.sum(cube(np.sin(x)))


def softplus(x):
    return np.logaddexp(0.0, x)


@sg.defgrad(softplus)
def softplus_vjp(g, ans, x):  # a one-argument rule may return its gradient alone
    return g / (1.0 + np.exp(-x))


def uses_softplus(x):
    return np.sum(softplus(2.0 * x) * x)


def hinge(x):
    return np.maximum(1.0 - x, 0.0)


@sg.defgrad(hinge)
def hinge_vjp(g, ans, x):  # alone, from a rule with branches (called, not inlined)
    if np.ndim(x):
        out = -g * (x < 1.0)
    else:
        out = -g * float(x < 1.0)
    return out


def uses_hinge(x):
    return np.sum(hinge(x * 3.0) ** 2)


@sg.grad
def calls_a_later_function(x):
    return defined_later(x) * 2.0


def defined_later(x):
    return x ** 3


def nested_def_capturing_reassigned(x, y):
    w = y * 2.0

    def inner(a):
        return np.sin(a * w) + w ** 2

    first = np.sum(inner(x))
    w = w + x
    return first + np.sum(inner(x * 3.0))


def nested_def_as_value(x):
    def inner(a):
        return a * x

    return np.sum(np.apply_along_axis(inner, 0, x))


def return_in_loop(x):
    s = 0.0
    for i in range(x.shape[0]):
        s = s + np.sin(x[i]) * s + x[i]
        if s > 1.0:
            return s * 2.0
    return s - 1.0


def return_in_nested_loops(x):
    total = 0.0
    for i in range(3):
        for j in range(x.shape[0]):
            total = total + x[j] * (i + 1)
            if total > 2.5:
                return total ** 2
        total = total * 0.5
    return total


def return_in_while_true(x):
    v = x
    while True:
        v = v * 1.5
        if np.sum(v) > 4.0:
            return np.sum(v ** 2)


def return_in_loop_in_branch(x, y):
    if np.sum(y) > 0:
        for row in y:
            if np.sum(row * x) > 0.5:
                return np.sum(np.tanh(row * x))
        y = y * 2.0
    return np.sum(x * y)


def for_else(x):
    s = x * 0.5
    for i in range(4):
        s = np.sin(s) + x
        if np.sum(s) > 2.0:
            break
    else:
        s = s * 3.0
    return np.sum(s ** 2)


def while_else_with_inner_break(x):
    s = x
    n = 0
    while n < 3:
        n += 1
        for j in range(2):
            s = s * 1.2
            if np.sum(s) > 10.0:
                break  # the inner loop's: the else below still runs
        if np.sum(s) > 3.0:
            break
    else:
        s = np.tanh(s)
    return np.sum(s)


def math_in_a_saved_loop(x):
    s = x
    for i in range(3):
        s = math.sin(s) * s
    return s


def recomputed_loop(x):
    s = 0.0
    for i in range(3):
        s = s + math.sin(x) * i
    return s


def iterate_backwards(xs, w):
    h = w * 0.0
    for row in reversed(xs):
        h = np.tanh(row * w + h)
    for i in reversed(range(2)):
        h = h * (i + 1.5)
    return np.sum(h ** 2)


def view_read_after_a_write(x):
    r = x[0:2]
    x[0] = 5.0
    return np.sum(r * x[0:2])


def head_view(v):
    t = v[0:2]
    kept = t
    return kept


def inlined_view_read_after_a_write(x):
    r = head_view(x)
    x[0] = 5.0
    return np.sum(r * x[0:2])


def view_read_in_the_next_iteration(x):
    y = np.copy(x)
    r = y[0:2]
    total = 0.0
    for i in range(2):
        total = total + np.sum(r * 2.0)
        r = y[0:2]
        y[0] = total
    return total + np.sum(y)


def view_read_before_the_write(x):
    y = np.copy(x)
    for i in range(2):
        r = y[0:2]
        y[0] = np.sum(np.sin(r))
    return np.sum(y * y)


def named_lambdas(x, y):
    scale = lambda v: v * y  # noqa: E731 (the construct under test)
    square = lambda v, k=2.0: v ** k  # noqa: E731
    return np.sum(square(scale(x))) + np.sum(scale(np.sin(x)))
