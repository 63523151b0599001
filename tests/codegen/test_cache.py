"""The cache serves only code that still matches what determines the derivative.

Every test generates, changes one thing the derivative depends on (a rule,
the running code, a callee, the source file), and checks that the next
``grad`` follows the change (the value proves it) or refuses clearly.
"""

import numpy as np

import s2sgrad as sg
from s2sgrad.primitives import registry


def _passthrough(x):
    return x


def _uses_passthrough(x):
    return np.sum(_passthrough(x) * x)


def test_registrations_bump_the_generation():
    before = registry.generation()

    def prim(x):
        return x

    registry.defvjp(prim)(lambda g, ans, x: (g,))
    registry.defnondiff(object())
    registry.defnondiff_module("s2sgrad_no_such_module_")
    sg.defgrad(prim)(lambda g, ans, x: (g,))
    assert registry.generation() >= before + 4


def test_defgrad_for_a_callee_without_a_rule_is_used_by_the_next_grad():
    x = np.array([1.0, -2.0, 3.0])
    # first: _passthrough is inlined; d/dx sum(x * x) = 2x
    np.testing.assert_allclose(sg.grad(_uses_passthrough)(x), 2 * x)

    @sg.defgrad(_passthrough)
    def _scaled(g, ans, x):  # a deliberately different (straight-through style) rule
        return (3 * g,)

    # now d/dx = 3 * x (through the rule) + x (the direct factor)
    np.testing.assert_allclose(sg.grad(_uses_passthrough)(x), 4 * x)


def _ramp(x):
    return 2.0 * x


@sg.defgrad(_ramp)
def _ramp_rule(g, ans, x):
    return (2.0 * g,)


def _uses_ramp(x):
    return np.sum(_ramp(x))


def test_a_replaced_rule_is_used_by_the_next_grad():
    x = np.array([0.5, 1.5])
    np.testing.assert_allclose(sg.grad(_uses_ramp)(x), [2.0, 2.0])

    @sg.defgrad(_ramp)
    def _other(g, ans, x):
        return (7.0 * g,)

    np.testing.assert_allclose(sg.grad(_uses_ramp)(x), [7.0, 7.0])


def _sine(x):
    return np.sin(x)


def _triple(x):
    return 3.0 * x


def _scaled_sine(x, c=1.0):
    return c * np.sin(x)


def test_an_inlined_callee_with_replaced_code_gets_a_new_derivative():
    def helper(x):
        return np.sin(x)

    def f(x):
        return np.sum(helper(x))

    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(sg.grad(f)(x), np.cos(x))
    helper.__code__ = _triple.__code__  # what autoreload does to an edited function
    np.testing.assert_allclose(sg.grad(f)(x), [3.0, 3.0])


def test_an_inlined_callee_with_new_defaults_gets_a_new_derivative():
    def helper(x, c=1.0):
        return c * np.sin(x)

    def f(x):
        return np.sum(helper(x))

    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(sg.grad(f)(x), np.cos(x))
    helper.__defaults__ = (5.0,)
    np.testing.assert_allclose(sg.grad(f)(x), 5.0 * np.cos(x))


def test_a_function_with_replaced_code_gets_a_new_derivative():
    def f(x):
        return np.sum(np.sin(x))

    def g(x):
        return np.sum(3.0 * x)

    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(sg.grad(f)(x), np.cos(x))
    f.__code__ = g.__code__
    np.testing.assert_allclose(sg.grad(f)(x), [3.0, 3.0])


ACTIVATION = np.sin


def _called_not_inlined(x, *, k=1.0):  # keyword-only: stays a call (call_vjp)
    return k * ACTIVATION(x)


def _calls_it(x):
    return np.sum(_called_not_inlined(x) * x)


def test_a_callee_left_a_call_follows_a_rebound_global_it_calls():
    global ACTIVATION
    x = np.array([0.3, 1.2])
    try:
        np.testing.assert_allclose(sg.grad(_calls_it)(x), np.sin(x) + x * np.cos(x))
        ACTIVATION = np.tanh
        np.testing.assert_allclose(sg.grad(_calls_it)(x),
                                   np.tanh(x) + x * (1 - np.tanh(x) ** 2))
    finally:
        ACTIVATION = np.sin


def test_generated_sources_never_share_a_file_name_even_when_digests_collide(monkeypatch):
    import inspect
    import textwrap

    from s2sgrad.codegen import compile as compile_stage

    monkeypatch.setattr(compile_stage, "_digest", lambda text: "0" * 10)

    def f(x):
        return np.sin(x) * x

    def g(x):
        return np.exp(x) * x

    df, dg = sg.grad(f), sg.grad(g)
    assert df.__code__.co_filename != dg.__code__.co_filename
    assert textwrap.dedent(inspect.getsource(df)) == df.__s2sgrad_source__
    assert textwrap.dedent(inspect.getsource(dg)) == dg.__s2sgrad_source__
    # each second derivative reads its own first derivative's source
    x = 0.7
    np.testing.assert_allclose(sg.grad(df)(x), 2 * np.cos(x) - x * np.sin(x))
    np.testing.assert_allclose(sg.grad(dg)(x), (2 + x) * np.exp(x))
