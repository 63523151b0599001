"""Building IR nodes: the one constructor of a function definition.

Every stage that makes a function (the parser for a lambda, reverse mode
for the gradient, the tape for a recording) builds it here, so the result
has the same fields on every supported Python version.

Output guarantees: :func:`function_def` returns an ``ast.FunctionDef`` with
every field the running Python version requires.
"""

import ast


def function_def(name, args, body, lineno=1):
    """An ``ast.FunctionDef`` built the same way on every Python version."""
    fields = dict(name=name, args=args, body=body, decorator_list=[], returns=None)
    if "type_params" in ast.FunctionDef._fields:
        fields["type_params"] = []
    return ast.FunctionDef(**fields, lineno=lineno, col_offset=0)
