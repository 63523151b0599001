"""GradientTape.gradient: values against finite differences, structures, errors."""

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.tape.compiled import MissingRuleError
from tests.tape.helpers import assert_tape_grad, tape_grad

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4))
B = RNG.normal(size=(4,))
C = RNG.normal(size=(3, 1))
M = RNG.normal(size=(3, 3)) + 3 * np.eye(3)
P = RNG.uniform(0.5, 2.0, size=(3, 4))

# (name, f, args): f works on NumPy arrays and on Tensors alike.
CASES = [
    ("polynomial", lambda x: np.sum(x**3 - 2 * x**2 + x), (A,)),
    ("sin_exp", lambda x: np.sum(np.sin(x) * np.exp(x / 3)), (A,)),
    ("log_sqrt", lambda x: np.sum(np.log(x) + np.sqrt(x)), (P,)),
    ("tanh_div", lambda x: np.sum(np.tanh(x) / (1 + x * x)), (A,)),
    ("broadcast_row", lambda x, b: np.sum(x * b + b), (A, B)),
    ("broadcast_row_wrt_b", lambda x, b: np.sum(x * b + b), (A, B), 1),
    ("broadcast_col_wrt_c", lambda x, c: np.sum(np.cos(x - c)), (A, C), 1),
    ("scalar_broadcast", lambda s, x: np.sum(s * x), (1.5, A)),
    ("mean_axis", lambda x: np.sum(np.mean(x, axis=0) ** 2), (A,)),
    ("max_axis", lambda x: np.sum(np.max(x, axis=1)), (A,)),
    ("prod", lambda x: np.prod(x[0]), (P,)),
    ("var_std", lambda x: np.var(x) + np.std(x, axis=0).sum(), (A,)),
    ("cumsum", lambda x: np.sum(np.cumsum(x, axis=1) ** 2), (A,)),
    ("matmul", lambda x, b: np.sum(np.tanh(x @ b)), (A, B)),
    ("matmul_wrt_b", lambda x, b: np.sum(np.tanh(x @ b)), (A, B), 1),
    ("matmul_2d", lambda x: np.sum((x @ x.T) ** 2), (A,)),
    ("dot_outer", lambda b: np.dot(b, b) + np.sum(np.outer(b, b)), (B,)),
    ("getitem_basic", lambda x: np.sum(x[1:, ::2] ** 2) + x[0, 1], (A,)),
    ("getitem_fancy", lambda x: np.sum(x[[0, 0, 2]] ** 2), (A,)),
    ("getitem_mask", lambda x: np.sum(x[x > 0] ** 2), (A,)),
    ("take", lambda x: np.sum(np.take(x, [1, 1, 3], axis=1) ** 2), (A,)),
    ("reshape_transpose", lambda x: np.sum(np.reshape(x, (4, 3)).T * A), (A,)),
    ("expand_squeeze", lambda x: np.sum(np.squeeze(np.expand_dims(x, 0), 0) ** 2), (A,)),
    ("concatenate", lambda x: np.sum(np.concatenate([x, x * x], axis=0) ** 2), (A,)),
    ("stack", lambda x: np.sum(np.stack([x, np.sin(x)]) ** 2), (A,)),
    ("where", lambda x: np.sum(np.where(x > 0, x**2, -x)), (A,)),
    ("maximum_clip", lambda x: np.sum(np.maximum(x, 0.1) + np.clip(x, -0.5, 0.5)), (A,)),
    ("abs", lambda x: np.sum(np.abs(x) ** 1.5), (A,)),
    ("pow_tensor_exponent", lambda x, y: np.sum(x**y), (P, A), 1),
    ("inv_det", lambda m: np.sum(np.linalg.inv(m)) + np.linalg.det(m), (M,)),
    ("trace", lambda m: np.trace(m @ m), (M,)),
    ("tensordot", lambda x: np.sum(np.tensordot(x, A, axes=([1], [1])) ** 2), (A,)),
    ("iteration", lambda b: sum(v * v for v in b), (B,)),
    ("float32", lambda x: np.sum(x * x * 3), (A.astype(np.float32),)),
]


def _case_id(case):
    return case[0]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_gradient_matches_finite_differences(case):
    name, f, args, *rest = case
    argnum = rest[0] if rest else 0
    rtol = 1e-3 if name == "float32" else 1e-5
    assert_tape_grad(f, args, argnum, rtol=rtol, atol=1e-4 if name == "float32" else 1e-7)


def test_gradient_has_source_dtype_and_shape():
    x = sg.constant(np.ones((2, 3), dtype=np.float32))
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(x * 2.0)
    g = tape.gradient(y, x)
    assert g.dtype == np.float32 and g.shape == (2, 3)


def test_scalar_source_of_broadcast_gets_summed_gradient():
    s = sg.Variable(2.0)
    x = sg.constant(np.arange(6.0).reshape(2, 3))
    with sg.GradientTape() as tape:
        y = np.sum(s * x)
    assert float(tape.gradient(y, s)) == 15.0


def test_non_scalar_target_is_summed():
    x = sg.constant(np.array([1.0, 2.0, 3.0]))
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 4.0, 6.0])


def test_output_gradients_weight_the_target():
    x = sg.constant(np.array([1.0, 2.0, 3.0]))
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    g = tape.gradient(y, x, output_gradients=np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(g.numpy(), [2.0, 0.0, -6.0])


def test_several_targets_add_up():
    x = sg.constant(2.0)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y1, y2 = x * x, 3 * x
    assert float(tape.gradient([y1, y2], x)) == 7.0
    with sg.GradientTape() as tape:
        tape.watch(x)
        y1, y2 = x * x, 3 * x
    g = tape.gradient({"a": y1, "b": y2}, x, output_gradients={"a": 1.0, "b": 2.0})
    assert float(g) == 10.0


def test_source_structures_are_preserved():
    a, b, c = sg.Variable(1.0), sg.Variable(2.0), sg.Variable(3.0)
    with sg.GradientTape(persistent=True) as tape:
        y = a * b * c
    assert isinstance(tape.gradient(y, [a, b]), list)
    assert isinstance(tape.gradient(y, (a, b)), tuple)
    g = tape.gradient(y, {"first": a, "rest": [b, (c,)]})
    assert set(g) == {"first", "rest"}
    assert float(g["first"]) == 6.0
    assert float(g["rest"][0]) == 3.0 and float(g["rest"][1][0]) == 2.0
    assert isinstance(g["rest"][1], tuple)


def test_unconnected_sources():
    x, z = sg.Variable(2.0), sg.Variable(np.ones(3))
    with sg.GradientTape(persistent=True) as tape:
        y = x * x
    assert tape.gradient(y, z) is None
    g = tape.gradient(y, z, unconnected_gradients=sg.UnconnectedGradients.ZERO)
    np.testing.assert_array_equal(g.numpy(), np.zeros(3))
    g = tape.gradient(y, [x, z], unconnected_gradients="zero")
    assert float(g[0]) == 4.0 and g[1].shape == (3,)
    assert tape.gradient(y, z, unconnected_gradients="none") is None


def test_bad_unconnected_gradients_is_a_value_error():
    x = sg.Variable(1.0)
    with sg.GradientTape() as tape:
        y = x * x
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, x, unconnected_gradients="zeros")


def test_integer_sources_give_none():
    x = sg.constant(3)
    with sg.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    assert tape.gradient(y, x) is None


def test_unwatched_constant_gives_none():
    x = sg.constant(3.0)
    with sg.GradientTape() as tape:
        y = x * x
    assert tape.gradient(y, x) is None


def test_non_persistent_tape_answers_once():
    x = sg.Variable(1.0)
    with sg.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.gradient(y, x)


def test_persistent_tape_answers_many_times():
    x = sg.constant(3.0)
    with sg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = y * y
    assert float(tape.gradient(z, x)) == 108.0
    assert float(tape.gradient(y, x)) == 6.0
    assert float(tape.gradient(z, y)) == 18.0  # with respect to an intermediate


def test_source_must_be_a_tensor():
    x = sg.Variable(1.0)
    with sg.GradientTape() as tape:
        y = x * x
    with pytest.raises(TypeError):
        tape.gradient(y, 1.0)
    with pytest.raises(ValueError):
        tape.watch("not a tensor")


def test_reentering_an_active_tape_is_an_error():
    tape = sg.GradientTape()
    with tape:
        with pytest.raises(ValueError):
            tape.__enter__()


def test_target_is_a_watched_source():
    x = sg.constant(np.array([1.0, 2.0]))
    with sg.GradientTape() as tape:
        tape.watch(x)
    np.testing.assert_array_equal(tape.gradient(x, x).numpy(), [1.0, 1.0])


def test_watch_nested_structures():
    a, b, c = sg.constant(1.0), sg.constant(2.0), sg.constant(3.0)
    with sg.GradientTape() as tape:
        tape.watch({"x": [a, (b,)], "y": c})
        y = a * b * c
    assert [float(g) for g in tape.gradient(y, [a, b, c])] == [6.0, 3.0, 2.0]


def test_stop_recording():
    x = sg.Variable(2.0)
    with sg.GradientTape() as tape:
        y = x * x
        with tape.stop_recording():
            z = x * x
        w = y + z
    assert float(tape.gradient(w, x)) == 4.0
    with pytest.raises(RuntimeError):
        with tape.stop_recording():
            pass


def test_stop_recording_pauses_only_that_tape():
    x = sg.constant(2.0)
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            with inner.stop_recording():
                y = x * x
    assert inner.gradient(y, x) is None
    assert float(outer.gradient(y, x)) == 4.0


def test_reset_forgets_records_and_watches():
    x = sg.Variable(2.0)
    with sg.GradientTape() as tape:
        y = x * x * x
        tape.reset()
        y = x * x
    assert float(tape.gradient(y, x)) == 4.0
    assert tape.watched_variables() == (x,)


def test_missing_rule_is_an_error_only_on_the_gradient_path():
    x = sg.constant(np.array([3.0, 1.0, 2.0]))
    with sg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        s = np.nanmedian(x)  # no rule registered for np.nanmedian
        y = np.sum(x * x)
        z = np.sum(s)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [6.0, 2.0, 4.0])
    with pytest.raises(MissingRuleError, match="nanmedian"):
        tape.gradient(z, x)


def test_gradient_agrees_with_source_to_source_grad():
    def f(x):
        return np.sum(np.sin(x) * x**2) / (1.0 + np.sum(x * x))

    x = RNG.normal(size=5)
    try:
        expected = sg.grad(f)(x)
    except sg.S2SGradError as error:  # the pipeline may not handle this yet
        pytest.skip(f"sg.grad unavailable: {error}")
    np.testing.assert_allclose(tape_grad(f, (x,)), expected, rtol=1e-12)


def test_non_persistent_gradient_inside_its_own_context():
    x = sg.Variable(3.0)
    with sg.GradientTape() as tape:
        y = x * x
        g = tape.gradient(y, x)
        z = x * 2  # the spent tape records nothing more
    assert float(g) == 6.0 and float(z) == 6.0
    with pytest.raises(RuntimeError):
        tape.gradient(y, x)


def test_a_spent_tape_can_be_entered_again():
    x = sg.Variable(3.0)
    tape = sg.GradientTape()
    with tape:
        y = x * x
    tape.gradient(y, x)
    with tape:
        y = x * x * x
    assert float(tape.gradient(y, x)) == 27.0


def test_an_unwatched_tensor_source_gets_none_from_compiled_recordings_too():
    """The recording is compiled from its second sighting on; a source the tape
    never watched stays a constant there too (it once got d/d const)."""
    x = sg.Variable(np.float32(0.5))
    frozen = sg.Variable(np.float32(2.0), trainable=False)
    const = sg.constant(np.float32(3.0))
    for _ in range(4):
        with sg.GradientTape() as tape:
            y = x * frozen * const
        grads = tape.gradient(y, [x, frozen, const])
        assert float(grads[0]) == 6.0 and grads[1] is None and grads[2] is None
