"""The simplify pass: algebraic clean-up of the expressions rule templates produce.

Instantiating ``g * y * x ** (y - 1)`` with ``g = 1.0`` and ``y = 2``
gives ``1.0 * 2 * x ** (2 - 1)``; this pass folds constants and drops the
identities (``1 * e``, ``e ** 1``, ``e + 0``, ``--e``) so the generated code
says ``2 * x``. Every rewrite preserves value, shape and dtype for
floating-point operands (``1.0 * e`` is ``e`` for float ``e``; the seed and
every cotangent is floating point).

Reverse mode emits its expressions as instantiated and records them
(``GradientFacts.algebra``); :func:`simplify_recorded`, the pipeline's
``simplify`` pass, rewrites exactly those, so primal expressions (whose
operands may be integers) are never touched. Reverse mode decides by an
expression's algebraic form (is a contribution just a name? a scalar?)
through :func:`simplified`, which leaves the expression as it is.

Output guarantees: the result has the value, shape and dtype of its input
for floating-point operands; no name is added or removed except by
dropping an identity's constant operand.
"""

import ast
import operator

from s2sgrad.ir.nodes import clone

_FOLD = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow,
}

_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
    ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
}


def _number(node):
    return (isinstance(node, ast.Constant) and type(node.value) in (int, float)
            and not isinstance(node.value, bool))


def _value(node):
    """The numeric value of a constant or negated constant, else None."""
    if _number(node):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and _number(node.operand):
        return -node.operand.value
    return None


def _is(node, value):
    v = _value(node)
    return v is not None and v == value


#: nodes with no expression inside: nothing to simplify below them
_LEAVES = (ast.Name, ast.Constant, ast.expr_context)


class _Simplify(ast.NodeTransformer):
    def __init__(self, context=None):
        self.context = context

    def generic_visit(self, node):
        """``NodeTransformer.generic_visit`` without its generators (this
        pass visits every node of every expression reverse mode emits);
        the rules never drop a node or return several."""
        if isinstance(node, _LEAVES):
            return node
        for field in node._fields:
            value = getattr(node, field, None)
            if value.__class__ is list:
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST) and not isinstance(item, _LEAVES):
                        value[i] = self.visit(item)
            elif isinstance(value, ast.AST) and not isinstance(value, _LEAVES):
                setattr(node, field, self.visit(value))
        return node

    def is_repeat(self, node):
        """``repeat_to(...)``: a value broadcast without being materialised."""
        if self.context is None or not isinstance(node, ast.Call) or not node.args:
            return False
        from s2sgrad import runtime

        return self.context.resolve(node.func) is runtime.repeat_to

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right, op = node.left, node.right, type(node.op)
        if op in (ast.Mult, ast.Div) and self.is_repeat(left) and _value(right) is not None:
            # scale the scalar before broadcasting it: repeat_to(g, a) / n
            # -> repeat_to(g / n, a), the same values without an array pass
            scaled = self.visit(ast.BinOp(left.args[0], node.op, right))
            return ast.Call(left.func, [scaled, *left.args[1:]], left.keywords)
        if _value(left) is not None and _value(right) is not None and op in _FOLD:
            try:
                value = _FOLD[op](_value(left), _value(right))
            except (ArithmeticError, ValueError, OverflowError):
                return node
            if isinstance(value, (int, float)) and abs(value) < 1e15:
                return _constant(value)
        if op is ast.Mult:
            if _is(left, 1):
                return right
            if _is(right, 1):
                return left
            if _is(left, -1):
                return _negate(right)
            if _is(right, -1):
                return _negate(left)
        elif op is ast.Div and _is(right, 1):
            return left
        elif op is ast.Pow and _is(right, 1):
            return left
        elif op is ast.Add:
            if _is(left, 0):
                return right
            if _is(right, 0):
                return left
            if isinstance(right, ast.UnaryOp) and isinstance(right.op, ast.USub):
                return ast.BinOp(left, ast.Sub(), right.operand)
        elif op is ast.Sub:
            if _is(right, 0):
                return left
            if isinstance(right, ast.UnaryOp) and isinstance(right.op, ast.USub):
                return ast.BinOp(left, ast.Add(), right.operand)
            if _value(left) is not None and isinstance(right, (ast.BinOp, ast.Call)):
                # c - e == -(e - c) exactly in IEEE arithmetic; with the
                # temporary on the left NumPy reuses its buffer instead of
                # allocating another array (tanh' = -(ans ** 2 - 1))
                return ast.UnaryOp(ast.USub(), ast.BinOp(right, ast.Sub(), left))
        return node

    def visit_Compare(self, node):
        """A comparison of two numbers folds to 0 or 1, the value it has in
        arithmetic (the power rule's exponent ``y - 1 + (y == 0)``)."""
        self.generic_visit(node)
        if len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            left, right = _value(node.left), _value(node.comparators[0])
            if left is not None and right is not None:
                return ast.Constant(int(_COMPARE[type(node.ops[0])](left, right)))
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub):
            return _negate(node.operand, node)
        return node


def _constant(value):
    if isinstance(value, (int, float)) and value < 0:
        return ast.UnaryOp(ast.USub(), ast.Constant(-value))
    return ast.Constant(value)


def _negate(e, original=None):
    if _number(e):
        return _constant(-e.value)
    if isinstance(e, ast.UnaryOp) and isinstance(e.op, ast.USub):
        if _number(e.operand):
            return e.operand
        return e.operand
    return original if original is not None else ast.UnaryOp(ast.USub(), e)


def expression(expr, context=None):
    """``expr`` with constants folded and algebraic identities removed (in
    place where it can: ``expr`` itself may change)."""
    return _Simplify(context).visit(expr)


def simplified(expr, context=None):
    """What :func:`expression` makes of ``expr``, ``expr`` itself unchanged."""
    return _Simplify(context).visit(clone(expr))


def simplify_recorded(fn, recorded, context=None):
    """Simplify, in place, every expression of ``fn`` that ``recorded`` (a
    NodeTable) holds, with everything inside it."""
    if not len(recorded):
        return fn
    simplifier = _Simplify(context)
    todo = [fn]
    while todo:
        node = todo.pop()
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item in recorded:
                        value[i] = simplifier.visit(item)
                    elif isinstance(item, ast.AST):
                        todo.append(item)
            elif value in recorded:
                setattr(node, field, simplifier.visit(value))
            elif isinstance(value, ast.AST):
                todo.append(value)
    return fn
