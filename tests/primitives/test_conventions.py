"""Conventions every rule must follow, checked over the whole registry.

* every registered primitive has a finite-difference test;
* every rule body is a straight-line template (what the transformer
  inlines), and everything it calls has a rule or is non-differentiable,
  so generated code can be differentiated again;
* rule signatures follow the primitive's parameter names and order;
* float32 inputs give float32 gradients;
* ``import s2sgrad.primitives`` does not import sympy.
"""

import ast
import builtins
import inspect
import operator
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from s2sgrad.primitives import reductions, registry
from tests.primitives import (
    test_derived,
    test_elementwise,
    test_linalg,
    test_operators,
    test_reductions,
    test_shape,
)

MODULES = [test_operators, test_derived, test_elementwise, test_reductions, test_linalg, test_shape]
ALL_CASES = [case for module in MODULES for case in module.CASES]
def _own_primitives():
    """Primitives whose rules s2sgrad ships (tests may register their own with defgrad)."""
    return [p for p in registry.registered_primitives()
            if getattr(registry.lookup(p).vjp, "__module__", "").startswith("s2sgrad.")]


RULES = list({id(r.vjp): r for r in map(registry.lookup, _own_primitives())}.values())


def _name(primitive):
    module = getattr(primitive, "__module__", None) or type(primitive).__module__
    return f"{module}.{getattr(primitive, '__qualname__', getattr(primitive, '__name__', repr(primitive)))}"


def test_every_registered_primitive_is_tested():
    covered = {id(case.primitive) for case in ALL_CASES}
    covered |= {id(p) for module in MODULES for p in getattr(module, "ALSO_COVERED", ())}
    untested = [_name(p) for p in _own_primitives() if id(p) not in covered]
    assert untested == [], f"rules without a test case: {untested}"


# -- the template grammar ---------------------------------------------------

FORBIDDEN = (
    ast.IfExp, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp,
    ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom, ast.Starred,
    ast.BoolOp,  # and/or short-circuit: a branch
)

OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
    ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv,
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_,
    ast.Invert: operator.invert, ast.BitAnd: operator.and_, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}


#: helpers whose own derivative is not provided: differentiating through
#: them fails loudly (no rule) instead of silently. prod_of_others_jvp is
#: what the second derivative of prod calls; a third derivative of prod
#: would need it.
LAST_ORDER = {reductions.prod_of_others_jvp}


def _known(obj):
    return registry.lookup(obj) is not None or registry.is_nondifferentiable(obj) or obj in LAST_ORDER


def _resolve(node, rule):
    """The object an expression of names and attributes denotes in the rule's module."""
    if isinstance(node, ast.Name):
        scope = rule.vjp.__globals__
        return scope[node.id] if node.id in scope else getattr(builtins, node.id)
    if isinstance(node, ast.Attribute):
        return getattr(_resolve(node.value, rule), node.attr)
    raise AssertionError(f"calls must name their function, not {ast.dump(node)}")


def template_errors(rule):
    """Ways in which ``rule``'s body breaks the straight-line template grammar."""
    fn = rule.vjp
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    errors = []
    args = tree.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    if params[:2] != ["g", "ans"]:
        errors.append("parameters must start with (g, ans)")
    if args.vararg or args.kwarg:
        errors.append("no *args / **kwargs in a rule signature")
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    *assignments, last = body
    if not (isinstance(last, ast.Return) and isinstance(last.value, ast.Tuple)):
        errors.append("must end with `return (e1, ...)`, a tuple display")
    bound = set(params)
    for statement in assignments:
        if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0], ast.Name)):
            errors.append(f"line {statement.lineno}: only `name = expr` assignments may precede the return")
            continue
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, FORBIDDEN):
                errors.append(f"line {node.lineno}: {type(node).__name__} is not allowed")
            if isinstance(node, ast.keyword) and node.arg is None:
                errors.append(f"line {node.lineno}: **kwargs splat is not allowed")
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
                if node.id not in fn.__globals__ and not hasattr(builtins, node.id):
                    errors.append(f"line {node.lineno}: {node.id} is neither local nor a module global")
            if isinstance(node, ast.Call) and not _known(_resolve(node.func, rule)):
                errors.append(f"line {node.lineno}: {ast.unparse(node.func)} has no rule (not differentiable again)")
            if isinstance(node, (ast.BinOp, ast.UnaryOp)) and not _known(OPERATORS[type(node.op)]):
                errors.append(f"line {node.lineno}: operator {type(node.op).__name__} has no rule")
            if isinstance(node, ast.Subscript) and not _known(operator.getitem):
                errors.append("subscripts need operator.getitem's rule")
        if isinstance(statement, ast.Assign):
            bound.add(statement.targets[0].id)
    return errors


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.vjp.__qualname__)
def test_rule_body_is_a_straight_line_template(rule):
    assert template_errors(rule) == []


def test_the_grammar_check_rejects_branches():
    def branchy(g, ans, x):
        scale = 2 if x else 1
        return ([g * scale for _ in range(2)],)

    errors = template_errors(registry.Primitive(np.sin, vjp=branchy))
    assert any("IfExp" in e for e in errors)
    assert any("ListComp" in e for e in errors)


# -- signatures -------------------------------------------------------------

#: primitives whose keyword-able parameter names a shared rule cannot match
#: (builtin pow's ``base``/``exp``; keyword calls to it fail to bind).
SIGNATURE_EXEMPT = {id(builtins.pow)}
if "newshape" in inspect.signature(np.reshape).parameters:
    # NumPy < 2.4 (the newest for Python 3.10) still has the deprecated
    # newshape= keyword; the rule follows the current signature
    SIGNATURE_EXEMPT.add(id(np.reshape))


def _signature(obj):
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize("primitive", _own_primitives(), ids=_name)
def test_rule_signature_follows_the_primitive(primitive):
    rule_params = list(inspect.signature(registry.lookup(primitive).vjp).parameters.values())[2:]
    sig = _signature(primitive)
    if sig is None or id(primitive) in SIGNATURE_EXEMPT or isinstance(primitive, type):
        return
    theirs = list(sig.parameters.values())
    assert len(rule_params) <= len(theirs)
    for mine, their in zip(rule_params, theirs):
        if their.kind == their.VAR_POSITIONAL:
            pytest.fail(f"{their} is variadic; a rule cannot mirror it")
        if their.kind != their.POSITIONAL_ONLY and their.name not in ("g", "ans"):
            assert mine.name == their.name
            assert (mine.kind == mine.KEYWORD_ONLY) == (their.kind == their.KEYWORD_ONLY), mine.name
        if their.kind == their.POSITIONAL_ONLY:
            continue  # where(condition) alone is index-finding, not differentiated
        if their.default is not inspect.Parameter.empty and repr(their.default) != "<no value>":
            assert mine.default == their.default, mine.name


# -- dtypes -----------------------------------------------------------------


def _to_float32(value):
    if isinstance(value, list):
        return [_to_float32(v) for v in value]
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value.astype(np.float32)
    return value


def _is_float32_array(value):
    return isinstance(value, np.ndarray) and value.dtype == np.float32


@pytest.mark.parametrize("case", [c for c in ALL_CASES if c.keeps_dtype], ids=lambda c: c.id)
def test_float32_inputs_give_float32_gradients(case):
    rule = registry.lookup(case.primitive)
    if rule is None:
        return
    args = [_to_float32(a) for a in case.args]
    ans = case.primitive(*args, **case.kwargs)
    answers = ans if isinstance(ans, (list, tuple)) else [ans]
    if not all(_is_float32_array(a) or isinstance(a, np.float32) for a in answers):
        return  # e.g. mean(dtype=float64): the result is not float32 to begin with
    g = type(ans)(np.ones_like(a) for a in ans) if isinstance(ans, (list, tuple)) else np.ones_like(ans)
    grads = rule.vjp(g, ans, *args, **case.kwargs)
    for i, grad in enumerate(grads):
        if grad is None or i >= len(args):
            continue
        pairs = zip(grad, args[i]) if isinstance(args[i], list) else [(grad, args[i])]
        for entry, arg in pairs:
            if _is_float32_array(arg):
                assert np.result_type(entry) == np.float32, f"argument {i}: {np.result_type(entry)}"


# -- import cost ------------------------------------------------------------


def test_importing_the_rules_does_not_import_sympy():
    code = "import sys, s2sgrad, s2sgrad.primitives; assert 'sympy' not in sys.modules, 'sympy imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
