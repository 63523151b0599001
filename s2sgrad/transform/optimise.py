"""Optimise stage: drop every statement whose value nothing reads.

Runs on the gradient function (primal sweep + adjoint sweep). Backward
liveness from the final ``return``: an assignment survives only if its
target is read later, so unused primal values are never computed or stored;
calls kept for their side effects (``print``), asserts and ``# grad of``
markers stay, and a marker whose statements all died goes too.

Output guarantee: every assigned name is read afterwards on some path.
"""

import ast

from s2sgrad.ir.nodes import walk
from s2sgrad.transform.adjoints import COMMENT_PREFIX


def eliminate_dead_code(fn, writes_argument=None):
    """``fn`` with dead assignments and empty branches removed (in place).

    ``writes_argument(call)`` gives the positions of the arguments a call
    writes into (a stack's ``pop``, by its record): such a call runs even
    when nothing reads its value.
    """
    propagate_copies(fn)
    fn.body, _ = _block(fn.body, set(), writes_argument or _writes_nothing)
    return fn


def _writes_nothing(call):
    return ()


def sink_into_guards(fn, guards):
    """Move primal statements only a guard's checks read into the guard.

    ``guards`` (reverse mode's ``GradientFacts.float_guards``) holds the
    guards that qualify.

    ``if not (x.__class__ is float): require_scalar(result)`` needs the
    primal result only when the guard fires; in straight-line code the
    statements computing it (and nothing else) move inside, so the fast
    path does not compute them. Sound because outside loops normal form
    never reassigns a name, and only side-effect-free assignments move.
    """
    body = fn.body
    for index, guard in enumerate(body):
        if guard not in guards:
            continue
        if any(isinstance(s, (ast.For, ast.While)) for s in body):
            return fn
        later = body[index + 1:]
        for i in range(index - 1, -1, -1):
            s = body[i]
            if not (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)):
                continue
            target = s.targets[0].id
            used_after = any(target in _reads(t) for t in body[i + 1:index] + later)
            if used_after or target not in _reads(guard):
                continue
            guard.body.insert(0, body.pop(i))
            index -= 1
        return fn
    return fn


def propagate_copies(fn):
    """Replace ``a`` by ``b`` after ``a = b`` when each is assigned once.

    Normal form turns repeated subexpressions into copies; the generated
    code should read the original name instead of keeping both.
    """
    counts, loads, mutated = {}, [], set()
    for node in walk(fn):  # (one walk: what is stored, loaded, written into)
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                counts[node.id] = counts.get(node.id, 0) + 1
            elif isinstance(node.ctx, ast.Load):
                loads.append(node)
        elif isinstance(node, (ast.For, ast.comprehension)):
            for n in walk(node.target):
                if isinstance(n, ast.Name):
                    counts[n.id] = counts.get(n.id, 0) + 2
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name):
            mutated.add(node.value.id)
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
    renames = {}
    for node in _outside_loops(fn.body):
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) \
                and isinstance(node.value, ast.Name):
            a, b = node.targets[0].id, node.value.id
            if counts.get(a) == 1 and counts.get(b, 0) <= 1 and a not in params \
                    and not {a, b} & mutated:  # a copy taken before x[i] = v keeps the old x
                renames[a] = b
    if not renames:
        return

    def final(name):
        while name in renames:
            name = renames[name]
        return name

    for node in loads:
        if node.id in renames:
            node.id = final(node.id)


def _reads(node):
    return {n.id for n in walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def is_comment(stmt):
    return (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str) and stmt.value.value.startswith(COMMENT_PREFIX))


def _block(stmts, live, writes, prune=True, jumps=None):
    """Kept statements of ``stmts`` and the names live before them; with
    ``prune``, the statements nested in them are pruned in place too.
    ``jumps`` is, inside a loop, (names live after the loop, names live at
    its head): what a ``break`` or ``continue`` goes on to read instead of
    the statements after it."""
    kept = []
    for s in reversed(stmts):
        if isinstance(s, ast.Return):
            live = live | _reads(s.value) if s.value is not None else live
            kept.append(s)
        elif isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            target = s.targets[0].id
            if target in live or _writes(s.value, writes):
                live = (live - {target}) | _reads(s.value)
                kept.append(s)
            else:  # dead, but a pop inside must still move its stack
                moves = [ast.Expr(n) for n in ast.walk(s.value)
                         if isinstance(n, ast.Call) and writes(n)]
                for call in reversed(moves):
                    live = live | _reads(call)
                    kept.append(call)
        elif isinstance(s, ast.AugAssign) and isinstance(s.target, ast.Name):
            if s.target.id in live:
                live = live | _reads(s.value)
                kept.append(s)
        elif isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Tuple):  # a, b = b, a
            targets = {t.id for t in s.targets[0].elts}
            if targets & live:
                live = (live - targets) | _reads(s.value)
                kept.append(s)
        elif isinstance(s, ast.Assign):  # subscript write: x[i] = v
            base = s.targets[0].value.id
            if base in live:
                live = live | _reads(s.targets[0]) | _reads(s.value)
                kept.append(s)
        elif isinstance(s, ast.If):
            body, live_body = _block(s.body, set(live), writes, prune, jumps)
            orelse, live_else = _block(s.orelse, set(live), writes, prune, jumps)
            if _only_comments(body) and _only_comments(orelse):
                continue
            if prune:
                s.body, s.orelse = body or [ast.Pass()], orelse
            live = live_body | live_else | _reads(s.test)
            kept.append(s)
        elif isinstance(s, (ast.For, ast.While)):
            kept.append(s)
            live = _loop(s, live, writes, prune)
        elif is_comment(s):
            if kept and not is_comment(kept[-1]):
                kept.append(s)
        elif isinstance(s, ast.Pass):
            continue
        elif isinstance(s, (ast.Break, ast.Continue)) and jumps is not None:
            # (what follows it in the body never runs after it)
            live = set(jumps[0] if isinstance(s, ast.Break) else jumps[1])
            kept.append(s)
        else:  # Expr calls, asserts: kept for their effect
            live = live | _reads(s)
            kept.append(s)
    kept.reverse()
    return kept, live


def _loop(s, live, writes, prune=True):
    """Liveness through a loop: iterate the body to a fixpoint (without
    pruning, so nothing is dropped on a premature pass), then prune it."""
    after = set(live)
    while True:
        _, live_in = _block(s.body, set(live), writes, prune=False, jumps=(after, live))
        new = live | live_in | _reads(getattr(s, "iter", ast.Pass())) | _reads(getattr(s, "test", ast.Pass()))
        if new == live:
            if prune:
                body, _ = _block(s.body, set(live), writes, jumps=(after, live))
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


def _writes(value, writes):
    """``x = pop(stack)`` must run even if x is not read: it moves the stack."""
    return isinstance(value, ast.Call) and writes(value)


def _only_comments(stmts):
    return all(is_comment(s) or isinstance(s, ast.Pass) for s in stmts)


def inline_single_use(fn, is_pure_call, writes_argument=None):
    """Fold a temporary used once back into the expression that uses it.

    Normal form gives every operation a name; where a name is read once,
    right after, in the same block, the generated code reads better and
    holds fewer arrays alive with the expression written in place:
    ``_t3 = -_t2; _t4 = np.exp(_t3)`` becomes ``_t4 = np.exp(-_t2)``.
    Only pure expressions move, and only when nothing in between writes a
    name they read (``writes_argument(call)``: the positions of the
    arguments a call writes into, as a stack's push and pop do).
    """
    loads, stores, defs = {}, {}, []
    for node in walk(fn):
        if isinstance(node, ast.Name):
            table = loads if isinstance(node.ctx, ast.Load) else stores
            table[node.id] = table.get(node.id, 0) + 1
        elif isinstance(node, ast.FunctionDef) and node is not fn:
            defs.append(node)
    for node in defs:
        for inner in walk(node):
            if isinstance(inner, ast.Name):
                loads[inner.id] = loads.get(inner.id, 0) + 2  # never inline into closures
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
    writes = writes_argument or _writes_nothing
    _inline_blocks(fn.body, loads, stores, params, (is_pure_call, writes))
    return fn


def _inline_blocks(stmts, loads, stores, params, calls):
    _inline_block(stmts, loads, stores, params, calls)
    for s in stmts:
        for field in ("body", "orelse"):
            block = getattr(s, field, None)
            if block and not isinstance(s, ast.FunctionDef):
                _inline_blocks(block, loads, stores, params, calls)


def _inline_block(stmts, loads, stores, params, calls):
    is_pure_call, writes = calls
    # per statement: every name it mentions, and whether it can change
    # values an expression reads (stores, subscript writes, loops, pops)
    mentioned = [_mentions(st, writes) for st in stmts]
    i = 0
    while i < len(stmts):
        s = stmts[i]
        if _inlinable(s, loads, stores, params, is_pure_call):
            name = s.targets[0].id
            j = next((k for k in range(i + 1, len(stmts)) if name in mentioned[k][0]), None)
            if j is not None and _in_top_expression(stmts[j], name):
                inputs = _reads(s.value)
                if not any(m[1] & inputs or m[2] for m in mentioned[i + 1:j]):
                    _replace_load(stmts[j], name, s.value)
                    mentioned[j][0].update(mentioned[i][0])
                    del stmts[i], mentioned[i]
                    i = max(i - 1, 0)
                    continue
        i += 1


def _mentions(stmt, writes):
    """(names mentioned, names stored, may write arrays or jump) of ``stmt``."""
    names, stored, effects = set(), set(), False
    for n in walk(stmt):
        if isinstance(n, ast.Name):
            names.add(n.id)
            if not isinstance(n.ctx, ast.Load):
                stored.add(n.id)
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
            effects = True
        elif isinstance(n, (ast.For, ast.While)):
            effects = True
        elif isinstance(n, ast.Call):  # push(stack, v) and pop(stack) write stack
            stored |= {n.args[i].id for i in writes(n)
                       if i < len(n.args) and isinstance(n.args[i], ast.Name)}
    return names, stored, effects


def _in_top_expression(stmt, name):
    return any(isinstance(n, ast.Name) and n.id == name
               for e in _top_expressions(stmt) for n in walk(e))


#: expressions deeper than this stay named (readability, and the compiler's
#: recursion limit on long recorded programs)
MAX_INLINE_DEPTH = 8


def _deeper_than(e, limit):
    """True when expression ``e`` nests more than ``limit`` levels deep."""
    level = [e]
    for _ in range(limit):
        level = [c for node in level for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
        if not level:
            return False
    return True


def _inlinable(s, loads, stores, params, is_pure_call):
    if not (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)):
        return False
    name = s.targets[0].id
    if name in params or stores.get(name) != 1 or loads.get(name) != 1:
        return False
    return not _deeper_than(s.value, MAX_INLINE_DEPTH) and _pure(s.value, is_pure_call)


def _pure(e, is_pure_call):
    for node in walk(e):
        if isinstance(node, ast.Call) and not is_pure_call(node):
            return False
        if isinstance(node, (ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom, ast.Lambda)):
            return False
    return True


def _top_expressions(s):
    if isinstance(s, ast.Return) and isinstance(s.value, ast.Tuple):
        return []  # several gradients: keep them named (dW1, db1, ...)
    if isinstance(s, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)):
        return [s.value] if s.value is not None else []
    if isinstance(s, ast.If):
        return [s.test]
    return []


class _Replace(ast.NodeTransformer):
    def __init__(self, name, value):
        self.name, self.value = name, value

    def visit_Name(self, node):
        if node.id == self.name and isinstance(node.ctx, ast.Load):
            return self.value
        return node


def _replace_load(stmt, name, value):
    replacer = _Replace(name, value)
    if isinstance(stmt, ast.If):
        stmt.test = replacer.visit(stmt.test)
    else:
        stmt.value = replacer.visit(stmt.value)


def free_dead_locals(fn, keep=()):
    """``del`` top-level locals after their last use (grouped, one ``del``
    per statement where names die).

    A local keeps its array alive until the function returns; a gradient
    written by hand lets temporaries die as soon as they are used up. Only
    names assigned by top-level statements (so surely bound) are deleted,
    never parameters, never anything a nested ``def`` might close over,
    never the names in ``keep`` (the saved shapes, reverse mode's
    ``GradientFacts.small_values``: tuples, not worth a line),
    and nothing that would die at the ``return`` anyway.
    """
    body = fn.body
    statements = [walk(s) for s in body]  # (one walk)
    if any(isinstance(n, (ast.FunctionDef, ast.Lambda))
           for nodes in statements + [walk(fn.args)] for n in nodes):
        return fn
    params = {a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs}
    bound = {t.id for s in body if isinstance(s, (ast.Assign, ast.AugAssign))
             for t in (s.targets if isinstance(s, ast.Assign) else [s.target])
             if isinstance(t, ast.Name)} - params - set(keep)
    last = {}
    for i, nodes in enumerate(statements):
        for n in nodes:
            if isinstance(n, ast.Name) and n.id in bound:
                last[n.id] = i
    dying = {}
    for name, i in last.items():
        if i < len(body) - 2 and not isinstance(body[i], ast.Return):
            dying.setdefault(i, []).append(name)
    for i in sorted(dying, reverse=True):
        names = sorted(dying[i], key=lambda n: (n.startswith("_"), n))
        body.insert(i + 1, ast.Delete([ast.Name(n, ast.Del()) for n in names]))
    return fn


def drop_copies_into_operators(fn, is_copy):
    """``a + owned_copy(c)`` is ``a + c``: an operator's result is a new
    value, so a private copy made only to be one of its operands is never
    seen again (``is_copy(call)``: the call is such a copy)."""
    for node in walk(fn):
        if isinstance(node, ast.BinOp):
            for side in ("left", "right"):
                operand = getattr(node, side)
                if isinstance(operand, ast.Call) and is_copy(operand):
                    setattr(node, side, operand.args[0])
        elif isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Call) \
                and is_copy(node.operand):
            node.operand = node.operand.args[0]
    return fn
