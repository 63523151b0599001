"""TensorFlow's and Keras's guides as scripts (tests/tf/guides/*.py, only the
import changed), each run in a new process and compared with the output the
guide shows (its .expected file, copied from the guide's text as TensorFlow
printed it). Data that differ from the guide's (random arrays standing in for
MNIST, our initial weights) change the numbers of training, not the form:
in Keras's progress lines and in ``Test loss: 0.1405...`` lines the digits
are compared as "some digits" (so are ``750/750`` step counts and timings);
every other line, parameter counts, shapes and string tensors included, must
be TensorFlow's byte for byte, except that an expected line may write ``…``
for numbers that come from the guide's random initial values (``tf.random.normal``
weights): there any text matches, the rest of the line must be TensorFlow's."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

GUIDES = pathlib.Path(__file__).parent / "guides"
ROOT = GUIDES.parent.parent.parent
#: lines whose numbers depend on the data and the initial weights
_NUMERIC = re.compile(r"^\s*\d+/\d+ (━|-)|^Test (loss|accuracy):")


def _form(line):
    if _NUMERIC.search(line):
        line = re.sub(r"\d+(\.\d+)?(e[+-]\d+)?", "N", line.strip())
        return re.sub(r"N(ms|us|s)/step", "N/step", line)  # (the unit of a timing)
    return line


def _matches(line, expected):
    if "…" in expected:
        pattern = ".*".join(re.escape(part) for part in expected.split("…"))
        return re.fullmatch(pattern, line) is not None
    return line == expected


@pytest.mark.parametrize("script", sorted(p.name for p in GUIDES.glob("*.py")))
def test_guide_prints_what_tensorflow_prints(script):
    env = dict(os.environ, PYTHONPATH=str(ROOT), S2SGRAD_CACHE="0", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(GUIDES / script)], capture_output=True,
                          text=True, env=env, timeout=300, cwd=str(GUIDES))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    expected = (GUIDES / script.replace(".py", ".expected")).read_text().splitlines()
    printed = [_form(line) for line in done.stdout.splitlines()]
    expected = [_form(line) for line in expected]
    if len(printed) == len(expected) and all(map(_matches, printed, expected)):
        return
    assert printed == expected
