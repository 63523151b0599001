"""Forward rules against reverse rules, for every primitive that has both.

Each rule case of the primitive tests (``test_conventions.ALL_CASES``) is
run through the forward transform -- a function calling the primitive,
differentiated along a random ``u`` -- and through the primitive's VJP rule
with a random ``v``: the inner-product identity ⟨v, J·u⟩ = ⟨Jᵀ·v, u⟩ must
hold. Primitives without a forward rule must be refused, never given a
silent zero; the test lists them.
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from s2sgrad import pipeline
from s2sgrad.codegen.compile import register_source
from s2sgrad.errors import UnsupportedSyntaxError
from s2sgrad.primitives import linalg, registry
from tests.fd import as_float64, spread_varargs
from tests.primitives.test_conventions import ALL_CASES

#: primitives with a VJP rule but no forward rule (refused in forward mode):
#: divmod, and the tape's own records of calls it could not see into
NO_FORWARD_RULE = {"divmod", "custom_call", "output_of", "output_adjoint"}


def _calling(primitive, nargs, kwargs):
    """A function ``f(a0, ..., an)`` returning ``primitive(a0, ..., **kwargs)``, with source."""
    params = [f"a{i}" for i in range(nargs)]
    keywords = "".join(f", {k}=kw_{k}" for k in kwargs)
    source = f"def f({', '.join(params)}):\n    return P({', '.join(params)}{keywords})\n"
    filename = register_source(f"forward rule {getattr(primitive, '__name__', primitive)}", source)
    namespace = {"P": primitive, **{f"kw_{k}": v for k, v in kwargs.items()}}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]


def _inner(a, b):
    if isinstance(a, (list, tuple)):
        return sum(_inner(x, y) for x, y in zip(a, b))
    return float(np.sum(np.asarray(a) * np.asarray(b)))


def _random_like(value, rng):
    if isinstance(value, (list, tuple)):  # (a namedtuple too: eigh's, svd's results)
        return [_random_like(v, rng) for v in value]
    if isinstance(value, float):
        return float(rng.normal())
    return rng.normal(size=np.shape(value))


def _case_id(case):
    return case.id


def forward_product(primitive, args, kwargs, i, u):
    """J·u of ``primitive`` in argument ``i``, from the generated forward code."""
    f = _calling(primitive, len(args), kwargs)
    entry = pipeline.gradient_code(f, i, mode="forward")
    (tangent_name,) = entry.seed_name
    value, tangent = pipeline.bind(entry, f)(*args, **{tangent_name: u})
    return value, tangent


def check_forward_against_vjp(primitive, args, kwargs, argnums, seed=0):
    record = registry.lookup(primitive)
    rng = np.random.default_rng(seed)
    args = tuple(as_float64(a) for a in args)
    for i in argnums:
        u = _random_like(args[i], rng)
        value, tangent = forward_product(primitive, args, kwargs, i, u)
        v = _random_like(value, rng)
        cotangent = spread_varargs(record.vjp, record.vjp(v, value, *args, **kwargs), len(args))[i]
        left, right = _inner(v, tangent), _inner(cotangent, u)
        scale = np.sqrt(_inner(v, v) * _inner(tangent, tangent)) + 1e-12
        single = any(np.result_type(x) == np.float32 for x in (value, tangent)
                     if not isinstance(x, (list, tuple)))  # (casts to float32)
        tolerance = 1e-5 if single else 1e-9
        assert abs(left - right) <= tolerance * scale + 1e-12, (primitive, i, left, right)


def _refused(case):
    """True when forward mode must refuse the case's primitive (skips cases without a rule)."""
    record = registry.lookup(case.primitive)
    if record is None or not case.expected_argnums():
        pytest.skip("no rule to compare")
    name = getattr(case.primitive, "__name__", "")
    structured = record.jvp is None and (record.holds or record.structures
                                          or record.structured_cotangents)
    return name in NO_FORWARD_RULE or structured  # (structure tangents are not built yet)


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_forward_rule_agrees_with_the_vjp_rule(case):
    if _refused(case):
        with pytest.raises(UnsupportedSyntaxError, match="no forward rule"):
            check_forward_against_vjp(case.primitive, case.args, case.kwargs,
                                      case.expected_argnums())
        return
    check_forward_against_vjp(case.primitive, case.args, case.kwargs, case.expected_argnums())


_SHAPES = st.sampled_from([(), (3,), (2, 3), (1, 3), (2, 1)])


@settings(max_examples=25, deadline=None)
@given(sx=_SHAPES, sy=_SHAPES, seed=st.integers(0, 10_000),
       primitive=st.sampled_from([np.add, np.subtract, np.multiply, np.divide, np.maximum,
                                  np.arctan2, np.hypot, np.logaddexp]))
def test_broadcasting_binary_forward_rules(sx, sy, seed, primitive):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0.5, 2.0, size=sx), rng.uniform(0.5, 2.0, size=sy)
    check_forward_against_vjp(primitive, (x, y), {}, (0, 1), seed)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 4), m=st.integers(1, 4), k=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_product_forward_rules_over_shapes(n, m, k, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, m)), rng.normal(size=(m, k))
    for primitive in (np.matmul, np.dot):
        check_forward_against_vjp(primitive, (a, b), {}, (0, 1), seed)
    check_forward_against_vjp(np.tensordot, (a, b), {"axes": 1}, (0, 1), seed)


# -- batched tangents: the convention at the top of primitives/forward_rules.py


def batched_forward_product(primitive, args, kwargs, i, directions):
    """(value, J·u for each u of ``directions``) from the batched forward code."""
    f = _calling(primitive, len(args), kwargs)
    entry = pipeline.gradient_code(f, i, mode="forward", batched=True)
    (tangent_name,) = entry.seed_name
    return pipeline.bind(entry, f)(*args, **{tangent_name: directions})


def _directions(value, k, rng):
    """k random directions for ``value``: one array with a leading axis of k (a
    list's: a list of those, entry by entry)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_directions(v, k, rng) for v in value)
    return rng.normal(size=(k,) + np.shape(value))


def _direction(directions, j, like):
    if isinstance(like, (list, tuple)):
        return type(like)(_direction(d, j, v) for d, v in zip(directions, like))
    return float(directions[j]) if isinstance(like, float) else directions[j]


def check_batched_against_stacked(primitive, args, kwargs, argnums, k, seed=0):
    rng = np.random.default_rng(seed)
    args = tuple(as_float64(a) for a in args)
    for i in argnums:
        directions = _directions(args[i], k, rng)
        value, batched = batched_forward_product(primitive, args, kwargs, i, directions)
        stacked = [forward_product(primitive, args, kwargs, i, _direction(directions, j, args[i]))
                   for j in range(k)]
        _assert_equal(value, stacked[0][0])
        stacked = [tangent for _, tangent in stacked]
        _assert_batched_equal(batched, stacked, k)


def _assert_equal(a, b):
    if isinstance(b, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_equal(x, y)
        return
    np.testing.assert_allclose(a, b, rtol=1e-12)


def _assert_batched_equal(batched, stacked, k):
    if isinstance(stacked[0], (list, tuple)):
        assert isinstance(batched, (list, tuple)) and len(batched) == len(stacked[0])
        for j, part in enumerate(batched):
            _assert_batched_equal(part, [s[j] for s in stacked], k)
        return
    expected = np.stack([np.broadcast_to(s, np.shape(stacked[0])) for s in stacked])
    assert np.shape(batched) == np.shape(expected), (np.shape(batched), np.shape(expected))
    np.testing.assert_allclose(batched, expected, rtol=1e-10, atol=1e-12)


#: forward rules of ``*args`` primitives, which batched code does not call
#: direction by direction (sg.hessian and sg.jacobian then run unbatched)
NO_BATCHED_RULE = {"einsum"}


@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_batched_forward_rule_is_the_stacked_forward_rules(case, k):
    if _refused(case):
        with pytest.raises(UnsupportedSyntaxError, match="no forward rule"):
            check_batched_against_stacked(case.primitive, case.args, case.kwargs,
                                          case.expected_argnums(), k)
        return
    if getattr(case.primitive, "__name__", "") in NO_BATCHED_RULE:
        with pytest.raises(UnsupportedSyntaxError, match="no batched rule"):
            check_batched_against_stacked(case.primitive, case.args, case.kwargs,
                                          case.expected_argnums(), k)
        return
    check_batched_against_stacked(case.primitive, case.args, case.kwargs,
                                  case.expected_argnums(), k, seed=k)


@settings(max_examples=25, deadline=None)
@given(sx=_SHAPES, sy=_SHAPES, k=st.sampled_from([1, 2, 5]), seed=st.integers(0, 10_000),
       primitive=st.sampled_from([np.add, np.multiply, np.divide, np.maximum, np.arctan2,
                                  np.where]))
def test_batched_broadcasting_forward_rules(sx, sy, k, seed, primitive):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0.5, 2.0, size=sx), rng.uniform(0.5, 2.0, size=sy)
    if primitive is np.where:
        check_batched_against_stacked(primitive, (x > 1.0, x, y), {}, (1, 2), k, seed)
        return
    check_batched_against_stacked(primitive, (x, y), {}, (0, 1), k, seed)


_ND = st.sampled_from([(3,), (2, 3), (2, 2, 3), (1, 2, 3)])


@settings(max_examples=25, deadline=None)
@given(sa=st.integers(1, 4), sb=st.integers(1, 4), k=st.sampled_from([1, 2, 5]),
       stack_a=st.sampled_from([(), (2,), (1, 2)]), stack_b=st.sampled_from([(), (2,)]),
       seed=st.integers(0, 10_000))
def test_batched_matmul_over_ranks(sa, sb, k, stack_a, stack_b, seed):
    rng = np.random.default_rng(seed)
    # 1-D when the stack is () and the size is odd (vectors), else matrices
    a = rng.normal(size=(3,) if not stack_a and sa % 2 else stack_a + (sa, 3))
    b = rng.normal(size=(3,) if not stack_b and sb % 2 else stack_b + (3, sb))
    check_batched_against_stacked(np.matmul, (a, b), {}, (0, 1), k, seed)
    c = rng.normal(size=np.shape(a @ b))  # (the products' adjoints, in forward over reverse)
    check_batched_against_stacked(linalg.matmul_adjoint_a, (c, a, b), {}, (0, 2), k, seed)
    check_batched_against_stacked(linalg.matmul_adjoint_b, (c, a, b), {}, (0, 1), k, seed)


@settings(max_examples=25, deadline=None)
@given(shape=_ND, k=st.sampled_from([1, 2, 5]), seed=st.integers(0, 10_000),
       axis=st.sampled_from([None, 0, -1, (0, -1)]), keepdims=st.booleans())
def test_batched_reductions_over_axes(shape, k, seed, axis, keepdims):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2.0, size=shape)
    if isinstance(axis, tuple) and len(shape) == 1:
        axis = 0
    for primitive in (np.sum, np.mean, np.max, np.prod, np.var):
        check_batched_against_stacked(primitive, (x,), {"axis": axis, "keepdims": keepdims},
                                      (0,), k, seed)

# -- user functions through the rules written for forward mode ---------------

POINT = np.array([[0.3, -1.2, 2.3, 0.7], [1.1, 0.4, -0.6, 1.9]])  # (no ties, no powers of 2)


def sorted_weights(x):
    return np.sum(np.sort(x, axis=None) * np.arange(8.0)) + np.sum(np.partition(x, 1) ** 3)


def middles(x):
    return np.median(x, axis=1)[0] * 3.0 + np.ptp(x) * np.nanmax(x * x) + np.nanmin(x, axis=0)[1]


def running_products(x):
    return np.sum(np.cumprod(x, axis=1)) + np.sum(np.cumprod(np.sin(x)) ** 2)


def weighted(x):
    return np.average(x, axis=1, weights=x[0] ** 2)[1] + np.sum(x.astype(np.float64) ** 3)


def differences(x):
    return np.sum(np.gradient(x, 0.5, axis=1) ** 2) + np.sum(np.gradient(x * x)[0] * x)


def mantissas(x):
    return np.sum(np.frexp(x * 1.5)[0] ** 2)


def selections(x):
    return np.sum(np.select([x > 0.5, x < -1.0], [x ** 2, np.sin(x)], x * 3.0)) + \
        np.sum(np.choose(np.array([[0, 1, 0, 1]]), [x, x ** 2]) ** 2)


@pytest.mark.parametrize("f", [sorted_weights, middles, running_products, weighted, differences,
                               mantissas, selections])
def test_jvp_and_hvp_through_the_new_forward_rules(f):
    import s2sgrad as sg
    from tests.fd import numerical_jvp

    u = np.random.default_rng(1).normal(size=POINT.shape)
    value, tangent = sg.jvp(f)(POINT, u)
    np.testing.assert_allclose(value, f(POINT))
    np.testing.assert_allclose(tangent, numerical_jvp(f, (POINT,), 0, u), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sg.hvp(f)(POINT, u), numerical_jvp(sg.grad(f), (POINT,), 0, u),
                               rtol=1e-5, atol=1e-7)
