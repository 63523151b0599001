"""The examples in the public functions' docstrings run and print what they say."""

import doctest
import inspect

import pytest

import s2sgrad as sg

PUBLIC = sorted(name for name in sg.__all__ if callable(getattr(sg, name)) or name == "optimizers")


def _examples(name):
    obj = getattr(sg, name)
    finder = doctest.DocTestFinder(recurse=False)
    module = inspect.getmodule(obj)
    return [t for t in finder.find(obj, name, module=module, globs={}) if t.examples]


@pytest.mark.parametrize("name", [n for n in PUBLIC if n not in
                                  ("S2SGradError", "S2SGradWarning", "UnsupportedSyntaxError",
                                   "Tensor", "UnconnectedGradients", "optimizers")])
def test_public_function_has_an_example_that_runs(name):
    tests = _examples(name)
    assert tests, f"sg.{name} has no example in its docstring"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    assert runner.failures == 0, f"the example of sg.{name} does not print what it shows"
