"""Analyse stage: the shape facts reverse mode needs, found once per program.

:func:`analyse_shapes` reads the program once with the shape-class analysis
of :mod:`s2sgrad.transform.shapes` and solves it under each set of
assumptions reverse mode asks about; the readings together are the
:class:`s2sgrad.ir.facts.ShapeFacts` the pipeline's ``shapes`` pass makes
and hands to the passes that read them (reverse and forward mode run no
analysis of their own).

Output guarantees: the program is not changed; every name the program
assigns or takes as a parameter has a class in each reading, and a class
promise holds whenever the reading's assumptions hold (see ShapeFacts).
"""

import ast

from s2sgrad.ir.facts import ShapeFacts
from s2sgrad.transform.adjoints import walk_statements
from s2sgrad.transform.shapes import SCALAR, ShapeClasses


def analyse_shapes(fn, resolve, *, result_is_scalar, known_shapes=None):
    """The ShapeFacts of normal-form ``fn`` (names resolved by ``resolve``).

    The program is read once; its three readings (no assumption, reverse
    mode's assumptions, scalar parameters) are solved from that reading.
    """
    equations = ShapeClasses(resolve).equations(fn)
    proven = equations.solve()
    assumed = equations.solve(result_is_scalar=result_is_scalar, known_shapes=known_shapes)
    args = fn.args
    scalars = tuple(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs
                    if assumed.of(a.arg) == SCALAR)
    proof = None
    if _straight_line(fn.body[:-1], resolve):
        proof = equations.solve(scalar_params=scalars)
    return ShapeFacts(proven, assumed, scalars, proof)


def _straight_line(stmts, resolve):
    """No loops, no statements kept for their effects: assignments and ifs
    (and the checks of what a derivative read again differentiates returns,
    which change no value: see :func:`result_checks`)."""
    checks = result_checks(stmts, resolve)
    return all(isinstance(s, (ast.Assign, ast.If, ast.Pass)) or s in checks
               for s in walk_statements(stmts))


def result_checks(body, resolve):
    """The statements of ``body`` (top level) checking what the function a
    derivative read again differentiates returns: ``require_scalar(v, 'f')``
    of the first derivative, which the second still requires (see
    ``frontend.normalise._without_entry_guards``)."""
    return [s for s in body if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
            and getattr(resolve(s.value.func), "checks_result", False) is True]
