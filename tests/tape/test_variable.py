"""Variables: assignment, attributes, and how tapes watch them."""

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.tape.tensor import Tensor


def test_attributes_and_defaults():
    v = sg.Variable(3.0, name="w")
    assert v.dtype == np.float64 and v.shape == () and v.name == "w" and v.trainable
    assert sg.Variable(np.ones((2, 3), dtype=np.float32)).dtype == np.float32
    assert sg.Variable(1.0, dtype=np.float32).dtype == np.float32
    assert sg.Variable(lambda: np.zeros(2)).shape == (2,)
    assert not sg.Variable(1.0, trainable=False).trainable
    with pytest.raises(ValueError):
        sg.Variable(None)
    with pytest.raises(ValueError):
        sg.Variable([1.0, 2.0], shape=(3,))


def test_initial_arrays_are_copied():
    a = np.array([1.0, 2.0])
    v = sg.Variable(a)
    a[0] = 5.0
    assert v.numpy().tolist() == [1.0, 2.0]


def test_assign_family_replaces_the_value():
    v = sg.Variable(np.array([1.0, 2.0], dtype=np.float32))
    assert v.assign([3.0, 4.0]) is v
    assert v.numpy().tolist() == [3.0, 4.0] and v.dtype == np.float32
    v.assign_add(sg.constant(np.array([1.0, 1.0], dtype=np.float32)))
    v.assign_sub(np.array([0.5, 0.5]))
    assert v.numpy().tolist() == [3.5, 4.5] and v.dtype == np.float32
    with pytest.raises(ValueError):
        v.assign([1.0, 2.0, 3.0])


def test_arithmetic_and_numpy_functions_return_tensors():
    v = sg.Variable(2.0)
    for y in (v + 1, 3 * v, v**2, np.sin(v), -v, v[()]):
        assert type(y) is Tensor
    assert float(np.exp(v)) == pytest.approx(np.exp(2.0))


def test_trainable_variables_are_watched_when_accessed():
    v = sg.Variable(3.0)
    with sg.GradientTape() as tape:
        y = v * v
    assert float(tape.gradient(y, v)) == 6.0
    assert tape.watched_variables() == (v,)


def test_unused_variables_are_not_watched():
    a, b = sg.Variable(1.0), sg.Variable(2.0)
    with sg.GradientTape() as tape:
        y = a * 2
    assert tape.watched_variables() == (a,)
    assert tape.gradient(y, b) is None


def test_non_trainable_variables_need_an_explicit_watch():
    v = sg.Variable(3.0, trainable=False)
    with sg.GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    with sg.GradientTape() as tape:
        tape.watch(v)
        y = v * v
    assert float(tape.gradient(y, v)) == 6.0


def test_watch_accessed_variables_false():
    a, b = sg.Variable(2.0), sg.Variable(5.0)
    with sg.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    assert float(ga) == 5.0 and gb is None
    assert tape.watched_variables() == (a,)


def test_watched_variables_in_creation_order():
    a, b, c = sg.Variable(1.0), sg.Variable(2.0), sg.Variable(3.0)
    with sg.GradientTape() as tape:
        c * b * a
    assert tape.watched_variables() == (a, b, c)


def test_integer_variables_are_not_watched():
    v = sg.Variable(3)
    with sg.GradientTape() as tape:
        y = v * 2.0
    assert tape.gradient(y, v) is None


def test_assignment_inside_a_tape_sums_over_both_reads():
    v = sg.Variable(2.0)
    with sg.GradientTape() as tape:
        y1 = v * v  # d/dv = 2 * 2 = 4 at the first read
        v.assign(3.0)
        y2 = 10 * v  # d/dv = 10 at the second read
        y = y1 + y2
    assert float(y) == 4.0 + 30.0
    assert float(tape.gradient(y, v)) == 14.0


def test_read_value_inside_a_tape_is_watched():
    v = sg.Variable(2.0)
    with sg.GradientTape() as tape:
        r = v.read_value()
        y = r * r
    assert float(tape.gradient(y, v)) == 4.0


def test_repr():
    assert repr(sg.Variable(1.5, name="w")) == "Variable(1.5, dtype=float64, name='w')"


def test_the_gradient_of_a_variable_with_respect_to_itself_is_one():
    """As in TensorFlow (its autodiff guide: ``result = v0`` inside the tape
    gives ``dv0 = 1.0``), also when the variable was not read while recording."""
    v0, v1 = sg.Variable(2.0), sg.Variable(2.0)
    x = sg.constant(1.0)
    with sg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        result = v0 if x > 0.0 else v1 ** 2
    dv0, dv1 = tape.gradient(result, [v0, v1])
    assert float(dv0) == 1.0 and dv1 is None
    assert tape.gradient(result, x) is None
    v = sg.Variable(np.array([1.0, 2.0]))
    with sg.GradientTape(persistent=True) as tape:
        y = v * 3.0
    np.testing.assert_array_equal(np.asarray(tape.gradient([v, y], v)), [4.0, 4.0])
    np.testing.assert_array_equal(np.asarray(tape.jacobian(v, v)), np.eye(2))
