"""The stack of generated code: ``push`` and ``pop`` as primitives.

A loop's reverse-mode derivative saves what an iteration overwrites on a
stack (``push(stack, v)``) and replays the iterations backwards from it
(``v = pop(stack)``). Read again for a second derivative, that code is
differentiated like any other: a stack is a list of values, its cotangent
a list of their cotangents in the same order, so

* the adjoint of ``push(stack, v)`` is ``dv += pop(dstack)`` (the top
  cotangent belongs to the value pushed last), and
* the adjoint of ``v = pop(stack)`` is ``push(dstack, dv)`` (the popped
  value's cotangent goes back where the value was);

and in forward mode a push of ``v`` pushes its tangent on a tangent stack
beside it, a pop pops it. Both mutate the list they are given (argument 0),
so no pass moves, merges or drops them. The transforms read the ``stack``
fact of the record; the rules below state the same in the rule convention.
"""

from s2sgrad import runtime
from s2sgrad.primitives.registry import defjvp, defvjp

push, pop = runtime.push, runtime.pop


@defvjp(push, mutates=(0,), stack="push", dtype="given")
def push_vjp(g, ans, stack, value):
    """``g`` is the cotangent of the stack after the push: its top is the
    pushed value's cotangent, what stays is the stack's before the push."""
    return (g, pop(g))


@defvjp(pop, mutates=(0,), stack="pop")
def pop_vjp(g, ans, stack):
    """``g`` is the cotangent of the stack after the pop with the popped
    value's cotangent pushed on top (the transforms push it): the cotangent
    of the stack before the pop."""
    return (g,)


@defjvp(push, pop)
def stack_jvp(g, ans, stack, *values):
    """Tangents travel on a stack of their own, pushed and popped beside
    the values (``g`` is that tangent stack)."""
    return (g,)
