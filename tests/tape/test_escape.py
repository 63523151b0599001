"""SPEC 2: a value taken out of a recording tape is a constant, and the tape
warns (one ``sg.S2SGradWarning`` per source line, through Python's warning
filters) when it sees that constant combined with values that depend on a
watched source.

The gradient is the one with the escaped value held constant: the same as
with ``sg.stop_gradient`` in its place, checked against central differences
of the function with that value frozen.
"""

import math
import warnings

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_grad

THIS_FILE = __file__


def lines_of(caught):
    return [(w.filename, w.lineno) for w in caught if issubclass(w.category, sg.S2SGradWarning)]


def line_of(marker):
    """The line of this file holding ``# <marker>``."""
    with open(THIS_FILE) as f:
        for number, text in enumerate(f, 1):
            if text.rstrip().endswith(f"# {marker}"):
                return number
    raise AssertionError(marker)


def recorded(program, x0, always=True):
    """``program(x)`` on a watched Variable: (value, gradient, S2SGradWarnings)."""
    x = sg.Variable(np.float64(x0) if np.ndim(x0) == 0 else np.array(x0, dtype=np.float64))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always" if always else "default")
        with sg.GradientTape() as tape:
            y = program(x)
        g = tape.gradient(y, x)
    return y, g, [w for w in caught if issubclass(w.category, sg.S2SGradWarning)]


# -- every way out, each warned about where it comes back --------------------------------------


def via_float(x):
    c = float(x)
    return x * c  # float


def via_numpy(x):
    c = x.numpy()
    return np.sum(x * c)  # numpy


def via_asarray(x):
    c = np.asarray(x)
    return np.sum(np.maximum(x, c * 0.5) + c)  # asarray


def via_item(x):
    c = x.item()
    return x ** 2 / c  # item


def via_tolist(x):
    c = x.tolist()
    return np.sum(x * c)  # tolist


def via_math_sin(x):
    return x * math.sin(x)  # math.sin


def via_np_array(x):
    return np.sum(x / np.array(x))  # np.array


ROUTES = [
    (via_float, 1.5, "float", "`float(x)`", lambda x, c: x * c, lambda x: x),
    (via_numpy, [1.0, -2.0], "numpy", "`x.numpy()`", lambda x, c: np.sum(x * c), lambda x: x),
    (via_asarray, [0.5, 3.0], "asarray", "`np.asarray(x)`",
     lambda x, c: np.sum(np.maximum(x, c * 0.5) + c), lambda x: x),
    (via_item, 0.7, "item", "`x.item()`", lambda x, c: x ** 2 / c, lambda x: x),
    (via_tolist, [2.0, 0.25], "tolist", "`x.tolist()`", lambda x, c: np.sum(x * c), lambda x: x),
    (via_math_sin, 0.3, "math.sin", "`math.sin(x)`", lambda x, c: x * c, np.sin),
    (via_np_array, [1.0, 4.0], "np.array", "`np.array(x)`", lambda x, c: np.sum(x / c), lambda x: x),
]


@pytest.mark.parametrize("program, x0, marker, named, frozen, escaped", ROUTES,
                         ids=[r[2] for r in ROUTES])
def test_each_way_out_warns_once_where_it_comes_back(program, x0, marker, named, frozen, escaped):
    _, g, caught = recorded(program, x0)
    assert lines_of(caught) == [(THIS_FILE, line_of(marker))]
    message = str(caught[0].message)
    assert named in message and "no gradient flows through it" in message
    assert f"{THIS_FILE}:{line_of(marker)}" in message
    # the gradient is that of the function with the escaped value frozen
    x0 = np.asarray(x0, dtype=np.float64)
    c = escaped(x0)
    np.testing.assert_allclose(g.numpy(), numerical_grad(lambda x: frozen(x, c), [x0]), rtol=1e-6)


def test_the_gradient_is_the_one_with_stop_gradient_in_its_place():
    x = sg.Variable(np.array([0.5, -1.5]))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with sg.GradientTape() as tape:
            y = np.sum(np.sin(x) * x.numpy() + x * math.exp(float(np.sum(x))))
        escaped = tape.gradient(y, x)
    with sg.GradientTape() as tape:
        y = np.sum(np.sin(x) * sg.stop_gradient(x) + x * np.exp(sg.stop_gradient(np.sum(x))))
    np.testing.assert_array_equal(escaped.numpy(), tape.gradient(y, x).numpy())


# -- once per line ---------------------------------------------------------------------------------


def test_a_loop_of_100_iterations_warns_once():
    def program(x):
        y = x
        for _ in range(100):
            y = y + x * float(x)  # loop
        return y

    y, g, caught = recorded(program, 2.0)
    assert lines_of(caught) == [(THIS_FILE, line_of("loop"))]
    assert g.numpy() == pytest.approx(1 + 100 * 2.0)


def test_100_tapes_warn_once_under_the_default_filter():
    x = sg.Variable(2.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(100):
            with sg.GradientTape() as tape:
                y = x * float(x)  # tapes
            tape.gradient(y, x)
    assert lines_of(caught) == [(THIS_FILE, line_of("tapes"))]


def test_nested_tapes_warn_once_and_the_backward_pass_does_not_warn():
    x = sg.Variable(1.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with sg.GradientTape() as outer:
            with sg.GradientTape() as inner:
                c = float(x)
                y = x * x * c  # nested
            g = inner.gradient(y, x)
        gg = outer.gradient(g, x)
    assert lines_of(caught) == [(THIS_FILE, line_of("nested"))]
    assert g.numpy() == pytest.approx(2 * 1.5 * 1.5) and gg.numpy() == pytest.approx(2 * 1.5)


def test_two_lines_warn_twice():
    def program(x):
        c = x.numpy()
        y = x * c  # first
        return y + c  # second

    _, _, caught = recorded(program, 1.0)
    assert lines_of(caught) == [(THIS_FILE, line_of("first")), (THIS_FILE, line_of("second"))]


# -- no warning -----------------------------------------------------------------------------------


def test_no_warning_when_the_value_is_not_combined_with_watched_values():
    def program(x):
        c = float(x)
        k = sg.constant(2.0)  # not watched
        shown = f"{float(x):.3f}"
        assert shown == "1.000"
        z = k * c + c * 3.0
        assert z.numpy() == 5.0
        y = x * 2.0 + 1.0  # plain constants, not escaped ones
        if float(x) > 0:  # control flow on a value is no lost path
            y = y * x
        return y

    _, g, caught = recorded(program, 1.0)
    assert caught == []
    assert g.numpy() == pytest.approx(2 * 2.0 + 1.0)


def test_a_condition_on_the_same_line_is_no_lost_path():
    def program(x):
        return x + 1.0 if float(x) > 0 else x * 2.0

    _, g, caught = recorded(program, 1.0)
    assert caught == [] and g.numpy() == 1.0


def test_no_warning_when_not_recording():
    x = sg.Variable(3.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        before = float(x)  # a constant before the tape: nothing is lost
        with sg.GradientTape() as tape:
            y = x * before
            inside = x.numpy()
            with tape.stop_recording():
                z = x * inside  # not recorded
        after = y * inside  # the tape has stopped
        assert tape.gradient(y, x).numpy() == 3.0
        w = x * float(x)  # no tape at all
    assert caught == [] and z.numpy() == 9.0 and after.numpy() == 27.0 and w.numpy() == 9.0


def test_no_warning_for_a_value_of_an_unwatched_tensor_or_an_integer_part():
    x = sg.Variable(2.7)
    k = sg.constant(5.0)

    def program(x):
        n = int(x)  # an integer part: its derivative is zero where it has one
        return x * float(k) + x * n

    x0 = 2.7
    _, g, caught = recorded(program, x0)
    assert caught == [] and g.numpy() == pytest.approx(5.0 + 2)
    assert x.numpy() == x0


# -- Python's warning filters --------------------------------------------------------------------


def test_an_error_filter_raises_at_the_line():
    x = sg.Variable(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sg.S2SGradWarning)
        with sg.GradientTape():
            c = float(x)
            with pytest.raises(sg.S2SGradWarning, match="float"):
                x * c


def test_an_ignore_filter_silences_it():
    x = sg.Variable(2.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=sg.S2SGradWarning)
        with sg.GradientTape() as tape:
            y = x * float(x)
    assert caught == [] and tape.gradient(y, x).numpy() == 2.0


def test_explain_lists_the_lines_where_values_came_back():
    x = sg.Variable(2.0)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with sg.GradientTape(persistent=True) as tape:
            c = float(x)
            y = x * c  # explained
    assert tape.gradient(y, x).numpy() == 2.0
    report = tape.explain(y, x)
    assert "connected" in report and "came back into it as constants" in report
    assert f"{THIS_FILE}:{line_of('explained')}: `float(x)` at {THIS_FILE}:" in report
    assert "the operator *" in report
    with sg.GradientTape() as clean:
        y = x * x
    assert "came back" not in clean.explain(y, x)


def test_a_program_without_source_file_warns_too():
    """``python -c``: before Python 3.13 the loader has no source to show
    (warnings' own lookup of it raised ImportError); 3.13 keeps the source of
    ``-c`` and the warning quotes the call. Either way it names the line."""
    import os
    import subprocess
    import sys

    program = ("import s2sgrad as sg\nx = sg.Variable(2.0)\nwith sg.GradientTape() as t:\n"
               "    y = x * float(x)\nprint(t.gradient(y, x).numpy())\n")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(sg.__file__)))
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "2.0\n"
    shown = "`float(x)`" if sys.version_info >= (3, 13) else "float()"
    assert f"<string>:4: S2SGradWarning: {shown} at <string>:4" in done.stderr


def test_no_warning_for_an_integer_result_taken_out():
    """``np.linalg.lstsq``'s rank is an output of a recorded operation, but an
    integer: it has no derivative to lose."""
    a = sg.Variable(np.array([[1.0, 0.5], [0.0, 2.0], [1.0, 1.0]]))
    b = np.array([1.0, 2.0, 0.5])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with sg.GradientTape() as tape:
            x, residuals, rank, s = np.linalg.lstsq(a, b, rcond=None)
            y = np.sum(s ** 2) * float(rank)
        g = tape.gradient(y, a)
    assert lines_of(caught) == []
    np.testing.assert_allclose(g.numpy(), 2 * 2 * a.numpy(), rtol=1e-10, atol=1e-12)  # sum(s^2) = |a|_F^2
