"""The exceptions s2sgrad raises: one base class, one for unsupported code,
and subclasses of it for the refusals a caller acts on.

Every error that concerns the user's source names the construct and the
file and line in the user's source, so that the message alone is enough to
find the problem. The pipeline adds the name of the pass that raised it as
the attribute ``pass_name`` (not to the message: that is in the user's
terms). Callers decide what to do from the class of an error, never from
its text.
"""

import functools
import linecache
import sys
import types


class S2SGradError(Exception):
    """Base class of every error s2sgrad raises on purpose."""


class UnsupportedSyntaxError(S2SGradError):
    """A construct s2sgrad cannot differentiate (never a wrong gradient).

    The message reads ``<construct> is not supported at <file>:<line>`` plus
    an optional hint. ``stage`` says which part of s2sgrad refused (an
    attribute only).
    """

    def __init__(self, construct, filename=None, lineno=None, stage=None, hint=None):
        filename, lineno = user_location(filename, lineno)
        self.construct = construct
        self.filename = filename
        self.lineno = lineno
        self.stage = stage
        self.hint = hint
        where = f" at {filename}:{lineno}" if filename else ""
        extra = f": {hint}" if hint else ""
        super().__init__(f"{construct} is not supported{where}{extra}")


#: generated file name -> the user's (file, line) of each of its lines (1-based;
#: see s2sgrad.codegen.compile, which registers and forgets them)
_ORIGINS = {}


def user_location(filename, lineno):
    """``(filename, lineno)``, or where that line of generated code came
    from in the user's source when ``filename`` is generated code (a
    derivative read again: an order-2 refusal names the user's line)."""
    lines = _ORIGINS.get(filename)
    if lines is None or not lineno or not 0 < lineno <= len(lines) or lines[lineno - 1] is None:
        return filename, lineno
    return lines[lineno - 1]


def register_origins(filename, lines):
    """Record the user's (file, line) of each line of generated ``filename``."""
    _ORIGINS[filename] = list(lines)


def forget_origins(filename):
    _ORIGINS.pop(filename, None)


def reports_at_user_lines(filename):
    """True for the file of generated code compiled to report errors of
    the user's code at the user's lines (:func:`at_user_lines`; its compiled
    body has a handler its source does not show)."""
    return filename in _ORIGINS


def at_user_lines(error):
    """Called by generated code on an exception leaving it (see
    s2sgrad.codegen.compile): when the user's own code raised it (a shape
    mismatch in ``x @ W``), each frame of generated code in its traceback
    is replaced by a frame at the user's line that code came from, and a
    note names the generated line, so the traceback ends at the user's
    file and line as an error of the function itself would. Errors of
    s2sgrad (in the user's terms already) and those of the checks of the
    arguments generated code makes (helpers marked ``entry_guard``) are
    left as they are."""
    if isinstance(error, (S2SGradError, InternalError, RecursionError, MemoryError)):
        return  # (ours, or no room to do more: raised again as they are)
    frames = []
    tb = error.__traceback__
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    generated = [k for k, t in enumerate(frames) if _user_line(t) is not None]
    if not generated or _raised_by_a_guard(frames[generated[-1] + 1:]):
        return
    last = generated[-1]
    inside = _inside_s2sgrad(frames[last + 1:])
    # (what follows the innermost generated frame stays, unless it is a
    # helper of s2sgrad's that the user's line runs: not the user's code)
    rebuilt = frames[last + 1] if last + 1 < len(frames) and not inside else None
    for t in reversed(frames[:last + 1]):
        place = _user_line(t)
        rebuilt = types.TracebackType(rebuilt, t.tb_frame, t.tb_lasti, t.tb_lineno) \
            if place is None else _frame_at(*place, t.tb_frame.f_code.co_name, rebuilt)
    innermost = frames[last]
    if not any(note.startswith(_NOTE) for note in getattr(error, "__notes__", ())):
        filename, lineno = _user_line(innermost)
        code = innermost.tb_frame.f_code
        error.add_note(f"{_NOTE} {filename}:{lineno}, line "
                       f"{innermost.tb_lineno - code.co_firstlineno + 1} of {code.co_name}, "
                       f"the derivative s2sgrad generated: sg.source shows it"
                       + (f"; in s2sgrad's {inside})" if inside else ")"))
    error.with_traceback(rebuilt)


_NOTE = "(raised at"


def _user_line(tb):
    """The user's ``(file, line)`` of traceback entry ``tb`` when it is a
    line of generated code that came from a line of the user's, else None."""
    filename = tb.tb_frame.f_code.co_filename
    if filename not in _ORIGINS:
        return None
    place = user_location(filename, tb.tb_lineno)
    if place[0] is None or place[0] in _ORIGINS or not linecache.getlines(place[0]):
        return None
    return place


def _inside_s2sgrad(frames):
    """The name of the function of s2sgrad the first of ``frames`` (those
    after generated code) runs, or None when it is not s2sgrad's."""
    if not frames:
        return None
    frame = frames[0].tb_frame
    module = str(frame.f_globals.get("__name__", ""))
    return frame.f_code.co_name if module.partition(".")[0] == "s2sgrad" else None


def _raised_by_a_guard(frames):
    """True when the first of ``frames`` (those after generated code) runs
    an entry guard of generated code (s2sgrad.runtime.entry_guard)."""
    if not frames:
        return False
    frame = frames[0].tb_frame
    helper = frame.f_globals.get(frame.f_code.co_name)
    return getattr(helper, "entry_guard", False) is True


def _frame_at(filename, lineno, name, tb_next):
    """A traceback entry at ``filename:lineno`` in function ``name`` (a
    frame of code compiled under that file name, raising at that line and
    spanning all of it: tracebacks show the user's line, read from the file
    itself, without pointing at part of it), then ``tb_next``."""
    code = _raising_at(filename, lineno, name, linecache.getline(filename, lineno).rstrip())
    try:
        exec(code, {"E": _Placeholder()})
    except _Placeholder:
        made = sys.exc_info()[2].tb_next
    return types.TracebackType(tb_next, made.tb_frame, made.tb_lasti, made.tb_lineno)


@functools.lru_cache(maxsize=256)
def _raising_at(filename, lineno, name, line):
    """The code :func:`_frame_at` runs: ``raise(E)`` spanning ``line``."""
    indent = len(line) - len(line.lstrip())
    statement = "raise(" + " " * max(len(line) - indent - 8, 0) + "E)"
    if indent and lineno > 1:  # (at the line's own column: inside a block)
        text = "\n" * (lineno - 2) + "if 1:\n" + " " * indent + statement
    else:
        text = "\n" * (lineno - 1) + statement
    return compile(text, filename, "exec").replace(co_name=name)


class _Placeholder(Exception):
    """What :func:`_frame_at`'s code raises to leave a frame at a line."""


#: packages whose frames are never the user's line of a refusal found at run time
_LIBRARY_PACKAGES = ("s2sgrad", "numpy")


def refusal_at_caller(construct, hint=None):
    """An :class:`UnsupportedSyntaxError` for a case a rule meets only at run
    time (an order given as a variable, a second derivative the rule does
    not provide), at the user's line being differentiated: the innermost
    line of generated code on the stack, mapped to the user's source, or
    else (the tape, which runs no generated code) the innermost frame
    outside s2sgrad and NumPy."""
    frame = sys._getframe(1)
    outside = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename in _ORIGINS:
            return UnsupportedSyntaxError(construct, filename, frame.f_lineno, "differentiate", hint)
        package = str(frame.f_globals.get("__name__", "")).partition(".")[0]
        if outside is None and package not in _LIBRARY_PACKAGES:
            outside = (filename, frame.f_lineno)
        frame = frame.f_back
    return UnsupportedSyntaxError(construct, *(outside or (None, None)), "differentiate", hint)


class UndefinedNameError(UnsupportedSyntaxError):
    """The function reads a name that is not defined, possibly not *yet*
    (a decorated function calling one defined further down its module):
    ``grad`` then generates on the first call instead."""


class ArgumentClassNeeded(UnsupportedSyntaxError):
    """The function calls a method of an argument (``model.forward(x)``
    with ``model`` a parameter), which is inlined as the method of the
    argument's class: the derivative is generated when the function is
    called, once per class of those arguments. ``names`` are the
    parameters whose classes it needs."""

    def __init__(self, construct, filename=None, lineno=None, stage=None, hint=None, names=()):
        super().__init__(construct, filename, lineno, stage, hint)
        self.names = tuple(names)


class RecursionTooDeepError(S2SGradError, RecursionError):
    """The gradient of a recursive function ran out of Python's recursion
    limit (which a user may raise with ``sys.setrecursionlimit``)."""


class InternalError(Exception):
    """A bug in s2sgrad, not in the user's code (a pass broke the IR's
    grammar). Deliberately not an :class:`S2SGradError`: the fallbacks that
    turn a refusal into another route (the tape's interpreter, the eager
    tape under ``tf.function``) catch ``S2SGradError`` and must never hide
    one of these."""


class SourceUnavailableError(S2SGradError):
    """The source of a function to differentiate cannot be found (typed at
    a prompt that keeps none, built by ``exec`` of a string nobody
    registered, a file gone): the message says how to make it available."""


class S2SGradWarning(UserWarning):
    """What s2sgrad warns about (SPEC sections 1 and 2): a result that is
    right but may surprise, such as an operation the tape cannot follow."""
