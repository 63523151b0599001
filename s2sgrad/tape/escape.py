"""Values taken out of a recording tape, and the warning when they come back.

``float(t)``, ``t.numpy()``, ``np.asarray(t)``, ``math.sin(t)`` (and, in
``s2sgrad.tf``, a NumPy function applied to a tensor) turn a tensor into a
plain value: a constant, as in TensorFlow. When ``t`` depends on a source
the tape watches and that constant is then combined with values that
depend on a watched source, the gradient silently misses the path through
it -- so the tape warns, once per source line (``S2SGradWarning``, through
Python's warning filters with the user's file and line).

What the tape can observe of a plain value is its identity and where it
appeared. An :class:`Escapes` (one per tape, created at the first escape,
so recording without escapes pays one ``is None`` test per operation with
a plain operand) keeps:

* the escaped objects themselves (a float, a NumPy scalar or array), held
  until the tape is done so their ids stay theirs: one of them reaching an
  operation is the value coming back, on whatever line;
* the place of the last escape whose result the user does not get as it
  is (``math.sin(t)``, ``np.array(t)``, ``np.sin(t)`` then ``* 2``): a plain
  operand reaching an operation later in the same execution of that line
  (same frame, same line, a later instruction) comes from it. Values
  derived from an escaped one on other lines are beyond what the tape sees.
"""

import linecache
import re
import sys
import warnings

import numpy as np

from s2sgrad.errors import S2SGradWarning
from s2sgrad.primitives import registry
from s2sgrad.transform.explain import COMPARISONS, OPERATOR_SYMBOLS

#: at most this many escaped objects are held per tape (the oldest go first)
MAX_HELD = 256


def _is_internal(module):
    return module.startswith(("s2sgrad.", "numpy.")) or module in ("s2sgrad", "numpy")


def user_frame(frame):
    """The innermost frame from ``frame`` outwards outside s2sgrad and NumPy, or None."""
    while frame is not None:
        if not _is_internal(frame.f_globals.get("__name__") or ""):
            return frame
        frame = frame.f_back
    return None


def called_from_s2sgrad(frame):
    """True when ``frame`` runs code of s2sgrad itself (not the user's, not NumPy's)."""
    module = frame.f_globals.get("__name__") or ""
    return module.startswith("s2sgrad.") or module == "s2sgrad"


class Escapes:
    """What one tape saw leave it (see the module docstring)."""

    __slots__ = ("held", "last", "warned")

    def __init__(self):
        #: id(object) -> (object, how it left, file, line)
        self.held = {}
        #: (id(frame), code, line, instruction, how, file) of the last escape
        #: whose result is not the escaped object itself, or None
        self.last = None
        #: (file, line) of each line warned about -> what came back there
        #: (read by ``tape.explain``)
        self.warned = {}


#: the calls whose result has no derivative to lose (an integer); any other
#: escape is also the last one of its line: what it gives is found by
#: identity, and what the line computes from it (``float(t) ** 2``) by place
_INTEGRAL = frozenset(("int", "__index__", "__int__"))


def note(tape, value, how, frame):
    """Record on ``tape`` that ``value`` left it by ``how`` (``"float()"``...),
    called from ``frame`` (the caller of the protocol method)."""
    escapes = tape._escapes
    if escapes is None:
        escapes = tape._escapes = Escapes()
    user = user_frame(frame)
    filename, lineno = (user.f_code.co_filename, user.f_lineno) if user else (None, None)
    text = _call_text(user) if user else None
    held = escapes.held
    if len(held) >= MAX_HELD:
        del held[next(iter(held))]
    what = f"`{text}`" if text else how
    held[id(value)] = (value, what, filename, lineno)
    if user is not None and _callee(text) not in _INTEGRAL:
        escapes.last = (id(user), user.f_code, lineno, user.f_lasti, what, filename)


def _call_text(frame):
    """The source of the expression the frame is evaluating (``math.sin(x)``), or None."""
    code = frame.f_code
    try:
        positions = list(code.co_positions())[frame.f_lasti // 2]
    except (AttributeError, IndexError):
        return None
    line, end_line, col, end_col = positions
    if None in positions:
        return None
    try:
        lines = linecache.getlines(code.co_filename, frame.f_globals)
    except (ImportError, OSError, ValueError):  # a loader with no source (python -c)
        return None
    if not lines or end_line > len(lines):
        return None
    if line == end_line:
        text = lines[line - 1].encode()[col:end_col].decode(errors="replace")
    else:
        first = lines[line - 1].encode()[col:].decode(errors="replace")
        last = lines[end_line - 1].encode()[:end_col].decode(errors="replace")
        text = first + "".join(lines[line:end_line - 1]) + last
    text = " ".join(text.split())
    return text if 0 < len(text) <= 80 else None


#: a call's callee at the start of its source: ``math.sin`` of ``math.sin(x)``
_CALLEE = re.compile(r"([A-Za-z_][\w.]*)\s*\(")


def _callee(text):
    """The called name of a call expression's source (``sin`` of ``math.sin(x)``).

    Read from the text, not parsed: ``ast`` is not thread-safe in CPython
    3.11 (its recursion-depth bookkeeping is shared), and the escape runs
    in user threads next to the source transformer."""
    if text is None:
        return None
    match = _CALLEE.match(text)
    if match is None:
        return None
    return match.group(1).rsplit(".", 1)[-1]


def coming_back(tape, prim, args, frame, tapes):
    """Warn if a plain value among ``args`` of the recorded ``prim`` escaped ``tape``.

    Called only while ``tape`` records ``prim`` on an input it tracks and
    ``tape._escapes`` is set; ``frame`` is the caller's frame, ``tapes``
    the recording tapes (a line warned about is so for each of them: nested
    tapes warn once).
    """
    escapes = tape._escapes
    found = _held_among(escapes.held, args)
    user = None
    if found is None:
        last = escapes.last
        if last is None:
            return
        user = user_frame(frame)
        if (user is None or id(user) != last[0] or user.f_code is not last[1]
                or user.f_lineno != last[2] or user.f_lasti <= last[3]
                or not _has_plain(args, user.f_code.co_consts)):
            return
        found = (None, last[4], last[5], last[2])
    if user is None:
        user = user_frame(frame)
    if user is None:
        return
    filename, lineno = user.f_code.co_filename, user.f_lineno
    if (filename, lineno) in escapes.warned:
        return
    _, what, from_file, from_line = found
    where = f" at {from_file}:{from_line}" if from_file else ""
    for other in tapes:
        if other._escapes is not None:
            other._escapes.warned[(filename, lineno)] = f"{what}{where}, in {spelling(prim)}"
    message = (
        f"{what}{where} took a value computed from a watched source out of the tape: it is "
        f"a constant (as in TensorFlow), and {spelling(prim)} at {filename}:{lineno} "
        f"combines it with values that depend on a watched source, so no gradient flows "
        f"through it. Compute it with tensor operations to differentiate through it."
    )
    module_globals = user.f_globals
    registry_ = module_globals.setdefault("__warningregistry__", {})
    # (not module_globals: a loader without source, as python -c's, raises there;
    # linecache finds the source of a file by its name)
    warnings.warn_explicit(message, S2SGradWarning, filename, lineno,
                           module=module_globals.get("__name__"), registry=registry_)


def _held_among(held, args):
    for a in args:
        entry = held.get(id(a))
        if entry is not None and entry[0] is a:
            return entry
        if type(a) in (list, tuple):
            entry = _held_among(held, a)
            if entry is not None:
                return entry
    return None


def _has_plain(args, constants=()):
    """True when some input is a plain number or array (not a tensor, not an
    index) other than one of ``constants`` (the code's literals, which the
    line did not compute from an escaped value: ``x + 1.0 if float(x) > 0``)."""
    for a in args:
        if isinstance(a, (float, complex, np.inexact)) or (
                isinstance(a, np.ndarray) and a.dtype.kind in "fc"):
            if not any(a is c for c in constants):
                return True
        if type(a) in (list, tuple) and _has_plain(a, constants):
            return True
    return False


def spelling(prim):
    """How the user wrote ``prim``: ``np.argmax``, ``the operator *``, ``the comparison >``."""
    for node, comparison in COMPARISONS.items():
        if prim is comparison:
            return f"the comparison {OPERATOR_SYMBOLS[node]}"
    record = registry.record(prim)
    if record is not None and record.operator_node is not None:
        symbol = OPERATOR_SYMBOLS.get(record.operator_node, record.operator_node.__name__)
        kind = "comparison" if record.dtype == "bool" else "operator"
        return f"the {kind} {symbol}"
    name = getattr(prim, "__name__", None) or type(prim).__name__
    module = getattr(prim, "__module__", None) or ""
    if module == "numpy" or isinstance(prim, np.ufunc):
        return f"np.{name}"
    return name
