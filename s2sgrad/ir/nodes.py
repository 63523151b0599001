"""Building IR nodes: the one constructor of a function definition, and copies.

Every stage that makes a function (the parser for a lambda, reverse mode
for the gradient, the tape for a recording) builds it here, so the result
has the same fields on every supported Python version.

Output guarantees: :func:`function_def` returns an ``ast.FunctionDef`` with
every field the running Python version requires; :func:`clone` returns a
copy sharing no node with its original.
"""

import ast


def function_def(name, args, body, lineno=1):
    """An ``ast.FunctionDef`` built the same way on every Python version."""
    fields = dict(name=name, args=args, body=body, decorator_list=[], returns=None)
    if "type_params" in ast.FunctionDef._fields:
        fields["type_params"] = []
    return ast.FunctionDef(**fields, lineno=lineno, col_offset=0)


def substitute(expr, values):
    """A copy of expression ``expr`` with names replaced by copies of
    ``values`` (name -> node); it shares no node with ``expr`` or ``values``.

    Hand-written instead of ``deepcopy`` plus a transformer (a fraction of
    the cost; positions are not copied, names are loads).
    """
    if isinstance(expr, ast.Name):
        replacement = values.get(expr.id)
        if replacement is not None:
            return clone(replacement)
        return ast.Name(expr.id, ast.Load())
    if isinstance(expr, ast.Constant):
        return ast.Constant(expr.value)
    fields = {}
    for field in expr._fields:
        value = getattr(expr, field, None)
        if isinstance(value, list):
            value = [substitute(v, values) if isinstance(v, ast.AST) else v for v in value]
        elif isinstance(value, ast.AST):
            value = substitute(value, values)
        fields[field] = value
    return expr.__class__(**fields)


_NO_VALUES = {}


def clone(node):
    """A copy of expression ``node`` sharing no node with it."""
    return substitute(node, _NO_VALUES)


#: class -> the fields of its nodes that may hold child nodes (``ctx`` left out)
_CHILD_FIELDS = {}


def walk(node):
    """Every node of ``node``'s tree, ``node`` first, as a list: what
    ``ast.walk`` yields (in another order), without the ``Load``/``Store``
    context markers, at a third of its cost. The passes read names through
    it many times per program."""
    found = []
    todo = [node]
    pop, push, keep = todo.pop, todo.append, found.append
    fields = _CHILD_FIELDS
    while todo:
        node = pop()
        keep(node)
        cls = node.__class__
        names = fields.get(cls)
        if names is None:
            names = fields[cls] = tuple(f for f in cls._fields if f != "ctx")
        for name in names:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if isinstance(item, ast.AST):
                        push(item)
            elif isinstance(value, ast.AST):
                push(value)
    return found
