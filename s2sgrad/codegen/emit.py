"""Emit stage: a gradient ``FunctionDef`` -> deterministic Python source.

astor prints the AST; the ``# grad of: <line>`` markers the reverse-mode
stage left as string statements become real comments. The output is a
program of the ``text`` stage of :mod:`s2sgrad.ir.grammar` (one function
definition that parses), and the same AST always prints the same text,
byte for byte. :func:`line_origins` says which line of the program each
printed line came from, so that an error in generated code read again names
the user's line.

Output guarantees: the text is of the ``text`` stage, means what the AST
means, and reads each ``# grad of:`` marker as a comment line.
"""

import ast
import re

import astor

from s2sgrad.transform.adjoints import COMMENT_PREFIX

_MARKER = re.compile(r"^(\s*)((?:'''|\"\"\"|'|\").*)$")


def to_source(fn):
    """Python source of ``fn`` with comment markers turned into comments."""
    # astor's default pretty printer wraps long lines mid-call; one statement
    # per line reads better
    text = astor.to_source(fn, indent_with="    ", pretty_source="".join)
    lines = []
    for line in text.splitlines():
        match = _MARKER.match(line)
        if match and COMMENT_PREFIX in line:
            try:
                value = ast.literal_eval(match.group(2))
            except (ValueError, SyntaxError):
                value = None
            if isinstance(value, str) and value.startswith(COMMENT_PREFIX):
                lines.append(f"{match.group(1)}# {value[len(COMMENT_PREFIX):]}")
                continue
        lines.append(line)
    return "\n".join(lines) + "\n"


def line_origins(fn, source):
    """For each line of ``source`` (``to_source(fn)``), the ``lineno`` of the
    statement of ``fn`` it prints, or of the nearest one before it that has
    one (a ``# grad of:`` marker carries the line of the statement it
    quotes; the statements under it, made by the transform, often carry
    none). Comment lines count with the statement after them."""
    printed = _statements([ast.parse(source).body[0]])
    made = [s for s in _statements([fn]) if not _is_marker(s)]
    origin_of = {}
    current = getattr(fn, "lineno", None)
    for s in _statements([fn]):
        current = getattr(s, "lineno", None) or current
        origin_of[id(s)] = current
    lines = [None] * len(source.splitlines())
    for mine, text in zip(made, printed):
        compound = isinstance(getattr(text, "body", None), list)
        last = text.lineno if compound else text.end_lineno  # (a header: its first line)
        for k in range(text.lineno - 1, min(last, len(lines))):
            lines[k] = origin_of[id(mine)]
    following = None
    for k in range(len(lines) - 1, -1, -1):  # comments: the statement after them
        if lines[k] is None:
            lines[k] = following
        following = lines[k]
    for k in range(1, len(lines)):  # (lines after the last statement)
        lines[k] = lines[k] or lines[k - 1]
    return lines


def _statements(stmts):
    """Statements in the order they are printed (a block's after its header)."""
    out = []
    for s in stmts:
        out.append(s)
        for field in ("body", "orelse", "finalbody"):
            block = getattr(s, field, None)
            if isinstance(block, list):
                out.extend(_statements(block))
    return out


def _is_marker(s):
    return isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and \
        isinstance(s.value.value, str) and s.value.value.startswith(COMMENT_PREFIX)
