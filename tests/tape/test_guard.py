"""Guards: the last compiled adjoint recognises its recording without the key.

A guard must accept a recording only where the adjoint computes its
gradients exactly -- in practice exactly where the structural key is the
same -- and hand back the leaf values the key lists.
"""

import operator
import random

import numpy as np
import pytest

import s2sgrad as sg
from s2sgrad.tape import compiled
from s2sgrad.tape.compiled import _key_and_values
from s2sgrad.tape.guard import guard
from tests.tape.helpers import forget_compiled


def recording(program, variables, sources=None):
    """(records, seeds, wanted) of ``program(*variables)`` on a persistent tape."""
    with sg.GradientTape(persistent=True) as tape:
        y = program(*variables)
    sources = variables if sources is None else sources
    wanted = [id(r) for s in sources for r in tape._reads.get(s._uid, ())]
    return tape._records, [(y, np.ones_like(y.numpy())[()])], wanted


def recognised(program_a, program_b, variables_a, variables_b=None, sources_b=None):
    """What the guard built from ``program_a``'s recording makes of ``program_b``'s."""
    match = guard(*recording(program_a, variables_a))
    assert match is not None
    b = recording(program_b, variables_b or variables_a, sources_b)
    return match(*b), _key_and_values(*b)[1]


def scalars(*values, dtype=np.float64):
    return [sg.Variable(dtype(v)) for v in values]


X = np.array([0.5, -1.0, 2.0])

PROGRAMS = {
    "linear regression": lambda w, b: np.mean((w * X + b - X[::-1].copy()) ** 2),
    "matmul and tanh": lambda w, b: np.sum(np.tanh(np.outer(X, X) @ (X * w)) ** 2) * b,
    "a reduction with parameters": lambda w, b: np.sum(np.sin(X * w) + b, axis=0, keepdims=True),
    "a variable used twice": lambda w, b: np.sum(X * w + w * b),
    "indexing": lambda w, b: np.sum((X * w)[np.array([True, False, True])] * b),
}


@pytest.mark.parametrize("program", PROGRAMS.values(), ids=PROGRAMS.keys())
def test_a_recording_of_the_same_program_is_recognised_with_the_keys_values(program):
    values, key_values = recognised(program, program, scalars(0.3, -0.7), scalars(1.5, 2.0))
    assert values is not None
    assert len(values) == len(key_values)
    assert all(v is k for v, k in zip(values, key_values))


def different_recordings():
    w, b = scalars(0.3, -0.7)
    w32, b32 = scalars(0.3, -0.7, dtype=np.float32)
    x4 = np.array([0.5, -1.0, 2.0, 3.0])
    base = lambda w, b: np.sum(X * w + b)  # noqa: E731
    return {
        "another primitive": (base, lambda w, b: np.sum(X * w - b), [w, b], None, None),
        "another constant": (
            lambda w, b: w * 2.0 + b, lambda w, b: w * 3.0 + b, [w, b], None, None),
        "an int for a float": (
            lambda w, b: w * 2.0 + b, lambda w, b: w * 2 + b, [w, b], None, None),
        "a zero of the other sign": (
            lambda w, b: w * 0.0 + b, lambda w, b: w * -0.0 + b, [w, b], None, None),
        "a NumPy zero of the other sign": (
            lambda w, b: w * np.float64(0.0) + b, lambda w, b: w * np.float64(-0.0) + b,
            [w, b], None, None),
        "another shape": (base, lambda w, b: np.sum(x4 * w + b), [w, b], None, None),
        "another dtype": (base, base, [w, b], [w32, b32], None),
        "another parameter": (
            lambda w, b: np.sum(X * w, axis=0) + b, lambda w, b: np.sum(X * w, axis=-1) + b,
            [w, b], None, None),
        "an output where a variable was": (
            lambda w, b: (w * 2.0) * b, lambda w, b: (w * 2.0) * (w * 2.0), [w, b], None, [w, b]),
        "one variable as both": (lambda w, b: w * b, lambda w, b: w * w, [w, b], None, [w, w]),
        "the sources swapped": (base, base, [w, b], None, [b, w]),
        "one record more": (base, lambda w, b: np.sum(X * w + b) * 1.0, [w, b], None, None),
        "another mask": (
            lambda w, b: np.sum((X * w)[X > 0] + b), lambda w, b: np.sum((X * w)[X < 3] + b),
            [w, b], None, None),
    }


@pytest.mark.parametrize("case", different_recordings().values(), ids=different_recordings().keys())
def test_a_recording_the_key_tells_apart_is_not_recognised(case):
    program_a, program_b, variables_a, variables_b, sources_b = case
    values, _ = recognised(program_a, program_b, variables_a, variables_b, sources_b)
    assert values is None


def test_an_unwatched_tensor_where_a_watched_one_was_is_not_recognised():
    c = sg.constant(np.float64(2.0))
    (w,) = scalars(0.5)

    def program(watch):
        with sg.GradientTape(persistent=True) as tape:
            if watch:
                tape.watch(c)
            y = w * c
        wanted = [id(tape._reads[w._uid][0])] + ([id(c)] if watch else [])
        return tape._records, [(y, np.float64(1.0))], wanted

    match = guard(*program(True))
    assert match(*program(True)) is not None
    records, seeds, _ = program(False)
    assert match(records, seeds, [id(records[0].args[0]), id(c)]) is None


OPERANDS = ["w", "b", "node", "x", 2.0, 0.0, -0.0, 2]


def random_step(rng):
    return rng.choice([operator.add, operator.mul]), rng.choice(OPERANDS)


def program_of(steps):
    """A program of two scalar variables: ``node = node <op> operand`` a step, then a sum."""

    def program(w, b):
        node = w
        for op, operand in steps:
            named = {"w": w, "b": b, "node": node, "x": X}
            node = op(node, named[operand] if isinstance(operand, str) else operand)
        return np.sum(node)

    return program


def test_random_programs_are_recognised_exactly_when_their_keys_agree():
    """Pairs of a random program and the same or a one-step mutation of it."""
    rng = random.Random(7)
    agreeing = 0
    for _ in range(400):
        steps_a = [random_step(rng) for _ in range(rng.randint(1, 4))]
        steps_b = list(steps_a)
        if rng.random() < 0.5:
            steps_b[rng.randrange(len(steps_b))] = random_step(rng)
        a = recording(program_of(steps_a), scalars(0.3, -0.7))
        b = recording(program_of(steps_b), scalars(1.1, 0.4))
        key_b, values_b = _key_and_values(*b)
        values = guard(*a)(*b)
        assert (values is not None) == (_key_and_values(*a)[0] == key_b), (steps_a, steps_b)
        if values is not None:
            agreeing += 1
            assert all(v is k for v, k in zip(values, values_b))
    assert 100 < agreeing < 350  # both outcomes are tested


def test_alternating_programs_get_their_own_gradients():
    """The guard of the adjoint run last turns away the other program's recording."""
    forget_compiled()
    w, b = scalars(0.5, -1.5)
    programs = [
        (lambda: np.sum(X * w + b), lambda: (np.sum(X), float(len(X)))),
        (lambda: np.sum(X * w * b), lambda: (np.sum(X) * b.numpy(), np.sum(X) * w.numpy())),
    ]
    for step in range(8):
        program, expected = programs[step % 2]
        with sg.GradientTape() as tape:
            y = program()
        grads = [g.numpy() for g in tape.gradient(y, [w, b])]
        np.testing.assert_allclose(grads, expected(), rtol=1e-12)
        w.assign(w.numpy() + 0.25)
    assert compiled._last[0] is not None


def test_a_training_loop_runs_on_the_guard_after_compiling_once(monkeypatch):
    forget_compiled()
    (w,) = scalars(1.0)
    for _ in range(3):  # compiled, seen again (the guard written), then recognised
        with sg.GradientTape() as tape:
            y = np.sum(X * w) ** 2
        tape.gradient(y, w)
    calls = []
    monkeypatch.setattr(compiled, "_key_and_values",
                        lambda *args: calls.append(args) or _key_and_values(*args))
    for _ in range(3):
        with sg.GradientTape() as tape:
            y = np.sum(X * w) ** 2
        g = tape.gradient(y, w)
        assert float(g) == pytest.approx(2 * np.sum(X) ** 2 * float(w))
    assert not calls


def test_one_constant_in_two_places_is_served_by_two_parameters():
    """An untracked leaf is a constant: the adjoint of ``c1 * w + c2 * b`` serves
    ``c1 * w + c1 * b`` too, given ``c1`` for both parameters."""
    forget_compiled()
    c1, c2 = sg.constant(X), sg.constant(2 * X)
    w, b = scalars(0.5, -1.5)
    for c in (c2, c2, c1):  # compiled, seen again (the guard written), then recognised
        with sg.GradientTape() as tape:
            y = np.sum(c1 * w + c * b)
        grads = [g.numpy() for g in tape.gradient(y, [w, b])]
        np.testing.assert_allclose(grads, [np.sum(X), np.sum(c.numpy())], rtol=1e-12)
    assert compiled._last[0].match(*recording(lambda w, b: np.sum(c1 * w + c1 * b), [w, b]))
