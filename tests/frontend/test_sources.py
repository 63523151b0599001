"""Where functions come from: a file, or text in ``linecache``.

IPython and Jupyter cells and the Python 3.13 REPL register the text of
what is typed in ``linecache`` under a pseudo-file name; a program building
functions with ``exec`` can do the same. Those functions differentiate like
any other (here: source put into ``linecache`` under such names, then
exec'd, as those front ends do). A function whose source cannot be found
gets one error saying how to make it available.
"""

import linecache

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.errors import SourceUnavailableError

CELL = """
import numpy as np

def f(x):
    y = np.sin(x) * x
    return np.sum(y ** 2)
"""

X = np.array([0.4, -1.2, 2.0])


def df(x):
    y = np.sin(x) * x
    return 2 * y * (np.cos(x) * x + np.sin(x))


def run_registered(text, name, namespace=None):
    """``text`` exec'd as a front end that keeps its source does it (in
    ``namespace``: IPython runs every cell in one)."""
    linecache.cache[name] = (len(text), None, text.splitlines(True), name)
    namespace = {"__name__": "__main__"} if namespace is None else namespace
    exec(compile(text, name, "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", [
    "<ipython-input-3-0123abcdef01>",      # IPython
    "/tmp/ipykernel_4242/1234567890.py",   # a Jupyter kernel's cell (no such file)
    "<python-input-0>",                    # the Python 3.13 REPL
    "<my-generated-model>",                # exec of a string registered by its author
])
def test_functions_whose_source_is_in_linecache_differentiate(name):
    namespace = run_registered(CELL, name)
    np.testing.assert_allclose(sg.grad(namespace["f"])(X), df(X))
    assert "def grad_f(x):" in sg.source(namespace["f"])


def test_a_second_derivative_and_a_callee_from_another_cell():
    second = run_registered("import numpy as np\n\ndef g(x):\n    return np.sin(x) * x\n",
                            "<ipython-input-7-aaaaaaaaaaaa>")
    run_registered("def h(x):\n    return g(x) ** 2\n", "<ipython-input-8-bbbbbbbbbbbb>", second)
    x = 0.9
    np.testing.assert_allclose(sg.grad(second["h"])(x), df(np.array([x]))[0])
    d2 = sg.grad(sg.grad(second["h"]))(x)
    step = 1e-5
    fd = (sg.grad(second["h"])(x + step) - sg.grad(second["h"])(x - step)) / (2 * step)
    np.testing.assert_allclose(d2, fd, rtol=1e-6)


def test_a_cell_run_again_with_a_new_body_gives_the_new_derivative():
    old = run_registered(CELL, "<ipython-input-9-cccccccccccc>")
    new = run_registered(CELL.replace("y ** 2", "y ** 3"), "<ipython-input-10-dddddddddddd>")
    np.testing.assert_allclose(sg.grad(old["f"])(X), df(X))
    y = np.sin(X) * X
    np.testing.assert_allclose(sg.grad(new["f"])(X), 3 * y ** 2 * (np.cos(X) * X + np.sin(X)))


def unregistered(name, text=CELL, func="f"):
    namespace = {}
    exec(compile(text, name, "exec"), namespace)
    return namespace[func]


def refusal(function):
    with pytest.raises(SourceUnavailableError) as caught:
        sg.grad(function)
    message = str(caught.value)
    assert isinstance(caught.value, sg.S2SGradError) and "\n" not in message
    assert "could not get source" not in message  # (inspect's words, not the user's)
    return message


def test_a_function_typed_at_a_prompt_that_keeps_no_source():
    message = refusal(unregistered("<stdin>"))
    assert message.startswith("the source of f (<stdin>:4) is not available")
    assert "define it in a file and import it" in message and "3.13" in message


def test_a_function_built_by_exec_of_an_unregistered_string():
    message = refusal(unregistered("<string>"))
    assert "built from a string" in message and "linecache.cache[NAME]" in message
    lam = refusal(unregistered("<string>", "g = lambda x: x * x\n", "g"))
    assert lam.startswith("the source of <lambda> (<string>:1)")


def test_a_function_whose_file_is_gone(tmp_path):
    message = refusal(unregistered(str(tmp_path / "deleted.py")))
    assert "its file cannot be read" in message and "deleted.py" in message
