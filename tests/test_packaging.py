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
IMPORT_BUDGET_US = 150_000


def run_python(code, *options, cwd):
    """``python [options] -c code`` in a new interpreter that finds this session's s2sgrad."""
    env = dict(os.environ)
    installed_dirs = {Path(sysconfig.get_path(key)).resolve() for key in ("purelib", "platlib")}
    if PACKAGE_DIR.parent not in installed_dirs:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_DIR.parent), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, *options, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, check=True
    )


def cumulative_import_us(cwd):
    """Cumulative microseconds of the ``s2sgrad`` entry of ``python -X importtime``."""
    stderr = run_python("import s2sgrad", "-X", "importtime", cwd=cwd).stderr
    for line in reversed(stderr.splitlines()):
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == "s2sgrad":
            return int(parts[1])
    raise AssertionError(f"no s2sgrad entry in -X importtime output:\n{stderr[-2000:]}")


def test_child_interpreters_import_the_package_under_test(tmp_path):
    out = run_python("import s2sgrad; print(s2sgrad.__file__)", cwd=tmp_path).stdout.strip()
    assert Path(out).resolve().parent == PACKAGE_DIR


def test_import_does_not_load_sympy(tmp_path):
    code = "import sys, s2sgrad; print(sorted(m for m in sys.modules if m.split('.')[0] == 'sympy'))"
    assert run_python(code, cwd=tmp_path).stdout.strip() == "[]"


def test_import_takes_under_150_ms(tmp_path):
    # The best of three runs: a busy machine slows a run down, never speeds it up.
    best = min(cumulative_import_us(tmp_path) for _ in range(3))
    assert best < IMPORT_BUDGET_US, f"import s2sgrad took {best / 1000:.1f} ms cumulative"


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
