"""The disk cache of the tape: a new process that records a program an
earlier one differentiated reads the backward program from disk (no pass
runs), keyed by what determines it -- the recording's structure (primitives,
wiring, static parameters, shapes), the objects it names and the engine --
with the guarantees of the source cache (a damaged entry is ignored and
rewritten, a recording naming an object without a portable description stays
in memory)."""

import json
import os
import subprocess
import sys

import numpy as np

from tests.codegen.test_disk import PACKAGE_PARENT, cache_dir, entries  # noqa: F401

#: runs in a subprocess: one tape gradient of ``PROGRAM`` (``SETUP`` first);
#: prints what the disk cache did and the gradients
CHILD = """
import json, sys
import numpy as np
import s2sgrad as sg
from s2sgrad import pipeline
from s2sgrad.codegen import disk
{setup}
if {no_passes!r}:
    def refuse(*args, **kwargs):
        raise AssertionError("a pass ran although the disk cache holds the entry")
    pipeline.run = refuse
x = sg.Variable(np.array({x}))
w = sg.Variable(np.array({w}))
with sg.GradientTape() as tape:
    y = {program}
gx, gw = tape.gradient(y, [x, w])
print(json.dumps({{"stats": disk.stats, "gx": np.asarray(gx).tolist(),
                  "gw": np.asarray(gw).tolist()}}))
"""

PROGRAM = "np.sum(np.tanh(w @ x[::-1]) ** 2) + np.sum(x * 3.0)"
X = [0.3, -0.7]
W = [[0.5, 1.0], [2.0, -3.0]]


def expected(x=X, w=W):
    """The gradients of PROGRAM, written by hand."""
    x, w = np.array(x), np.array(w)
    r = x[::-1]
    t = np.tanh(w @ r)
    dt = 2 * t * (1 - t ** 2)
    return (w.T @ dt)[::-1] + 3.0, np.outer(dt, r)


def in_new_process(program=PROGRAM, x=X, w=W, setup="", no_passes=False, env=None):
    child = CHILD.format(program=program, x=x, w=w, setup=setup, no_passes=no_passes)
    environment = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT), **(env or {}))
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          env=environment, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check(report, x=X, w=W):
    gx, gw = expected(x, w)
    np.testing.assert_allclose(report["gx"], gx, rtol=1e-12)
    np.testing.assert_allclose(report["gw"], gw, rtol=1e-12)


def test_a_new_process_reads_the_backward_program_without_running_a_pass(cache_dir):
    first = in_new_process()
    assert first["stats"]["stored"] == 1 and first["stats"]["loaded"] == 0
    check(first)
    second = in_new_process(no_passes=True)
    assert second["stats"]["loaded"] == 1 and second["stats"]["stored"] == 0
    check(second)
    assert (first["gx"], first["gw"]) == (second["gx"], second["gw"])


def test_other_values_of_the_same_structure_share_the_entry(cache_dir):
    in_new_process()
    x, w = [1.5, 0.25], [[-1.0, 0.5], [0.75, 2.0]]
    again = in_new_process(x=x, w=w, no_passes=True)
    assert again["stats"]["loaded"] == 1
    check(again, x, w)


def test_another_structure_is_another_entry(cache_dir):
    in_new_process()
    x, w = [0.3, -0.7, 1.1], [[0.5, 1.0, 0.2], [2.0, -3.0, 0.1], [0.0, 1.0, 1.0]]
    shape = in_new_process(x=x, w=w)  # (other shapes)
    assert shape["stats"]["loaded"] == 0 and shape["stats"]["stored"] == 1
    check(shape, x, w)
    other = in_new_process(program=PROGRAM.replace("np.tanh", "np.sin"))
    assert other["stats"]["loaded"] == 0
    x, w = np.array(X), np.array(W)
    r = x[::-1]
    s = np.sin(w @ r)
    ds = 2 * s * np.cos(w @ r)
    np.testing.assert_allclose(other["gx"], (w.T @ ds)[::-1] + 3.0, rtol=1e-12)
    constant = in_new_process(program=PROGRAM.replace("3.0", "4.0"))
    assert constant["stats"]["loaded"] == 0
    np.testing.assert_allclose(constant["gx"], expected()[0] + 1.0, rtol=1e-12)
    assert len(entries(cache_dir)) == 4


def test_a_damaged_entry_is_ignored_and_rewritten(cache_dir):
    in_new_process()
    (entry,) = entries(cache_dir)
    data = bytearray(entry.read_bytes())
    where = data.index(b"def grad_tape")
    data[where:where + 10] = b"raise 1/0 "
    entry.write_bytes(bytes(data))
    again = in_new_process()
    assert again["stats"]["rejected"] == 1 and again["stats"]["stored"] == 1
    check(again)
    assert in_new_process(no_passes=True)["stats"]["loaded"] == 1


CUSTOM = """
@sg.custom_gradient
def clipped_square(v):
    def grad_fn(g):
        return g * np.clip(2.0 * v, -1.0, 1.0)
    return v * v, grad_fn
"""


def test_a_custom_gradient_recorded_reads_its_rule_in_the_new_process(cache_dir):
    program = "np.sum(clipped_square(w @ x))"
    first = in_new_process(program=program, setup=CUSTOM)
    second = in_new_process(program=program, setup=CUSTOM, no_passes=True)
    assert second["stats"]["loaded"] == 1
    x, w = np.array(X), np.array(W)
    dv = np.clip(2.0 * (w @ x), -1.0, 1.0)
    for report in (first, second):
        np.testing.assert_allclose(report["gx"], w.T @ dv, rtol=1e-12)
        np.testing.assert_allclose(report["gw"], np.outer(dv, x), rtol=1e-12)


def test_the_cache_off_writes_nothing(cache_dir):
    off = in_new_process(env={"S2SGRAD_CACHE": "0"})
    assert off["stats"]["stored"] == 0 and not cache_dir.exists()
    check(off)


BLOCK_MODULE = """
import numpy as np
import s2sgrad.tf as tf

@tf.function
def step(a, b):
    with tf.GradientTape() as t:
        t.watch(a)
        loss = tf.reduce_sum(a * b + tf.sin(a) * {factor})
    return t.gradient(loss, a)
"""

BLOCK_CHILD = """
import json, sys
sys.path.insert(0, {where!r})
import numpy as np
import s2sgrad.tf as tf
from s2sgrad import pipeline
from s2sgrad.codegen import disk
import blocks
if {no_passes!r}:
    def refuse(*args, **kwargs):
        raise AssertionError("a pass ran although the disk cache holds the entry")
    pipeline.run = refuse
for _ in range(3):  # (eager, then the block's generated code)
    got = blocks.step(tf.constant([1.0, 2.0, -0.5]), tf.constant([3.0, 4.0, 0.25]))
print(json.dumps({{"stats": disk.stats, "gradient": got.numpy().tolist()}}))
"""


def block_in_new_process(where, no_passes=False):
    child = BLOCK_CHILD.format(where=str(where), no_passes=no_passes)
    environment = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT))
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          env=environment, cwd=where, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_tf_function_block_is_read_from_disk_in_a_new_process(tmp_path, cache_dir):
    a, b = np.array([1.0, 2.0, -0.5]), np.array([3.0, 4.0, 0.25])
    (tmp_path / "blocks.py").write_text(BLOCK_MODULE.format(factor=1.0))
    first = block_in_new_process(tmp_path)
    assert first["stats"]["stored"] >= 1 and first["stats"]["loaded"] == 0
    second = block_in_new_process(tmp_path, no_passes=True)
    assert second["stats"]["loaded"] == first["stats"]["stored"]
    assert second["stats"]["stored"] == 0
    for report in (first, second):
        np.testing.assert_allclose(report["gradient"], b + np.cos(a), rtol=1e-6)
    (tmp_path / "blocks.py").write_text(BLOCK_MODULE.format(factor=2.0))
    changed = block_in_new_process(tmp_path)
    assert changed["stats"]["stored"] >= 1
    np.testing.assert_allclose(changed["gradient"], b + 2.0 * np.cos(a), rtol=1e-6)
