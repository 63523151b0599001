"""Dtypes: how each gradient is returned, decided when the code is built.

SPEC §1: a gradient has the type, shape and dtype of its argument (a Python
float gets a Python float back). The derivative expression reverse mode
builds has whatever type NumPy's promotion gives what it combines, which
is not always the argument's: a float32 ``x`` times a float64 constant is
float64, ``np.cos`` of a Python float is a NumPy float64, any operation on
a 0-d array gives a NumPy scalar, and ``d/dx (x * 2.0)`` is the constant
``2.0`` whatever ``x`` is. Generated code is not specialised on argument
types, so where the type cannot be proven at build time the gradient is
returned through ``runtime.as_gradient``, which costs one class and one
dtype comparison when the types agree at run time and casts when not.

What is proven here, from the generated program alone:

* :func:`returned` -- a gradient built by a helper that gives the argument's
  type by construction (``zeros_like(x)``, ``full_like(x, v)``,
  ``as_gradient(g, x)``, ``gradient_of(g, x)``) is returned as it is; any
  other expression gets the cast.
* :func:`cast_outside_float_path` -- a function with a float guard (reverse
  mode's ``if not (x.__class__ is ... is float): <checks>``, entered unless
  every guarded parameter is a Python float) whose gradient is computed by
  the return alone: when the returned expression is provably a Python
  float once those parameters are (operators and ``math`` functions on
  Python floats), the cast moves into the guard, so Python floats in pay
  nothing. :func:`python_float` is that proof. (Read again for a second
  derivative, that guard is left out with the checks: the frontend knows
  the cast by the ``gradient_cast`` mark of ``as_gradient``.)

Output guarantees: the program is unchanged but for the returned
gradients; each one returned either is typed by construction or goes
through ``as_gradient`` on every path but the float guard's, where it is
proven a Python float; the function's value is the same on every path.
"""

import ast
import builtins
import copy

from s2sgrad import runtime
from s2sgrad.primitives import registry

#: helpers whose result has the type of their second argument (the argument
#: a gradient is returned for), and those whose result has the first's
TYPED_BY_LIKE = {runtime.as_gradient: 1, runtime.gradient_of: 1,
                 runtime.zeros_like: 0, runtime.full_like: 0}

_ARITHMETIC = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod, ast.FloorDiv)


def typed_for(expr, argument, resolve):
    """True when ``expr`` has the type of parameter ``argument`` by construction."""
    if not isinstance(expr, ast.Call):
        return False
    position = TYPED_BY_LIKE.get(_helper(expr.func, resolve))
    if position is None or position >= len(expr.args):
        return False
    like = expr.args[position]
    return isinstance(like, ast.Name) and like.id == argument


def _helper(func, resolve):
    try:
        obj = resolve(func)
    except Exception:  # noqa: BLE001 - what does not resolve is no helper
        return None
    try:
        return obj if obj in TYPED_BY_LIKE else None
    except TypeError:  # (an unhashable object)
        return None


def returned(expr, argument, resolve, cast):
    """``expr`` as the gradient returned for parameter ``argument``: as it is
    when typed by construction, else ``cast(expr)`` (the ``as_gradient`` call)."""
    return expr if typed_for(expr, argument, resolve) else cast(expr)


# ------------------------------------------------------- the float path
def python_float(expr, floats, definitions, resolve):
    """True when ``expr`` is a Python float whenever the names in ``floats``
    are: literals, those names, names defined (``definitions``: name ->
    expression) by such expressions, arithmetic operators and calls of
    Python-scalar primitives (``math.sin``) or ``float`` on them. An
    integer-valued expression (``2 * 3``) is not a float."""
    return _number(expr, floats, definitions, resolve, set()) == "float"


def _number(expr, floats, definitions, resolve, seen):
    """"float", "int", or None (not proven a Python number) for ``expr``."""
    if isinstance(expr, ast.Constant):
        kind = type(expr.value)
        return "float" if kind is float else "int" if kind is int else None
    if isinstance(expr, ast.Name):
        if expr.id in floats:
            return "float"
        if expr.id in definitions and expr.id not in seen:
            return _number(definitions[expr.id], floats, definitions, resolve, seen | {expr.id})
        return None
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd)):
        return _number(expr.operand, floats, definitions, resolve, seen)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, _ARITHMETIC):
        kinds = {_number(e, floats, definitions, resolve, seen) for e in (expr.left, expr.right)}
        if None in kinds:
            return None
        if "float" in kinds or isinstance(expr.op, ast.Div):
            return "float"
        return None if isinstance(expr.op, ast.Pow) else "int"  # (2 ** -1 is a float)
    if isinstance(expr, ast.Call) and not expr.keywords:
        if not all(_number(a, floats, definitions, resolve, seen) for a in expr.args):
            return None
        func = resolve(expr.func)
        if func is builtins.float:
            return "float"
        found = registry.record(func)
        if found is not None and found.scalar and found.dtype in ("same", "float"):
            return "float"
    return None


def guarded_names(guard):
    """The parameters a float guard's test names (``x.__class__ is ... is float``)."""
    return {n.value.id for n in ast.walk(guard.test)
            if isinstance(n, ast.Attribute) and n.attr == "__class__"
            and isinstance(n.value, ast.Name)}


def cast_outside_float_path(fn, float_guards, resolve):
    """Move the casts of the return into the float guard where the Python
    float path does not need them (see the module docstring).

    ``fn``'s body must end ``<float guard>, [comments,] return G``, with the
    casts in ``G`` all ``as_gradient(e, p)`` of guarded parameters ``p`` and
    each ``e`` proven a Python float when the guarded parameters are. Then
    the guard ends ``return G`` and the function ``return G`` without the
    casts. Anything else is left as it is.
    """
    body = fn.body
    if not body or not isinstance(body[-1], ast.Return) or body[-1].value is None:
        return fn
    position = len(body) - 2
    while position >= 0 and _is_comment(body[position]):
        position -= 1
    if position < 0 or body[position] not in float_guards:
        return fn
    guard, value = body[position], body[-1].value
    floats = guarded_names(guard)
    definitions = {s.targets[0].id: s.value for s in body[:position]
                   if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)}
    gradients = value.elts if isinstance(value, ast.Tuple) else [value]
    plain, cast = [], False
    for g in gradients:
        inner = _cast_argument(g, resolve)
        if inner is None:
            plain.append(g)
            continue
        expr, argument = inner
        if argument not in floats or not python_float(expr, floats, definitions, resolve):
            return fn
        plain.append(expr)
        cast = True
    if not cast:
        return fn
    guard.body.append(ast.Return(copy.deepcopy(value)))
    body[-1] = ast.Return(ast.Tuple(plain, ast.Load()) if isinstance(value, ast.Tuple) else plain[0])
    return fn


def _cast_argument(expr, resolve):
    """``(e, p)`` for ``as_gradient(e, p)`` with ``p`` a name, else None."""
    if isinstance(expr, ast.Call) and len(expr.args) == 2 and not expr.keywords \
            and isinstance(expr.args[1], ast.Name) \
            and getattr(resolve(expr.func), "gradient_cast", False) is True:
        return expr.args[0], expr.args[1].id
    return None


def _is_comment(stmt):
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) \
        and isinstance(stmt.value.value, str)
