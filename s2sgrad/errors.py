"""The exceptions s2sgrad raises: one base class, one for unsupported code,
and subclasses of it for the refusals a caller acts on.

Every error that concerns the user's source names the construct and the
file and line in the user's source, so that the message alone is enough to
find the problem. The pipeline adds the name of the pass that raised it as
the attribute ``pass_name`` (not to the message: that is in the user's
terms). Callers decide what to do from the class of an error, never from
its text.
"""


class S2SGradError(Exception):
    """Base class of every error s2sgrad raises on purpose."""


class UnsupportedSyntaxError(S2SGradError):
    """A construct s2sgrad cannot differentiate (never a wrong gradient).

    The message reads ``<construct> is not supported at <file>:<line>`` plus
    an optional hint. ``stage`` says which part of s2sgrad refused (an
    attribute only).
    """

    def __init__(self, construct, filename=None, lineno=None, stage=None, hint=None):
        self.construct = construct
        self.filename = filename
        self.lineno = lineno
        self.stage = stage
        self.hint = hint
        where = f" at {filename}:{lineno}" if filename else ""
        extra = f": {hint}" if hint else ""
        super().__init__(f"{construct} is not supported{where}{extra}")


class UndefinedNameError(UnsupportedSyntaxError):
    """The function reads a name that is not defined, possibly not *yet*
    (a decorated function calling one defined further down its module):
    ``grad`` then generates on the first call instead."""


class SecondOrderLoopError(UnsupportedSyntaxError):
    """Generated code read again replays a loop from a stack, which the
    source path does not differentiate: second derivatives then go through
    the tape."""


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
