"""The stack primitives of generated code: push and pop.

Their derivatives are checked where they act, in loops differentiated twice
(tests/transform/test_order2_loops.py); here, the facts and rules the
transforms read: a push and a pop mutate the list they are given (so no
pass moves, merges or drops them), the adjoint of a push pops the
cotangent stack and the adjoint of a pop leaves it for the push its
transform makes, and the stack's cotangent mirrors the stack.
"""

import numpy as np

from s2sgrad import runtime
from s2sgrad.primitives import registry, stacks

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
