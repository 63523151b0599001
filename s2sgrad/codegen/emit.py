"""Emit stage: a gradient ``FunctionDef`` -> deterministic Python source.

astor prints the AST; the ``# grad of: <line>`` markers the reverse-mode
stage left as string statements become real comments. The output is a
program of the ``text`` stage of :mod:`s2sgrad.ir.grammar` (one function
definition that parses), and the same AST always prints the same text,
byte for byte.

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
