"""Syntax colouring of Python source for a terminal, with :mod:`tokenize`.

The command line colours what it prints when its output is a terminal and
the user has not asked for plain text (``NO_COLOR`` set to anything, or
``TERM=dumb``); piped or redirected, the text is plain, byte for byte what
``sg.source`` returns. No dependency: the tokenizer of the standard library
finds keywords, names, strings, numbers, operators and comments; text the
tokenizer cannot read is left as it is.
"""

import io
import keyword
import os
import tokenize

RESET = "\x1b[0m"

#: ANSI styles by kind of token
STYLES = {
    "keyword": "\x1b[1;34m",   # bold blue
    "definition": "\x1b[1;33m",  # bold yellow: the name after def
    "string": "\x1b[32m",      # green
    "number": "\x1b[36m",      # cyan
    "comment": "\x1b[2;37m",   # dim grey
    "error": "\x1b[1;31m",     # bold red (an error's prefix)
}


def wants_colour(stream, environ=None):
    """True when ``stream`` is a terminal and colour was not turned off."""
    environ = os.environ if environ is None else environ
    if "NO_COLOR" in environ or environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def paint(text, kind):
    """``text`` in the style of ``kind``."""
    return f"{STYLES[kind]}{text}{RESET}"


def _kind(token, previous):
    if token.type == tokenize.COMMENT:
        return "comment"
    if token.type == tokenize.STRING or token.type in _FSTRING_TYPES:
        return "string"
    if token.type == tokenize.NUMBER:
        return "number"
    if token.type == tokenize.NAME:
        if previous is not None and previous.type == tokenize.NAME and previous.string == "def":
            return "definition"
        if keyword.iskeyword(token.string):
            return "keyword"
    return None


_FSTRING_TYPES = {getattr(tokenize, name) for name in ("FSTRING_START", "FSTRING_MIDDLE",
                                                         "FSTRING_END") if hasattr(tokenize, name)}


def highlight(source):
    """``source`` with ANSI colours (unchanged when it does not tokenize)."""
    lines = source.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    # (row, column) -> the colour of the token starting or ending there
    inserts = {}
    previous = None
    for token in tokens:
        kind = _kind(token, previous)
        if token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            previous = token
        if kind is None or token.start == token.end:
            continue
        inserts.setdefault(token.start, []).append(STYLES[kind])
        inserts.setdefault(token.end, []).insert(0, RESET)
    out = []
    for row, line in enumerate(lines, start=1):
        columns = sorted(column for (r, column) in inserts if r == row)
        if not columns:
            out.append(line)
            continue
        pieces, last = [], 0
        for column in columns:
            pieces.append(line[last:column])
            pieces.extend(inserts[(row, column)])
            last = column
        pieces.append(line[last:])
        out.append("".join(pieces))
    return "".join(out)
