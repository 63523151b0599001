"""Finite-difference checks shared by the whole test suite.

* :func:`numerical_grad` – gradient of a scalar function by central
  differences, one coordinate at a time;
* :func:`numerical_jvp` – a Jacobian-vector product J·u by one central
  difference along ``u``;
* :func:`numerical_jacobian` – the full Jacobian, shape ``out + arg``;
* :func:`check_vjp` – verifies a derivative rule by the inner-product
  identity ⟨v, J·u⟩ = ⟨Jᵀ·v, u⟩ for random ``v`` and ``u`` (autograd's
  check; sharper than entry-by-entry comparison, and one function call pair
  per argument instead of one per entry);
* :func:`assert_grad_close` – compares a computed gradient with
  :func:`numerical_grad`.

Arguments may be Python floats, NumPy scalars or arrays of any shape
(float32 included), or lists/tuples of those (``np.concatenate``'s first
argument). Differencing always happens in float64: floating arguments are
converted before the function is evaluated.

Tolerances. With ``eps = 1e-6`` a central difference has truncation error
about ``eps**2 * |f'''| ~ 1e-12`` and rounding error about
``1e-16 * |f| / eps ~ 1e-10 * |f|``. For inputs of order 1 kept away from
singularities that is far below the defaults, ``rtol=1e-5, atol=1e-7`` for
gradients and ``rtol=1e-6`` (relative to ``|v| * |J·u|``, the largest the
inner product could be) for :func:`check_vjp`; a wrong rule is off by an
amount of the order of the inner product itself.
"""

import inspect

import numpy as np

from s2sgrad.primitives import registry

EPS = 1e-6


def _is_float(value):
    """True for values finite differences can perturb."""
    if isinstance(value, dict):
        return _is_float(list(value.values()))
    if isinstance(value, (list, tuple)):
        return len(value) > 0 and all(_is_float(v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, float):
        return True
    return isinstance(value, (np.ndarray, np.floating)) and np.issubdtype(np.result_type(value), np.floating)


def as_float64(value):
    """``value`` with every floating array or NumPy scalar cast to float64."""
    if isinstance(value, dict):
        return {k: as_float64(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return _rebuilt(value, [as_float64(v) for v in value])
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return value.astype(np.float64)
    if isinstance(value, np.floating):
        return np.float64(value)
    return value


def _step(value, direction, size):
    """``value + size * direction``, keeping Python floats Python floats."""
    if isinstance(value, dict):
        return {k: _step(v, direction[k], size) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_step(v, d, size) for v, d in zip(value, direction))
    if isinstance(value, float):
        return value + size * float(direction)
    return np.asarray(value, dtype=np.float64) + size * np.asarray(direction, dtype=np.float64)


def _with_arg(args, argnum, value):
    args = list(args)
    args[argnum] = value
    return args


def _difference(plus, minus, eps):
    if plus is None and minus is None:  # (an entry a container cotangent leaves out)
        return None
    if isinstance(plus, dict):
        return {k: _difference(plus[k], minus[k], eps) for k in plus}
    if isinstance(plus, (list, tuple)):
        return [_difference(p, m, eps) for p, m in zip(plus, minus)]
    return (np.asarray(plus, dtype=np.float64) - np.asarray(minus, dtype=np.float64)) / (2 * eps)


def random_like(value, rng):
    """Standard normal values with the structure and shape of ``value`` (float64)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: random_like(v, rng) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [random_like(v, rng) for v in value]
    if isinstance(value, float):
        return float(rng.standard_normal())
    return rng.standard_normal(np.shape(value))


def inner(a, b):
    """⟨a, b⟩ summed over every entry of (possibly nested lists of) arrays."""
    if a is None or b is None:
        return 0.0
    if isinstance(a, dict) or isinstance(b, dict):  # (a missing key is a zero entry)
        a, b = (v if isinstance(v, dict) else {} for v in (a, b))
        return sum(inner(a[k], b[k]) for k in a if k in b)
    if isinstance(a, (list, tuple)):
        return sum(inner(x, y) for x, y in zip(a, b))
    return float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))


def norm(a):
    return np.sqrt(inner(a, a))


def numerical_jvp(f, args, argnum, tangent, kwargs=None, eps=EPS):
    """J·tangent of ``f`` with respect to ``args[argnum]``, by central differences."""
    kwargs = kwargs or {}
    args = as_float64(list(args))
    x = args[argnum]
    plus = f(*_with_arg(args, argnum, _step(x, tangent, eps)), **kwargs)
    minus = f(*_with_arg(args, argnum, _step(x, tangent, -eps)), **kwargs)
    return _difference(plus, minus, eps)


def numerical_jacobian(f, args, argnum=0, kwargs=None, eps=EPS):
    """The Jacobian of ``f`` at ``args`` w.r.t. ``args[argnum]``: shape out + arg."""
    args = as_float64(list(args))
    x = args[argnum]
    shape = np.shape(x)
    columns = []
    for index in np.ndindex(*shape):
        direction = np.zeros(shape)
        direction[index] = 1.0
        if isinstance(x, float):
            direction = 1.0
        columns.append(np.asarray(numerical_jvp(f, args, argnum, direction, kwargs, eps)))
    out_shape = columns[0].shape if columns else np.shape(f(*args, **(kwargs or {})))
    if not columns:
        return np.zeros(out_shape + shape)
    jac = np.stack(columns, axis=-1)
    return np.reshape(jac, out_shape + shape)


def numerical_grad(f, args, argnum=0, eps=EPS, kwargs=None):
    """The gradient of scalar-valued ``f`` w.r.t. ``args[argnum]`` in float64.

    Returns a Python float for a Python float argument, else an array with
    the argument's shape.
    """
    args = as_float64(list(args))
    value = f(*args, **(kwargs or {}))
    if np.shape(value) != ():
        raise ValueError(f"numerical_grad needs a scalar function; got shape {np.shape(value)}")
    jac = numerical_jacobian(f, args, argnum, kwargs, eps)
    if isinstance(args[argnum], float):
        return float(jac)
    return jac


def assert_grad_close(actual, f, args, argnum=0, rtol=1e-5, atol=1e-7, eps=EPS):
    """Assert ``actual`` is the gradient of ``f`` at ``args`` (shape and values)."""
    expected = numerical_grad(f, args, argnum, eps)
    assert np.shape(actual) == np.shape(expected), (np.shape(actual), np.shape(expected))
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol)


def _shapes(value, like=None):
    """The shapes in ``value``; with ``like``, an entry or key missing from
    a container cotangent (``None``: zero) counts as shaped like ``like``'s."""
    if value is None:
        return None if like is None else _shapes(like)
    if isinstance(like, dict) or isinstance(value, dict):
        like = like if isinstance(like, dict) else {}
        value = value if isinstance(value, dict) else {}
        return {k: _shapes(value.get(k), like.get(k)) for k in set(value) | set(like)}
    if isinstance(value, (list, tuple)):
        likes = like if isinstance(like, (list, tuple)) else [None] * len(value)
        return [_shapes(v, l) for v, l in zip(value, likes)]
    return np.shape(value)


def resolve_rule(rule_or_primitive):
    """A :class:`~s2sgrad.primitives.registry.Primitive` for a rule or a primitive."""
    if isinstance(rule_or_primitive, registry.Primitive):
        return rule_or_primitive
    rule = registry.lookup(rule_or_primitive)
    if rule is None:
        raise LookupError(f"no rule registered for {rule_or_primitive!r}")
    return rule


def spread_varargs(vjp, grads, count):
    """A rule's gradients one per positional argument: the entry of a
    ``*args`` parameter (a list, one per argument it took) spread out."""
    kinds = [p.kind for p in inspect.signature(vjp).parameters.values()][2:]
    if inspect.Parameter.VAR_POSITIONAL not in kinds:
        return grads
    i = kinds.index(inspect.Parameter.VAR_POSITIONAL)
    spread = list(grads[i]) if i < len(grads) and grads[i] is not None else [None] * (count - i)
    assert len(spread) == count - i, f"{len(spread)} entries for {count - i} arguments of *args"
    return tuple(grads[:i]) + tuple(spread)


def check_vjp(rule_or_primitive, args, kwargs=None, *, argnums=None, seed=0, rtol=1e-6, atol=1e-9, eps=EPS):
    """Check a rule against finite differences by the inner-product identity.

    Calls the rule on float64 versions of ``args`` with a random cotangent
    ``v`` shaped like the result; for every differentiable argument ``i``
    (``argnums`` restricts them) whose entry is not None, asserts that the
    entry has the argument's shape and that ⟨v, J_i·u⟩ (numerical) equals
    ⟨entry, u⟩ for a random ``u``. Returns the rule's output tuple.
    """
    rule = resolve_rule(rule_or_primitive)
    kwargs = kwargs or {}
    rng = np.random.default_rng(seed)
    args = as_float64(list(args))
    ans = rule.primitive(*args, **kwargs)
    v = random_like(ans, rng)
    grads = rule.vjp(v, ans, *args, **kwargs)
    assert isinstance(grads, tuple), f"rule returned {type(grads).__name__}, not a tuple"
    assert len(grads) <= len(inspect.signature(rule.vjp).parameters) - 2, "more entries than parameters"
    grads = spread_varargs(rule.vjp, grads, len(args))
    checked = 0
    for i, grad in enumerate(grads):
        if grad is None or (argnums is not None and i not in argnums):
            continue
        if i >= len(args) or not _is_float(args[i]):
            continue
        x = args[i]
        assert _shapes(grad, x) == _shapes(x), f"argument {i}: gradient shape {_shapes(grad, x)} != {_shapes(x)}"
        u = random_like(x, rng)
        jvp = numerical_jvp(rule.primitive, args, i, u, kwargs, eps)
        lhs, rhs = inner(v, jvp), inner(grad, u)
        tol = atol + rtol * max(norm(v) * norm(jvp), abs(lhs), abs(rhs))
        assert abs(lhs - rhs) <= tol, (
            f"{rule.vjp.__qualname__}: argument {i}: <v, J u> = {lhs!r} but <J^T v, u> = {rhs!r}"
        )
        checked += 1
    if argnums is not None:
        assert checked == len(argnums), f"checked {checked} arguments, expected {sorted(argnums)}"
    return grads


def _leaves(value, path=()):
    """(path, leaf) of every float or float array in a nested list/tuple/dict."""
    if isinstance(value, dict):
        return [p for k in value for p in _leaves(value[k], path + (k,))]
    if isinstance(value, (list, tuple)):
        return [p for i, v in enumerate(value) for p in _leaves(v, path + (i,))]
    return [(path, value)]


def _replaced(value, path, leaf):
    """``value`` with the leaf at ``path`` replaced (containers copied, types kept)."""
    if not path:
        return leaf
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: _replaced(v, rest, leaf) if k == head else v for k, v in value.items()}
    return _rebuilt(value, [_replaced(v, rest, leaf) if i == head else v
                            for i, v in enumerate(value)])


def _rebuilt(sequence, items):
    """``items`` in a sequence of the type of ``sequence`` (namedtuples too)."""
    if isinstance(sequence, list):
        return items
    return type(sequence)(*items) if hasattr(sequence, "_fields") else type(sequence)(items)


def assert_structure_grad_close(actual, f, args, argnum=0, rtol=1e-5, atol=1e-7, eps=EPS):
    """Assert ``actual`` is the gradient of ``f`` with respect to the nested
    list/tuple/dict ``args[argnum]``: the same structure (container types,
    keys, lengths), every leaf the central-difference gradient."""
    args = list(args)
    structure = as_float64(args[argnum])
    expected_leaves = _leaves(structure)
    actual_leaves = _leaves(actual)
    assert [p for p, _ in actual_leaves] == [p for p, _ in expected_leaves], \
        (actual, args[argnum])
    _assert_same_containers(actual, structure)
    for (path, leaf), (_, got) in zip(expected_leaves, actual_leaves):
        def of_leaf(value, path=path):
            return f(*_with_arg(args, argnum, _replaced(structure, path, value)))
        assert_grad_close(got, of_leaf, [leaf], 0, rtol, atol, eps)


def _assert_same_containers(actual, expected):
    if isinstance(expected, (list, tuple, dict)):
        assert type(actual) is type(expected), (type(actual), type(expected))
        items = expected.items() if isinstance(expected, dict) else enumerate(expected)
        for k, v in items:
            _assert_same_containers(actual[k], v)
    else:
        assert not isinstance(actual, (list, tuple, dict)), actual
