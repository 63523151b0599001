"""Common subexpression elimination on normal form.

``np.log1p(x ** 2) + x ** 2`` computes ``x ** 2`` once: a later statement
with the same pure right-hand side becomes a copy of the earlier result
(which the reverse-mode stage treats as an alias, so the adjoint is shared
too). Sound because outside loops normal form never reassigns a name;
loop bodies are left alone. A repeat is seen through copies
(``_t6 = _t1; _t8 = y[:_t6]`` repeats ``y[:_t1]``), and an array the
function writes items into is never merged with an equal one (the write
would change both).

Output guarantees: the program stays in the ``normal`` grammar and computes
the same values; a right-hand side becomes an earlier name only when that
name holds, on every path to it, the same pure operation of the same atoms
(no write or loop in between) and neither is written into; loop bodies
and impure calls are unchanged.
"""

import ast
import copy

from s2sgrad.ir.nodes import walk
from s2sgrad.primitives import registry


def eliminate_common_subexpressions(fn, resolve):
    """Rewrite repeated pure computations in ``fn`` (in place) as copies."""
    _block(fn.body, {}, {}, _written_into(fn, resolve), resolve)
    return fn


def _written_into(fn, resolve):
    """Names of arrays the function writes items into (``c[0] = v``), and the
    names copied to or from them or viewed by them: two equal values stay
    two arrays there (``b = x + 1; c = x + 1; c[0] = 5`` must not change b)."""
    written = {n.value.id for n in walk(fn) if isinstance(n, ast.Subscript)
               and isinstance(n.ctx, ast.Store) and isinstance(n.value, ast.Name)}
    copies = [(s.targets[0].id, _viewed(s.value, resolve)) for s in walk(fn)
              if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
              and _viewed(s.value, resolve) is not None]
    grown = True
    while grown:
        grown = False
        for a, b in copies:
            if (a in written) != (b in written):
                written |= {a, b}
                grown = True
    return written


def _viewed(rhs, resolve):
    """The name whose array ``rhs`` may be: a copy's, or a view's argument."""
    if isinstance(rhs, ast.Name):
        return rhs.id
    if isinstance(rhs, ast.Call):
        found = registry.lookup(resolve(rhs.func))
        k = None if found is None else found.view_of
        if k is not None and k < len(rhs.args) and isinstance(rhs.args[k], ast.Name):
            return rhs.args[k].id
    return None


def _block(stmts, seen, copies, written, resolve):
    """``seen``: the dump of a pure right-hand side -> the name holding it;
    ``copies``: a name that is a copy of another -> the first name, which
    stands for it in the dumps (``b = a; c = b[0]`` repeats ``a[0]``);
    ``written``: names neither merged nor merged into (:func:`_written_into`)."""
    for s in stmts:
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript):
            base = s.targets[0].value.id  # x[i] = v changes every x[...] read
            base = copies.get(base, base)
            for key in [k for k, name in seen.items() if f"id='{base}'" in k]:
                del seen[key]
            continue
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            if isinstance(s.value, ast.Name):
                copies[s.targets[0].id] = copies.get(s.value.id, s.value.id)
                continue
            if not _pure(s.value, resolve):
                continue
            target = s.targets[0].id
            if target in written:
                continue
            key = _dump(s.value, copies)
            if key in seen:
                s.value = ast.Name(seen[key], ast.Load())
                copies[target] = seen[key]
            else:
                seen[key] = target
        elif isinstance(s, ast.If):
            _block(s.body, dict(seen), dict(copies), written, resolve)
            _block(s.orelse, dict(seen), dict(copies), written, resolve)
            if any(isinstance(n, (ast.For, ast.While)) or
                   (isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store))
                   for n in walk(s)):
                seen.clear()  # a loop in an arm may reassign names read above
                copies.clear()
        elif isinstance(s, (ast.For, ast.While)):
            seen.clear()  # a loop may reassign any name it touches
            copies.clear()


def _dump(rhs, copies):
    """``ast.dump`` of ``rhs`` with each copy read as the name it copies."""
    if not any(isinstance(n, ast.Name) and n.id in copies for n in ast.walk(rhs)):
        return ast.dump(rhs)
    rhs = copy.deepcopy(rhs)
    for n in ast.walk(rhs):
        if isinstance(n, ast.Name):
            n.id = copies.get(n.id, n.id)
    return ast.dump(rhs)


def _pure(rhs, resolve):
    if isinstance(rhs, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Subscript)):
        return True
    if isinstance(rhs, ast.Attribute):
        return rhs.attr in ("shape", "ndim", "size", "dtype")
    if isinstance(rhs, ast.Call):  # (not a stack's pop: two pops are two values)
        found = registry.lookup(resolve(rhs.func))
        return found is not None and not found.mutates
    return False
