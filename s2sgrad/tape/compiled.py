"""The tape's backward pass: a recording lowered to a program, differentiated once.

:func:`rewind` is the one backward engine of the tape. A recording (a list
of :class:`~s2sgrad.tape.tensor.Record`) is a straight-line program;
:func:`_build` writes it down as a normal-form ``def`` -- one statement per
record, the primitive called on named inputs -- and hands it to the
pipeline at its *differentiate* stage (reverse mode, optimise, emit,
compile), the same transform and rules ``sg.grad`` uses. The compiled
adjoint is cached under the recording's structural key
(:func:`_key_and_values`), so a training loop that records the same program
every step generates code once and then only calls it with the new values
-- recognised, most steps, by the guard of the adjoint run last
(:mod:`s2sgrad.tape.guard`) rather than by the key.

Everything a tape records lowers to that program form:

* a ``custom_gradient`` call is ``custom_call(rule, (inputs...))``, whose
  rule calls the user's ``grad_fn`` ("called, not inlined"); the call's
  rule object is a parameter of the program, so one compiled adjoint
  serves every call;
* a primitive with several outputs is one call returning a tuple, unpacked
  by ``output_of(results, index)``; the tuple's cotangent is a full
  :class:`~s2sgrad.runtime.Cotangents` list (zeros for outputs nothing used);
* a source computed on the tape (an intermediate result) is tapped:
  ``tapped = value + source``, where ``source`` is a parameter of the
  program; the sum's value is the recorded one (never recomputed), and the
  gradient for ``source`` is the cotangent of the intermediate value;
* constants that are not Python literals (slices, index arrays, dtypes)
  are parameters or named objects of the program.

Nested tapes (an outer tape recording while ``gradient`` runs) run the same
generated adjoint on the recorded Tensors instead of their NumPy values:
generated code calls NumPy functions and operators, which Tensors record,
so the outer tape records the backward pass and can differentiate it
again. Helpers of the generated code that have rules of their own
(``unbroadcast``, ``getitem_adjoint``, ...) are then called as recorded
primitives, not traced into (their bodies may assign into arrays).
"""

import ast
import operator
import threading
import types

import numpy as np

from s2sgrad.errors import S2SGradError
from s2sgrad.ir.nodes import function_def
from s2sgrad.primitives.registry import Primitive, defvjp, generation
from s2sgrad.runtime import Cotangents
from s2sgrad.tape import tensor as _tensor
from s2sgrad.tape.guard import guard, has_signed_zero, is_literal
from s2sgrad.tape.tensor import _SCALAR_META, _SEQUENCES, Tensor, apply, rule_of

#: structural key -> _Compiled, or the error refusing the recording
_cache = {}
#: bound on compiled recordings kept (each holds generated code)
_MAX_PROGRAMS = 1000
#: held while an adjoint is built for the cache (re-entrant: building runs no
#: user code today, but a nested tape inside it must not deadlock)
_generating = threading.RLock()


class MissingRuleError(S2SGradError, LookupError):
    """A recorded operation with no derivative rule lies on the gradient path."""


def rewind(records, seeds, wanted, tensor_mode=False):
    """Cotangents of the ``wanted`` nodes given cotangent ``seeds``.

    ``records``: the recorded program, in execution order. ``seeds``: pairs
    ``(node, cotangent)`` (a node is a recorded Tensor; several seeds on
    one node add up). ``wanted``: ids of the nodes whose cotangents to
    return. Returns ``{id(node): cotangent}`` for those wanted nodes the
    seeds reach; unreached nodes are absent (unconnected).

    In tensor mode (a tape is recording) the cotangents are Tensors,
    computed by the generated adjoint on the recorded Tensors.
    """
    values = None
    if not tensor_mode:
        entry = _last[0]
        if entry is not None:
            values = entry.match(records, seeds, wanted)
    if values is None:
        entry, values = _cached_entry(records, seeds, wanted, tensor_mode)
        if entry.match is not None and not tensor_mode:
            _last[0] = entry
    outer = _severed_now()
    severed = _state.severed = {}
    try:
        grads = entry.run(records, seeds, wanted, values, tensor_mode)
    finally:
        _state.severed = outer
    if severed:
        _drop_severed(grads, records, seeds, severed)
    return grads


#: per thread: the inputs whose ``grad_fn`` gave None in the backward pass
#: running now (see :func:`custom_cotangents`), in ``severed``
_state = threading.local()


def _severed_now():
    """This thread's record of None cotangents, or None outside a backward pass."""
    return getattr(_state, "severed", None)


def _drop_severed(grads, records, seeds, severed):
    """Remove from ``grads`` the sources the seeds reach only through an input
    whose ``grad_fn`` returned None (TensorFlow: unconnected, a None gradient).

    ``severed``: id of a ``custom_gradient`` call's rule -> the indices of
    the inputs it gave None. A dynamic fact (what ``grad_fn`` returned),
    so it is applied to the compiled adjoint's result, not built into it.
    """
    reached = {id(node) for node, _ in seeds}
    for i in range(len(records) - 1, -1, -1):
        rec = records[i]
        if not _is_reached(rec.out, reached):
            continue
        cut = severed.get(id(rec.rule))
        if cut is None:
            _reach(rec.args, reached)
        else:
            _reach([a for k, a in enumerate(rec.args) if k not in cut], reached)
    for k in [k for k in grads if k not in reached]:
        del grads[k]


class _Compiled:
    """A compiled adjoint and how to call it with a recording's values."""

    __slots__ = ("function", "connected", "all_connected", "positions", "source", "extras",
                 "plain", "match", "guarded", "_tensor_function")

    def __init__(self, function, connected, positions, source, extras, match):
        self.function = function
        #: for each wanted source: True when the targets depend on it
        self.connected = connected
        #: for each wanted source: the position of its gradient in the
        #: function's result (None: each in turn)
        self.positions = positions
        self.all_connected = all(connected) and positions is None
        self.source = source
        #: what the function takes after the leaf values: per value the
        #: record index and which output (None: the only one; ALL: the tuple)
        self.extras = extras
        #: the record indices, when every extra is a single output
        self.plain = [i for i, _ in extras] if all(j is None for _, j in extras) else None
        #: the guard recognising recordings this adjoint serves, or None
        #: (written when the structure is seen a second time)
        self.match = match
        self.guarded = match is not None
        self._tensor_function = None

    def run(self, records, seeds, wanted, values, tensor_mode):
        if tensor_mode:
            return self._run_on_tensors(records, seeds, wanted, values)
        if self.plain is not None:
            for i in self.plain:
                values.append(records[i].out._value)
        else:
            for i, j in self.extras:
                out = records[i].out
                if j is None:
                    values.append(out._value)
                elif j is ALL:
                    values.append(tuple(o._value for o in out))
                else:
                    values.append(out[j]._value)
        values.append(seeds[0][1] if len(seeds) == 1 else [g for _, g in seeds])
        return self._pick(wanted, self.function(*values))

    def _run_on_tensors(self, records, seeds, wanted, values):
        """The adjoint run on the recorded Tensors, so recording tapes see it."""
        for i, j in self.extras:
            out = records[i].out
            values.append(tuple(out) if j is ALL else out if j is None else out[j])
        values.append(seeds[0][1] if len(seeds) == 1 else [g for _, g in seeds])
        function = self._tensor_function
        if function is None:
            function = self._tensor_function = _on_tensors(self.function)
        _tensor._local.rule_depth += 1  # values escaping the tape raise instead of cutting it
        try:
            grads = function(*values)
        finally:
            _tensor._local.rule_depth -= 1
        return self._pick(wanted, grads)

    def _pick(self, wanted, grads):
        if self.all_connected:
            return dict(zip(wanted, grads))
        if self.positions is None:
            return {k: g for k, g, connected in zip(wanted, grads, self.connected) if connected}
        return {k: grads[p] for k, p, connected in zip(wanted, self.positions, self.connected)
                if connected}


class _Refusal:
    """A recording whose gradient cannot be generated: the error, raised each time."""

    __slots__ = ("error",)
    match = None

    def __init__(self, error):
        self.error = error

    def run(self, records, seeds, wanted, values, tensor_mode):
        raise self.error.with_traceback(None)


#: the output index of the tuple of a several-output record (see _Compiled.extras)
ALL = "all"

#: the compiled recording run last, when it has a guard: a training loop
#: records the same program every step, and the guard recognises it
#: without building the key (shared by threads: a guard is a pure function
#: of the recording, so another thread's entry is only a miss)
_last = [None]
#: the registry generation the cached rules and adjoints were made under
_rules_generation = [generation()]


def forget_stale_rules():
    """Drop the rules and compiled adjoints cached before a registration
    (``sg.defgrad`` replacing a rule): called as a tape starts recording,
    so the next recording uses the rules registered now."""
    now = generation()
    if _rules_generation[0] != now:
        _rules_generation[0] = now
        _tensor._kinds.clear()
        _cache.clear()
        _last[0] = None


def _cached_entry(records, seeds, wanted, tensor_mode):
    """The compiled adjoint cached under the recording's key, and its leaf values."""
    key, values = _key_and_values(records, seeds, wanted, tensor_mode)
    entry = _cache.get(key)
    if entry is None:
        with _generating:  # (threads share the cache; one builds each structure)
            entry = _cache.get(key)
            if entry is None:
                entry = _build(records, seeds, wanted)
                if len(_cache) >= _MAX_PROGRAMS:  # many distinct structures: start over
                    _cache.clear()
                _cache[key] = entry
    elif entry.match is None and type(entry) is _Compiled and not entry.guarded:
        # seen again: worth the guard (a one-off recording never pays for one)
        entry.guarded = True
        entry.match = guard(records, seeds, wanted)
    return entry, values


def generated_source(records, seeds, wanted):
    """The generated adjoint source for a recording (for tests and docs)."""
    return _build(records, seeds, wanted).source


# -- the structure of a recording ---------------------------------------------------


def _key_and_values(records, seeds, wanted, tensor_mode=False, plan=None):
    """The recording's structure as a flat hashable key, and its leaf values.

    Two recordings share a key exactly when they run the same primitives
    with the same static parameters on inputs wired the same way, with the
    same shapes and dtypes, the tape tracking the same inputs (``needs``)
    -- so one compiled adjoint serves both. Produced nodes are numbered by
    record (``i``, or ``(i, j)`` for output ``j`` of a several-output
    record); leaves (inputs no record produced) by first use (-1, -2, ...),
    and their values are what the compiled code is called with (the
    Tensors themselves in tensor mode). A Tensor used while the tape did
    not track it is a constant leaf of its own, apart from its tracked
    uses (a source used before it was watched). Python ``int``/``float``
    constants enter tagged with their type, so a constant ``-1`` is never
    mistaken for a node number; a zero constant by its text, since
    ``-0.0 == 0.0`` though ``1 / -0.0`` is ``-inf``. Constants that are not
    literals (slices, arrays, a ``custom_gradient`` call's rule) are
    leaves keyed by type; the output shapes of a record taking one are
    keyed then, as are those of indexing (``x[mask]``).

    ``plan``, when given, receives how :func:`_build` writes the program
    -- per record its index and argument descriptors, the seeds' and
    wanted nodes, and which leaves are opaque -- so the numbering exists in
    one place only. A recording the last compiled adjoint's guard
    recognises skips this walk (see :mod:`s2sgrad.tape.guard`).
    """
    nodes = {}  # id -> node: records' outputs i or (i, j), tracked leaves < 0
    constants = {}  # id -> leaf number of a Tensor used untracked
    values = []
    key = []
    push = key.append
    opaque = set()
    meta = _meta

    def leaf(a, value, table):
        n = table[id(a)] = -1 - len(values)
        values.append(value)
        return n

    def argument(a, tracked):
        """The key entries and descriptor of argument ``a``; True in
        ``opaque_seen[0]`` when it holds a constant keyed by type only."""
        n = nodes.get(id(a))
        if n is not None:
            push(n)
            return n
        t = type(a)
        if t is float or t is int:
            push(t)
            push(repr(a) if t is float and not a else a)  # 1 / -0.0 is -inf
            return ("c", a)
        if isinstance(a, Tensor):
            if not tracked:
                n = constants.get(id(a))
                if n is not None:
                    push(n)
                    return n
            v = a._value
            n = leaf(a, a if tensor_mode else v, nodes if tracked else constants)
            m = meta.get(type(v))
            push((n, (), m[1]) if m is not None else (n, v.shape, v.dtype))
            return n
        if t in _SEQUENCES:
            push((t, len(a)))
            return ("s", t, [argument(e, tracked) for e in a])
        if isinstance(a, np.ndarray):
            n = leaf(a, a, nodes)
            push((n, a.shape, a.dtype))
            return n
        if _literal(a):
            push(("c", t, repr(a) if has_signed_zero(a) else a))
            return ("c", a)
        n = leaf(a, a, nodes)
        opaque.add(n)
        opaque_seen[0] = True
        push(("o", n, t))
        return n

    opaque_seen = [False]
    for i, rec in enumerate(records):
        out = rec.out
        push(rec.prim)
        push(rec.needs)
        rule = rec.rule
        opaque_seen[0] = False
        if rule is not None and type(rule) is not Primitive:
            # a custom_gradient call: custom_call(rule, (inputs...))
            n = leaf(rule, rule, nodes)
            opaque.add(n)
            push(("custom", n))
            descriptors = [n, ("s", tuple, [argument(a, tracked)
                                            for a, tracked in zip(rec.args, rec.needs)])]
        else:
            descriptors = [argument(a, tracked) for a, tracked in zip(rec.args, rec.needs)]
        params = rec.params
        if params:
            p = tuple(sorted(params.items()))
            try:
                hash(p)
            except TypeError:  # an unhashable parameter: this very object
                p = tuple((k, v if _hashable(v) else ("id", id(v))) for k, v in p)
            push(p)
        # An output's shape and dtype follow from the primitive, its parameters
        # and its inputs' shapes, dtypes and constant values — except where an
        # index array's values decide the shape (x[mask]), or a constant keyed
        # by type only does: key those by output.
        if type(out) is tuple:
            push(("outs", len(out)))
            for j, o in enumerate(out):
                nodes[id(o)] = (i, j)
            if opaque_seen[0]:
                push(tuple((o._value.shape, o._value.dtype) for o in out))
        else:
            nodes[id(out)] = i
            if rec.prim is _getitem or opaque_seen[0]:
                v = out._value
                push((np.shape(v), v.dtype))
        if plan is not None:
            plan.append((i, descriptors))
    push("seeds")
    targets = []
    for node, _ in seeds:
        n = nodes.get(id(node))
        if n is None:  # a target no record produced: a leaf of its own
            v = node._value
            n = leaf(node, node if tensor_mode else v, nodes)
            push((n, np.shape(v), v.dtype))
        push(n)
        targets.append(n)
    push("wanted")
    sources = []
    for k in wanted:
        n = nodes.get(k)
        push(n)
        sources.append(n)
    if plan is not None:
        plan.append((targets, sources, opaque, len(values)))
    return tuple(key), values


_meta = _SCALAR_META
_getitem = operator.getitem


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True


_literal = is_literal  # (one definition, shared with the guard)


# -- the program ---------------------------------------------------------------------


def _build(records, seeds, wanted):
    """Write the recording as a normal-form function and differentiate it.

    Returns a :class:`_Compiled`, or a :class:`_Refusal` holding the error
    when a record on the gradient path has no rule or the transform refuses.
    """
    plan = []
    _, values = _key_and_values(records, seeds, wanted, plan=plan)
    targets, sources, opaque, n_leaves = plan.pop()
    live = _live(records, seeds)
    leaf_names = [f"x{n}" for n in range(n_leaves)]
    params = list(leaf_names)
    shapes = {leaf_names[n]: np.shape(v) for n, v in enumerate(values) if -1 - n not in opaque}
    names = {-1 - n: name for n, name in enumerate(leaf_names)}
    env = {}
    body = []
    recorded = {}  # name -> (record index, output index)
    source_nodes = set(sources)
    taps = []  # per tap parameter: (record index, output index) of its value

    def assign(name, value):
        body.append(ast.Assign([ast.Name(name, ast.Store())], value))

    def atom(d):
        if type(d) is tuple:
            kind = d[0]
            if kind == "c":
                return _constant(d[1], env)
            if kind == "s":
                display = (ast.Tuple if d[1] is tuple else ast.List)(
                    [atom(e) for e in d[2]], ast.Load())
                name = f"v{len(body) + 1}"
                assign(name, display)
                return ast.Name(name, ast.Load())
        return ast.Name(names[d], ast.Load())

    tap_params = {}  # produced source node -> the parameter its gradient is read off

    def produced(node, name, where, value):
        names[node] = name
        recorded[name] = where
        shapes[name] = np.shape(value)
        if node in source_nodes:  # a source computed on the tape
            param = tap_params[node] = f"s{len(taps)}"
            taps.append(where)
            params.append(param)
            shapes[param] = shapes[name]
            tapped = f"v{len(body) + 1}"
            assign(tapped, ast.BinOp(ast.Name(name, ast.Load()), ast.Add(),
                                     ast.Name(param, ast.Load())))
            names[node] = tapped
            recorded[tapped] = where
            shapes[tapped] = shapes[name]

    for i, descriptors in plan:
        if i not in live:
            continue
        rec = records[i]
        if rec.rule is None:
            return _Refusal(MissingRuleError(
                f"no derivative rule for {_describe(rec.prim)}, which the gradient "
                "passes through; register one with s2sgrad.defgrad"))
        prim = rec.prim if type(rec.rule) is Primitive else custom_call
        args = [atom(d) for d in descriptors]
        keywords = [ast.keyword(k, _constant(v, env)) for k, v in rec.params.items()]
        name = f"v{len(body) + 1}"
        assign(name, _call(_name_of(prim, env), args, keywords))
        out = rec.out
        if type(out) is tuple:
            recorded[name] = (i, ALL)
            for j, o in enumerate(out):
                element = f"v{len(body) + 1}"
                assign(element, _call(_name_of(output_of, env),
                                      [ast.Name(name, ast.Load()), ast.Constant(j)]))
                produced((i, j), element, (i, j), o._value)
        else:
            produced(i, name, (i, None), out._value)
    wanted_names = [tap_params.get(n) if n in tap_params else
                    (names[n] if type(n) is int and n < 0 else None) for n in sources]
    wrt = list(dict.fromkeys(name for name in wanted_names if name is not None))
    if not wrt:
        return _Unconnected()
    result = [ast.Name(names[n], ast.Load()) for n in targets]
    assign("result", result[0] if len(result) == 1 else ast.List(result, ast.Load()))
    body.append(ast.Return(ast.Name("result", ast.Load())))
    try:
        generated = _differentiate(body, params, env, tuple(wrt), shapes, set(recorded))
    except S2SGradError as error:
        return _Refusal(error)
    connected = [name is not None and name not in generated.unreached for name in wanted_names]
    positions = None
    if wrt != wanted_names:
        positions = [None if name is None else wrt.index(name) for name in wanted_names]
    extras = taps + [recorded[name] for name in generated.residuals]
    return _Compiled(generated.function, connected, positions, generated.source, extras, None)


def _is_reached(out, reached):
    """True when a cotangent reaches the record output ``out`` (one value or a tuple)."""
    if type(out) is tuple:
        return any(id(o) in reached for o in out)
    return id(out) in reached


def _live(records, seeds):
    """Indices of the records whose outputs the seeds' cotangents reach."""
    reached = {id(node) for node, _ in seeds}
    live = set()
    for i in range(len(records) - 1, -1, -1):
        rec = records[i]
        if not _is_reached(rec.out, reached):
            continue
        live.add(i)
        _reach(rec.args, reached)
    return live


def _reach(args, reached):
    for a in args:
        if type(a) in _SEQUENCES:
            _reach(a, reached)
        else:
            reached.add(id(a))


def _call(name, args, keywords=()):
    return ast.Call(ast.Name(name, ast.Load()), list(args), list(keywords))


def _constant(value, env):
    """The expression for a constant: a literal, or the object under a name."""
    if isinstance(value, np.generic) and _literal(value):
        return ast.Constant(value.item())
    if type(value) is tuple and _literal(value):
        return ast.Constant(_plain(value))  # (a constant, so an atom)
    if _literal(value):
        return ast.Constant(value)
    return ast.Name(_name_of(value, env), ast.Load())


def _plain(value):
    """A literal tuple with NumPy scalars as Python numbers."""
    if type(value) is tuple:
        return tuple(_plain(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value


def _name_of(obj, env):
    """The name generated code calls or reads ``obj`` by (readable, unique)."""
    for name, known in env.items():
        if known is obj:
            return name
    base = getattr(obj, "__name__", None)
    if not isinstance(base, str):
        base = type(obj).__name__
    base = "".join(c if c.isalnum() or c == "_" else "_" for c in base) or "constant"
    if base[0].isdigit():
        base = "_" + base
    name, i = base, 1
    while name in env or name in ("result", "stack", "tape") or _is_program_name(name):
        i += 1
        name = f"{base}_{i}"
    env[name] = obj
    return name


def _is_program_name(name):
    """True for the names the program itself uses (x1, v2, s3, d...)."""
    return name[:1] in ("x", "v", "s", "d") and name[1:].isdigit()


def _describe(prim):
    module = getattr(prim, "__module__", None) or ""
    name = getattr(prim, "__qualname__", None) or getattr(prim, "__name__", None)
    if name is None:
        return type(prim).__name__
    if module in ("numpy", "builtins", "_operator") or module.startswith("numpy."):
        module = {"_operator": "operator", "builtins": ""}.get(module, "np")
    return f"{module}.{name}" if module else name


class _Unconnected:
    """A recording in which no wanted node is reached: no gradients."""

    __slots__ = ()
    match = None

    def run(self, records, seeds, wanted, values, tensor_mode):
        return {}


def _differentiate(body, params, env, wrt, shapes, recorded):
    """The pipeline's gradient of the program ``def tape(*params): body``."""
    from s2sgrad import pipeline

    arguments = ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params],
                              vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    for line, stmt in enumerate(body, start=1):
        for node in ast.walk(stmt):
            if "lineno" in node._attributes:
                node.lineno = node.end_lineno = line
                node.col_offset = node.end_col_offset = 0
    tree = function_def("tape", arguments, body, 1)
    return pipeline.program_gradient(tree, env, wrt, known_shapes=shapes, recorded=recorded)


# -- the primitives of lowered recordings --------------------------------------------
#
# Their values are recorded, so generated adjoints never call them: only their
# rules take part (inlined as templates by the transform).


def custom_call(rule, inputs):
    """A ``custom_gradient`` function called on ``inputs``; ``rule`` is the call's
    record of it (its ``grad_fn``)."""
    return rule.forward(inputs)


@defvjp(custom_call)
def custom_call_vjp(g, ans, rule, inputs):
    return (None, custom_cotangents(g, ans, rule, inputs))


def custom_cotangents(g, ans, rule, inputs):
    """The user's ``grad_fn`` of one ``custom_gradient`` call: one cotangent per input.

    It has no rule of its own: a second derivative comes from an outer tape
    recording what ``grad_fn`` does (the adjoint then runs on Tensors).
    """
    grads = rule.cotangents(g, ans, inputs)
    if any(c is None for c in grads):  # unconnected unless reached another way
        severed = _severed_now()
        if severed is not None:
            severed[id(rule)] = {k for k, c in enumerate(grads) if c is None}
    return grads


def output_of(results, index):
    """Output ``index`` of a primitive with several outputs."""
    return results[index]


@defvjp(output_of)
def output_of_vjp(g, ans, results, index):
    return (output_adjoint(g, results, index), None)


def output_adjoint(cotangent, results, index):
    """The full cotangent of ``results`` from that of output ``index`` (zeros elsewhere).

    Generated code on Tensors runs it as it is (it only adds zeros), so
    the list stays a :class:`Cotangents`.
    """
    return Cotangents([cotangent if k == index else np.zeros_like(r)
                       for k, r in enumerate(results)])


@defvjp(output_adjoint)
def output_adjoint_vjp(g, ans, cotangent, results, index):
    return (g[index], None, None)


#: helpers with rules that generated code on Tensors runs as they are
_TRACED = frozenset((output_adjoint, custom_cotangents))


# -- generated code on recorded Tensors ----------------------------------------------


def _on_tensors(function):
    """``function`` with the s2sgrad helpers it calls made recordable.

    Generated code calls NumPy functions and operators (which Tensors
    record already) and helpers from s2sgrad (``unbroadcast``,
    ``getitem_adjoint``, ...). A helper with a rule of its own is swapped
    for a wrapper that calls it on raw values and records one operation,
    so its derivative comes from its rule rather than from tracing a body
    that may write into arrays.
    """
    cells = []
    for name, cell in zip(function.__code__.co_freevars, function.__closure__ or ()):
        value = cell.cell_contents
        if _is_helper_primitive(value):
            cell = types.CellType(recordable(value))
        cells.append(cell)
    return types.FunctionType(function.__code__, function.__globals__, function.__name__,
                              function.__defaults__, tuple(cells))


def _is_helper_primitive(value):
    return (
        isinstance(value, types.FunctionType)
        and value not in _TRACED
        and (getattr(value, "__module__", "") or "").startswith("s2sgrad.")
        and not hasattr(value, "__wrapped__")
        and rule_of(value) is not None
    )


_recordables = {}


def recordable(fn):
    """``fn`` as a primitive: on Tensor arguments, run on raw values and record."""
    try:
        return _recordables[fn]
    except KeyError:
        pass

    def call(*args, **kwargs):
        if _tensor._result_type(args) is None:
            return fn(*args, **kwargs)
        if kwargs:
            kwargs = {k: (v._value if isinstance(v, Tensor) else v) for k, v in kwargs.items()}
        return apply(fn, fn, args, kwargs)

    call.__name__ = fn.__name__
    call.__wrapped__ = fn
    _recordables[fn] = call
    return call
