"""Every public NumPy callable is classified, and each class keeps its promise.

The table is ``tools/numpy_coverage.py``: it enumerates ``dir(np)``,
``dir(np.linalg)``, ``dir(np.fft)`` and ``dir(np.ndarray)``, so a NumPy
release adding a function fails here until it is classified. A *rule* or
*no derivative* comes from the primitive table; *refused* callables must be
refused with an error naming them and the user's file and line; the
README's "NumPy coverage" section is generated from the same table.
"""

import re

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.codegen.compile import register_source
from s2sgrad.primitives import registry
from tools import numpy_coverage

ROWS = numpy_coverage.classify()
BY_CLASS = {c: [r[0] for r in ROWS if r[1] == c] for c in numpy_coverage.CLASSES}


def test_every_public_numpy_callable_is_classified():
    unclassified = [f"{spelling}: {problem}" for spelling, cls, problem in ROWS if cls is None]
    assert unclassified == [], (
        "classify these in tools/numpy_coverage.py (or give them a rule), then run "
        "python -m tools.numpy_coverage:\n" + "\n".join(unclassified))


def test_the_enumeration_sees_every_namespace():
    spellings = {r[0] for r in ROWS}
    assert {"np.sin", "np.linalg.inv", "np.fft.fft", "ndarray.sum", "ndarray.T"} <= spellings
    assert len(ROWS) > 500


def test_a_rule_is_a_record_with_a_vjp_and_no_derivative_is_declared():
    callables = numpy_coverage.public_callables()
    for spelling in BY_CLASS["rule"]:
        if not spelling.startswith("ndarray."):
            assert registry.lookup(callables[spelling]).vjp is not None, spelling
    for spelling in BY_CLASS["no derivative"]:
        if not spelling.startswith("ndarray."):
            assert registry.is_nondifferentiable(callables[spelling]), spelling


def _differentiated_call(expression):
    """``f(x)`` returning ``expression`` of ``x``, with source (line 2 is the call)."""
    source = f"def f(x):\n    return {expression}\n"
    filename = register_source(f"coverage {expression}", source)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)
    return namespace["f"], filename


def _expression(spelling):
    """A use of ``spelling`` on the differentiated ``x``."""
    if spelling.startswith("ndarray."):
        name = spelling[len("ndarray."):]
        attribute = not callable(getattr(np.ndarray, name))
        return f"x.{name}" if attribute else f"x.{name}(x)", name
    return f"{spelling}(x)", spelling


@pytest.mark.parametrize("spelling", BY_CLASS["refused"] + BY_CLASS["not applicable"])
def test_a_call_without_a_rule_is_refused_naming_it_and_the_users_line(spelling):
    expression, name = _expression(spelling)
    f, filename = _differentiated_call(expression)
    with pytest.raises(sg.UnsupportedSyntaxError) as refused:
        sg.grad(f)(np.array([0.5, 1.5, 2.5]))
    message = str(refused.value)
    assert re.search(rf"(^|[\s.]){re.escape(name.split('.')[-1])}\b", message), message
    assert f"{filename}:2" in message


# -- the newly declared nondifferentiable functions: their declared dtypes hold --

X = np.array([[0.5, -1.5, 2.0], [3.0, 0.25, -0.75]])
INTS = np.array([12, 18, 7])

NONDIFF_SAMPLES = [
    (np.argpartition, (X[0], 1)), (np.nanargmax, (X,)), (np.nanargmin, (X,)),
    (np.lexsort, ((X[0], X[1]),)), (np.unravel_index, (4, (2, 3))),
    (np.ravel_multi_index, ((np.array([1]), np.array([2])), (2, 3))), (np.indices, ((2, 3),)),
    (np.ix_, (np.array([0, 1]),)), (np.diag_indices, (3,)), (np.diag_indices_from, (np.eye(3),)),
    (np.tril_indices, (3,)), (np.triu_indices_from, (np.eye(3),)), (np.mask_indices, (3, np.triu)),
    (np.linalg.matrix_rank, (X,)), (np.gcd, (INTS, 4)), (np.lcm, (INTS, 4)),
    (np.bitwise_count, (INTS,)), (np.packbits, (INTS > 8,)), (np.unpackbits, (np.uint8([3]),)),
    (np.spacing, (X,)), (np.angle, (X,)), (np.tri, (3,)), (np.hanning, (5,)), (np.bartlett, (5,)),
    (np.isnat, (np.array(["NaT"], dtype="datetime64"),)), (np.isfortran, (X,)),
    (np.may_share_memory, (X, X)), (np.shares_memory, (X, X[0])), (np.can_cast, (X, np.float32)),
]
KINDS = {"int": "iu", "bool": "b", "float": "f", "same": "fiu"}


def _arrays(value):
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _arrays(v)]
    return [value]


@pytest.mark.parametrize("primitive, args", NONDIFF_SAMPLES, ids=lambda p: getattr(p, "__name__", ""))
def test_declared_dtype_of_a_function_without_derivative(primitive, args):
    record = registry.record(primitive)
    assert record.nondifferentiable and record.vjp is None
    if record.dtype in KINDS:
        for value in _arrays(primitive(*args)):
            assert np.result_type(value).kind in KINDS[record.dtype], (primitive, value)


def test_a_function_without_derivative_passes_no_gradient():
    """Positions, ranks and angles of ``x`` used in a loss: the gradient is
    that of the rest of the loss (finite differences agree away from ties)."""
    def loss(x):
        order = np.argpartition(x, 1)
        return np.sum(x[order[:2]] ** 2) + np.angle(x[0]) * x[1] + np.linalg.matrix_rank(np.outer(x, x)) * x[2]

    x = np.array([0.7, -1.3, 2.1, 0.2])
    from tests.fd import numerical_grad
    np.testing.assert_allclose(sg.grad(loss)(x), numerical_grad(loss, (x,)), rtol=1e-6, atol=1e-8)


# -- the README section -------------------------------------------------------


def test_the_readme_section_is_up_to_date():
    text = numpy_coverage.README.read_text()
    assert numpy_coverage.START in text and numpy_coverage.END in text
    written = numpy_coverage.START + text.split(numpy_coverage.START, 1)[1].split(numpy_coverage.END, 1)[0]
    if f"of NumPy {np.__version__}:" not in written:
        pytest.skip(f"the README's table is of another NumPy release than {np.__version__}")
    assert written + numpy_coverage.END + "\n" == numpy_coverage.section(ROWS), (
        "run python -m tools.numpy_coverage")


def test_updating_the_readme_replaces_only_the_section():
    start, end = numpy_coverage.START, numpy_coverage.END
    text = "# t\n\nintro\n\n## Forward mode and Hessians\n\nrest\n"
    once = numpy_coverage.updated_readme(text, f"{start}\nold\n{end}\n")
    assert once == f"# t\n\nintro\n\n{start}\nold\n{end}\n\n## Forward mode and Hessians\n\nrest\n"
    twice = numpy_coverage.updated_readme(once, f"{start}\nnew\n{end}\n")
    assert twice == once.replace("\nold\n", "\nnew\n")
