"""NumPy functions given rules in session 10: every order of np.linalg.norm,
the NaN-ignoring statistics, integrals, differences, covariances,
polynomials, interpolation and the rest (issue 11, "Breadth").

Each rule is a :class:`Case` (so ``test_conventions`` checks its template,
signature, facts and float32 gradients, and ``test_forward_rules`` its
forward rule against it); each is also used in a differentiated user
function over hypothesis-drawn shapes, axes and keyword arguments:
``sg.grad`` and ``sg.jvp`` against central differences in float64, the
Hessian-vector product against differences of the gradient, and float32
input giving a float32 gradient.
"""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import s2sgrad as sg
from s2sgrad.codegen.compile import register_source
from tests.fd import numerical_grad, numerical_jvp
from s2sgrad.primitives import arrays, polynomials, reductions
from tests.primitives import Case, params, sample

#: inputs with NaNs in them (whose entries get no gradient)
WITH_NANS = np.where(sample((3, 4), seed=3) > 1.2, np.nan, sample((3, 4), seed=4))

CASES = [
    Case(np.linalg.norm, (sample((5,)), 3), label="ord3"),
    Case(np.linalg.norm, (sample((5,)), -1.5), argnums=(0,), label="ord-1.5"),
    Case(np.linalg.norm, (sample((5,)), 0.5), argnums=(0,), label="ord0.5"),
    Case(np.linalg.norm, (sample((3, 4)), 3), {"axis": 0, "keepdims": True}, label="ord3-axis"),
    # (each primitive's first case has no NaN: tests/test_gradient_dtypes.py
    # scales it by a differentiated number, and 0 * NaN is NaN)
    Case(np.nanprod, (sample((3, 4)),), label="numbers"),
    Case(np.nancumsum, (sample((3, 4)),), label="numbers"),
    Case(np.nancumprod, (sample((3, 4)),), label="numbers"),
    Case(np.nanvar, (sample((3, 4)),), label="numbers"),
    Case(np.nanstd, (sample((3, 4)),), label="numbers"),
    Case(np.nanprod, (WITH_NANS,), label="nans"),
    Case(np.nanprod, (WITH_NANS,), {"axis": 1, "keepdims": True}, label="axis"),
    Case(np.nancumsum, (WITH_NANS,), label="flat"),
    Case(np.nancumsum, (WITH_NANS,), {"axis": 0}, label="axis"),
    Case(np.nancumprod, (WITH_NANS,), label="flat"),
    Case(np.nancumprod, (WITH_NANS,), {"axis": 1}, label="axis"),
    Case(np.nanvar, (WITH_NANS,), label="all"),
    Case(np.nanvar, (WITH_NANS,), {"axis": 0, "ddof": 1}, label="ddof"),
    Case(np.nanstd, (WITH_NANS,), label="all"),
    Case(np.nanstd, (WITH_NANS,), {"axis": (0, 1), "keepdims": True}, label="axes"),
    Case(np.trapezoid, (sample((3, 4)),)),
    Case(np.trapezoid, (sample((3, 4)), np.sort(sample((3,), seed=1))), {"axis": 0}, label="x"),
    Case(np.trapezoid, (sample((3, 4)), np.sort(sample((3, 4), seed=1))), label="x-array"),
    Case(np.trapezoid, (sample((2, 3)), None, 0.7), label="dx"),
    Case(arrays.pair_means, (sample((3, 4)), 0)),
    Case(arrays.pair_means_adjoint, (sample((3, 3)), (3, 4), 1)),
    Case(arrays.pair_means_adjoint, (sample((1, 3)), (3, 4), 1), label="broadcast"),
    Case(arrays.interval_widths, (sample((4,)), 1.0, 2, -1), argnums=(0,)),
    Case(arrays.interval_widths, (None, 0.5, 2, -1), label="dx"),
    Case(arrays.interval_widths_adjoint, (sample((2, 4)), (3,), 2, 0)),
    Case(arrays.interval_widths_adjoint, (sample((3, 2)), (3, 3), 2, 1), label="array"),
    Case(np.ediff1d, (sample((2, 3)),)),
    Case(np.ediff1d, (sample((2, 3)), sample((2,), seed=1), 0.5), label="edges"),
    Case(arrays.edge_cotangent, (sample((2,)), sample((1, 2), seed=1)), argnums=(0,)),
    Case(np.cov, (sample((3, 5)),)),
    Case(np.cov, (sample((5, 2)), sample((5,), seed=1), False, True), label="y-columns-bias"),
    Case(np.cov, (sample((4,)),), {"ddof": 2}, label="vector"),
    Case(np.corrcoef, (sample((3, 5)),)),
    Case(np.corrcoef, (sample((5,)), sample((2, 5), seed=1)), label="y"),
    Case(np.corrcoef, (sample((5, 3)),), {"rowvar": False}, label="columns"),
    Case(reductions.observation_matrix, (sample((5, 2)), sample((5,), seed=1), False)),
    Case(reductions.observation_matrix, (sample((2, 5)),), label="m"),
    Case(reductions.into_variables, (sample((5, 2)), (5, 2), (5,), False, 0), argnums=(0,)),
    Case(reductions.into_variables, (sample((5,)), (5, 2), (5,), False, 1), argnums=(0,), label="y"),
    Case(reductions.from_variables, (sample((3, 5)), (5, 2), (5,), False, 0), argnums=(0,)),
    Case(reductions.from_variables, (sample((3, 5)), (5, 2), (5,), False, 1), argnums=(0,), label="y"),
    Case(np.vander, (sample((4,)),)),
    Case(np.vander, (sample((4,)), 3, True), label="increasing"),
    Case(polynomials.power_slopes, (sample((4,)), 5, False, 2)),
    Case(np.polyval, (sample((4,)), sample((2, 3), seed=1))),
    Case(np.polyval, (sample((1,)), sample((3,), seed=1)), label="constant"),
    Case(np.polyfit, (np.linspace(-1.0, 1.0, 6) + sample((6,), -0.1, 0.1), sample((6,), seed=1), 2)),
    Case(np.polyfit, (np.linspace(-1.0, 1.0, 5) + sample((5,), -0.1, 0.1), sample((5, 2), seed=1), 1),
         label="columns"),
    Case(np.interp, (np.array([-3.0, -0.7, 0.1, 0.6, 3.0]), np.array([-1.0, -0.5, 0.0, 0.5, 1.0]),
                     sample((5,), seed=1))),
    Case(np.interp, (np.array([[-3.0, -0.7], [0.1, 3.0]]), np.array([-1.0, -0.5, 0.5, 1.0]),
                     sample((4,), seed=1), 0.5, -0.25), label="left-right"),
    Case(np.logspace, (0.3, sample((2,)), 5)),
    Case(np.logspace, (0.3, 0.9, 4, False, 2.5), label="base"),
    Case(np.modf, (sample((2, 3), -4.0, 4.0),)),
    Case(np.unwrap, (sample((2, 5), -4.0, 4.0),)),
    Case(np.unwrap, (sample((4, 2), -4.0, 4.0),), {"axis": 0}, label="axis"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


# -- differentiated user functions ------------------------------------------


def user_function(expression, names=("x",), env=None):
    """``f(*names)`` returning ``expression``, with source (so s2sgrad can read it)."""
    source = f"def f({', '.join(names)}):\n    return {expression}\n"
    filename = register_source(f"breadth {expression}", source)
    namespace = {"np": np, **(env or {})}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"]


def check_everything(f, args, argnum=0, second_order=True, rtol=1e-5, atol=1e-7):
    """sg.grad and sg.jvp of ``f`` against central differences, the
    Hessian-vector product against differences of the gradient, and a
    float32 argument giving a float32 gradient close to the float64 one."""
    args = tuple(args)
    expected = numerical_grad(f, args, argnum)
    np.testing.assert_allclose(sg.grad(f, wrt=argnum)(*args), expected, rtol=rtol, atol=atol)
    direction = np.random.default_rng(argnum).standard_normal(np.shape(args[argnum]))
    _, tangent = sg.jvp(f, wrt=argnum)(*args, direction)
    np.testing.assert_allclose(tangent, np.sum(expected * direction), rtol=rtol, atol=atol)
    if second_order:
        np.testing.assert_allclose(
            sg.hvp(f, wrt=argnum)(*args, direction),
            numerical_jvp(sg.grad(f, wrt=argnum), args, argnum, direction), rtol=1e-4, atol=1e-6)
    single = list(args)
    single[argnum] = np.asarray(args[argnum], np.float32)
    gradient = sg.grad(f, wrt=argnum)(*single)
    assert np.result_type(gradient) == np.float32
    np.testing.assert_allclose(gradient, expected, rtol=2e-2, atol=2e-2)


def _axis(draw, ndim):
    return draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1)))


def _values(shape, seed, spread=True):
    """Entries of order 1 kept apart (no ties, no zeros), signs mixed."""
    rng = np.random.default_rng(seed)
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * (0.6 / max(1, np.prod(shape))) + 0.4
    return x * np.where(rng.random(shape) < 0.5, -1.0, 1.0) if spread else x


@settings(max_examples=12, deadline=None)
@given(n=st.integers(1, 5), ord_=st.sampled_from([3, 0.5, -1.5, 4.0, 1, 2, np.inf, -np.inf, None]),
       seed=st.integers(0, 2**16))
def test_norm_of_a_vector_of_any_order(n, ord_, seed):
    x = _values((n,), seed)
    f = user_function(f"np.sin(np.linalg.norm(x, {ord_!r}))", env={"inf": np.inf})
    check_everything(f, (x,), second_order=ord_ not in (1, np.inf, -np.inf))


@settings(max_examples=12, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=2, max_size=3), ord_=st.sampled_from([3, -0.5, 1, 2]),
       keepdims=st.booleans(), data=st.data(), seed=st.integers(0, 2**16))
def test_norm_of_vectors_along_an_axis(shape, ord_, keepdims, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = _values(tuple(shape), seed)
    f = user_function(f"np.sum(np.linalg.norm(x, {ord_!r}, axis={axis}, keepdims={keepdims}) ** 2)")
    check_everything(f, (x,), second_order=ord_ != 1)


@pytest.mark.parametrize("ord_", ["'fro'", "'nuc'", "1", "-1", "2", "-2", "inf", "-inf"])
def test_matrix_norms_along_axis_pairs(ord_):
    x = _values((2, 3, 4), 5)
    f = user_function(f"np.sum(np.linalg.norm(x, {ord_}, axis=(2, 0)))", env={"inf": np.inf})
    check_everything(f, (x,), second_order=ord_ in ("'fro'", "1", "-1", "inf", "-inf"))


def test_norm_refusals_name_the_users_line():
    f = user_function("np.linalg.norm(x * 2.0, 'nuc')")
    with pytest.raises(sg.UnsupportedSyntaxError, match=r"second derivative of np.linalg.norm .*breadth .*:2"):
        sg.hessian(f)(_values((3, 3), 1))


NAN_REDUCTIONS = ["nanprod", "nanvar", "nanstd"]
NAN_CUMULATIVE = ["nancumsum", "nancumprod"]


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(NAN_REDUCTIONS + NAN_CUMULATIVE), shape=st.lists(st.integers(1, 4), min_size=1,
                                                                           max_size=3),
       keepdims=st.booleans(), ddof=st.integers(0, 1), data=st.data(), seed=st.integers(0, 2**16))
def test_nan_statistics(name, shape, keepdims, ddof, data, seed):
    shape = tuple(shape)
    axis = _axis(data.draw, len(shape))
    x = _values(shape, seed)
    keywords = f"axis={axis}"
    if name in NAN_REDUCTIONS:
        keywords += f", keepdims={keepdims}"
    if name in ("nanvar", "nanstd"):
        # (at least two numbers in every slice, the NaN left out: a spread
        # of one number has no derivative)
        assume((int(np.prod(shape)) if axis is None else shape[axis]) >= 3)
        keywords += f", ddof={ddof}"
    # (the largest entry is a NaN; its entry gets no gradient)
    f = user_function(f"np.sum(np.sin(np.{name}(np.where(x >= np.max(x), np.nan, x), {keywords})))")
    check_everything(f, (x,))


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(2, 4), min_size=1, max_size=3), spacing=st.sampled_from(["none", "dx", "vector", "array"]),
       data=st.data(), seed=st.integers(0, 2**16))
def test_trapezoid(shape, spacing, data, seed):
    shape = tuple(shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    y = _values(shape, seed)
    x = {"none": None, "dx": 0.7, "vector": np.sort(_values((shape[axis],), seed + 1)),
         "array": np.sort(_values(shape, seed + 1), axis=axis)}[spacing]
    if x is None:
        f = user_function(f"np.sum(np.sin(np.trapezoid(y, axis={axis})))", ("y", "x"))
    elif spacing == "dx":
        f = user_function(f"np.sum(np.sin(np.trapezoid(y, dx=x, axis={axis})))", ("y", "x"))
    else:
        f = user_function(f"np.sum(np.sin(np.trapezoid(y, x, axis={axis})))", ("y", "x"))
    check_everything(f, (y, x))
    if x is not None:
        check_everything(f, (y, x), argnum=1)


@settings(max_examples=15, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), begin=st.integers(0, 2), end=st.integers(0, 2),
       seed=st.integers(0, 2**16))
def test_ediff1d(shape, begin, end, seed):
    y = _values(tuple(shape), seed)
    edges = _values((begin + end + 1,), seed + 1)
    to_begin = f", to_begin=e[:{begin}]" if begin else ""
    to_end = f", to_end=e[{begin}:{begin + end}]" if end else ""
    f = user_function(f"np.sum(np.sin(np.ediff1d(y{to_end}{to_begin}) * 2.0))", ("y", "e"))
    check_everything(f, (y, edges))
    check_everything(f, (y, edges), argnum=1)


@settings(max_examples=20, deadline=None)
@given(name=st.sampled_from(["cov", "corrcoef"]), variables=st.integers(1, 3), others=st.integers(0, 2),
       count=st.integers(3, 6), rowvar=st.booleans(), bias=st.booleans(), ddof=st.sampled_from([None, 0, 2]),
       seed=st.integers(0, 2**16))
def test_covariances(name, variables, others, count, rowvar, bias, ddof, seed):
    def observations(rows, seed):
        shape = (count,) if rows == 1 and seed % 2 else (rows, count)
        values = _values(shape, seed) + np.random.default_rng(seed).standard_normal(shape)
        return values if rowvar or len(shape) == 1 else values.T

    m, y = observations(variables, seed), observations(others, seed + 1) if others else None
    keywords = f"rowvar={rowvar}" + (f", bias={bias}, ddof={ddof}" if name == "cov" else "")
    f = user_function(f"np.sum(np.sin(np.{name}(m{', y' if others else ''}, {keywords})))", ("m", "y"))
    check_everything(f, (m, y))
    if others:
        check_everything(f, (m, y), argnum=1)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 5), columns=st.one_of(st.none(), st.integers(1, 6)), increasing=st.booleans(),
       seed=st.integers(0, 2**16))
def test_vander(n, columns, increasing, seed):
    f = user_function(f"np.sum(np.sin(np.vander(x, {columns}, {increasing})))")
    check_everything(f, (_values((n,), seed),))


@settings(max_examples=15, deadline=None)
@given(degree=st.integers(0, 4), shape=st.lists(st.integers(1, 3), max_size=2), seed=st.integers(0, 2**16))
def test_polyval(degree, shape, seed):
    f = user_function("np.sum(np.sin(np.polyval(p, x)))", ("p", "x"))
    args = (_values((degree + 1,), seed), _values(tuple(shape), seed + 1) if shape else 0.7)
    check_everything(f, args)
    check_everything(f, args, argnum=1)


@settings(max_examples=15, deadline=None)
@given(degree=st.integers(0, 3), extra=st.integers(1, 3), columns=st.integers(0, 2), seed=st.integers(0, 2**16))
def test_polyfit(degree, extra, columns, seed):
    count = degree + 1 + extra
    rng = np.random.default_rng(seed)
    x = np.linspace(-1.0, 1.0, count) + rng.uniform(-0.2, 0.2, count) / count
    y = rng.standard_normal((count, columns) if columns else count)
    f = user_function(f"np.sum(np.sin(np.polyfit(x, y, {degree})))", ("x", "y"))
    check_everything(f, (x, y), rtol=1e-4, atol=1e-6)
    check_everything(f, (x, y), argnum=1)


@settings(max_examples=20, deadline=None)
@given(knots=st.integers(2, 6), shape=st.lists(st.integers(1, 3), max_size=2), bounds=st.booleans(),
       seed=st.integers(0, 2**16))
def test_interp(knots, shape, bounds, seed):
    rng = np.random.default_rng(seed)
    xp = np.cumsum(rng.uniform(0.5, 1.5, knots))
    fp = rng.standard_normal(knots)
    # (points kept off the knots, where the slope jumps; some outside xp's range)
    x = rng.uniform(xp[0] - 1.0, xp[-1] + 1.0, tuple(shape))
    x = np.where(np.min(np.abs(x[..., None] - xp), axis=-1) < 0.05, xp[0] - 0.5, x)
    edges = ", left=e, right=2.0 * e" if bounds else ""
    f = user_function(f"np.sum(np.sin(np.interp(x, xp, fp{edges})))", ("x", "xp", "fp", "e"))
    for argnum in (0, 1, 2) + ((3,) if bounds else ()):
        check_everything(f, (x, xp, fp, 0.3), argnum=argnum)


@settings(max_examples=10, deadline=None)
@given(num=st.integers(1, 5), endpoint=st.booleans(), base=st.sampled_from([10.0, 2.0, 0.5]),
       vector=st.booleans(), seed=st.integers(0, 2**16))
def test_logspace(num, endpoint, base, vector, seed):
    stop = _values((2,), seed) if vector else 0.45
    f = user_function(f"np.sum(np.sin(np.logspace(a, b, {num}, {endpoint}, c)))", ("a", "b", "c"))
    for argnum in (0, 1, 2):
        check_everything(f, (0.3, stop, base), argnum=argnum)


@settings(max_examples=10, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=2), data=st.data(), seed=st.integers(0, 2**16))
def test_modf_and_unwrap(shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    # (away from whole numbers and from jumps of pi, where they jump)
    x = np.random.default_rng(seed).uniform(0.1, 0.4, tuple(shape)) + np.arange(np.prod(shape)).reshape(shape)
    f = user_function(f"np.sum(np.sin(np.modf(x * 1.5)[0]) + np.modf(x)[1] * x + np.cos(np.unwrap(x * 2.0, axis={axis})))")
    check_everything(f, (x,))


@pytest.mark.parametrize("call", ["np.polyfit(x, x ** 2, 1, w=x)", "np.interp(x, np.arange(3.0), x[:3], period=2.0)",
                                  "np.cov(x, fweights=np.arange(3))", "np.logspace(x[0], 1.0, 3, dtype=np.float32)"])
def test_options_without_a_rule_are_refused_at_the_users_line(call):
    f = user_function(f"np.sum({call})")
    with pytest.raises(sg.UnsupportedSyntaxError, match=r"breadth .*:2"):
        sg.grad(f)(np.array([0.5, 1.5, 2.5]))


KNOTS = np.array([0.5, 1.25, 2.0, 3.5, 4.0, 5.25])
TAPED = [
    "np.linalg.norm(x[0], 3) + np.linalg.norm(x, 1.5, axis=0).sum()",
    "np.nanstd(np.where(x > 1.55, np.nan, x), axis=0).sum() + np.nanprod(np.where(x < -1.0, np.nan, x))",
    "np.nancumprod(x, axis=1).sum() + np.nancumsum(np.where(x > 1.0, np.nan, x)).sum()",
    "np.trapezoid(x, np.arange(4.0) ** 2).sum() + np.ediff1d(x, to_end=x[0]).sum() ** 2",
    "np.cov(x).sum() + np.corrcoef(x, x[:1] ** 2).sum()",
    "np.polyval(x[0], x[1]).sum() + np.vander(x[2]).sum() + np.polyfit(x[0], x[1], 2).sum()",
    "np.interp(x[0] * 3.0 + 2.9, KNOTS, np.sin(KNOTS)).sum() + np.logspace(x[0, 0], x[0, 1], 4).sum()",
    "np.modf(x * 3.0)[0].sum() + np.sin(np.unwrap(x * 3.0)).sum()",
]


@pytest.mark.parametrize("expression", TAPED)
def test_the_tape_follows_the_rules(expression):
    from tests.tape.helpers import tape_grad
    f = user_function(expression, env={"KNOTS": KNOTS})
    x = sample((3, 4), seed=7)
    np.testing.assert_allclose(tape_grad(f, (x,)), numerical_grad(f, (x,)), rtol=1e-5, atol=1e-7)


def test_interp_of_lists():
    f = user_function("np.sum(np.interp([0.2, 1.5, 2.7], [0.0, 1.0, 2.0, 3.0], [y[0], y[1], y[2], y[3]]) ** 2)",
                      ("y",))
    check_everything(f, (np.array([0.3, 0.5, -0.1, 0.4]),))
    g = user_function("np.sum(np.interp(x, np.arange(4.0), np.array([0.3, 0.5, -0.1, 0.4])) ** 2)")
    check_everything(g, (np.array([0.2, 1.5, 2.7]),))
