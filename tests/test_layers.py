"""The package's import structure: no cycles, and every layer imports only
its own layer and those below it.

The import graph is computed here from the sources (every ``import``, also
one inside a function body: a deferred import still makes the importer
depend on what it imports), so the test needs nothing outside the repository.
"""

import ast
from pathlib import Path

import s2sgrad

ROOT = Path(s2sgrad.__file__).parent

#: bottom to top; a module may import modules of its own layer and lower ones
LAYERS = (
    # the IR, the array backend, the helpers generated code calls, the rules
    ("s2sgrad.errors", "s2sgrad.ir", "s2sgrad.backend", "s2sgrad.runtime", "s2sgrad.primitives"),
    ("s2sgrad.frontend",),
    ("s2sgrad.transform",),
    ("s2sgrad.codegen",),
    ("s2sgrad.pipeline",),
    ("s2sgrad.api", "s2sgrad.tape", "s2sgrad.tf", "s2sgrad.optimizers", "s2sgrad.cli",
     "s2sgrad.__main__", "s2sgrad"),
)


def module_name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules():
    """Module name -> (path, is package) for every module of s2sgrad."""
    return {module_name(p): (p, p.name == "__init__.py") for p in sorted(ROOT.rglob("*.py"))}


def imports(tree, here, is_package, known):
    """The package's modules that ``tree`` imports (anywhere in its source)."""
    package = here if is_package else here.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            # ``from pkg import mod`` depends on mod, ``from pkg import name`` on pkg
            names = submodules if len(submodules) == len(node.names) else [base, *submodules]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != here:
                found.add(name)
    return found


def import_graph():
    known = modules()
    return {name: imports(ast.parse(path.read_text(encoding="utf-8")), name, is_package, set(known))
            for name, (path, is_package) in known.items()}


def cycles(graph):
    """Strongly connected components of two or more modules (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(module):
    """Index in LAYERS of the longest prefix naming ``module``'s layer."""
    best = None
    for level, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > len(best[1]):
                    best = (level, prefix)
    return None if best is None else best[0]


def test_the_graph_sees_deferred_imports():
    tree = ast.parse("def f():\n    from s2sgrad import pipeline\n")
    assert imports(tree, "s2sgrad.runtime", False, {"s2sgrad", "s2sgrad.pipeline", "s2sgrad.runtime"}) \
        == {"s2sgrad.pipeline"}
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_every_module_has_a_layer():
    assert [m for m in import_graph() if layer_of(m) is None] == []


def test_layers_import_only_downwards():
    upward = [f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
              for a, targets in sorted(import_graph().items()) for b in sorted(targets)
              if layer_of(b) > layer_of(a)]
    assert upward == []
