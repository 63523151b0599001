"""The disk cache and the rules registered at run time (``sg.defgrad``): an
entry lists what its generation looked up in the primitive table and in
which state, so a rule registered in one process never reaches another's
entries (and one missing there is noticed), and a rule without a portable
description keeps only the generations that use it in memory."""

import importlib
import sys

import numpy as np

import s2sgrad as sg
from s2sgrad.codegen import cache, disk, portable
from s2sgrad.primitives import registry
from tests.codegen.test_disk import cache_dir, in_new_process, write_module  # noqa: F401

X = np.array([0.3, -0.2, 0.5])

MODULE = """
import numpy as np

def ramp(x):
    return 2.0 * x

def uses_ramp(x):
    return np.sum(ramp(x) * x)

def plain(x):
    return np.sum(np.sin(x) * x)
"""

#: a rule closing over an array: it has no portable description
RULES = """
import numpy as np
import s2sgrad as sg
import {module}

def make_rule(weights):
    def ramp_rule(g, ans, x):
        return (g * weights,)
    return ramp_rule

sg.defgrad({module}.ramp)(make_rule(np.array([3.0, 4.0, 5.0])))
"""


def _load(tmp_path, name, text):
    write_module(tmp_path, text, name=name)
    sys.path.insert(0, str(tmp_path))
    try:
        sys.modules.pop(name, None)
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))


def test_a_rule_without_a_portable_description_keeps_only_its_users_in_memory(tmp_path,
                                                                              cache_dir):
    module = _load(tmp_path, "user_rules_a", MODULE)
    before = registry.record(module.ramp)
    try:
        _load(tmp_path, "rules_a", RULES.format(module="user_rules_a"))
        ramp = 2.0 * X
        np.testing.assert_allclose(sg.grad(module.uses_ramp)(X),
                                   np.array([3.0, 4.0, 5.0]) * X + ramp)
        assert disk.stats["stored"] == 0  # (it used the rule: in memory only)
        np.testing.assert_allclose(sg.grad(module.plain)(X), np.cos(X) * X + np.sin(X))
        assert disk.stats["stored"] == 1  # (it did not: on disk, as before the rule)
    finally:
        assert before is None
        registry._RECORDS.pop(id(module.ramp), None)  # (no other test sees the rule)
        registry._bump()


def test_an_entry_made_with_a_rule_is_not_used_without_it(tmp_path, cache_dir):
    write_module(tmp_path, MODULE)
    write_module(tmp_path, "import s2sgrad as sg\nimport user_module\n\n"
                           "@sg.defgrad(user_module.ramp)\ndef ramp_rule(g, ans, x):\n"
                           "    return (7.0 * g,)\n", name="rules")
    with_rule = in_new_process(tmp_path, func="module.uses_ramp", setup="import rules")
    assert with_rule["stats"]["stored"] == 1
    np.testing.assert_allclose(with_rule["gradient"], 7.0 * X + 2.0 * X)
    without = in_new_process(tmp_path, func="module.uses_ramp")
    assert without["stats"]["stale"] == 1 and without["stats"]["loaded"] == 0
    np.testing.assert_allclose(without["gradient"], 4.0 * X)
    # (one entry per key: the last generation's; with the rule again, it is stale)
    again = in_new_process(tmp_path, func="module.uses_ramp", setup="import rules")
    assert again["stats"]["stale"] == 1 and again["stats"]["stored"] == 1
    np.testing.assert_allclose(again["gradient"], 7.0 * X + 2.0 * X)
    read = in_new_process(tmp_path, func="module.uses_ramp", setup="import rules",
                          no_parse=True)
    assert read["stats"]["loaded"] == 1
    np.testing.assert_allclose(read["gradient"], 7.0 * X + 2.0 * X)


def test_a_rule_for_a_function_a_derivative_did_not_use_leaves_its_entry_alone(tmp_path,
                                                                             cache_dir):
    write_module(tmp_path, MODULE)
    write_module(tmp_path, "import s2sgrad as sg\nimport user_module\n\n"
                           "@sg.defgrad(user_module.ramp)\ndef ramp_rule(g, ans, x):\n"
                           "    return (7.0 * g,)\n", name="rules")
    in_new_process(tmp_path, func="module.plain")
    with_rule = in_new_process(tmp_path, func="module.plain", setup="import rules",
                               no_parse=True)
    assert with_rule["stats"]["loaded"] == 1
    np.testing.assert_allclose(with_rule["gradient"], np.cos(X) * X + np.sin(X))


def test_what_a_generation_looked_up_is_described_and_checked():
    with registry.lookups() as log:
        registry.record(np.sin)
        registry.method("sum")
        registry.operator(__import__("ast").Add)
    used = portable.rules_used(log)
    assert [identity for identity, _ in used["objects"]] == ['["named", "numpy", "sin"]']
    assert [s[:2] for s in used["spellings"]] == [["method", "sum"], ["operator", "Add"]]
    assert portable.rules_hold(used)
    changed = {**used, "objects": [[i, "another rule"] for i, _ in used["objects"]]}
    assert not portable.rules_hold(changed)
    moved = {**used, "spellings": [[k, n, '["named", "numpy", "cos"]', s]
                                   for k, n, _, s in used["spellings"]]}
    assert not portable.rules_hold(moved)
    cache.clear()
