"""Which arguments of a function may be lists, tuples or dicts.

Nothing about argument types is known when code is generated. The gradient
of a list, tuple or dict argument is built from a cotangent that sums entry
by entry (``runtime.Cotangents``, ``runtime.DictCotangent``) and must come
back in the argument's own structure (SPEC §1, as JAX's pytrees do), which
``runtime.as_gradient`` does at run time. Only arguments the function uses
as containers can be containers: those it subscripts (``p[0]``, ``W, b =
p``, ``for W, b in layers``), and those it passes to the user's own functions
or to primitives that read containers as such (builtin ``sum``, the dict
helpers). Their gradients get that one call; every other gradient is
returned as the adjoint computed it.

Output guarantees: the program is not changed; an argument not in the
answer is never a container the gradient must rebuild (an argument that
might be one is in it).
"""

import ast

from s2sgrad import runtime
from s2sgrad.ir.nodes import walk
from s2sgrad.primitives import containers, registry
from s2sgrad.transform.adjoints import walk_statements


def may_be_structures(body, names, context):
    """The names among ``names`` that ``body`` uses as containers."""
    names = set(names)
    found = set()
    copies = []  # (copy, original): ``ws = weights`` uses weights as ws is used
    for s in walk_statements(body):
        if not isinstance(s, (ast.Assign, ast.Expr)):
            continue
        value = s.value
        if isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name):
            found.add(value.value.id)
        elif isinstance(value, ast.Call):
            found.update(_container_arguments(value, context))
        elif isinstance(value, ast.Name) and isinstance(s, ast.Assign) \
                and isinstance(s.targets[0], ast.Name):
            copies.append((s.targets[0].id, value.id))
    grown = True
    while grown:
        grown = False
        for copied, original in copies:
            if copied in found and original not in found:
                found.add(original)
                grown = True
    return found & names


def _container_arguments(call, context):
    """Names ``call`` passes where a container is read as one."""
    given = list(call.args) + [k.value for k in call.keywords]
    local = isinstance(call.func, ast.Name) and call.func.id in context.local_functions
    callee = None if local else context.resolve(call.func)
    if local or registry.is_user_function(callee):
        return {a.id for a in given if isinstance(a, ast.Name)}
    found = registry.record(callee)
    if found is None:
        return set()
    return {a.id for i, a in enumerate(call.args)
            if i in found.structures and isinstance(a, ast.Name)}


def sequence_operator(binop, sequences):
    """The primitive differentiating ``a + b`` or ``a * n`` when an operand
    may be a list or tuple (a name in ``sequences``): concatenation and
    repetition, whose rules look at the operands' types at run time (a
    user function's result may be a tuple or an array); else None."""
    operands = [binop.left, binop.right]
    if not any(isinstance(a, ast.Name) and a.id in sequences for a in operands):
        return None
    if isinstance(binop.op, ast.Add):
        return containers.sequence_add
    if isinstance(binop.op, ast.Mult):
        return containers.sequence_repeat
    return None


#: helpers whose result may be the 0.0 placeholder of a zero cotangent
#: (an item of a container cotangent that received none) instead of an
#: array of the primal's shape
PLACEHOLDER_HELPERS = (
    runtime.element_cotangent, runtime.cotangent_or_zero, containers.found_cotangent,
    containers.values_cotangent, containers.without_item, containers.addend_cotangent,
    containers.repeated_cotangent, containers.unzipped_cotangent,
    containers.transposed_cotangent, containers.copied_cotangent,
    containers.items_cotangent, containers.keyed_cotangent)


def reads_placeholder(expr, zero_filled, context):
    """True when ``expr`` may be a 0.0 placeholder rather than an array
    shaped like its primal: it reads a variable in ``zero_filled`` (a loop
    or branch where nothing flowed) or calls one of :data:`PLACEHOLDER_HELPERS`."""
    for node in walk(expr):
        if isinstance(node, ast.Name) and node.id in zero_filled:
            return True
        if isinstance(node, ast.Call) and any(
                context.resolve(node.func) is helper for helper in PLACEHOLDER_HELPERS):
            return True
    return False
