"""Functions written the way users write them, each a minimised reproducer
of a wrong derivative or an internal crash found by the session-10 hunt for
silently wrong gradients (issue 10): every value is compared with central
finite differences in float64 (of the function, or of its gradient for
second derivatives)."""

import functools

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_jacobian, numerical_jvp

X = np.array([0.3, -1.1, 0.8])
V = np.array([1.0, 0.5, -0.3])


def softplus(x):
    return np.log1p(np.exp(x))


@sg.defgrad(softplus)
def _softplus_grad(g, ans, x):  # a VJP only: forward mode goes reverse over reverse
    return (g / (1 + np.exp(-x)),)


def scaled_softplus(x, c=2.0):
    return np.sum(softplus(x) ** 2 * c)


def scaled_softplus_numbers(x, c=2.0):
    return np.sum(np.log1p(np.exp(x)) ** 2 * c)


# -- sg.jvp and sg.hvp of a function forward mode cannot follow (a rule
#    registered with sg.defgrad has no forward rule) went reverse over
#    reverse with the call's positional arguments only: a defaulted
#    argument left out, or any keyword argument, crashed with "missing 1
#    required positional argument: 'v'" or "unexpected keyword argument"

@pytest.mark.parametrize("args, kwargs", [((), {}), ((3.0,), {}), ((), {"c": 3.0})],
                         ids=["default", "positional", "keyword"])
def test_jvp_and_hvp_by_reverse_take_defaults_and_keywords(args, kwargs):
    c = kwargs.get("c", args[0] if args else 2.0)
    value, tangent = sg.jvp(scaled_softplus)(X, *args, V, **kwargs)
    np.testing.assert_allclose(value, scaled_softplus_numbers(X, c), rtol=1e-12)
    np.testing.assert_allclose(tangent, numerical_jvp(scaled_softplus_numbers, [X, c], 0, V),
                               rtol=1e-6)
    gradient = sg.grad(scaled_softplus_numbers)
    expected = numerical_jacobian(lambda x: gradient(x, c), [X]) @ V
    np.testing.assert_allclose(sg.hvp(scaled_softplus)(X, *args, V, **kwargs), expected,
                               rtol=1e-5)


# -- what a gradient function already made sees (README, "Caching"): the
#    numbers, flags and arrays its function reads from globals, at the
#    time it runs; a callee or defaults changed after it was made are seen
#    by asking sg.grad again

SCALE = 2.0
POWER = 2
USE_SINE = True
WEIGHTS = np.eye(3)


def reads_globals(x):
    y = WEIGHTS @ x
    if USE_SINE:
        y = np.sin(y)
    return np.sum(SCALE * y ** POWER)


def test_a_gradient_made_once_reads_the_globals_as_they_are_when_it_runs(monkeypatch):
    gradient = sg.grad(reads_globals)
    for name, value in (("SCALE", 5.0), ("POWER", 3), ("USE_SINE", False)):
        monkeypatch.setattr(f"{__name__}.{name}", value)
        np.testing.assert_allclose(gradient(X), numerical_jacobian(reads_globals, [X]),
                                   rtol=1e-6, err_msg=name)
    monkeypatch.setattr(f"{__name__}.WEIGHTS", WEIGHTS.copy())
    WEIGHTS[0, 1] = 2.0  # written in place
    np.testing.assert_allclose(gradient(X), numerical_jacobian(reads_globals, [X]), rtol=1e-6)


ACTIVATION = np.sin


def activated(x, c=1.0):
    return np.sum(c * ACTIVATION(x) * x)


def test_asking_again_after_a_rebound_callee_or_new_defaults_gives_the_new_derivative(
        monkeypatch):
    np.testing.assert_allclose(sg.grad(activated)(X), numerical_jacobian(activated, [X]),
                               rtol=1e-6)
    monkeypatch.setattr(f"{__name__}.ACTIVATION", np.tanh)
    np.testing.assert_allclose(sg.grad(activated)(X), numerical_jacobian(activated, [X]),
                               rtol=1e-6)
    monkeypatch.setattr(activated, "__defaults__", (3.0,))
    np.testing.assert_allclose(sg.grad(activated)(X), numerical_jacobian(activated, [X]),
                               rtol=1e-6)
    np.testing.assert_allclose(sg.jvp(activated)(X, V)[1],
                               numerical_jvp(activated, [X], 0, V), rtol=1e-6)
    gradient = sg.grad(activated)
    np.testing.assert_allclose(sg.hessian(activated)(X) @ V,
                               numerical_jacobian(gradient, [X]) @ V, rtol=1e-5)


# -- an argument's gradient made an array of its own inside a loop
#    (dx = dx + ...) was then accumulated in place after it (dx += ...):
#    with no iteration it was still the read-only spread of the seed
#    ("output array is read-only"), and the Hessian was refused naming the
#    generated 'dx'

def largest_of_first(x, k):
    best = x[0]
    for i in range(k):
        v = x[i]
        if v > best:
            best = v
    return best ** 2 + np.sum(x * best)


def largest(x):
    best = x[0]
    for v in x:
        if v > best:
            best = v
    return best ** 2 + np.sum(x * best)


@pytest.mark.parametrize("k", [0, 1, 3])
def test_a_loop_that_may_run_no_iteration_leaves_the_gradient_as_it_was(k):
    np.testing.assert_allclose(sg.grad(largest_of_first)(X, k),
                               numerical_jacobian(largest_of_first, [X, k]), rtol=1e-6)
    gradient = sg.grad(largest_of_first)
    np.testing.assert_allclose(sg.hessian(largest_of_first)(X, k),
                               numerical_jacobian(lambda x: gradient(x, k), [X]), atol=1e-6)


def test_the_hessian_of_a_loop_over_the_argument_accumulating_its_gradient():
    gradient = sg.grad(largest)
    np.testing.assert_allclose(sg.hessian(largest)(X), numerical_jacobian(gradient, [X]),
                               atol=1e-6)
    np.testing.assert_allclose(sg.hvp(largest)(X, V), numerical_jacobian(gradient, [X]) @ V,
                               atol=1e-6)


# -- a loop writing into an array (y[i] = ...) that the result also reads
#    times the argument (sum(y * x)): x's cotangent is y, which the reverse
#    sweep then wrote the loop's overwritten slots back into -- the
#    gradient read y as it was before the loop (silently wrong, 3 x0**2
#    gave 0.48 for 0.27)

def squares_some(x, k):
    y = x * 1.0
    for i in range(k):
        y[i] = y[i] ** 2
    return np.sum(y * x)


def sines_while(x, k):
    y = x * 1.0
    i = 0
    while i < k:
        y[i] = np.sin(y[i]) * 2
        i += 1
    return np.sum(y * x)


def nested_products(x, k):
    y = x * 1.0
    for _ in range(2):
        for i in range(k):
            y[i] = y[i] * y[(i + 1) % 3]
    return np.sum(y * x) + np.sum(y ** 2)


def read_between_loops(x, k):
    y = x * 1.0
    for i in range(k):
        y[i] = y[i] ** 2
    s = np.sum(y * x)
    for i in range(k):
        y[i] = y[i] * 3
    return s + np.sum(y * x)


def rnn_states(X, k):
    H = X * 1.0
    for t in range(k):
        H[t, :] = np.tanh(H[t, :]) * H[(t + 1) % 2, :]
    return np.sum(H * X)


@pytest.mark.parametrize("f, x", [(squares_some, X), (sines_while, X), (nested_products, X),
                                  (read_between_loops, X),
                                  (rnn_states, np.array([[0.3, -1.1, 0.9], [0.5, 0.2, -0.4]]))],
                         ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("k", [0, 1, 2])
def test_a_loop_writing_into_an_array_the_result_reads_against_the_argument(f, x, k):
    np.testing.assert_allclose(sg.grad(f)(x.copy(), k), numerical_jacobian(f, [x, k]),
                               rtol=1e-6, atol=1e-9)
    v = np.linspace(-1.0, 1.0, x.size).reshape(x.shape)
    np.testing.assert_allclose(sg.jvp(f)(x.copy(), k, v)[1], numerical_jvp(f, [x, k], 0, v),
                               rtol=1e-6, atol=1e-9)


# -- two crashes where nothing reached a value: the reverse-over-reverse
#    JVP of a list built by a loop that ran no iteration ("'float' object
#    is not iterable" in gathered_cotangent), and the Hessian of an
#    argument with no entries ("cannot reshape array of size 0")

def sum_of_appended(x, k):
    squares = []
    for i in range(k):
        squares.append(x[i] ** 2)
    return sum(squares) + np.sum(x)


@pytest.mark.parametrize("k", [0, 2])
def test_jvp_of_a_list_a_loop_may_leave_empty(k):
    value, tangent = sg.jvp(sum_of_appended)(X, k, V)
    np.testing.assert_allclose(value, sum_of_appended(X, k), rtol=1e-12)
    np.testing.assert_allclose(tangent, numerical_jvp(sum_of_appended, [X, k], 0, V), rtol=1e-6)


def test_the_hessian_of_an_argument_with_no_entries():
    def f(x, W):
        return np.sum((W @ x) ** 2) + np.sum(x ** 2) + 1.0

    H = sg.hessian(f)(np.zeros(0), np.zeros((2, 0)))
    assert H.shape == (0, 0) and H.dtype == np.float64
    H = sg.hessian(f, wrt=1)(np.ones(2), np.zeros((0, 2)))
    assert H.shape == (0, 2, 0, 2)


# -- a local helper taking **kwargs was refused only when its VJP ran,
#    naming the generated copy ("__s2sgrad_factory__.<locals>.grad_...
#    .<locals>.f"); it is refused where it is called, by its name

def calls_a_keywords_helper(x):
    def scaled(a, **options):
        return a * options["s"]
    return np.sum(scaled(x, s=3.0))


def test_a_local_helper_taking_keywords_is_refused_by_its_name_at_the_call():
    for call in (lambda: sg.grad(calls_a_keywords_helper)(X),
                 lambda: sg.jvp(calls_a_keywords_helper)(X, V),
                 lambda: sg.hessian(calls_a_keywords_helper)(X)):
        with pytest.raises(sg.UnsupportedSyntaxError) as refused:
            call()
        message = str(refused.value)
        assert "call to scaled with variable arguments" in message
        assert f"test_silent_s10.py:{calls_a_keywords_helper.__code__.co_firstlineno + 3}" in message
        assert "__s2sgrad" not in message


# -- a list or tuple argument that a NumPy function reads as an array
#    (np.dot(p, p)): its cotangent is an array, which the gradient's
#    structure took for "nothing flowed" -- a silent zero; sg.jacobian of
#    a function of a list, tuple or dict returned zeros for a scalar
#    function and crashed for a vector one ("Field elements must be 2- or
#    3-tuples"); sg.hessian crashed the same way

P = [0.3, -1.2, 0.8]


def dot_of_itself(p):
    return np.dot(p, p) + np.sum(np.multiply(p, [1.0, 2.0, 3.0]))


def of_items(p):
    return p[0] ** 2 * p[1] + np.sin(p[2])


def items_vector(p):
    return np.array([p[0] * p[1], p[1] ** 2, np.sin(p[2]), p[0], p[2] * p[0]])


def keyed_vector(p):
    return np.array([p["a"] * p["b"], p["b"] ** 2, np.exp(p["a"])])


def _as_array(f):
    return lambda a: f(list(a))


@pytest.mark.parametrize("kind", [list, tuple])
def test_a_sequence_a_numpy_function_reads_as_an_array(kind):
    gradient = sg.grad(dot_of_itself)(kind(P))
    np.testing.assert_allclose(list(gradient),
                               numerical_jacobian(_as_array(dot_of_itself), [np.array(P)]),
                               rtol=1e-6)


@pytest.mark.parametrize("f", [of_items, items_vector], ids=lambda f: f.__name__)
@pytest.mark.parametrize("kind", [list, tuple])
def test_the_jacobian_with_respect_to_a_sequence_is_a_block_per_item(f, kind):
    J = sg.jacobian(f)(kind(P))
    assert type(J) is kind and len(J) == len(P)
    expected = numerical_jacobian(_as_array(f), [np.array(P)])  # out + (3,)
    for i, block in enumerate(J):
        np.testing.assert_allclose(block, expected[..., i], rtol=1e-6, atol=1e-12)


def test_the_jacobian_with_respect_to_a_dict_is_a_block_per_key():
    p = {"a": 0.3, "b": -1.2}
    J = sg.jacobian(keyed_vector)(p)
    assert set(J) == {"a", "b"}
    for key in p:
        def of_entry(v, key=key):
            return keyed_vector({**p, key: v})
        np.testing.assert_allclose(J[key], numerical_jacobian(of_entry, [p[key]]), rtol=1e-6)


@pytest.mark.parametrize("p", [P, tuple(P), {"a": 0.3}], ids=["list", "tuple", "dict"])
def test_the_hessian_with_respect_to_a_structure_is_a_type_error_naming_it(p):
    def f(p):
        return np.sum(np.asarray(list(p.values()) if isinstance(p, dict) else p) ** 3)

    with pytest.raises(TypeError, match=f"argument 'p' of .*f is a {type(p).__name__}"):
        sg.hessian(f)(p)


# -- one array passed for two arguments of a function writing into one of
#    them (f(a, a)): the write changed the other too, which the derivative,
#    taking them apart, did not follow (silently wrong: [0, -1.1, 0.9] for
#    d/dx at x = y = a); refused when it runs, in every mode

def writes_its_first_argument(x, y):
    x[0] = y[1] * 2
    return np.sum(x * y)


def test_a_function_writing_into_an_argument_is_differentiated_when_apart():
    c = np.array([1.0, 2.0, 0.5])

    def f(x, y):
        return writes_its_first_argument(x.copy(), y)

    for wrt in (0, 1):
        np.testing.assert_allclose(sg.grad(writes_its_first_argument, wrt=wrt)(X.copy(), c),
                                   numerical_jacobian(f, [X, c], wrt), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sg.jvp(writes_its_first_argument)(X.copy(), c, V)[1],
                               numerical_jvp(f, [X, c], 0, V), rtol=1e-6)


@pytest.mark.parametrize("second", [lambda a: a, lambda a: a[::-1]], ids=["same", "view"])
def test_one_array_for_two_arguments_one_written_into_is_refused(second):
    a = X.copy()
    calls = (lambda: sg.grad(writes_its_first_argument)(a, second(a)),
             lambda: sg.grad(writes_its_first_argument, wrt=1)(a, second(a)),
             lambda: sg.value_and_grad(writes_its_first_argument)(a, second(a)),
             lambda: sg.jvp(writes_its_first_argument)(a, second(a), V),
             lambda: sg.hessian(writes_its_first_argument)(a, second(a)))
    for call in calls:
        with pytest.raises(sg.UnsupportedSyntaxError) as refused:
            call()
        message = str(refused.value)
        assert "assignment into argument 'x', which shares memory with argument 'y'" in message
        assert "test_silent_s10.py" in message


# -- leads from earlier sessions, right now and pinned: a decorated
#    function of float32 arguments holding -0.0, and return inside loops in
#    forward mode and at order 2

def _passes_through(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper


def _doubles(fn):
    @functools.wraps(fn)
    def wrapper(x):
        return 2.0 * fn(x)
    return wrapper


@_passes_through
def smooth_passed_through(x):
    return np.sum(np.sin(x) * x + x ** 3)


@_doubles
def smooth_doubled(x):
    return np.sum(np.cos(x) * x ** 2 - x)


@pytest.mark.parametrize("f", [smooth_passed_through, smooth_doubled], ids=lambda f: f.__name__)
def test_a_decorated_function_of_float32_with_signed_zeros(f):
    x = np.array([-0.0, 0.0, 0.5, -1.5], dtype=np.float32)
    gradient = sg.grad(f)(x)
    assert gradient.dtype == np.float32
    np.testing.assert_allclose(gradient, numerical_jacobian(f, [x]), rtol=1e-4, atol=1e-5)
    v = np.array([1.0, -1.0, 0.5, 2.0], dtype=np.float32)
    np.testing.assert_allclose(sg.jvp(f)(x, v)[1], numerical_jvp(f, [x], 0, v),
                               rtol=1e-4, atol=1e-5)


def returns_from_a_nested_loop(x):
    total = 0.0
    for i in range(3):
        for j in range(3):
            if i == j:
                continue
            total = total + x ** (i + j)
            if total > 5:
                return total * np.exp(-x)
    return total


def returns_from_a_loop_writing_an_array(x):
    y = np.zeros(3)
    for i in range(3):
        y[i] = x[i] ** 2 * x[(i + 1) % 3]
        if y[i] > 0.2:
            return np.sum(y * x)
    return np.sum(y)


@pytest.mark.parametrize("x", [0.8, 1.3])
def test_return_inside_loops_at_order_two(x):
    gradient = sg.grad(returns_from_a_nested_loop)
    expected = numerical_jacobian(gradient, [x])
    np.testing.assert_allclose(sg.grad(gradient)(x), expected, rtol=1e-5)
    np.testing.assert_allclose(sg.hessian(returns_from_a_nested_loop)(x), expected, rtol=1e-5)


@pytest.mark.parametrize("x", [X, np.array([0.5, 0.2, 0.1]), np.array([0.9, 0.8, 0.7])],
                         ids=["early", "late", "first"])
def test_return_inside_a_loop_writing_an_array_forward_and_hessian(x):
    f = returns_from_a_loop_writing_an_array
    np.testing.assert_allclose(sg.jvp(f)(x, V)[1], numerical_jvp(f, [x], 0, V), rtol=1e-6)
    gradient = sg.grad(f)
    np.testing.assert_allclose(sg.hessian(f)(x), numerical_jacobian(gradient, [x]), atol=1e-6)
    np.testing.assert_allclose(sg.hvp(f)(x, V), numerical_jacobian(gradient, [x]) @ V, atol=1e-6)


# -- the same through a second name bound to the array after the writes
#    (z = y): x's cotangent was z, which the adjoint's writing back of y's
#    overwritten slot changed -- silently wrong in straight-line code too
#    (0.588 for d/dx0 = 0.378)

def copy_after_a_write(x, k):
    y = x * 1.0
    y[0] = y[0] ** 2
    z = y
    return np.sum(z * x) + np.sum(y * y)


def copy_after_a_branch_write(x, k):
    y = x * 1.0
    if k > 1:
        y[0] = y[0] ** 2
    z = y
    return np.sum(z * x) + np.sum(y * y)


def copy_after_loop_writes(x, k):
    y = x * 1.0
    for i in range(k):
        y[i] = y[i] ** 2
    z = y
    w = z
    return np.sum(w * x) + np.sum(y * y)


@pytest.mark.parametrize("f", [copy_after_a_write, copy_after_a_branch_write,
                               copy_after_loop_writes], ids=lambda f: f.__name__)
@pytest.mark.parametrize("k", [1, 3])
def test_a_second_name_for_an_array_written_before(f, k):
    np.testing.assert_allclose(sg.grad(f)(X.copy(), k), numerical_jacobian(f, [X, k]),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sg.jvp(f)(X.copy(), k, V)[1], numerical_jvp(f, [X, k], 0, V),
                               rtol=1e-6)
