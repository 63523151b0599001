"""The program representation every stage after parsing passes along.

A :class:`Program` is a function definition (a ``ast.FunctionDef``) plus
the environment that gives every free name in it a value. The front end
makes one from user source; the tape makes one from what it recorded;
the transforms take one and return another; codegen compiles one.
"""

import ast
from dataclasses import dataclass, field


@dataclass
class Program:
    """A function as an AST plus the objects its free names denote."""

    tree: ast.FunctionDef
    #: name -> object for every free name the tree reads (globals,
    #: closure values, numpy, runtime helpers).
    env: dict
    #: where the tree's line numbers point (for errors and comments).
    filename: str = "<s2sgrad>"
    #: the user's source lines, indexed by the tree's ``lineno`` - 1.
    source_lines: list = field(default_factory=list)
    #: names whose values must be read live from the user's globals /
    #: closure cells rather than snapshotted in ``env``.
    live_globals: dict = None
    closure_cells: dict = field(default_factory=dict)
