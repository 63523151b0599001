"""The side tables of facts the passes declare (``Pass(makes=, reads=,
invalidates=)``): the shape analysis reads a program once per generation,
the driver refuses a pass whose facts are missing, and with checking on it
catches a pass that changed what kept facts describe. Also: the parser
finds a function's source from the lines its code spans, the same text
``inspect`` finds."""

import ast
import inspect
import textwrap

import pytest

from s2sgrad import pipeline
from s2sgrad.errors import InternalError
from s2sgrad.frontend import parse
from s2sgrad.transform import shapes
from tests.transform import cases


def _with_pass_after(monkeypatch, after, new):
    passes = []
    for p in pipeline.PASSES:
        passes.append(p)
        if p.name == after:
            passes.append(new)
    monkeypatch.setattr(pipeline, "PASSES", tuple(passes))
    monkeypatch.setattr(pipeline, "PASS_NAMES", tuple(p.name for p in passes))


def _adds_a_value(g):
    """A normal-form rewrite after ``shapes``: one more value, one more class."""
    g.program.body.insert(0, ast.parse("extra = x * 2.0").body[0])


@pytest.mark.parametrize("function", [cases.quadratic, cases.branches, cases.rnn,
                                      cases.elementwise_chain])
def test_the_shapes_pass_reads_the_program_once(function, monkeypatch):
    reads = []
    original = shapes.ShapeClasses.equations

    def counting(self, fn):
        reads.append(fn)
        return original(self, fn)

    monkeypatch.setattr(shapes.ShapeClasses, "equations", counting)
    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "0")
    g = pipeline.program_after(function, 0, "compile")
    assert len(reads) == 1
    assert g.facts.proven is not g.facts.assumed  # two readings of one reading


def test_solving_does_not_change_the_reading():
    g = pipeline.program_after(cases.elementwise_chain, 0, "cse")
    equations = shapes.ShapeClasses(g.context.resolve).equations(g.program)
    before = equations.partition()
    scalar = equations.solve(result_is_scalar=True)
    assert equations.partition() == before
    assert scalar.partition() != before  # the assumption made a difference
    assert scalar.of(g.program.body[-1].value.id) == shapes.SCALAR


def test_a_pass_reading_facts_no_pass_made_is_an_internal_error(monkeypatch):
    passes = tuple(p for p in pipeline.PASSES if p.name != "shapes")
    monkeypatch.setattr(pipeline, "PASSES", passes)
    monkeypatch.setattr(pipeline, "PASS_NAMES", tuple(p.name for p in passes))
    with pytest.raises(InternalError, match="'differentiate' reads the shapes facts"):
        pipeline.program_after(cases.quadratic, 0, "compile")


def test_facts_a_pass_invalidates_are_dropped(monkeypatch):
    _with_pass_after(monkeypatch, "shapes",
                     pipeline.Pass("rewrite", _adds_a_value, "normal", invalidates=("shapes",)))
    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "0")
    with pytest.raises(InternalError, match="reads the shapes facts"):
        pipeline.program_after(cases.quadratic, 0, "compile")


def test_checking_catches_facts_kept_across_a_change(monkeypatch):
    _with_pass_after(monkeypatch, "shapes", pipeline.Pass("rewrite", _adds_a_value, "normal"))
    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "1")
    with pytest.raises(InternalError, match="'rewrite' changed what the shape facts describe"):
        pipeline.program_after(cases.quadratic, 0, "compile")
    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "0")  # (unchecked, the driver trusts it)
    pipeline.program_after(cases.quadratic, 0, "compile")


def test_a_pass_keeping_facts_it_did_not_change_passes_the_check(monkeypatch):
    _with_pass_after(monkeypatch, "shapes", pipeline.Pass("nothing", lambda g: None, "normal"))
    monkeypatch.setenv(pipeline.CHECK_VARIABLE, "1")
    assert pipeline.program_after(cases.branches, 0, "compile").code is not None


def _decorated(f):
    return f


@_decorated
def decorated(x):
    return x * 2.0


def with_nested_def_last(x):
    y = x * 3.0

    def inner(v):
        return v + (
            y)
    return inner(x)


class Holder:
    def method(self, x):
        """A docstring."""
        return (x
                + 1.0)


@pytest.mark.parametrize("function", [cases.quadratic, cases.rnn_calls, cases.branches,
                                      decorated, with_nested_def_last, Holder.method])
def test_the_source_from_the_lines_the_code_spans_is_inspects(function):
    text, first, _ = parse._code_source(function)
    lines, inspect_first = inspect.getsourcelines(function.__code__)
    assert first == inspect_first
    assert ast.dump(ast.parse(text)) == ast.dump(ast.parse(textwrap.dedent("".join(lines))))


def test_a_lambda_is_left_to_inspect():
    assert parse._code_source(lambda x: x * 2.0) is None


def unreachable_end(x):
    while True:
        return x * 2.0
    y = x * 3.0  # noqa: F841 (dropped by the compiler: no line of the code spans it)
    return y


def test_code_the_compiler_dropped_at_the_end_is_read_from_the_block():
    import s2sgrad as sg

    parsed = parse.parse_function(unreachable_end)
    assert "y = x * 3.0" in ast.unparse(parsed.tree)
    assert sg.grad(unreachable_end)(1.5) == 2.0


@pytest.mark.parametrize("function", [cases.rnn_calls, cases.branches, cases.softmax_cross_entropy])
def test_the_fast_walk_finds_what_ast_walk_finds_but_contexts(function):
    from s2sgrad.ir.nodes import walk

    tree = parse.parse_function(function).tree
    expected = [n for n in ast.walk(tree) if not isinstance(n, ast.expr_context)]
    found = walk(tree)
    assert found[0] is tree
    assert sorted(map(id, found)) == sorted(map(id, expected))


def test_fact_records_are_typed_values():
    from s2sgrad.ir.facts import GradientFacts, NodeTable, SavedSlot, SharedArrayCheck

    assert SavedSlot("_t1") == SavedSlot(name="_t1") != SavedSlot("_t2")
    assert len({SavedSlot("_t1"), SavedSlot("_t1")}) == 1
    with pytest.raises(AttributeError):
        SavedSlot("_t1").name = "_t2"
    with pytest.raises(TypeError, match="missing field 'in_loop'"):
        SharedArrayCheck(frozenset())
    first, second = GradientFacts(), GradientFacts()
    assert isinstance(first.algebra, NodeTable) and first.algebra is not second.algebra
    first.small_values = ("x_shape",)  # (not frozen)
    assert "small_values=('x_shape',)" in repr(first)
