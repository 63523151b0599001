"""Every test runs checked: the pipeline verifies each pass's output against
its stage's grammar (``S2SGRAD_CHECK=1``, set before s2sgrad is imported).

A grammar violation is an internal error (``IRCheckError``, deliberately
not an ``S2SGradError``, so no refusal fallback hides it); so that none goes
unnoticed even where a caller catches everything, every violation is also
recorded here and fails the test during which it happened.

The disk cache of generated code goes to a temporary directory of the test
session (removed at its end; subprocesses inherit it), never into the
user's cache.

Property tests draw the same examples on every run (hypothesis's
``derandomize``; no example database), so a run is reproducible and CI does
not depend on luck; ``HYPOTHESIS_PROFILE=explore`` draws fresh random ones.
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("S2SGRAD_CHECK", "1")
os.environ["S2SGRAD_CACHE_DIR"] = _cache_dir = tempfile.mkdtemp(prefix="s2sgrad-test-cache-")
atexit.register(shutil.rmtree, _cache_dir, True)

import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

from s2sgrad.ir import grammar  # noqa: E402

_violations = []
_check = grammar.check


def _recording_check(program, stage, pass_name="?"):
    try:
        _check(program, stage, pass_name)
    except grammar.IRCheckError as error:
        if pass_name != "?":  # (a test calling the checker itself names no pass)
            _violations.append(str(error))
        raise


grammar.check = _recording_check

settings.register_profile("reproducible", derandomize=True, database=None)
settings.register_profile("explore", database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


@pytest.fixture(autouse=True)
def _no_grammar_violations():
    del _violations[:]
    yield
    found = list(_violations)
    del _violations[:]
    assert not found, "grammar violations:\n" + "\n".join(found)
