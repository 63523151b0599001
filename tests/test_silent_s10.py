"""Functions written the way users write them, each a minimised reproducer
of a wrong derivative or an internal crash found by the session-10 hunt for
silently wrong gradients (issue 10): every value is compared with central
finite differences in float64 (of the function, or of its gradient for
second derivatives)."""

import numpy as np
import pytest

import s2sgrad as sg
from tests.fd import numerical_jacobian, numerical_jvp

X = np.array([0.3, -1.1, 0.8])
V = np.array([1.0, 0.5, -0.3])


def softplus(x):
    return np.log1p(np.exp(x))


@sg.defgrad(softplus)
def _softplus_grad(g, ans, x):  # a VJP only: forward mode goes reverse over reverse
    return (g / (1 + np.exp(-x)),)


def scaled_softplus(x, c=2.0):
    return np.sum(softplus(x) ** 2 * c)


def scaled_softplus_numbers(x, c=2.0):
    return np.sum(np.log1p(np.exp(x)) ** 2 * c)


# -- sg.jvp and sg.hvp of a function forward mode cannot follow (a rule
#    registered with sg.defgrad has no forward rule) went reverse over
#    reverse with the call's positional arguments only: a defaulted
#    argument left out, or any keyword argument, crashed with "missing 1
#    required positional argument: 'v'" or "unexpected keyword argument"

@pytest.mark.parametrize("args, kwargs", [((), {}), ((3.0,), {}), ((), {"c": 3.0})],
                         ids=["default", "positional", "keyword"])
def test_jvp_and_hvp_by_reverse_take_defaults_and_keywords(args, kwargs):
    c = kwargs.get("c", args[0] if args else 2.0)
    value, tangent = sg.jvp(scaled_softplus)(X, *args, V, **kwargs)
    np.testing.assert_allclose(value, scaled_softplus_numbers(X, c), rtol=1e-12)
    np.testing.assert_allclose(tangent, numerical_jvp(scaled_softplus_numbers, [X, c], 0, V),
                               rtol=1e-6)
    gradient = sg.grad(scaled_softplus_numbers)
    expected = numerical_jacobian(lambda x: gradient(x, c), [X]) @ V
    np.testing.assert_allclose(sg.hvp(scaled_softplus)(X, *args, V, **kwargs), expected,
                               rtol=1e-5)
