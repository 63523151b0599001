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
