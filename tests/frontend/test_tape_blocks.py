"""Lifting tape blocks out of a function: what is lifted, into what, and what is not."""

import ast
import textwrap

import numpy as np
import pytest

import s2sgrad.tf as tf
from s2sgrad.frontend.parse import parse_function
from s2sgrad.frontend.tape_blocks import lift_tape_blocks
from s2sgrad.tape.tape import GradientTape
from s2sgrad.tf.function import lower_call

x, w, v = tf.Variable(1.0), tf.Variable([1.0, 2.0]), tf.constant([3.0, 4.0])


def lift(function):
    tree, blocks, resolved = lift_tape_blocks(
        parse_function(function), lambda obj: obj is GradientTape, lower_call)
    return tree, blocks, resolved


def body_text(tree):
    return textwrap.dedent("\n".join(ast.unparse(s) for s in tree.body))


def seed_block():
    a = tf.constant(1.0)
    with tf.GradientTape() as tape:
        y = a * tf.pow(x, 2) + tf.math.negative(x)
    dy_dx = tape.gradient(y, x)
    return dy_dx


def test_the_seed_block_becomes_a_numpy_function_and_one_call():
    tree, (block,), resolved = lift(seed_block)
    assert block.inputs == ("a", "x") and block.target == "y" and block.source_names == ["x"]
    assert ast.unparse(block.function) == textwrap.dedent("""\
        def tape_block(a, x):
            y = a * x ** 2 + -x
            return y""")
    assert body_text(tree) == textwrap.dedent("""\
        a = tf.constant(1.0)
        y, dy_dx = __s2sgrad_block_0(a, x)
        return dy_dx""")
    assert resolved["tf.GradientTape"] is GradientTape and resolved["tf.pow"] is tf.pow


def numpy_and_reductions():
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([v])
        h = tf.tanh(tf.matmul(w[None], v[:, None]))  # (np.tanh of a tf tensor leaves the tape)
        loss = tf.reduce_sum(h, axis=[0, 1], keepdims=True)
        loss *= tf.reduce_mean(tf.square(v), 0)
    return [loss, tape.gradient(loss, [w, (v,)])]


def test_numpy_calls_reductions_and_a_gradient_inside_an_expression():
    tree, (block,), _ = lift(numpy_and_reductions)
    assert block.watched == {"v"} and block.source_names == ["w", "v"]
    assert ast.unparse(block.function).splitlines()[1:] == [
        "    h = np.tanh(w[None] @ v[:, None])",
        "    loss = np.sum(h, axis=(0, 1), keepdims=True)",
        "    loss = loss * np.mean(np.square(v), axis=0)",
        "    return loss",
    ]
    assert body_text(tree) == textwrap.dedent("""\
        loss, __s2sgrad_block_0_gradients = __s2sgrad_block_0(w, v)
        return [loss, __s2sgrad_block_0_gradients]""")
    assert block.pack([1, 2]) == [1, (2,)]


def test_a_front_end_conversion_records_the_inputs_it_reads():
    def program(n):
        with tf.GradientTape() as tape:
            m = n * 2.0
            y = x * tf.exp(m) + tf.sin(x * n)
        return tape.gradient(y, x)

    _, (block,), _ = lift(program)
    assert set(block.converting_calls) == {frozenset({"n"}), frozenset({"x", "n"})}


def helper(t):
    return t * 2


class Holder:
    w = w


@pytest.mark.parametrize("source", [
    # the tape is used again
    """with tf.GradientTape(persistent=True) as tape:
           y = x * x
       g = tape.gradient(y, x)
       h = tape.gradient(y, x)""",
    # a name the block assigns is read after it
    """with tf.GradientTape() as tape:
           h = x * 2.0
           y = h * h
       g = tape.gradient(y, x)
       print(h)""",
    # watch after computing
    """with tf.GradientTape() as tape:
           y = x * 2.0
           tape.watch(v)
           z = y * v
       g = tape.gradient(z, v)""",
    # control flow, calls without rules, attributes, casts, options
    """with tf.GradientTape() as tape:
           y = x * 2.0
           if y > 0:
               y = y * x
       g = tape.gradient(y, x)""",
    """with tf.GradientTape() as tape:
           y = helper(x)
       g = tape.gradient(y, x)""",
    """with tf.GradientTape() as tape:
           y = tf.reduce_sum(Holder.w * 2.0)
       g = tape.gradient(y, w)""",
    """with tf.GradientTape() as tape:
           y = tf.cast(x, tf.float64)
       g = tape.gradient(y, x)""",
    """with tf.GradientTape() as tape:
           y = tf.reduce_sum(w, axis=n)
       g = tape.gradient(y, w)""",
    """with tf.GradientTape() as tape:
           y = x * x
       g = tape.gradient(y, x, unconnected_gradients="zero")""",
    """with tf.GradientTape() as tape:
           y = x * x
       g = tape.gradient(y, x) if n else None""",
    """with tf.GradientTape() as tape:
           y = x * tf.sin(2.0)
       g = tape.gradient(y, x)""",
    # the target or a source is not a plain name / is assigned in the block
    """with tf.GradientTape() as tape:
           y = x * x
       g = tape.gradient(y * 2, x)""",
    """with tf.GradientTape() as tape:
           x2 = x * 1.0
           y = x2 * x2
       g = tape.gradient(y, x2)""",
    # a local function called in the block, the gradient not right after it
    """with tf.GradientTape() as tape:
           y = n(x)
       g = tape.gradient(y, x)""",
    """with tf.GradientTape() as tape:
           y = x * x
       n = 1
       g = tape.gradient(y, x)""",
])
def test_blocks_that_stay_as_written(source):
    assert lift_source(source) == []


def test_the_same_harness_lifts_a_liftable_block():
    assert len(lift_source("""with tf.GradientTape() as tape:
           y = x * x * n
       g = tape.gradient(y, x)""")) == 1


def lift_source(source):
    """The blocks lifted from ``def program(n): <source>; return 0``."""
    import linecache

    namespace = {"tf": tf, "x": x, "w": w, "v": v, "helper": helper, "Holder": Holder}
    text = "def program(n):\n" + textwrap.indent(textwrap.dedent("       " + source), "    ")
    text += "\n    return 0\n"
    filename = f"<lift test {abs(hash(text))}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    exec(compile(text, filename, "exec"), namespace)
    return lift(namespace["program"])[1]
