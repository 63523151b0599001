"""Packaging: what ``import s2sgrad`` costs, and that the package under test is whole.

Each check runs a new interpreter that imports the same ``s2sgrad`` this test
session imported (installed or source tree), never whatever happens to be on
the default path.
"""

import importlib.metadata
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import s2sgrad

PACKAGE_DIR = Path(s2sgrad.__file__).resolve().parent


def run_python(code, *options, cwd):
    """``python [options] -c code`` in a new interpreter that finds this session's s2sgrad."""
    env = dict(os.environ)
    installed_dirs = {Path(sysconfig.get_path(key)).resolve() for key in ("purelib", "platlib")}
    if PACKAGE_DIR.parent not in installed_dirs:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *options, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, check=True
    )


def test_child_interpreters_import_the_package_under_test(tmp_path):
    out = run_python("import s2sgrad; print(s2sgrad.__file__)", cwd=tmp_path).stdout.strip()
    assert Path(out).resolve().parent == PACKAGE_DIR


def test_import_does_not_load_sympy(tmp_path):
    code = "import sys, s2sgrad; print(sorted(m for m in sys.modules if m.split('.')[0] == 'sympy'))"
    assert run_python(code, cwd=tmp_path).stdout.strip() == "[]"


def test_import_loads_only_the_entry_modules(tmp_path):
    """``import s2sgrad`` stays cheap by what it loads (its time is a bench/
    row, import_time.py, not a timed test): the package and its errors,
    NumPy at most; the engine, sympy and astor on first use of a name."""
    code = ("import sys; before = set(sys.modules); import s2sgrad; "
            "print(sorted(m for m in set(sys.modules) - before "
            "if m.split('.')[0] in ('s2sgrad', 'sympy', 'astor')))")
    loaded = run_python(code, cwd=tmp_path).stdout.strip()
    assert loaded == "['s2sgrad', 's2sgrad.errors']"


def test_installed_metadata_matches_version():
    try:
        installed = importlib.metadata.version("s2sgrad")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("s2sgrad is not installed (running from the source tree)")
    assert installed == s2sgrad.__version__


@pytest.mark.skipif(
    not (PACKAGE_DIR.parent / "pyproject.toml").exists(), reason="only meaningful in the source tree"
)
def test_every_package_directory_has_an_init():
    # setuptools packages only directories with __init__.py: one without it would
    # work from the source tree and be missing from the installed package.
    missing = [
        str(d.relative_to(PACKAGE_DIR.parent))
        for d in [PACKAGE_DIR, *PACKAGE_DIR.rglob("*")]
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")) and not (d / "__init__.py").exists()
    ]
    assert not missing, f"package directories without __init__.py: {missing}"


@pytest.mark.skipif(not os.environ.get("S2SGRAD_TEST_INSTALLED"), reason="set by .ci/run")
def test_ci_tests_the_installed_package():
    assert PACKAGE_DIR.is_relative_to(Path(sys.prefix).resolve()), (
        f"tests imported s2sgrad from {PACKAGE_DIR}, not from the environment at {sys.prefix}"
    )
