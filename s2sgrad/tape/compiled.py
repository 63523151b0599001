"""The tape's way into the source-to-source pipeline: one engine.

A recording is a straight-line program. :func:`compiled_rewind` writes it
down as a normal-form ``def`` — one statement per record, the primitive
called on named inputs — and hands it to the pipeline at its
*differentiate* stage (reverse mode, optimise, emit, compile). The compiled
adjoint is cached under the recording's structural key, so a training loop
that records the same program every step generates code once and then only
calls it with the new values -- recognised, most steps, by the guard of the
adjoint run last (:mod:`s2sgrad.tape.guard`) rather than by the key.

Recordings the generated code cannot serve return ``None`` and the caller
falls back to the interpreter in :mod:`s2sgrad.tape.rewind`: nested tapes
(the adjoint must itself be recorded), ``custom_gradient`` records,
several-output primitives, and sources that are intermediate results.
"""

import ast
import operator

import numpy as np

from s2sgrad.errors import S2SGradError
from s2sgrad.ir.nodes import function_def
from s2sgrad.primitives.registry import Primitive
from s2sgrad.tape.guard import guard, has_signed_zero
from s2sgrad.tape.tensor import _SCALAR_META, Tensor

#: structural key -> _Compiled, or False when the recording needs the interpreter
_cache = {}
#: bound on compiled recordings kept (each holds generated code)
_MAX_PROGRAMS = 1000
#: structural key -> times seen; a recording is compiled the second time it
#: is seen (a one-off recording is cheaper to interpret than to compile)
_seen = {}


class _Compiled:
    """A compiled adjoint and how to call it with a recording's values."""

    __slots__ = ("function", "connected", "all_connected", "source", "residuals", "match")

    def __init__(self, function, connected, source, residuals=(), match=None):
        self.all_connected = all(connected)
        #: indices of the records whose outputs the function takes as arguments
        self.residuals = list(residuals)
        self.function = function
        #: for each wanted source: True when the targets depend on it
        self.connected = connected
        self.source = source
        #: the guard recognising recordings this adjoint serves (see
        #: :mod:`s2sgrad.tape.guard`), or None
        self.match = match


#: the compiled recording run last, when it has a guard: a training loop
#: records the same program every step, and the guard recognises it
#: without building the key
_last = [None]


def compiled_rewind(records, seeds, wanted):
    """Cotangents ``{id(source): value}`` via generated code, or None."""
    entry = _last[0]
    values = entry.match(records, seeds, wanted) if entry is not None else None
    if values is None:
        entry, values = _cached_entry(records, seeds, wanted)
        if entry is None:
            return None
        if entry.match is not None:
            _last[0] = entry
    for i in entry.residuals:
        values.append(records[i].out._value)
    values.append(seeds[0][1] if len(seeds) == 1 else [g for _, g in seeds])
    grads = entry.function(*values)
    if entry.all_connected:
        return dict(zip(wanted, grads))
    return {k: g for k, g, connected in zip(wanted, grads, entry.connected) if connected}


def _cached_entry(records, seeds, wanted):
    """The compiled adjoint cached under the recording's key, and its leaf values.

    ``(None, None)`` when the interpreter is to run: a structure seen for
    the first time, or one the generated code cannot serve.
    """
    key, values = _key_and_values(records, seeds, wanted)
    if key is None:
        return None, None
    entry = _cache.get(key)
    if entry is None:
        if key not in _seen:
            if len(_seen) > 10000:
                _seen.clear()
            _seen[key] = 1
            return None, None
        entry = _build(records, seeds, wanted)
        if len(_cache) >= _MAX_PROGRAMS:  # many distinct structures: start over
            _cache.clear()
        _cache[key] = entry if entry is not None else False
    if not entry:
        return None, None
    return entry, values


def generated_source(records, seeds, wanted):
    """The generated adjoint source for a recording (for tests and docs)."""
    entry = _build(records, seeds, wanted)
    return None if entry is None else entry.source


def _key_and_values(records, seeds, wanted, leaves=None):
    """The recording's structure as a flat hashable key, and its leaf values.

    Two recordings share a key exactly when they run the same primitives
    with the same static parameters on inputs wired the same way, with the
    same shapes and dtypes, the tape tracking the same inputs (``needs``)
    — so one compiled adjoint serves both. Produced nodes are numbered by
    record (0, 1, ...); leaves (inputs no record produced) by first use
    (-1, -2, ...), and their values are what the compiled code is called
    with. Python ``int``/``float`` constants enter
    tagged with their type, so a constant ``-1`` or ``2`` is never mistaken
    for the node of that number; a zero constant by its text, since
    ``-0.0 == 0.0`` though ``1 / -0.0`` is ``-inf``. ``leaves``, when
    given, receives the leaf objects in the same order (the code generator
    names its parameters from it, so the numbering exists in one place
    only). A recording the last compiled adjoint's guard recognises skips
    this walk (see :mod:`s2sgrad.tape.guard`).
    """
    note = leaves.append if leaves is not None else None
    nodes = {}  # id -> node number: records' outputs >= 0, leaves < 0
    values = []
    key = []
    push = key.append
    meta = _meta
    i = 0
    for rec in records:
        out = rec.out
        if type(out) is tuple:
            return None, None  # several outputs: interpreter
        push(rec.prim)
        push(rec.needs)
        for a in rec.args:
            n = nodes.get(id(a))
            if n is not None:
                push(n)
                continue
            t = type(a)
            if t is float or t is int:
                push(t)
                push(repr(a) if t is float and not a else a)  # 1 / -0.0 is -inf
            elif isinstance(a, Tensor):
                v = a._value
                n = nodes[id(a)] = -1 - len(values)
                values.append(v)
                if note:
                    note(a)
                m = meta.get(type(v))
                push((n, (), m[1]) if m is not None else (n, v.shape, v.dtype))
            elif t is _ndarray and a.ndim:
                n = nodes[id(a)] = -1 - len(values)
                values.append(a)
                if note:
                    note(a)
                push((n, a.shape, a.dtype))
            elif t is list or t is tuple:
                return None, None  # nested inputs: interpreter
            else:
                if isinstance(a, np.ndarray) and a.ndim:
                    n = nodes[id(a)] = -1 - len(values)
                    values.append(a)
                    if note:
                        note(a)
                    push((n, a.shape, a.dtype))
                    continue
                try:
                    hash(a)
                except TypeError:
                    return None, None
                push(("c", t, repr(a) if has_signed_zero(a) else a))
        params = rec.params
        if params:
            try:
                p = tuple(sorted(params.items()))
                hash(p)
            except TypeError:
                return None, None
            push(p)
        # An output's shape and dtype follow from the primitive, its parameters
        # and its inputs' shapes, dtypes and constant values — except where an
        # index array's values decide the shape (x[mask]): key those by output.
        nodes[id(out)] = i
        i += 1
        if rec.prim is _getitem:
            v = out._value
            push((v.shape, v.dtype))
    push("seeds")
    for node, _ in seeds:
        push(nodes.get(id(node)))
    push("wanted")
    for k in wanted:
        push(nodes.get(k))
    return tuple(key), values


_meta = _SCALAR_META
_getitem = operator.getitem
_ndarray = np.ndarray


def _literal(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, tuple):
        return all(_literal(v) for v in value)
    return isinstance(value, np.generic) and value.ndim == 0


def _build(records, seeds, wanted):
    """Write the recording as a normal-form function and differentiate it."""
    from s2sgrad import pipeline

    sources = set(wanted)
    for rec in records:
        if type(rec.rule) is not Primitive or type(rec.out) is tuple:
            return None
        for a, tracked in zip(rec.args, rec.needs):
            if not tracked and id(a) in sources:
                # a source used before it was watched: that use is a constant,
                # but the generated code would differentiate it
                return None
    leaves = []
    if _key_and_values(records, seeds, wanted, leaves)[0] is None:
        return None
    names = {}
    params = []
    shapes = {}
    for i, leaf in enumerate(leaves):
        name = f"x{i}"
        params.append(name)
        names[id(leaf)] = name
        shapes[name] = np.shape(leaf._value if isinstance(leaf, Tensor) else leaf)
    env = {}
    body = []
    temps = [0]
    record_of = {}  # output name -> record index

    def fresh():
        temps[0] += 1
        return f"v{temps[0]}"

    def atom(a, statements):
        if isinstance(a, Tensor) or (isinstance(a, np.ndarray) and a.ndim):
            return ast.Name(names[id(a)], ast.Load())
        if type(a) is list or type(a) is tuple:
            display = (ast.List if type(a) is list else ast.Tuple)(
                [atom(e, statements) for e in a], ast.Load())
            name = fresh()
            statements.append(ast.Assign([ast.Name(name, ast.Store())], display))
            return ast.Name(name, ast.Load())
        if _literal(a):
            return ast.Constant(a.item() if isinstance(a, np.generic) else a)
        raise _NotCompilable

    try:
        for rec in records:
            args = [atom(a, body) for a in rec.args]
            keywords = []
            for k, v in rec.params.items():
                if not _literal(v):
                    raise _NotCompilable
                keywords.append(ast.keyword(k, ast.Constant(v) if not isinstance(v, tuple)
                                            else _tuple_literal(v)))
            func = _func_name(rec.prim, env)
            out = fresh()
            record_of[out] = len(record_of)
            names[id(rec.out)] = out
            shapes[out] = np.shape(rec.out._value)
            body.append(ast.Assign([ast.Name(out, ast.Store())],
                                   ast.Call(ast.Name(func, ast.Load()), args, keywords)))
    except _NotCompilable:
        return None
    targets = []
    for node, _ in seeds:
        if id(node) not in names:
            return None  # a target no record touches: interpreter
        targets.append(ast.Name(names[id(node)], ast.Load()))
    wrt = []
    for k in wanted:
        name = names.get(k)
        if name is None or name not in params:
            return None  # a source computed on the tape: interpreter
        wrt.append(name)
    if len(set(wrt)) != len(wrt):
        return None
    if len(targets) == 1:
        body.append(ast.Assign([ast.Name("result", ast.Store())], targets[0]))
    else:
        body.append(ast.Assign([ast.Name("result", ast.Store())], ast.List(targets, ast.Load())))
    body.append(ast.Return(ast.Name("result", ast.Load())))
    arguments = ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params],
                              vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    for i, stmt in enumerate(body, start=1):
        for node in ast.walk(stmt):
            if "lineno" in node._attributes:
                node.lineno = node.end_lineno = i
                node.col_offset = node.end_col_offset = 0
    tree = function_def("tape", arguments, body, 1)
    try:
        generated = pipeline.program_gradient(tree, env, tuple(wrt), known_shapes=shapes,
                                              recorded=set(record_of))
    except S2SGradError:
        return None
    return _Compiled(generated.function,
                     [name not in generated.unreached for name in wrt], generated.source,
                     [record_of[name] for name in generated.residuals],
                     guard(records, seeds, wanted))


def _tuple_literal(values):
    return ast.Tuple([_tuple_literal(v) if isinstance(v, tuple) else ast.Constant(v)
                      for v in values], ast.Load())


def _func_name(prim, env):
    """The name generated code calls ``prim`` by (readable, unique)."""
    for name, obj in env.items():
        if obj is prim:
            return name
    base = getattr(prim, "__name__", None) or "primitive"
    base = "".join(c if c.isalnum() or c == "_" else "_" for c in base)
    name, i = base, 1
    while name in env or name in ("result", "stack") or name.startswith(("x", "v", "d")) \
            and name[1:].isdigit():
        i += 1
        name = f"{base}_{i}"
    env[name] = prim
    return name


class _NotCompilable(Exception):
    pass
