"""The adjoint state and small AST helpers the reverse-mode modules share.

Output guarantees: the helpers build or inspect nodes and change no
program they are handed.
"""

import ast
import builtins

from s2sgrad.ir.nodes import walk

#: marker comment statements, turned into ``# ...`` lines by the emitter
COMMENT_PREFIX = "__s2sgrad_comment__ "


def comment(text):
    return ast.Expr(ast.Constant(COMMENT_PREFIX + text))


class Adjoint:
    """The state of one primal name's adjoint: an alias atom or a variable.

    With ``like`` set, the adjoint is the constant ``expr`` broadcast to
    the shape of the primal ``like`` (a folded unit seed spread by a sum),
    which is never materialised unless a rule needs the array.
    """

    __slots__ = ("expr", "is_alias", "like")

    def __init__(self, expr, is_alias, like=None):
        self.expr = expr
        self.is_alias = is_alias
        self.like = like


def simultaneous(writes):
    """Assignments ``var = value`` acting at once: when a value reads a
    variable assigned before it in the list (adjoints of ``x, y = y, x``),
    one tuple assignment instead of a sequence."""
    assigned = set()
    for var, value in writes:
        if any(isinstance(n, ast.Name) and n.id in assigned for n in walk(value)):
            targets = ast.Tuple([ast.Name(v, ast.Store()) for v, _ in writes], ast.Store())
            return [ast.Assign([targets], ast.Tuple([v for _, v in writes], ast.Load()))]
        assigned.add(var)
    return [assign(var, value) for var, value in writes]


def walk_statements(stmts):
    """Every statement of ``stmts``, nested blocks included, in order."""
    for s in stmts:
        yield s
        for field in ("body", "orelse"):
            yield from walk_statements(getattr(s, field, []))


def assign(name, value):
    return ast.Assign([ast.Name(name, ast.Store())], value)


def is_atom(e):
    return isinstance(e, (ast.Name, ast.Constant))


def index_expression(node, mode):
    """A subscript's index as an expression (slices become slice(...))."""
    if isinstance(node, ast.Slice):
        parts = [p if p is not None else ast.Constant(None) for p in (node.lower, node.upper, node.step)]
        name = mode.context.env_name(builtins.slice, "slice")
        return ast.Call(ast.Name(name, ast.Load()), parts, [])
    if isinstance(node, ast.Tuple):
        return ast.Tuple([index_expression(e, mode) for e in node.elts], ast.Load())
    return node
