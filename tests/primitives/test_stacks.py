"""The stack primitives of generated code: push and pop.

Their derivatives are checked where they act, in loops differentiated twice
(tests/transform/test_order2_loops.py); here, the facts and rules the
transforms read: a push and a pop mutate the list they are given (so no
pass moves, merges or drops them), the adjoint of a push pops the
cotangent stack and the adjoint of a pop leaves it for the push its
transform makes, and the stack's cotangent mirrors the stack.
"""

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad import runtime
from s2sgrad.primitives import registry, stacks
from tests.fd import numerical_grad

CASES = []
#: checked below and by the loops at order 2 and 3
ALSO_COVERED = [runtime.push, runtime.pop]


def test_push_and_pop_are_a_stack():
    stack = []
    runtime.push(stack, 1.5)
    runtime.push(stack, np.ones(2))
    np.testing.assert_array_equal(runtime.pop(stack), np.ones(2))
    assert runtime.pop(stack) == 1.5 and stack == []


def test_their_records_say_they_write_into_the_stack():
    for primitive, role in ((runtime.push, "push"), (runtime.pop, "pop")):
        record = registry.lookup(primitive)
        assert record.stack == role and record.mutates == (0,)
        assert not record.elementwise and not record.linear


def test_the_adjoint_of_a_push_pops_the_cotangent_of_the_value_pushed():
    cotangents = [2.0, 3.0]  # 3.0 on top: the cotangent of the value pushed last
    below, g_value = stacks.push_vjp(cotangents, None, [], 0.0)
    assert g_value == 3.0 and below is cotangents and cotangents == [2.0]
    (before,) = stacks.pop_vjp(cotangents, None, [])
    assert before is cotangents


def pushes_and_reads(x):
    xs = []
    for i in range(3):
        list.append(xs, x * i)
    return sum(xs)


def pushes_and_pops(x):
    xs = []
    for i in range(3):
        list.append(xs, np.sin(x * i))
    s = 0.0
    for i in range(3):
        s = s + list.pop(xs) * s + x
    return s


def test_a_list_the_user_treats_as_a_stack_is_differentiated_as_one():
    for x in (0.3, -1.2):
        assert sg.grad(pushes_and_pops)(x) == pytest.approx(
            numerical_grad(pushes_and_pops, (x,), 0), rel=1e-7)
    second = sg.grad(sg.grad(pushes_and_pops))
    assert second(0.3) == pytest.approx(numerical_grad(sg.grad(pushes_and_pops), (0.3,), 0),
                                        rel=1e-6)


def test_a_stack_read_otherwise_is_refused_at_the_users_line():
    with pytest.raises(sg.UnsupportedSyntaxError, match=r"used as a stack .*test_stacks.py:\d+"):
        sg.grad(pushes_and_reads)(0.3)
