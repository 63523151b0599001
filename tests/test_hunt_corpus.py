"""Every function of tests/hunt_programs.py (the third adversarial hunt,
issue 10) is differentiated right -- grad and value_and_grad against the
primal and central differences, sg.jvp along a fixed direction -- or
refused with an UnsupportedSyntaxError naming the construct and its line
there: never a wrong derivative, never an internal error."""

import copy
import os
import warnings

import numpy as np
import pytest

import s2sgrad as sg
from tests import hunt_programs
from tests.fd import numerical_grad, numerical_jvp

PROGRAMS = os.path.basename(hunt_programs.__file__)


def _fresh(f):
    return lambda *a: f(*copy.deepcopy(list(a)))


def _floats(args):
    return [i for i, a in enumerate(args)
            if isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype.kind == "f")]


def _tolerance(arg):
    return 1e-3 if getattr(arg, "dtype", None) == np.float32 else 1e-5


def _refused_clearly(call):
    """Run ``call``; False if it raised the contract's refusal (which must
    name the line in hunt_programs.py), True if it returned."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            call()
    except (sg.UnsupportedSyntaxError, NotImplementedError) as error:
        message = str(error)
        assert "object at 0x" not in message, message
        if isinstance(error, sg.UnsupportedSyntaxError):
            assert PROGRAMS in message, message
        return False
    return True


@pytest.mark.parametrize("name, f, args", hunt_programs.CASES, ids=[c[0] for c in hunt_programs.CASES])
def test_right_or_refused(name, f, args):
    F = _fresh(f)
    value = F(*args)
    for i in _floats(args)[:2]:
        got = {}
        if not _refused_clearly(lambda: got.update(vg=sg.value_and_grad(f, wrt=i)(*copy.deepcopy(args)))):
            continue
        v, g = got["vg"]
        np.testing.assert_allclose(v, value, rtol=1e-10, atol=1e-12)
        assert np.shape(g) == np.shape(args[i])
        if isinstance(args[i], np.ndarray):
            assert g.dtype == args[i].dtype
        tol = _tolerance(args[i])
        np.testing.assert_allclose(g, numerical_grad(F, copy.deepcopy(args), i), rtol=tol, atol=tol / 10)
    i = _floats(args)[0]
    direction = np.cos(np.arange(1.0, np.size(args[i]) + 1.0)).reshape(np.shape(args[i]))
    direction = float(direction) if isinstance(args[i], float) else direction.astype(args[i].dtype)
    got = {}
    if _refused_clearly(lambda: got.update(jvp=sg.jvp(f, wrt=i)(*copy.deepcopy(args), direction))):
        out, tangent = got["jvp"]
        np.testing.assert_allclose(out, value, rtol=1e-10, atol=1e-12)
        tol = _tolerance(args[i])
        np.testing.assert_allclose(tangent, numerical_jvp(F, copy.deepcopy(args), i, direction),
                                   rtol=tol, atol=tol / 10)
