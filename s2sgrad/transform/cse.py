"""Common subexpression elimination on normal form.

``np.log1p(x ** 2) + x ** 2`` computes ``x ** 2`` once: a later statement
with the same pure right-hand side becomes a copy of the earlier result
(which the reverse-mode stage treats as an alias, so the adjoint is shared
too). Sound because outside loops normal form never reassigns a name;
loop bodies are left alone.

Output guarantees: the program stays in the ``normal`` grammar and computes
the same values; a right-hand side becomes an earlier name only when that
name holds, on every path to it, the same pure operation of the same atoms
(no write or loop in between); loop bodies and impure calls are unchanged.
"""

import ast

from s2sgrad.ir.nodes import walk
from s2sgrad.primitives import registry


def eliminate_common_subexpressions(fn, resolve):
    """Rewrite repeated pure computations in ``fn`` (in place) as copies."""
    _block(fn.body, {}, resolve)
    return fn


def _block(stmts, seen, resolve):
    for s in stmts:
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript):
            base = s.targets[0].value.id  # x[i] = v changes every x[...] read
            for key in [k for k, name in seen.items() if f"id='{base}'" in k]:
                del seen[key]
            continue
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            if not _pure(s.value, resolve):
                continue
            key = ast.dump(s.value)
            if key in seen:
                s.value = ast.Name(seen[key], ast.Load())
            else:
                seen[key] = s.targets[0].id
        elif isinstance(s, ast.If):
            _block(s.body, dict(seen), resolve)
            _block(s.orelse, dict(seen), resolve)
            if any(isinstance(n, (ast.For, ast.While)) or
                   (isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store))
                   for n in walk(s)):
                seen.clear()  # a loop in an arm may reassign names read above
        elif isinstance(s, (ast.For, ast.While)):
            seen.clear()  # a loop may reassign any name it touches


def _pure(rhs, resolve):
    if isinstance(rhs, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Subscript)):
        return True
    if isinstance(rhs, ast.Attribute):
        return rhs.attr in ("shape", "ndim", "size", "dtype")
    if isinstance(rhs, ast.Call):  # (not a stack's pop: two pops are two values)
        found = registry.lookup(resolve(rhs.func))
        return found is not None and not found.mutates
    return False
