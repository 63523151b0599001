"""``GradientTape.explain``: why the tape's gradient is ``None`` for a source.

A source's gradient is ``None`` when the tape cannot connect it to the
target. The tape knows why from what it kept: whether it watches the source
(a constant is not watched unless ``tape.watch`` is called, nor a Variable
with ``trainable=False``), whether the target is a recorded Tensor at all
(a value computed before the ``with`` block, inside ``stop_recording()``, or
from a value taken out of the tape by ``t.numpy()``, ``float(t)`` or
``np.asarray(t)`` is a constant), and where an operation gave a value
computed from the source a result with no derivative: the tape notes each
such place while it records (``tensor._note_cut``: an ``np.argmax``, a
rounding, a comparison, a cast to an integer dtype, ``sg.stop_gradient``),
with the user's file and line. The lines where a value taken out of the
tape came back into it (:mod:`s2sgrad.tape.escape`) are listed too: the
gradient misses the paths through them.
"""

import numpy as np

from s2sgrad.primitives import registry
from s2sgrad.tape.escape import spelling
from s2sgrad.tape.tensor import Tensor, stop_gradient

#: at most this many cut operations are listed per source
MAX_LISTED = 6


def explain_tape(tape, target, sources):
    """The report of :meth:`GradientTape.explain` (see the module docstring)."""
    records = tape._records if tape._records is not None else tape._spent
    producers = {}
    for record in records or ():
        outs = record.out if type(record.out) is tuple else (record.out,)
        for out in outs:
            producers[id(out)] = record
    flat = _leaves(sources)
    lines = []
    for i, source in enumerate(flat):
        label = "the source" if len(flat) == 1 else f"source {i}"
        lines += _explain_source(tape, target, source, label, producers, records is not None)
    escapes = tape._escapes
    if escapes is not None and escapes.warned:
        lines.append("values taken out of the tape came back into it as constants (no gradient "
                     "flows through them):")
        lines += [f"    {filename}:{lineno}: {what}"
                  for (filename, lineno), what in list(escapes.warned.items())[:MAX_LISTED]]
    return "\n".join(lines) + "\n"


def _explain_source(tape, target, source, label, producers, have_records):
    if not isinstance(source, Tensor):
        return [f"{label} is a {type(source).__name__}, not a Tensor or Variable: "
                f"the tape differentiates only with respect to those"]
    what = f"{label} ({_describe(source)})"
    if source._value.dtype.kind not in "fc":
        return [f"{what}: None, because its dtype {source._value.dtype} is not floating "
                f"point (an integer has no derivative); make it a float"]
    if not isinstance(target, Tensor):
        return [f"{what}: None, because the target is a {type(target).__name__}, not a Tensor: "
                f"it was computed from values taken out of the tape (t.numpy(), float(t), "
                f"np.asarray(t)) or made outside it, which are constants"]
    nodes = _nodes_of(tape, source)
    if source._is_variable and source._uid not in tape._watched_vars:
        if not source._trainable:
            return [f"{what}: None, because the tape does not watch it: it was created with "
                    f"trainable=False (call tape.watch on it)"]
        cuts = [key for key, inputs in tape._cuts.items() if any(t is source for t in inputs)]
        if not cuts:
            return [f"{what}: None, because the tape never saw it used while recording"]
        return [f"{what}: None, because the tape saw it used only by operations with no "
                f"derivative:"] + _cut_lines(cuts)
    if not source._is_variable and not nodes:
        return [f"{what}: None, because the tape does not watch it: a constant is watched "
                f"only after tape.watch(it); a sg.Variable is watched when it is used"]
    target_node = target._snap if target._is_variable else target
    cuts = _cuts_from(tape, nodes, producers)
    if target_node is None or id(target_node) not in tape._tracked:
        lines = [f"{what}: None, because the target was not recorded by this tape: it was "
                 f"computed before the `with` block, inside stop_recording(), or only from "
                 f"values with no derivative or taken out of the tape (t.numpy(), float(t))"]
    elif have_records and _reaches(target_node, nodes, producers):
        return [f"{what}: connected (the gradient is not None)"]
    else:
        lines = [f"{what}: None, because no recorded operation leads from it to the target"]
    if cuts:
        lines.append("  operations that gave a value computed from it a result with no "
                     "derivative:")
        lines += _cut_lines(cuts)
    return lines


def _cut_lines(cuts):
    lines = []
    for prim, (filename, lineno) in cuts[:MAX_LISTED]:
        place = f"{filename}:{lineno}" if filename else "(unknown line)"
        lines.append(f"    {place}: {_reason(prim)}")
    return lines


def _describe(source):
    kind = "a Variable" if source._is_variable else "a Tensor"
    return f"{kind} of shape {np.shape(source._value)}, dtype {source._value.dtype}"


def _reason(prim):
    record = registry.record(prim)
    if prim is stop_gradient:
        return "sg.stop_gradient (no derivative, on purpose)"
    name = spelling(prim)
    if record is not None and record.dtype == "bool":
        return f"{name} gives a truth value"
    if record is not None and record.dtype == "int":
        return f"{name} gives an integer"
    if record is not None and record.nondifferentiable:
        return f"{name} has no derivative (piecewise constant)"
    return f"{name} gave a result that is not floating point (an integer or bool dtype)"


def _nodes_of(tape, source):
    """The ids of the recorded nodes standing for ``source`` on ``tape``."""
    if source._is_variable:
        return {id(r) for r in tape._reads.get(source._uid, ())}
    return {id(source)} if id(source) in tape._tracked else set()


def _reaches(node, sources, producers, seen=None):
    """True when recorded ``node`` is computed from one of ``sources`` (ids)."""
    todo, seen = [node], set()
    while todo:
        t = todo.pop()
        if id(t) in sources:
            return True
        if id(t) in seen:
            continue
        seen.add(id(t))
        record = producers.get(id(t))
        if record is not None:
            todo.extend(_tensors(record.args))
    return False


def _cuts_from(tape, nodes, producers):
    """(primitive, (file, line)) of the noted cuts whose input is computed
    from the source, in the order they happened."""
    return [key for key, inputs in tape._cuts.items()
            if any(_reaches(t, nodes, producers) for t in inputs)]


def _tensors(args):
    for a in args:
        if isinstance(a, Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            yield from _tensors(a)


def _leaves(structure):
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _leaves(item)]
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in _leaves(structure[key])]
    return [structure]
