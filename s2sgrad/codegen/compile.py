"""Compile stage: generated source -> a live Python function.

The source is registered in ``linecache`` under a pseudo-filename, so
tracebacks show generated lines and ``inspect.getsource`` works on the
result — which is what lets ``grad`` read and differentiate generated code
again. The function runs in the user's module globals (globals stay live)
and shares the user's closure cells; the helpers the generated code needs
(NumPy under a free name, runtime helpers, rule constants) are closure
cells of their own.
"""

import zlib
import linecache
import textwrap
import types

FACTORY = "__s2sgrad_factory__"


class CompiledCode:
    """A compiled generated function, ready to bind to a user function."""

    def __init__(self, source, name, helpers, label, closure_names=()):
        self.source = source
        self.name = name
        self.helpers = dict(helpers)
        digest = f"{zlib.crc32(source.encode()):08x}{len(source):x}"
        self.filename = f"<s2sgrad {label} {digest}>"
        params = ", ".join(sorted(set(self.helpers) | set(closure_names)))
        text = f"def {FACTORY}({params}):\n{textwrap.indent(source, '    ')}    return {name}\n"
        linecache.cache[self.filename] = (len(text), None, text.splitlines(True), self.filename)
        factory = compile(text, self.filename, "exec")
        (factory_code,) = [c for c in factory.co_consts if isinstance(c, types.CodeType)]
        (self.code,) = [
            c for c in factory_code.co_consts if isinstance(c, types.CodeType) and c.co_name == name
        ]
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
