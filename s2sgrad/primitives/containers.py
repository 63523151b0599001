"""Lists, tuples and dicts of arrays: the helpers Python idioms become.

The normaliser spells the container idioms of numerical code with these
helpers (``s2sgrad.frontend.idioms``): a dict display is
``dict_display(keys, values)``, ``d[k] = v`` on a dict or list the function
built is ``d = with_item(d, k, v)`` (a new container: a value read by the
adjoint is never changed behind its back), ``xs.append(v)`` is
``xs = appended(xs, v)``, ``d.get(k)`` is ``dict_get(d, k)``, ``sum(...)`` of
a list is builtin ``sum``; ``a + b`` of two lists or tuples and ``[x] * n``
are differentiated by :func:`sequence_add` and :func:`sequence_repeat`,
which decide at run time whether the operands are sequences.

Cotangents of containers are containers that sum entry by entry
(``runtime.Cotangents`` for lists and tuples, ``runtime.DictCotangent`` for
dicts), ``None`` standing for a zero entry; a zero placeholder (``0.0``)
stands for a container nothing flowed into. Each helper has its rule here,
next to it, and so does each helper those rules call (a second derivative
reads generated code again).
"""

import builtins
import math

import numpy as np

from s2sgrad import runtime
from s2sgrad.primitives.linalg import no_second_order
from s2sgrad.primitives.registry import defnondiff, defvjp
from s2sgrad.runtime import Cotangents, DictCotangent, element_cotangent, unbroadcast

_no_cotangent = runtime._no_cotangent


# -- building containers ----------------------------------------------------


def dict_display(keys, values):
    """``{k1: v1, k2: v2}``: keys and values as two tuples of the same length."""
    return dict(zip(keys, values))


@defvjp(dict_display, holds=True, linear=True, returns_list=True)
def dict_display_vjp(g, ans, keys, values):
    return (None, values_cotangent(g, keys))


def values_cotangent(cotangent, keys):
    """The cotangent of the values tuple of a dict display (``cotangent`` a dict's)."""
    if _no_cotangent(cotangent):
        return 0.0
    return Cotangents(cotangent.get(key) for key in keys)


@defvjp(values_cotangent, holds=True, linear=True, returns_list=True)
def values_cotangent_vjp(g, ans, cotangent, keys):
    return (dict_display(keys, g), None)


def with_item(container, key, value):
    """A copy of list or dict ``container`` with ``container[key] = value``."""
    if isinstance(container, dict):
        new = dict(container)
    elif isinstance(container, list):
        new = list(container)
    else:
        raise TypeError(f"item assignment into a {type(container).__name__}: "
                        "only a list or dict the function built is written by item")
    new[key] = value
    return new


@defvjp(with_item, holds=True, returns_list=True, structures=(0,))
def with_item_vjp(g, ans, container, key, value):
    return (without_item(g, key), None, element_cotangent(g, key))


def without_item(cotangent, key):
    """``cotangent`` with no cotangent at ``key`` (the overwritten item)."""
    if _no_cotangent(cotangent):
        return cotangent
    new = type(cotangent)(cotangent)
    if isinstance(new, dict):
        new.pop(key, None)
    else:
        new[key] = None
    return new


@defvjp(without_item, holds=True, linear=True, returns_list=True)
def without_item_vjp(g, ans, cotangent, key):
    return (without_item(g, key), None)


def appended(items, value):
    """``items.append(value)`` as a new list."""
    if not isinstance(items, list):
        raise TypeError(f"append to a {type(items).__name__}: only a list has append")
    return items + [value]


@defvjp(appended, holds=True, returns_list=True, structures=(0,))
def appended_vjp(g, ans, items, value):
    return (element_cotangent(g, slice(None, -1)), element_cotangent(g, -1))


def extended(items, more):
    """``items.extend(more)`` as a new list."""
    if not isinstance(items, list):
        raise TypeError(f"extend of a {type(items).__name__}: only a list has extend")
    return items + list(more)


@defvjp(extended, holds=True, returns_list=True, structures=(0, 1))
def extended_vjp(g, ans, items, more):
    return (element_cotangent(g, slice(None, len(items))),
            element_cotangent(g, slice(len(items), None)))


# -- reading containers -----------------------------------------------------


def dict_get(mapping, key, default=None):
    """``mapping.get(key, default)``."""
    return mapping.get(key, default)


@defvjp(dict_get, view_of=0, linear=True, structures=(0,))
def dict_get_vjp(g, ans, mapping, key, default=None):
    return (found_cotangent(g, mapping, key), None, default_cotangent(g, mapping, key, default))


def found_cotangent(cotangent, mapping, key):
    """The cotangent of ``mapping`` from a ``get`` of ``key`` (zero if absent)."""
    return DictCotangent({key: cotangent}) if key in mapping else 0.0


def default_cotangent(cotangent, mapping, key, default):
    """The cotangent of the default of a ``get``: ``cotangent`` when the key
    is absent, else zeros shaped like the default."""
    return runtime.zeros_like(default) if key in mapping else cotangent


@defvjp(found_cotangent, holds=True, linear=True, returns_list=True)
def found_cotangent_vjp(g, ans, cotangent, mapping, key):
    return (element_cotangent(g, key), None, None)


@defvjp(default_cotangent, view_of=0, linear=True)
def default_cotangent_vjp(g, ans, cotangent, mapping, key, default):
    return (default_cotangent(g, mapping, key, default), None, None, None)


def dict_items(mapping):
    """``mapping.items()`` as a list of (key, value) tuples."""
    return list(mapping.items())


@defvjp(dict_items, holds=True, returns_list=True, structures=(0,))
def dict_items_vjp(g, ans, mapping):
    return (items_cotangent(g, ans),)


def items_cotangent(cotangent, items):
    """The dict cotangent from the cotangent of its ``items()`` list."""
    if _no_cotangent(cotangent):
        return 0.0
    return DictCotangent((key, element_cotangent(pair, 1)) for (key, _), pair in zip(items, cotangent)
                         if not _no_cotangent(pair))


def dict_values(mapping):
    """``mapping.values()`` as a list."""
    return list(mapping.values())


@defvjp(dict_values, holds=True, returns_list=True, structures=(0,))
def dict_values_vjp(g, ans, mapping):
    return (keyed_cotangent(g, mapping),)


def keyed_cotangent(cotangent, mapping):
    """The dict cotangent from the cotangent of its ``values()`` list."""
    if _no_cotangent(cotangent):
        return 0.0
    return DictCotangent(zip(mapping, cotangent))


@defvjp(keyed_cotangent, holds=True, linear=True)
def keyed_cotangent_vjp(g, ans, cotangent, mapping):
    return (values_cotangent(g, mapping), None)


def dict_keys(mapping):
    """``mapping.keys()`` as a list."""
    return list(mapping)


defnondiff(dict_keys)


# -- sequence arithmetic: a + b and [x] * n ---------------------------------


def _sequences(a, b):
    return isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))


def sequence_add(a, b):
    """``a + b`` where an operand may be a list or tuple (concatenation)."""
    return a + b


@defvjp(sequence_add, structures=(0, 1))
def sequence_add_vjp(g, ans, a, b):
    return (addend_cotangent(g, a, b, 0), addend_cotangent(g, a, b, 1))


def addend_cotangent(cotangent, a, b, which):
    """The cotangent of operand ``which`` of ``a + b``: its part of ``cotangent`` when
    the operands are sequences (concatenated), else ``cotangent`` unbroadcast."""
    if not _sequences(a, b):
        return unbroadcast(cotangent, b if which else a)
    if _no_cotangent(cotangent):
        return 0.0
    return Cotangents(cotangent[len(a):] if which else cotangent[:len(a)])


def addend_cotangent_adjoint(h, cotangent, a, b, which):
    """The transpose of :func:`addend_cotangent` (``h`` an operand's part):
    placed at the operand's entries of a cotangent of ``a + b``."""
    if not _sequences(a, b):
        return unbroadcast(h, cotangent)
    if _no_cotangent(h):
        return 0.0
    before, after = (len(a), 0) if which else (0, len(b))
    return Cotangents([None] * before + list(h) + [None] * after)


@defvjp(addend_cotangent, linear=True)
def addend_cotangent_vjp(g, ans, cotangent, a, b, which):
    return (addend_cotangent_adjoint(g, cotangent, a, b, which), None, None, None)


@defvjp(addend_cotangent_adjoint, linear=True)
def addend_cotangent_adjoint_vjp(g, ans, h, cotangent, a, b, which):
    return (addend_cotangent(g, a, b, which), None, None, None, None)


def sequence_repeat(a, n):
    """``a * n`` where ``a`` may be a list or tuple (repetition)."""
    return a * n


@defvjp(sequence_repeat, structures=(0,))
def sequence_repeat_vjp(g, ans, a, n):
    return (repeated_cotangent(g, a, n), repeated_cotangent(g, n, a))


def repeated_cotangent(cotangent, a, n):
    """The cotangent of ``a`` in ``a * n``: the sum of the ``n`` copies' parts
    of ``cotangent`` for a sequence ``a`` (none for the count), else ``cotangent * n``."""
    if isinstance(a, (list, tuple)):
        if _no_cotangent(cotangent):
            return 0.0
        total = Cotangents([None] * len(a))
        for start in range(0, len(cotangent), max(len(a), 1)):
            total = total + cotangent[start:start + len(a)]
        return total
    if isinstance(n, (list, tuple)):
        return None
    return unbroadcast(cotangent * n, a)


def repeated_cotangent_adjoint(h, cotangent, a, n):
    """The transpose of :func:`repeated_cotangent`: ``h`` (the cotangent of
    one copy of ``a``) in each of the ``n`` copies."""
    if isinstance(a, (list, tuple)):
        if _no_cotangent(h):
            return 0.0
        return Cotangents(list(h) * (len(cotangent) // max(len(a), 1)))
    if isinstance(n, (list, tuple)):
        return None
    return unbroadcast(h, cotangent) * n


# (bilinear in the cotangent and a factor ``n`` that is a number: the
# second derivative of ``y * x`` where ``y`` may be a list needs both)
@defvjp(repeated_cotangent, multilinear=True)
def repeated_cotangent_vjp(g, ans, cotangent, a, n):
    return (repeated_cotangent_adjoint(g, cotangent, a, n), None, repeated_cotangent(cotangent, n, g))


@defvjp(repeated_cotangent_adjoint, multilinear=True)
def repeated_cotangent_adjoint_vjp(g, ans, h, cotangent, a, n):
    return (repeated_cotangent(g, a, n), None, None,
            repeated_cotangent(repeated_cotangent_adjoint(h, cotangent, a, 1.0), n, g))


# -- builtin sum ------------------------------------------------------------


@defvjp(builtins.sum, structures=(0,))
def builtin_sum(g, ans, iterable, start=0):
    return (spread_cotangent(g, iterable), unbroadcast(g, start))


@defvjp(math.fsum, structures=(0,), scalar=True, dtype="float")
def fsum(g, ans, seq):
    return (spread_cotangent(g, seq),)


def spread_cotangent(cotangent, items):
    """The cotangent of what builtin ``sum`` added up: ``cotangent`` for each item
    (unbroadcast to it), or for each row of an array summed by rows."""
    if isinstance(items, np.ndarray):
        return np.array(np.broadcast_to(cotangent, np.shape(items)), dtype=np.result_type(items, 1.0))
    return Cotangents(unbroadcast(cotangent, item) for item in items)


@defvjp(spread_cotangent, holds=True, linear=True, returns_list=True)
def spread_cotangent_vjp(g, ans, cotangent, items):
    return (gathered_cotangent(g, cotangent), None)


def gathered_cotangent(item_cotangents, like):
    """The transpose of :func:`spread_cotangent`: the items' cotangents
    summed, shaped like ``like`` (the 0.0 placeholder of a list no
    cotangent reached -- an empty one, a loop that ran no iteration -- is
    a zero)."""
    if item_cotangents is None or type(item_cotangents) is float and item_cotangents == 0.0:
        return runtime.zeros_like(like)
    if isinstance(item_cotangents, np.ndarray):
        return unbroadcast(np.sum(item_cotangents, axis=0), like)
    return unbroadcast(builtins.sum(runtime.cotangent_or_zero(item) for item in item_cotangents),
                       like)


# -- zip, list and tuple ----------------------------------------------------


def zipped(a, b=None, c=None, d=None):
    """``list(zip(a, b, ...))`` of up to four sequences."""
    return list(zip(*(s for s in (a, b, c, d) if s is not None)))


@defvjp(zipped, holds=True, returns_list=True, structures=(0, 1, 2, 3))
def zipped_vjp(g, ans, a, b=None, c=None, d=None):
    return (unzipped_cotangent(g, a, 0), unzipped_cotangent(g, b, 1),
            unzipped_cotangent(g, c, 2), unzipped_cotangent(g, d, 3))


def unzipped_cotangent(cotangent, seq, position):
    """The cotangent of the ``position``-th sequence zipped, from the
    cotangent of the list of tuples (items past the shortest get none)."""
    if seq is None or _no_cotangent(cotangent):
        return 0.0
    entries = [element_cotangent(pair, position) for pair in cotangent]
    return _like_sequence(entries, seq)


def _like_sequence(entries, seq):
    """Item cotangents ``entries`` (0.0 for none) as the cotangent of ``seq``:
    an array for an array (iterated by rows), else a Cotangents."""
    if isinstance(seq, np.ndarray):
        grad = np.zeros(np.shape(seq), dtype=np.result_type(seq, 1.0))
        for i, entry in enumerate(entries):
            grad[i] += entry
        return grad
    return Cotangents(list(entries) + [None] * (len(seq) - len(entries)))


def transposed(rows):
    """``list(zip(*rows))``."""
    return list(zip(*rows))


@defvjp(transposed, holds=True, returns_list=True, structures=(0,))
def transposed_vjp(g, ans, rows):
    return (transposed_cotangent(g, rows),)


def transposed_cotangent(cotangent, rows):
    """The cotangent of ``rows`` from that of ``list(zip(*rows))``."""
    if _no_cotangent(cotangent):
        return 0.0
    return _like_sequence([_like_sequence(
        [element_cotangent(element_cotangent(cotangent, k), i) for k in range(len(cotangent))], row)
        for i, row in enumerate(rows)], rows)


@defvjp(builtins.list, builtins.tuple, holds=True, linear=True, returns_list=True, structures=(0,))
def sequence_copy(g, ans, iterable=()):
    return (copied_cotangent(g, iterable),)


def copied_cotangent(cotangent, iterable):
    """The cotangent of what ``list(...)``/``tuple(...)`` copied item by item
    (a dict's keys get none)."""
    if _no_cotangent(cotangent) or isinstance(iterable, dict):
        return 0.0
    return _like_sequence([runtime.cotangent_or_zero(entry) for entry in cotangent], iterable)


def item_cotangents(cotangent, iterable):
    """The transpose of :func:`copied_cotangent`: the list of the item
    cotangents of a cotangent shaped like ``iterable`` (an array's rows)."""
    if _no_cotangent(cotangent) or isinstance(iterable, dict):
        return 0.0
    return Cotangents(element_cotangent(cotangent, i) for i in range(len(iterable)))


@defvjp(copied_cotangent, holds=True, linear=True, returns_list=True)
def copied_cotangent_vjp(g, ans, cotangent, iterable):
    return (item_cotangents(g, iterable), None)


@defvjp(item_cotangents, holds=True, linear=True, returns_list=True)
def item_cotangents_vjp(g, ans, cotangent, iterable):
    return (copied_cotangent(g, iterable), None)


# (zip's, zip(*rows)'s and d.items()'s cotangents have no transposes yet:
# a second derivative through them is refused where it is built)


@defvjp(unzipped_cotangent)
def unzipped_cotangent_vjp(g, ans, cotangent, seq, position):
    return (no_second_order("zip(...)"), None, None)


@defvjp(transposed_cotangent)
def transposed_cotangent_vjp(g, ans, cotangent, rows):
    return (no_second_order("zip(*rows)"), None)


@defvjp(items_cotangent)
def items_cotangent_vjp(g, ans, cotangent, items):
    return (no_second_order("d.items()"), None)


@defvjp(gathered_cotangent, linear=True)
def gathered_cotangent_vjp(g, ans, item_cotangents, like):
    return (spread_cotangent(g, item_cotangents), None)


defnondiff(builtins.slice)


# -- starred unpacking -------------------------------------------------------


def require_unpacked(items, count):
    """Python's ValueError of ``a, *rest = items`` with fewer than ``count``
    items (``count`` the names besides the starred one)."""
    if len(items) < count:
        raise ValueError(f"not enough values to unpack (expected at least {count}, "
                         f"got {len(items)})")


defnondiff(require_unpacked)


# -- sorted, max and min of an iterable --------------------------------------
# ``sorted(xs, key=f)`` is ``[xs[i] for i in sorted_order([f(v) for v in xs])]``
# and ``max(xs)`` is ``xs[index_of_max(xs)]`` (s2sgrad.frontend.desugar): the
# items themselves, chosen by positions that carry no derivative.


def sorted_order(keys, reverse=False):
    """The positions of ``keys`` in the order ``sorted(keys, reverse=reverse)``
    puts them (equal keys keep their order, as ``sorted`` keeps items')."""
    return sorted(range(len(keys)), key=keys.__getitem__, reverse=reverse)


def index_of_max(keys):
    """The position of the first largest of ``keys`` (the item ``max`` returns)."""
    return max(range(len(keys)), key=keys.__getitem__)


def index_of_min(keys):
    """The position of the first smallest of ``keys`` (the item ``min`` returns)."""
    return min(range(len(keys)), key=keys.__getitem__)


defnondiff(sorted_order, index_of_max, index_of_min, dtype="int")


# -- a callee's in-place update of an argument --------------------------------


def written_through(old, new):
    """What the caller's ``old`` holds after an inlined callee ran
    ``param += ...`` on it: ``new`` for an array (the update was in place),
    ``old`` itself for a number (the callee only rebound its own name)."""
    return new if isinstance(old, np.ndarray) else old


def kept_cotangent(cotangent, old):
    """The share of ``written_through``'s cotangent that reaches ``old``."""
    return np.zeros_like(old) if isinstance(old, np.ndarray) else cotangent


def passed_cotangent(cotangent, old):
    """The share of ``written_through``'s cotangent that reaches ``new``."""
    return cotangent if isinstance(old, np.ndarray) else 0.0


@defvjp(written_through, linear=True)
def written_through_vjp(g, ans, old, new):
    return (kept_cotangent(g, old), passed_cotangent(g, old))


@defvjp(kept_cotangent, linear=True)
def kept_cotangent_vjp(g, ans, cotangent, old):
    return (kept_cotangent(g, old), None)


@defvjp(passed_cotangent, linear=True)
def passed_cotangent_vjp(g, ans, cotangent, old):
    return (passed_cotangent(g, old), None)


# -- ndarray.tolist ----------------------------------------------------------


def tolist(a):
    """``a.tolist()``: the entries of the array ``a`` as (nested lists of)
    Python numbers (the normaliser's spelling of the method: see frontend.idioms)."""
    return a.tolist()


def tolist_cotangent(cotangent, a):
    """The cotangent of ``a`` from that of ``a.tolist()``: nested lists of
    the entries' cotangents (None or 0.0 where none flowed)."""
    grad = np.zeros(np.shape(a), dtype=np.result_type(a, 1.0))
    _filled(grad, cotangent)
    return grad[()] if grad.ndim == 0 else grad


def _filled(grad, cotangent):
    """Write the nested list ``cotangent`` into the array ``grad`` (a view)."""
    if _no_cotangent(cotangent):
        return
    if grad.ndim == 0:
        grad[...] = cotangent
        return
    for i, entry in enumerate(cotangent):
        if grad.ndim > 1:
            _filled(grad[i], entry)
        elif not _no_cotangent(entry):
            grad[i] = entry


def entry_cotangents(g):
    """The transpose of :func:`tolist_cotangent`: ``g.tolist()`` as a list
    cotangent (a Cotangents at every level)."""
    g = np.asarray(g)
    if g.ndim == 0:
        return g[()]
    return Cotangents(entry_cotangents(row) for row in g)


@defvjp(tolist, linear=True, returns_list=True)
def tolist_vjp(g, ans, a):
    return (tolist_cotangent(g, a),)


@defvjp(tolist_cotangent, linear=True, allocates=True, dtype="float")
def tolist_cotangent_vjp(g, ans, cotangent, a):
    return (entry_cotangents(g), None)


@defvjp(entry_cotangents, linear=True, returns_list=True)
def entry_cotangents_vjp(g, ans, h):
    return (tolist_cotangent(g, h),)
