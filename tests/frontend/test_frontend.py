"""Parse and normalise: name resolution and the normal-form grammar."""

import ast
import math

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.frontend.normalise import normalise
from s2sgrad.ir.grammar import IRCheckError, check
from s2sgrad.frontend.parse import LOCAL, UNRESOLVED, parse_function
from tests.transform import cases


def test_names_resolve_to_objects_whatever_their_spelling():
    parsed = parse_function(cases.aliased_numpy)
    body = ast.unparse(parsed.tree)
    assert "numpy_sine" in body
    assert parsed.resolve(ast.Name("numpy_sine")) is np.sin
    assert parsed.resolve(ast.parse("numpy.cos", mode="eval").body) is np.cos
    assert parsed.resolve(ast.Name("x")) is LOCAL
    assert parsed.resolve(ast.Name("no_such_name")) is UNRESOLVED
    assert parse_function(cases.math_functions).resolve(ast.parse("math.exp", mode="eval").body) is math.exp


def test_closure_cells_and_decorators():
    closure = cases.make_closure(np.ones(2))
    parsed = parse_function(closure)
    assert parsed.resolve(ast.Name("w")) is closure.__closure__[0].cell_contents

    @sg.grad
    def decorated(x):
        return x * x

    assert decorated(3.0) == pytest.approx(6.0)


def test_line_numbers_are_the_users():
    parsed = parse_function(cases.branches)
    assert parsed.tree.lineno == cases.branches.__code__.co_firstlineno


@pytest.mark.parametrize("function", [
    cases.quadratic, cases.reassigned, cases.branches, cases.augmented, cases.tuple_unpacking,
    cases.rnn, cases.scalar_loop_break, cases.while_continue, cases.iterate_sequences,
    cases.nested_loops_break, cases.nested_def, cases.subscript_updates, cases.data_dependent_while,
])
def test_normal_form_grammar_holds(function):
    tree, _ = normalise(parse_function(function))
    check(tree, "normal")


def test_reassignment_outside_loops_gets_new_versions():
    tree, _ = normalise(parse_function(cases.reassigned))
    targets = [s.targets[0].id for s in tree.body if isinstance(s, ast.Assign)]
    assert len(targets) == len(set(targets)), "single assignment outside loops"
    assert {"h", "h_1", "h_2"} <= set(targets)


def test_early_returns_become_one_return():
    tree, _ = normalise(parse_function(cases.branches))
    returns = [n for n in ast.walk(tree) if isinstance(n, ast.Return)]
    assert len(returns) == 1 and tree.body[-1] is returns[0]


def test_checker_rejects_nested_expressions():
    tree = ast.parse("def f(x):\n    y = np.sin(x * 2)\n    return y\n").body[0]
    with pytest.raises(IRCheckError, match=r"func\(atom\*"):
        check(tree, "normal")
