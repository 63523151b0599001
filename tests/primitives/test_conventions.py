"""Conventions every rule must follow, checked over the whole registry.

* every registered primitive has a finite-difference test;
* every rule body is a straight-line template (what the transformer
  inlines), and everything it calls has a rule or is non-differentiable,
  so generated code can be differentiated again;
* rule signatures follow the primitive's parameter names and order;
* float32 inputs give float32 gradients;
* ``import s2sgrad.primitives`` does not import sympy;
* every record's facts hold on sample calls: views can share memory with
  their argument and allocators never do, elementwise results broadcast,
  reductions reduce, linear primitives scale, dtypes follow the declared
  rule, method and attribute spellings round-trip, every registration
  bumps the generation.
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

from s2sgrad import backend
from s2sgrad.primitives import arrays, elementwise, products, reductions, registry, shape, special
from s2sgrad.tape import compiled as tape_compiled
from tests.primitives import (
    test_arrays,
    test_breadth_s10,
    test_containers,
    test_decompositions,
    test_derived,
    test_elementwise,
    test_factorisations,
    test_linalg,
    test_operators,
    test_products,
    test_quantiles,
    test_reductions,
    test_shape,
    test_signals,
    test_stacks,
)
from tests.fd import _is_float, spread_varargs
from tests.tape import test_lowering

MODULES = [test_operators, test_derived, test_elementwise, test_reductions, test_linalg, test_factorisations,
           test_products, test_shape, test_arrays, test_lowering, test_containers, test_decompositions,
           test_quantiles, test_stacks, test_signals, test_breadth_s10]
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
#: would need it. custom_cotangents calls a custom_gradient's grad_fn: its
#: derivative comes from an outer tape recording what grad_fn does.
LAST_ORDER = {reductions.prod_of_others_jvp, tape_compiled.custom_cotangents, elementwise.sinc_curvature,
              products.einsum_second_cotangents,
              # (multi_dot's third derivative would need these)
              products.multi_dot_tangent, products.multi_dot_cotangents_tangent,
              special.i1_over_x}  # (i0's third derivative would need it)


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


def _primitive_parameters(rule):
    try:
        return list(inspect.signature(rule.primitive).parameters.values())
    except (TypeError, ValueError):
        return []


def template_errors(rule):
    """Ways in which ``rule``'s body breaks the straight-line template grammar."""
    fn = rule.vjp
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    errors = []
    args = tree.args
    params = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
    params += [args.vararg.arg] if args.vararg else []
    if params[:2] != ["g", "ans"]:
        errors.append("parameters must start with (g, ans)")
    if args.kwarg:
        errors.append("no **kwargs in a rule signature")
    if args.vararg and not any(p.kind == p.VAR_POSITIONAL for p in _primitive_parameters(rule)):
        errors.append("*args in a rule signature only mirrors the primitive's own (np.einsum)")
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
# variadic functions whose rule takes what one call can differentiate: one
# array (atleast_*), one scalar spacing (gradient); more do not bind
SIGNATURE_EXEMPT |= {id(np.atleast_1d), id(np.atleast_2d), id(np.atleast_3d), id(np.gradient),
                     id(np.meshgrid)}
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
        if (their.kind == their.VAR_POSITIONAL) != (mine.kind == mine.VAR_POSITIONAL):
            pytest.fail(f"{their} is variadic and {mine} is not, or the other way round")
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
    g = [np.ones_like(a) for a in ans] if isinstance(ans, (list, tuple)) else np.ones_like(ans)
    grads = spread_varargs(rule.vjp, rule.vjp(g, ans, *args, **case.kwargs), len(args))
    for i, grad in enumerate(grads):
        if grad is None or i >= len(args) or not _is_float(args[i]):
            continue
        pairs = zip(grad, args[i]) if isinstance(args[i], list) else [(grad, args[i])]
        for entry, arg in pairs:
            if entry is not None and _is_float32_array(arg):  # (None: a zero entry)
                assert np.result_type(entry) == np.float32, f"argument {i}: {np.result_type(entry)}"


# -- import cost ------------------------------------------------------------


def test_importing_the_rules_does_not_import_sympy():
    code = "import sys, s2sgrad, s2sgrad.primitives; assert 'sympy' not in sys.modules, 'sympy imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the records' facts -----------------------------------------------------
#
# Each fact is checked against what the primitive does on sample inputs: the
# test cases of the rule families, plus samples for records without a rule.

SAMPLE = np.arange(1.0, 13.0).reshape(3, 4)
BOOLS = SAMPLE > 6

#: calls of primitives that have facts but no test case of a rule family
FACT_SAMPLES = [
    (np.diagonal, (SAMPLE,), {}),
    (np.atleast_1d, (SAMPLE,), {}),
    (np.atleast_2d, (SAMPLE,), {}),
    (np.imag, (SAMPLE.astype(complex),), {}),
    (np.full, ((2, 3), 1.5), {}),
    (np.full_like, (SAMPLE, 1.5), {}),
    (np.zeros_like, (SAMPLE,), {}),
    (np.ones_like, (SAMPLE,), {}),
    (np.empty_like, (SAMPLE,), {}),
    (np.zeros, ((2, 3),), {}),
    (np.floor, (SAMPLE,), {}),
    (np.round, (SAMPLE,), {}),
    (np.sign, (SAMPLE,), {}),
    (np.argmax, (SAMPLE,), {}),
    (np.argmin, (SAMPLE,), {}),
    (np.any, (BOOLS,), {}),
    (np.all, (BOOLS,), {}),
    (np.count_nonzero, (SAMPLE,), {}),
    (np.less, (SAMPLE, 6.0), {}),
    (np.isnan, (SAMPLE,), {}),
    (np.shape, (SAMPLE,), {}),
    (np.size, (SAMPLE,), {}),
    (np.ndim, (SAMPLE,), {}),
    (np.copyto, (np.zeros(3), np.ones(3)), {}),
    (np.float32, (SAMPLE.astype(np.float32),), {}),
    (shape.array_adjoint, (SAMPLE, SAMPLE), {}),
    (arrays.grid_spread, (SAMPLE[0], np.meshgrid(SAMPLE[0], SAMPLE[:, 0]), 0), {}),
]


def _calls():
    """(record, args, kwargs) for every sample call of a primitive with a record."""
    calls = [(c.primitive, c.args, c.kwargs) for c in ALL_CASES] + FACT_SAMPLES
    return [(registry.record(p), a, k) for p, a, k in calls if registry.record(p) is not None]


CALLS = _calls()


def _call_id(call):
    return _name(call[0].primitive)


def _arrays(value):
    """The arrays in a result or argument (lists and tuples looked into)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        return _arrays(list(value.values()))
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays(v)]
    return []


def _values(value):
    """The arrays and scalars in a result (lists, tuples and dicts looked
    into; ``None``, a zero entry of a container cotangent, left out)."""
    if isinstance(value, dict):
        return _values(list(value.values()))
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _values(v)]
    return [] if value is None else [value]


def _records_with(fact):
    return [r for r in registry.records() if getattr(r, fact)]


def _shares(record, args, kwargs):
    result = record.primitive(*args, **kwargs)
    viewed = _arrays(args[record.view_of]) if record.view_of < len(args) else []
    return any(np.shares_memory(r, a) for r in _arrays(result) for a in viewed)


@pytest.mark.parametrize("record", [r for r in registry.records() if r.view_of is not None],
                         ids=lambda r: _name(r.primitive))
def test_a_view_can_share_memory_with_its_argument(record):
    calls = [(a, k) for r, a, k in CALLS if r is record]
    assert calls, "no sample call: add one to FACT_SAMPLES"
    assert any(_shares(record, a, k) for a, k in calls), "never a view on the samples"


@pytest.mark.parametrize("call", [c for c in CALLS if c[0].allocates], ids=_call_id)
def test_an_allocator_never_shares_memory_with_its_arguments(call):
    record, args, kwargs = call
    result = record.primitive(*args, **kwargs)
    for r in _arrays(result):
        assert not any(np.shares_memory(r, a) for a in _arrays(args))


def test_no_record_is_both_a_view_and_an_allocator():
    assert [r for r in _records_with("allocates") if r.view_of is not None] == []


@pytest.mark.parametrize("call", [c for c in CALLS if c[0].mutates], ids=_call_id)
def test_mutates_names_the_arguments_written_into(call):
    record, args, kwargs = call
    before = [np.copy(a) for a in args]
    record.primitive(*args, **kwargs)
    changed = tuple(i for i, (a, b) in enumerate(zip(args, before)) if not np.array_equal(a, b))
    assert changed == record.mutates


@pytest.mark.parametrize("call", [c for c in CALLS if c[0].elementwise], ids=_call_id)
def test_an_elementwise_result_has_the_broadcast_shape(call):
    record, args, kwargs = call
    with np.errstate(all="ignore"):
        result = record.primitive(*args, **kwargs)
    assert np.shape(result) == np.broadcast_shapes(*(np.shape(a) for a in args))


@pytest.mark.parametrize("call", [c for c in CALLS if c[0].reduction], ids=_call_id)
def test_a_reduction_of_the_array_alone_is_a_scalar(call):
    record, args, kwargs = call
    assert np.shape(record.primitive(args[0])) == ()


def _scaled(value, factor):
    if isinstance(value, dict):
        return {k: _scaled(v, factor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scaled(v, factor) for v in value)
    if isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
        return value * factor
    return value


@pytest.mark.parametrize("call", [c for c in CALLS if c[0].linear], ids=_call_id)
def test_a_linear_primitive_scales_with_its_inputs(call):
    record, args, kwargs = call
    result = record.primitive(*args, **kwargs)
    doubled = record.primitive(*_scaled(args, 2.0), **kwargs)
    for a, b in zip(_arrays(doubled) or [doubled], _arrays(result) or [result]):
        np.testing.assert_allclose(a, 2.0 * np.asarray(b), rtol=1e-12)


KINDS = {"same": "fc", "float": "fc", "bool": "b", "int": "iu"}


@pytest.mark.parametrize("call", [c for c in CALLS if c[0].dtype in KINDS], ids=_call_id)
def test_the_result_dtype_follows_the_declared_rule(call):
    record, args, kwargs = call
    if record.dtype in ("same", "float") and not any(
            np.result_type(a).kind in "fc" for a in _arrays(args) + [a for a in args if isinstance(a, float)]):
        return  # (no floating input to follow)
    with np.errstate(all="ignore"):
        result = record.primitive(*args, **kwargs)
    for value in _values(result):
        assert np.result_type(value).kind in KINDS[record.dtype], np.result_type(value)


@pytest.mark.parametrize("record", [r for r in registry.records() if isinstance(r.primitive, np.ufunc)
                                    and r.primitive.nout == 1  # (np.divmod: a pair)
                                    and r.vjp is not None and r.dtype in ("same", "float")],
                         ids=lambda r: _name(r.primitive))
def test_float_and_same_dtypes_differ_on_integers(record):
    ints = [np.arange(1, 4)] * record.primitive.nin
    if record.primitive.signature:  # a gufunc (np.matvec): arrays of its core ranks
        cores = record.primitive.signature.split("->")[0][1:-1].split("),(")
        ints = [np.ones((3,) * len(core.split(",")), int) if core else 1 for core in cores]
    with np.errstate(all="ignore"):
        kind = np.result_type(record.primitive(*ints)).kind
    assert kind == ("f" if record.dtype == "float" else "i")


@pytest.mark.parametrize("record", _records_with("methods"), ids=lambda r: _name(r.primitive))
def test_method_spellings_round_trip(record):
    calls = [(a, k) for r, a, k in CALLS if r is record and isinstance(a[0], np.ndarray)]
    calls = calls or [((SAMPLE,), {})]
    for name in record.methods:
        assert registry.method(name) is record
        for args, kwargs in calls:
            array, rest = args[0], args[1:]
            expected = record.primitive(*args, **kwargs)
            np.testing.assert_array_equal(getattr(array, name)(*rest, **kwargs), expected)
            for leave_out in range(1, len(record.method_defaults) + 1):  # x.clip(1.0)
                kept = rest[:len(rest) - leave_out]
                filled = kept + record.method_defaults[len(kept):]
                np.testing.assert_array_equal(getattr(array, name)(*kept),
                                              record.primitive(array, *filled))
            if record.packs_varargs and rest and isinstance(rest[0], tuple) and rest[0]:
                np.testing.assert_array_equal(getattr(array, name)(*rest[0], *rest[1:], **kwargs), expected)


@pytest.mark.parametrize("record", _records_with("attributes"), ids=lambda r: _name(r.primitive))
def test_attribute_spellings_round_trip(record):
    for name in record.attributes:
        assert registry.attribute(name) is record
        np.testing.assert_array_equal(getattr(SAMPLE, name), record.primitive(SAMPLE))


@pytest.mark.parametrize("record", _records_with("from_shape"), ids=lambda r: _name(r.primitive))
def test_from_shape_agrees_with_the_primitive(record):
    for value in (SAMPLE, np.float64(2.0), np.zeros((2, 0, 3))):
        assert record.from_shape(np.shape(value)) == record.primitive(value)


def test_every_spelled_primitive_is_in_the_array_namespace():
    """Generated code spells a method or attribute by the namespace's name for it."""
    spelled = _records_with("methods") + [r for r in _records_with("attributes") if r.vjp is not None]
    assert [_name(r.primitive) for r in spelled if backend.spelling(r.primitive) is None] == []


def test_every_dtype_fact_is_one_of_the_kinds():
    assert {r.dtype for r in registry.records()} <= set(registry.DTYPES)


def test_every_registration_bumps_the_generation():
    before = registry.generation()
    registry.deffacts(_bump_probe, dtype="float")
    registry.defjvp(_bump_probe)(lambda tangent, ans, x: (tangent,))
    assert registry.generation() == before + 2
    record = registry.record(_bump_probe)
    assert record.jvp is not None and record.dtype == "float" and record.vjp is None


def _bump_probe(x):
    return x


@pytest.mark.parametrize("call", [c for c in CALLS if c[0].scalar], ids=_call_id)
def test_a_scalar_primitive_returns_a_python_scalar(call):
    record, args, kwargs = call
    result = record.primitive(*args, **kwargs)
    assert isinstance(result, (bool, int, float)) and not isinstance(result, np.generic)


def test_scalar_primitives_are_sampled():
    sampled = {id(c[0]) for c in CALLS if c[0].scalar}
    assert len(sampled) >= 20  # the math rules' cases
