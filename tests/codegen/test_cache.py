"""The cache serves only code that still matches what determines the derivative.

Every test generates, changes one thing the derivative depends on (a rule,
the running code, a callee, the source file), and checks that the next
``grad`` follows the change (the value proves it) or refuses clearly.
"""

import numpy as np

import s2sgrad as sg
from s2sgrad.primitives import registry


def _passthrough(x):
    return x


def _uses_passthrough(x):
    return np.sum(_passthrough(x) * x)


def test_registrations_bump_the_generation():
    before = registry.generation()

    def prim(x):
        return x

    registry.defvjp(prim)(lambda g, ans, x: (g,))
    registry.defnondiff(object())
    registry.defnondiff_module("s2sgrad_no_such_module_")
    sg.defgrad(prim)(lambda g, ans, x: (g,))
    assert registry.generation() >= before + 4


def test_defgrad_for_a_callee_without_a_rule_is_used_by_the_next_grad():
    x = np.array([1.0, -2.0, 3.0])
    # first: _passthrough is inlined; d/dx sum(x * x) = 2x
    np.testing.assert_allclose(sg.grad(_uses_passthrough)(x), 2 * x)

    @sg.defgrad(_passthrough)
    def _scaled(g, ans, x):  # a deliberately different (straight-through style) rule
        return (3 * g,)

    # now d/dx = 3 * x (through the rule) + x (the direct factor)
    np.testing.assert_allclose(sg.grad(_uses_passthrough)(x), 4 * x)


def _ramp(x):
    return 2.0 * x


@sg.defgrad(_ramp)
def _ramp_rule(g, ans, x):
    return (2.0 * g,)


def _uses_ramp(x):
    return np.sum(_ramp(x))


def test_a_replaced_rule_is_used_by_the_next_grad():
    x = np.array([0.5, 1.5])
    np.testing.assert_allclose(sg.grad(_uses_ramp)(x), [2.0, 2.0])

    @sg.defgrad(_ramp)
    def _other(g, ans, x):
        return (7.0 * g,)

    np.testing.assert_allclose(sg.grad(_uses_ramp)(x), [7.0, 7.0])


def _sine(x):
    return np.sin(x)


def _triple(x):
    return 3.0 * x


def _scaled_sine(x, c=1.0):
    return c * np.sin(x)


def test_an_inlined_callee_with_replaced_code_gets_a_new_derivative():
    def helper(x):
        return np.sin(x)

    def f(x):
        return np.sum(helper(x))

    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(sg.grad(f)(x), np.cos(x))
    helper.__code__ = _triple.__code__  # what autoreload does to an edited function
    np.testing.assert_allclose(sg.grad(f)(x), [3.0, 3.0])


def test_an_inlined_callee_with_new_defaults_gets_a_new_derivative():
    def helper(x, c=1.0):
        return c * np.sin(x)

    def f(x):
        return np.sum(helper(x))

    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(sg.grad(f)(x), np.cos(x))
    helper.__defaults__ = (5.0,)
    np.testing.assert_allclose(sg.grad(f)(x), 5.0 * np.cos(x))


def test_a_function_with_replaced_code_gets_a_new_derivative():
    def f(x):
        return np.sum(np.sin(x))

    def g(x):
        return np.sum(3.0 * x)

    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(sg.grad(f)(x), np.cos(x))
    f.__code__ = g.__code__
    np.testing.assert_allclose(sg.grad(f)(x), [3.0, 3.0])


ACTIVATION = np.sin


def _called_not_inlined(x, *, k=1.0):  # keyword-only: stays a call (call_vjp)
    return k * ACTIVATION(x)


def _calls_it(x):
    return np.sum(_called_not_inlined(x) * x)


def test_a_callee_left_a_call_follows_a_rebound_global_it_calls():
    global ACTIVATION
    x = np.array([0.3, 1.2])
    try:
        np.testing.assert_allclose(sg.grad(_calls_it)(x), np.sin(x) + x * np.cos(x))
        ACTIVATION = np.tanh
        np.testing.assert_allclose(sg.grad(_calls_it)(x),
                                   np.tanh(x) + x * (1 - np.tanh(x) ** 2))
    finally:
        ACTIVATION = np.sin


def test_generated_sources_never_share_a_file_name_even_when_digests_collide(monkeypatch):
    import inspect
    import textwrap

    from s2sgrad.codegen import compile as compile_stage

    monkeypatch.setattr(compile_stage, "_digest", lambda text: "0" * 10)

    def f(x):
        return np.sin(x) * x

    def g(x):
        return np.exp(x) * x

    df, dg = sg.grad(f), sg.grad(g)
    assert df.__code__.co_filename != dg.__code__.co_filename
    assert textwrap.dedent(inspect.getsource(df)) == df.__s2sgrad_source__
    assert textwrap.dedent(inspect.getsource(dg)) == dg.__s2sgrad_source__
    # each second derivative reads its own first derivative's source
    x = 0.7
    np.testing.assert_allclose(sg.grad(df)(x), 2 * np.cos(x) - x * np.sin(x))
    np.testing.assert_allclose(sg.grad(dg)(x), (2 + x) * np.exp(x))


def _import_from(tmp_path, name, text):
    """A module ``name`` written to ``tmp_path`` and imported (not kept in sys.modules)."""
    import importlib.util
    import sys

    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module, path


def test_the_cache_keeps_no_user_function_or_globals_alive(tmp_path):
    import gc
    import weakref

    from s2sgrad.codegen import cache

    module, _ = _import_from(tmp_path, "s2sgrad_weak_module", (
        "import numpy as np\n"
        "class Marker:\n"
        "    pass\n"
        "MARKER = Marker()\n"
        "def helper(x, *, k=2.0):\n"  # keyword-only: stays a call (call_vjp)
        "    return k * np.sin(x)\n"
        "def inlined(x):\n"
        "    return np.cos(x)\n"
        "def f(x):\n"
        "    return np.sum(helper(x) * inlined(x))\n"))
    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(sg.grad(module.f)(x),
                               2 * np.cos(x) ** 2 - 2 * np.sin(x) ** 2)
    generated = cache.stats["generated"]
    assert generated >= 2  # f's gradient and helper's VJP are in the cache
    alive = [weakref.ref(module.f), weakref.ref(module.helper), weakref.ref(module.MARKER)]
    del module
    gc.collect()
    assert [ref() for ref in alive] == [None, None, None]


def _distinct_function(i):
    """A function no other call returns (its source registered like a file's)."""
    import linecache

    filename = f"<test_cache distinct {i}>"
    text = f"def f(x):\n    return x * {i}.0 + x * x\n"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    namespace = {}
    exec(compile(text, filename, "exec"), namespace)
    return namespace["f"], filename


def test_the_cache_is_bounded_and_evicted_sources_leave_linecache(monkeypatch):
    import gc
    import inspect
    import linecache

    from s2sgrad.codegen import cache

    def generated_files():
        return sum(name.startswith("<s2sgrad") for name in linecache.cache)

    monkeypatch.setattr(cache, "max_entries", 20)
    first, filename = _distinct_function(-1)
    kept = sg.grad(first)  # alive after its entry is evicted
    linecache.cache.pop(filename)
    before = generated_files()
    for i in range(120):
        f, filename = _distinct_function(i)
        assert sg.grad(f)(2.0) == i + 4.0
        linecache.cache.pop(filename)
        assert cache.size() <= 20
    gc.collect()
    assert cache.size() == 20
    assert generated_files() <= before + 20
    # the evicted entry's gradient still alive keeps its lines
    assert inspect.getsource(kept).strip().startswith("def grad_f")
    assert kept(2.0) == 3.0


_EDITED_MODULE = (
    "import numpy as np\n"
    "\n"
    "def f(x):\n"
    "    return np.sum(np.sin(x) * x)\n"
    "\n"
    "def g(x):\n"
    "    return np.sum(x * x)\n")


def _edit(path, old, new):
    import linecache
    import os

    text = path.read_text()
    path.write_text(text.replace(old, new))
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a visible change
    linecache.checkcache(str(path))


def test_a_function_whose_file_changed_since_import_is_refused_clearly(tmp_path):
    import pytest

    module, path = _import_from(tmp_path, "s2sgrad_edited_module", _EDITED_MODULE)
    _edit(path, "np.sin(x) * x", "np.cos(x) * x")
    with pytest.raises(sg.S2SGradError) as info:
        sg.grad(module.f)
    message = str(info.value)
    assert "f" in message and str(path) in message
    assert "changed since it was imported" in message and "reload" in message
    # the running code is still the old one: it computes sin, as imported
    assert module.f(np.array([1.0])) == np.sin(1.0)


def test_an_edit_that_moves_a_function_is_refused_and_one_elsewhere_is_not(tmp_path):
    import pytest

    module, path = _import_from(tmp_path, "s2sgrad_moved_module", _EDITED_MODULE)
    _edit(path, "def g(x):", "def g(x):  # a comment")
    x = np.array([0.5, 2.0])
    np.testing.assert_allclose(sg.grad(module.f)(x), np.sin(x) + x * np.cos(x))
    _edit(path, "import numpy as np\n", "import numpy as np\n\n\n")
    with pytest.raises(sg.S2SGradError, match="changed since it was imported"):
        sg.grad(module.g)
    reloaded, _ = _import_from(tmp_path, "s2sgrad_moved_module", path.read_text())
    np.testing.assert_allclose(sg.grad(reloaded.g)(x), 2 * x)


def test_the_tape_uses_a_rule_replaced_after_it_recorded():
    def gradient():  # (sg's tape records NumPy functions; tf's leaves them to NumPy)
        v = sg.Variable(np.array([1.0, 2.0]))
        with sg.GradientTape() as tape:
            y = np.sum(np.cbrt(v))
        return np.asarray(tape.gradient(y, v))

    x = np.array([1.0, 2.0])
    for _ in range(3):  # recorded, compiled, served from the compiled recordings
        np.testing.assert_allclose(gradient(), x ** (-2 / 3) / 3)
    def seven(g, ans, x):
        return (7.0 * g,)

    original = registry.lookup(np.cbrt).vjp
    try:
        sg.defgrad(np.cbrt)(seven)
        np.testing.assert_allclose(gradient(), [7.0, 7.0])
    finally:
        registry.defvjp(np.cbrt)(original)
    np.testing.assert_allclose(gradient(), x ** (-2 / 3) / 3)
