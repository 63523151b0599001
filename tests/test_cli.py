"""The command line (SPEC section 5): ``s2sgrad show`` and ``s2sgrad check``.

Most tests call :func:`s2sgrad.cli.main` in-process on modules written into
``tmp_path``; a few run ``python -m s2sgrad`` to prove the entry point.
``show`` is compared with :func:`s2sgrad.source` on the same file; ``check``
is tested on a correct function and on a deliberately wrong ``defgrad`` rule.
"""

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import s2sgrad as sg
from s2sgrad.cli import main

PACKAGE_PARENT = Path(sg.__file__).resolve().parent.parent

FUNCTIONS = """
import numpy as np

def f(x, b=2.0):
    return np.sin(x) * b + x ** 2

def quadratic_form(w, x, scale):
    return scale * np.sum((x @ w) ** 2)

def cubic(x):
    return x ** 3 - 2.0 * x

def raises(x):
    return 1.0 / x

def log_of(x):
    return np.log(x)

def vector(x):
    return x * np.ones(3)

def uses_with(x):
    with open("f") as fh:
        return x * len(fh.read())

def flat_in_x(x, y):
    return 1e4 * y + x ** 2

CONSTANT = 3

if __name__ == "__main__":
    raise SystemExit("the __main__ block must not run")
"""

WRONG_RULE = """
import s2sgrad as sg

def cube(x):
    return x ** 3

@sg.defgrad(cube)
def cube_vjp(g, ans, x):
    return (g * 2 * x,)  # wrong on purpose: d(x**3)/dx is 3 * x**2

def f(x):
    return cube(x) + x
"""


def write(directory, name, text):
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def load(path):
    """``path`` imported under a name of its own, as the CLI does."""
    name = f"test_cli_{path.stem}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code, out, err):
    assert code == 2
    assert out == ""
    assert err.startswith("s2sgrad: error: ")
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err


@pytest.fixture
def functions(tmp_path):
    return write(tmp_path, "functions.py", FUNCTIONS)


# -- show ----------------------------------------------------------------------

def test_show_prints_the_generated_source(functions, capsys):
    code, out, err = run(capsys, "show", f"{functions}:f")
    assert (code, err) == (0, "")
    assert out.startswith("def ") and "# grad of:" in out
    assert out.rstrip("\n") == sg.source(load(functions).f).rstrip("\n")


@pytest.mark.parametrize("names, wrt", [("b", "b"), ("x,b", ("x", "b")), (" b , x ", ("b", "x"))])
def test_show_wrt_names(functions, capsys, names, wrt):
    code, out, err = run(capsys, "show", f"{functions}:f", "--wrt", names)
    assert (code, err) == (0, "")
    assert out.rstrip("\n") == sg.source(load(functions).f, wrt=wrt).rstrip("\n")


def test_show_second_order(functions, capsys):
    code, out, err = run(capsys, "show", f"{functions}:cubic", "--order", "2")
    assert (code, err) == (0, "")
    assert "# grad of:" in out
    assert out.rstrip("\n") == sg.source(load(functions).cubic, order=2).rstrip("\n")


def test_show_forward_mode(functions, capsys):
    code, out, err = run(capsys, "show", f"{functions}:cubic", "--mode", "forward")
    assert (code, err) == (0, "")
    assert out.startswith("def jvp_")
    assert out.rstrip("\n") == sg.source(load(functions).cubic, mode="forward").rstrip("\n")
    code, out, err = run(capsys, "show", f"{functions}:cubic", "--mode", "forward", "--order", "2")
    assert (code, err) == (0, "")
    assert out.rstrip("\n") == sg.source(load(functions).cubic, order=2,
                                          mode="forward").rstrip("\n")
    code, out, err = run(capsys, "show", f"{functions}:cubic", "--mode", "forward",
                         "--stage", "forward")
    assert (code, err) == (0, "") and "jvp_" in out
    code, out, err = run(capsys, "show", f"{functions}:cubic", "--stage", "forward")
    assert code == 2 and "--mode forward" in err and "Traceback" not in err


def test_show_does_not_run_the_main_block(functions, capsys):
    # the file's __main__ block raises SystemExit with a message
    code, out, err = run(capsys, "show", f"{functions}:cubic")
    assert (code, err) == (0, "")


def test_show_file_with_local_imports(tmp_path, capsys):
    write(tmp_path, "cli_test_neighbour.py", "def square(x):\n    return x * x\n")
    path = write(tmp_path, "uses_neighbour.py", """
        from cli_test_neighbour import square

        def f(x):
            return square(x) + x
    """)
    before = list(sys.path)
    code, out, err = run(capsys, "show", f"{path}:f")
    assert (code, err) == (0, "")
    assert "# grad of:" in out
    assert sys.path == before


# -- check ---------------------------------------------------------------------

def test_check_passes_on_a_correct_function(functions, capsys):
    code, out, err = run(capsys, "check", f"{functions}:f", "--at", "x=0.7", "b=-1.5")
    assert (code, err) == (0, "")
    assert "x (float): relative error" in out and "b (float): relative error" in out
    last = out.splitlines()[-1]
    assert last.startswith("max relative error: ") and last.endswith("(ok)")


def test_check_accepts_repeated_and_grouped_at(functions, capsys):
    grouped = run(capsys, "check", f"{functions}:f", "--at", "x=0.7", "b=-1.5")
    repeated = run(capsys, "check", f"{functions}:f", "--at", "x=0.7", "--at", "b=-1.5")
    assert grouped == repeated
    assert grouped[0] == 0


def test_check_arrays_and_wrt(functions, capsys):
    code, out, err = run(capsys, "check", f"{functions}:quadratic_form",
                         "--at", "w=[[0.1, -0.2], [0.3, 0.4], [0.5, 0.6]]",
                         "x=[[1, 2, 3], [0.5, -1, 2]]", "scale=2", "--wrt", "w,scale")
    assert (code, err) == (0, "")
    assert "w (float64 array of shape (3, 2))" in out
    assert "scale (float)" in out  # the int 2 was made a float because it is differentiated
    assert "x (" not in out
    assert out.splitlines()[-1].endswith("(ok)")


def test_check_differentiates_float_values_by_default(functions, capsys):
    code, out, err = run(capsys, "check", f"{functions}:quadratic_form",
                         "--at", "w=[[0.1], [0.3]]", "x=[[1.0, 2.0]]", "scale=3")
    assert (code, err) == (0, "")
    assert "w (" in out and "x (" in out and "scale" not in out


def test_check_zero_gradient_next_to_a_large_value_is_ok(functions, capsys):
    code, out, err = run(capsys, "check", f"{functions}:flat_in_x", "--at", "x=0.0", "y=123.456")
    assert (code, err) == (0, "")


@pytest.fixture
def scratch_registry(monkeypatch):
    """Rules registered during the test (the wrong one) vanish afterwards."""
    from s2sgrad.primitives import registry

    for table in ("_RECORDS", "_BY_METHOD", "_BY_ATTRIBUTE"):
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))


def test_check_exits_1_when_the_gradient_is_wrong(tmp_path, capsys, scratch_registry):
    path = write(tmp_path, "wrong_rule.py", WRONG_RULE)
    code, out, err = run(capsys, "check", f"{path}:f", "--at", "x=1.5")
    assert (code, err) == (1, "")
    last = out.splitlines()[-1]
    assert last.startswith("max relative error: ") and "MISMATCH" in last
    error = float(last.split()[3])
    # generated 1 + 2x = 4 against the true 1 + 3x**2 = 7.75
    assert error == pytest.approx((7.75 - 4.0) / 7.75, rel=1e-2)


# -- bad input -----------------------------------------------------------------

BAD_INPUTS = {
    "missing file": ["show", "{dir}/nowhere.py:f"],
    "directory": ["show", "{dir}:f"],
    "no function part": ["show", "{dir}/functions.py"],
    "empty function part": ["show", "{dir}/functions.py:"],
    "missing function": ["show", "{dir}/functions.py:g"],
    "dotted function": ["show", "{dir}/functions.py:np.sin"],
    "not a function": ["show", "{dir}/functions.py:CONSTANT"],
    "syntax error in file": ["show", "{dir}/broken.py:f"],
    "file raises on import": ["show", "{dir}/raising.py:f"],
    "unsupported construct": ["show", "{dir}/functions.py:uses_with"],
    "unknown wrt name": ["show", "{dir}/functions.py:f", "--wrt", "z"],
    "empty wrt name": ["show", "{dir}/functions.py:f", "--wrt", "x,,b"],
    "order 2 of a tuple": ["show", "{dir}/functions.py:f", "--wrt", "x,b", "--order", "2"],
    "at without equals": ["check", "{dir}/functions.py:f", "--at", "x"],
    "at not a literal": ["check", "{dir}/functions.py:f", "--at", "x=abc"],
    "at empty value": ["check", "{dir}/functions.py:f", "--at", "x="],
    "at unknown name": ["check", "{dir}/functions.py:f", "--at", "y=1.0"],
    "at given twice": ["check", "{dir}/functions.py:f", "--at", "x=1.0", "x=2.0"],
    "at ragged list": ["check", "{dir}/functions.py:f", "--at", "x=[1.0, [2.0]]"],
    "missing argument": ["check", "{dir}/functions.py:quadratic_form", "--at", "w=[1.0]"],
    "nothing to differentiate": ["check", "{dir}/functions.py:f", "--at", "x=1"],
    "differentiate a bool": ["check", "{dir}/functions.py:f", "--at", "x=True", "--wrt", "x"],
    "function raises": ["check", "{dir}/functions.py:raises", "--at", "x=0.0"],
    "not finite": ["check", "{dir}/functions.py:log_of", "--at", "x=-1.0"],
    "not a scalar": ["check", "{dir}/functions.py:vector", "--at", "x=1.0"],
    "unsupported construct in check": ["check", "{dir}/functions.py:uses_with", "--at", "x=1.0"],
}


@pytest.mark.parametrize("argv", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_one_line_and_exit_2(tmp_path, functions, capsys, argv):
    write(tmp_path, "broken.py", "def f(x:\n    return x\n")
    write(tmp_path, "raising.py", "raise RuntimeError('no import for you')\n")
    argv = [arg.format(dir=tmp_path) for arg in argv]
    assert_one_error_line(*run(capsys, *argv))


def test_unsupported_construct_names_it_and_the_line(functions, capsys):
    code, out, err = run(capsys, "show", f"{functions}:uses_with")
    assert_one_error_line(code, out, err)
    assert "not supported" in err and "functions.py" in err


def test_values_are_never_evaluated(functions, tmp_path, capsys):
    marker = tmp_path / "pwned"
    value = f"x=__import__('os').system('echo pwned > {marker}')"
    code, out, err = run(capsys, "check", f"{functions}:f", "--at", value)
    assert_one_error_line(code, out, err)
    assert "pwned" not in out
    assert not marker.exists()


def test_traceback_option_reraises(functions):
    with pytest.raises(Exception, match="no function 'g'"):
        main(["show", f"{functions}:g", "--traceback"])


@pytest.mark.parametrize("argv", [["frobnicate"], ["show"], ["show", "a.py:f", "--order", "0"],
                                  ["show", "--traceback"], ["check", "--at"], ["explain"]])
def test_usage_errors_are_one_line_and_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert_one_error_line(code, out, err)
    assert "--help" in err


def test_bare_command_shows_the_commands(capsys):
    code, out, err = run(capsys)
    assert (code, err) == (0, "")
    for command in ("show", "check", "explain", "stages"):
        assert command in out
    assert "example" in out


@pytest.mark.parametrize("argv", [["--help"], ["show", "--help"], ["check", "--help"],
                                  ["explain", "--help"], ["stages", "--help"]])
def test_help_has_an_example(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 0
    assert "example" in out and "s2sgrad " in out


@pytest.mark.parametrize("command", ["check", "explain"])
def test_help_says_the_command_imports_the_file_and_runs_the_function(capsys, command):
    code, out, err = run(capsys, command, "--help")
    text = " ".join(out.split())
    assert "imports FILE.py" in text and "calls FUNC" in text


# -- the entry point -------------------------------------------------------------

def run_module(*argv, cwd):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "s2sgrad", *map(str, argv)],
                          capture_output=True, text=True, cwd=cwd, env=env)


def test_python_m_s2sgrad_show_and_check(functions, tmp_path):
    shown = run_module("show", "functions.py:cubic", cwd=tmp_path)
    assert (shown.returncode, shown.stderr) == (0, "")
    assert shown.stdout.rstrip("\n") == sg.source(load(functions).cubic).rstrip("\n")

    write(tmp_path, "wrong_rule.py", WRONG_RULE)
    checked = run_module("check", "wrong_rule.py:f", "--at", "x=1.5", cwd=tmp_path)
    assert checked.returncode == 1 and "MISMATCH" in checked.stdout


def test_python_m_s2sgrad_bad_input(tmp_path):
    result = run_module("check", "nowhere.py:f", "--at", "x=1.0", cwd=tmp_path)
    assert_one_error_line(result.returncode, result.stdout, result.stderr)


# -- check: what it says about a disagreement ------------------------------------

FUNCTIONS_WITH_EDGES = """
import numpy as np

def empty_sum(x):
    return np.sum(x)

def sqrt_of(x):
    return np.sqrt(x)

def step_up(x):
    if x > 1.0:
        return 2.0 * x
    return x

def smooth(x, y):
    return np.sum(np.sin(x) * y) + np.sum(y ** 3)

def cut(x):
    k = int(np.sum(x))
    return float(k) * 2.0
"""


@pytest.fixture
def edges(tmp_path):
    return write(tmp_path, "edges.py", FUNCTIONS_WITH_EDGES)


def test_check_of_an_empty_array_is_one_line(edges, capsys):
    code, out, err = run(capsys, "check", f"{edges}:empty_sum", "--at", "x=[]")
    assert_one_error_line(code, out, err)
    assert "empty array" in err


def test_check_not_finite_next_to_the_point_does_not_show_the_probe(edges, capsys):
    code, out, err = run(capsys, "check", f"{edges}:sqrt_of", "--at", "x=0.0")
    assert_one_error_line(code, out, err)
    assert "x=0.0" in err and "e-06" not in err and "finite-difference step" in err


def test_check_names_the_entry_and_hints_at_a_jump(edges, capsys):
    code, out, err = run(capsys, "check", f"{edges}:step_up", "--at", "x=1.0")
    assert code == 1
    assert "disagreement at x = 1" in out
    assert "one-sided differences disagree" in out and "jumps" in out
    assert "the two sides of x > 1.0 are 0 apart" in out and "edges.py:11: if x > 1.0:" in out


def test_check_hint_names_the_array_entry(tmp_path, capsys, scratch_registry):
    path = write(tmp_path, "wrong_rule.py", WRONG_RULE)
    code, out, err = run(capsys, "check", f"{path}:f", "--at", "x=1.5")
    assert code == 1 and "disagreement at x = 1.5" in out


def test_taylor_remainder_is_second_order_for_a_right_gradient(edges, capsys):
    code, out, err = run(capsys, "check", f"{edges}:smooth", "--at", "x=[0.3,1.2]", "y=[0.5,-2.0]")
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("Taylor remainder"))
    order = float(line.split("order ")[1].split()[0])
    assert 1.8 < order < 2.2


def test_taylor_remainder_is_first_order_for_a_wrong_gradient(tmp_path, capsys, scratch_registry):
    path = write(tmp_path, "wrong_rule.py", WRONG_RULE)
    code, out, err = run(capsys, "check", f"{path}:f", "--at", "x=1.5")
    line = next(line for line in out.splitlines() if line.startswith("Taylor remainder"))
    order = float(line.split("order ")[1].split()[0])
    assert 0.8 < order < 1.2 and "wrong" in line


# -- explain ------------------------------------------------------------------------

def test_explain_prints_the_report(edges, capsys):
    code, out, err = run(capsys, "explain", f"{edges}:cut", "--at", "x=[0.4,0.9]")
    assert (code, err) == (0, "")
    assert "gradient with respect to x: zero" in out
    line = FUNCTIONS_WITH_EDGES.splitlines().index("    k = int(np.sum(x))") + 1
    assert f"edges.py:{line}: k = int(np.sum(x))" in out and "int()" in out


def test_explain_of_a_fine_gradient(edges, capsys):
    code, out, err = run(capsys, "explain", f"{edges}:smooth", "--at", "x=[0.3]", "y=[0.5]",
                         "--wrt", "x")
    assert code == 0 and "gradient with respect to x: fine" in out


@pytest.mark.parametrize("argv", [
    ["explain", "{edges}:cut", "--at", "x=1"],
    ["explain", "{edges}:cut", "--at", "z=1.0"],
    ["explain", "{edges}:sqrt_of", "--at", "x=-1.0"],
    ["explain", "{dir}/nowhere.py:f", "--at", "x=1.0"],
])
def test_explain_bad_input_is_one_line(edges, tmp_path, capsys, argv):
    argv = [arg.format(edges=edges, dir=tmp_path) for arg in argv]
    assert_one_error_line(*run(capsys, *argv))


# -- colour -----------------------------------------------------------------------

def run_on_terminal(argv, cwd, **environment):
    """``python -m s2sgrad argv`` with a pseudo-terminal as its stdout: its output."""
    import pty

    env = dict(os.environ, TERM="xterm")
    env.pop("NO_COLOR", None)
    env.update(environment)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), env.get("PYTHONPATH")]))
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "s2sgrad", *argv], stdout=follower,
                               stderr=subprocess.PIPE, cwd=cwd, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    process.wait(timeout=60)
    return b"".join(chunks).decode()


def test_show_is_coloured_on_a_terminal(functions, tmp_path):
    out = run_on_terminal(["show", "functions.py:cubic"], tmp_path)
    assert "\x1b[" in out
    plain = re.sub("\x1b\\[[0-9;]*m", "", out).replace("\r\n", "\n")
    assert plain.rstrip("\n") == sg.source(load(functions).cubic).rstrip("\n")


def test_no_color_turns_the_colour_off(functions, tmp_path):
    out = run_on_terminal(["show", "functions.py:cubic"], tmp_path, NO_COLOR="1")
    assert "\x1b[" not in out and "def grad_cubic" in out


def test_piped_output_is_plain(functions, tmp_path):
    shown = run_module("show", "functions.py:cubic", cwd=tmp_path)
    assert "\x1b[" not in shown.stdout and "def grad_cubic" in shown.stdout


def test_the_highlighter_only_adds_colour():
    from s2sgrad import highlight

    source = sg.source(load_source_of_cubic())
    coloured = highlight.highlight(source)
    assert coloured != source
    assert re.sub("\x1b\\[[0-9;]*m", "", coloured) == source
    assert highlight.highlight("def broken(:\n") == "def broken(:\n"


def load_source_of_cubic():
    def cubic(x):
        return x ** 3 - 2.0 * x  # a comment

    return cubic
