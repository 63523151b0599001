"""Parse stage: a Python function object -> its AST and a name resolver.

Output guarantees: ``ParsedFunction.tree`` is an ``ast.FunctionDef`` with no
decorators whose line numbers are the user's own (file lines), and
``ParsedFunction.resolve`` maps a name or dotted expression in its body to
the object it denotes (closure cell, global, builtin), so later stages find
rules by identity, never by spelling.
"""

import ast
import builtins
import inspect
import linecache
import textwrap
from dataclasses import dataclass, field

from s2sgrad.errors import S2SGradError, UnsupportedSyntaxError
from s2sgrad.ir.nodes import function_def

#: Marker for "this name is a local of the function" / "cannot resolve".
LOCAL = object()
UNRESOLVED = object()


@dataclass
class ParsedFunction:
    """A user function's AST plus what its free names refer to."""

    function: object
    tree: ast.FunctionDef
    filename: str
    source_lines: list
    globals: dict
    closure: dict = field(default_factory=dict)
    local_names: frozenset = frozenset()

    def resolve(self, node):
        """The object a Name/Attribute chain denotes, LOCAL or UNRESOLVED."""
        if isinstance(node, ast.Name):
            name = node.id
            if name in self.local_names:
                return LOCAL
            if name in self.closure:
                try:
                    return self.closure[name].cell_contents
                except ValueError:
                    return UNRESOLVED
            if name in self.globals:
                return self.globals[name]
            if hasattr(builtins, name):
                return getattr(builtins, name)
            return UNRESOLVED
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            if base is LOCAL or base is UNRESOLVED:
                return base
            return getattr(base, node.attr, UNRESOLVED)
        return UNRESOLVED

    def derived(self, tree, helpers=None):
        """A function built from this one's source: same file, globals and
        closure, plus ``helpers`` (name -> object) as closure cells of its own."""
        import types

        closure = dict(self.closure)
        closure.update({name: types.CellType(obj) for name, obj in (helpers or {}).items()})
        return ParsedFunction(
            function=None, tree=tree, filename=self.filename, source_lines=self.source_lines,
            globals=self.globals, closure=closure, local_names=frozenset(_local_names(tree)))

    def error(self, construct, node, hint=None, stage="parse", kind=UnsupportedSyntaxError):
        """An UnsupportedSyntaxError (or subclass ``kind``) pointing at ``node``
        in the user's file."""
        return kind(construct, self.filename, getattr(node, "lineno", None), stage, hint)


def parse_function(function):
    """Parse ``function`` (a plain Python function) into a ParsedFunction."""
    if not inspect.isfunction(function):
        raise TypeError(
            f"s2sgrad differentiates Python functions; got {type(function).__name__} "
            f"{function!r}"
        )
    code = function.__code__
    filename = code.co_filename
    try:
        lines, first = inspect.getsourcelines(function)
    except (OSError, TypeError) as exc:
        raise S2SGradError(
            f"cannot read the source of {function.__qualname__} ({filename}): {exc}; "
            "s2sgrad needs functions defined in a file (or registered with linecache)"
        ) from None
    first = max(first, 1)
    source = textwrap.dedent("".join(lines))
    if function.__name__ == "<lambda>":
        tree = _lambda_tree(function, source, filename, first)
    else:
        module = ast.parse(source)
        tree = module.body[0]
        if not isinstance(tree, (ast.FunctionDef, ast.AsyncFunctionDef)):
            raise UnsupportedSyntaxError(
                f"function source of {function.__qualname__}", filename, first, "parse"
            )
        ast.increment_lineno(tree, first - 1)
    if isinstance(tree, ast.AsyncFunctionDef):
        raise UnsupportedSyntaxError("async def", filename, tree.lineno, "parse")
    tree.decorator_list = []
    closure = dict(zip(code.co_freevars, function.__closure__ or ()))
    all_lines = linecache.getlines(filename, function.__globals__) or lines
    return ParsedFunction(
        function=function,
        tree=tree,
        filename=filename,
        source_lines=list(all_lines),
        globals=function.__globals__,
        closure=closure,
        local_names=frozenset(_local_names(tree)),
    )


def _lambda_tree(function, source, filename, first):
    """The lambda on the function's first line, rewritten as a ``def``."""
    module = ast.parse(source.strip().rstrip(","), mode="exec") if _parses(source) else None
    lambdas = [] if module is None else [n for n in ast.walk(module) if isinstance(n, ast.Lambda)]
    params = function.__code__.co_varnames[: function.__code__.co_argcount]
    lambdas = [
        lam for lam in lambdas if [a.arg for a in lam.args.args] == list(params)
    ]
    if len(lambdas) != 1:
        raise UnsupportedSyntaxError(
            "a lambda that is not alone on its line", filename, first, "parse",
            "define the function with def",
        )
    lam = lambdas[0]

    tree = function_def("lambda_", lam.args, [ast.Return(lam.body, lineno=lam.lineno)], lam.lineno)
    ast.fix_missing_locations(tree)
    ast.increment_lineno(tree, first - 1)
    return tree


def _parses(source):
    try:
        ast.parse(source.strip())
        return True
    except SyntaxError:
        return False


def _local_names(tree):
    """Every name the function binds: parameters and assignment targets."""
    args = tree.args
    names = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    if args.vararg:
        names.add(args.vararg.arg)
    if args.kwarg:
        names.add(args.kwarg.arg)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node is not tree:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names
