"""The few helpers that generated code and rules call at run time.

They exist where a rule would otherwise need control flow (rule bodies are
straight-line templates). Each helper has a derivative rule of its own in
``s2sgrad.primitives.shape`` so generated code stays differentiable.

This module imports nothing of s2sgrad but the backend and the errors: it
sits in the bottom layer, beside ``ir`` and ``backend``, so the rules may
use its helpers. The one run-time service that needs the pipeline (a
callee's VJP, generated on first use) is the pipeline's ``call_vjp``,
handed to generated code through its environment.
"""

from s2sgrad.backend import ndarray, xp

from s2sgrad.errors import UnsupportedSyntaxError


def unbroadcast(g, like):
    """``g`` reshaped to the shape of ``like``, undoing broadcasting.

    Axes that broadcasting added or stretched are summed; when ``g`` is
    smaller than ``like`` (a folded unit seed, say) it is broadcast up
    first. Returns ``g`` itself when the shapes already agree, so the
    common case costs one shape comparison.
    """
    shape = like.shape if type(like) is ndarray else xp.shape(like)
    gshape = g.shape if type(g) is ndarray else xp.shape(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if type(g) is ndarray and not shape:
        return g.sum()
    if type(g) is ndarray and lead >= 0:
        # the common case, summing broadcast axes of an array: no dispatch
        axes = list(range(lead))
        for i, n in enumerate(shape):
            m = gshape[lead + i]
            if n != m:
                if n != 1:
                    break
                axes.append(lead + i)
        else:
            g = g.sum(axis=tuple(axes), keepdims=True)
            return g.reshape(shape) if lead else g
    full = xp.broadcast_shapes(gshape, shape)
    if full != gshape:
        if type(g) is float:  # a folded seed: keep the precision of ``like``
            g = xp.asarray(g, dtype=xp.result_type(like, 1.0))
        g = xp.broadcast_to(g, full)
    lead = len(full) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and full[lead + i] != 1
    )
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead:
        g = xp.reshape(g, shape)
    return g


def repeat_to(g, like, axis=None, keepdims=False):
    """Spread the cotangent of a reduction of ``like`` back over its shape.

    ``g`` has the reduced shape; the reduced axes are reinserted (unless
    ``keepdims`` kept them) and ``g`` is broadcast to ``like``'s shape as a
    read-only view, never materialised.
    """
    shape = xp.shape(like)
    if type(g) is float:  # a seed: take the precision of what it spreads over
        g = xp.asarray(g, dtype=xp.result_type(like, 1.0))
    if axis is not None and not keepdims:
        axes = (axis,) if xp.ndim(axis) == 0 else tuple(axis)
        g = xp.expand_dims(g, tuple(a % len(shape) for a in axes))
    if not shape:  # a scalar stays a scalar (a 0-d array would reach the gradient)
        return g[()] if type(g) is ndarray else g
    return xp.broadcast_to(g, shape)


def zeros_like(x):
    """The gradient of an argument the result does not depend on (a NumPy
    scalar's is a NumPy scalar of its type, a Python number's a float, a
    list's or tuple's a list of its entries' zeros: the pieces of ``split``
    may differ in shape)."""
    if type(x) is float or type(x) is int:
        return 0.0
    if type(x) is list or type(x) is tuple:
        return [None if e is None else zeros_like(e) for e in x]  # (None: no gradient)
    zeros = xp.zeros_like(x)
    return zeros[()] if isinstance(x, xp.generic) else zeros


def entry_guard(helper):
    """Mark ``helper`` as an entry guard of generated code.

    A guard checks a gradient's arguments or result and computes nothing
    the gradient returns. When generated code is read again (a second
    derivative), the frontend recognises these calls by this mark on the
    helper itself and leaves them, and the statements only they read, out
    of the program it differentiates; the new derivative gets its own.
    """
    helper.entry_guard = True
    return helper


@entry_guard
def require_scalar(value, function_name):
    """Raise ValueError unless ``value`` is a real scalar (what grad needs)."""
    if type(value) is float:
        return
    if value is None or isinstance(value, (str, bytes)):
        what = "None" if value is None else f"{type(value).__name__} {value!r}"
        raise ValueError(f"grad requires {function_name} to return a real scalar; it returned {what}")
    shape = xp.shape(value)
    dtype = getattr(value, "dtype", None)
    if shape != () or (dtype is not None and dtype.kind not in "fiub") or isinstance(value, complex):
        raise ValueError(
            f"grad requires {function_name} to return a real scalar; it returned "
            f"{type(value).__name__} of shape {shape}"
            + (f" and dtype {dtype}" if dtype is not None else "")
        )


@entry_guard
def require_float(value, argument, function_name):
    """Raise TypeError when differentiating with respect to ints or bools."""
    if type(value) is float:
        return
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        if isinstance(value, (bool, int)):
            raise TypeError(
                f"cannot differentiate {function_name} with respect to integer "
                f"argument {argument!r} ({value!r}); pass a float"
            )
        if isinstance(value, (complex, str, bytes)) or value is None:
            raise TypeError(
                f"cannot differentiate {function_name} with respect to argument {argument!r}, "
                f"a {type(value).__name__}; pass a real float or float array"
            )
        return
    if dtype.kind in "cOSUV":
        raise TypeError(
            f"cannot differentiate {function_name} with respect to argument {argument!r} "
            f"of dtype {dtype}; pass a real float or float array"
        )
    if dtype.kind in "iub":
        raise TypeError(
            f"cannot differentiate {function_name} with respect to argument {argument!r} "
            f"of dtype {dtype}; pass a float array"
        )


def full_like(x, value):
    """An array shaped like ``x`` filled with ``value`` (a folded seed); a
    NumPy scalar ``x`` gets a NumPy scalar, a Python number a float."""
    if type(x) is float or type(x) is int:
        return float(value)
    full = xp.full_like(x, value, dtype=xp.result_type(x, 1.0))
    return full[()] if isinstance(x, xp.generic) else full


def add_cotangents(a, b):
    """Sum of two cotangents, which for tuples/lists are lists (None = zero)."""
    a_seq, b_seq = isinstance(a, (list, tuple)), isinstance(b, (list, tuple))
    if a_seq and b_seq:
        return [y if x is None else x if y is None else x + y for x, y in zip(a, b)]
    if b_seq and (a is None or (not a_seq and not xp.any(a))):
        return list(b)
    if a_seq and (b is None or (not b_seq and not xp.any(b))):
        return list(a)
    return a + b


def addend_share(g, like):
    """The cotangent of the addend ``like`` of a sum with cotangent ``g``
    (``add_cotangents``): a list cotangent passes through whole (its
    entries have the addend's pieces' shapes), an array is unbroadcast."""
    if isinstance(g, (list, tuple)):
        return g
    return unbroadcast(g, like)


class Cotangents(list):
    """The cotangent of a primitive with several outputs: one array per output.

    Sums add entry by entry (a list would concatenate), so the
    contributions of the outputs a program uses accumulate as arrays do.
    """

    __slots__ = ()

    def __add__(self, other):
        return Cotangents([a + b for a, b in zip(self, other)])

    __radd__ = __add__
    __iadd__ = __add__


def cotangent_or_zero(value):
    """An element of a list cotangent, where None stands for zero."""
    return 0.0 if value is None else value


def zero_slot(cotangent, index):
    """``cotangent`` with the entries at ``index`` set to zero (a copy).

    The adjoint of ``x[index] = v``: the overwritten entries of ``x`` never
    reached the result. A 0.0 placeholder (no cotangent yet) stays as it is.
    """
    if isinstance(cotangent, float):
        return cotangent
    out = xp.array(cotangent, copy=True)
    out[index] = 0
    return out


def owned_copy(value):
    """A private copy of an array cotangent (floats are immutable already),
    so the generated code may then accumulate into it in place."""
    if isinstance(value, float):
        return value
    return xp.array(value)


def as_gradient(cotangent, argument):
    """``cotangent`` as a gradient of ``argument``: a 0.0 placeholder left by
    a loop or branch where nothing flowed becomes zeros of the right shape."""
    if xp.shape(cotangent) == xp.shape(argument):
        return cotangent
    return xp.array(xp.broadcast_to(cotangent, xp.shape(argument)), dtype=xp.result_type(argument, 1.0))


def slot_of(cotangent, index):
    """The cotangent of ``v`` in ``x[index] = v``: ``cotangent[index]``, where
    a 0.0 placeholder stands for zeros.

    A repeated fancy index writes each entry once, the last write winning
    (NumPy buffers the assignment): the positions of ``v`` overwritten by a
    later one never reached ``x``, so their cotangent is zero.
    """
    if isinstance(cotangent, float):
        return cotangent
    return written_only(cotangent[index], cotangent, index)


def written_only(slot, like, index):
    """``slot`` (shaped like ``like[index]``) with zeros where a later
    position of ``index`` names the same entry of ``like``.

    Which write wins is found by replaying the write itself on position
    numbers, so it is NumPy's own rule for any mix of slices, integers and
    index arrays. An index without integer arrays cannot repeat an entry:
    ``slot`` is returned as it is.
    """
    if isinstance(slot, float) or not _may_repeat(index):
        return slot
    positions = xp.reshape(xp.arange(xp.size(slot)), xp.shape(slot))
    owner = xp.full(xp.shape(like), -1, dtype=positions.dtype)
    owner[index] = positions
    return xp.where(owner[index] == positions, slot, 0)


def _may_repeat(index):
    """True when ``index`` holds an integer index array (or list), the only
    parts that can name one entry twice."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, (list, ndarray)) and xp.asarray(part).dtype != xp.bool_:
            return True
    return False


def refuse_shared_array(value, name, operator, filename, lineno):
    """``x += y`` where other names share ``x``: fine for numbers (a new
    object), but on an array it would change those names too, which the
    generated code does not follow — so refuse, never differentiate wrongly."""
    if isinstance(value, ndarray):
        raise UnsupportedSyntaxError(
            f"augmented assignment to {name!r}, an array other names share", filename, lineno,
            "differentiate", f"write {name} = {name} {operator} ...")


def unbroadcast_to(g, shape):
    """:func:`unbroadcast` given the target shape instead of a value of it
    (loops save the shape of a value whose adjoint needs nothing else)."""
    if (g.shape if type(g) is ndarray else xp.shape(g)) == shape:
        return g
    return unbroadcast(g, xp.empty(shape, dtype=bool) if shape else 0.0)


def refuse_if_shared(result, argument, name, filename, lineno):
    """A call's result that shares memory with ``argument``, which the
    function later writes into, would change with the write: refuse."""
    if not isinstance(argument, ndarray):
        return
    items = result if isinstance(result, (list, tuple)) else (result,)
    for item in items:
        if isinstance(item, ndarray) and xp.shares_memory(item, argument):
                raise UnsupportedSyntaxError(
                f"assignment into {name!r} while a view or a call's result shares it",
                filename, lineno,
                "differentiate", f"copy it first: np.copy({name})")


def same_shape(value, previous):
    """``np.shape(value)``, as the ``previous`` tuple when equal: a loop that
    saves a shape per iteration then holds one tuple, not one per step."""
    shape = value.shape if type(value) is ndarray else xp.shape(value)
    return previous if shape == previous else shape
