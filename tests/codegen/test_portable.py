"""Portable descriptions: equal across processes only for objects that make
the same derivative; none for what cannot be described (the disk cache then
keeps the code in memory only)."""

import json
import math
import types

import numpy as np

from s2sgrad import runtime
from s2sgrad.codegen import portable
from s2sgrad.codegen.compile import register_source


def test_plain_values_are_told_apart_by_type():
    assert len({json.dumps(portable.fingerprint(v)) for v in (True, 1, 1.0, "1", None)}) == 5
    assert portable.fingerprint((1, 2.5)) == ["tuple", [["value", "int", 1],
                                                        ["value", "float", 2.5]]]


def test_modules_and_named_objects_by_where_they_are_found():
    assert portable.fingerprint(np) == ["module", "numpy"]
    assert portable.fingerprint(np.sin) == ["named", "numpy", "sin"]
    assert portable.fingerprint(np.linalg.norm) == ["named", "numpy.linalg", "norm"]
    assert portable.fingerprint(math.exp) == ["named", "math", "exp"]
    assert portable.fingerprint(range) == ["named", "builtins", "range"]
    assert portable.fingerprint(np.float64) == ["named", "numpy", "float64"]


def test_objects_without_a_description():
    assert portable.fingerprint(np.ones(3)) is None
    assert portable.fingerprint(object()) is None
    assert portable.fingerprint((1.0, np.ones(2))) is None
    assert portable.reference(lambda x: x) is None


def make_closure(callee):
    def closure(x):
        return callee(x)
    return closure


def test_functions_by_code_defaults_and_closure_contents():
    same = make_closure(np.sin), make_closure(np.sin)
    assert portable.fingerprint(same[0]) == portable.fingerprint(same[1])
    assert portable.fingerprint(make_closure(np.cos)) != portable.fingerprint(same[0])
    assert portable.fingerprint(make_closure(np.ones(2))) is None

    def with_default(x, c=2.0):
        return c * x

    changed = types.FunctionType(with_default.__code__, globals(), "with_default", (3.0,))
    changed.__qualname__ = with_default.__qualname__
    assert portable.fingerprint(changed) != portable.fingerprint(with_default)


def test_a_function_in_its_own_closure_is_not_followed_forever():
    def outer():
        def again(n):
            return again(n - 1) if n else 0
        return again

    assert portable.fingerprint(outer())[0] == "function"


def test_references_are_rebuilt_without_importing():
    for obj in (np, np.sin, runtime.unbroadcast, 2.5, (1, "a"), None):
        assert portable.rebuild(portable.reference(obj)) is obj or \
            portable.rebuild(portable.reference(obj)) == obj
    assert portable.rebuild(["module", "no_such_module_here"]) is portable.MISSING
    assert portable.rebuild(["named", "numpy", "no_such_name"]) is portable.MISSING
    assert portable.rebuild(["pickle", "anything"]) is portable.MISSING
    assert portable.rebuild("garbage") is portable.MISSING


def test_generated_code_is_described_without_its_per_process_serial_number():
    text = "def g(x):\n    return x\n"
    first = compile(text, register_source("g", text), "exec")
    second = compile(text, register_source("g", text), "exec")
    assert first.co_filename != second.co_filename
    assert portable.code_digest(first) == portable.code_digest(second)
    other = compile(text.replace("x\n", "x + 1\n"), register_source("g", text), "exec")
    assert portable.code_digest(other) != portable.code_digest(first)
