"""GradientTape.explain: why the tape's gradient is None, on reproductions of
TensorFlow users' "tape.gradient returns None" reports (written with
sg.GradientTape and NumPy).
"""

import inspect

import numpy as np

import s2sgrad as sg


def here(marker):
    """``file:line`` of the line of the calling test holding ``# <marker>``."""
    caller = inspect.stack()[1]
    lines, first = inspect.getsourcelines(caller.frame.f_code)
    for offset, text in enumerate(lines):
        if f"# {marker}" in text:
            return f"{caller.filename}:{first + offset}"
    raise AssertionError(marker)


def test_a_constant_not_watched():  # TF #50661, fchollet notebooks #284
    x = sg.constant(np.zeros(3))
    with sg.GradientTape() as tape:
        y = np.sum(x * 2.0)
    assert tape.gradient(y, x) is None
    report = tape.explain(y, x)
    assert "does not watch it" in report and "tape.watch" in report


def test_a_value_taken_out_with_numpy():  # TF #36596: a loss converted to NumPy
    w = sg.Variable(np.array([0.5, -1.0]))
    with sg.GradientTape() as tape:
        prediction = (w * 2.0).numpy()
        loss = np.sum(prediction ** 2)
    report = tape.explain(loss, w)
    assert "not a Tensor" in report and ".numpy()" in report


def test_argmax_and_a_comparison_name_their_lines():  # dm-haiku #442
    w = sg.Variable(np.array([0.2, 0.7, 0.1]))
    with sg.GradientTape() as tape:
        logits = w * 3.0
        predicted = np.argmax(logits)  # argmax
        hit = logits > 1.0  # comparison
        loss = sg.constant(1.0) * predicted + np.sum(hit * 1.0)
    assert tape.gradient(loss, w) is None
    report = tape.explain(loss, w)
    assert f"{here('argmax')}: np.argmax gives an integer" in report
    assert f"{here('comparison')}: the comparison > gives a truth value" in report


def test_a_cast_to_int():  # TF #47083, #897: tf.cast to an integer dtype
    w = sg.Variable(np.array([1.6, 2.2]))
    with sg.GradientTape() as tape:
        level = sg.tape.cast(w * 1.0, np.int64)  # cast
        loss = np.sum(level * 1.5)
    report = tape.explain(loss, w)
    assert here("cast") in report


def test_stop_gradient_on_the_tape():
    w = sg.Variable(np.array([1.0, 2.0]))
    with sg.GradientTape() as tape:
        frozen = sg.stop_gradient(w * 2.0)  # stop
        loss = np.sum(frozen)
    report = tape.explain(loss, w)
    assert f"{here('stop')}: sg.stop_gradient" in report


def test_a_variable_used_only_by_operations_with_no_derivative():
    w = sg.Variable(np.array([0.5, 2.0]))
    with sg.GradientTape() as tape:
        rounded = np.round(w)  # round
        loss = np.sum(sg.constant(rounded.numpy()) * 2.0)
    report = tape.explain(loss, w)
    assert "only by operations with no derivative" in report
    assert f"{here('round')}: np.round" in report


def test_a_variable_not_trainable():
    w = sg.Variable(1.0, trainable=False)
    x = sg.Variable(2.0)
    with sg.GradientTape() as tape:
        y = w * x
    report = tape.explain(y, [w, x])
    assert "trainable=False" in report
    assert "source 1" in report and "connected" in report


def test_a_source_the_target_does_not_use():  # TF #24849
    a, b = sg.Variable(1.0), sg.Variable(2.0)
    with sg.GradientTape() as tape:
        y = a * 3.0
        unused = b * 2.0  # noqa: F841
    assert tape.gradient(y, b) is None
    assert "no recorded operation leads from it to the target" in tape.explain(y, b)


def test_explain_after_a_non_persistent_tape_answered():
    w = sg.Variable(np.array([0.5, 2.0]))
    with sg.GradientTape() as tape:
        h = w * 1.0
        k = np.argmax(h)  # argmax
        loss = sg.constant(1.0) * k
    assert tape.gradient(loss, w) is None
    assert f"{here('argmax')}: np.argmax" in tape.explain(loss, w)


def test_a_connected_source_says_so():
    x = sg.Variable(3.0)
    with sg.GradientTape(persistent=True) as tape:
        y = x ** 2
    assert tape.gradient(y, x) is not None
    assert "connected" in tape.explain(y, x)


def test_an_integer_source():
    i = sg.constant(np.array([1, 2]))
    with sg.GradientTape() as tape:
        tape.watch(i)
        y = np.sum(i * 2)
    assert "not floating point" in tape.explain(y, i)
