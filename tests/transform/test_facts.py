"""Analyses keep their facts in the side tables of s2sgrad.ir.facts: after
every pass, no node of the program carries anything but its ast fields and
line numbers."""

import ast
import inspect

import pytest

import s2sgrad as sg
from s2sgrad.codegen import cache
from s2sgrad.ir import grammar
from s2sgrad.ir.facts import NodeTable
from tests.transform import cases, cases_loops

FUNCTIONS = [pytest.param(f, id=f.__name__)
             for f in dict.fromkeys(
                 f for module in (cases, cases_loops)
                 for _, f in inspect.getmembers(module, inspect.isfunction)
                 if f.__module__ == module.__name__ and f.__code__.co_argcount)]


def foreign_attributes(program):
    """(node type, attribute) for every attribute of a node of ``program``
    that is neither one of its ast fields nor a location."""
    found = set()
    for node in ast.walk(program):
        allowed = set(node._fields) | set(node._attributes)
        found |= {(type(node).__name__, name) for name in vars(node) if name not in allowed}
    return found


@pytest.fixture
def programs(monkeypatch):
    """(pass, foreign attributes) of every AST program a pass produces while
    the test runs, found as the pass hands it on."""
    seen = []
    check = grammar.check

    def recording(program, stage, pass_name="?"):
        if isinstance(program, ast.AST):
            seen.append((pass_name, foreign_attributes(program)))
        return check(program, stage, pass_name)

    monkeypatch.setattr(grammar, "check", recording)
    return seen


@pytest.mark.parametrize("f", FUNCTIONS)
def test_no_pass_leaves_attributes_on_nodes(f, programs, monkeypatch):
    monkeypatch.setenv("S2SGRAD_CHECK", "1")
    monkeypatch.setenv("S2SGRAD_CACHE", "0")  # (nor read from the disk cache)
    cache.clear()  # (generated earlier in the run, the passes would not run again)
    try:
        sg.source(f)
    except sg.UnsupportedSyntaxError:
        pass  # the passes that ran are checked all the same
    assert programs, "no pass output was checked"
    for pass_name, found in programs:
        assert not found, pass_name


def test_a_node_table_holds_facts_by_identity():
    first, second = ast.Name("x", ast.Load()), ast.Name("x", ast.Load())
    table = NodeTable()
    table[first] = "fact"
    assert first in table and second not in table
    assert table.get(first) == "fact" and table.get(second, "none") == "none"
