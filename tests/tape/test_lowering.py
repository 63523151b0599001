"""Recordings lowered to programs: what the tape's backward pass turns into code.

Every recording -- custom_gradient calls, several-output primitives, sources
computed on the tape, slices and nested inputs, first sightings and nested
tapes -- goes through the reverse-mode transform; these tests check the
results against finite differences, and the primitives of lowered programs
against their rules (``CASES``, gathered by the rules' convention tests).
"""

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.tape import compiled
from s2sgrad.tape.compiled import MissingRuleError
from s2sgrad.tape.tape import _CustomRule
from s2sgrad.tape.tensor import cast
from tests.fd import numerical_grad
from tests.primitives import Case, params
from tests.tape.helpers import assert_tape_grad, forget_compiled

X = np.array([0.3, -1.2, 0.8])
M = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def _cube_rule(x0):
    """The record of ``cube`` (a custom_gradient function) called at ``x0``."""

    def cube(x):
        return x * x * x, None

    def grad_fn(upstream):
        return upstream * 3 * x0 * x0

    return _CustomRule(cube, grad_fn, [x0], 1, [], True)


CASES = [
    Case(compiled.custom_call, (_cube_rule(X), [X]), argnums=(1,),
         keeps_dtype=False),  # (grad_fn closes over the float64 point)
    Case(compiled.output_of, ([X, M], 1), argnums=(0,)),
    Case(compiled.output_of, ([X, M], 0), argnums=(0,), label="first"),
    Case(compiled.output_adjoint, (M, [X, M], 1), argnums=(0,)),
]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


def test_first_recording_of_a_structure_runs_generated_code():
    forget_compiled()
    x = sg.Variable(X)
    with sg.GradientTape() as tape:
        y = np.sum(np.sin(x) * x)
    g = tape.gradient(y, x)
    np.testing.assert_allclose(g.numpy(), np.cos(X) * X + np.sin(X), rtol=1e-12)
    assert len([e for e in compiled._cache.values() if isinstance(e, compiled._Compiled)]) == 1


def test_several_outputs_one_of_them_used():
    assert_tape_grad(lambda x: np.sum(np.split(x, 3)[1] ** 2), (np.arange(6.0),))


def test_several_outputs_all_used():
    assert_tape_grad(lambda x: np.sum(np.split(x, 2)[0] * np.split(x, 2)[1] * 3.0),
                     (np.arange(1.0, 5.0),))
    assert_tape_grad(lambda m: np.sum(np.unstack(m)[0] * np.unstack(m)[1]), (M,))


def test_several_outputs_twice_in_a_row_are_compiled_once():
    forget_compiled()
    x = sg.Variable(np.arange(4.0))
    for _ in range(3):
        with sg.GradientTape() as tape:
            a, b = np.split(x, 2)
            y = np.sum(a * b)
        np.testing.assert_allclose(tape.gradient(y, x).numpy(), [2.0, 3.0, 0.0, 1.0])
    assert len(compiled._cache) == 1


def test_custom_gradient_with_several_outputs_one_used():
    @sg.custom_gradient
    def two(x):
        def grad(d1, d2):
            return d1 * 2 + d2 * 3

        return (x * 1.0, x * 1.0), grad

    x = sg.constant(np.array([1.0, 2.0]))
    with sg.GradientTape() as tape:
        tape.watch(x)
        a, b = two(x)
        y = np.sum(b * 10.0)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [30.0, 30.0])


def test_custom_gradient_calls_share_one_compiled_adjoint():
    forget_compiled()

    @sg.custom_gradient
    def scaled(x):
        return x * 2.0, lambda upstream: upstream * 5.0  # a deliberately wrong rule

    x = sg.constant(1.5)
    for _ in range(3):
        with sg.GradientTape() as tape:
            tape.watch(x)
            y = scaled(x) * x
        assert float(tape.gradient(y, x)) == 5.0 * 1.5 + 3.0
    assert len(compiled._cache) == 1


def test_source_computed_on_the_tape():
    x = sg.constant(X)
    with sg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        h = np.sin(x)
        y = np.sum(h * h * x)
    gx, gh = tape.gradient(y, [x, h])
    np.testing.assert_allclose(gh.numpy(), 2 * np.sin(X) * X, rtol=1e-12)
    np.testing.assert_allclose(gx.numpy(), numerical_grad(lambda v: np.sum(np.sin(v) ** 2 * v), (X,)),
                               rtol=1e-6)
    assert float(np.sum(tape.gradient(y, h).numpy())) == pytest.approx(np.sum(2 * np.sin(X) * X))


def test_target_that_is_a_source():
    x = sg.constant(X)
    with sg.GradientTape() as tape:
        tape.watch(x)
    np.testing.assert_array_equal(tape.gradient(x, x).numpy(), np.ones(3))


def test_slices_and_nested_indices():
    assert_tape_grad(lambda m: np.sum(m[:, 1:] ** 2) + np.sum(m[1, ::2]), (M,))
    assert_tape_grad(lambda x: np.sum(np.stack([x, x * 2.0, np.sin(x)])[1:] ** 2), (X,))


def test_cast_and_dtype_parameters():
    x = sg.constant(X)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(cast(x, np.float32) ** 2)
    g = tape.gradient(y, x)
    assert g.numpy().dtype == np.float64
    np.testing.assert_allclose(g.numpy(), 2 * X, rtol=1e-6)


def test_missing_rule_on_the_path_is_an_error_off_it_is_not():
    x = sg.constant(X)
    with sg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        s = np.nanmedian(x)
        y = np.sum(x * 2.0)
        z = np.sum(s)
    assert tape.gradient(y, x) is not None
    with pytest.raises(MissingRuleError, match="nanmedian"):
        tape.gradient(z, x)


def test_nested_tapes_run_the_generated_adjoint_on_tensors():
    x = sg.constant(X)
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            y = np.sum(np.tanh(x[1:]) * np.stack([x[:2], x[:2]])[0])
        g = inner.gradient(y, x)
        z = np.sum(g * g)
    h = outer.gradient(z, x)

    def first(v):
        t = np.tanh(v[1:])
        d = np.zeros(3)
        d[1:] += (1 - t ** 2) * v[:2]
        d[:2] += t
        return np.sum(d * d)

    np.testing.assert_allclose(h.numpy(), numerical_grad(first, (X,)), rtol=1e-6, atol=1e-8)


def test_nested_tapes_with_several_outputs_and_custom_gradients():
    @sg.custom_gradient
    def cube(x):
        def grad(upstream):
            return upstream * 3 * x * x

        return x * x * x, grad

    x = sg.constant(np.array([0.5, 1.5]))
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            a, b = np.split(cube(x), 2)
            y = np.sum(a * b)
        g = inner.gradient(y, x)
    h = outer.jacobian(g, x)
    # y = x0^3 x1^3: the Hessian
    x0, x1 = 0.5, 1.5
    expected = [[6 * x0 * x1 ** 3, 9 * x0 ** 2 * x1 ** 2], [9 * x0 ** 2 * x1 ** 2, 6 * x0 ** 3 * x1]]
    np.testing.assert_allclose(h.numpy(), expected, rtol=1e-12)
