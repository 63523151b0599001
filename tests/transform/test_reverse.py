"""Reverse mode end to end: every construct checked against finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import s2sgrad as sg
from tests.fd import numerical_grad, numerical_jacobian
from tests.transform import cases

rng = np.random.default_rng(0)


def check_all(f, *args, rtol=1e-5, atol=1e-7):
    """Compare grad of every float argument of ``f`` with finite differences."""
    float_positions = [i for i, a in enumerate(args) if isinstance(a, float) or
                       (isinstance(a, np.ndarray) and a.dtype.kind == "f")]
    grads = sg.grad(f, wrt=tuple(float_positions))(*args)
    for i, g in zip(float_positions, grads):
        expected = numerical_grad(f, args, i)
        np.testing.assert_allclose(g, expected, rtol=rtol, atol=atol,
                                   err_msg=f"argument {i} of {f.__name__}")
        assert np.shape(g) == np.shape(args[i])


def test_quadratic_scalars():
    g = sg.grad(cases.quadratic)
    assert g(3.0, 1.0, -2.0, 1.0) == pytest.approx(4.0)
    check_all(cases.quadratic, 3.0, 1.5, -2.0, 1.0)


@pytest.mark.parametrize("name, args", [
    ("elementwise_chain", (rng.normal(size=7),)),
    ("reassigned", (rng.normal(size=5), rng.normal(size=5))),
    ("aliased_numpy", (rng.normal(size=4),)),
    ("uses_global", (rng.normal(size=3),)),
    ("math_functions", (0.7,)),
    ("broadcasting", (rng.normal(size=(3, 1)), rng.normal(size=(4,)))),
    ("reductions", (rng.normal(size=(3, 4)),)),
    ("linalg", (rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3))),
    ("shapes", (rng.normal(size=6),)),
    ("subscripts", (rng.normal(size=6),)),
    ("tuple_unpacking", (rng.normal(size=3), rng.normal(size=3))),
    ("augmented", (rng.normal(size=4),)),
    ("maximum_where_clip", (rng.normal(size=5), rng.normal(size=5))),
    ("keyword_call", (rng.normal(size=(2, 3)),)),
    ("integer_literal_power", (rng.normal(size=3),)),
    ("default_argument", (1.3,)),
    ("softmax_cross_entropy", (rng.normal(size=(4, 3)), rng.normal(size=3),
                               rng.normal(size=(5, 4)), np.eye(3)[[0, 2, 1, 1, 0]])),
])
def test_against_finite_differences(name, args):
    check_all(getattr(cases, name), *args)


@pytest.mark.parametrize("x, y", [(0.5, 1.0), (0.5, 3.0), (-2.0, 1.0), (-0.5, 0.3), (0.1, -3.0)])
def test_branches_each_path(x, y):
    check_all(cases.branches, x, y)


def test_closure_and_lambda():
    w = rng.normal(size=3)
    check_all(cases.make_closure(w), rng.normal(size=3))
    assert sg.grad(cases.lambda_square)(3.0) == pytest.approx(6.0)


def test_stop_gradient_blocks_flow():
    x = rng.normal(size=4)
    np.testing.assert_allclose(sg.grad(cases.stopped)(x), x)


def test_nondifferentiable_calls_are_constants():
    x = np.array([0.3, 1.7, -0.4])
    g = sg.grad(cases.nondifferentiable_calls)(x)
    expected = numerical_grad(cases.nondifferentiable_calls, (x,), 0, eps=1e-7)
    np.testing.assert_allclose(g, expected, rtol=1e-5)


def test_unused_argument_gets_zeros():
    x, y = rng.normal(size=3), rng.normal(size=(2, 2))
    gx, gy = sg.grad(cases.unused_argument, wrt=(0, 1))(x, y)
    np.testing.assert_allclose(gx, 2 * x)
    assert gy.shape == (2, 2) and not gy.any()


def test_side_effects_kept(capsys):
    assert sg.grad(cases.with_print)(3.0) == pytest.approx(24.0)
    assert "x is 3.0" in capsys.readouterr().out


def test_keyword_only_and_defaults():
    assert sg.grad(cases.keyword_only)(2.0) == pytest.approx(12.0)
    assert sg.grad(cases.keyword_only)(2.0, k=1.0) == pytest.approx(4.0)
    assert sg.grad(cases.default_argument)(2.0, 5.0) == pytest.approx(20.0)
    assert sg.grad(cases.default_argument, wrt="scale")(2.0) == pytest.approx(4.0)


def test_value_and_grad():
    value, grad = sg.value_and_grad(cases.quadratic)(3.0, 1.0, -2.0, 1.0)
    assert value == pytest.approx(4.0) and grad == pytest.approx(4.0)


def test_wrt_forms():
    args = (3.0, 1.0, -2.0, 1.0)
    assert sg.grad(cases.quadratic, wrt="b")(*args) == pytest.approx(3.0)
    gx, gb = sg.grad(cases.quadratic, wrt=(0, "b"))(*args)
    assert (gx, gb) == (pytest.approx(4.0), pytest.approx(3.0))
    assert sg.grad(cases.quadratic, wrt=(0,))(*args) == (pytest.approx(4.0),)
    assert sg.grad(cases.quadratic, wrt=-1)(*args) == pytest.approx(1.0)


def test_decorator_forms():
    @sg.grad
    def f(x):
        return x ** 3

    @sg.grad(wrt="y")
    def g(x, y):
        return x * y ** 2

    assert f(2.0) == pytest.approx(12.0)
    assert g(2.0, 3.0) == pytest.approx(12.0)


def test_float32_preserved_and_python_float_returned():
    x = rng.normal(size=5).astype(np.float32)
    g = sg.grad(cases.elementwise_chain)(x)
    assert g.dtype == np.float32 and g.shape == x.shape
    assert isinstance(sg.grad(cases.quadratic)(3.0, 1.0, -2.0, 1.0), float)


@settings(max_examples=30, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       seed=st.integers(0, 2 ** 16))
def test_broadcasting_property(shapes, seed):
    r = np.random.default_rng(seed)
    x = r.normal(size=shapes.input_shapes[0])
    y = r.normal(size=shapes.input_shapes[1])
    check_all(cases.broadcasting, x, y)


@settings(max_examples=25, deadline=None)
@given(x=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4),
                    elements=st.floats(-3, 3)))
def test_elementwise_chain_property(x):
    check_all(cases.elementwise_chain, x)


@pytest.mark.parametrize("f, x", [
    (cases.math_functions, 0.9),
    (cases.quadratic, 1.5),
    (cases.lambda_square, -0.4),
])
def test_second_derivative_scalar(f, x):
    if f is cases.quadratic:
        args = (x, 2.0, -1.0, 0.5)
    else:
        args = (x,)
    g2 = sg.grad(sg.grad(f))(*args)
    first = sg.grad(f)
    np.testing.assert_allclose(g2, numerical_grad(first, args, 0), rtol=1e-5, atol=1e-7)


def test_hessian_of_vector_function():
    x = rng.normal(size=4)
    H = sg.hessian(cases.elementwise_chain)(x)
    assert H.shape == (4, 4)
    first = sg.grad(cases.elementwise_chain)
    for i in range(4):
        def component(x, i=i):
            return first(x)[i]
        np.testing.assert_allclose(H[i], numerical_grad(component, (x,), 0), rtol=1e-5, atol=1e-7)


def test_jacobian_jvp_hvp():
    x = rng.normal(size=3)
    J = sg.jacobian(cases.vector_output)(x)
    np.testing.assert_allclose(J, np.diag(2.0 * np.cos(x)), atol=1e-12)
    v = rng.normal(size=3)
    value, tangent = sg.jvp(cases.vector_output)(x, v)
    np.testing.assert_allclose(tangent, J @ v)
    np.testing.assert_allclose(value, cases.vector_output(x))
    H = sg.hessian(cases.elementwise_chain)(x)
    np.testing.assert_allclose(sg.hvp(cases.elementwise_chain)(x, v), H @ v)


def test_defgrad_rules_inlined_or_called():
    x = np.array([0.3, -1.2, 2.0, -0.05])
    check_all(cases.uses_cube, x)
    assert "3.0 *" in sg.source(cases.uses_cube)  # a straight-line rule is inlined
    check_all(cases.uses_custom_rule, x, 0.25)
    assert "soft_threshold_vjp(" in sg.source(cases.uses_custom_rule)  # branches: called


@pytest.mark.parametrize("x", [0.4, np.array([0.3, -1.2, 2.0, -0.05])])
def test_defgrad_rules_of_one_argument_may_return_the_gradient_alone(x):
    check_all(cases.uses_softplus, x)
    check_all(cases.uses_hinge, x)
    assert "hinge_vjp(" in sg.source(cases.uses_hinge)
    x = np.atleast_1d(x)
    expected = numerical_jacobian(sg.grad(cases.uses_softplus), (x,))
    np.testing.assert_allclose(sg.hessian(cases.uses_softplus)(x), expected, rtol=1e-6, atol=1e-8)


def test_decorating_before_a_callee_is_defined():
    assert cases.calls_a_later_function(2.0) == pytest.approx(24.0)


def test_hvp_and_jvp_without_forming_matrices():
    x, v = rng.normal(size=3), rng.normal(size=3)
    H = sg.hessian(cases.elementwise_chain)(x)
    np.testing.assert_allclose(sg.hvp(cases.elementwise_chain)(x, v), H @ v, rtol=1e-10)
    J = sg.jacobian(cases.vector_output)(x)
    np.testing.assert_allclose(sg.jvp(cases.vector_output)(x, v)[1], J @ v, rtol=1e-10)


def test_second_derivatives_through_loops():
    """A loop's gradient replays it from a stack, whose pushes and pops are
    primitives: the second derivative is generated source too (checked here
    against finite differences of the generated gradient)."""
    W, U, xs, h0 = np.eye(3) * 0.5, rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=3)
    v = rng.normal(size=(3, 3))
    gradient = sg.grad(cases.rnn)
    expected = numerical_grad(lambda w: np.sum(gradient(w, U, xs, h0) * v), (W,), 0)
    np.testing.assert_allclose(sg.hvp(cases.rnn)(W, U, xs, h0, v), expected, rtol=1e-6, atol=1e-9)
    assert hasattr(sg.grad(sg.grad(cases.scalar_loop_break)), "__s2sgrad_source__")
    for x in (0.3, 1.0, -0.5):  # breaks at a data-dependent iteration
        second = sg.grad(sg.grad(cases.scalar_loop_break))(x)
        assert isinstance(second, float)
        assert second == pytest.approx(numerical_grad(sg.grad(cases.scalar_loop_break), (x,), 0),
                                       rel=1e-6)
    hessian = sg.hessian(cases.nested_loops_break)(np.array([0.9, 1.2, 0.3, 1.4]))
    g = sg.grad(cases.nested_loops_break)
    x = np.array([0.9, 1.2, 0.3, 1.4])
    np.testing.assert_allclose(hessian, np.stack(
        [numerical_grad(lambda u: g(u)[i], (x,), 0) for i in range(4)]), rtol=1e-5, atol=1e-8)


def test_a_loop_without_a_stack_is_differentiated_twice_by_the_source_path():
    second = sg.grad(sg.grad(cases.recomputed_loop))
    assert hasattr(second, "__s2sgrad_source__")  # generated code, not the tape fallback
    assert second(0.4) == pytest.approx(numerical_grad(sg.grad(cases.recomputed_loop), (0.4,), 0),
                                        rel=1e-6)


def test_a_second_derivative_the_tape_could_not_follow_is_generated_source():
    # math.sin takes float() of its argument: on the tape that would cut the
    # path (it was refused); the generated gradient is differentiated instead
    first = sg.grad(cases.math_in_a_saved_loop)
    second = sg.grad(first)
    assert hasattr(second, "__s2sgrad_source__")
    for x in (0.3, -0.8, 1.2):
        assert second(x) == pytest.approx(numerical_grad(first, (x,), 0), rel=1e-6)


def test_float32_scalars_and_0d_arrays_keep_their_dtype():
    g = sg.grad(cases.elementwise_chain)
    assert np.asarray(g(np.float32(0.5))).dtype == np.float32
    assert g(np.array(0.5, dtype=np.float32)).dtype == np.float32
    assert g(np.ones(3, dtype=np.float32)).dtype == np.float32
    assert np.asarray(sg.grad(cases.reductions)(np.ones((3, 4), dtype=np.float32))).dtype == np.float32
    assert np.asarray(sg.grad(cases.keyword_only)(np.float32(2.0))).dtype == np.float32
    assert sg.grad(cases.uses_global)(np.ones(3, dtype=np.float32)).dtype == np.float32


def remainder_operator(x, y):
    return np.sum((x % y) * x)


def test_the_remainder_operator_is_differentiated_like_np_remainder():
    """``x % y`` once counted as a constant (a spelling test): its gradient was silently dropped."""
    check_all(remainder_operator, np.array([2.3, -1.7, 0.4]), 0.9)


def printed(x):
    print(x)
    return x * x


def test_printing_a_differentiated_value_is_fine(capsys):
    """print writes nothing into its arguments (calls kept for their side effect are otherwise refused)."""
    assert sg.grad(printed)(3.0) == pytest.approx(6.0)
    assert capsys.readouterr().out == "3.0\n"


def clipped_below(x):
    return np.sum(x.clip(0.5) ** 2)


def test_a_method_spelling_may_leave_out_what_the_function_needs():
    """x.clip(0.5) is np.clip(x, 0.5, None) (np.clip(x, 0.5) raises)."""
    check_all(clipped_below, np.array([0.2, 1.0, 2.0]))
