"""Emit, compile and cache: golden sources, determinism, linecache, caching."""

import inspect
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad import pipeline
from s2sgrad.codegen import cache
from tests.transform import cases

GOLDEN = pathlib.Path(__file__).parent.parent / "golden"


@pytest.mark.parametrize("name, wrt", [
    ("quadratic", 0), ("elementwise_chain", 0), ("rnn", (0, 1)),
])
def test_golden_sources(name, wrt):
    """The generated code is product output: a change to it is a decision."""
    expected = (GOLDEN / f"{name}.py.txt").read_text()
    assert sg.source(getattr(cases, name), wrt=wrt) == expected


def test_quadratic_gradient_is_a_handful_of_readable_lines():
    source = sg.source(cases.quadratic)
    assert "# grad of: return a * x ** 2 + b * x + c" in source
    assert "return b + a * 2 * x" in source
    assert len(source.splitlines()) <= 7  # (the cast other than Python floats need)


def test_generation_is_deterministic_across_processes():
    code = ("import s2sgrad as sg; from tests.transform import cases; "
            "print(sg.source(cases.rnn, wrt=(0, 1)) + sg.source(cases.branches))")
    root = str(pathlib.Path(__file__).parent.parent.parent)
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              cwd=root, check=True).stdout for _ in range(2)}
    assert len(outputs) == 1


def test_generated_code_is_inspectable_and_shows_in_tracebacks():
    g = sg.grad(cases.elementwise_chain)
    assert inspect.getsource(g).lstrip().startswith("def grad_elementwise_chain(x):")
    with pytest.raises(ValueError) as info:
        sg.grad(cases.vector_output)(np.ones(3))
    frames = [f for f in info.traceback if "s2sgrad" in str(f.path) and "vector_output" in str(f.path)]
    assert frames, "the generated function's frame appears in the traceback"


def test_second_call_does_not_parse_again(monkeypatch):
    sg.grad(cases.augmented)  # warm the cache

    def refuse(function):
        raise AssertionError("parsed again")

    monkeypatch.setattr(pipeline, "parse_function", refuse)
    g = sg.grad(cases.augmented)
    x = np.array([0.5, 1.5])
    assert np.all(np.isfinite(g(x)))


def test_cache_notices_a_rebound_global(monkeypatch):
    before = sg.grad(cases.uses_global)(np.ones(2))
    monkeypatch.setattr(cases, "SCALE", 5.0)
    after = sg.grad(cases.uses_global)(np.ones(2))
    np.testing.assert_allclose(before, 3.0)
    np.testing.assert_allclose(after, 5.0)


def test_closures_differ_by_their_cells():
    a = sg.grad(cases.make_closure(np.array([1.0, 2.0])))(np.ones(2))
    b = sg.grad(cases.make_closure(np.array([3.0, 1.0])))(np.ones(2))
    np.testing.assert_allclose(a, 2 * np.array([1.0, 4.0]))
    np.testing.assert_allclose(b, 2 * np.array([9.0, 1.0]))


def test_threads_generate_once():
    cache.clear()
    before = cache.stats["generated"]
    results, errors = [], []

    def work():
        try:
            results.append(sg.grad(cases.reductions)(np.ones((3, 4))))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert cache.stats["generated"] - before == 1
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


def test_generated_code_has_no_dead_statements():
    """Every assigned name is read (or returned) afterwards."""
    import ast

    for f, wrt in [(cases.elementwise_chain, 0), (cases.rnn, (0, 1)), (cases.branches, 0),
                   (cases.softmax_cross_entropy, (0, 1)), (cases.subscript_updates, 0)]:
        tree = ast.parse(sg.source(f, wrt=wrt))
        loads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        stores = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        assert stores <= loads | {"_"}, f"{f.__name__}: {sorted(stores - loads)} never read"


def test_gradient_has_the_functions_signature():
    for f in (cases.quadratic, cases.default_argument, cases.keyword_only):
        assert inspect.signature(sg.grad(f)) == inspect.signature(f)
