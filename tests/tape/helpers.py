"""Shared helpers for the tape tests: tape gradients and their numerical twins,
and a fresh start for the compiled recordings."""

import numpy as np

import s2sgrad as sg
from s2sgrad.tape import compiled
from tests.fd import numerical_grad, numerical_jacobian


def tape_grad(f, args, argnum=0):
    """d f(*args) / d args[argnum] through a GradientTape, as a NumPy value."""
    tensors = [sg.constant(a) for a in args]
    with sg.GradientTape() as tape:
        tape.watch(tensors[argnum])
        y = f(*tensors)
    g = tape.gradient(y, tensors[argnum])
    return None if g is None else g.numpy()


def assert_tape_grad(f, args, argnum=0, rtol=1e-5, atol=1e-7):
    """The tape's gradient of scalar ``f`` matches central differences."""
    actual = tape_grad(f, args, argnum)
    expected = numerical_grad(f, args, argnum)
    assert np.shape(actual) == np.shape(expected)
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol, atol=atol)


def forget_compiled():
    """Start as if no recording had been seen or compiled yet."""
    compiled._cache.clear()
    compiled._last[0] = None


__all__ = ["assert_tape_grad", "forget_compiled", "numerical_grad", "numerical_jacobian", "tape_grad"]
