"""The exceptions s2sgrad raises: one base class, one for unsupported code.

Every error that concerns the user's source names the stage that failed,
the construct, and the file and line in the user's source, so that the
message alone is enough to find the problem.
"""


class S2SGradError(Exception):
    """Base class of every error s2sgrad raises on purpose."""


class UnsupportedSyntaxError(S2SGradError):
    """A construct s2sgrad cannot differentiate (never a wrong gradient).

    The message reads ``<construct> is not supported (<stage>) at
    <file>:<line>`` plus an optional hint.
    """

    def __init__(self, construct, filename=None, lineno=None, stage=None, hint=None):
        self.construct = construct
        self.filename = filename
        self.lineno = lineno
        self.stage = stage
        self.hint = hint
        where = f" at {filename}:{lineno}" if filename else ""
        during = f" ({stage})" if stage else ""
        extra = f": {hint}" if hint else ""
        super().__init__(f"{construct} is not supported{during}{where}{extra}")
