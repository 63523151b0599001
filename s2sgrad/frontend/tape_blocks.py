"""Tape blocks lifted out of a function, for the source path to differentiate.

A *tape block* is a ``with GradientTape() as tape:`` statement whose body
is straight-line arithmetic, followed by ``grads = tape.gradient(target,
sources)``. Recording it costs a Tensor object and a record per operation
on every run; but the block's meaning is a plain function of the values it
reads, so ``tf.function`` (its autograph) lifts it out::

    with tf.GradientTape() as tape:          def block(a, x, b, c):
        y = a * tf.pow(x, 2) + b * x + c  ->      y = a * x ** 2 + b * x + c
    dy_dx = tape.gradient(y, x)                   return y

and replaces the two statements by one call, ``y, dy_dx = <block>(a, x, b,
c)``, which runs the block's generated value-and-gradient on the NumPy
values (:mod:`s2sgrad.tape.blocks`). The block function enters the
pipeline at the normalise stage, so its gradient comes from the same rules
and code generator as ``sg.grad``.

A block is lifted only when every operation in it means the same on NumPy
values as on tensors: operators, NumPy functions with derivative rules,
and the calls ``lower_call`` (supplied by the front end, e.g. the
``tf.*`` functions) rewrites to those. Everything else -- attribute access
on values, calls to other functions, control flow, a tape used again
later, names the block assigns and the function reads elsewhere -- leaves
the block as written. This module only rewrites syntax; the runtime checks
(every value read is a floating-point tensor, no outer tape records) are
the runtime block's.

Output guarantees: a lifted block is a plain ``def`` whose body is the
block's own statements with ``lower_call``'s rewrites, reading only the
values the block read and returning its target and the values the rest of
the function reads; a block it does not lift is left as written.
"""

import ast
import collections
import copy
import types
from dataclasses import dataclass

from s2sgrad.frontend.parse import LOCAL, UNRESOLVED
from s2sgrad.ir.nodes import function_def
from s2sgrad.primitives import registry

_LIFTED_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult)
_TAPE_OPTIONS = ("persistent", "watch_accessed_variables")


class NotLiftable(Exception):
    """The block stays as written (the reason is the message)."""


@dataclass
class BlockSpec:
    """One lifted tape block: what the runtime block needs to run it."""

    #: the name the rewritten function calls the runtime block by
    helper: str
    lineno: int
    #: values the block reads, in order: the block function's parameters
    inputs: tuple
    #: inputs passed to ``tape.watch``
    watched: frozenset
    watch_accessed_variables: bool
    target: str
    #: the ``sources`` argument: a Name or nested List/Tuple of Names
    sources: ast.expr
    #: ``def block(*inputs): ...; return target`` on NumPy values
    function: ast.FunctionDef
    #: ``def block_eager(*inputs): with ...; return target, tape.gradient(...)``
    eager: ast.FunctionDef
    #: objects the lowered calls refer to, by the names ``function`` uses
    helpers: dict
    #: per lowered front-end call, the inputs its arguments come from: a
    #: front end may convert Python numbers there (``tf.exp(2.0)`` is
    #: float32), so at least one of them must not be a Python number
    converting_calls: tuple = ()

    @property
    def source_names(self):
        return flat_names(self.sources)

    def pack(self, flat):
        """``flat`` gradients in the structure of ``sources``."""
        return _pack(self.sources, iter(flat))


def lift_tape_blocks(parsed, is_tape_class, lower_call, prefix="__s2sgrad_block"):
    """Rewrite ``parsed.tree``'s liftable tape blocks into calls.

    Returns ``(tree, blocks, resolved)``: a rewritten copy of the function,
    one :class:`BlockSpec` per block replaced by a call to ``<prefix>_<n>``
    (``target, grads = <prefix>_<n>(*inputs)``), and the name resolutions the lifting relied on
    (dotted text -> object, for cache validation). ``lower_call(obj, args,
    keywords, refer)`` returns the expression replacing a call to ``obj``
    with lowered arguments, or None when it does not know ``obj``.
    """
    tree = copy.deepcopy(parsed.tree)
    uses = _name_counts([tree])
    declared = {name for node in ast.walk(tree) if isinstance(node, (ast.Global, ast.Nonlocal))
                for name in node.names}
    blocks = []
    resolved = {}
    for body in _statement_lists(tree):
        i = 0
        while i + 1 < len(body):
            try:
                spec, statements = _lift(parsed, body, i, uses, declared, is_tape_class,
                                         lower_call, f"{prefix}_{len(blocks)}", resolved)
            except NotLiftable:
                i += 1
                continue
            body[i:i + 2] = statements
            blocks.append(spec)
            i += len(statements)
    return tree, blocks, resolved


def flat_names(node):
    """The names of a Name or nested List/Tuple of Names, else None."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.List, ast.Tuple)):
        names = []
        for element in node.elts:
            inner = flat_names(element)
            if inner is None:
                return None
            names += inner
        return names
    return None


def _pack(node, flat):
    if isinstance(node, ast.Name):
        return next(flat)
    items = [_pack(element, flat) for element in node.elts]
    return items if isinstance(node, ast.List) else tuple(items)


def _statement_lists(tree):
    """Every statement list of the function body (not of nested defs/classes)."""
    lists = []
    todo = [tree.body]
    while todo:
        body = todo.pop()
        lists.append(body)
        for stmt in body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    todo.append(inner)
            for handler in getattr(stmt, "handlers", ()):
                todo.append(handler.body)
            for case in getattr(stmt, "cases", ()):
                todo.append(case.body)
    return lists


def _name_counts(nodes):
    counts = collections.Counter()
    for node in nodes:
        for n in ast.walk(node):
            if isinstance(n, ast.Name):
                counts[n.id] += 1
            elif isinstance(n, (ast.Global, ast.Nonlocal)):
                counts.update(n.names)
    return counts


def _lift(parsed, body, i, uses, declared, is_tape_class, lower_call, helper, resolved):
    """The BlockSpec and the statements replacing ``body[i:i+2]``, or NotLiftable."""
    stmt, grad_stmt = body[i], body[i + 1]
    tape, options = _tape_of(parsed, stmt, is_tape_class, resolved)
    gradient = _gradient_call(grad_stmt, tape)
    target, sources = gradient.args
    target = target.id
    watched, statements = _split_watches(stmt.body, tape)
    lowering = _Lowering(parsed, lower_call, resolved)
    lowered = [lowering.statement(s) for s in statements]
    assigned = lowering.assigned
    source_names = flat_names(sources)
    if target not in assigned:
        raise NotLiftable("the gradient's target is not computed in the block")
    if assigned & (set(source_names) | set(watched)):
        raise NotLiftable("the block assigns a source or a watched name")
    if assigned & declared:
        raise NotLiftable("the block assigns a global or nonlocal name")
    missing = (set(source_names) | set(watched)) - set(lowering.inputs)
    if missing:
        raise NotLiftable(f"{sorted(missing)} not read in the block")
    inside = _name_counts([stmt, grad_stmt])
    for name in (assigned - {target}) | {tape}:
        if uses[name] != inside[name]:
            raise NotLiftable(f"{name!r} is used outside the block")
    inputs = tuple(lowering.inputs)
    function = _function_def(f"{tape}_block", inputs, lowered + [
        ast.copy_location(ast.Return(ast.Name(target, ast.Load())), grad_stmt)], stmt)
    eager = _function_def(f"{tape}_block_eager", inputs, [
        copy.deepcopy(stmt),
        ast.copy_location(ast.Return(ast.Tuple([ast.Name(target, ast.Load()),
                                                copy.deepcopy(gradient)], ast.Load())), grad_stmt),
    ], stmt)
    spec = BlockSpec(helper, stmt.lineno, inputs, frozenset(watched),
                     options.get("watch_accessed_variables", True), target, sources,
                     function, eager, lowering.helpers, tuple(lowering.converting_calls))
    return spec, _replacement(helper, inputs, target, stmt, grad_stmt, gradient)


def _replacement(helper, inputs, target, stmt, grad_stmt, gradient):
    """``target, grads = helper(*inputs)``, then ``grad_stmt`` reading ``grads``."""
    call = ast.Call(ast.Name(helper, ast.Load()), [ast.Name(n, ast.Load()) for n in inputs], [])
    if isinstance(grad_stmt, ast.Assign) and grad_stmt.value is gradient \
            and len(grad_stmt.targets) == 1:
        statements = [ast.Assign([ast.Tuple([ast.Name(target, ast.Store()), grad_stmt.targets[0]],
                                            ast.Store())], call)]
    else:
        grads = f"{helper}_gradients"

        class Substitute(ast.NodeTransformer):
            def visit_Call(self, node):
                return ast.Name(grads, ast.Load()) if node is gradient else self.generic_visit(node)

        statements = [
            ast.Assign([ast.Tuple([ast.Name(target, ast.Store()), ast.Name(grads, ast.Store())],
                                  ast.Store())], call),
            Substitute().visit(grad_stmt),
        ]
    for new in statements:
        ast.copy_location(new, stmt)
        ast.fix_missing_locations(new)
    return statements


def _tape_of(parsed, stmt, is_tape_class, resolved):
    """(tape name, options) of ``with <GradientTape>(options) as tape:``."""
    if not isinstance(stmt, ast.With) or len(stmt.items) != 1:
        raise NotLiftable("not a with statement of one tape")
    item = stmt.items[0]
    ctor = item.context_expr
    if not isinstance(ctor, ast.Call) or not isinstance(item.optional_vars, ast.Name) or ctor.args:
        raise NotLiftable("not `with <tape>(...) as name`")
    obj = parsed.resolve(ctor.func)
    if obj is LOCAL or obj is UNRESOLVED or not is_tape_class(obj):
        raise NotLiftable("not a GradientTape")
    resolved[ast.unparse(ctor.func)] = obj
    options = {}
    for keyword in ctor.keywords:
        if keyword.arg not in _TAPE_OPTIONS or not isinstance(keyword.value, ast.Constant) \
                or not isinstance(keyword.value.value, bool):
            raise NotLiftable("a tape option other than constant persistent/watch_accessed_variables")
        options[keyword.arg] = keyword.value.value
    return item.optional_vars.id, options


def _gradient_call(stmt, tape):
    """The one ``tape.gradient(target, sources)`` call of the statement after
    the block; it must be evaluated whenever the statement is (so computing
    it first changes nothing)."""
    if not isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return, ast.Expr)):
        raise NotLiftable("the block is not followed by a simple statement")
    uses = [n for n in ast.walk(stmt) if isinstance(n, ast.Name) and n.id == tape]
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr == "gradient"
             and isinstance(n.func.value, ast.Name) and n.func.value.id == tape]
    if len(calls) != 1 or len(uses) != 1:
        raise NotLiftable("the block is not followed by one `tape.gradient(...)`")
    call = calls[0]
    for node in ast.walk(stmt):
        if isinstance(node, (ast.IfExp, ast.BoolOp, ast.Lambda, ast.ListComp, ast.SetComp,
                             ast.DictComp, ast.GeneratorExp)) \
                and any(n is call for n in ast.walk(node)):
            raise NotLiftable("tape.gradient evaluated conditionally")
    if len(call.args) != 2 or call.keywords:
        raise NotLiftable("tape.gradient with options")
    target, sources = call.args
    if not isinstance(target, ast.Name) or flat_names(sources) is None:
        raise NotLiftable("the target is not a name or the sources are not names")
    return call


def _split_watches(body, tape):
    """(watched names, other statements); watches must come first."""
    watched, statements = [], []
    for stmt in body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) \
                and isinstance(call.func.value, ast.Name) and call.func.value.id == tape:
            names = flat_names(call.args[0]) if len(call.args) == 1 and not call.keywords else None
            if call.func.attr != "watch" or names is None or statements:
                raise NotLiftable("a tape call other than watch(names) before the computation")
            watched += names
        elif isinstance(stmt, (ast.Assign, ast.AugAssign)):
            statements.append(stmt)
        else:
            raise NotLiftable(f"a {type(stmt).__name__} statement in the block")
    if not statements:
        raise NotLiftable("an empty block")
    return watched, statements


def _function_def(name, params, body, origin):

    args = ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params], vararg=None,
                         kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    tree = function_def(name, args, body, origin.lineno)
    tree.end_lineno = max(getattr(n, "end_lineno", 0) or 0 for s in body for n in ast.walk(s))
    return ast.fix_missing_locations(tree)


class _Lowering:
    """Rewrites a block's statements into plain NumPy code, or NotLiftable."""

    def __init__(self, parsed, lower_call, resolved):
        self.parsed = parsed
        self.lower_call = lower_call
        self.resolved = resolved
        #: names read before the block assigns them, in order of first read
        self.inputs = []
        self.assigned = set()
        #: name -> object for what lowered calls refer to
        self.helpers = {}
        #: assigned name -> the inputs its value is computed from
        self.depends = {}
        #: for each lowered front-end call (``tf.exp(v)``): the inputs its
        #: arguments are computed from
        self.converting_calls = []

    def statement(self, stmt):
        if isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise NotLiftable("an assignment to something other than one name")
            value = self.expr(stmt.value)
            name = stmt.targets[0].id
            self.depends[name] = self.inputs_read([stmt.value])
        else:
            if not isinstance(stmt.target, ast.Name) or not isinstance(stmt.op, _LIFTED_OPERATORS):
                raise NotLiftable("an augmented assignment other than `name op= value`")
            name = stmt.target.id
            value = ast.BinOp(self.expr(ast.Name(name, ast.Load())), stmt.op, self.expr(stmt.value))
            self.depends[name] = self.inputs_read([stmt.target, stmt.value])
        self.assigned.add(name)
        return ast.copy_location(ast.Assign([ast.Name(name, ast.Store())], value), stmt)

    def expr(self, node):
        """``node`` lowered, every new part placed at ``node``'s position."""
        lowered = self._expr(node)
        if hasattr(node, "lineno"):
            for part in ast.walk(lowered):
                if "lineno" in part._attributes and not hasattr(part, "lineno"):
                    ast.copy_location(part, node)
        return lowered

    def _expr(self, node):
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float):
                raise NotLiftable(f"the constant {node.value!r}")
            return ast.Constant(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.assigned and node.id not in self.inputs:
                self.inputs.append(node.id)
            return ast.Name(node.id, ast.Load())
        if isinstance(node, ast.BinOp) and isinstance(node.op, _LIFTED_OPERATORS):
            return ast.BinOp(self.expr(node.left), node.op, self.expr(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return ast.UnaryOp(node.op, self.expr(node.operand))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, (ast.List, ast.Tuple)):
            return type(node)([self.expr(e) for e in node.elts], ast.Load())
        if isinstance(node, ast.Subscript):
            return ast.Subscript(self.expr(node.value), _constant_index(node.slice), ast.Load())
        raise NotLiftable(f"the expression {ast.unparse(node)}")

    def call(self, node):
        obj = self.function(node.func)
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords):
            raise NotLiftable("*args or **kwargs in a call")
        if not _reads_names(node.args):
            # tf.sin(2.0) is a float32 tensor, np.sin(2.0) a float64: only
            # calls on values the block reads mean the same on both
            raise NotLiftable(f"a call on constants only: {ast.unparse(node)}")
        args = [self.expr(a) for a in node.args]
        keywords = {k.arg: k.value for k in node.keywords}
        lowered = self.lower_call(obj, args, keywords, self.refer)
        if lowered is not None:
            self.converting_calls.append(self.inputs_read(node.args))
        else:
            if registry.lookup(obj) is None:
                raise NotLiftable(f"a call to {ast.unparse(node.func)}, which has no rule")
            lowered = ast.Call(copy.deepcopy(node.func), args,
                               [ast.keyword(k, self.expr(v)) for k, v in keywords.items()])
        return lowered

    def inputs_read(self, nodes):
        """The block inputs the values of ``nodes`` are computed from."""
        found = set()
        for node in nodes:
            for n in ast.walk(node):
                if isinstance(n, ast.Name):
                    found |= self.depends.get(n.id, {n.id})
        return frozenset(found)

    def function(self, func):
        """The object a called Name/Attribute chain denotes (never a local)."""
        obj = self.parsed.resolve(func)
        if obj is LOCAL or obj is UNRESOLVED or isinstance(obj, types.ModuleType):
            raise NotLiftable(f"cannot tell what {ast.unparse(func)} calls")
        self.resolved[ast.unparse(func)] = obj
        return obj

    def refer(self, obj, preferred):
        """A Name the lowered code uses for ``obj``: the user's own name for it
        when it has one, else a closure cell of the block."""
        if self.parsed.resolve(ast.Name(preferred, ast.Load())) is obj:
            self.resolved[preferred] = obj
            return ast.Name(preferred, ast.Load())
        for name, value in self.helpers.items():
            if value is obj:
                return ast.Name(name, ast.Load())
        name = preferred
        while name in self.helpers or name in self.parsed.local_names \
                or name in self.parsed.closure or name in self.parsed.globals:
            name += "_"
        self.helpers[name] = obj
        return ast.Name(name, ast.Load())


def _reads_names(nodes):
    return any(isinstance(n, ast.Name) for node in nodes for n in ast.walk(node))


def _constant_index(node):
    """A subscript index made of integer constants, slices and Ellipsis."""
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and not (type(n.value) is int or n.value in (None, Ellipsis)):
            raise NotLiftable(f"the index {ast.unparse(node)}")
        if not isinstance(n, (ast.Constant, ast.Slice, ast.Tuple, ast.UnaryOp, ast.USub,
                              ast.Load)):
            raise NotLiftable(f"the index {ast.unparse(node)}")
    return copy.deepcopy(node)
