"""Derivative rules as templates: a rule's body, instantiated at one call site.

A rule is a straight-line ``def`` (see ``s2sgrad.primitives.registry``); here its
source is parsed once and its parameters are replaced by the atoms of the
statement being differentiated, its locals by fresh names and its globals
by the names the generated code uses for the same objects. This is what
makes the generated adjoint read like hand-written NumPy instead of a chain
of calls to rule functions.

Output guarantees: an instantiated template is the rule's own expressions
with its parameters replaced by the call site's atoms, its locals by fresh
names and its globals by names of the same objects; a rule that is not a
straight-line ``def`` ending in a tuple raises S2SGradError (the caller then
calls it as a function).
"""

import ast
import builtins
import functools
import inspect
import textwrap

from s2sgrad.errors import S2SGradError
# (instantiating templates is most of the work of generating a gradient:
# hand-written copies, not deepcopy plus a transformer)
from s2sgrad.ir.nodes import substitute as _substitute
from s2sgrad.ir.nodes import walk


class Template:
    """A parsed rule: parameters, local assignments, returned expressions."""

    def __init__(self, rule):
        fn = rule.vjp
        self.rule = rule
        self.signature = inspect.signature(fn)
        names = list(self.signature.parameters)
        if names[:2] != ["g", "ans"]:
            raise S2SGradError(f"rule {fn.__qualname__} must start with (g, ans, ...)")
        self.params = names[2:]
        #: the ``*args`` parameter (``np.einsum``'s operands), or None: it
        #: stands for the tuple of those arguments, and its entry in the
        #: returned tuple is a list with one cotangent per argument
        self.vararg = next((p.name for p in self.signature.parameters.values()
                            if p.kind is p.VAR_POSITIONAL), None)
        tree = _function_node(fn)
        *assignments, ret = tree.body
        if assignments and isinstance(assignments[0], ast.Expr):
            assignments = assignments[1:]  # docstring
        if not isinstance(ret, ast.Return) or ret.value is None:
            raise S2SGradError(f"rule {fn.__qualname__} must end with return (a tuple)")
        if isinstance(ret.value, (ast.Tuple, ast.List)):
            returned = ret.value.elts
        elif returns_bare(fn, tree):
            returned = [ret.value]  # (a one-argument rule may return its gradient alone)
        else:
            raise S2SGradError(f"rule {fn.__qualname__} must end with return (a tuple)")
        for a in assignments:
            if not (isinstance(a, ast.Assign) and len(a.targets) == 1
                    and isinstance(a.targets[0], ast.Name)):
                raise S2SGradError(f"rule {fn.__qualname__}: straight-line assignments only")
        self.assignments = assignments
        self.returns = [None if _is_none(e) else e for e in returned]
        self.locals = {a.targets[0].id for a in assignments}
        bound = set(names) | self.locals
        nodes = walk(tree)
        self.free = sorted(
            {n.id for n in nodes if isinstance(n, ast.Name) and n.id not in bound}
            - {"None", "True", "False"}
        )
        self.globals = fn.__globals__
        #: the rule's closure cells by name (a rule a factory made)
        self.cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        #: whether the rule asks np.size / np.shape / np.ndim (foldable)
        self.queries_shapes = any(
            isinstance(n, ast.Attribute) and n.attr in ("size", "shape", "ndim")
            for n in nodes)
        #: whether the rule indexes its cotangent (``g[index]``): a literal
        #: cotangent must be spread over ``ans`` first (``(1.0)[0]`` is no code)
        self.indexes_g = any(
            isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == "g"
            for n in nodes)
        #: what the rule refuses to differentiate, when its body calls a
        #: helper marked ``refuses_derivative`` (``no_second_order("np.linalg.svd")``):
        #: "a second derivative of np.linalg.svd", refused where it is built
        self.refusal = next((
            f"a second derivative of {n.args[0].value}" for n in nodes
            if isinstance(n, ast.Call) and n.args and isinstance(n.args[0], ast.Constant)
            and getattr(self.free_path(n.func), "refuses_derivative", False) is True), None)

    def free_object(self, name):
        """The object a free name of the rule body denotes (its closure,
        globals, builtins)."""
        cell = self.cells.get(name)
        if cell is not None:
            try:
                return cell.cell_contents
            except ValueError:
                pass
        elif name in self.globals:
            return self.globals[name]
        elif hasattr(builtins, name):
            return getattr(builtins, name)
        raise S2SGradError(f"rule {self.rule.vjp.__qualname__} reads {name!r}, which is "
                           "not defined where the rule is")

    def free_path(self, node):
        """The object a free name or dotted name of the body denotes, or None."""
        if isinstance(node, ast.Name):
            return self.free_object(node.id) if node.id in self.free else None
        if isinstance(node, ast.Attribute):
            return getattr(self.free_path(node.value), node.attr, None)
        return None

    def bind(self, args, keywords):
        """Map rule parameters to call-site values (ast nodes or defaults).

        Raises TypeError when the call does not fit the rule's signature.
        """
        bound = self.signature.bind(None, None, *args, **keywords)
        bound.apply_defaults()
        values = dict(bound.arguments)
        values.pop("g")
        values.pop("ans")
        return values

    def instantiate(self, values, wanted):
        """Statements and per-parameter expressions for the wanted gradients.

        ``values`` maps every name of the rule (g, ans, params, locals,
        free globals) to the ast expression replacing it; ``wanted`` lists
        parameter indices whose gradients are needed. Returns (statements,
        {index: expression}) with only the local assignments those
        expressions read.
        """
        exprs = {}
        for i in wanted:
            if i < len(self.returns) and self.returns[i] is not None:
                exprs[i] = _substitute(self.returns[i], values)
        needed = set()
        for e in exprs.values():
            needed |= _names(e)
        statements = []
        for a in reversed(self.assignments):
            local = a.targets[0].id
            if values[local].id in needed:
                value = _substitute(a.value, values)
                needed |= _names(value)
                statements.append(ast.Assign([ast.Name(values[local].id, ast.Store())], value))
        statements.reverse()
        return statements, exprs


@functools.lru_cache(maxsize=None)
def _module_functions(filename):
    """Every ``def`` of a rules module (nested ones too: a rule a factory
    makes), by name (one parse per file: ``inspect.getsource`` per rule
    would tokenise the file again each time)."""
    import linecache

    source = "".join(linecache.getlines(filename))
    if not source:
        return {}
    nodes = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef):
            nodes.setdefault(node.name, []).append(node)
    return nodes


def _function_node(fn):
    """The ``FunctionDef`` of ``fn`` (a rule).

    Parsing just the lines of the ``def`` is much cheaper than
    ``inspect.getsource`` (which tokenises) or a parse of the whole module:
    they are found by indentation from the code's first line, else from the
    lines its code spans (Python 3.11+), else the module is parsed.
    """
    import linecache

    code = fn.__code__
    lines = linecache.getlines(code.co_filename)
    block = _indented_block(lines, code.co_firstlineno - 1)
    if block:
        try:
            node = ast.parse(textwrap.dedent(block)).body[0]
        except SyntaxError:
            node = None
        if isinstance(node, ast.FunctionDef) and node.name == fn.__name__:
            return node
    positions = getattr(code, "co_positions", None)
    if positions is not None:
        last = max((end for _, end, _, _ in positions() if end is not None), default=None)
        lines = linecache.getlines(code.co_filename)
        if last is not None and lines:
            text = textwrap.dedent("".join(lines[code.co_firstlineno - 1:last]))
            try:
                node = ast.parse(text).body[0]
            except SyntaxError:
                node = None
            if isinstance(node, ast.FunctionDef) and node.name == fn.__name__:
                return node
    for node in _module_functions(code.co_filename).get(fn.__name__, ()):
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        if first <= code.co_firstlineno <= node.lineno:
            return node
    return ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]


def _indented_block(lines, first):
    """The text from ``lines[first]`` (a ``def``'s first line, or its first
    decorator's) to the end of the ``def``: its decorators, its line, and
    the lines after it indented deeper (blank and comment lines included).
    Found without reading the code's positions; the caller parses it and
    checks the result (a block cut short inside a string or brackets does
    not parse), and "" when no ``def`` follows the decorators."""
    if not 0 <= first < len(lines):
        return ""
    head = lines[first]
    indent = len(head) - len(head.lstrip())
    start = first
    while start < len(lines) and not lines[start].lstrip().startswith(("def ", "async def ")):
        start += 1
    if start == len(lines) or len(lines[start]) - len(lines[start].lstrip()) != indent:
        return ""
    end = start + 1
    while end < len(lines):
        line = lines[end]
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#") and len(line) - len(stripped) <= indent:
            break
        end += 1
    return "".join(lines[first:end])


def returns_bare(fn, tree=None):
    """Whether rule ``fn`` of one argument returns that argument's gradient
    itself, not in a tuple: True when every ``return`` is an expression that
    cannot be a tuple display, False when every one is a tuple or list
    display, None when that cannot be told from the source (a returned name
    may hold either). Rules of several arguments return tuples: False."""
    params = [p for p in inspect.signature(fn).parameters.values()][2:]
    if len(params) != 1 or params[0].kind in (params[0].VAR_POSITIONAL, params[0].VAR_KEYWORD):
        return False
    if tree is None:
        try:
            tree = _function_node(fn)
        except (OSError, TypeError, SyntaxError, IndexError):
            return None
    values = [n.value for n in _own_returns(tree)]
    if values and all(isinstance(v, (ast.Tuple, ast.List)) for v in values):
        return False
    if values and all(isinstance(v, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Constant))
                      and not _is_none(v) for v in values):
        return True
    return None


def _own_returns(tree):
    """The ``return`` statements of function ``tree`` (not of functions inside it)."""
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            found.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))
    return found


@functools.lru_cache(maxsize=None)
def template_for(rule):
    return Template(rule)


def _is_none(e):
    return isinstance(e, ast.Constant) and e.value is None


def _names(e):
    return {n.id for n in walk(e) if isinstance(n, ast.Name)}
