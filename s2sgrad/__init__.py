"""s2sgrad: source-to-source automatic differentiation for Python and NumPy.

``import s2sgrad as sg`` is kept cheap (NumPy only): the pipeline, the
tape and the optimizers are imported on first use of one of their names.
"""

from s2sgrad.errors import S2SGradError, S2SGradWarning, UnsupportedSyntaxError

__version__ = "0.1.0"

#: public name -> module that defines it, imported on first access.
_LAZY = {
    "grad": "s2sgrad.api",
    "value_and_grad": "s2sgrad.api",
    "jacobian": "s2sgrad.api",
    "hessian": "s2sgrad.api",
    "jvp": "s2sgrad.api",
    "hvp": "s2sgrad.api",
    "source": "s2sgrad.api",
    "defgrad": "s2sgrad.api",
    "explain": "s2sgrad.explanation",
    "stop_gradient": "s2sgrad.tape.tensor",
    "Tensor": "s2sgrad.tape.tensor",
    "Variable": "s2sgrad.tape",
    "constant": "s2sgrad.tape",
    "GradientTape": "s2sgrad.tape",
    "UnconnectedGradients": "s2sgrad.tape",
    "custom_gradient": "s2sgrad.tape",
    "clip_by_norm": "s2sgrad.optimizers",
    "clip_by_global_norm": "s2sgrad.optimizers",
    "clip_by_value": "s2sgrad.optimizers",
}

__all__ = sorted(["S2SGradError", "S2SGradWarning", "UnsupportedSyntaxError", "optimizers", *_LAZY])


def __getattr__(name):
    """Import the module that defines ``name`` the first time it is used."""
    import importlib

    if name == "optimizers":
        return importlib.import_module("s2sgrad.optimizers")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 's2sgrad' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
