"""s2sgrad.tf against TensorFlow's documented behaviour, one behaviour per test.

Each test cites where TensorFlow states (or tests) what it asserts: the
reference is ``tensorflow/python/eager/backprop.py`` (``GradientTape``) and
its tests ``backprop_test.py``, and the API pages of tensorflow.org.
"""

import numpy as np
import pytest

import s2sgrad.tf as tf

# TF 2.5+ backprop.py, GradientTape.gradient: ``if self._tape is None: raise
# RuntimeError("A non-persistent GradientTape can only be used to compute one
# set of gradients (or jacobians)")``; ``_tape`` is None until the tape is entered.
SPENT = "A non-persistent GradientTape can only be used to compute one set of gradients"


# -- 1. a tape that was never entered -------------------------------------------------


def test_gradient_on_a_tape_never_entered_raises_runtime_error():
    x = tf.constant(3.0)
    tape = tf.GradientTape()
    with pytest.raises(RuntimeError, match=SPENT):
        tape.gradient(x, x)


def test_jacobian_on_a_tape_never_entered_raises_runtime_error():
    x = tf.constant([3.0, 4.0])
    tape = tf.GradientTape(persistent=True)
    with pytest.raises(RuntimeError, match=SPENT):
        tape.jacobian(x, x)


def test_a_tape_entered_later_records_as_usual():
    x = tf.Variable(3.0)
    tape = tf.GradientTape()
    with tape:
        y = x * x
    assert tape.gradient(y, x).numpy() == 6.0


# -- 2. stop_recording and reset outside the context ---------------------------------
# backprop.py: stop_recording raises RuntimeError("Trying to stop recording a
# tape which is not recording.") when ``_tape is None`` and otherwise pops the
# tape, whose ``_pop_tape`` raises ValueError("Tape is not recording.") outside
# the context; reset() is ``_pop_tape(); _tape = None; _push_tape()``.


def test_stop_recording_on_a_tape_never_entered_raises_runtime_error():
    tape = tf.GradientTape()
    with pytest.raises(RuntimeError, match="Trying to stop recording a tape which is not recording"):
        with tape.stop_recording():
            pass


def test_stop_recording_after_the_context_raises_value_error():
    with tf.GradientTape() as tape:
        pass
    with pytest.raises(ValueError, match="Tape is not recording"):
        with tape.stop_recording():
            pass


def test_stop_recording_inside_the_context_pauses_recording():
    # tensorflow.org/api_docs/python/tf/GradientTape#stop_recording: the example
    x = tf.constant(4.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        with tape.stop_recording():
            y = x**2
    assert tape.gradient(y, x) is None


@pytest.mark.parametrize("entered", [False, True])
def test_reset_outside_the_context_raises_value_error(entered):
    tape = tf.GradientTape()
    if entered:
        with tape:
            pass
    with pytest.raises(ValueError, match="Tape is not recording"):
        tape.reset()


def test_reset_inside_the_context_forgets_what_came_before():
    # tensorflow.org/api_docs/python/tf/GradientTape#reset: "Only differentiates
    # other_loss_fn, not loss_fn"
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        loss = x * x
        tape.reset()
        loss += 3.0 * x
    assert tape.gradient(loss, x).numpy() == 3.0
