"""einsum, kron, cross, multi_dot and matrix_power: rules, the source path,
the tape, order 2 (the adjoint helpers' own rules), forward mode."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad as sg
from s2sgrad.primitives import linalg, products, registry
from tests.fd import check_vjp, numerical_grad, numerical_jacobian, numerical_jvp, random_like
from tests.primitives import Case, check_grad_tape_and_forward, params, sample

EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii->", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("iii->i", [(2, 2, 2)]),
    ("iij,jk", [(2, 2, 3), (3, 4)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("ij->i", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ij", [(2, 3)]),
    ("ba", [(2, 3)]),
    ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]),
    (",ij->ij", [None, (2, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 3), (5, 3, 2)]),
    ("i...->...", [(3, 2, 1)]),
    ("...,...->...", [(2, 3), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bqd,bkd->bqk", [(2, 3, 4), (2, 5, 4)]),
]

CASES = [
    Case(np.einsum, (spec, *(sample(s, seed=i + j) for j, s in enumerate(shapes))), label=spec)
    for i, (spec, shapes) in enumerate(EINSUMS)
]
CASES += [
    Case(np.einsum, (sample((2, 3)), [0, 1], sample((3, 4), seed=1), [1, 2], [0, 2]), label="sublists"),
    Case(np.einsum, (sample((2, 3)), [0, Ellipsis], sample((4, 3), seed=1), [Ellipsis]),
         label="sublists-ellipsis"),
]
ALSO_COVERED = [products.einsum_cotangents]

KRONS = [((2, 3), (4,)), ((2, 3), (2, 2, 2)), ((), (3,)), ((3,), (2,)), ((1, 2), (3, 1))]
# (shape a, shape b, keywords): vectors of 3 or 2 along any axis, broadcast batches
CROSSES = [((3,), (3,), {}), ((4, 3), (3,), {}), ((3, 4), (4, 3), {"axisa": 0}),
           ((3, 4), (4, 3), {"axisa": 0, "axisc": 0}), ((3, 4, 2), (3, 4, 2), {"axis": 0}),
           ((2, 1, 3), (4, 3), {})]
CROSSES_2 = [((4, 2), (4, 3), {}), ((4, 2), (2,), {}), ((2, 5), (5, 2), {"axisa": 0})]  # (deprecated in NumPy 2)
MULTI_DOTS = [[(3,), (3, 4), (4, 2), (2,)], [(2, 3), (3, 4)], [(2, 3), (3, 4), (4, 1)], [(3,), (3,)],
              [(3,), (3, 2), (2, 2)]]
POWERS = [-3, -1, 0, 1, 2, 5]


def _chain(shapes, seed=0):
    return [sample(s, seed=seed + i) for i, s in enumerate(shapes)]


def _near_identity(shape, seed=0):
    return sample(shape, seed=seed) / shape[-1] + np.eye(shape[-1])


CASES += [Case(np.kron, (sample(sa), sample(sb, seed=1)), label=f"{sa}x{sb}") for sa, sb in KRONS]
CASES += [Case(np.cross, (sample(sa), sample(sb, seed=1)), kw, label=f"{sa}x{sb}-{kw}") for sa, sb, kw in CROSSES]
CASES += [Case(np.linalg.multi_dot, (_chain(shapes),), label=str(shapes)) for shapes in MULTI_DOTS]
CASES += [Case(np.linalg.matrix_power, (_near_identity(shape), n), label=f"{shape}^{n}")
          for shape in [(3, 3), (2, 3, 3)] for n in POWERS]
CASES += [Case(linalg.upper_block, (sample((2, 3, 3)), sample((2, 3, 3), seed=1))),
          Case(linalg.upper_block, (sample((3,)), sample((2, 3, 3), seed=1)), label="broadcast")]
# the array API's spellings
CASES += [
    Case(np.linalg.matmul, (sample((2, 3, 4)), sample((4, 2), seed=1))),
    Case(np.linalg.matmul, (sample((4,)), sample((2, 4, 3), seed=1)), label="vector"),
    Case(np.linalg.outer, (sample((3,)), sample((4,), seed=1))),
    Case(np.linalg.cross, (sample((3, 4)), sample((3, 4), seed=1)), {"axis": 0}),
    Case(np.linalg.cross, (sample((2, 3)), sample((3,), seed=1)), label="broadcast"),
    Case(np.linalg.tensordot, (sample((2, 3, 4)), sample((3, 4, 2), seed=1))),
    Case(np.linalg.tensordot, (sample((2, 3)), sample((3, 4), seed=1)), {"axes": ([1], [0])}, label="axes"),
    Case(np.linalg.trace, (sample((2, 3, 4)),), {"offset": 1}),
    Case(np.linalg.vecdot, (sample((2, 3, 4)), sample((3, 4), seed=1)), {"axis": -2}),
    Case(np.linalg.vecdot, (sample((2, 3, 4)), sample((2, 3, 1), seed=1)), {"axis": 0}, label="axis0"),
    Case(np.vecdot, (sample((2, 3, 4)), sample((4,), seed=1))),
    Case(products.vecdot_adjoint, (sample((3, 4), seed=3), sample((2, 3, 1), seed=1), sample((2, 3, 4)), 0),
         argnums=(0, 1)),
    Case(np.matvec, (sample((2, 3, 4)), sample((4,), seed=1))),
    Case(np.matvec, (sample((3, 4)), sample((2, 4), seed=1)), label="batched-vectors"),
    Case(np.vecmat, (sample((3,)), sample((2, 3, 4), seed=1))),
]
CASES += [Case(np.linalg.matrix_norm, (sample((2, 3, 4)),), {"ord": o, "keepdims": k}, argnums=(0,),
               label=f"{o}-{k}") for o in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf) for k in (False, True)]
CASES += [Case(np.linalg.svdvals, (sample((2, 4, 3)),)), Case(np.linalg.svdvals, (sample((3, 5)),), label="wide")]
# the adjoint helpers, in the cotangent and the operand they are bilinear in
for i, (sa, sb) in enumerate(KRONS):
    a, b = sample(sa, seed=i), sample(sb, seed=i + 1)
    cotangent = sample(np.shape(np.kron(a, b)), seed=i + 7)
    CASES.append(Case(products.kron_adjoint_a, (cotangent, a, b), argnums=(0, 2), label=f"{sa}x{sb}"))
    CASES.append(Case(products.kron_adjoint_b, (cotangent, a, b), argnums=(0, 1), label=f"{sa}x{sb}"))
for i, (sa, sb, kw) in enumerate(CROSSES):
    a, b = sample(sa, seed=i), sample(sb, seed=i + 1)
    cotangent = sample(np.shape(np.cross(a, b, **kw)), seed=i + 7)
    CASES.append(Case(products.cross_adjoint_a, (cotangent, a, b), kw, argnums=(0, 2), label=f"{sa}x{sb}-{kw}"))
    CASES.append(Case(products.cross_adjoint_b, (cotangent, a, b), kw, argnums=(0, 1), label=f"{sa}x{sb}-{kw}"))
for shapes in MULTI_DOTS:
    arrays = _chain(shapes)
    cotangent = sample(np.shape(np.linalg.multi_dot(arrays)), seed=9)
    CASES.append(Case(products.multi_dot_cotangents, (cotangent, arrays), label=str(shapes)))


@pytest.mark.parametrize("case", params(CASES))
def test_rule_matches_finite_differences(case):
    case.check()


def _check_second_order(operands, seed=0):
    """einsum_cotangents' rule (einsum's second order) by the inner-product
    identity in the cotangent and in every array."""
    rng = np.random.default_rng(seed)
    positions = products.einsum_terms(operands)[0]
    cotangent = random_like(np.einsum(*operands), rng)

    def apply(cotangent, *arrays):
        ops = list(operands)
        for p, array in zip(positions, arrays):
            ops[p] = array
        return [products.einsum_cotangents(cotangent, ops)[p] for p in positions]

    def vjp(g, ans, cotangent, *arrays):
        ops = list(operands)
        for p, array in zip(positions, arrays):
            ops[p] = array
        full = [None] * len(ops)
        for p, entry in zip(positions, g):
            full[p] = entry
        grad_cotangent, grads = products.einsum_cotangents_vjp(full, None, cotangent, ops)
        return (grad_cotangent, [grads[p] for p in positions])

    check_vjp(registry.Primitive(apply, vjp=vjp), [cotangent, *(operands[p] for p in positions)], seed=seed)


@pytest.mark.parametrize("spec, shapes", EINSUMS, ids=[s for s, _ in EINSUMS])
def test_second_order_rule_matches_finite_differences(spec, shapes):
    _check_second_order([spec, *(sample(s, seed=j) for j, s in enumerate(shapes))])


@st.composite
def einsum_calls(draw):
    """A random einsum: 1-3 operands over labels i, j, k, l (repeats and
    labels used once included), implicit or explicit output, maybe ``...``."""
    sizes = dict(zip("ijkl", draw(st.lists(st.integers(1, 3), min_size=4, max_size=4))))
    count = draw(st.integers(1, 3))
    batch = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    ellipsis = draw(st.booleans())
    terms, arrays = [], []
    for _ in range(count):
        labels = draw(st.lists(st.sampled_from("ijkl"), max_size=3))
        shape = tuple(sizes[c] for c in labels)
        if ellipsis:
            lead = batch[draw(st.integers(0, len(batch))):]
            shape = lead + shape
            labels = ["..."] + labels
        terms.append("".join(labels))
        arrays.append(draw(st.integers(0, 2**16)))
    spec = ",".join(terms)
    if draw(st.booleans()):
        used = sorted(set("".join(terms).replace(".", "")))
        output = draw(st.permutations(used))[:draw(st.integers(0, len(used)))]
        spec += "->" + ("..." if ellipsis else "") + "".join(output)
    shapes = []
    for term in terms:
        labels = term.replace("...", "")
        lead = ()
        if ellipsis:
            lead = batch[draw(st.integers(0, len(batch))):]
            lead = tuple(1 if draw(st.booleans()) else n for n in lead)  # stretched by broadcasting
        shapes.append(lead + tuple(sizes[c] for c in labels))
    return [spec] + [sample(s, seed=seed) for s, seed in zip(shapes, arrays)]


@settings(max_examples=60, deadline=None)
@given(einsum_calls())
def test_random_einsums_match_finite_differences(operands):
    try:
        np.einsum(*operands)
    except ValueError:
        return  # (an output label the inputs lack, ...)
    check_vjp(np.einsum, operands)
    _check_second_order(operands)


# -- through sg.grad, the tape and second order -----------------------------


def attention(q, k, v):
    scores = np.einsum("bqd,bkd->bqk", q, k) / q.shape[-1] ** 0.5
    weights = np.exp(scores - np.max(scores, axis=-1, keepdims=True))
    weights = weights / np.sum(weights, axis=-1, keepdims=True)
    return np.sum(np.einsum("bqk,bkd->bqd", weights, v) ** 2)


def traces(a, x):
    return np.einsum("ii", a) * np.einsum("i,ij,j", x, a, x) + np.sum(np.einsum("ii->i", a) ** 3)


def test_grad_of_a_user_function_calling_einsum():
    q, k, v = sample((2, 3, 4)), sample((2, 5, 4), seed=1), sample((2, 5, 4), seed=2)
    grads = sg.grad(attention, wrt=(0, 1, 2))(q, k, v)
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(grad, numerical_grad(attention, [q, k, v], i), rtol=1e-6, atol=1e-8)


def test_grad_with_respect_to_one_operand_of_several():
    a, x = sample((3, 3)), sample((3,), seed=1)
    for i in range(2):
        np.testing.assert_allclose(sg.grad(traces, wrt=i)(a, x), numerical_grad(traces, [a, x], i),
                                   rtol=1e-6, atol=1e-8)


def test_second_order_through_einsum():
    a, x = sample((3, 3)), sample((3,), seed=1)
    hessian = sg.hessian(traces, wrt=1)(a, x)
    expected = numerical_jacobian(sg.grad(traces, wrt=1), [a, x], 1)
    np.testing.assert_allclose(hessian, expected, rtol=1e-6, atol=1e-7)
    hessian = sg.hessian(traces)(a, x)
    np.testing.assert_allclose(hessian, numerical_jacobian(sg.grad(traces), [a, x], 0), rtol=1e-6, atol=1e-7)


def test_the_tape_records_einsum():
    a, x = sample((3, 3)), sample((3,), seed=1)
    va, vx = sg.Variable(a), sg.Variable(x)
    with sg.GradientTape() as tape:
        y = np.einsum("ii", va) * np.einsum("i,ij,j", vx, va, vx) + np.sum(np.einsum("ii->i", va) ** 3)
    grads = tape.gradient(y, [va, vx])
    for i, grad in enumerate(grads):
        np.testing.assert_allclose(np.asarray(grad), numerical_grad(traces, [a, x], i), rtol=1e-6, atol=1e-8)


def test_nested_tapes_differentiate_einsum_twice():
    x = sg.Variable(sample((3,)))
    a = sample((3, 3), seed=1)
    with sg.GradientTape() as outer:
        with sg.GradientTape() as tape:
            y = np.einsum("i,ij,j", x, a, x) ** 2
        g = tape.gradient(y, x)
    hessian = outer.jacobian(g, x)
    expected = numerical_jacobian(lambda x: 2 * np.einsum("i,ij,j", x, a, x) * (a + a.T) @ x, [x.numpy()], 0)
    np.testing.assert_allclose(np.asarray(hessian), expected, rtol=1e-6, atol=1e-7)


def test_float32_operands_keep_float32_gradients():
    q, k, v = (sample(s, seed=i).astype(np.float32) for i, s in enumerate([(2, 3, 4), (2, 5, 4), (2, 5, 4)]))
    for grad in sg.grad(attention, wrt=(0, 1, 2))(q, k, v):
        assert grad.dtype == np.float32


# -- kron, cross, multi_dot, matrix_power --------------------------------------


def _crosses_vectors_of_two():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            np.cross(np.ones(2), np.ones(3))
    except ValueError:  # NumPy 2.5 removed them (deprecated since 2.0)
        return False
    return True


@pytest.mark.skipif(not _crosses_vectors_of_two(), reason="this NumPy refuses vectors of two in np.cross")
@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors are deprecated")
@pytest.mark.parametrize("sa, sb, kw", CROSSES_2, ids=[f"{sa}x{sb}-{kw}" for sa, sb, kw in CROSSES_2])
def test_cross_of_vectors_of_two(sa, sb, kw):
    a, b = sample(sa), sample(sb, seed=1)
    check_vjp(np.cross, (a, b), kw)
    cotangent = sample(np.shape(np.cross(a, b, **kw)), seed=7)
    check_vjp(products.cross_adjoint_a, (cotangent, a, b), kw, argnums=(0, 2))
    check_vjp(products.cross_adjoint_b, (cotangent, a, b), kw, argnums=(0, 1))


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 3), max_size=2), n=st.integers(1, 4), power=st.integers(-4, 6),
       seed=st.integers(0, 2**16))
def test_matrix_power_over_shapes_and_powers(batch, n, power, seed):
    check_vjp(np.linalg.matrix_power, (_near_identity((*batch, n, n), seed), power), seed=seed)


@settings(max_examples=25, deadline=None)
@given(sa=st.lists(st.integers(1, 3), max_size=3), sb=st.lists(st.integers(1, 3), max_size=3),
       seed=st.integers(0, 2**16))
def test_kron_over_shapes(sa, sb, seed):
    a, b = sample(tuple(sa), seed=seed), sample(tuple(sb), seed=seed + 1)
    check_vjp(np.kron, (a, b), seed=seed)
    cotangent = sample(np.shape(np.kron(a, b)), seed=seed + 2)
    check_vjp(products.kron_adjoint_a, (cotangent, a, b), argnums=(0, 2), seed=seed)


@settings(max_examples=25, deadline=None)
@given(batch_a=st.lists(st.integers(1, 3), max_size=2), batch_b=st.lists(st.integers(1, 3), max_size=2),
       axisa=st.integers(-1, 0), axisb=st.integers(-1, 0), axisc=st.integers(-1, 0), seed=st.integers(0, 2**16))
def test_cross_over_shapes_and_axes(batch_a, batch_b, axisa, axisb, axisc, seed):
    try:
        np.broadcast_shapes(tuple(batch_a), tuple(batch_b))
    except ValueError:
        return
    a = np.moveaxis(sample((*batch_a, 3), seed=seed), -1, axisa)
    b = np.moveaxis(sample((*batch_b, 3), seed=seed + 1), -1, axisb)
    kw = {"axisa": axisa, "axisb": axisb, "axisc": axisc}
    check_vjp(np.cross, (a, b), kw, seed=seed)


def products_loss(a, b, x):
    m = np.kron(a, b) @ np.kron(b, a)
    c = np.cross(x, np.linalg.multi_dot([a, b, a])[0], axis=-1)
    return np.sum(m ** 2) + np.sum(c ** 3) + np.sum(np.linalg.matrix_power(a, 3) * b) \
        + np.sum(np.linalg.matrix_power(a + 3.0 * np.eye(3, dtype=a.dtype), -2))


PRODUCT_ARGS = (sample((3, 3)) / 2, sample((3, 3), seed=1) / 2, sample((2, 3), seed=2))


@pytest.mark.parametrize("argnum", range(3))
def test_grad_tape_forward_and_float32_of_a_user_function(argnum):
    check_grad_tape_and_forward(products_loss, PRODUCT_ARGS, argnum)
    args32 = [np.asarray(a, np.float32) for a in PRODUCT_ARGS]
    assert sg.grad(products_loss, wrt=argnum)(*args32).dtype == np.float32


def test_second_order_runs_forward_over_reverse_where_no_list_is_built():
    def loss(a, b, x):
        return np.sum(np.kron(a, b) ** 2) + np.sum(np.cross(x, a[0]) ** 3) \
            + np.sum(np.linalg.matrix_power(a + 3.0 * np.eye(3), -2) * b)

    for argnum in range(3):
        sg.source(loss, wrt=argnum, order=2, mode="forward")  # (no fallback to reverse over reverse)
        direction = random_like(PRODUCT_ARGS[argnum], np.random.default_rng(argnum))
        np.testing.assert_allclose(sg.hvp(loss, wrt=argnum)(*PRODUCT_ARGS, direction),
                                   numerical_jvp(sg.grad(loss, wrt=argnum), PRODUCT_ARGS, argnum, direction),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("argnum", range(3))
def test_second_order_of_a_user_function(argnum):
    # (multi_dot's list display: forward mode builds no list tangents yet, so
    # sg.hvp runs reverse over reverse here, through multi_dot_cotangents' rule)
    direction = random_like(PRODUCT_ARGS[argnum], np.random.default_rng(argnum))
    expected = numerical_jvp(sg.grad(products_loss, wrt=argnum), PRODUCT_ARGS, argnum, direction)
    np.testing.assert_allclose(sg.hvp(products_loss, wrt=argnum)(*PRODUCT_ARGS, direction), expected,
                               rtol=1e-5, atol=1e-6)
    hessian = sg.hessian(products_loss, wrt=argnum)(*PRODUCT_ARGS)
    np.testing.assert_allclose(hessian, numerical_jacobian(sg.grad(products_loss, wrt=argnum), PRODUCT_ARGS, argnum),
                               rtol=1e-5, atol=1e-6)


def array_api_loss(a, x):
    y = np.linalg.matmul(a, x) + np.matvec(a, x) + np.vecmat(x, np.swapaxes(a, -1, -2))
    return np.sum(np.linalg.vecdot(y, y)) + np.sum(np.linalg.matrix_norm(a, ord="nuc")) \
        + np.sum(np.linalg.svdvals(a) ** 2) + np.sum(np.linalg.trace(a) ** 2) + np.sum(np.vecdot(x, x) ** 2)


@pytest.mark.parametrize("argnum", range(2))
def test_the_array_api_spellings_through_sg_grad_and_the_tape(argnum):
    check_grad_tape_and_forward(array_api_loss, (sample((2, 3, 3)), sample((3,), seed=1)), argnum)
