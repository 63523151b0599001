"""Desugar stage: idioms of ordinary Python spelled in what the normaliser knows.

Before a function is put in normal form, these idioms are rewritten into
equivalent code of constructs the rest of the pipeline differentiates:

* ``with np.errstate(divide="ignore", ...):`` (settings that ignore or
  warn; ``"raise"`` changes what runs) and ``with np.printoptions(...):``,
  ``with warnings.catch_warnings():``, which change no value, are their body;
* ``map(f, xs, ys)`` is the generator ``(f(a, b) for a, b in zip(xs, ys))``
  (the body of a ``lambda`` put in the generator itself);
* ``sorted(xs, key=f, reverse=r)`` is ``[xs[i] for i in sorted_order(keys, r)]``
  with ``keys = [f(v) for v in xs]``: the items themselves, permuted by an
  order that carries no derivative (ties keep their order, as Python's);
* ``max(xs)``/``min(xs, key=f)`` (one iterable, or several arguments with
  ``key=``) is ``xs[index_of_max(keys)]``: the first largest item itself;
* ``math.log(x, base)`` is ``math.log(x) / math.log(base)``, as CPython computes it;
* ``functools.reduce(f, xs, init)`` is a loop before the statement:
  ``acc = init; for b in xs: acc = f(acc, b)``;
* ``(name := value)`` is ``name = value`` before the statement (a ``while``
  whose test has one tests it at the top of a ``while True`` body).

What needs a statement before the one it is in (``reduce``, a walrus, an
iterable that ``sorted``/``max`` read twice) is rewritten only where the
expression is evaluated exactly once, before the rest of the statement
(not in a comprehension, a conditional expression, the right of ``and``/
``or``, or an assignment target); elsewhere it is left as it is, and the
normaliser refuses it at the user's line.

Output guarantees: the statements returned compute what the user's did,
in the same order (what moves before a statement is evaluated first in it
anyway), keep the user's names (new variables get fresh ones from the
normaliser's namer: ``items``, ``total``), and carry the user's line
numbers; the helpers they call are bound in the normaliser's environment.
"""

import ast
import builtins
import copy
import functools
import math
import warnings

from s2sgrad import backend
from s2sgrad.frontend.parse import LOCAL
from s2sgrad.ir.nodes import walk
from s2sgrad.primitives import containers

#: context managers whose block runs as it is for the derivative
_NEUTRAL_CONTEXTS = (backend.xp.errstate, backend.xp.printoptions, warnings.catch_warnings)
#: what ``np.errstate`` may do about an error and change no value
_QUIET_ERRORS = ("ignore", "warn", "print", "log")


def desugar(normaliser, body):
    """``body`` (the function's statements) with the idioms above rewritten."""
    return _Desugarer(normaliser).block(body)


class _Desugarer:
    def __init__(self, normaliser):
        self.normaliser = normaliser
        self.resolve = normaliser.parsed.resolve

    def is_(self, func, obj):
        """``func`` (an expression) denotes ``obj`` (not a local of that name)."""
        if not isinstance(func, (ast.Name, ast.Attribute)):
            return False
        if isinstance(func, ast.Name) and func.id in self.normaliser.current:
            return False
        found = self.resolve(func)
        return found is not LOCAL and any(found is o for o in _as_tuple(obj))

    def fresh(self, base):
        return self.normaliser.namer.fresh(base)

    def helper(self, function):
        return ast.Name(self.normaliser.env_helper(function, function.__name__), ast.Load())

    def builtin(self, name):
        """A name denoting builtin ``name`` in the generated code."""
        if self.is_(ast.Name(name, ast.Load()), getattr(builtins, name)):
            return ast.Name(name, ast.Load())
        return self.helper(getattr(builtins, name))

    # ---------------------------------------------------------- statements
    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return out

    def stmt(self, s):
        if isinstance(s, ast.With) and all(self.neutral(item) for item in s.items):
            return self.block(s.body)
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return [s]
        if isinstance(s, ast.While) and not s.orelse:
            before = []
            test = _Hoister(self, before).top(s.test)
            body = self.block(s.body)
            if before:
                # ``while (n := f(n)) > 0:`` tests at the top of each pass
                stop = ast.If(ast.UnaryOp(ast.Not(), test), [ast.Break()], [])
                loop = ast.While(ast.Constant(True), before + [stop] + body, [])
                return [_located(loop, s)]
            s = copy.copy(s)
            s.body = body
            return [s]
        s = copy.copy(s)
        before = []
        hoister = _Hoister(self, before)
        for field in _EVALUATED_FIRST.get(type(s), ()):
            value = getattr(s, field)
            if value is not None:
                setattr(s, field, hoister.top(value))
        for field in ("body", "orelse", "finalbody"):
            if isinstance(getattr(s, field, None), list):
                setattr(s, field, self.block(getattr(s, field)))
        if isinstance(s, ast.Try):
            s.handlers = [_with_body(h, self.block(h.body)) for h in s.handlers]
        return [_located(b, s) for b in before] + [s]

    def neutral(self, item):
        e = item.context_expr
        if item.optional_vars is not None or not isinstance(e, ast.Call) \
                or not self.is_(e.func, _NEUTRAL_CONTEXTS):
            return False
        if self.is_(e.func, backend.xp.errstate):
            # (``all="raise"`` turns a NaN into an exception: not neutral)
            return not e.args and all(
                isinstance(k.value, ast.Constant) and k.value.value in _QUIET_ERRORS
                for k in e.keywords)
        return True


#: the parts of a statement evaluated before anything else in it
_EVALUATED_FIRST = {ast.Assign: ("value",), ast.AugAssign: ("value",),
                    ast.AnnAssign: ("value",), ast.Return: ("value",), ast.Expr: ("value",),
                    ast.If: ("test",), ast.For: ("iter",), ast.Assert: ("test",)}


class _Hoister(ast.NodeTransformer):
    """Rewrites one statement's expression; what must run first goes to ``before``."""

    def __init__(self, desugarer, before):
        self.d = desugarer
        self.before = before
        #: inside a part evaluated a number of times other than once
        self.conditional = False

    def top(self, e):
        self.root = e
        return self.visit(e)

    def maybe(self, node, *fields):
        """Visit ``fields`` of ``node`` as evaluated conditionally."""
        saved, self.conditional = self.conditional, True
        for f in fields:
            value = getattr(node, f)
            if isinstance(value, list):
                setattr(node, f, [self.visit(v) for v in value])
            elif value is not None:
                setattr(node, f, self.visit(value))
        self.conditional = saved
        return node

    def visit_Lambda(self, node):
        return node

    def visit_IfExp(self, node):
        node.test = self.visit(node.test)
        return self.maybe(node, "body", "orelse")

    def visit_BoolOp(self, node):
        first = self.visit(node.values[0])
        saved, self.conditional = self.conditional, True
        rest = [self.visit(v) for v in node.values[1:]]
        self.conditional = saved
        node.values = [first] + rest
        return node

    def _comprehension(self, node, *elements):
        first = node.generators[0]
        first.iter = self.visit(first.iter)
        saved, self.conditional = self.conditional, True
        first.ifs = [self.visit(c) for c in first.ifs]
        for g in node.generators[1:]:
            self.visit(g)
        for f in elements:
            setattr(node, f, self.visit(getattr(node, f)))
        self.conditional = saved
        return node

    def visit_ListComp(self, node):
        if not self.conditional and not isinstance(node, ast.SetComp) and any(
                isinstance(n, ast.NamedExpr) for n in _own_walk(node)):
            return self.loop_of(node)
        return self._comprehension(node, "elt")

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def loop_of(self, node):
        """``[(y := f(v)) + y for v in xs]`` (a walrus binds in the function):
        ``items = []; for v_1 in xs: y = f(v_1); items = items + [y + y]``
        before the statement (the loop variables renamed: they do not leak)."""
        d = self.d
        renames = {n.id: d.fresh(n.id) for g in node.generators for n in walk(g.target)
                   if isinstance(n, ast.Name)}
        result = d.fresh("items")
        body = [ast.Assign([ast.Name(result, ast.Store())], ast.BinOp(
            ast.Name(result, ast.Load()), ast.Add(),
            ast.List([_renamed(node.elt, renames)], ast.Load())))]
        for i, g in reversed(list(enumerate(node.generators))):
            for condition in reversed(g.ifs):
                body = [ast.If(_renamed(condition, renames), body, [])]
            source = g.iter if i == 0 else _renamed(g.iter, renames)
            body = [ast.For(_renamed(g.target, renames), source, body, [])]
        loop = _located(body[0], node)
        self.before.append(_located(ast.Assign([ast.Name(result, ast.Store())],
                                               ast.List([], ast.Load())), node))
        first = node.generators[0]
        loop.iter = self.visit(first.iter)
        self.before.extend(d.stmt(loop))
        return ast.Name(result, ast.Load())

    def visit_DictComp(self, node):
        return self._comprehension(node, "key", "value")

    def visit_NamedExpr(self, node):
        node.value = self.visit(node.value)
        name = node.target.id
        if self.conditional or _read_before(self.root, node, name):
            return node
        self.before.append(ast.Assign([ast.Name(name, ast.Store())], node.value))
        return ast.Name(name, ast.Load())

    def visit_Call(self, node):
        self.generic_visit(node)
        d = self.d
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            return node
        if d.is_(node.func, builtins.map) and len(node.args) >= 2 and not node.keywords:
            return _located(self.mapped(node.args[0], node.args[1:]), node)
        if d.is_(node.func, builtins.sorted) and len(node.args) == 1 \
                and {k.arg for k in node.keywords} <= {"key", "reverse"}:
            return self.sorted_(node)
        if d.is_(node.func, (builtins.max, builtins.min)) and node.args \
                and {k.arg for k in node.keywords} <= {"key"} \
                and (len(node.args) == 1 or node.keywords):
            return self.extreme(node)
        if d.is_(node.func, functools.reduce) and len(node.args) in (2, 3) and not node.keywords:
            return self.reduced(node)
        if d.is_(node.func, math.log) and len(node.args) == 2 and not node.keywords:
            # (what CPython computes: the quotient of the natural logarithms)
            return _located(ast.BinOp(ast.Call(node.func, node.args[:1], []), ast.Div(),
                                      ast.Call(copy.deepcopy(node.func), node.args[1:], [])), node)
        return node

    # --------------------------------------------------------------- idioms
    def mapped(self, function, iterables):
        """``map(function, *iterables)`` as a generator expression."""
        d = self.d
        params = _lambda_params(function, len(iterables))
        if params is not None:
            names, element = params, function.body
        else:
            names = [d.fresh("item") for _ in iterables]
            element = ast.Call(function, [ast.Name(n, ast.Load()) for n in names], [])
        if len(iterables) == 1:
            target, source = ast.Name(names[0], ast.Store()), iterables[0]
        else:
            target = ast.Tuple([ast.Name(n, ast.Store()) for n in names], ast.Store())
            source = ast.Call(d.builtin("zip"), list(iterables), [])
        return ast.GeneratorExp(element, [ast.comprehension(target, source, [], 0)])

    def keys(self, items, key):
        """``[key(v) for v in items]``, or ``items`` when ``key`` is None."""
        if key is None or (isinstance(key, ast.Constant) and key.value is None):
            return items
        generator = self.mapped(key, [items])
        return ast.ListComp(generator.elt, generator.generators)

    def held(self, e, base):
        """An expression reading ``e`` again and again: ``e`` itself when it
        is a name, else a new variable set before the statement (None where
        that cannot be)."""
        if isinstance(e, ast.Name):
            return e
        if self.conditional:
            return None
        if isinstance(e, ast.GeneratorExp):  # read twice: a list
            e = ast.ListComp(e.elt, e.generators)
        name = self.d.fresh(base)
        self.before.append(ast.Assign([ast.Name(name, ast.Store())], e))
        return ast.Name(name, ast.Load())

    def sorted_(self, node):
        keywords = {k.arg: k.value for k in node.keywords}
        items = self.held(node.args[0], "items")
        if items is None:
            return node
        order = [self.keys(items, keywords.get("key"))]
        if "reverse" in keywords:
            order.append(keywords["reverse"])
        index = self.d.fresh("i")
        read = ast.Subscript(copy.deepcopy(items), ast.Name(index, ast.Load()), ast.Load())
        return _located(ast.ListComp(read, [ast.comprehension(
            ast.Name(index, ast.Store()), ast.Call(self.d.helper(containers.sorted_order), order, []),
            [], 0)]), node)

    def extreme(self, node):
        largest = self.d.is_(node.func, builtins.max)
        arguments = node.args[0] if len(node.args) == 1 else ast.List(list(node.args), ast.Load())
        items = self.held(arguments, "items")
        if items is None:
            return node
        key = node.keywords[0].value if node.keywords else None
        which = containers.index_of_max if largest else containers.index_of_min
        index = ast.Call(self.d.helper(which), [self.keys(items, key)], [])
        return _located(ast.Subscript(copy.deepcopy(items), index, ast.Load()), node)

    def reduced(self, node):
        """``functools.reduce(f, xs[, init])``: a loop before the statement."""
        if self.conditional:
            return node
        d = self.d
        function, sequence = node.args[:2]
        params = _lambda_params(function, 2)
        total = d.fresh(params[0] if params is not None else "total")
        if len(node.args) == 3:
            start, rest = node.args[2], sequence
        else:
            items = self.held(sequence, "items")
            start = ast.Subscript(items, ast.Constant(0), ast.Load())
            rest = ast.Subscript(copy.deepcopy(items), ast.Slice(ast.Constant(1), None, None),
                                 ast.Load())
        item = d.fresh(params[1] if params is not None else "item")
        if params is not None:
            step = _renamed(function.body, {params[0]: total, params[1]: item})
        else:
            step = ast.Call(function, [ast.Name(total, ast.Load()), ast.Name(item, ast.Load())], [])
        self.before.append(ast.Assign([ast.Name(total, ast.Store())], start))
        self.before.append(ast.For(ast.Name(item, ast.Store()), rest, [
            _located(ast.Assign([ast.Name(total, ast.Store())], step), node)], []))
        return ast.Name(total, ast.Load())


def _lambda_params(function, count):
    """The parameter names of ``lambda a, b: ...`` taking ``count`` plain
    positional arguments, else None."""
    if not isinstance(function, ast.Lambda):
        return None
    a = function.args
    if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs \
            or len(a.args) != count:
        return None
    return [p.arg for p in a.args]


def _renamed(e, renames):
    """A copy of ``e`` reading ``renames[n]`` for each name ``n``."""
    e = copy.deepcopy(e)
    for n in walk(e):
        if isinstance(n, ast.Name) and n.id in renames:
            n.id = renames[n.id]
    return e


def _own_walk(node):
    """The nodes of ``node`` outside the lambdas in it."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.Lambda):
            yield from _own_walk(child)


def _read_before(root, node, name):
    """``name`` is read in ``root`` before ``node`` (in the order of the source)."""
    here = (node.lineno, node.col_offset)
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
               and (n.lineno, n.col_offset) < here for n in walk(root))


def _with_body(handler, body):
    handler = copy.copy(handler)
    handler.body = body
    return handler


def _located(node, origin):
    for n in walk(node):
        if not hasattr(n, "lineno"):
            ast.copy_location(n, origin)
    return node


def _as_tuple(obj):
    return obj if isinstance(obj, tuple) else (obj,)
