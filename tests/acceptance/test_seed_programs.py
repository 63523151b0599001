"""The seed documents' TensorFlow programs, run on s2sgrad.tf, print exactly what TF printed.

Each ``seed_programs/*.py`` is a program from ../shared/seeds with its
import changed to ``import s2sgrad.tf as tf``; the ``.expected`` file beside
it holds its combined stdout and stderr under TensorFlow 2.21. Every program
runs in a fresh interpreter, as a user would run it.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import s2sgrad

PROGRAMS = sorted((Path(__file__).parent / "seed_programs").glob("*.py"))
PACKAGE_ROOT = Path(s2sgrad.__file__).resolve().parent.parent


def test_every_program_has_its_expected_output():
    assert PROGRAMS
    for program in PROGRAMS:
        assert program.with_suffix(".expected").exists(), program.name


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_seed_program_output(program, tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    env.pop("PYTHONWARNINGS", None)
    result = subprocess.run(
        [sys.executable, str(program)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    expected = program.with_suffix(".expected").read_text()
    assert result.stdout.rstrip("\n") == expected.rstrip("\n")
    assert result.returncode == 0
