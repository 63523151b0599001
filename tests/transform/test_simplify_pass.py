"""Algebraic simplification is a pass of its own (``simplify``, after
``differentiate``): reverse mode emits rule templates as instantiated and
records them; the pass simplifies exactly those, never the user's primal
expressions (whose operands may be integers)."""

import numpy as np

import s2sgrad as sg
from s2sgrad import pipeline
from tests.fd import assert_grad_close
from tests.transform import cases


def _text(function, stop):
    return pipeline.listing(pipeline.program_after(function, 0, stop), stop)


def test_differentiate_emits_templates_as_instantiated():
    text = _text(cases.quadratic, "differentiate")
    assert "2 - 1" in text and "1.0 * b" in text


def test_the_simplify_pass_folds_them():
    text = _text(cases.quadratic, "simplify")
    assert "2 - 1" not in text and "1.0 *" not in text
    assert "dx = b + a * 2 * x" in text


def integer_identities(x, n):
    k = n * 1 + 0
    return np.sum(x ** 2) * k


def test_primal_expressions_are_not_simplified():
    # (n * 1 + 0 is an int for an int n; the pass must not touch the primal)
    text = _text(integer_identities, "simplify")
    assert "n * 1" in text and "_t1 + 0" in text


def test_the_gradient_through_it_is_right():
    x = np.array([0.5, -1.5, 2.0])
    assert_grad_close(sg.grad(integer_identities)(x, 3), integer_identities, (x, 3))


def test_second_order_reads_the_simplified_code():
    source = sg.source(cases.quadratic, order=2)
    assert "2 - 1" not in source and "(2 == 0)" not in source
