"""The eager tape: Tensors, Variables and GradientTape (SPEC section 2).

Operations on tensors run immediately on NumPy values; a recording
``GradientTape`` keeps a straight-line program of them (its records) and
``gradient`` rewinds that program through the same rules registry the
source transformer uses.
"""

import s2sgrad.primitives  # noqa: F401  (registers every rule family)
from s2sgrad.tape.tape import GradientTape, UnconnectedGradients, custom_gradient
from s2sgrad.tape.tensor import Tensor, cast, constant, stop_gradient
from s2sgrad.tape.variable import Variable

__all__ = [
    "GradientTape",
    "Tensor",
    "UnconnectedGradients",
    "Variable",
    "cast",
    "constant",
    "custom_gradient",
    "stop_gradient",
]
