"""The exceptions s2sgrad raises: one base class, one for unsupported code,
and subclasses of it for the refusals a caller acts on.

Every error that concerns the user's source names the construct and the
file and line in the user's source, so that the message alone is enough to
find the problem. The pipeline adds the name of the pass that raised it as
the attribute ``pass_name`` (not to the message: that is in the user's
terms). Callers decide what to do from the class of an error, never from
its text.
"""

import sys


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
