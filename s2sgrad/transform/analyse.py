"""Analyse stage: the shape facts reverse mode needs, found once per program.

:func:`analyse_shapes` runs the shape-class analysis of
:mod:`s2sgrad.transform.shapes` under the assumptions reverse mode asks
about and returns them together as :class:`ShapeFacts`, which the
pipeline hands to the differentiate pass (reverse mode runs no analysis of
its own). The program is not changed.
"""

import ast

from s2sgrad.transform.adjoints import walk_statements
from s2sgrad.transform.shapes import SCALAR, ShapeClasses


class ShapeFacts:
    """What is known about the shapes of one normal-form function's values.

    ``proven``: classes found without assumptions (a result in the scalar
    class needs no run-time scalar check). ``assumed``: classes under the
    assumptions the gradient may make (the result of ``grad`` is a scalar,
    known shapes of a recording); reverse mode drops broadcasting work by
    them. ``scalar_params``: parameters in the scalar class under those
    assumptions; ``scalar_proof``: for straight-line code, the classes when
    exactly those parameters are 0-d (None otherwise), which tells whether
    Python floats in give a Python float out.
    """

    def __init__(self, proven, assumed, scalar_params, scalar_proof):
        self.proven = proven
        self.assumed = assumed
        self.scalar_params = scalar_params
        self.scalar_proof = scalar_proof


def analyse_shapes(fn, resolve, *, result_is_scalar, known_shapes=None):
    """The ShapeFacts of normal-form ``fn`` (names resolved by ``resolve``)."""
    proven = ShapeClasses(resolve).analyse(fn, result_is_scalar=False)
    assumed = ShapeClasses(resolve).analyse(
        fn, result_is_scalar=result_is_scalar, known_shapes=known_shapes)
    args = fn.args
    scalars = tuple(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs
                    if assumed.of(a.arg) == SCALAR)
    proof = None
    if scalars and _straight_line(fn.body[:-1]):
        proof = ShapeClasses(resolve).analyse(fn, result_is_scalar=False, scalar_params=scalars)
    return ShapeFacts(proven, assumed, scalars, proof)


def _straight_line(stmts):
    """No loops, no statements kept for their effects: assignments and ifs."""
    return all(isinstance(s, (ast.Assign, ast.If, ast.Pass)) for s in walk_statements(stmts))
