"""Tests of the derivative rules; :class:`Case` is what every file tabulates.

Each ``test_*.py`` here lists its cases in a module-level ``CASES`` (and
primitives it checks in other ways in ``ALSO_COVERED``);
``test_conventions.py`` gathers them to insist that every registered
primitive is tested and to run the float32 checks over all of them.
"""

from dataclasses import dataclass, field

import numpy as np

from tests.fd import _is_float, check_vjp, numerical_grad, numerical_jvp


@dataclass
class Case:
    """One call of a primitive whose rule is checked against finite differences."""

    primitive: object
    args: tuple
    kwargs: dict = field(default_factory=dict)
    #: argument positions that must get a gradient; None means every
    #: floating argument.
    argnums: tuple = None
    label: str = ""
    #: False for casts, whose cotangent has the result's dtype by design.
    keeps_dtype: bool = True
    #: extra keyword arguments for check_vjp (eps, rtol, atol).
    options: dict = field(default_factory=dict)

    @property
    def id(self):
        name = getattr(self.primitive, "__qualname__", None) or getattr(self.primitive, "__name__", "?")
        module = getattr(self.primitive, "__module__", None) or type(self.primitive).__module__
        return f"{module}.{name}{'-' + self.label if self.label else ''}"

    def expected_argnums(self):
        if self.argnums is not None:
            return tuple(self.argnums)
        return tuple(i for i, a in enumerate(self.args) if _is_float(a))

    def check(self):
        return check_vjp(
            self.primitive, self.args, self.kwargs, argnums=self.expected_argnums(), **self.options
        )


def params(cases):
    """``cases`` as pytest parameters with readable ids."""
    import pytest

    return [pytest.param(case, id=case.id) for case in cases]


def sample(shape, low=-2.0, high=2.0, seed=0):
    """Reproducible float64 inputs in ``[low, high)`` (a float for shape None)."""
    rng = np.random.default_rng(seed)
    if shape is None:
        return float(rng.uniform(low, high))
    return rng.uniform(low, high, shape)


def check_user_function(f, x, rtol=1e-5, atol=1e-7):
    """The gradient of the user function ``f`` at the float64 array ``x``
    through ``sg.grad`` and through the tape, in float32 (which it keeps),
    and its Hessian-vector product, against finite differences."""
    import s2sgrad as sg
    from tests.tape.helpers import tape_grad

    expected = numerical_grad(f, (x,))
    np.testing.assert_allclose(sg.grad(f)(x), expected, rtol=rtol, atol=atol)
    np.testing.assert_allclose(tape_grad(f, (x,)), expected, rtol=rtol, atol=atol)
    single = sg.grad(f)(x.astype(np.float32))
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, expected, rtol=1e-3, atol=1e-3)
    direction = np.random.default_rng(0).standard_normal(np.shape(x))
    np.testing.assert_allclose(sg.hvp(f)(x, direction), numerical_jvp(sg.grad(f), (x,), 0, direction),
                               rtol=rtol, atol=1e-6)


def forward(f, args, argnum, direction):
    """(f(*args), J·direction) from the generated forward code alone (sg.jvp
    would fall back to reverse mode where forward mode refuses)."""
    from s2sgrad import pipeline

    entry = pipeline.gradient_code(f, argnum, mode="forward")
    (tangent_name,) = entry.seed_name
    return pipeline.bind(entry, f)(*args, **{tangent_name: direction})


def check_grad_tape_and_forward(f, args, argnum=0, rtol=1e-6, atol=1e-8):
    """The gradient of ``f`` in argument ``argnum`` through ``sg.grad`` and
    the tape, and its forward code's tangent along a random direction,
    against central differences; returns the differences' gradient."""
    import s2sgrad as sg

    expected = numerical_grad(f, args, argnum)
    np.testing.assert_allclose(sg.grad(f, wrt=argnum)(*args), expected, rtol=rtol, atol=atol)
    variables = [sg.Variable(a) for a in args]
    with sg.GradientTape() as tape:
        y = f(*variables)
    np.testing.assert_allclose(np.asarray(tape.gradient(y, variables[argnum])), expected, rtol=rtol, atol=atol)
    direction = np.random.default_rng(argnum).standard_normal(np.shape(args[argnum]))
    _, tangent = forward(f, args, argnum, direction)
    np.testing.assert_allclose(tangent, np.sum(expected * direction), rtol=rtol, atol=atol)
    return expected
