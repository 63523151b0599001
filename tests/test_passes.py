"""The pipeline as one table of named passes: the driver, the grammar checks
after every pass (S2SGRAD_CHECK), the pass name on errors, and the CLI's
``stages`` and ``show --stage``."""

import ast
import importlib
import textwrap

import numpy as np
import pytest

import s2sgrad as sg
import s2sgrad.tf as tf
from s2sgrad import cli, pipeline
from s2sgrad.codegen import cache
from s2sgrad.ir import grammar
from s2sgrad.tape import compiled
from tests import conftest
from tests.transform import cases

#: straight-line code, branches, loops (stack and recomputed), calls inlined
#: and left calls, nested defs, array writes
FUNCTIONS = [cases.quadratic, cases.elementwise_chain, cases.branches, cases.rnn,
             cases.rnn_calls, cases.scalar_loop_break, cases.while_continue,
             cases.data_dependent_while, cases.nested_def, cases.subscript_updates,
             cases.branch_in_loop_in_call, cases.uses_global]
#: what a second derivative reads again (straight-line, branches, a call)
SECOND_ORDER = [cases.quadratic, cases.elementwise_chain, cases.branches]
#: (the package's attribute ``function`` is the decorator, not the module)
tf_function = importlib.import_module("s2sgrad.tf.function")


def _representative_workload():
    """Generate code for every kind of program the pipeline sees."""
    for function in FUNCTIONS:
        sg.source(function)
    for function in SECOND_ORDER:
        sg.source(function, order=2)
    sg.source(cases.rnn, wrt=(0, 1))
    sg.value_and_grad(cases.branches)
    x = sg.Variable(np.array([1.0, 2.0]))
    w = sg.Variable(np.array([[0.5, 1.0], [2.0, 3.0]]))
    for _ in range(3):  # compiled on its second recording
        with sg.GradientTape() as tape:
            y = np.sum(np.tanh(w @ x) ** 2) + np.sum(x * 3.0)
        tape.gradient(y, [x, w])

    @tf.function
    def step(a, b):
        with tf.GradientTape() as t:
            t.watch(a)
            loss = tf.reduce_sum(a * b + tf.sin(a))
        return t.gradient(loss, a)

    for _ in range(2):
        step(tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0]))


def _fresh_caches():
    cache.clear()
    tf_function._conversions.clear()
    compiled._cache.clear()
    compiled._last[0] = None


def _generated_sources(monkeypatch, check):
    """Every source the driver emits for the workload, with checking on or off."""
    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "1" if check else "0")
    monkeypatch.setenv("S2SGRAD_CACHE", "0")  # (every entry generated, none read from disk)
    sources = []
    driver = pipeline.run

    def recording_run(g, start, stop=None):
        sources.append((start, driver(g, start, stop).source))
        return g

    monkeypatch.setattr(pipeline, "run", recording_run)
    _fresh_caches()
    _representative_workload()
    monkeypatch.setattr(pipeline, "run", driver)
    return sources


def test_checking_changes_no_output(monkeypatch):
    unchecked = _generated_sources(monkeypatch, check=False)
    checked = _generated_sources(monkeypatch, check=True)
    assert checked == unchecked
    entries = {start for start, _ in checked}
    assert entries == {"parse", "normalise", "shapes"}, "source, tf.function and tape entries"
    _fresh_caches()


def test_checking_off_runs_no_checker(monkeypatch):
    def refuse(*args):
        raise AssertionError("the checker ran")

    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "0")
    monkeypatch.setattr(grammar, "check", refuse)
    g = pipeline.program_after(cases.branches, 0, "compile")
    assert g.source == sg.source(cases.branches)


def test_checking_reads_the_environment_once_per_generation(monkeypatch):
    reads = []
    monkeypatch.setattr(pipeline, "checking", lambda: reads.append(1) or True)
    pipeline.program_after(cases.rnn, 0, "compile")
    assert reads == [1]


def test_the_checker_names_the_pass_the_rule_and_the_line(monkeypatch):
    def broken_cse(g):
        """Puts a nested expression back."""
        g.program.body.insert(0, ast.parse("y = np.sin(x * 2.0)").body[0])

    passes = tuple(pipeline.Pass("cse", broken_cse, "normal") if p.name == "cse" else p
                   for p in pipeline.PASSES)
    monkeypatch.setattr(pipeline, "PASSES", passes)
    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "1")
    with pytest.raises(grammar.IRCheckError) as info:
        pipeline.program_after(cases.quadratic, 0, "compile")
    del conftest._violations[:]  # (the violation this test provoked)
    error = info.value
    assert error.pass_name == "cse" and error.stage == "normal"
    assert "func(atom*, kw=atom*)" in str(error) and "y = np.sin(x * 2.0)" in str(error)


def test_a_grammar_violation_is_never_taken_for_a_refusal(monkeypatch):
    """The tape turns a refusal (an S2SGradError) into its interpreter; a
    broken pass is a bug in s2sgrad and must surface, with the check on,
    wherever the pipeline runs, not be hidden by that fallback."""
    import numpy as np

    import s2sgrad as sg
    from s2sgrad.errors import S2SGradError

    assert not issubclass(grammar.IRCheckError, S2SGradError)

    dce = next(p for p in pipeline.PASSES if p.name == "dce")

    def broken_dce(g):
        dce.run(g)
        g.program.body.insert(0, ast.parse("del y").body[0])

    passes = tuple(pipeline.Pass("dce", broken_dce, "adjoint") if p is dce else p
                   for p in pipeline.PASSES)
    monkeypatch.setattr(pipeline, "PASSES", passes)
    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "1")
    x = sg.Variable(np.array([0.3, 0.7]))
    with pytest.raises(grammar.IRCheckError):
        with sg.GradientTape() as tape:
            y = np.sum(np.sin(x) * x)
        tape.gradient(y, x)
    del conftest._violations[:]  # (the violation this test provoked)


@pytest.mark.parametrize("source, stage, rule", [
    ("def f(x):\n    return x\n    y = x\n", "normal", "the last statement is return atom"),
    ("def f(x):\n    if x > 0:\n        y = x\n    return x\n", "normal", "if atom"),
    ("def f(x):\n    for i in range(3):\n        y = x\n    return x\n", "normal",
     "for Name in atom"),
    ("def f(x):\n    break\n    return x\n", "normal", "inside a loop"),
    ("def f(x):\n    del x\n    return 1.0\n", "adjoint", "only the free pass deletes"),
    ("def f(x):\n    y = [v for v in x]\n    return y\n", "adjoint", "no ListComp"),
    ("def f(x):\n    x.a = 1\n    return x\n", "adjoint", "one target"),
    ("def f(x):\n    return (1.0)[0] * x\n", "adjoint", "no subscript of a constant"),
])
def test_the_grammar_rejects(source, stage, rule):
    with pytest.raises(grammar.IRCheckError, match=rule.replace("(", r"\(").replace("*", r"\*")):
        grammar.check(ast.parse(source).body[0], stage)


def test_nested_defs_are_kept_verbatim_by_the_grammar():
    tree = ast.parse("def f(x):\n    def g(v):\n        return [w for w in v]\n"
                     "    y = g(x)\n    return y\n").body[0]
    grammar.check(tree, "normal")
    grammar.check(tree, "adjoint")


def test_every_pass_output_meets_its_grammar():
    for function in FUNCTIONS:
        for p in pipeline.PASSES:
            g = pipeline.program_after(function, 0, p.name, mode=p.mode or "reverse")
            grammar.check(g.output(p.stage), p.stage)


def test_one_table_drives_every_entry():
    names = [p.name for p in pipeline.PASSES]
    assert names[0] == "parse" and names[-1] == "compile"
    assert len(set(names)) == len(names)
    assert {p.stage for p in pipeline.PASSES} == set(grammar.STAGES)


def test_a_refusal_carries_its_pass_and_the_users_line():
    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        sg.grad(_uses_with)
    error = info.value
    assert error.pass_name == "normalise"
    assert f"{__file__}:{_uses_with.__code__.co_firstlineno + 1}" in str(error)
    assert "(normalise)" not in str(error) and "normalise" not in str(error)


def _uses_with(x):
    with open("f") as fh:
        return x * len(fh.read())


def test_a_refusal_in_reverse_mode_carries_its_pass():
    def shares_then_writes(x):
        y = np.zeros(3)
        z = y
        y[0] = x
        return np.sum(z)

    with pytest.raises(sg.UnsupportedSyntaxError) as info:
        sg.grad(shares_then_writes)(1.0)
    assert info.value.pass_name in ("normalise", "differentiate")
    assert "(differentiate)" not in str(info.value)


def test_an_undefined_name_is_typed_and_deferred():
    def calls_later(x):
        return defined_below(x) * 2.0  # noqa: F821

    gradient = sg.grad(calls_later)  # no error yet: the name may be defined later
    with pytest.raises(sg.errors.UndefinedNameError):
        gradient(1.0)


# ---------------------------------------------------------------- the CLI
def test_stages_prints_the_passes_in_order(capsys):
    assert cli.main(["stages"]) == 0
    assert capsys.readouterr().out.splitlines() == list(pipeline.PASS_NAMES)


@pytest.fixture
def quadratic_file(tmp_path):
    path = tmp_path / "funcs.py"
    path.write_text(textwrap.dedent("""\
        import numpy as np

        def f(x, a):
            y = a * x ** 2
            if x > 0:
                y = y + np.sin(x)
            return y
    """))
    return f"{path}:f"


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("stage", pipeline.PASS_NAMES)
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_show_prints_the_program_after_every_pass(quadratic_file, capsys, stage, order, mode):
    own = pipeline.PASSES[pipeline.PASS_NAMES.index(stage)].mode
    if own not in (None, mode):
        return  # (refused: see test_cli)
    assert cli.main(["show", quadratic_file, "--order", str(order), "--stage", stage,
                     "--mode", mode]) == 0
    out = capsys.readouterr().out
    tree = ast.parse(out)  # readable Python (comments at most)
    (function,) = [s for s in tree.body if isinstance(s, ast.FunctionDef)]
    prefix = "grad_" if mode == "reverse" else "jvp_"
    if stage == "parse":
        assert function.name == ("f" if order == 1 else "grad_f")
    elif pipeline.PASS_NAMES.index(stage) >= pipeline.PASS_NAMES.index("differentiate"):
        assert function.name == (prefix + "f" if order == 1 else prefix + "grad_f")


@pytest.mark.parametrize("order", [1, 2])
def test_show_after_the_last_passes_is_the_generated_source(quadratic_file, capsys, order):
    assert cli.main(["show", quadratic_file, "--order", str(order)]) == 0
    full = capsys.readouterr().out
    assert cli.main(["show", quadratic_file, "--order", str(order), "--stage", "emit"]) == 0
    assert capsys.readouterr().out == full
    assert cli.main(["show", quadratic_file, "--order", str(order), "--stage", "compile"]) == 0
    compiled_listing = capsys.readouterr().out
    assert compiled_listing.startswith("# compiled as <s2sgrad ")
    assert compiled_listing.split("\n", 1)[1] == full


def test_show_after_normalise_is_normal_form(quadratic_file, capsys):
    assert cli.main(["show", quadratic_file, "--stage", "normalise"]) == 0
    grammar.check(ast.parse(capsys.readouterr().out).body[0], "normal")


def test_show_an_unknown_stage_is_one_line_and_exit_2(quadratic_file, capsys):
    assert cli.main(["show", quadratic_file, "--stage", "optimize"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert "optimize" in line and ", ".join(pipeline.PASS_NAMES) in line


def _returns_a_tuple(x):
    return (3.0 * x,)


def test_a_tuple_result_is_refused_without_subscripting_the_seed(monkeypatch):
    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "1")
    gradient = sg.grad(_returns_a_tuple)  # (no grammar violation: the seed is not indexed)
    with pytest.raises(ValueError, match="real scalar"):
        gradient(2.0)
