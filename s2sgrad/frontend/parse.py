"""Parse stage: a Python function object -> its AST and a name resolver.

Output guarantees: ``ParsedFunction.tree`` is an ``ast.FunctionDef`` with no
decorators whose line numbers are the user's own (file lines), and
``ParsedFunction.resolve`` maps a name or dotted expression in its body to
the object it denotes (closure cell, global, builtin), so later stages find
rules by identity, never by spelling. The source is the source of the code
running now: text found for a function (``inspect`` reads its file again
when the file changed on disk) that does not compile to the function's own
code is refused, never differentiated in its place.
"""

import __future__

import ast
import builtins
import dis
import inspect
import linecache
import textwrap
import types
from dataclasses import dataclass, field, replace

from s2sgrad.errors import (S2SGradError, SourceUnavailableError, UnsupportedSyntaxError,
                            reports_at_user_lines)
from s2sgrad.ir.nodes import function_def
from s2sgrad.ir.nodes import walk

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

    @property
    def generated(self):
        """True for code s2sgrad generated (a gradient read again), whose
        compiled file name is ``<s2sgrad ...>``."""
        return self.filename.startswith("<s2sgrad ")

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

        closure = dict(self.closure)
        closure.update({name: types.CellType(obj) for name, obj in (helpers or {}).items()})
        return ParsedFunction(
            function=None, tree=tree, filename=self.filename, source_lines=self.source_lines,
            globals=self.globals, closure=closure, local_names=frozenset(_local_names(tree)))

    def with_tree(self, tree):
        """This function with its body rewritten as ``tree`` (same source)."""
        return replace(self, tree=tree, local_names=frozenset(_local_names(tree)))

    def error(self, construct, node, hint=None, stage="parse", kind=UnsupportedSyntaxError):
        """An UnsupportedSyntaxError (or subclass ``kind``) pointing at ``node``
        in the user's file."""
        return kind(construct, self.filename, getattr(node, "lineno", None), stage, hint)


def plain_parameters(tree):
    """The parameters of the function definition ``tree`` it never assigns."""
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
              and not isinstance(n.ctx, ast.Load)}
    return {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs} - stored


def parse_function(function):
    """Parse ``function`` (a plain Python function) into a ParsedFunction."""
    if not inspect.isfunction(function):
        raise TypeError(
            f"s2sgrad differentiates Python functions; got {type(function).__name__} "
            f"{function!r}"
        )
    code = function.__code__
    filename = code.co_filename
    found = _code_source(function)
    # (generated code whose compiled body reports errors at the user's lines
    # is its registered source plus a handler the text does not show: its
    # lines, registered once under a name of their own, never change)
    generated = reports_at_user_lines(filename)
    if found is not None and not generated and _compiles_to(function, found[0], found[1]) is False:
        found = None  # (code the compiler dropped, unreachable at the end: read the block)
    if found is None:
        try:
            # (the code's own source: inspect would follow a decorator's
            # __wrapped__ to the inner function, which is not what is called)
            lines, first = inspect.getsourcelines(code)
        except (OSError, TypeError):
            raise source_unavailable(function) from None
        found = textwrap.dedent("".join(lines)), max(first, 1), lines
        matches = generated or _compiles_to(function, found[0], found[1])
    else:
        matches = True
    source, first, lines = found
    if matches is False:
        raise S2SGradError(
            f"the source of {function.__qualname__} in {filename} no longer matches the "
            f"running function: the file changed since it was imported (reload the module, "
            f"or call the new definition)")
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


def _code_source(function):
    """(dedented text, first line, lines) of ``function``'s ``def`` read from the
    lines its code spans, or None (then ``inspect`` looks for it).

    The code objects know the lines they span (Python 3.11+): reading just
    those from ``linecache`` (checked against the file first, as ``inspect``
    does) is much cheaper than ``inspect.getsourcelines``, which first maps
    every loaded module to its file. A lambda, or text that does not parse
    to a ``def`` of the function's name, is left to ``inspect``; so is text
    that does not compile to the function's code (statements the compiler
    dropped, unreachable at the end, span no line of the code).
    """
    code = function.__code__
    if code.co_name == "<lambda>" or not hasattr(code, "co_positions"):
        return None
    last = max((end for c in _code_objects(code) for _, end, _, _ in c.co_positions()
                if end is not None), default=None)
    linecache.checkcache(code.co_filename)
    lines = linecache.getlines(code.co_filename, function.__globals__)
    first = code.co_firstlineno
    if last is None or not lines or not 0 < first <= last <= len(lines):
        return None
    lines = lines[first - 1:last]
    text = textwrap.dedent("".join(lines))
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    if not tree.body or not isinstance(tree.body[0], (ast.FunctionDef, ast.AsyncFunctionDef)) \
            or tree.body[0].name != code.co_name:
        return None
    return text, first, lines


#: the pseudo-file names of interactive prompts that keep no source
_PROMPTS = ("<stdin>", "<console>")


def source_unavailable(function):
    """The error for a function whose source cannot be read, saying how to
    make it available. s2sgrad reads source through ``linecache``: a file,
    or text registered there under the code's file name (IPython and
    Jupyter cells and the Python 3.13 REPL register theirs)."""
    filename = function.__code__.co_filename
    where = f"{function.__qualname__} ({filename}:{function.__code__.co_firstlineno})"
    register = ("linecache.cache[NAME] = (len(text), None, text.splitlines(True), NAME); "
                "exec(compile(text, NAME, 'exec'), namespace)")
    if filename in _PROMPTS:
        how = ("it was typed at an interactive prompt that keeps no source (the Python REPL "
               "before 3.13); define it in a file and import it, or use IPython, Jupyter or "
               "the Python 3.13 REPL, which keep the source of what is typed")
    elif filename.startswith("<") and filename.endswith(">"):
        how = ("it was built from a string (exec or compile) whose text is not registered in "
               f"linecache; register it before exec: {register}, with NAME a name of your own "
               "such as '<my-model>'")
    else:
        how = ("its file cannot be read (moved or deleted since it was imported?); define it "
               "in a file that exists, or register its text in linecache under that name")
    return SourceUnavailableError(f"the source of {where} is not available: {how}")


def called_function(function):
    """The function a call of ``function`` runs: ``function`` itself, or,
    through a decorator's wrapper whose whole body is provably
    ``return inner(*args, **kwargs)`` (``inner`` a closure cell or global
    holding a plain function), what that wrapper calls. Any other wrapper is
    what runs, and is differentiated (or refused) as itself."""
    seen = set()
    # (generated code behind a check of the user's except clauses: see pipeline.bind)
    function = getattr(function, "__s2sgrad_generated__", function)
    while inspect.isfunction(function) and function.__code__ not in seen:
        seen.add(function.__code__)
        inner = _passed_through(function)
        if inner is None:
            return function
        function = inner
    return function


def _passed_through(function):
    """The function ``function``'s body forwards all its arguments to, or None."""
    code = function.__code__
    flags = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
    if code.co_flags & flags != flags or code.co_argcount or code.co_kwonlyargcount \
            or code.co_posonlyargcount or function.__name__ == "<lambda>":
        return None
    try:
        tree = ast.parse(textwrap.dedent("".join(inspect.getsourcelines(code)[0]))).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return None
    if not isinstance(tree, ast.FunctionDef):
        return None
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # a docstring
    star, double = code.co_varnames[0], code.co_varnames[1]
    if len(body) != 1 or not isinstance(body[0], ast.Return):
        return None
    call = body[0].value
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and len(call.args) == 1 and isinstance(call.args[0], ast.Starred)
            and isinstance(call.args[0].value, ast.Name) and call.args[0].value.id == star
            and len(call.keywords) == 1 and call.keywords[0].arg is None
            and isinstance(call.keywords[0].value, ast.Name)
            and call.keywords[0].value.id == double):
        return None
    name = call.func.id
    cells = dict(zip(code.co_freevars, function.__closure__ or ()))
    try:
        inner = cells[name].cell_contents if name in cells else function.__globals__.get(name)
    except ValueError:
        return None
    return inner if inspect.isfunction(inner) else None


def _lambda_tree(function, source, filename, first):
    """The lambda on the function's first line, rewritten as a ``def``."""
    module = ast.parse(source.strip().rstrip(","), mode="exec") if _parses(source) else None
    lambdas = [] if module is None else [n for n in walk(module) if isinstance(n, ast.Lambda)]
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


#: the compiler flags ``from __future__`` imports set (they show in co_flags)
_FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag

#: the co_flags that say how a function is called and what it returns
_KIND_FLAGS = (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS | inspect.CO_GENERATOR
               | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR)


def _compiles_to(function, source, first):
    """True when ``source`` (the dedented text found for ``function``,
    starting at file line ``first``) compiles, in a scope like its own, to a
    code object of the same shape as ``function.__code__`` (see
    :func:`_shape`); None when a lambda's text does not compile alone (the
    lambda parser says why).

    The scope is rebuilt around the text: the free variables become
    parameters of an enclosing function (so they compile as cells, not
    globals), a method sits in a class of its class's name (``super()`` and
    name mangling), the globals holding modules are imported (CPython
    compiles ``np.sin(x)`` differently when ``np`` was imported); blank lines
    put the text at its own line numbers. Instructions are compared exactly
    first, and with what the scope may still change removed when that fails.
    """
    code = function.__code__
    qualname = getattr(code, "co_qualname", function.__qualname__)
    free = [name for name in code.co_freevars if name != "__class__"]
    owner = qualname.split(".")[-2:-1]
    modules = sorted({name for c in _code_objects(code) for name in c.co_names
                      if isinstance(function.__globals__.get(name), types.ModuleType)})
    header = [f"import {', '.join(modules)}"] if modules else []
    depth = 0
    if free:
        header.append(f"def __s2sgrad_scope__({', '.join(free)}):")
        depth += 1
    if owner and owner[0] != "<locals>":
        header.append(" " * depth + f"class {owner[0]}:")
        depth += 1
    padding = max(first - 1 - len(header), 0)
    is_lambda = code.co_name == "<lambda>"
    body = source.strip().rstrip(",") + "\n" if is_lambda else source
    text = "\n".join(header) + "\n" * (padding + bool(header)) + textwrap.indent(
        body, " " * depth)
    try:
        compiled = compile(text, code.co_filename, "exec",
                           flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True)
    except SyntaxError:
        return None if is_lambda else False
    shift = first - 1 - padding - len(header)  # 0 unless the text had no room above it
    found = [c for c in _code_objects(compiled) if c.co_name == code.co_name]
    for instructions in (_exact_instructions, _instructions):
        wanted = _shape(code, code.co_firstlineno, instructions)
        if any(_shape(c, c.co_firstlineno + shift, instructions) == wanted for c in found):
            return True
    return False


def _code_objects(code):
    """``code`` and every code object nested in it."""
    yield code
    for const in code.co_consts:
        if inspect.iscode(const):
            yield from _code_objects(const)


def _shape(code, firstlineno, instructions):
    """What of ``code`` its source determines: ``instructions(code)``,
    names, constants (nested code by its shape), argument layout and first
    line ``firstlineno``, not the file or the scope it was built in."""
    return (
        firstlineno, instructions(code), code.co_argcount, code.co_posonlyargcount,
        code.co_kwonlyargcount, code.co_flags & _KIND_FLAGS, code.co_varnames, code.co_names,
        code.co_freevars, code.co_cellvars,
        tuple(_shape(c, c.co_firstlineno - code.co_firstlineno, instructions)
              if inspect.iscode(c) else (type(c).__name__, repr(c)) for c in code.co_consts),
    )


def _exact_instructions(code):
    """The bytecode and its lines (from the first), without columns."""
    first = code.co_firstlineno
    return code.co_code, tuple((start, line and line - first)
                               for start, _, line in code.co_lines())


#: instructions whose presence depends on how a name was bound in the module
#: (CPython calls ``module.f()`` with LOAD_ATTR, not LOAD_METHOD, when
#: ``module`` was imported at module level), or that carry no meaning
_SCOPE_DEPENDENT = {"CACHE", "EXTENDED_ARG", "PUSH_NULL", "NOP"}


def _instructions(code):
    """``code``'s instructions as (operation, argument, line from the first),
    with the differences the enclosing module's imports make removed."""
    found, position = [], {}
    for i in dis.get_instructions(code):
        position[i.offset] = len(found)  # a jump to a dropped one goes to the next kept
        if i.opname not in _SCOPE_DEPENDENT:
            found.append(i)
    jumps = set(dis.hasjrel) | set(dis.hasjabs)
    first = code.co_firstlineno
    shape = []
    for i in found:
        if i.opcode in jumps:
            arg = position.get(i.argval, i.argval)
        elif i.opname == "LOAD_CONST":
            arg = i.arg
        else:
            arg = i.argval
        positions = getattr(i, "positions", None)
        line = positions.lineno if positions is not None else i.starts_line
        shape.append(("LOAD_ATTR" if i.opname == "LOAD_METHOD" else i.opname, arg,
                      line and line - first))
    return tuple(shape)


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
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node is not tree:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names
