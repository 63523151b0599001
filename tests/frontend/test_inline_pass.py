"""Inlining is a pass of its own: ``normalise`` normalises each callee it
may inline where it meets the call and leaves the call in the program;
``inline`` splices the callee's normal form there (grammar stage
``inlined``)."""

import ast

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad import pipeline
from s2sgrad.ir import grammar
from tests.fd import assert_grad_close
from tests.transform import cases


def _listing(function, stop):
    return pipeline.listing(pipeline.program_after(function, 0, stop), stop)


def test_normalise_leaves_the_call_and_inline_splices_the_callee():
    normal = _listing(cases.rnn_calls, "normalise")
    inlined = _listing(cases.rnn_calls, "inline")
    assert "cell(h, _t4, W, U)" in normal
    assert "cell(" not in inlined
    # the callee's operation is assigned to the caller's name itself
    assert "h = np.tanh(_t7)" in inlined and "result_1" not in inlined


def test_the_stage_after_normalise_is_still_a_program_of_calls():
    g = pipeline.program_after(cases.rnn_calls, 0, "normalise")
    grammar.check(g.program, "normal")
    assert any(isinstance(n, ast.Call) and ast.unparse(n.func) == "cell"
               for n in ast.walk(g.program))


def test_the_inlined_grammar_refuses_a_nested_def_nothing_refers_to():
    tree = ast.parse("def f(x):\n    def g(v):\n        return v\n    return x").body[0]
    grammar.check(tree, "normal")  # (normalise may leave it: its calls are spliced later)
    with pytest.raises(grammar.IRCheckError, match="no nested def that nothing refers to"):
        grammar.check(tree, "inlined")


def helper_sum(v):
    return np.sum(v * v)


def announce(v):
    return print("value", v)


def calls_for_effect(x):
    announce(x)
    helper_sum(x)  # (its value unused: its last operation stays a call statement)
    return helper_sum(x * 2.0)


def test_a_call_kept_for_its_effect_keeps_the_effect(capsys):
    x = np.array([1.0, 2.0])
    got = sg.grad(calls_for_effect)(x)
    assert "value" in capsys.readouterr().out
    assert_grad_close(got, calls_for_effect, (x,))
    code = [line for line in sg.source(calls_for_effect).splitlines()
            if not line.strip().startswith("#")]
    assert any("print('value', x)" in line for line in code)
    assert not any("announce(" in line or "helper_sum(" in line for line in code)


def nested(x):
    def inner(v):
        return np.sin(v) * x

    return np.sum(inner(x) + inner(x * 2.0))


def test_nested_defs_whose_calls_were_inlined_are_gone():
    assert "def inner" in _listing(nested, "normalise")
    assert "def inner" not in _listing(nested, "inline")
    x = np.array([0.3, -0.7])
    assert_grad_close(sg.grad(nested)(x), nested, (x,))


def test_show_prints_the_inline_stage_at_order_two(tmp_path, capsys):
    from s2sgrad import cli

    path = tmp_path / "calls.py"
    path.write_text("import numpy as np\n\n\ndef cell(h, x):\n    return np.tanh(h * x)\n\n\n"
                    "def f(x):\n    return cell(x, 2.0) * x\n")
    assert cli.main(["show", f"{path}:f", "--order", "2", "--stage", "inline"]) == 0
    out = capsys.readouterr().out
    assert "def grad_f" in out and "cell(" not in out
