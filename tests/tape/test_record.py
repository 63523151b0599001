"""The recorded program: record format, structural keys, the backward pass."""

import operator

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.primitives.registry import lookup
from s2sgrad.tape.compiled import _key_and_values, rewind


def structural_key(records, seeds=(), wanted=()):
    """The key the compiled gradients are cached under."""
    return _key_and_values(records, seeds, wanted)[0]


def record(x_value, c=2.0):
    x = sg.Variable(x_value)
    with sg.GradientTape(persistent=True) as tape:
        y = np.sum(np.sin(x) * c + x**2)
    return tape, x, y


def test_records_form_a_wengert_list():
    tape, x, y = record(np.array([1.0, 2.0]))
    prims = [r.prim for r in tape._records]
    assert prims == [np.sin, operator.mul, operator.pow, operator.add, np.sum]
    sin_rec, mul_rec, pow_rec = tape._records[:3]
    snapshot = sin_rec.args[0]
    assert snapshot is not x and snapshot is pow_rec.args[0]  # the variable's read
    assert mul_rec.args[0] is sin_rec.out and mul_rec.args[1] == 2.0
    assert pow_rec.needs == (True, False)
    assert tape._records[-1].out is y
    assert sin_rec.vals[0] is snapshot._value


def test_structural_key_ignores_values_but_not_structure():
    k1 = structural_key(record(np.array([1.0, 2.0]))[0]._records)
    k2 = structural_key(record(np.array([5.0, -3.0]))[0]._records)
    k3 = structural_key(record(np.array([1.0, 2.0, 3.0]))[0]._records)
    k4 = structural_key(record(np.array([1.0, 2.0], dtype=np.float32))[0]._records)
    k5 = structural_key(record(np.array([1.0, 2.0]), c=3.0)[0]._records)
    assert k1 == k2 and hash(k1) == hash(k2)
    assert k1 != k3 and k1 != k4 and k1 != k5


def test_structural_key_is_hashable_with_slices_and_params():
    x = sg.Variable(np.ones((3, 4)))
    with sg.GradientTape() as tape:
        y = np.sum(x[1:, ::2], axis=0, keepdims=True)
    key = structural_key(tape._records, [(y, None)], [id(x._snap)])
    hash(key)


def test_rewind_returns_cotangents_of_wanted_nodes():
    tape, x, y = record(np.array([1.0, 2.0]))
    snap = tape._records[0].args[0]
    ct = rewind(tape._records, [(y, 1.0)], [id(snap)])
    np.testing.assert_allclose(ct[id(snap)], 2.0 * np.cos([1.0, 2.0]) + 2 * np.array([1.0, 2.0]))
    assert rewind(tape._records, [], [id(snap)]) == {}


def test_constant_exponent_at_zero_gives_no_warning(recwarn):
    x = sg.Variable(0.0)
    with sg.GradientTape() as tape:
        y = x**2 + 3 * x
    assert float(tape.gradient(y, x)) == 3.0
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_a_tensor_passed_by_keyword_is_an_input():
    """np.average(x, weights=w) and np.clip(x, a_min=m) record w and m as
    inputs (by keyword they were taken for constants: a wrong gradient)."""
    from tests.tape.helpers import assert_tape_grad

    x = np.array([[0.5, -0.3, 1.2], [0.1, 0.9, -1.1]])
    assert_tape_grad(lambda x: np.average(x, weights=x ** 2), (x,))
    assert_tape_grad(lambda x: np.sum(np.clip(x, a_min=x[0] * 0.5, a_max=None) ** 2), (x,))
    assert_tape_grad(lambda x: np.sum(np.average(x, axis=1, weights=x[0] ** 2) ** 3), (x,))


@pytest.mark.parametrize("nested", [False, True])
def test_an_operand_that_is_a_list_of_numbers_is_a_constant_array(nested):
    """``x * [2.0, 3.0]`` is NumPy's ``x * np.array([2.0, 3.0])`` (the generated
    adjoint once wrote the list itself, and failed to multiply by it)."""
    import contextlib

    x = sg.Variable(np.array([0.5, -1.0]))
    outer = sg.GradientTape()
    with outer if nested else contextlib.nullcontext():
        with sg.GradientTape() as tape:
            y = np.sum((x * [2.0, 3.0]) ** 2 + (1.0, 4.0) / x - [1.0, 1.0] @ x)
        g = tape.gradient(y, x)
        total = np.sum(g)
    if nested:
        h = outer.gradient(total, x)
        np.testing.assert_allclose(h.numpy(), 2 * np.array([4.0, 9.0]) + 2 * np.array([1.0, 4.0]) / x.numpy() ** 3)
    # (the scalar [1, 1] @ x is broadcast over both entries of the sum: -2 each)
    expected = 2 * np.array([4.0, 9.0]) * x.numpy() - np.array([1.0, 4.0]) / x.numpy() ** 2 - 2
    np.testing.assert_allclose(g.numpy(), expected)
