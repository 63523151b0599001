"""The array backend: the one module through which the engine, the runtime
and generated code reach array functions (NumPy today).

``xp`` is the array namespace. Generated code names it (``np.sum(...)``) by
the object, never by a module string, so the code generator binds whatever
name denotes ``xp`` in the user's module or one of its own. The few array
operations the engine itself performs are here too, so a pass never imports
NumPy; what a primitive *is* (a view, a reduction, ...) is a fact of its
record in :mod:`s2sgrad.primitives.registry`, not a test in a pass.
"""

import numpy as xp

#: the array type of the namespace
ndarray = xp.ndarray


def spelling(function):
    """The name under which ``function`` is an attribute of ``xp``, or None.

    Generated code calls a primitive as ``<namespace>.<spelling>`` where it
    has one (``np.transpose``), which is what a reader expects to see.
    """
    name = getattr(function, "__name__", None)
    if name is not None and getattr(xp, name, None) is function:
        return name
    return None


def is_array(value):
    """True for an array of the namespace (not a scalar, list or number)."""
    return isinstance(value, ndarray)


def shape_of(value):
    """The shape of an array, number or nested sequence (cheap for arrays)."""
    return value.shape if type(value) is ndarray else xp.shape(value)

