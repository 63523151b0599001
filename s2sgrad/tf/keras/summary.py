"""``Model.summary()``: Keras 3's table, laid out as Keras lays it out.

Keras renders the table with ``rich`` at ``min(88, columns - 4)`` characters
(``min(108, ...)`` with a "Connected to" column for a functional model that
is not a chain of single-input layers), ``columns`` the terminal's (80 when
the output is not a terminal); the columns get ``positions`` of that width
(``[0.45, 0.80, 1.0]``, ``[0.3, 0.56, 0.74, 1.0]``), are shrunk evenly to fit
the borders (rich's ``ratio_reduce``), and text too long for its cell wraps
at spaces (a word longer than its cell is cut with an ellipsis). Output shapes are the symbolic ones of a functional model (None
where any length goes) or a layer's last call's, the batch axis shown as None.
"""

import shutil

import numpy as _np

from s2sgrad.tf.keras.layers import InputLayer as _InputLayer


def _size_text(count, itemsize=4):
    size = float(count * itemsize)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024


def _ratio_reduce(total, values):
    """rich's ``ratio_reduce`` with equal ratios: take ``total`` off ``values``."""
    result, remaining, ratio = [], total, len(values)
    for value in values:
        taken = min(value, round(remaining / ratio))
        result.append(value - taken)
        remaining -= taken
        ratio -= 1
    return result


def _cell_widths(line_length, positions):
    widths, current = [], 0
    for position in positions:
        width = int(position * line_length) - current
        widths.append(width)
        current += width
    cells = [w + 2 for w in widths]  # (a space of padding on either side)
    excess = sum(cells) - (line_length - len(cells) - 1)
    return _ratio_reduce(excess, cells) if excess > 0 else cells


def _wrap(text, width):
    """``text`` in lines of at most ``width`` characters, broken at spaces; a
    word longer than the line is cut with an ellipsis (rich's cells)."""
    lines, line = [], None
    for word in text.split(" "):
        if line is None:
            line = word
        elif len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
    lines.append(line)
    return [ln if len(ln) <= width else ln[:width - 1] + "\u2026" for ln in lines]


def _shape_text(layer):
    nodes = layer.__dict__.get("_inbound_nodes") or ()
    if isinstance(layer, _InputLayer) or nodes:
        outputs = layer.output if isinstance(layer, _InputLayer) else nodes[-1].outputs
        flat = _flat(outputs)
        shapes = [str(tuple(t.shape)) for t in flat]
        return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"
    shape = getattr(layer, "_output_shape", None)
    return "?" if shape is None else str((None, *tuple(shape)[1:]))


def _flat(structure):
    if isinstance(structure, dict):
        return [leaf for v in structure.values() for leaf in _flat(v)]
    if isinstance(structure, (list, tuple)):
        return [leaf for v in structure for leaf in _flat(v)]
    return [structure]


def _is_chain(model):
    """Keras's "sequential-like": one input and a chain of single-input calls,
    no layer called twice."""
    graph = getattr(model, "_graph", None)
    if graph is None:
        return True
    inputs, _, nodes = graph
    if len(_flat(inputs)) != 1:
        return False
    previous = _flat(inputs)[0]
    seen = set()
    for node in nodes:
        tensors = node.input_tensors
        if len(tensors) != 1 or tensors[0] is not previous or id(node.layer) in seen:
            return False
        seen.add(id(node.layer))
        outputs = _flat(node.outputs)
        if len(outputs) != 1:
            return False
        previous = outputs[0]
    return True


def _connections(layer, model_nodes):
    texts = []
    for node in layer.__dict__.get("_inbound_nodes") or ():
        if id(node) not in model_nodes:
            continue
        for tensor in node.input_tensors:
            parent = tensor._node.layer
            calls = parent.__dict__.get("_inbound_nodes") or [tensor._node]
            index = next((i for i, n in enumerate(calls) if n is tensor._node), 0)
            texts.append(f"{parent.name}[{index}][{tensor._index}]")
    return ", ".join(texts) or "-"


def _count(variables):
    return sum(int(_np.size(v.numpy())) for v in variables)


def summary_lines(model, line_length=None, positions=None):
    chain = _is_chain(model)
    if chain:
        default, header = 88, ["Layer (type)", "Output Shape", "Param #"]
        positions = positions or [0.45, 0.80, 1.0]
    else:
        default, header = 108, ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        positions = positions or [0.3, 0.56, 0.74, 1.0]
    if positions[-1] <= 1:
        line_length = line_length or min(default, shutil.get_terminal_size().columns - 4)
    else:  # (absolute positions)
        line_length = line_length or positions[-1]
        positions = [p / line_length for p in positions]
    widths = _cell_widths(line_length, positions)
    right = {2}

    def row(cells, edge="\u2502"):
        wrapped = [_wrap(c, w - 2) for c, w in zip(cells, widths)]
        height = max(len(w) for w in wrapped)
        out = []
        for k in range(height):
            texts = []
            for i, (lines, w) in enumerate(zip(wrapped, widths)):
                text = lines[k] if k < len(lines) else ""
                texts.append(" " + (text.rjust(w - 2) if i in right else text.ljust(w - 2))
                             + " ")
            out.append(edge + edge.join(texts) + edge)
        return out

    def rule(left, middle, end, fill):
        return left + middle.join(fill * w for w in widths) + end

    lines = [f'Model: "{model.name}"', rule("\u250f", "\u2533", "\u2513", "\u2501")]
    lines += row(header, "\u2503")
    lines.append(rule("\u2521", "\u2547", "\u2529", "\u2501"))
    graph = getattr(model, "_graph", None)
    model_nodes = {id(n) for n in graph[2]} if graph is not None else set()
    layers = model.layers
    for i, layer in enumerate(layers):
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        cells = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer), params]
        if not chain:
            cells.append(_connections(layer, model_nodes))
        lines += row(cells)
        if i < len(layers) - 1:
            lines.append(rule("\u251c", "\u253c", "\u2524", "\u2500"))
    lines.append(rule("\u2514", "\u2534", "\u2518", "\u2500"))
    trainable = _count(model.trainable_variables)
    fixed = _count(model.non_trainable_variables)
    total = trainable + fixed
    lines += [f" Total params: {total:,} ({_size_text(total)})",
              f" Trainable params: {trainable:,} ({_size_text(trainable)})",
              f" Non-trainable params: {fixed:,} ({_size_text(fixed)})"]
    return lines
