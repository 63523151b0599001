"""Tensors: values, dtypes, dispatch of operators and NumPy functions, stop_gradient."""

import operator

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.tape.tensor import Tensor, cast


@pytest.mark.parametrize(
    "value, dtype",
    [(3.0, np.float64), (3, np.int64), (True, np.bool_), ([1.0, 2.0], np.float64)],
)
def test_constant_keeps_numpy_defaults(value, dtype):
    assert sg.constant(value).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.complex64])
def test_arithmetic_preserves_dtype(dtype):
    x = sg.constant(np.array([1.0, 2.0], dtype=dtype))
    for y in (x + 1, 2 * x, x / 3.0, x**2, -x, np.sin(x) if dtype != np.float16 else x, x @ x):
        assert y.dtype == dtype


def test_zero_dim_values_are_numpy_scalars():
    t = sg.constant(np.float32(2.0))
    assert isinstance(t.numpy(), np.float32)
    assert isinstance((t * t).numpy(), np.float32)


def test_numpy_returns_a_copy_of_arrays():
    t = sg.constant([1.0, 2.0])
    a = t.numpy()
    a[0] = 99.0
    assert t.numpy()[0] == 1.0


def test_constant_shape_broadcasts_a_scalar_and_reshapes():
    assert sg.constant(2.0, shape=(2, 3)).numpy().tolist() == [[2.0] * 3] * 2
    assert sg.constant([1, 2, 3, 4], shape=(2, 2)).shape == (2, 2)


def test_conversions():
    t = sg.constant(2.5)
    assert float(t) == 2.5 and int(t) == 2 and bool(t)
    assert operator.index(sg.constant(3)) == 3
    assert np.asarray(sg.constant([1.0, 2.0])).tolist() == [1.0, 2.0]
    assert len(sg.constant([1, 2, 3])) == 3
    with pytest.raises(TypeError):
        len(sg.constant(1.0))
    assert [float(v) for v in sg.constant([1.0, 2.0])] == [1.0, 2.0]
    assert sg.constant([[1, 2]]).tolist() == [[1, 2]]
    assert sg.constant(4.0).item() == 4.0


def test_tensors_are_immutable():
    t = sg.constant([1.0, 2.0])
    with pytest.raises(TypeError):
        t[0] = 3.0
    with pytest.raises(TypeError):
        np.add(t, t, out=np.empty(2))


@pytest.mark.parametrize(
    "op",
    [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow, operator.matmul],
)
def test_operators_record_the_operator_module_primitive(op):
    x = sg.constant(np.array([1.0, 2.0]))
    with sg.GradientTape() as tape:
        tape.watch(x)
        op(x, x)
    assert tape._records[-1].prim is op


def test_reflected_operators_record_operands_in_order():
    x = sg.constant(2.0)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = 10.0 - x
    rec = tape._records[-1]
    assert rec.prim is operator.sub and rec.args == (10.0, x)
    assert float(y) == 8.0


@pytest.mark.parametrize(
    "call, prim",
    [
        (np.sin, np.sin),
        (np.exp, np.exp),
        (lambda t: np.sum(t, axis=0), np.sum),
        (lambda t: np.reshape(t, (4,)), np.reshape),
        (lambda t: np.broadcast_to(t, (3, 2, 2)), np.broadcast_to),
        (lambda t: np.expand_dims(t, 0), np.expand_dims),
        (lambda t: t.T, np.transpose),
        (lambda t: t.sum(), np.sum),
        (lambda t: t[0], operator.getitem),
        (lambda t: -t, operator.neg),
        (abs, operator.abs),
    ],
)
def test_numpy_functions_and_methods_are_recorded(call, prim):
    x = sg.constant(np.array([[1.0, 2.0], [3.0, 4.0]]))
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = call(x)
    assert isinstance(y, Tensor)
    assert tape._records[-1].prim is prim
    np.testing.assert_array_equal(y.numpy(), call(x.numpy()))


def test_metadata_functions_return_plain_values():
    x = sg.constant(np.ones((2, 3)))
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    assert x.shape == (2, 3) and x.ndim == 2 and x.size == 6
    assert np.result_type(x) == np.float64


def test_multi_output_functions_give_tuples_of_tensors():
    x = sg.constant(np.arange(6.0))
    parts = np.split(x, 3)
    assert isinstance(parts, list) and all(isinstance(p, Tensor) for p in parts)
    w, v = np.linalg.eigh(sg.constant(np.eye(2)))
    assert isinstance(w, Tensor) and isinstance(v, Tensor)


def test_untracked_operations_are_not_recorded():
    x = sg.constant(1.0)
    y = sg.constant(2.0)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y * y
        x > 0
        np.floor(x)
    assert tape._records == []


def test_ops_outside_a_tape_are_not_recorded():
    x = sg.constant(1.0)
    tape = sg.GradientTape()
    tape.watch(x)
    np.sin(x)
    assert tape._records == []


def test_stop_gradient():
    x = sg.constant(3.0)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = x * sg.stop_gradient(x)
    assert float(tape.gradient(y, x)) == 3.0


@pytest.mark.parametrize("value", [3.0, np.float32(2.0), np.array([1.0, 2.0]), [1, 2], None])
def test_stop_gradient_is_the_identity_on_non_tensors(value):
    assert sg.stop_gradient(value) is value


def test_stop_gradient_of_a_variable_is_an_untracked_tensor():
    v = sg.Variable(2.0)
    s = sg.stop_gradient(v)
    assert type(s) is Tensor and float(s) == 2.0
    with sg.GradientTape() as tape:
        y = v * sg.stop_gradient(v)
    assert float(tape.gradient(y, v)) == 2.0


def test_repr_and_format():
    t = sg.constant(np.array([1.0, 2.0]))
    assert repr(t) == "Tensor([1., 2.], dtype=float64)"
    assert f"{sg.constant(2.5):.2f}" == "2.50"
    assert f"{sg.constant(9.0)}" == "9.0"


def test_cast_is_differentiable_between_floats():
    x = sg.constant(np.float32(1.5))
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = cast(x, dtype=np.float64) ** 2
    assert y.dtype == np.float64
    g = tape.gradient(y, x)
    assert g.dtype == np.float32 and float(g) == 3.0
    assert x.astype(np.float64).dtype == np.float64


def test_reference_is_hashable_by_identity():
    a, b = sg.constant(1.0), sg.constant(1.0)
    refs = {a.ref(), b.ref(), a.ref()}
    assert len(refs) == 2 and a.ref().deref() is a


#: arguments after the array for the method spellings that need some
METHOD_ARGS = {"reshape": (4, 3), "swapaxes": (0, 1), "clip": (2.0,), "dot": (np.ones(4),), "repeat": (2,),
               "astype": (np.float32,)}


def _method_names():
    from s2sgrad.primitives import registry

    return [name for r in registry.records() for name in r.methods]


@pytest.mark.parametrize("name", _method_names())
def test_every_method_spelling_of_a_primitive_is_a_tensor_method(name):
    """The Tensor's methods come from the records: same values as the ndarray's."""
    value = np.arange(1.0, 13.0).reshape(3, 4)
    args = METHOD_ARGS.get(name, ())
    np.testing.assert_array_equal(np.asarray(getattr(Tensor(value), name)(*args)),
                                  getattr(value, name)(*args))


def test_method_varargs_are_packed_and_recorded_as_the_primitive():
    x = sg.Variable(np.arange(6.0))
    with sg.GradientTape() as tape:
        y = x.reshape(2, 3).transpose(1, 0).T
        loss = (y * np.arange(6.0).reshape(2, 3)).sum()
    assert y.shape == (2, 3)
    np.testing.assert_array_equal(tape.gradient(loss, x), np.arange(6.0))
