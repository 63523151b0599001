"""A rule's ``def`` is read from the lines of its source alone (found by
indentation, not through ``inspect``): the node must be the one a parse of
the whole file gives, whatever the layout of the rule, and the gradient made
from it right."""

import ast
import importlib
import sys
import textwrap

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.primitives import registry
from s2sgrad.transform import templates

RULES = '''
import numpy as np
import s2sgrad as sg


def cube(x):
    return x ** 3


def scaled(x):
    return 4.0 * x


def shifted(x):
    return x + 1.0


@sg.defgrad(
    cube)
def cube_rule(g, ans, x):
# a comment at the left margin inside the body
    square = x * x
    return (3.0 * g * square,)


def make():
    @sg.defgrad(scaled)
    def scaled_rule(g, ans, x):
        """A docstring
with a line at the left margin."""
        return (4.0 * g,)
    return scaled_rule


scaled_rule = make()


@sg.defgrad(shifted)
def shifted_rule(g, ans, x):
    return (g *
1.0,)
'''


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    where = tmp_path_factory.mktemp("rules")
    (where / "layout_rules.py").write_text(RULES)
    sys.path.insert(0, str(where))
    try:
        module = importlib.import_module("layout_rules")
    finally:
        sys.path.remove(str(where))
    yield module
    for primitive in (module.cube, module.scaled, module.shifted):
        registry._RECORDS.pop(id(primitive), None)
    registry._bump()


def whole_file_node(fn):
    """The rule's FunctionDef in a parse of its whole file (another way)."""
    tree = ast.parse(open(fn.__code__.co_filename).read())
    (node,) = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)
               and n.name == fn.__name__]
    return node


@pytest.mark.parametrize("name", ["cube_rule", "scaled_rule", "shifted_rule"])
def test_the_rule_node_is_the_one_of_the_whole_file(rules, name):
    fn = getattr(rules, name)
    node = templates._function_node(fn)
    expected = whole_file_node(fn)
    assert ast.dump(node) == ast.dump(expected)


def test_gradients_through_those_rules(rules):
    x = np.array([0.5, -1.5])

    def f(x):
        return np.sum(rules.cube(x) + rules.scaled(x) * rules.shifted(x))

    expected = 3.0 * x ** 2 + 4.0 * (x + 1.0) + 4.0 * x
    np.testing.assert_allclose(sg.grad(f)(x), expected)


def test_a_block_without_a_def_is_empty():
    lines = textwrap.dedent("""\
        @decorator
        x = 1
    """).splitlines(True)
    assert templates._indented_block(lines, 0) == ""
    assert templates._indented_block(lines, 5) == ""
