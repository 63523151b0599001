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

import numbers

from s2sgrad.backend import broadcast_view, ndarray, xp

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
            g = xp.asarray(g, dtype=_floating_type(like))
        g = broadcast_view(g, full)
    lead = len(full) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and full[lead + i] != 1
    )
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead:
        g = xp.reshape(g, shape)
    return g


def _floating_type(like):
    """The floating dtype a seed spread over ``like`` takes (a list or tuple
    of numbers as the array it makes: ``np.sum([np.sin(v) for v in x])``)."""
    if type(like) is list or type(like) is tuple:
        like = xp.asarray(like)
    return xp.result_type(like, 1.0)


def repeat_to(g, like, axis=None, keepdims=False):
    """Spread the cotangent of a reduction of ``like`` back over its shape.

    ``g`` has the reduced shape; the reduced axes are reinserted (unless
    ``keepdims`` kept them) and ``g`` is broadcast to ``like``'s shape as a
    read-only view, never materialised.
    """
    shape = xp.shape(like)
    if type(g) is float:  # a seed: take the precision of what it spreads over
        g = xp.asarray(g, dtype=_floating_type(like))
    if axis is not None and not keepdims:
        axes = (axis,) if xp.ndim(axis) == 0 else tuple(axis)
        g = xp.expand_dims(g, tuple(a % len(shape) for a in axes))
    if not shape:  # a scalar stays a scalar (a 0-d array would reach the gradient)
        return g[()] if type(g) is ndarray else g
    return broadcast_view(g, shape)


def zeros_like(x):
    """The gradient of an argument the result does not depend on (a NumPy
    scalar's is a NumPy scalar of its type, a Python number's a float; for a
    list, tuple or dict: the same structure of zeros; None (no gradient, an
    entry of a list cotangent) stays None)."""
    if type(x) is float or type(x) is int:
        return 0.0
    if x is None:
        return None
    if isinstance(x, STRUCTURES):
        return structure_gradient(None, x, as_given=True)
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
    """Raise ValueError unless ``value`` is a real scalar (what grad,
    value_and_grad, hessian and hvp need; the message names none of them:
    the same generated code serves them all)."""
    if type(value) is float:
        return
    needs = f"{function_name} must return a real scalar to be differentiated"
    if value is None or isinstance(value, (str, bytes)):
        what = "None" if value is None else f"{type(value).__name__} {value!r}"
        raise ValueError(f"{needs}; it returned {what}")
    shape = xp.shape(value)
    dtype = getattr(value, "dtype", None)
    if shape == () and (isinstance(value, complex) or (dtype is not None and dtype.kind == "c")):
        if xp.imag(value) == 0:  # (NumPy 2.5's eigvals of a real spectrum): its real part
            return
        raise ValueError(
            f"{needs}; it returned the complex value {complex(value)}: differentiate its "
            "real part (np.real(...)) or its modulus (np.abs(...))")
    if shape != () or (dtype is not None and dtype.kind not in "fiub") or isinstance(value, complex):
        raise ValueError(
            f"{needs}; it returned {type(value).__name__} of shape {shape}"
            + (f" and dtype {dtype}" if dtype is not None else "")
            + (" (for an array output, use sg.jacobian)" if shape != () else "")
        )


#: (a derivative differentiated again still requires what the function it
#: differentiates returns to be a scalar: see frontend.normalise)
require_scalar.checks_result = True


@entry_guard
def require_float_scalar(value, argument, function_name):
    """:func:`require_float`, and a scalar: the argument of a gradient read
    again whose shape that gradient has (``grad`` needs a scalar)."""
    require_float(value, argument, function_name)
    if type(value) is not float and xp.shape(value) != ():
        raise ValueError(
            f"the gradient of {function_name} must return a real scalar to be differentiated; "
            f"it has the shape of its argument {argument!r}, {xp.shape(value)} (for the "
            f"matrix of second derivatives, use sg.hessian)")


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
        if isinstance(value, (complex, str, bytes)) or value is None or \
                not isinstance(value, (list, tuple, dict, numbers.Real)):
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
    entries have the addend's pieces' shapes), an array is unbroadcast; a
    zero placeholder for a list addend stays one."""
    if isinstance(g, STRUCTURES) or (isinstance(like, STRUCTURES) and _no_cotangent(g)):
        return g
    return unbroadcast(g, like)


#: the containers whose cotangent is a container of the same shape
STRUCTURES = (list, tuple, dict)


def _no_cotangent(value):
    """True for what stands for a zero cotangent: None, or the 0.0
    placeholder of a loop or branch where nothing flowed."""
    return value is None or (type(value) is float and value == 0.0)


def _add_entries(a, b):
    if a is None:
        return b
    if b is None:
        return a
    if type(a) in STRUCTURES:  # (a callee's gradient of a nested container)
        a = as_cotangent(a)
    return a + b


class Cotangents(list):
    """The cotangent of a list, a tuple, or a primitive with several outputs:
    one entry per item, ``None`` standing for zero.

    Sums add entry by entry (a list would concatenate), so contributions
    accumulate as arrays do; a zero placeholder (``None``, ``0.0``) adds
    nothing, and plain lists and tuples (a callee's gradient of a sequence)
    add entry by entry too.
    """

    __slots__ = ()

    def __add__(self, other):
        if _no_cotangent(other):
            return self
        return Cotangents([_add_entries(a, b) for a, b in zip(self, other)])

    __radd__ = __add__
    __iadd__ = __add__


class DictCotangent(dict):
    """The cotangent of a dict: key -> cotangent of the value, for the keys
    that received one (a missing key, or ``None``, is zero). Sums merge."""

    __slots__ = ()

    def __add__(self, other):
        if _no_cotangent(other):
            return self
        merged = DictCotangent(self)
        for key, value in other.items():
            merged[key] = _add_entries(merged.get(key), value)
        return merged

    __radd__ = __add__
    __iadd__ = __add__


def as_cotangent(value):
    """``value`` (a gradient, maybe of a list, tuple or dict) as a cotangent
    that sums entry by entry: plain containers become :class:`Cotangents`
    and :class:`DictCotangent`, nested ones too."""
    if isinstance(value, dict):
        return DictCotangent({k: as_cotangent(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return Cotangents(as_cotangent(v) for v in value)
    return value


def structure_gradient(cotangent, argument, as_given=False):
    """The cotangent of list, tuple or dict ``argument`` from ``cotangent``,
    complete: every leaf a gradient shaped like the argument's, zeros where
    nothing flowed. With ``as_given`` it is the argument's own structure
    (type, keys, nesting: what a gradient returns), else a cotangent that
    sums entry by entry (what the adjoint accumulates)."""
    if isinstance(argument, dict):
        get = cotangent.get if isinstance(cotangent, dict) else _nothing
        grads = {key: _leaf_gradient(get(key), value, as_given) for key, value in argument.items()}
        return grads if as_given else DictCotangent(grads)
    grads = [_leaf_gradient(c, a, as_given) for c, a in zip(_entries(cotangent, argument), argument)]
    if not as_given:
        return Cotangents(grads)
    if isinstance(argument, list):
        return grads
    kind = type(argument)
    return kind(*grads) if hasattr(argument, "_fields") else kind(grads)  # (namedtuples)


def _entries(cotangent, sequence):
    """The items' cotangents in ``cotangent`` of list or tuple ``sequence``:
    its entries; the rows of an array (a NumPy function took the sequence
    for an array: ``np.dot(p, p)``); None for each where nothing flowed."""
    if isinstance(cotangent, (list, tuple)):
        return cotangent
    if isinstance(cotangent, ndarray) and cotangent.ndim and len(cotangent) == len(sequence):
        return list(cotangent)
    if _no_cotangent(cotangent):
        return (None,) * len(sequence)
    raise TypeError(f"a cotangent of shape {xp.shape(cotangent)} for a sequence of "
                    f"{len(sequence)} items")


def _nothing(key):
    return None


def _leaf_gradient(cotangent, argument, as_given):
    if isinstance(argument, STRUCTURES):
        return structure_gradient(cotangent, argument, as_given)
    if cotangent is None:
        return zeros_like(argument)
    return as_gradient(cotangent, argument)


def gradient_of(cotangent, argument):
    """The gradient returned for ``argument``: :func:`as_gradient`, in the
    argument's own structure when it is a list, tuple or dict (a tuple's
    gradient is a tuple, not the cotangent the adjoint sums entry by entry)."""
    if isinstance(argument, STRUCTURES):
        return structure_gradient(cotangent, argument, as_given=True)
    return as_gradient(cotangent, argument)


def rule_gradients(returned):
    """What a one-argument rule returned, as the tuple of its gradients (the
    rule may return the gradient alone or in a tuple)."""
    return returned if type(returned) in (tuple, list) else (returned,)


def cotangent_or_zero(value):
    """An element of a list cotangent, where None stands for zero."""
    return 0.0 if value is None else value


def element_cotangent(cotangent, index):
    """The cotangent of ``seq[index]`` from the cotangent of ``seq``: an
    array's entry, a list's item (a slice: its items), a dict's value. A
    zero placeholder (``None``, ``0.0``: nothing flowed into the sequence,
    as for the unused ``cache`` of ``out, cache = layer(x)``) gives 0.0,
    and so does an item with no cotangent."""
    if _no_cotangent(cotangent):
        return 0.0
    if isinstance(cotangent, dict):
        value = cotangent.get(index)
    else:
        value = cotangent[index]
        if type(index) is slice and isinstance(cotangent, list):
            value = Cotangents(value)
    return 0.0 if value is None else value


def element_cotangent_adjoint(g, cotangent, index):
    """The transpose of :func:`element_cotangent`: ``g`` at ``index`` of a
    cotangent shaped like ``cotangent`` (zero when that was a placeholder)."""
    if _no_cotangent(cotangent):
        return 0.0
    if isinstance(cotangent, dict):
        return DictCotangent({index: g})
    if isinstance(cotangent, (list, tuple)):  # (a tuple: np.unstack's, a callee's)
        entries = Cotangents([None] * len(cotangent))
        if type(index) is slice:  # (the cotangent of a slice of items: its items)
            if not _no_cotangent(g):
                entries[index] = g
        else:
            entries[index] = g
        return entries
    grad = xp.zeros_like(cotangent)
    grad[index] = g
    return grad


def zero_slot(cotangent, index):
    """``cotangent`` with the entries at ``index`` set to zero (a copy).

    The adjoint of ``x[index] = v``: the overwritten entries of ``x`` never
    reached the result. A 0.0 placeholder (no cotangent yet) stays as it is.
    """
    if isinstance(cotangent, float):
        return cotangent
    if isinstance(cotangent, (list, tuple)):  # ``items[i] = v`` on a list
        out = Cotangents(xp.array(c, copy=True) if isinstance(c, ndarray) else c for c in cotangent)
        for i in range(*index.indices(len(out))) if type(index) is slice else (index,):
            out[i] = xp.zeros_like(out[i]) if isinstance(out[i], ndarray) else None
        return out
    out = xp.array(cotangent, copy=True)
    out[index] = 0
    return out


def owned_copy(value):
    """A private copy of an array cotangent (floats are immutable already),
    so the generated code may then accumulate into it in place."""
    if isinstance(value, float):
        return value
    return xp.array(value)


def gradient_cast(helper):
    """Mark ``helper`` as the cast of a returned gradient: ``helper(g, x)``
    is ``g`` in ``x``'s type. When generated code is read again, a float
    guard ending ``return <the final return, some entries cast>`` is left
    out with the other checks (its float path returns the same values)."""
    helper.gradient_cast = True
    return helper


@gradient_cast
def as_gradient(cotangent, argument):
    """``cotangent`` as the gradient returned for ``argument`` (SPEC §1: it
    has the argument's type, shape and dtype).

    A Python float argument gets a Python float, a NumPy scalar a scalar of
    its type, an array (0-d too) an array of its dtype; a 0.0 placeholder
    left by a loop or branch where nothing flowed becomes zeros of the right
    shape, and the cotangent of a list, tuple or dict the argument's
    structure. Generated code calls it only where
    :mod:`s2sgrad.transform.dtypes` could not prove the types agree; when
    they do agree at run time it returns ``cotangent`` itself after one
    class and one dtype comparison.
    """
    kind = argument.__class__
    if cotangent.__class__ is kind:
        if kind is float:
            return cotangent
        if kind is ndarray:
            if cotangent.dtype is argument.dtype and cotangent.shape == argument.shape:
                return cotangent
        elif kind in _FLOAT_SCALARS:
            return cotangent
    if isinstance(argument, STRUCTURES):
        return structure_gradient(cotangent, argument)
    return _cast_like(cotangent, argument)


def as_tangent(tangent, value):
    """The tangent returned beside ``value`` by forward-mode code, in the
    value's type and dtype (:func:`as_gradient`); one of another shape (a
    primitive returning the scalar 0.0 for zeros of an array) as it is."""
    kind = value.__class__
    if (tangent.__class__ is kind and (kind is float or kind in _FLOAT_SCALARS)) \
            or isinstance(value, STRUCTURES) or isinstance(tangent, STRUCTURES) \
            or xp.shape(tangent) != xp.shape(value):
        return tangent  # (a structure's tangent is its entries')
    return as_gradient(tangent, value)


gradient_cast(gradient_of)


#: the NumPy scalar types whose class fixes the dtype
_FLOAT_SCALARS = frozenset((xp.float16, xp.float32, xp.float64, xp.longdouble))


def _cast_like(value, argument):
    """``value`` shaped like ``argument``, of its dtype and type (the slow
    path of :func:`as_gradient`, where they differ). A placeholder or a
    single-entry cotangent of a scalar argument is broadcast or reshaped;
    any other shape must broadcast (a mismatch raises, never reshapes)."""
    kind = type(argument)
    if kind is float or kind is int:
        return float(value if type(value) is float else xp.reshape(value, ())[()])
    if kind is not ndarray and not isinstance(argument, xp.generic):
        # (not a NumPy value -- a tape's Tensor: shaped, its dtype its own)
        if xp.shape(value) == xp.shape(argument):
            return value
        return xp.array(xp.broadcast_to(value, xp.shape(argument)),
                        dtype=xp.result_type(argument, 1.0))
    dtype = argument.dtype if argument.dtype.kind == "f" else xp.result_type(argument, 1.0)
    shape = argument.shape
    if xp.shape(value) != shape:
        value = xp.reshape(value, ()) if not shape and xp.size(value) == 1 \
            else xp.broadcast_to(value, shape)
    if kind is ndarray:
        # (a broadcast view or a scalar becomes an array of its own)
        return xp.array(value, dtype=dtype)
    return dtype.type(value)


def slot_of(cotangent, index):
    """The cotangent of ``v`` in ``x[index] = v``: ``cotangent[index]``, where
    a 0.0 placeholder stands for zeros.

    A repeated fancy index writes each entry once, the last write winning
    (NumPy buffers the assignment): the positions of ``v`` overwritten by a
    later one never reached ``x``, so their cotangent is zero.
    """
    if isinstance(cotangent, float):
        return cotangent
    if isinstance(cotangent, (list, tuple)):  # ``items[i] = v`` on a list
        return element_cotangent(cotangent, index)
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


def refuse_parameter_update(value, name, operator, filename, lineno):
    """``param op= v`` in a function called by the differentiated one: on
    an array it changes the caller's array too, which the callee's own
    gradient does not follow -- refuse (a number is a new object)."""
    if isinstance(value, ndarray):
        raise UnsupportedSyntaxError(
            f"augmented assignment to parameter {name!r}, which changes the caller's array",
            filename, lineno, "differentiate",
            f"write {name} = {name} {operator} ... and return {name} to the caller")


def refuse_shared_argument(value, name, callee, filename, lineno):
    """A callee ran ``param op= v`` on the array ``name`` while other names
    share it: they would change too, which the generated code does not
    follow -- refuse (a number is a new object: nothing to refuse)."""
    if isinstance(value, ndarray):
        raise UnsupportedSyntaxError(
            f"call to {callee}(), which updates {name!r} in place while other names share it",
            filename, lineno, "differentiate", f"pass a copy: {callee}(np.copy({name}), ...)")


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


def in_place(value, target):
    """``target op= operand`` computed as ``value = target op operand``: on an
    array ``target`` NumPy writes into it, so the result keeps its dtype and
    shape (a float32 array plus a float64 number stays float32, an integer
    array plus a float raises, an operand of a larger shape raises); any
    other ``target`` (a number) is rebound, so ``value`` is the result."""
    if target.__class__ is not ndarray or (
            value.__class__ is ndarray and value.dtype is target.dtype
            and value.shape == target.shape):
        return value
    shape, dtype = xp.shape(value), xp.result_type(value)
    if shape != target.shape:
        raise ValueError(f"non-broadcastable output operand with shape {_shape_text(target.shape)} "
                         f"doesn't match the broadcast shape {_shape_text(shape)}")
    if not xp.can_cast(dtype, target.dtype, casting="same_kind"):
        raise TypeError(f"Cannot cast ufunc output from {dtype!r} to {target.dtype!r} "
                        "with casting rule 'same_kind'")
    return xp.asarray(value, dtype=target.dtype)


def _shape_text(shape):
    """A shape as NumPy's messages print it: ``(2,3)``, ``(3,)``."""
    return "(" + ",".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def refuse_aliased_argument(other, argument, name, other_name, filename, lineno):
    """Argument ``argument``, which the function writes into, sharing memory
    with argument ``other`` (one array passed for both): the write would
    change ``other`` too, which a derivative taking them apart does not
    follow -- refuse."""
    if isinstance(argument, ndarray) and isinstance(other, ndarray) \
            and xp.shares_memory(other, argument):
        raise UnsupportedSyntaxError(
            f"assignment into argument {name!r}, which shares memory with argument "
            f"{other_name!r}", filename, lineno, "differentiate",
            f"pass a copy for one of them: np.copy({other_name})")


def same_shape(value, previous):
    """``np.shape(value)``, as the ``previous`` tuple when equal: a loop that
    saves a shape per iteration then holds one tuple, not one per step."""
    shape = value.shape if type(value) is ndarray else xp.shape(value)
    return previous if shape == previous else shape



#: ``push(stack, value)``: save ``value`` on ``stack`` (a list), what a loop's
#: adjoint will pop. Generated code pushes the values an iteration
#: overwrites and the trip counts of loops; ``pop(stack)`` gives them back
#: in reverse order. Both are primitives (``s2sgrad.primitives.stacks``), so
#: generated code that uses a stack is differentiated again like any other;
#: they are the list methods themselves (called as functions, at the cost
#: of a method call).
push = list.append
#: ``pop(stack)``: the value last pushed on ``stack``, removed from it
pop = list.pop
