"""The grammar of the programs the passes hand on, and its checker.

Each pass of the pipeline (``s2sgrad.pipeline.PASSES``) produces a program
of one *stage*; ``check(program, stage, pass_name)`` verifies it against
that stage's grammar and raises :class:`IRCheckError` naming the pass, the
rule broken and the offending statement. The stages, in pipeline order:

``source`` — after *parse*: the user's ``FunctionDef`` with decorators
stripped (any Python; the normaliser refuses what it cannot handle).

``normal`` — after *normalise* (calls it decided to inline are still
calls: ``result = f(a, b)``); ``inlined`` — after *inline* (those calls
replaced by the callee's normal form), *cse* and *shapes*: the same
grammar, and no nested ``def`` that no statement refers to (its calls were
inlined)::

    body   := stmt* return atom            exactly one return, the last statement
    stmt   := Name = rhs                   one operation, atoms as operands
            | Name[index] = atom           subscript write
            | if atom: body else: body     (``if True:`` as the user wrote it)
            | for Name in atom: body       (no else)
            | while True: body             the test is evaluated inside, then break
            | break | continue             inside a loop only
            | pass
            | Expr(Call)                   a call kept for its side effect
            | assert atom
            | def ...                      nested def, kept verbatim
    rhs    := atom | atom OP atom | UOP atom | Compare(atom, op, atom)
            | func(atom*, kw=atom*)        func an atom (a global, dotted global or local)
            | atom[index] | atom.attr | (atom, ...) | [atom, ...]
            | atom if Name else atom
    index  := atom | slice(atom?, atom?, atom?) | (index, ...)
    atom   := Name | Constant | dotted name (np.pi)

Outside loops every name is assigned at most once on any path (the
versioning is the normaliser's; this checker checks the shape of the
statements, not the single-assignment property).

``adjoint`` — after *differentiate* and the optimisations that follow it
(*dce*, *sink*, *fold*): the gradient function, primal sweep then adjoint
sweep. Expressions may nest again (rule templates, folded single-use
temporaries) but stay expressions; statements are::

    body   := stmt* return expr            one return, the last statement, but for:
            | stmt* if expr: stmt* return expr  stmt* return expr
                                           a top-level ``if`` (no else) may end
                                           in a return: a float guard's cast
                                           path (``transform.dtypes``)
    stmt   := target = expr | Name op= expr | Name[index] op= expr
            | if expr: body else: body | for target in expr: body
            | while True: body | break | continue | pass
            | Expr(Call)                   side effects, guards, stack pushes
            | Expr(str)                    a ``# grad of:`` marker (a comment once emitted)
            | assert expr | def ...
    target := Name | Name[index] | (target, ...)

and no expression is a lambda, comprehension, ``yield``, ``await``, ``:=``,
starred, or a subscript of a constant (a seed ``1.0`` indexed as if it were
a sequence). ``freed`` — after *free*: the same, plus ``del Name, ...``
(only *free* deletes). ``text`` — after *emit*: Python source of one
function definition. ``code`` — after *compile*: a compiled function of
that name.

Output guarantees: :func:`check` changes nothing and raises IRCheckError,
naming the pass, the stage, the rule broken and the statement, exactly when
the program is outside its stage's grammar.
"""

import ast
import types

from s2sgrad.errors import InternalError
from s2sgrad.ir.nodes import walk

STAGES = ("source", "normal", "inlined", "adjoint", "freed", "text", "code")

ATOMS = (ast.Name, ast.Constant)
_FORBIDDEN_EXPRESSIONS = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                          ast.GeneratorExp, ast.Yield, ast.YieldFrom, ast.Await,
                          ast.NamedExpr, ast.Starred)
_SIMPLE_STATEMENTS = (ast.Pass, ast.Break, ast.Continue)


class IRCheckError(InternalError):
    """A pass produced a program outside the grammar of its stage: a bug in
    s2sgrad, not in the user's code."""

    def __init__(self, pass_name, stage, rule, statement=None):
        self.pass_name = pass_name
        self.stage = stage
        self.rule = rule
        self.statement = statement
        where = "" if statement is None else f": {_text(statement)}"
        super().__init__(f"internal error: pass {pass_name!r} broke the {stage} grammar "
                         f"({rule}){where}")


def is_atom(node):
    """A name, a constant or a dotted name (``np.pi``)."""
    if isinstance(node, ATOMS):
        return True
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def check(program, stage, pass_name="?"):
    """Raise IRCheckError where ``program`` breaks the grammar of ``stage``."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; the stages are {', '.join(STAGES)}")
    _CHECKERS[stage](_Checker(pass_name, stage), program)


class _Checker:
    """Who is checking what: the context of every IRCheckError."""

    def __init__(self, pass_name, stage):
        self.pass_name = pass_name
        self.stage = stage

    def require(self, condition, rule, statement=None):
        if not condition:
            raise IRCheckError(self.pass_name, self.stage, rule, statement)


def _text(node):
    line = getattr(node, "lineno", None)
    try:
        text = ast.unparse(node).strip().splitlines()[0]
    except Exception:  # noqa: BLE001 - a malformed node still gets reported
        text = type(node).__name__
    return f"line {line}: {text}" if line else text


# ------------------------------------------------------------------ source
def _check_source(checker, fn):
    checker.require(isinstance(fn, ast.FunctionDef), "a function definition")
    checker.require(not fn.decorator_list, "decorators stripped", fn)


# ------------------------------------------------------------------ normal form
def _check_normal(checker, fn):
    _check_function_end(checker, fn, is_atom, "return atom")
    _normal_block(checker, fn.body[:-1], in_loop=False)


def _check_inlined(checker, fn):
    _check_normal(checker, fn)
    statements = list(_statements(fn.body))
    for node in statements:
        if isinstance(node, ast.FunctionDef):
            checker.require(any(isinstance(n, ast.Name) and n.id == node.name
                                for other in statements if other is not node
                                for n in _parts(other)),
                            "no nested def that nothing refers to", node)


def _statements(stmts):
    for s in stmts:
        yield s
        if not isinstance(s, ast.FunctionDef):
            for field in ("body", "orelse"):
                yield from _statements(getattr(s, field, None) or [])


def _parts(stmt):
    """The nodes of ``stmt`` outside the statements nested in it (all of a def)."""
    if isinstance(stmt, ast.FunctionDef):
        yield from walk(stmt)
        return
    for field, value in ast.iter_fields(stmt):
        if field not in ("body", "orelse"):
            for node in value if isinstance(value, list) else [value]:
                if isinstance(node, ast.AST):
                    yield from walk(node)


def _check_function_end(checker, fn, returned, rule, guard_returns=False):
    checker.require(isinstance(fn, ast.FunctionDef), "a function definition")
    checker.require(fn.body and isinstance(fn.body[-1], ast.Return)
                    and fn.body[-1].value is not None and returned(fn.body[-1].value),
                    f"the last statement is {rule}", fn.body[-1] if fn.body else None)
    for stmt in fn.body[:-1]:
        early = None
        if guard_returns and isinstance(stmt, ast.If) and not stmt.orelse \
                and isinstance(stmt.body[-1], ast.Return):
            early = stmt.body[-1]
            checker.require(early.value is not None and returned(early.value),
                            f"a guard's return is {rule}", early)
        for node in _own_nodes(stmt):
            checker.require(not isinstance(node, ast.Return) or node is early,
                            "one return, the last statement", node)


def _own_nodes(stmt):
    """The nodes of ``stmt``, not descending into nested function definitions
    (kept verbatim: their bodies are any Python)."""
    todo = [stmt]
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, ast.FunctionDef):
            todo.extend(ast.iter_child_nodes(node))


def _normal_block(checker, stmts, in_loop):
    for s in stmts:
        require = checker.require
        if isinstance(s, ast.Assign):
            require(len(s.targets) == 1, "one target per assignment", s)
            target = s.targets[0]
            if isinstance(target, ast.Subscript):
                require(isinstance(target.value, ast.Name) and is_atom(s.value),
                        "Name[index] = atom", s)
                _normal_index(checker, target.slice, s)
            else:
                require(isinstance(target, ast.Name), "assignment to a name or a subscript", s)
                _normal_rhs(checker, s.value, s)
        elif isinstance(s, ast.If):
            require(is_atom(s.test), "if atom", s)
            _normal_block(checker, s.body, in_loop)
            _normal_block(checker, s.orelse, in_loop)
        elif isinstance(s, ast.For):
            require(isinstance(s.target, ast.Name) and is_atom(s.iter) and not s.orelse,
                    "for Name in atom, no else", s)
            _normal_block(checker, s.body, True)
        elif isinstance(s, ast.While):
            require(isinstance(s.test, ast.Constant) and s.test.value is True and not s.orelse,
                    "while True, no else", s)
            _normal_block(checker, s.body, True)
        elif isinstance(s, (ast.Break, ast.Continue)):
            require(in_loop, "break and continue inside a loop", s)
        elif isinstance(s, ast.Expr):
            require(isinstance(s.value, ast.Call), "an expression statement is a call", s)
            _normal_rhs(checker, s.value, s)
        elif isinstance(s, ast.Assert):
            require(is_atom(s.test), "assert atom", s)
        elif not isinstance(s, ast.FunctionDef):  # nested defs are kept verbatim
            require(isinstance(s, ast.Pass), "a normal-form statement", s)


def _normal_rhs(checker, e, s):
    require = checker.require
    if is_atom(e):
        return
    if isinstance(e, ast.BinOp):
        require(is_atom(e.left) and is_atom(e.right), "atom OP atom", s)
    elif isinstance(e, ast.UnaryOp):
        require(is_atom(e.operand), "UOP atom", s)
    elif isinstance(e, ast.Compare):
        require(len(e.ops) == 1 and is_atom(e.left) and is_atom(e.comparators[0]),
                "one comparison of atoms", s)
    elif isinstance(e, ast.Call):
        require(is_atom(e.func) and all(is_atom(a) for a in e.args)
                and all(k.arg and is_atom(k.value) for k in e.keywords),
                "func(atom*, kw=atom*)", s)
    elif isinstance(e, ast.Subscript):
        require(is_atom(e.value), "atom[index]", s)
        _normal_index(checker, e.slice, s)
    elif isinstance(e, ast.Attribute):
        require(is_atom(e.value), "atom.attr", s)
    elif isinstance(e, (ast.Tuple, ast.List)):
        require(all(is_atom(v) for v in e.elts), "a display of atoms", s)
    elif isinstance(e, ast.IfExp):
        require(isinstance(e.test, ast.Name) and is_atom(e.body) and is_atom(e.orelse),
                "atom if Name else atom", s)
    else:
        require(False, "one operation on atoms", s)


def _normal_index(checker, node, s):
    if isinstance(node, ast.Slice):
        checker.require(all(p is None or is_atom(p) for p in (node.lower, node.upper, node.step)),
                        "slice of atoms", s)
    elif isinstance(node, ast.Tuple):
        for e in node.elts:
            _normal_index(checker, e, s)
    else:
        checker.require(is_atom(node), "an index is an atom, a slice or a tuple of them", s)


# ------------------------------------------------------------------ differentiated
def _check_adjoint(checker, fn, may_delete=False):
    _check_function_end(checker, fn, _is_expression, "return expr", guard_returns=True)
    _adjoint_block(checker, fn.body[:-1], in_loop=False, may_delete=may_delete)
    _adjoint_expressions(checker, fn.body)


def _check_freed(checker, fn):
    _check_adjoint(checker, fn, may_delete=True)


def _is_expression(node):
    return isinstance(node, ast.expr)


def _adjoint_block(checker, stmts, in_loop, may_delete):
    require = checker.require
    for s in stmts:
        if isinstance(s, ast.Assign):
            require(len(s.targets) == 1 and _is_target(s.targets[0]),
                    "one target: a name, a subscript of a name, or a tuple of them", s)
        elif isinstance(s, ast.AugAssign):
            require(_is_target(s.target) and not isinstance(s.target, ast.Tuple),
                    "an augmented assignment to a name or a subscript", s)
        elif isinstance(s, ast.If):
            # (a guard's return was checked with the function's end)
            early = s.body[-1] if isinstance(s.body[-1], ast.Return) else None
            _adjoint_block(checker, s.body[:-1] if early else s.body, in_loop, may_delete)
            _adjoint_block(checker, s.orelse, in_loop, may_delete)
        elif isinstance(s, ast.For):
            require(_is_target(s.target) and not s.orelse, "for target in expr, no else", s)
            _adjoint_block(checker, s.body, True, may_delete)
        elif isinstance(s, ast.While):
            require(isinstance(s.test, ast.Constant) and s.test.value is True and not s.orelse,
                    "while True, no else", s)
            _adjoint_block(checker, s.body, True, may_delete)
        elif isinstance(s, (ast.Break, ast.Continue)):
            require(in_loop, "break and continue inside a loop", s)
        elif isinstance(s, ast.Expr):
            require(isinstance(s.value, ast.Call) or (
                isinstance(s.value, ast.Constant) and isinstance(s.value.value, str)),
                "an expression statement is a call or a comment marker", s)
        elif isinstance(s, ast.Delete):
            require(may_delete, "only the free pass deletes", s)
            require(all(isinstance(t, ast.Name) for t in s.targets), "del of names only", s)
        elif not isinstance(s, (ast.Assert, ast.FunctionDef)):
            require(isinstance(s, _SIMPLE_STATEMENTS), "a gradient-program statement", s)


def _is_target(node):
    if isinstance(node, ast.Name):
        return True
    if isinstance(node, ast.Subscript):
        return isinstance(node.value, ast.Name)
    if isinstance(node, ast.Tuple):
        return all(_is_target(e) for e in node.elts)
    return False


def _adjoint_expressions(checker, body):
    for stmt in body:
        for node in _own_nodes(stmt):
            checker.require(not isinstance(node, _FORBIDDEN_EXPRESSIONS),
                            f"no {type(node).__name__} in generated code", stmt)
            checker.require(not (isinstance(node, ast.Subscript)
                                 and isinstance(node.value, ast.Constant)),
                            "no subscript of a constant", stmt)


# ------------------------------------------------------------------ text, code
def _check_text(checker, source):
    checker.require(isinstance(source, str), "Python source text")
    try:
        module = ast.parse(source)
    except SyntaxError as error:
        checker.require(False, f"source that parses ({error.msg}, line {error.lineno})")
    checker.require(len(module.body) == 1 and isinstance(module.body[0], ast.FunctionDef),
                    "one function definition")


def _check_code(checker, code):
    checker.require(isinstance(getattr(code, "code", None), types.CodeType),
                    "a compiled function")
    checker.require(code.code.co_name == code.name, "code named after the function")


_CHECKERS = {
    "source": _check_source,
    "normal": _check_normal,
    "inlined": _check_inlined,
    "adjoint": _check_adjoint,
    "freed": _check_freed,
    "text": _check_text,
    "code": _check_code,
}
