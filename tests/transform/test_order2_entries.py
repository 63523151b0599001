"""Issue 12, order 2: list cotangents with missing entries, the entry
checks of a second derivative (a non-scalar ``f``), mixed partials.

Every derivative is checked against central finite differences of the
derivative one order below (tests/fd.py).
"""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad, numerical_jacobian, numerical_jvp

RNG = np.random.default_rng(12)


def assert_second_order(f, *args):
    """grad, hvp along a random direction and the Hessian, each against
    finite differences of the order below."""
    x = args[0]
    np.testing.assert_allclose(sg.grad(f)(*args), numerical_grad(f, args), rtol=1e-5, atol=1e-7)
    first = sg.grad(f)
    v = RNG.standard_normal(np.shape(x)) if np.ndim(x) else 0.7
    np.testing.assert_allclose(sg.hvp(f)(*args, v), numerical_jvp(first, args, 0, v),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sg.hessian(f)(*args), numerical_jacobian(first, args),
                               rtol=1e-5, atol=1e-6)
    if not np.ndim(x):
        np.testing.assert_allclose(sg.grad(sg.grad(f))(*args), numerical_grad(first, args),
                                   rtol=1e-5, atol=1e-6)


# -- a list cotangent with entries nothing reached (None) ---------------------

def sorted_pair_in_loop(y, n):
    s = 0.0
    for i in range(n):
        s = s + np.sort(np.array([y, 1.0]))[0] * y
    return s


def sorted_pair(y):
    return np.sort(np.array([y, 1.0]))[0] * y


def nested_array_entry(y):
    return np.array([[y, 1.0], [2.0, y * y]])[1, 1] * y


def one_piece_of_unstack(x):
    a, b = np.unstack(np.stack([x, x * x]))
    return np.sum(a ** 3) * 2.0


def other_piece_of_unstack(x):
    a, b = np.unstack(np.stack([np.sin(x), x * x]), axis=0)
    return np.sum(b * x)


def some_pieces_of_split(x):
    a, b, c = np.split(x, 3)
    return np.sum(a ** 2 * c)


@pytest.mark.parametrize("y", [0.5, 1.5])
def test_a_loop_indexing_a_sorted_pair_at_order_2(y):
    # (the adjoint of np.array's cotangent met None for the constant 1.0:
    # "unsupported operand type(s) for +: 'float' and 'NoneType'")
    assert_second_order(sorted_pair_in_loop, y, 3)
    assert_second_order(sorted_pair, y)
    source = sg.source(sorted_pair_in_loop, order=2)
    assert "GradientTape" not in source and "tape" not in source


@pytest.mark.parametrize("f, x", [
    (nested_array_entry, 0.7),
    (one_piece_of_unstack, RNG.standard_normal(3)),
    (other_piece_of_unstack, RNG.standard_normal(4)),
    (some_pieces_of_split, RNG.standard_normal(6)),
])
def test_list_cotangents_with_missing_entries(f, x):
    # (np.stack of unstack's cotangent met None for the unused piece, at order 1)
    assert_second_order(f, x)
    v = RNG.standard_normal(np.shape(x)) if np.ndim(x) else 0.3
    np.testing.assert_allclose(sg.jvp(f)(x, v)[1], numerical_jvp(f, (x,), 0, v), rtol=1e-5,
                               atol=1e-7)


def test_missing_entries_are_zeros_shaped_like_their_items():
    from s2sgrad.primitives import shape

    pieces = [np.ones((2, 3)), np.ones((2, 3))]
    np.testing.assert_array_equal(shape.stacked_cotangent([None, np.full((2, 3), 2.0)], pieces, 1),
                                  np.stack([np.zeros((2, 3)), np.full((2, 3), 2.0)], axis=1))
    np.testing.assert_array_equal(shape.stacked_cotangent(0.0, pieces), np.zeros((2, 2, 3)))
    items = [[1.0, 2.0], [3.0, 4.0]]
    np.testing.assert_array_equal(shape.array_of_cotangent([None, [5.0, None]], items, np.ones(4)),
                                  [0.0, 0.0, 5.0, 0.0])


# -- order 2 requires f to return a scalar ------------------------------------

def doubled(x):
    return x * 2.0


def pair(x):
    return np.array([x ** 2, x ** 3])


def scaled_quad(a, x):
    return a * x ** 2 + 3.0 * x + 1.0


def looped(x, n):
    s = 0.0
    for i in range(n):
        s = s * x + 1.0
    return s


def branched(x):
    if np.sum(x) > 0.0:
        return x * 3.0
    return np.sin(x)


NOT_SCALAR = [
    (doubled, (np.ones(2),), 0, "doubled"),
    (pair, (0.5,), 0, "pair"),
    (scaled_quad, (np.ones(2), 0.5), 1, "scaled_quad"),
    (looped, (np.ones(3), 2), 0, "looped"),
    (branched, (np.ones(2),), 0, "branched"),
]


@pytest.mark.parametrize("f, args, wrt, name", NOT_SCALAR)
def test_second_derivatives_require_f_to_return_a_scalar(f, args, wrt, name):
    # (a vector-valued f gave an internal reshape error, or a Hessian of zeros)
    x = args[wrt]
    message = (rf"^{name} must return a real scalar to be differentiated; it returned ndarray "
               rf"of shape \(\d.*\(for an array output, use sg.jacobian\)$")
    with pytest.raises(ValueError, match=message):
        sg.hessian(f, wrt=wrt)(*args)
    with pytest.raises(ValueError, match=message):
        sg.hvp(f, wrt=wrt)(*args, np.ones_like(x) if np.ndim(x) else 1.0)
    if not np.ndim(x):
        with pytest.raises(ValueError, match=message):
            sg.grad(sg.grad(f, wrt=wrt), wrt=wrt)(*args)
    with pytest.raises(ValueError, match=message):  # (the first derivative says the same)
        sg.grad(f, wrt=wrt)(*args)


def test_a_second_derivative_with_respect_to_an_array_is_refused_in_its_terms():
    with pytest.raises(ValueError, match=r"the gradient of scaled_quad must return a real scalar "
                                         r"to be differentiated; it has the shape of its argument "
                                         r"'x', \(3,\) \(for the matrix of second derivatives, "
                                         r"use sg.hessian\)"):
        sg.grad(sg.grad(scaled_quad, wrt=1), wrt=1)(1.0, np.ones(3))
    with pytest.raises(ValueError, match="the gradient of doubled must return a real scalar to "
                                         "be differentiated; it has the shape of its argument "
                                         "'x', \\(2,\\)"):
        sg.grad(sg.grad(doubled))(np.ones(2))  # (it returned zeros: 2.0 looked like a scalar)
    with pytest.raises(TypeError, match="integer argument 'x'"):
        sg.grad(sg.grad(scaled_quad, wrt=1), wrt=1)(1.0, 2)


def test_the_check_of_f_is_off_the_python_float_path():
    source = sg.source(scaled_quad, wrt=1, order=2)
    guard, fast = source.split("    return a * 2")[0], source.split("\n")[-2]
    assert "require_scalar(a * x ** 2 + 3.0 * x + 1.0, 'scaled_quad')" in guard
    assert fast == "    return a * 2"
    assert sg.grad(sg.grad(scaled_quad, wrt=1), wrt=1)(3.0, 0.5) == 6.0
    assert type(sg.grad(sg.grad(scaled_quad, wrt=1), wrt=1)(np.float32(3.0), np.float32(0.5))) \
        is np.float32
    forward = sg.source(scaled_quad, wrt=1, order=2, mode="forward")
    inside = forward.split("    if not a.__class__ is x.__class__ is float:\n")[1]
    assert "require_scalar(a * x ** 2 + 3.0 * x + 1.0, 'scaled_quad')" in inside, forward
    assert sg.hessian(scaled_quad, wrt=1)(3.0, 0.5) == 6.0
    assert sg.hvp(scaled_quad, wrt=1)(3.0, 0.5, 2.0) == 12.0


# -- second derivatives through calls that are not inlined ------------------

from tests import other_module_helpers as helpers  # noqa: E402  (another module: not inlined)


def through_helper(x, w):
    y = helpers.softplus_scaled(x * w, 2.0)
    return np.sum(y * x)


def through_pair(x):
    p, q = helpers.product_and_sine(x, 3.0)
    return p * q + np.cos(p)


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def halving(x):
    if x > 4.0:
        return halving(x / 2) * x
    return x * x * x


def through_recursion(x):
    return halving(x) * 2.0 + power(x, 3)


X2 = np.array([0.3, -0.5])
W2 = np.array([1.0, 2.0])


@pytest.mark.parametrize("f, args", [
    (through_helper, (X2, W2)),
    (through_helper, (0.4, 1.5)),
    (through_pair, (0.7,)),
    (through_recursion, (0.7,)),
    (through_recursion, (9.0,)),
    (power, (0.7, 4)),
], ids=["helper array", "helper float", "pair", "recursion", "recursion deep",
        "power"])
def test_second_derivatives_through_calls_not_inlined_are_generated_source(f, args):
    # (17 of 75 random loop programs ran their second derivative on the tape)
    assert_second_order(f, *args)
    source = sg.source(f, order=2)
    assert "callee_vjp(" in source and "tape" not in source.lower(), source
    compile(source, "<order 2>", "exec")
    second = sg.grad(sg.grad(f))
    if not np.ndim(args[0]):
        assert hasattr(second, "__s2sgrad_source__")  # (generated, not the tape's)


def test_a_third_derivative_through_recursion_is_generated_source():
    first, second = sg.grad(through_recursion), sg.grad(sg.grad(through_recursion))
    third = sg.grad(second)
    assert hasattr(third, "__s2sgrad_source__")
    for x in (0.7, 9.0, 20.0):
        np.testing.assert_allclose(third(x), numerical_grad(second, (x,)), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(second(x), numerical_grad(first, (x,)), rtol=1e-5, atol=1e-6)
    assert "tape" not in sg.source(through_recursion, order=3).lower()


# -- mixed partials: d2f/dx dy through branches, loops and calls ----------------

def mixed_branch(x, y):
    if x > y:
        z = x * np.sin(y) + y ** 2
    else:
        z = np.exp(x * y)
    return z * x


def mixed_loop(x, y, n):
    s = 0.0
    for i in range(n):
        s = s * x + y * np.cos(s)
        if s > 2.0:
            break
    return s


def mixed_layers(w, b):
    h = b
    for i in range(3):
        h = np.tanh(w @ h + b)
    return np.sum(h ** 2)


def _inner(u, v):
    return u * v + np.sin(u)


def mixed_calls(x, y):
    p, q = helpers.product_and_sine(x, y)  # (not inlined)
    return p * q + np.cos(p * y) + _inner(x, y) * y + _inner(y, x)


MIXED = [
    (mixed_branch, (0.7, 0.3)),
    (mixed_branch, (0.2, 0.9)),
    (mixed_loop, (0.6, 0.8, 4)),
    (mixed_loop, (1.3, 0.9, 6)),  # (breaks)
    (mixed_calls, (0.7, 0.4)),
    (mixed_layers, (np.array([[0.3, -0.2], [0.1, 0.4]]), np.array([0.5, -0.3]))),
]


@pytest.mark.parametrize("f, args", MIXED)
@pytest.mark.parametrize("i, j", [(0, 1), (1, 0)])
def test_mixed_partials_are_generated_source(f, args, i, j):
    first = sg.grad(f, wrt=i)
    expected = numerical_jacobian(first, args, j)
    np.testing.assert_allclose(sg.jacobian(first, wrt=j)(*args), expected, rtol=1e-5, atol=1e-6)
    blocks = sg.hessian(f, wrt=(i, j))(*args)
    np.testing.assert_allclose(blocks[0][1], expected, rtol=1e-5, atol=1e-6)
    ni, nj = np.ndim(args[i]), np.ndim(args[j])  # (symmetry: the other block transposed)
    swapped = np.transpose(expected, list(range(ni, ni + nj)) + list(range(ni)))
    np.testing.assert_allclose(blocks[1][0], swapped, rtol=1e-5, atol=1e-6)
    if not np.ndim(args[i]) and not np.ndim(args[j]):
        mixed = sg.grad(first, wrt=j)
        assert hasattr(mixed, "__s2sgrad_source__")  # (generated, not the tape's)
        np.testing.assert_allclose(mixed(*args), expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(mixed(*args), sg.grad(sg.grad(f, wrt=j), wrt=i)(*args),
                                   rtol=1e-9)


# -- siblings: other primitives with several outputs, one left unused ----------

def unused_eigenvectors(x):
    a = x.reshape(2, 2)
    w, v = np.linalg.eigh(a + a.T)
    return np.sum(w ** 2)


def unused_sign(x):
    s, logdet = np.linalg.slogdet(x.reshape(2, 2) + 3.0 * np.eye(2))
    return logdet * 2.0


def one_gradient_axis(x):
    gy, gx = np.gradient(x.reshape(2, 2))
    return np.sum(gx * x.reshape(2, 2))


def unused_quotient(x):
    q, r = divmod(x, 0.7)
    return np.sum(r ** 2)


def unused_exponent(x):
    m, e = np.frexp(x)
    return np.sum(m ** 2)


@pytest.mark.parametrize("f", [unused_eigenvectors, unused_sign, one_gradient_axis,
                               unused_quotient, unused_exponent])
def test_several_outputs_with_one_unused_at_order_2(f):
    assert_second_order(f, np.array([0.3, 0.9, -0.2, 1.1]))


@pytest.mark.parametrize("f, args", [
    (through_helper, (X2, W2)),
    (through_helper, (0.4, 1.5)),
    (through_pair, (0.7,)),
    (through_recursion, (9.0,)),
    (power, (0.7, 4)),
], ids=["helper array", "helper float", "pair", "recursion", "power"])
def test_forward_mode_runs_a_callee_not_inlined_through_its_own_forward_code(f, args):
    # (forward mode refused such a call: jvp and hvp fell back to reverse over reverse)
    x = args[0]
    v = RNG.standard_normal(np.shape(x)) if np.ndim(x) else 0.3
    np.testing.assert_allclose(sg.jvp(f)(*args, v)[1], numerical_jvp(f, args, 0, v),
                               rtol=1e-5, atol=1e-7)
    assert "call_jvp(" in sg.source(f, mode="forward")
    if f is not through_pair:  # (its VJP reads tuple cotangents: the reverse fallback)
        assert "call_jvp(" in sg.source(f, order=2, mode="forward")
    assert_second_order(f, *args)
