"""The one table of derivative rules, keyed by the primitive object itself.

A rule is a plain ``def`` whose first two parameters are ``g`` (the
cotangent of the result) and ``ans`` (the primal result), followed by the
primitive's own parameters with the primitive's names and order. It returns
a tuple with one entry per positional parameter after ``ans`` (shorter
tuples mean the rest get no gradient); ``None`` marks "no gradient".

Rules are looked up by identity (``np.sin`` the object, never the string
"sin"), so ``import numpy as anything`` and ``from numpy import sin`` both
find them. The same rule object serves two clients:

* the source transformer inlines the rule's body as a template, so a rule
  body must be straight-line: assignments to local names followed by one
  ``return (expr, ...)``; anything needing control flow belongs in a helper
  function in ``s2sgrad.runtime`` (which has a rule of its own);
* the tape calls the rule directly on recorded values.
"""

import itertools
from dataclasses import dataclass, field

#: Bumped by every registration; part of every cache key, so code generated
#: before a rule was added or replaced is never served after it.
_generation = 0


def generation():
    """How many registrations changed the tables so far (a cache-key part)."""
    return _generation


def _bump():
    global _generation
    _generation += 1


@dataclass(frozen=True)
class Rule:
    """A registered derivative rule for one primitive."""

    primitive: object
    vjp: object
    #: True when the result has the broadcast shape of the inputs and the
    #: derivative is taken entry by entry (sin, +, where, ...).
    elementwise: bool = False
    order: int = field(default_factory=itertools.count().__next__, compare=False)


_RULES = {}
_NONDIFFERENTIABLE = {}


def defvjp(*primitives, elementwise=False):
    """Register the decorated ``def`` as the rule of each of ``primitives``."""

    def register(vjp):
        for primitive in primitives:
            _RULES[_key(primitive)] = Rule(primitive, vjp, elementwise)
        _bump()
        return vjp

    return register


def defnondiff(*primitives):
    """Declare primitives whose outputs carry no derivative (floor, argmax...).

    Their results are treated as constants: no gradient flows through them,
    and using them is never an error.
    """
    for primitive in primitives:
        _NONDIFFERENTIABLE[_key(primitive)] = primitive
    _bump()


def lookup(primitive):
    """The :class:`Rule` registered for ``primitive``, or ``None``."""
    try:
        return _RULES.get(_key(primitive))
    except TypeError:
        return None


_NONDIFFERENTIABLE_MODULES = []


def defnondiff_module(prefix):
    """Declare every function of modules named ``prefix...`` nondifferentiable
    (and methods of objects whose type lives there, e.g. random generators)."""
    _NONDIFFERENTIABLE_MODULES.append(prefix)
    _bump()


def is_nondifferentiable(primitive):
    """True when ``primitive`` was declared with :func:`defnondiff`."""
    try:
        if _key(primitive) in _NONDIFFERENTIABLE:
            return True
    except TypeError:
        return False
    if _NONDIFFERENTIABLE_MODULES:
        owner = getattr(primitive, "__self__", None)
        module = getattr(primitive, "__module__", None) or (
            type(owner).__module__ if owner is not None else "")
        return any(str(module).startswith(p) for p in _NONDIFFERENTIABLE_MODULES)
    return False


def registered_primitives():
    """Every primitive with a rule, in registration order."""
    return [rule.primitive for rule in sorted(_RULES.values(), key=lambda r: r.order)]


def _key(primitive):
    """Identity key; bound methods of the same builtin compare by function."""
    return id(primitive)
