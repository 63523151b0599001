"""Why a gradient is zero or not finite: the analysis behind ``sg.explain``.

It reads the normal-form program (one operation per statement, each with
the user's line) and runs an instrumented copy of it on the user's
arguments, recording every value a statement makes and which arm of every
``if`` ran (:class:`Trace`). Over that trace:

* **forward**, per differentiated argument, which values depend on it
  through operations that carry a derivative (*active*), and for those that
  depend on it only through one that does not -- a primitive the table
  declares ``nondifferentiable`` (``int()``, ``np.argmax``, ``np.round``,
  comparisons, ``sg.stop_gradient``...) or the test of an ``if`` -- which
  statements cut the path (:class:`Cut`); the first statement that made a
  NaN or an infinity out of finite values;
* **backward**, the cotangent of every value, by calling the primitive
  table's rules on the recorded values: where a nonzero cotangent meets a
  derivative that is zero (a ``np.maximum`` on its other side, a factor 0)
  or where a finite one meets a derivative that is not finite (``np.sqrt``
  at 0, even when the cotangent reaching it is 0: 0 * inf is nan);
* **statically**, the arms of ``if`` statements that never ran and would
  have carried a derivative to the result (a branch not taken).

The findings are data (:class:`Analysis`); ``s2sgrad.explain`` writes the
report. Nothing here changes the program the pipeline differentiates.

Output guarantees: the program is not changed; the instrumented copy runs
the program's own statements on the user's arguments, so every value and
arm reported is one the function computed or took.
"""

import ast
import copy
import inspect
import operator
from dataclasses import dataclass, field

import numpy as np

from s2sgrad import runtime
from s2sgrad.ir.nodes import function_def
from s2sgrad.primitives import registry
from s2sgrad.transform.adjoints import walk_statements

#: the name of the recording function inside the instrumented program
_NOTE = "__s2sgrad_note"
#: an object whose ``[...]`` returns the index itself (to evaluate slices)
_INDEX = "__s2sgrad_index"
#: at most this many statements are recorded (a long loop is cut short)
MAX_STEPS = 200_000

#: the primitive of each comparison node
COMPARISONS = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
                ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne,
                ast.Is: operator.is_, ast.IsNot: operator.is_not, ast.In: operator.contains}


class _IndexOf:
    """``_IndexOf()[key]`` is ``key``: evaluates a subscript's index."""

    def __getitem__(self, key):
        return key


class TraceTooLong(Exception):
    """The program ran more than :data:`MAX_STEPS` statements."""


# ------------------------------------------------------------------ operations
@dataclass(frozen=True)
class Operation:
    """What one normal-form statement does, as the analysis sees it.

    ``kind`` is ``"copy"`` (a name or a loop's next item), ``"constant"``,
    ``"rule"`` (a primitive with a derivative rule: ``primitive``, its
    positional ``args`` and ``keywords`` as AST), ``"cut"`` (no derivative:
    a nondifferentiable primitive, a comparison, metadata), ``"write"``
    (``x[i] = v``), ``"branch"`` (an ``if``'s test) or ``"opaque"``
    (anything else that may carry a derivative: the analysis does not
    follow it backwards). ``spelling`` names the operation for the report.
    """

    kind: str
    spelling: str = ""
    primitive: object = None
    args: tuple = ()
    keywords: tuple = ()


def _spell_callee(primitive, node):
    if primitive is not None and getattr(primitive, "__module__", None) == "s2sgrad.tape.tensor":
        return f"sg.{primitive.__name__}"
    return ast.unparse(node)


def operation_of(stmt, resolve):
    """The :class:`Operation` of a normal-form statement."""
    if isinstance(stmt, ast.If):
        return Operation("branch", "if")
    if isinstance(stmt, ast.For):
        return Operation("copy", "for")
    if isinstance(stmt, ast.Assign) and not isinstance(stmt.targets[0], ast.Name):
        return Operation("write", "item assignment")
    rhs = stmt.value
    if isinstance(rhs, ast.Name):
        return Operation("copy")
    if isinstance(rhs, ast.Constant):
        return Operation("constant")
    if isinstance(rhs, ast.Compare):
        symbol = OPERATOR_SYMBOLS.get(type(rhs.ops[0]), type(rhs.ops[0]).__name__)
        return Operation("cut", f"the comparison {symbol}", COMPARISONS.get(type(rhs.ops[0])))
    if isinstance(rhs, ast.Attribute):
        found = registry.attribute(rhs.attr)
        if found is None or found.nondifferentiable:
            return Operation("cut", f"the attribute .{rhs.attr}")
        return _rule_or_opaque(found.primitive, [rhs.value], (), f".{rhs.attr}")
    if isinstance(rhs, (ast.BinOp, ast.UnaryOp)):
        found = registry.operator(type(rhs.op))
        symbol = OPERATOR_SYMBOLS.get(type(rhs.op), type(rhs.op).__name__)
        args = [rhs.left, rhs.right] if isinstance(rhs, ast.BinOp) else [rhs.operand]
        if found is None:
            return Operation("opaque", f"the operator {symbol}")
        if found.nondifferentiable:
            return Operation("cut", f"the operator {symbol}")
        return _rule_or_opaque(found.primitive, args, (), f"the operator {symbol}")
    if isinstance(rhs, ast.Subscript):
        index = ast.Subscript(ast.Name(_INDEX, ast.Load()), rhs.slice, ast.Load())
        return Operation("rule", "indexing", operator.getitem, (rhs.value, index))
    if isinstance(rhs, ast.Call):
        func = resolve(rhs.func)
        spelling = _spell_callee(func, rhs.func) + "()"
        if registry.is_nondifferentiable(func):
            return Operation("cut", spelling, func)
        keywords = tuple((k.arg, k.value) for k in rhs.keywords)
        return _rule_or_opaque(func, rhs.args, keywords, spelling)
    return Operation("opaque", type(rhs).__name__)


def _rule_or_opaque(primitive, args, keywords, spelling):
    if registry.lookup(primitive) is None:
        return Operation("opaque", spelling, primitive, tuple(args), tuple(keywords))
    return Operation("rule", spelling, primitive, tuple(args), tuple(keywords))


#: how the user writes each operator node
OPERATOR_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
                     ast.MatMult: "@", ast.FloorDiv: "//", ast.Mod: "%", ast.USub: "-",
                     ast.UAdd: "+", ast.Not: "not", ast.Invert: "~", ast.BitAnd: "&",
                     ast.BitOr: "|", ast.BitXor: "^", ast.Lt: "<", ast.LtE: "<=",
                     ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
                     ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


def _reads(stmt):
    """The names a statement reads, in order (an ``if`` its test, a ``for``
    its iterable, ``x[i] = v`` the array too)."""
    if isinstance(stmt, ast.If):
        parts = [stmt.test]
    elif isinstance(stmt, ast.For):
        parts = [stmt.iter]
    elif isinstance(stmt.targets[0], ast.Name):
        parts = [stmt.value]
    else:
        parts = [stmt.targets[0], stmt.value]
    names = []
    for part in parts:
        for n in ast.walk(part):
            if isinstance(n, ast.Name) and n.id not in names and n.id != _INDEX:
                names.append(n.id)
    return names


def target_of(stmt):
    """The name a statement assigns (``x`` of ``x[i] = v``), or None."""
    if isinstance(stmt, ast.For):
        return stmt.target.id if isinstance(stmt.target, ast.Name) else None
    if isinstance(stmt, ast.Assign):
        target = stmt.targets[0]
        return target.id if isinstance(target, ast.Name) else target.value.id
    return None


# ------------------------------------------------------------------ the trace
@dataclass
class Step:
    """One statement that ran: ``node`` made ``value`` from ``inputs``
    (name -> index of the step whose value it read, None for a name from
    outside the function); ``position`` is a loop item's index."""

    node: object
    value: object
    inputs: dict
    position: int = 0


def _snapshot(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    return value


class Trace:
    """The steps of one run of an instrumented normal-form program."""

    def __init__(self, fn, namespace, args, kwargs):
        self.fn = fn
        self.params = [a for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
        self.nodes = list(self.params)
        body = self._instrument(copy.deepcopy(fn.body), fn.body)
        entry = [self._note(i, ast.Name(a.arg, ast.Load())) for i, a in enumerate(self.params)]
        probe = function_def(fn.name, copy.deepcopy(fn.args), entry + body, fn.lineno)
        for node in ast.walk(probe):  # (the copy runs as one line: its own)
            for attribute in ("lineno", "end_lineno", "col_offset", "end_col_offset"):
                if attribute in node._attributes:
                    setattr(node, attribute, 1 if "lineno" in attribute else 0)
        module = ast.Module([probe], [])
        self.namespace = dict(namespace)
        self.raw = []
        scope = dict(self.namespace, **{_NOTE: self._record, _INDEX: _IndexOf()})
        exec(compile(module, "<s2sgrad explain>", "exec"), scope)
        with np.errstate(all="ignore"):
            self.result = scope[fn.name](*args, **kwargs)
        self.steps = self._replay()

    def _note(self, index, value):
        return ast.Expr(ast.Call(ast.Name(_NOTE, ast.Load()), [ast.Constant(index), value], []))

    def _instrument(self, stmts, originals):
        out = []
        for stmt, original in zip(stmts, originals):
            if isinstance(stmt, ast.FunctionDef):
                out.append(stmt)
                continue
            index = len(self.nodes)
            if isinstance(original, (ast.Assign, ast.If, ast.For)):
                self.nodes.append(original)
            if isinstance(stmt, ast.If):
                test = ast.Call(ast.Name("bool", ast.Load()), [copy.deepcopy(stmt.test)], [])
                out.append(self._note(index, test))
            for field_name in ("body", "orelse"):
                if getattr(stmt, field_name, None):
                    setattr(stmt, field_name,
                            self._instrument(getattr(stmt, field_name), getattr(original, field_name)))
            if isinstance(stmt, ast.For) and isinstance(stmt.target, ast.Name):
                stmt.body.insert(0, self._note(index, ast.Name(stmt.target.id, ast.Load())))
            out.append(stmt)
            if isinstance(stmt, ast.Assign):
                out.append(self._note(index, ast.Name(target_of(stmt), ast.Load())))
        return out

    def _record(self, index, value):
        if len(self.raw) >= MAX_STEPS:
            raise TraceTooLong
        self.raw.append((index, _snapshot(value)))

    def _replay(self):
        latest = {}
        positions = {}  # (for node index, iterable step) -> items seen
        steps = []
        for index, value in self.raw:
            node = self.nodes[index]
            if isinstance(node, ast.arg):
                step = Step(node, value, {})
                latest[node.arg] = len(steps)
                steps.append(step)
                continue
            inputs = {name: latest.get(name) for name in _reads(node)}
            step = Step(node, value, inputs)
            if isinstance(node, ast.For):
                key = (index, inputs.get(node.iter.id) if isinstance(node.iter, ast.Name) else None)
                step.position = positions.get(key, 0)
                positions[key] = step.position + 1
            target = target_of(node)
            if target is not None:
                latest[target] = len(steps)
            steps.append(step)
        return steps


# ------------------------------------------------------------------ findings
@dataclass
class Cut:
    """A statement where the path from the argument lost its derivative."""

    step: int
    #: how many times it cut (a statement in a loop cuts on each pass)
    times: int = 1


@dataclass
class Zeroed:
    """A statement whose derivative is zero where a nonzero cotangent reached it."""

    step: int
    cotangent: object
    #: how many times (a statement in a loop)
    times: int = 1


@dataclass
class Blowup:
    """A statement whose derivative is not finite though its inputs and the
    cotangent reaching it are (NaN/inf made in the adjoint)."""

    step: int
    cotangent: object
    derivative: object


@dataclass
class Untaken:
    """An ``if`` whose arm ``arm`` ("if" or "else") never ran, though it
    assigns ``names`` a value carrying a derivative to the result."""

    step: int
    arm: str
    names: list
    lineno: int


@dataclass
class Analysis:
    """What :func:`analyse` found for one differentiated argument."""

    name: str
    #: the result depends on the argument through a derivative
    active: bool = False
    #: the result depends on the argument at all (maybe only through cuts)
    touched: bool = False
    cuts: list = field(default_factory=list)
    untaken: list = field(default_factory=list)
    zeroed: list = field(default_factory=list)
    blowups: list = field(default_factory=list)
    #: the first step that made a NaN or inf from finite values, or None
    first_nonfinite: object = None
    #: statements the backward sweep could not follow (no rule to call)
    unfollowed: list = field(default_factory=list)
    #: globals read on the way to the result (name -> step index)
    outside: dict = field(default_factory=dict)
    #: the argument is read by no statement at all
    unused: bool = False
    #: the gradient the backward sweep found (None: nothing reached the
    #: argument); the same as the generated code's where every step was followed
    gradient: object = None


class Analyser:
    """The forward and backward sweeps over one trace (see module docstring)."""

    def __init__(self, trace, resolve, result_name):
        self.trace = trace
        self.steps = trace.steps
        self.resolve = resolve
        self.operations = {}
        self.enclosing = _enclosing_ifs(trace.fn.body)
        self.result_step = self._latest(result_name)

    def operation(self, node):
        key = id(node)
        if key not in self.operations:
            self.operations[key] = operation_of(node, self.resolve) \
                if not isinstance(node, ast.arg) else Operation("copy")
        return self.operations[key]

    def _latest(self, name):
        for i in range(len(self.steps) - 1, -1, -1):
            if target_of(self.steps[i].node) == name or (
                    isinstance(self.steps[i].node, ast.arg) and self.steps[i].node.arg == name):
                return i
        return None

    # -------------------------------------------------------------- forward
    def forward(self, name):
        """Per step: (active, cut statements) with respect to parameter ``name``."""
        active = [False] * len(self.steps)
        cuts = [frozenset()] * len(self.steps)
        first_cut = {}
        latest_branch = {}  # id(if node) -> step index of its last test
        for i, step in enumerate(self.steps):
            node = step.node
            if isinstance(node, ast.arg):
                active[i] = node.arg == name
                continue
            inputs = [j for j in step.inputs.values() if j is not None]
            live = any(active[j] for j in inputs)
            lost = frozenset().union(*(cuts[j] for j in inputs))
            for if_node in self.enclosing.get(id(node), ()):
                test = latest_branch.get(id(if_node))
                if test is not None and (active[test] or cuts[test]):
                    lost |= cuts[test] | {id(if_node)}
                    first_cut.setdefault(id(if_node), test)
            kind = self.operation(node).kind
            if isinstance(node, ast.If):
                latest_branch[id(node)] = i
            if kind in ("cut", "branch"):
                if live:
                    lost |= {id(node)}
                    first_cut.setdefault(id(node), i)
                live = False
            active[i] = live
            cuts[i] = lost
        return active, cuts, first_cut

    def analyse(self, name):
        found = Analysis(name)
        found.unused = not any(name in s.inputs for s in self.steps)
        if self.result_step is None:
            return found
        active, cuts, first_cut = self.forward(name)
        found.active = active[self.result_step]
        found.touched = found.active or bool(cuts[self.result_step])
        counts = {}
        for i, step in enumerate(self.steps):
            if id(step.node) in cuts[i] and self.operation(step.node).kind == "cut":
                counts[id(step.node)] = counts.get(id(step.node), 0) + 1
        found.cuts = sorted(
            (Cut(first_cut[key], counts.get(key, 1)) for key in cuts[self.result_step]),
            key=lambda c: c.step)
        found.first_nonfinite = self.first_nonfinite()
        found.outside = self.outside_reads(active)
        if found.active:
            self.backward(name, active, found)
        return found

    def first_nonfinite(self):
        """The first step whose value is not finite though what it read is."""
        for i, step in enumerate(self.steps):
            if isinstance(step.node, (ast.arg, ast.If)):
                continue
            if not _all_finite(step.value):
                read = [self.steps[j].value for j in step.inputs.values() if j is not None]
                if all(_all_finite(v) for v in read):
                    return i
        return None

    def outside_reads(self, active):
        """Names from outside the function (globals, closures) holding float
        arrays, read by steps the result depends on."""
        needed = self.needed()
        outside = {}
        for i in sorted(needed):
            for name, j in self.steps[i].inputs.items():
                if j is None and name in self.trace.namespace and name not in outside:
                    value = self.trace.namespace[name]
                    if isinstance(value, (np.ndarray, float, np.floating)) and \
                            np.issubdtype(np.result_type(value), np.floating):
                        outside[name] = i
        return outside

    def needed(self):
        """Indices of the steps the result's value was computed from."""
        needed, todo = set(), [self.result_step]
        while todo:
            i = todo.pop()
            if i is None or i in needed:
                continue
            needed.add(i)
            todo.extend(self.steps[i].inputs.values())
        return needed

    # -------------------------------------------------------------- backward
    def backward(self, name, active, found):
        """Cotangents of every step, from the result back (see module docstring)."""
        cotangents = {self.result_step: _ones_like(self.steps[self.result_step].value)}
        for i in range(len(self.steps) - 1, -1, -1):
            g = cotangents.pop(i, None)
            step = self.steps[i]
            if isinstance(step.node, ast.arg) and step.node.arg == name:
                found.gradient = g
            if g is None or not active[i] or isinstance(step.node, ast.arg):
                continue
            try:
                contributions = self.contributions(step, g, active)
            except Exception:  # noqa: BLE001 - a rule that cannot run here is reported
                found.unfollowed.append(i)
                continue
            if contributions is None:
                found.unfollowed.append(i)
                continue
            flowing = [c for _, c in contributions if c is not None]
            read = [self.steps[j].value for j in step.inputs.values() if j is not None]
            if _all_finite(g) and all(_all_finite(v) for v in read):
                bad = [c for c in flowing if not _all_finite(c)]
                if bad:
                    found.blowups.append(Blowup(i, g, bad[0]))
            if _any_nonzero(g) and contributions and not any(_any_nonzero(c) for c in flowing):
                same = [z for z in found.zeroed if self.steps[z.step].node is step.node]
                if same:
                    same[0].times += 1
                else:
                    found.zeroed.append(Zeroed(i, g))
            for j, c in contributions:
                if c is not None:
                    cotangents[j] = c if cotangents.get(j) is None else runtime.add_cotangents(
                        cotangents[j], c)

    def contributions(self, step, g, active):
        """[(step index of an active input, its cotangent)] for ``step``, or
        None when there is no rule to follow."""
        node = step.node
        wanted = {n: j for n, j in step.inputs.items() if j is not None and active[j]}
        op = self.operation(node)
        if op.kind == "copy" and isinstance(node, ast.For):
            (j,) = wanted.values()
            iterable = self.steps[j].value
            if not isinstance(iterable, np.ndarray):
                return None
            slot = np.zeros(np.shape(iterable), dtype=np.result_type(iterable, 1.0))
            slot[step.position] = g
            return [(j, slot)]
        if op.kind == "copy":
            return [(j, g) for j in wanted.values()]
        if op.kind == "write":
            target = node.targets[0]
            index = self.evaluate(ast.Subscript(ast.Name(_INDEX, ast.Load()), target.slice,
                                                ast.Load()), step)
            out = []
            before = step.inputs.get(target.value.id)
            if before in wanted.values():
                out.append((before, runtime.zero_slot(np.asarray(g, dtype=float), index)))
            if isinstance(node.value, ast.Name) and node.value.id in wanted:
                value = self.steps[wanted[node.value.id]].value
                out.append((wanted[node.value.id],
                            runtime.unbroadcast(np.asarray(g)[index], value)))
            return out
        if op.kind != "rule":
            return None
        rule = registry.lookup(op.primitive)
        args = [self.evaluate(a, step) for a in op.args]
        keywords = {k: self.evaluate(v, step) for k, v in op.keywords}
        bound = inspect.signature(rule.vjp).bind(None, None, *op.args, **dict(op.keywords))
        with np.errstate(all="ignore"):
            grads = rule.vjp(g, step.value, *args, **keywords)
        out = []
        for k, param in enumerate(list(bound.arguments)[2:]):
            argument = bound.arguments[param]
            if isinstance(argument, ast.Name) and argument.id in wanted and k < len(grads):
                out.append((wanted[argument.id], grads[k]))
        return out

    def evaluate(self, expr, step):
        """The value of an argument expression of ``step`` (atoms, tuples of
        them, an index) from the recorded values."""
        values = {name: self.steps[j].value for name, j in step.inputs.items() if j is not None}
        scope = dict(self.trace.namespace, **values, **{_INDEX: _IndexOf()})
        code = compile(ast.fix_missing_locations(ast.Expression(copy.deepcopy(expr))),
                       "<s2sgrad explain>", "eval")
        return eval(code, scope)  # noqa: S307 - the user's own (normal-form) expression

    # -------------------------------------------------------------- static
    def untaken(self, name):
        """Arms of executed ``if`` statements that never ran and would carry
        a derivative of ``name`` to the result."""
        body = self.trace.fn.body
        carrying = _statically_active(body, {name}, self.resolve, self.operation)
        feeding = _statically_feeding(body, self.trace.fn.body[-1], self.operation)
        arms = {}
        for i, step in enumerate(self.steps):
            if isinstance(step.node, ast.If):
                arms.setdefault(id(step.node), [i, set()])[1].add("if" if step.value else "else")
        found = []
        for key, (i, taken) in arms.items():
            node = self.steps[i].node
            for arm, stmts in (("if", node.body), ("else", node.orelse)):
                if arm in taken or not stmts:
                    continue
                names = [target_of(s) for s in walk_statements(stmts)
                         if isinstance(s, ast.Assign) and target_of(s) in carrying
                         and target_of(s) in feeding]
                if names:
                    line = min(getattr(s, "lineno", node.lineno) for s in stmts)
                    found.append(Untaken(i, arm, names, line))
        return found


def _enclosing_ifs(stmts, outer=()):
    """id(statement) -> the ``if`` statements enclosing it (innermost last)."""
    found = {}
    for s in stmts:
        found[id(s)] = outer
        inner = outer + (s,) if isinstance(s, ast.If) else outer
        for field_name in ("body", "orelse"):
            found.update(_enclosing_ifs(getattr(s, field_name, []), inner))
    return found


def _statically_active(body, names, resolve, operation):
    """Names some path may give a value carrying a derivative of ``names``."""
    active = set(names)
    changed = True
    while changed:
        changed = False
        for s in walk_statements(body):
            target = target_of(s)
            if target is None or target in active or isinstance(s, ast.If):
                continue
            if operation(s).kind in ("cut", "constant"):
                continue
            if set(_reads(s)) & active:
                active.add(target)
                changed = True
    return active


def _statically_feeding(body, ret, operation):
    """Names whose value may reach the returned value through derivatives."""
    feeding = {n.id for n in ast.walk(ret) if isinstance(n, ast.Name)}
    changed = True
    while changed:
        changed = False
        for s in walk_statements(body):
            target = target_of(s)
            if target not in feeding or isinstance(s, ast.If):
                continue
            if operation(s).kind in ("cut", "constant"):
                continue
            new = set(_reads(s)) - feeding
            if new:
                feeding |= new
                changed = True
    return feeding


def _all_finite(value):
    if isinstance(value, (list, tuple)):
        return all(_all_finite(v) for v in value)
    try:
        return bool(np.all(np.isfinite(value)))
    except (TypeError, ValueError):  # (not numbers: a string, an object)
        return True


def _any_nonzero(value):
    if value is None:
        return False
    if isinstance(value, (list, tuple)):
        return any(_any_nonzero(v) for v in value)
    try:
        return bool(np.any(np.asarray(value) != 0))
    except (TypeError, ValueError):
        return True


def _ones_like(value):
    if isinstance(value, np.ndarray):
        return np.ones_like(value, dtype=np.result_type(value, 1.0))
    return 1.0


def analyse(fn, namespace, resolve, names, args, kwargs=None):
    """Trace normal-form ``fn`` on ``args`` and analyse it for each of ``names``.

    ``namespace`` holds what the program's free names denote; ``resolve``
    maps a callee expression to its object. Returns ``(trace, analyser,
    {name: Analysis})``.
    """
    trace = Trace(fn, namespace, args, kwargs or {})
    ret = fn.body[-1]
    result_name = ret.value.id if isinstance(ret.value, ast.Name) else None
    analyser = Analyser(trace, resolve, result_name)
    found = {}
    for name in names:
        analysis = analyser.analyse(name)
        if not analysis.active:
            analysis.untaken = analyser.untaken(name)
        found[name] = analysis
    return trace, analyser, found
