"""The disk cache: a new process reuses what an earlier one generated, and
serves only code that matches what runs now.

Each test gets a cache directory of its own (``S2SGRAD_CACHE_DIR``). Tests of
what happens across processes run the user's module in subprocesses, which
report what the disk cache did (``disk.stats``) and the gradient they got;
an entry damaged on purpose (corrupt, truncated, foreign, of another version)
must be ignored and rewritten, never run and never an error.
"""

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad import pipeline
from s2sgrad.codegen import cache, disk

PACKAGE_PARENT = Path(sg.__file__).resolve().parent.parent

MODULE = """
import numpy as np

def inner(x):
    return np.tanh(x) * 2.0

def f(x, scale=1.5):
    y = np.sin(x) * scale
    z = inner(y)
    return np.sum(z ** 2) + np.max(x)
"""

#: runs in a subprocess: differentiate ``module.FUNC`` at x, print what the
#: disk cache did and the gradient (``SETUP`` runs first, after the import)
CHILD = """
import json, sys
import numpy as np
sys.path.insert(0, {where!r})
import s2sgrad as sg
from s2sgrad import pipeline
from s2sgrad.codegen import disk
import {module} as module
{setup}
if {no_parse!r}:
    def refuse(function):
        raise AssertionError("parsed although the disk cache holds the entry")
    pipeline.parse_function = refuse
x = {at}
gradient = sg.grad({func})(x)
print(json.dumps({{"stats": disk.stats, "gradient": np.asarray(gradient).tolist()}}))
"""


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A cache directory of the test's own and an empty memory cache."""
    where = tmp_path / "cache"
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(where))
    monkeypatch.delenv("S2SGRAD_CACHE", raising=False)
    monkeypatch.delenv("S2SGRAD_CACHE_MAX_MB", raising=False)
    monkeypatch.setattr(disk, "_unusable", {})
    monkeypatch.setattr(disk, "_estimated", {})
    for name in disk.stats:
        monkeypatch.setitem(disk.stats, name, 0)
    cache.clear()
    yield where
    cache.clear()


def write_module(tmp_path, text=MODULE, name="user_module"):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return path


def in_new_process(tmp_path, module="user_module", func="module.f", setup="", no_parse=False,
                   env=None, at="np.array([0.3, -0.2, 0.5])"):
    """What a new interpreter did: ``{"stats": ..., "gradient": [...]}``."""
    child = CHILD.format(where=str(tmp_path), module=module, func=func, setup=setup,
                         no_parse=no_parse, at=at)
    environment = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT), **(env or {}))
    environment = {k: v for k, v in environment.items() if v is not None}
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          env=environment, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def expected_gradient(x, scale=1.5):
    y = np.sin(x) * scale
    z = np.tanh(y) * 2.0
    dz = 2 * z
    dy = dz * 2.0 * (1 - np.tanh(y) ** 2)
    dx = dy * scale * np.cos(x)
    dx[np.argmax(x)] += 1.0
    return dx


X = np.array([0.3, -0.2, 0.5])


def entries(where):
    return sorted(where.glob(f"*{disk.SUFFIX}"))


def test_a_new_process_reuses_the_entry_without_parsing(tmp_path, cache_dir):
    write_module(tmp_path)
    first = in_new_process(tmp_path)
    assert first["stats"]["stored"] == 1 and first["stats"]["loaded"] == 0
    second = in_new_process(tmp_path, no_parse=True)
    assert second["stats"]["loaded"] == 1 and second["stats"]["stored"] == 0
    np.testing.assert_allclose(second["gradient"], expected_gradient(X))
    np.testing.assert_allclose(first["gradient"], second["gradient"], rtol=0, atol=0)


def test_a_module_read_from_its_pyc_finds_what_its_first_import_stored(tmp_path, cache_dir):
    """The first process compiles the module and writes its .pyc; the next
    reads the .pyc, whose code objects ``marshal`` would write differently:
    the key is of what the code does, not of marshal's bytes."""
    write_module(tmp_path)
    bytecode = {"PYTHONDONTWRITEBYTECODE": None, "PYTHONPYCACHEPREFIX": None}
    in_new_process(tmp_path, env=bytecode)
    assert list((tmp_path / "__pycache__").glob("user_module.*.pyc"))
    second = in_new_process(tmp_path, env=bytecode, no_parse=True)
    assert second["stats"]["loaded"] == 1


def test_entries_are_owner_only(tmp_path, cache_dir):
    write_module(tmp_path)
    in_new_process(tmp_path)
    assert cache_dir.stat().st_mode & 0o777 == 0o700
    (entry,) = entries(cache_dir)
    assert entry.stat().st_mode & 0o777 == 0o600


def test_second_derivatives_are_reused_across_processes(tmp_path, cache_dir):
    write_module(tmp_path, """
        import numpy as np

        def f(x):
            return np.sin(x) * x ** 2
    """)
    first = in_new_process(tmp_path, func="sg.grad(module.f)", at="0.7")
    second = in_new_process(tmp_path, func="sg.grad(module.f)", at="0.7",
                            no_parse=True)
    assert first["stats"]["stored"] >= 2  # (the first and the second derivative at least)
    assert second["stats"]["loaded"] == first["stats"]["stored"]
    assert second["stats"]["stored"] == 0
    x = 0.7
    np.testing.assert_allclose(second["gradient"],
                               -np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x))


def _damaged(where, damage, tmp_path):
    """Generate, damage the one entry with ``damage(path)``, run again: the
    entry is ignored (counted as rejected), regenerated and rewritten whole."""
    write_module(tmp_path)
    in_new_process(tmp_path)
    (entry,) = entries(where)
    damage(entry)
    again = in_new_process(tmp_path)
    assert again["stats"]["rejected"] == 1 and again["stats"]["stored"] == 1
    np.testing.assert_allclose(again["gradient"], expected_gradient(X))
    third = in_new_process(tmp_path, no_parse=True)  # rewritten: good again
    assert third["stats"]["loaded"] == 1 and third["stats"]["rejected"] == 0


def test_a_corrupted_entry_is_ignored_and_rewritten(tmp_path, cache_dir):
    def corrupt(path):
        data = bytearray(path.read_bytes())
        where = data.index(b"def grad_f")  # the source: it would run if read blindly
        data[where:where + 10] = b"raise 1/0 "[:10]
        path.write_bytes(bytes(data))

    _damaged(cache_dir, corrupt, tmp_path)


def test_a_truncated_entry_is_ignored_and_rewritten(tmp_path, cache_dir):
    def truncate(path):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    _damaged(cache_dir, truncate, tmp_path)


def test_garbage_and_an_empty_file_are_ignored(tmp_path, cache_dir):
    _damaged(cache_dir, lambda path: path.write_bytes(b"\x00\xff" * 50), tmp_path)
    for entry in entries(cache_dir):
        entry.write_bytes(b"")
    assert in_new_process(tmp_path)["stats"]["rejected"] == 1


def _rewrite_header(path, **changes):
    head, _, body = path.read_bytes().partition(b"\n")
    magic, _, header = head.partition(b" ")
    fields = {**json.loads(header), **changes}
    path.write_bytes(magic + b" " + json.dumps(fields).encode() + b"\n" + body)


def test_an_entry_of_another_version_is_ignored(tmp_path, cache_dir):
    _damaged(cache_dir, lambda path: _rewrite_header(path, s2sgrad="0.0.1"), tmp_path)
    _damaged(cache_dir, lambda path: _rewrite_header(path, python="cpython-27 2.7.18"), tmp_path)
    _damaged(cache_dir, lambda path: _rewrite_header(path, format=disk.FORMAT + 1), tmp_path)


def test_a_foreign_entry_is_ignored(tmp_path, cache_dir):
    """An entry renamed to another key's file (or a key collision of the
    file name's prefix) is not served: the header names its full key."""
    write_module(tmp_path, MODULE + "\ndef g(x):\n    return np.sum(np.cos(x))\n")
    in_new_process(tmp_path, func="module.g")
    (foreign,) = entries(cache_dir)
    in_new_process(tmp_path)
    (own,) = [e for e in entries(cache_dir) if e != foreign]
    own.write_bytes(foreign.read_bytes())
    again = in_new_process(tmp_path)
    assert again["stats"]["rejected"] == 1
    np.testing.assert_allclose(again["gradient"], expected_gradient(X))


def test_a_changed_body_gives_a_new_derivative_in_a_new_process(tmp_path, cache_dir):
    write_module(tmp_path)
    in_new_process(tmp_path)
    write_module(tmp_path, MODULE.replace("np.max(x)", "np.min(x)"))
    changed = in_new_process(tmp_path)
    assert changed["stats"]["loaded"] == 0
    expected = expected_gradient(X)
    expected[np.argmax(X)] -= 1.0
    expected[np.argmin(X)] += 1.0
    np.testing.assert_allclose(changed["gradient"], expected)


CALLEE = """
import numpy as np

def square(x):
    return x * x

def cube(x):
    return x * x * x

def f(x):
    return np.sum(CALLEE(x))

CALLEE = {callee}
"""


def test_a_rebound_callee_gives_a_new_derivative_in_a_new_process(tmp_path, cache_dir):
    write_module(tmp_path, CALLEE.format(callee="square"))
    np.testing.assert_allclose(in_new_process(tmp_path)["gradient"], 2 * X)
    write_module(tmp_path, CALLEE.format(callee="cube  "))  # (f's lines are the same)
    rebound = in_new_process(tmp_path)
    assert rebound["stats"]["stored"] >= 1
    np.testing.assert_allclose(rebound["gradient"], 3 * X ** 2)


def test_a_callee_changed_in_its_own_module_gives_a_new_derivative(tmp_path, cache_dir):
    write_module(tmp_path, "def h(x):\n    return x * x\n", name="helpers")
    write_module(tmp_path, "import numpy as np\nfrom helpers import h\n\n"
                           "def f(x):\n    return np.sum(h(x))\n")
    np.testing.assert_allclose(in_new_process(tmp_path)["gradient"], 2 * X)
    write_module(tmp_path, "def h(x):\n    return x * x * x\n", name="helpers")
    np.testing.assert_allclose(in_new_process(tmp_path)["gradient"], 3 * X ** 2)


RULE = """
import s2sgrad as sg
import user_module

@sg.defgrad(user_module.ramp)
def ramp_rule(g, ans, x):
    return ({factor} * g,)
"""


def test_a_new_defgrad_rule_gives_a_new_derivative_in_a_new_process(tmp_path, cache_dir):
    write_module(tmp_path, "import numpy as np\n\ndef ramp(x):\n    return 2.0 * x\n\n"
                           "def f(x):\n    return np.sum(ramp(x))\n")
    np.testing.assert_allclose(in_new_process(tmp_path)["gradient"], [2.0] * 3)
    write_module(tmp_path, RULE.format(factor=7.0), name="rules")
    with_rule = in_new_process(tmp_path, setup="import rules")
    assert with_rule["stats"]["loaded"] == 0
    np.testing.assert_allclose(with_rule["gradient"], [7.0] * 3)
    write_module(tmp_path, RULE.format(factor=5.0), name="rules")
    other_rule = in_new_process(tmp_path, setup="import rules")
    np.testing.assert_allclose(other_rule["gradient"], [5.0] * 3)
    again = in_new_process(tmp_path, setup="import rules", no_parse=True)
    assert again["stats"]["loaded"] == 1
    np.testing.assert_allclose(again["gradient"], [5.0] * 3)


def test_cache_off_writes_nothing(tmp_path, cache_dir):
    write_module(tmp_path)
    off = in_new_process(tmp_path, env={"S2SGRAD_CACHE": "0"})
    np.testing.assert_allclose(off["gradient"], expected_gradient(X))
    assert off["stats"]["stored"] == 0 and not cache_dir.exists()


def test_an_unusable_directory_warns_once_and_keeps_the_cache_in_memory(tmp_path, monkeypatch,
                                                                        cache_dir):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(blocker / "cache"))

    def fresh(k):
        namespace = {"np": np}
        source = f"def fresh_{k}(x):\n    return np.sum(x ** {k + 2})\n"
        path = tmp_path / f"fresh_{k}.py"
        path.write_text(source)
        exec(compile(source, str(path), "exec"), namespace)
        return namespace[f"fresh_{k}"]

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(3):
            np.testing.assert_allclose(sg.grad(fresh(k))(X), (k + 2) * X ** (k + 1))
    messages = [str(w.message) for w in caught if issubclass(w.category, sg.S2SGradWarning)]
    assert len(messages) == 1 and "in memory only" in messages[0] and "a_file" in messages[0]
    assert disk.stats["stored"] == 0


def test_a_directory_others_may_write_is_not_used(tmp_path, monkeypatch, cache_dir):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("S2SGRAD_CACHE_DIR", str(shared))
    with pytest.warns(sg.S2SGradWarning, match="another user owns it or may write to it"):
        assert not disk.store(("a key",), {"source": "x"})
    assert list(shared.iterdir()) == []


def test_eviction_keeps_the_most_recently_used_entries(cache_dir):
    payload = {"source": "#" * 3000}
    disk.store(("first",), payload)
    size = entries(cache_dir)[0].stat().st_size
    os.environ["S2SGRAD_CACHE_MAX_MB"] = str(2.5 * size / 2**20)  # (room for two)
    try:
        for age, name in enumerate(["first"]):
            os.utime(entries(cache_dir)[0], (1e9 + age, 1e9 + age))
        disk.store(("second",), payload)
        second = [e for e in entries(cache_dir) if e.stat().st_mtime > 1e9 + 10]
        os.utime(second[0], (1e9 + 10, 1e9 + 10))
        assert disk.load(("first",)) == payload  # (a hit: the most recent now)
        disk.store(("third",), payload)
        assert len(entries(cache_dir)) == 2 and disk.stats["evicted"] == 1
        assert disk.load(("first",)) == payload and disk.load(("third",)) == payload
        assert disk.load(("second",)) is None
    finally:
        del os.environ["S2SGRAD_CACHE_MAX_MB"]


WRITER = """
import sys, time
sys.path.insert(0, {parent!r})
from s2sgrad.codegen import disk
payload = {{"source": "{body}" * 20000, "writer": sys.argv[1]}}
start = time.time()
bad = 0
while time.time() - start < 2.0:
    disk.store(("the same key",), payload)
    got = disk.load(("the same key",))
    if got is not None and got["source"] != payload["source"]:
        bad += 1
print(bad, disk.stats["rejected"])
"""


def test_processes_writing_the_same_entry_at_once_never_read_half_of_one(tmp_path, cache_dir):
    child = WRITER.format(parent=str(PACKAGE_PARENT), body="x")
    procs = [subprocess.Popen([sys.executable, "-c", child, str(k)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.split() == ["0", "0"]  # nothing half-written was read
    assert len(entries(cache_dir)) == 1
    assert [p.name for p in cache_dir.iterdir() if not p.name.endswith(disk.SUFFIX)] == []


def test_processes_generating_the_same_gradient_at_once(tmp_path, cache_dir):
    write_module(tmp_path)
    child = CHILD.format(where=str(tmp_path), module="user_module", func="module.f", setup="",
                         no_parse=False, at="np.array([0.3, -0.2, 0.5])")
    environment = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT))
    procs = [subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=environment)
             for _ in range(3)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        report = json.loads(out.strip().splitlines()[-1])
        np.testing.assert_allclose(report["gradient"], expected_gradient(X))
    assert in_new_process(tmp_path, no_parse=True)["stats"]["loaded"] == 1


def test_info_and_clear(cache_dir):
    (cache_dir).mkdir(mode=0o700)
    unrelated = cache_dir / "notes.txt"
    unrelated.write_text("not the cache's")
    disk.store(("one",), {"source": "a"})
    disk.store(("two",), {"source": "b"})
    shown = disk.info()
    assert shown["directory"] == str(cache_dir) and shown["entries"] == 2
    assert shown["bytes"] > 0 and shown["limit"] == disk.DEFAULT_MAX_MB * 2**20
    assert disk.clear() == 2
    assert disk.info()["entries"] == 0 and unrelated.exists()


def test_code_relying_on_an_object_without_a_portable_description_stays_in_memory(
        tmp_path, cache_dir):
    """An inlined callee whose default is an array: what the derivative
    relies on cannot be described to another process, so nothing is stored."""
    write_module(tmp_path, """
        import numpy as np

        def weighted(x, w=np.array([1.0, 2.0, 3.0])):
            return w * x

        def f(x):
            return np.sum(weighted(x) ** 2)
    """)
    first = in_new_process(tmp_path)
    np.testing.assert_allclose(first["gradient"], 2 * np.array([1.0, 4.0, 9.0]) * X)
    # (stored: the VJP of weighted, which f's gradient calls; not f's gradient)
    assert first["stats"]["stored"] == 1
    second = in_new_process(tmp_path)
    assert second["stats"]["loaded"] == 1 and second["stats"]["stored"] == 0
    np.testing.assert_allclose(second["gradient"], first["gradient"])


def _rewrite_body(path, change):
    """Change an entry's payload and give it a header that checks out (what
    only someone who may write the directory could do)."""
    head, _, body = path.read_bytes().partition(b"\n")
    magic, _, header = head.partition(b" ")
    payload = json.loads(body)
    change(payload)
    body = json.dumps(payload).encode()
    fields = {**json.loads(header), "content": hashlib.sha256(body).hexdigest()}
    path.write_bytes(magic + b" " + json.dumps(fields).encode() + b"\n" + body)


@pytest.mark.parametrize("change", [
    lambda p: p.update(compiled="bm90IG1hcnNoYWw="),                  # not marshal data
    lambda p: p.update(compiled=disk.code_text(compile("1", "x", "eval"))),  # no function
    lambda p: p.update(helpers={"np": ["pickle", "os.system"]}),       # no such reference
    lambda p: p.pop("source"),
    lambda p: p["resolved"].append(["np", ["module", "os"]]),          # does not hold
])
def test_an_entry_that_checks_out_but_does_not_make_the_function_is_regenerated(
        tmp_path, cache_dir, change):
    path = write_module(tmp_path, "import numpy as np\n\ndef g(x):\n    return np.sum(x ** 3)\n",
                        name="cubes")
    namespace = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    np.testing.assert_allclose(sg.grad(namespace["g"])(X), 3 * X ** 2)
    (entry,) = entries(cache_dir)
    _rewrite_body(entry, change)
    cache.clear()
    np.testing.assert_allclose(sg.grad(namespace["g"])(X), 3 * X ** 2)
    assert disk.stats["stored"] == 2  # (generated again, and rewritten)
