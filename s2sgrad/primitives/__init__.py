"""Derivative rules: importing this package registers every rule family.

The families are plain modules of ``@defvjp`` / ``defnondiff``
registrations (``forward_rules`` holds the forward-mode rules that cannot
be derived from the others' facts) (see :mod:`s2sgrad.primitives.registry` for the conventions).
Only NumPy is imported here; sympy is used by ``derive.py`` alone, which
writes ``_derived.py`` ahead of time.
"""

from s2sgrad.primitives import (  # noqa: F401  (imported for their registrations)
    _derived,
    arrays,
    batching,
    containers,
    decompositions,
    elementwise,
    forward_rules,
    linalg,
    nondiff,
    operators,
    polynomials,
    products,
    quantiles,
    reductions,
    shape,
    signals,
    special,
    stacks,
)
from s2sgrad.primitives.registry import (  # noqa: F401
    defnondiff,
    defvjp,
    is_nondifferentiable,
    lookup,
    registered_primitives,
    seal,
)

seal()  # (what registers rules from here on is the user's: see registry.seal)
