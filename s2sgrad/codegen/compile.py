"""Compile stage: generated source -> a live Python function.

The source is registered in ``linecache`` under a pseudo-filename, so
tracebacks show generated lines and ``inspect.getsource`` works on the
result — which is what lets ``grad`` read and differentiate generated code
again. Each registration gets a name of its own (a per-process serial
number plus a digest of the text): two different sources never share a
name, so one derivative never reads another's source. The lines stay in
``linecache`` exactly as long as the generated code object lives (the cache
entry or any function bound to it, a traceback...); when the last one goes,
so do they. The function runs in the user's module globals (globals stay live)
and shares the user's closure cells; the helpers the generated code needs
(NumPy under a free name, runtime helpers, rule constants) are closure
cells of their own.

Output guarantees: the result is of the ``code`` stage (a compiled function
of the generated function's name) whose source ``linecache`` and
``inspect.getsource`` return while it lives; it runs in the globals and
closure it is bound to, with its helpers as its own cells.
"""

import ast
import hashlib
import itertools
import linecache
import textwrap
import types
import weakref

from s2sgrad.errors import at_user_lines, forget_origins, register_origins

FACTORY = "__s2sgrad_factory__"
#: the helpers the compiled code (not its source) uses to report an error
#: of the user's code at the user's line (see :func:`_reporting`)
REPORT, CAUGHT = "__s2sgrad_report__", "__s2sgrad_exception__"

_serial = itertools.count(1)


def _digest(text):
    """A short digest of ``text`` (part of its file name, for the reader)."""
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def register_source(label, text):
    """A pseudo-filename no other registration has, with ``text`` as its
    ``linecache`` lines (remove them with :func:`forget_with`)."""
    filename = f"<s2sgrad {label} #{next(_serial)} {_digest(text)}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    return filename


def forget_with(code, filename):
    """Drop ``filename``'s lines from ``linecache`` (and where they came
    from) when ``code`` is collected."""
    weakref.finalize(code, _forget, filename).atexit = False


def _forget(filename):
    linecache.cache.pop(filename, None)
    forget_origins(filename)


def _compiled(text, filename, name, reporting):
    """The module code of ``text``; with ``reporting``, the body of function
    ``name`` runs as ``try: <body> except Exception as e: report(e); raise``
    (the lines of ``text`` keep their numbers: the source shown and read
    again is ``text``, tracebacks point into it and the report maps them to
    the user's lines: :func:`s2sgrad.errors.at_user_lines`)."""
    if not reporting:
        return compile(text, filename, "exec")
    tree = ast.parse(text, filename)
    (fn,) = [s for s in tree.body[0].body if isinstance(s, ast.FunctionDef) and s.name == name]
    fn.body = [_reporting(fn)]
    return compile(tree, filename, "exec")


def _reporting(fn):
    """``fn``'s body inside a ``try`` whose handler reports the exception
    and re-raises it (a bare ``raise``: the traceback the report rewrote)."""
    error = "__s2sgrad_error__"
    handler = ast.ExceptHandler(ast.Name(CAUGHT, ast.Load()), error, [
        ast.Expr(ast.Call(ast.Name(REPORT, ast.Load()), [ast.Name(error, ast.Load())], [])),
        ast.Raise()])
    guarded = ast.Try(fn.body, [handler], [], [])
    ast.copy_location(guarded, fn)
    for node in ast.walk(guarded):  # (the new nodes at the def line; the body keeps its own)
        if not hasattr(node, "lineno") or node in (guarded, handler) or node in handler.body:
            ast.copy_location(node, fn)
    return ast.fix_missing_locations(guarded)


def _renamed(code, filename):
    """``code`` and the code objects in its constants, compiled from ``filename``."""
    consts = tuple(_renamed(c, filename) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


class CompiledCode:
    """A compiled generated function, ready to bind to a user function.

    ``factory`` (optional) is the module code compiled from this source
    before (``self.factory`` of an earlier CompiledCode, as the disk cache
    keeps it): it is used instead of compiling again. ``origins`` (optional)
    gives the user's ``(file, line)`` of each line of ``source``: errors
    raised while this code is read again name those."""

    def __init__(self, source, name, helpers, label, closure_names=(), factory=None, origins=None):
        self.source = source
        self.name = name
        self.helpers = dict(helpers)
        if origins:
            self.helpers.update({REPORT: at_user_lines, CAUGHT: Exception})
        params = ", ".join(sorted(set(self.helpers) | set(closure_names)))
        text = f"def {FACTORY}({params}):\n{textwrap.indent(source, '    ')}    return {name}\n"
        self.filename = register_source(label, text)
        if origins:  # (the factory's def line comes first)
            register_origins(self.filename, [None, *[tuple(o) if o else None for o in origins]])
        if factory is None:
            factory = _compiled(text, self.filename, name, reporting=bool(origins))
        else:
            factory = _renamed(factory, self.filename)
        #: the module code defining the factory (what the disk cache keeps)
        self.factory = factory
        (factory_code,) = [c for c in factory.co_consts if isinstance(c, types.CodeType)]
        (self.code,) = [
            c for c in factory_code.co_consts if isinstance(c, types.CodeType) and c.co_name == name
        ]
        forget_with(self.code, self.filename)
        self.helper_cells = {k: types.CellType(v) for k, v in self.helpers.items()}

    def bind(self, globals_, closure_cells, defaults=None, kwdefaults=None, qualname=None):
        """A function object running this code in the user's scope."""
        cells = []
        for name in self.code.co_freevars:
            cell = self.helper_cells.get(name) or closure_cells.get(name)
            if cell is None:
                raise RuntimeError(f"s2sgrad: no binding for free name {name!r}")
            cells.append(cell)
        fn = types.FunctionType(self.code, globals_, self.name, defaults, tuple(cells))
        if kwdefaults:
            fn.__kwdefaults__ = dict(kwdefaults)
        fn.__qualname__ = qualname or self.name
        fn.__s2sgrad_source__ = self.source
        return fn
