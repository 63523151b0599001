"""``sg.explain``: why a gradient is zero or not finite, in the user's terms.

``explain(f, *args, wrt=0)`` computes ``f``'s value and gradient at
``args`` with the generated code, and when a gradient is zero or not
finite says why: the lines of ``f`` and the operations that cut the path
from the argument to the result (a cast to ``int``, ``np.argmax``,
``np.round``, a comparison, ``sg.stop_gradient``, an arm of an ``if`` that
did not run), the line where the derivative is zero at these values, or the
first line that made a NaN or an infinity, with the values involved. The
analysis (:mod:`s2sgrad.transform.explain`) runs on the normal-form
program: one operation per statement, each with its line in ``f``'s file.
"""

import ast
import copy
import inspect

import numpy as np

from s2sgrad import pipeline
from s2sgrad.api import value_and_grad
from s2sgrad.primitives import registry
from s2sgrad.tape.tensor import stop_gradient
from s2sgrad.transform import explain as analysis
from s2sgrad.transform.adjoints import walk_statements

__all__ = ["explain"]

#: at most this many findings of one kind are listed
MAX_LISTED = 4


def explain(f, *args, wrt=0, **kwargs):
    """A report (str) of why ``f``'s gradient at ``args`` is zero or not finite.

    ``wrt`` is as for :func:`s2sgrad.grad`; keyword arguments are passed to
    ``f``. When every gradient is finite and not zero, the report says so.
    ``f`` runs twice: its generated gradient, then its traced normal form.

    >>> import numpy as np, s2sgrad as sg
    >>> def f(x):
    ...     return np.maximum(x, 0.0) * 2.0
    >>> print(sg.explain(f, -1.0))            # doctest: +ELLIPSIS
    f(x=-1.0) = 0.0
    gradient with respect to x: zero
      the derivative is zero at these values:
        <doctest explain[1]>:2: return np.maximum(x, 0.0) * 2.0
          the derivative of np.maximum() is zero here: x = -1.0
    <BLANKLINE>
    """
    if not inspect.isfunction(f):
        raise TypeError(f"explain expects a Python function, got {type(f).__name__}")
    names, is_tuple = pipeline.wrt_names(f, wrt)
    integers = _integer_arguments(f, names, args, kwargs)
    if integers:
        return _explain_integers(f, names, integers, args, kwargs)
    with np.errstate(all="ignore"):
        value, gradients = value_and_grad(f, wrt=wrt)(*args, **kwargs)
    if not is_tuple:
        gradients = (gradients,)
    g = pipeline.program_after(f, wrt, "inline")
    context = g.context
    namespace = dict(g.parsed.globals)
    namespace.update((name, cell.cell_contents) for name, cell in g.parsed.closure.items())
    namespace.update(context.env)
    try:
        trace, analyser, found = analysis.analyse(g.program, namespace, context.resolve, names,
                                                  args, kwargs)
    except analysis.TraceTooLong:
        trace = None
    writer = _Report(f, context, trace, analyser if trace else None)
    lines = [writer.header(args, kwargs, value)]
    for name, gradient in zip(names, gradients):
        lines += writer.section(name, gradient, value, found.get(name) if trace else None)
    return "\n".join(lines) + "\n"


def _integer_arguments(f, names, args, kwargs):
    """``{name: value}`` of the differentiated arguments that are integers
    (a Python int or bool, an integer or boolean array): a gradient with
    respect to them is refused, so the report says why instead."""
    try:
        bound = inspect.signature(f).bind(*args, **kwargs).arguments
    except TypeError:
        return {}  # (the call itself is wrong: value_and_grad says how)
    found = {}
    for name in names:
        value = bound.get(name)
        kind = getattr(getattr(value, "dtype", None), "kind", None)
        if type(value) in (int, bool) or kind in ("i", "u", "b"):
            found[name] = value
    return found


def _explain_integers(f, names, integers, args, kwargs):
    """The report when some differentiated arguments are integers: theirs
    says so, the others' are explained as usual."""
    floats = tuple(name for name in names if name not in integers)
    if floats:
        report = explain(f, *args, wrt=floats, **kwargs).rstrip("\n").split("\n")
    else:
        with np.errstate(all="ignore"):
            value = f(*args, **kwargs)
        report = [_Report(f, None, None, None).header(args, kwargs, value)]
    for name, value in integers.items():
        spelled = f"{float(value)!r}" if np.ndim(value) == 0 else \
            f"np.asarray({name}, dtype=float)"
        kind = "an integer" if np.ndim(value) == 0 else f"an array of dtype {value.dtype}"
        report += [f"gradient with respect to {name}: none (it is {kind}: {_short(value)})",
                   "  an integer input has no derivative: s2sgrad differentiates with respect "
                   "to float arguments only;",
                   f"  pass {spelled} to differentiate with respect to {name}"]
    return "\n".join(report) + "\n"


def near_thresholds(f, *args, within, **kwargs):
    """Comparisons of ``f`` at ``args`` whose two sides are less than
    ``within`` apart (a finite difference of that step may cross them):
    a list of ``(file:line and source, comparison, distance)``."""
    g = pipeline.program_after(f, 0, "inline")
    namespace = dict(g.parsed.globals)
    namespace.update((name, cell.cell_contents) for name, cell in g.parsed.closure.items())
    namespace.update(g.context.env)
    trace = analysis.Trace(g.program, namespace, args, kwargs)
    analyser = analysis.Analyser(trace, g.context.resolve, None)
    writer = _Report(f, g.context, trace, analyser)
    found, seen = [], set()
    for step in trace.steps:
        node = step.node
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Compare)) \
                or id(node) in seen:
            continue
        compare = node.value
        try:
            left = analyser.evaluate(compare.left, step)
            right = analyser.evaluate(compare.comparators[0], step)
            distance = float(np.min(np.abs(np.asarray(left, dtype=float) - right)))
        except (TypeError, ValueError):
            continue
        if distance < within:
            seen.add(id(node))
            found.append((writer.where(node), writer.spell(analysis.target_of(node)), distance))
    return found


class _Report:
    """Writes the findings of one analysis as text."""

    def __init__(self, function, context, trace, analyser):
        self.function = function
        self.context = context
        self.trace = trace
        self.analyser = analyser
        self.definitions = {}
        if trace is not None:
            for s in walk_statements(trace.fn.body):
                if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
                    self.definitions.setdefault(s.targets[0].id, []).append(s)

    # ------------------------------------------------------------ pieces
    def header(self, args, kwargs, value):
        params = list(inspect.signature(self.function).parameters)
        given = [f"{name}={_short(v)}" for name, v in zip(params, args)]
        given += [f"{name}={_short(v)}" for name, v in kwargs.items()]
        return f"{self.function.__qualname__}({', '.join(given)}) = {_short(value)}"

    def user(self, name):
        return self.context.user_names.get(name, name)

    def spell(self, name, depth=0):
        """The user's expression for the value of ``name`` (a temporary is
        spelt out as the expression it stands for)."""
        defs = self.definitions.get(name, [])
        if name not in self.context.temporaries or len(defs) != 1 or depth > 3:
            return self.user(name)
        rhs = defs[0].value

        class Spell(ast.NodeTransformer):
            def visit_Name(inner, node):  # noqa: N805
                if node.id in self.context.temporaries:
                    return ast.Name(self.spell(node.id, depth + 1), ast.Load())
                return ast.Name(self.user(node.id), ast.Load())

        text = ast.unparse(Spell().visit(copy.deepcopy(rhs)))
        return text if len(text) <= 60 else self.user(name)

    def where(self, node):
        lineno = getattr(node, "lineno", None)
        text = self.context.source_line(node) if lineno else None
        place = f"{self.context.filename}:{lineno}" if lineno else self.context.filename
        return f"{place}: {text}" if text else place

    def values(self, step, skip=()):
        """``name = value`` of what a step read (constants are in its source)."""
        parts = []
        for name, j in step.inputs.items():
            if j is None or name in skip:
                continue
            parts.append(f"{self.spell(name)} = {_short(self.trace.steps[j].value)}")
        return "; ".join(parts)

    # ------------------------------------------------------------ sections
    def section(self, name, gradient, value, found):
        argument = self.user(name)
        verdict = _verdict(gradient, value)
        if verdict == "fine":
            largest = max(float(np.max(np.abs(leaf), initial=0.0)) for leaf in _leaves(gradient))
            return [f"gradient with respect to {argument}: fine (finite, not zero; "
                    f"largest magnitude {largest:.3g})"]
        lines = [f"gradient with respect to {argument}: {verdict}"]
        if found is None:
            return lines + ["  (the function runs too many statements to trace it)"]
        if verdict == "zero":
            lines += self.zero(argument, found)
        else:
            lines += self.nonfinite(found)
        return lines

    def zero(self, argument, found):
        if not found.touched:
            lines = []
            if found.unused:
                lines.append(f"  {self.function.__qualname__} never reads {argument}: "
                             f"the result does not depend on it")
            else:
                lines.append(f"  the result does not depend on {argument}: no value computed "
                             f"from it reaches the result")
            for outside, i in list(found.outside.items())[:MAX_LISTED]:
                lines.append(f"  the result is computed from {outside}, a value made outside "
                             f"{self.function.__qualname__} (not an argument), at")
                lines.append(f"    {self.where(self.trace.steps[i].node)}")
            lines += self.untaken(argument, found)
            return lines
        if not found.active:
            lines = [f"  every path from {argument} to the result is cut (no derivative flows):"]
            for cut in self.shown_cuts(found)[:MAX_LISTED]:
                lines += self.cut(cut)
            lines += self.untaken(argument, found)
            return lines
        if found.zeroed:
            lines = ["  the derivative is zero at these values:"]
            for zeroed in found.zeroed[:MAX_LISTED]:
                lines += self.zeroed(zeroed)
        else:
            lines = [f"  {argument} reaches the result through derivatives, whose contributions "
                     f"cancel at these values (a stationary point)"]
        cuts = self.shown_cuts(found)
        if cuts:
            lines.append(f"  other paths from {argument} to the result are cut:")
            for cut in cuts[:MAX_LISTED]:
                lines += self.cut(cut)
        return lines + self.unfollowed(found)

    def shown_cuts(self, found):
        """The cuts worth a line: not an ``if`` reported as a branch not
        taken, nor the comparison that is only the test of an ``if`` listed."""
        untaken = {id(self.trace.steps[u.step].node) for u in found.untaken}
        cuts = [c for c in found.cuts if id(self.trace.steps[c.step].node) not in untaken]
        tests = set()
        for c in found.cuts:
            node = self.trace.steps[c.step].node
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name):
                tests.add(node.test.id)
        return [c for c in cuts if analysis.target_of(self.trace.steps[c.step].node) not in tests]

    def cut(self, cut):
        step = self.trace.steps[cut.step]
        node = step.node
        lines = [f"    {self.where(node)}"]
        op = self.analyser.operation(node)
        if isinstance(node, ast.If):
            lines.append(f"      {self.branch(step)}")
            return lines
        reason = _cut_reason(op)
        times = f" (on {cut.times} passes of a loop)" if cut.times > 1 else ""
        lines.append(f"      {reason}{times}: {self.values(step)} gives {_short(step.value)}")
        return lines

    def branch(self, step):
        node = step.node
        test = node.test
        spelt = self.spell(test.id) if isinstance(test, ast.Name) else ast.unparse(test)
        made = step.inputs.get(test.id) if isinstance(test, ast.Name) else None
        values = ""
        if made is not None and self.trace.steps[made].inputs:
            values = self.values(self.trace.steps[made])
        exits = [arm for arm, stmts in ((True, node.body), (False, node.orelse))
                 if len(stmts) == 1 and isinstance(stmts[0], ast.Break)]
        if exits:  # (a while loop's test: the normal form's `if c: ... else: break`)
            passes = sum(1 for s in self.trace.steps if s.node is node and bool(s.value) != exits[0])
            first = f"; at the first test: {values}" if values else ""
            return (f"how many passes the loop makes depends on {spelt}, which has no "
                    f"derivative ({passes} passes here{first})")
        arm = "if" if step.value else "else"
        detail = f" ({values})" if values else ""
        return f"the {arm} arm ran: {spelt} is {bool(step.value)}{detail}"

    def untaken(self, argument, found):
        lines = []
        for untaken in found.untaken[:MAX_LISTED]:
            step = self.trace.steps[untaken.step]
            users = [self.user(n) for n in untaken.names if n not in self.context.temporaries]
            names = ", ".join(dict.fromkeys(users)) or "a value"

            lines.append(f"  a branch not taken: {self.where(step.node)}")
            lines.append(f"    {self.branch(step)}; the {untaken.arm} arm (from line "
                         f"{untaken.lineno}), which did not run, computes {names} from "
                         f"{argument}")
        return lines

    def zeroed(self, zeroed):
        step = self.trace.steps[zeroed.step]
        op = self.analyser.operation(step.node)
        times = f" (on {zeroed.times} passes of a loop)" if zeroed.times > 1 else ""
        return [f"    {self.where(step.node)}",
                f"      the derivative of {op.spelling} is zero here{times}: {self.values(step)}"]

    def unfollowed(self, found):
        return [f"  (not followed backwards: {self.where(self.trace.steps[i].node)})"
                for i in found.unfollowed[:MAX_LISTED]]

    def nonfinite(self, found):
        lines = []
        if found.first_nonfinite is not None:
            step = self.trace.steps[found.first_nonfinite]
            op = self.analyser.operation(step.node)
            lines.append("  the first value that is not finite is made at")
            lines.append(f"    {self.where(step.node)}")
            lines.append(f"      {op.spelling or 'it'} gives {_short(step.value)} from "
                         f"{self.values(step) or 'constants'}")
        for blowup in found.blowups[:MAX_LISTED]:
            step = self.trace.steps[blowup.step]
            op = self.analyser.operation(step.node)
            lines.append("  the derivative is not finite at")
            lines.append(f"    {self.where(step.node)}")
            lines.append(f"      the derivative of {op.spelling} at {self.values(step)} is "
                         f"{_short(blowup.derivative)} (the cotangent reaching it: "
                         f"{_short(blowup.cotangent)})")
            if _zero_where_bad(blowup.cotangent, blowup.derivative):
                lines.append(f"      hint: the cotangent is 0 where the derivative is not finite "
                             f"(0 * inf = nan): a value np.where (or a factor 0) discards is "
                             f"still differentiated; give {op.spelling} a safe input where its "
                             f"value is not used (np.where(keep, value, 1.0) inside the call, "
                             f"not only around it)")
        if not lines:
            lines.append("  (no single statement made it: the values were not finite on entry)")
        return lines + self.unfollowed(found)


def _cut_reason(op):
    """Why the operation of a cut carries no derivative, from the primitive table."""
    if op.primitive is stop_gradient:
        return "sg.stop_gradient() stops the derivative (on purpose)"
    record = registry.record(op.primitive) if op.primitive is not None else None
    if record is None:
        return f"{op.spelling} carries no derivative"
    if record.dtype == "int":
        return f"{op.spelling} has no derivative (it gives an integer)"
    if record.dtype == "bool":
        return f"{op.spelling} has no derivative (it gives a truth value)"
    if record.dtype == "given":
        return f"{op.spelling} has no derivative (its result does not depend on its input's values)"
    return f"{op.spelling} has no derivative (it is piecewise constant)"


def _verdict(gradient, value):
    if not np.all(np.isfinite(value)) or not _all_finite(gradient):
        return "not finite (" + _kinds(gradient, value) + ")"
    if not _any_nonzero(gradient):
        return "zero"
    return "fine"


def _kinds(gradient, value):
    flat = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in _leaves(gradient)]) \
        if _leaves(gradient) else np.zeros(0)
    kinds = []
    if np.isnan(flat).any():
        kinds.append("nan")
    if np.isinf(flat).any():
        kinds.append("inf")
    if not np.all(np.isfinite(value)):
        kinds.append(f"the value itself is {_short(value)}")
    return ", ".join(kinds) or "not finite"


def _leaves(value):
    """The arrays and numbers of a (nested) gradient; an entry None is zero."""
    if value is None:
        return [0.0]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    return [value]


def _all_finite(value):
    return all(np.all(np.isfinite(leaf)) for leaf in _leaves(value))


def _any_nonzero(value):
    return any(np.any(np.asarray(leaf) != 0) for leaf in _leaves(value))


def _zero_where_bad(cotangent, derivative):
    try:
        g, d = np.broadcast_arrays(np.asarray(cotangent, dtype=float), np.asarray(derivative, dtype=float))
    except (TypeError, ValueError):
        return False
    bad = ~np.isfinite(d)
    return bool(bad.any() and np.all(g[bad] == 0))


def _short(value):
    if isinstance(value, np.generic) and not isinstance(value, np.floating):
        value = value.item()
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=8, precision=4)
    elif isinstance(value, (float, np.floating)):
        text = f"{float(value):.6g}"
        if text.lstrip("-").isdigit():
            text += ".0"  # (a float, not an int)
    else:
        text = repr(value)
    return " ".join(text.split())
