"""A gradient has its argument's type and dtype (SPEC §1), for every rule.

Every registered rule (one case per primitive and differentiable argument
from the primitive tests' ``CASES``, as ``tests/primitives/*`` tabulate
them) is called from a user function ``f(x)`` reducing its result with
float64 weights, and ``x`` is given in each argument kind: float64 and
float32 arrays, a Python float, NumPy float64 and float32 scalars, float64
and float32 0-d arrays (a scalar kind given to a primitive that needs an
array scales the case's own array, in the kind's precision). Then

* ``sg.grad``, ``sg.value_and_grad``, ``sg.hvp`` and the tape
  (``sg.GradientTape``; TensorFlow's rule: the gradient has the source's
  dtype) give the argument's type, shape and dtype; ``sg.jacobian`` and
  ``sg.hessian`` give the argument's dtype with shapes ``arg.shape`` and
  ``arg.shape * 2``, of the argument's type when that shape is ``()``;
  ``sg.jvp``'s tangent has the type and dtype of the value it goes with;
* the values are right: against central differences in float64, float32
  kinds to a float32 tolerance.

A transform that refuses the function (``UnsupportedSyntaxError``: a rule
with no second derivative, no forward rule) is not a dtype question and is
skipped for that transform; everything else must hold.
"""

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.codegen.compile import register_source
from s2sgrad.errors import S2SGradError
from s2sgrad.primitives import containers, registry
from tests.fd import _is_float, numerical_grad, numerical_jvp
from tests.primitives.test_conventions import ALL_CASES

KINDS = ("float64 array", "float32 array", "Python float", "np.float64", "np.float32",
         "float64 0-d", "float32 0-d")


def _kind_dtype(kind):
    return np.float32 if "32" in kind else np.float64


def _as_kind(kind, value):
    """A value of argument kind ``kind`` near ``value`` (a float or array)."""
    dtype = _kind_dtype(kind)
    if kind.endswith("array"):
        return np.asarray(value, dtype=dtype)
    scalar = float(np.asarray(value).reshape(-1)[0]) if np.ndim(value) == 0 else 0.7
    if kind == "Python float":
        return scalar
    if kind.startswith("np."):
        return dtype(scalar)
    return np.array(scalar, dtype=dtype)


def _is_array_like(value):
    return isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f")


def _structured(case):
    """True for a call of a primitive that takes or gives lists, tuples or
    dicts (by its record's facts, or its case's arguments): a container
    argument's kinds are its leaves', which ``tests/primitives`` and the
    structure tests check; here each argument is one value of one kind."""
    record = registry.lookup(case.primitive)
    return record.structures or record.sequence_of or record.holds \
        or record.structured_cotangents \
        or any(isinstance(a, (list, tuple, dict)) and _is_float(a) for a in case.args)


#: primitives whose meaning depends on whether an argument is an array (an
#: inlined callee's in-place update reaches an array, not a number): another
#: kind of argument is another function, so the kinds are not compared here
#: (tests/test_user_programs.py checks them with arrays and with numbers)
KIND_DEPENDENT = {containers.written_through, containers.kept_cotangent, containers.passed_cotangent}


def _rule_cases():
    """One case per (primitive, argument) whose argument is a float or array."""
    seen, cases = set(), []
    for case in ALL_CASES:
        if registry.lookup(case.primitive) is None or _structured(case) \
                or case.primitive in KIND_DEPENDENT:
            continue
        for i in case.expected_argnums():
            if i >= len(case.args) or not _is_array_like(case.args[i]):
                continue
            if (id(case.primitive), i) not in seen:
                seen.add((id(case.primitive), i))
                cases.append((case, i))
    return cases


RULE_CASES = _rule_cases()


def _float_outputs(result):
    """Indices of the floating entries of a multi-output result (None: one output)."""
    if isinstance(result, (list, tuple)):
        return [k for k, r in enumerate(result) if np.result_type(r).kind == "f" and np.size(r)]
    return None


def user_function(case, argnum, kind):
    """``(f, x)``: ``f(x)`` reduces ``case.primitive`` with ``x`` of ``kind``
    as argument ``argnum`` (the other arguments are constants), or None when
    the primitive has no floating result there."""
    base = case.args[argnum]
    scaled = kind.endswith("array") is False and np.ndim(base) > 0
    x = _as_kind(kind, base)
    args = list(case.args)
    args[argnum] = np.asarray(base, dtype=_kind_dtype(kind)) / 0.7 if scaled else x
    try:
        with np.errstate(all="ignore"):
            result = case.primitive(*args, **case.kwargs)
    except Exception:  # noqa: BLE001 - the primitive does not take this kind
        return None
    outputs = _float_outputs(result)
    if outputs is None and (np.result_type(result).kind != "f" or not np.size(result)):
        return None
    if outputs == []:
        return None
    rng = np.random.default_rng(1)
    names = [f"c{k}" for k in range(len(args))]
    names[argnum] = "x * B" if scaled else "x"
    keywords = "".join(f", {k}=kw_{k}" for k in case.kwargs)
    call = f"P({', '.join(names)}{keywords})"
    namespace = {"np": np, "P": case.primitive, "B": args[argnum],
                 **{f"c{k}": a for k, a in enumerate(args)},
                 **{f"kw_{k}": v for k, v in case.kwargs.items()}}
    if outputs is None:
        namespace["W"] = rng.uniform(0.5, 1.5, np.shape(result))
        body = f"    return np.sum({call} * W)\n"
    else:
        body = f"    r = {call}\n    return " + " + ".join(
            f"np.sum(r[{k}] * W{k})" for k in outputs) + "\n"
        for k in outputs:
            namespace[f"W{k}"] = rng.uniform(0.5, 1.5, np.shape(result[k]))
    source = "def f(x):\n" + body
    filename = register_source(f"dtype case {case.id} {argnum} {kind}", source)
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"], x


def expected_type(x):
    return float if type(x) is float else type(x)


def assert_like(value, x, what, shape=None):
    """``value`` has ``x``'s dtype and ``shape`` (default ``x``'s); when
    that is ``()``, ``x``'s type too."""
    shape = np.shape(x) if shape is None else shape
    dtype = np.float64 if type(x) is float else x.dtype
    assert np.shape(value) == shape, f"{what}: shape {np.shape(value)}, expected {shape}"
    if shape == () or shape == np.shape(x):
        want = expected_type(x) if shape == () or type(x) is np.ndarray else np.ndarray
        assert type(value) is want, f"{what}: {type(value).__name__}, expected {want.__name__}"
    if type(value) is not float:
        assert value.dtype == dtype, f"{what}: dtype {value.dtype}, expected {np.dtype(dtype)}"


def tolerance(x, case):
    if _kind_dtype_of(x) == np.float32:
        return {"rtol": 2e-3, "atol": 2e-3}
    rtol = max(case.options.get("rtol", 1e-5), 1e-5)
    return {"rtol": rtol * 10, "atol": max(case.options.get("atol", 1e-7), 1e-7) * 10}


def _eps(case):
    """The finite-difference step: a cast to float32 in the primal rounds
    any step below float32's resolution, so casts take a larger one."""
    return 1e-6 if case.keeps_dtype else 1e-3


def _kind_dtype_of(x):
    return np.float64 if type(x) is float else x.dtype.type


def _close(actual, expected, x, case):
    if not np.all(np.isfinite(expected)):
        return  # (a case at a nan or inf: the rule's own test checks it)
    scale = max(1.0, float(np.max(np.abs(expected))) if np.size(expected) else 1.0)
    tol = tolerance(x, case)
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected,
                               rtol=tol["rtol"], atol=tol["atol"] * scale)


def _refused(run):
    """``run()``, or None when s2sgrad refuses the function (no rule of that order)."""
    try:
        return run()
    except S2SGradError:
        return None


def _built(case, argnum, kind):
    built = user_function(case, argnum, kind)
    if built is None:
        pytest.skip("no floating result for this argument kind")
    return built


def _id(item):
    case, argnum = item
    return f"{case.id}-{argnum}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("item", RULE_CASES, ids=_id)
def test_first_order_gradients_have_the_arguments_type(item, kind):
    case, argnum = item
    f, x = _built(case, argnum, kind)
    g = _refused(lambda: sg.grad(f)(x))
    if g is None:
        pytest.skip("refused")
    assert_like(g, x, "grad")
    expected = numerical_grad(f, (x,), eps=_eps(case))
    _close(g, expected, x, case)
    value, g2 = sg.value_and_grad(f)(x)
    assert_like(g2, x, "value_and_grad")
    jac = _refused(lambda: sg.jacobian(f)(x))
    if jac is not None:
        assert_like(jac, x, "jacobian")
        _close(jac, expected, x, case)
    tape_g = _tape_gradient(f, x)
    if tape_g is not None:
        assert np.shape(tape_g) == np.shape(x) and tape_g.dtype == _kind_dtype_of(x), \
            f"tape: {np.shape(tape_g)} {tape_g.dtype}"
        _close(tape_g, expected, x, case)


def _tape_gradient(f, x):
    source = sg.constant(x)
    try:
        with sg.GradientTape() as tape:
            tape.watch(source)
            y = f(source)
        g = tape.gradient(y, source)
    except (S2SGradError, TypeError, LookupError):
        return None  # (a primitive the tape cannot record on tensors)
    return None if g is None else g.numpy() if hasattr(g, "numpy") else g


#: the kinds second order and forward mode run in (each precision, each
#: container: the first-order test runs them all)
SECOND_ORDER_KINDS = ("float32 array", "Python float", "np.float32", "float64 0-d")


@pytest.mark.parametrize("kind", SECOND_ORDER_KINDS)
@pytest.mark.parametrize("item", RULE_CASES, ids=_id)
def test_second_order_and_forward_results_have_the_arguments_type(item, kind):
    case, argnum = item
    f, x = _built(case, argnum, kind)
    v = _as_kind(kind, np.random.default_rng(2).uniform(-1, 1, np.shape(x)))
    if type(x) is np.ndarray and x.ndim == 0:
        v = np.array(0.3, dtype=x.dtype)
    elif np.ndim(x) == 0:
        v = type(x)(0.3)
    out = _refused(lambda: sg.jvp(f)(x, v))
    if out is not None:
        value, tangent = out
        assert np.shape(tangent) == np.shape(value), "jvp"
        assert type(tangent) is type(value), f"jvp: {type(tangent).__name__} for {type(value).__name__}"
        assert np.result_type(tangent) == np.result_type(value), \
            f"jvp: dtype {np.result_type(tangent)} for {np.result_type(value)}"
        _close(tangent, numerical_jvp(f, (x,), 0, v, eps=_eps(case)), x, case)
    hv = _refused(lambda: sg.hvp(f)(x, v))
    if hv is not None:
        assert_like(hv, x, "hvp")
        if _kind_dtype_of(x) == np.float64:  # (float32 second derivatives cancel digits)
            _close(hv, numerical_jvp(sg.grad(f), (x,), 0, v, eps=_eps(case) * 10), x, case)
    hess = _refused(lambda: sg.hessian(f)(x))
    if hess is not None:
        assert_like(hess, x, "hessian", shape=np.shape(x) * 2)


# -- the reported functions, structures, the tape and s2sgrad.tf -------------

def hstacked(x):
    return np.sum(np.hstack([x, 3.0]) ** 2)


def scaled_by_a_float64(x):
    return np.sum(x * np.float64(2.0))


def doubled(x):
    return x * 2.0


def clipped(x):
    return np.sum(np.clip(x, -0.5, 0.5))  # (its rule's mask was a bool gradient)


def in_radians(x):
    return np.sum(np.deg2rad(x))  # (a constant derivative: a Python float for arrays)


def times_its_integer_part(x):
    return int(x) * x  # (an int gradient)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("f", [hstacked, scaled_by_a_float64, doubled, clipped, in_radians,
                               times_its_integer_part], ids=lambda f: f.__name__)
def test_the_reported_functions_give_the_arguments_type(f, kind):
    x = _as_kind(kind, np.array([0.25, -1.5, 2.0]))
    if f in (doubled, times_its_integer_part) and np.ndim(x):
        pytest.skip("not a scalar function of an array")
    g = sg.grad(f)(x)
    assert_like(g, x, "grad")
    np.testing.assert_allclose(np.asarray(g, dtype=np.float64), numerical_grad(f, (x,)), rtol=1e-3)
    assert_like(sg.value_and_grad(f)(x)[1], x, "value_and_grad")
    assert_like(sg.hvp(f)(x, x), x, "hvp")
    assert_like(sg.hessian(f)(x), x, "hessian", shape=np.shape(x) * 2)


def test_a_list_argument_gets_each_entry_in_its_own_dtype():
    def f(ws):
        return np.sum(ws[0] * ws[1] * np.float64(3.0)) + ws[2] * ws[2]

    ws = [np.ones(3, np.float32), np.full(3, 2.0), np.float32(0.5)]
    g = sg.grad(f)(ws)
    assert type(g) is list
    assert g[0].dtype == np.float32 and g[1].dtype == np.float64 and type(g[2]) is np.float32
    np.testing.assert_allclose(g[0], 6.0) and np.testing.assert_allclose(g[1], 3.0)


def test_the_tape_gives_the_sources_dtype_at_first_and_second_order():
    x = sg.constant(np.array([0.5, 1.5], np.float32))
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            y = np.sum(np.sin(x) * np.array([1.0, 2.0]))  # a float64 constant
        g = inner.gradient(y, x)
        z = np.sum(g * np.float64(3.0))
    h = outer.gradient(z, x)
    assert g.dtype == np.float32 and h.dtype == np.float32
    np.testing.assert_allclose(g.numpy(), np.cos([0.5, 1.5]) * [1.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(h.numpy(), -3.0 * np.sin([0.5, 1.5]) * [1.0, 2.0], rtol=1e-6)


def test_s2sgrad_tf_gradients_are_float32_as_in_tensorflow():
    import s2sgrad.tf as tf

    v = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = v * v * np.float64(2.0)
    g = tape.gradient(y, v)
    assert g.dtype == tf.float32 and float(g) == 12.0

    @tf.function
    def step(w):
        with tf.GradientTape() as t:
            loss = tf.reduce_sum(w * w * np.array([1.0, 2.0]))
        return t.gradient(loss, w)

    g = step(tf.Variable([1.0, 1.0]))
    assert g.dtype == tf.float32
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


# -- where the cast is, and what it does ------------------------------------

def test_a_gradient_typed_by_construction_is_returned_without_a_cast():
    def unused(x, y):
        return y * 2.0

    source = sg.source(unused)
    assert "as_gradient" not in source and "gradient_of" not in source and "zeros_like(x)" in source
    assert type(sg.grad(unused)(np.float32(1.0), 2.0)) is np.float32


def test_python_floats_take_the_path_without_the_cast():
    def quadratic(x, a):
        return a * x ** 2 + x

    body = sg.source(quadratic).splitlines()
    assert body[-1] == "    return 1.0 + a * 2 * x"  # (the float path: no cast)
    assert body[-3].strip() == "return gradient_of(1.0 + a * 2 * x, x)"  # (in the guard)
    assert type(sg.grad(quadratic)(1.0, 2.0)) is float
    assert type(sg.grad(quadratic)(np.float32(1.0), 2.0)) is np.float32
    assert type(sg.grad(quadratic)(1.0, np.float64(2.0))) is float


def test_as_gradient_returns_what_already_has_the_type_and_casts_the_rest():
    from s2sgrad.runtime import as_gradient

    g32 = np.ones(3, np.float32)
    assert as_gradient(g32, np.zeros(3, np.float32)) is g32
    assert as_gradient(np.ones(3), np.zeros(3, np.float32)).dtype == np.float32
    assert type(as_gradient(np.float64(2.0), 1.0)) is float
    assert type(as_gradient(2.0, np.float32(1.0))) is np.float32
    zero_d = as_gradient(np.float64(2.0), np.array(1.0, np.float32))
    assert type(zero_d) is np.ndarray and zero_d.shape == () and zero_d.dtype == np.float32
    placeholder = as_gradient(0.0, np.ones((2, 3), np.float32))
    assert placeholder.shape == (2, 3) and placeholder.dtype == np.float32
    assert as_gradient(np.ones(1), 1.0) == 1.0  # (a single-entry cotangent of a scalar)
    with pytest.raises(ValueError):
        as_gradient(np.ones((3, 4)), np.zeros((4, 3)))  # (never reshaped: a wrong shape is loud)


def _cubes(p):
    return np.sum(np.stack(p) ** 3)


def _stacked_twice(p):
    return np.sum(np.stack(p) ** 2) + np.sum(np.stack(p, axis=0) * 3.0)


@pytest.mark.parametrize("p", [(1.0, 2.0), [1.0, -0.5], (np.ones(2), np.arange(2.0))],
                         ids=["tuple", "list", "tuple of arrays"])
def test_a_sequence_a_numpy_function_reads_gets_its_own_type_back(p):
    # (the generated code cannot know p is a tuple: its final cast is
    # gradient_of, which gives the argument's structure, not the adjoint's
    # list of cotangents)
    g = sg.grad(_cubes)(p)
    assert type(g) is type(p) and len(g) == len(p)
    for i in range(len(p)):
        def entry(v, i=i):
            q = list(p)
            q[i] = v
            return _cubes(type(p)(q))
        np.testing.assert_allclose(g[i], numerical_grad(entry, (p[i],), 0), rtol=1e-6)


@pytest.mark.xfail(strict=True, reason="known: two sequence cotangents of a parameter that "
                   "is not known to be a sequence are joined with + (tuple concatenation), "
                   "and the gradient keeps the first len(p) entries")
def test_two_sequence_cotangents_of_a_parameter_add_entry_by_entry():
    assert sg.grad(_stacked_twice)((1.0, 2.0)) == pytest.approx((5.0, 7.0))
