"""Optimise stage: drop every statement whose value nothing reads.

Runs on the gradient function (primal sweep + adjoint sweep). Backward
liveness from the final ``return``: an assignment survives only if its
target is read later, so unused primal values are never computed or stored;
calls kept for their side effects (``print``), asserts and ``# grad of``
markers stay, and a marker whose statements all died goes too.

Output guarantee: every assigned name is read afterwards on some path.
"""

import ast

from s2sgrad.transform.reverse import COMMENT_PREFIX


def eliminate_dead_code(fn):
    """``fn`` with dead assignments and empty branches removed (in place)."""
    propagate_copies(fn)
    fn.body, _ = _block(fn.body, set())
    return fn


def propagate_copies(fn):
    """Replace ``a`` by ``b`` after ``a = b`` when each is assigned once.

    Normal form turns repeated subexpressions into copies; the generated
    code should read the original name instead of keeping both.
    """
    counts = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
        elif isinstance(node, (ast.For, ast.comprehension)):
            for n in ast.walk(node.target):
                if isinstance(n, ast.Name):
                    counts[n.id] = counts.get(n.id, 0) + 2
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
    renames = {}
    for node in _outside_loops(fn.body):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.Name):
            a, b = node.targets[0].id, node.value.id
            if counts.get(a) == 1 and counts.get(b, 0) <= 1 and a not in params:
                renames[a] = b
    if not renames:
        return

    def final(name):
        while name in renames:
            name = renames[name]
        return name

    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in renames:
            node.id = final(node.id)


def _reads(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def is_comment(stmt):
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str) and stmt.value.value.startswith(COMMENT_PREFIX))


def _block(stmts, live):
    """Kept statements of ``stmts`` and the names live before them."""
    kept = []
    for s in reversed(stmts):
        if isinstance(s, ast.Return):
            live = live | _reads(s.value) if s.value is not None else live
            kept.append(s)
        elif isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            target = s.targets[0].id
            if target in live or _pops(s.value):
                live = (live - {target}) | _reads(s.value)
                kept.append(s)
        elif isinstance(s, ast.Assign):  # subscript write: x[i] = v
            base = s.targets[0].value.id
            if base in live:
                live = live | _reads(s.targets[0]) | _reads(s.value)
                kept.append(s)
        elif isinstance(s, ast.If):
            body, live_body = _block(s.body, set(live))
            orelse, live_else = _block(s.orelse, set(live))
            if _only_comments(body) and _only_comments(orelse):
                continue
            s.body, s.orelse = body or [ast.Pass()], orelse
            live = live_body | live_else | _reads(s.test)
            kept.append(s)
        elif isinstance(s, (ast.For, ast.While)):
            kept.append(s)
            live = _loop(s, live)
        elif is_comment(s):
            if kept and not is_comment(kept[-1]):
                kept.append(s)
        elif isinstance(s, ast.Pass):
            continue
        else:  # Expr calls, asserts, break/continue: kept for their effect
            live = live | _reads(s)
            kept.append(s)
    kept.reverse()
    return kept, live


def _loop(s, live):
    """Liveness through a loop: iterate the body to a fixpoint."""
    while True:
        body, live_in = _block(s.body, set(live))
        new = live | live_in | _reads(getattr(s, "iter", ast.Pass())) | _reads(getattr(s, "test", ast.Pass()))
        if new == live:
            s.body = body or [ast.Pass()]
            return new
        live = new


def _outside_loops(stmts):
    for s in stmts:
        if isinstance(s, (ast.For, ast.While)):
            continue
        yield s
        for field in ("body", "orelse"):
            yield from _outside_loops(getattr(s, field, []))


def _pops(value):
    """``x = stack.pop()`` must run even if x is not read: it moves the stack."""
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
        and value.func.attr == "pop"


def _only_comments(stmts):
    return all(is_comment(s) or isinstance(s, ast.Pass) for s in stmts)
