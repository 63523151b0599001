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



def broadcast_view(a, shape):
    """``xp.broadcast_to(a, shape)``: a read-only view of ``a`` spread over
    ``shape``, made directly from strides for a contiguous array of numbers
    (``broadcast_to`` costs microseconds of argument handling, which a seed
    spread over a small array pays on every gradient call)."""
    shape = tuple(shape)
    if (type(a) is not ndarray or a.ndim > len(shape) or not a.flags.c_contiguous
            or a.dtype.kind not in "biufc"):
        return xp.broadcast_to(a, shape)
    if a.ndim:
        lead = len(shape) - a.ndim
        strides = [0] * lead
        for n, m, stride in zip(a.shape, shape[lead:], a.strides):
            if n == m:
                strides.append(stride)
            elif n == 1:
                strides.append(0)
            else:  # (not broadcastable: broadcast_to's own error)
                return xp.broadcast_to(a, shape)
        strides = tuple(strides)
    else:
        strides = (0,) * len(shape)
    try:
        view = ndarray(shape, a.dtype, a, 0, strides)
    except (TypeError, ValueError, BufferError):  # (a buffer it cannot export)
        return xp.broadcast_to(a, shape)
    view.flags.writeable = False
    return view
