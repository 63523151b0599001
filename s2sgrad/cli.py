"""The command line (SPEC section 5): ``s2sgrad show``, ``stages``, ``check``
and ``explain``.

* ``show FILE.py:FUNC`` prints the generated derivative source of a
  top-level function, exactly what ``sg.source`` returns; with ``--stage
  NAME`` it prints the program after that pass of the pipeline instead; on
  a terminal the code is syntax-coloured (:mod:`s2sgrad.highlight`);
* ``stages`` prints the names of the pipeline's passes, in order;
* ``check FILE.py:FUNC --at NAME=VALUE ...`` compares the generated gradient
  with central finite differences in float64 and exits 1 when they disagree;
  it names the argument and entry that disagree, hints at a kink or a jump
  there (one-sided differences), and runs a Taylor remainder test;
* ``explain FILE.py:FUNC --at NAME=VALUE ...`` prints ``sg.explain``'s report.
* ``cache info`` and ``cache clear`` show and empty the disk cache of
  generated code.

Every mistake a user can make — a missing file or function, an unsupported
construct, a bad ``--at`` value, the function itself raising, a usage error
— ends as one line ``s2sgrad: error: ...`` on stderr and exit status 2,
never a traceback (``--traceback`` shows one, for bug reports). Values given
on the command line are read with :func:`ast.literal_eval` and never
evaluated as code; but ``check`` and ``explain`` import FILE.py (running its
top-level code) and call FUNC.

Agreement. Entry ``i`` of a finite-difference gradient uses the step
``h = eps**(1/3) * max(1, |x_i|)`` (``eps**(1/3)`` ≈ 6e-6 balances the
truncation error ``h**2 * |f'''|`` against the rounding error
``eps * |f| / h``, both about 1e-11 for values of order 1). For an argument
with generated gradient ``g`` and finite difference ``d`` the relative error
is ``max|g - d| / max(max|g|, max|d|, FLOOR)`` with
``FLOOR = 1e-4 * max(1, |f|)``: the floor keeps a gradient that is exactly
zero from turning rounding noise (which grows with ``|f|``) into a large
relative error. The gradients agree when every argument's relative error is
at most ``TOLERANCE = 1e-5``; a wrong derivative rule is typically off by
an error of order 1.

Taylor remainder. Along a direction ``v`` (random, seeded), the remainder
``r(h) = |f(x + h v) - f(x) - h <g, v>|`` of a right gradient ``g`` decays
as ``h**2``; of a wrong one as ``h``. ``check`` halves ``h`` from
``0.01 * max(1, |x|)`` and reports the median order ``log2(r(h) / r(h/2))``
over the steps where ``r`` is above rounding noise: about 2 for a right
gradient, about 1 for a wrong one, whatever the step -- no step to choose.
"""

import argparse
import ast
import contextlib
import importlib.machinery
import importlib.util
import inspect
import itertools
import re
import sys
from pathlib import Path

import numpy as np

import s2sgrad
from s2sgrad import highlight, pipeline
from s2sgrad.codegen import disk
from s2sgrad.errors import S2SGradError
from s2sgrad.explanation import explain, near_thresholds

__all__ = ["main", "TOLERANCE"]

EXIT_OK = 0
EXIT_MISMATCH = 1
EXIT_ERROR = 2

#: largest relative error ``check`` accepts (see the module docstring)
TOLERANCE = 1e-5
#: the relative error's denominator is at least FLOOR_SCALE * max(1, |f|)
FLOOR_SCALE = 1e-4
#: relative finite-difference step, eps ** (1/3)
STEP = float(np.finfo(np.float64).eps ** (1 / 3))
#: at most this many entries per argument in check's table
MAX_ROWS = 10

_module_numbers = itertools.count()


class CommandError(Exception):
    """A problem with the user's input, reported as one line with exit status 2."""


class _UsageError(CommandError):
    """A command line argparse cannot read (reported as one line too)."""


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error raised as one line instead of printed with
    the whole usage (``s2sgrad COMMAND --help`` shows that)."""

    def error(self, message):
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


# -- the parser ---------------------------------------------------------------

_MAIN_DESCRIPTION = "Source-to-source automatic differentiation for Python/NumPy functions."

_MAIN_EPILOG = """\
examples:
  s2sgrad show examples/quickstart.py:f --wrt x,b
  s2sgrad check examples/quickstart.py:f --at x=3.0 a=1.0 b=-2.0 c=1.0
  s2sgrad explain examples/quickstart.py:f --at x=3.0 a=1.0 b=-2.0 c=1.0
  s2sgrad stages
  s2sgrad cache info

FUNC is the name of a top-level function in FILE.py. FILE.py is imported
as a module (its directory on sys.path, its top-level code run, its
`if __name__ == "__main__"` block not run); check and explain then call
FUNC: use them on code you trust. Exit status: 0 success, 1 check found a
disagreement, 2 bad input. Run `s2sgrad COMMAND --help` for each command.
"""

_SHOW_EPILOG = """\
examples:
  s2sgrad show examples/quickstart.py:f                # d f / d x (first argument)
  s2sgrad show examples/quickstart.py:f --wrt a,b      # returns (df/da, df/db)
  s2sgrad show examples/quickstart.py:f --order 2      # second derivative in x
  s2sgrad show examples/quickstart.py:f --mode forward # the JVP: primal and tangent side by side
  s2sgrad show examples/quickstart.py:f --stage normalise   # the program after a pass
"""

_CHECK_EPILOG = f"""\
examples:
  s2sgrad check examples/quickstart.py:f --at x=3.0 a=1.0 b=-2.0 c=1.0
  s2sgrad check model.py:loss --at w=[[0.1,0.2],[0.3,0.4]] --at y=[1,0] --wrt w

values: NAME=VALUE is read as a Python literal (never evaluated as code):
  numbers (1.5, 2, -3e-4), lists (nested lists become float64 arrays),
  tuples, strings, True/False/None. Quote values containing spaces or
  brackets for your shell. Arguments not given keep their default.

differentiated arguments: by default every argument given a float value
  (a float, or a list, which becomes a float64 array); an int like 2 stays
  an int and is not differentiated. With --wrt, the named arguments are
  differentiated, and a number given for one is converted to float.

agreement: for each argument, relative error =
  max|grad - fd| / max(max|grad|, max|fd|, {FLOOR_SCALE:g} * max(1, |f|)),
  with central differences in float64 (step 6e-6 * max(1, |x_i|)).
  Exit status 0 when every relative error is at most {TOLERANCE:g}, 1 otherwise.
  On a disagreement check names the argument and entry, and compares the
  one-sided differences there: when they differ, FUNC has a kink or a jump
  (np.abs, np.maximum, an if on a threshold) at that point.

Taylor remainder test: |f(x + h v) - f(x) - h <grad, v>| along a random
  direction v decays like h**2 for a right gradient and like h for a wrong
  one; check prints the observed order (no step size to choose).

security: check imports FILE.py, which runs its top-level code, and calls
  FUNC with the values given. Run it only on files you trust.
"""

_EXPLAIN_EPILOG = """\
examples:
  s2sgrad explain model.py:loss --at w=[0.5,-1.0] --at x=[1.0,2.0]
  s2sgrad explain model.py:loss --at w=[0.5,-1.0] x=[1.0,2.0] --wrt w

The report names, for each differentiated argument whose gradient is zero
or not finite, the lines of FUNC and the operations that cut the path to
the result (an int() cast, np.argmax, np.round, a comparison,
sg.stop_gradient, an arm of an if that did not run), the line where the
derivative is zero at these values, or the first line making a NaN or inf.
Values are read as for `s2sgrad check` (see `s2sgrad check --help`).

security: explain imports FILE.py, which runs its top-level code, and calls
  FUNC with the values given. Run it only on files you trust.
"""


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def build_parser():
    """The argparse parser of the ``s2sgrad`` command."""
    common = _Parser(add_help=False)
    common.add_argument("target", metavar="FILE.py:FUNC",
                        help="a Python file and the name of a top-level function in it")
    common.add_argument("--traceback", action="store_true",
                        help="on an error, show the Python traceback instead of one line "
                             "(for bug reports)")

    valued = _Parser(add_help=False)
    valued.add_argument("--at", metavar="NAME=VALUE", nargs="+", action="extend", default=[],
                        help="argument values; repeat --at or give several after one --at")

    parser = _Parser(
        prog="s2sgrad", description=_MAIN_DESCRIPTION, epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"s2sgrad {s2sgrad.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    show = commands.add_parser(
        "show", parents=[common], epilog=_SHOW_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="print the generated derivative source of a function",
        description="Print the Python source s2sgrad generates for the derivative of FUNC\n"
                    "(what s2sgrad.source returns).",
    )
    show.add_argument("--wrt", metavar="NAME[,NAME...]",
                      help="differentiate with respect to these arguments (default: the first); "
                           "several names give a function returning a tuple")
    show.add_argument("--order", metavar="N", type=_positive_int, default=1,
                      help="the N-th derivative (default: 1); N > 1 needs a single --wrt name")
    show.add_argument("--mode", choices=("reverse", "forward"), default="reverse",
                      help="reverse (the gradient, default) or forward (the Jacobian-vector "
                           "product; at --order 2, forward over the reverse gradient)")
    show.add_argument("--stage", metavar="NAME",
                      help="print the program after pass NAME instead of the generated source "
                           "(`s2sgrad stages` lists them)")
    show.set_defaults(run=run_show)

    stages = commands.add_parser(
        "stages", help="print the names of the pipeline's passes, in order",
        epilog="example:\n  s2sgrad stages\n  s2sgrad show examples/quickstart.py:f --stage shapes\n",
        description="Print the names of the pipeline's passes, one per line, in the order\n"
                    "they run (the NAMEs `s2sgrad show --stage` takes).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stages.set_defaults(run=run_stages, traceback=False)

    check = commands.add_parser(
        "check", parents=[common, valued], epilog=_CHECK_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="compare the generated gradient with finite differences",
        description="Import FILE.py, call FUNC's generated gradient at the given argument\n"
                    "values, compare it with central finite differences in float64, and\n"
                    "print the largest relative error (check runs FUNC: see security below).",
    )
    check.add_argument("--wrt", metavar="NAME[,NAME...]",
                       help="differentiate with respect to these arguments "
                            "(default: those given float values)")
    check.set_defaults(run=run_check)

    explain = commands.add_parser(
        "explain", parents=[common, valued], epilog=_EXPLAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="say why a gradient is zero or not finite",
        description="Import FILE.py, call FUNC and its gradient at the given argument values,\n"
                    "and print why a gradient is zero or not finite (what sg.explain returns).",
    )
    explain.add_argument("--wrt", metavar="NAME[,NAME...]",
                         help="explain the gradients of these arguments "
                              "(default: those given float values)")
    explain.set_defaults(run=run_explain)
    _add_cache_command(commands)
    return parser


def main(argv=None):
    """Run the ``s2sgrad`` command line; returns the exit status."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # bare `s2sgrad`: what it can do
        parser.print_help()
        return EXIT_OK
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help or --version
        return exit.code
    except _UsageError as error:
        _print_error(error)
        return EXIT_ERROR
    try:
        return args.run(args)
    except (CommandError, S2SGradError) as error:
        if args.traceback:
            raise
        _print_error(error)
        return EXIT_ERROR


def _print_error(error):
    prefix = "s2sgrad: error:"
    if highlight.wants_colour(sys.stderr):
        prefix = highlight.paint(prefix, "error")
    print(f"{prefix} {_one_line(str(error))}", file=sys.stderr)


def _print_code(source):
    """Print generated source: coloured on a terminal, plain when piped."""
    text = source if source.endswith("\n") else source + "\n"
    if highlight.wants_colour(sys.stdout):
        text = highlight.highlight(text)
    sys.stdout.write(text)


def _one_line(text):
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _describe(error):
    """``TypeName: message`` of an exception, on one line."""
    message = _one_line(str(error))
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


# -- loading FILE.py:FUNC ------------------------------------------------------

@contextlib.contextmanager
def loaded_function(target):
    """The function ``target`` names, with its file's directory on sys.path.

    The directory stays on the path while the command runs, so imports the
    function makes when called also find the file's neighbours.
    """
    path_text, colon, name = target.rpartition(":")
    if not colon or not path_text or not name:
        raise CommandError(f"expected FILE.py:FUNC, got {target!r}")
    if not name.isidentifier():
        kind = "methods and nested functions are not supported" if "." in name else "not a name"
        raise CommandError(f"FUNC must be the name of a top-level function; got {name!r} ({kind})")
    path = Path(path_text)
    if not path.exists():
        raise CommandError(f"no such file: {path_text}")
    if not path.is_file():
        raise CommandError(f"not a file: {path_text}")
    directory = str(path.resolve().parent)
    sys.path.insert(0, directory)
    try:
        module = _import_file(path)
        yield _function_of(module, name, path_text)
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)


def _import_file(path):
    """Import ``path`` as a new module under a name no other module has."""
    stem = re.sub(r"\W", "_", path.stem)
    module_name = f"_s2sgrad_cli_{next(_module_numbers)}_{stem}"
    loader = importlib.machinery.SourceFileLoader(module_name, str(path))
    spec = importlib.util.spec_from_file_location(module_name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        loader.exec_module(module)
    except SyntaxError as error:
        sys.modules.pop(module_name, None)
        raise CommandError(f"{path}:{error.lineno}: syntax error: {error.msg}") from error
    except (Exception, SystemExit) as error:
        sys.modules.pop(module_name, None)
        raise CommandError(f"importing {path} failed: {_describe(error)}") from error
    return module


def _function_of(module, name, path_text):
    function = vars(module).get(name)
    if function is None:
        defined = sorted(key for key, value in vars(module).items()
                         if inspect.isfunction(value) and not key.startswith("__"))
        listing = f" (its functions: {', '.join(defined)})" if defined else " (it defines no functions)"
        raise CommandError(f"{path_text} has no function {name!r}{listing}")
    if not inspect.isfunction(function):
        raise CommandError(f"{path_text}:{name} is not a Python function "
                           f"(it is of type {type(function).__name__})")
    return function


def _parameters(function):
    """The parameters of ``function`` that can be given by name."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
             inspect.Parameter.KEYWORD_ONLY)
    return {name: parameter for name, parameter in inspect.signature(function).parameters.items()
            if parameter.kind in kinds}


def _parse_wrt(text, function):
    """The argument names of ``--wrt a,b`` after checking them against ``function``."""
    names = [name.strip() for name in text.split(",")]
    parameters = _parameters(function)
    for name in names:
        if not name:
            raise CommandError(f"--wrt {text}: expected names separated by commas")
        if name not in parameters:
            raise CommandError(f"--wrt: {function.__name__} has no argument {name!r} "
                               f"(its arguments: {', '.join(parameters) or 'none'})")
    if len(set(names)) != len(names):
        raise CommandError(f"--wrt {text}: an argument is named twice")
    return names


def _engine(action, function, run):
    """``run()``, turning the engine's exceptions into one-line errors."""
    try:
        return run()
    except S2SGradError:
        raise
    except (TypeError, ValueError) as error:
        raise CommandError(f"cannot {action} {function.__name__}: {_one_line(str(error))}") from error
    except Exception as error:
        raise CommandError(f"internal error while trying to {action} {function.__name__}: "
                           f"{_describe(error)} (rerun with --traceback to report it)") from error


# -- show ----------------------------------------------------------------------

def run_show(args):
    if args.stage is not None:
        _check_stage(args.stage, args.mode)
    with loaded_function(args.target) as function:
        wrt = 0
        if args.wrt is not None:
            names = _parse_wrt(args.wrt, function)
            wrt = names[0] if len(names) == 1 else tuple(names)
        if args.order > 1 and isinstance(wrt, tuple):
            raise CommandError(f"--order {args.order} needs a single --wrt name: a tuple of "
                               f"gradients is not a scalar function to differentiate again")
        if args.stage is None:
            source = _engine("differentiate", function,
                             lambda: s2sgrad.source(function, wrt=wrt, order=args.order,
                                                    mode=args.mode))
        else:
            source = _engine("differentiate", function,
                             lambda: _program_after(function, wrt, args.order, args.stage,
                                                    args.mode))
    _print_code(source)
    return EXIT_OK


def _check_stage(name, mode="reverse"):
    """``name`` if it names a pass of ``mode``, else a CommandError listing the passes."""
    if name not in pipeline.PASS_NAMES:
        raise CommandError(f"--stage: no pass is named {name!r} "
                           f"(the passes: {', '.join(pipeline.PASS_NAMES)})")
    found = pipeline.PASSES[pipeline.PASS_NAMES.index(name)]
    if found.mode not in (None, mode):
        raise CommandError(f"--stage {name}: that pass runs with --mode {found.mode} only")
    return name


def _program_after(function, wrt, order, stage, mode="reverse"):
    """The ``order``-th derivative's program after pass ``stage``, readable."""
    for _ in range(order - 1):
        function = s2sgrad.grad(function, wrt)
    return pipeline.listing(pipeline.program_after(function, wrt, stage, mode), stage)


# -- stages --------------------------------------------------------------------

def run_stages(args):
    for p in pipeline.PASSES:
        print(p.name)
    return EXIT_OK


# -- cache ---------------------------------------------------------------------

_CACHE_EPILOG = """\
examples:
  s2sgrad cache info          # where it is, how many entries, their size, the limit
  s2sgrad cache clear         # remove every entry

environment: S2SGRAD_CACHE_DIR sets the directory (default: the user cache
directory, e.g. ~/.cache/s2sgrad), S2SGRAD_CACHE=0 turns the disk cache off,
S2SGRAD_CACHE_MAX_MB bounds its size (default {limit} MB; the least recently
used entries go first).
""".format(limit=disk.DEFAULT_MAX_MB)


def _add_cache_command(commands):
    cache = commands.add_parser(
        "cache", epilog=_CACHE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        help="show or empty the disk cache of generated code",
        description="Show (info) or empty (clear) the disk cache where s2sgrad keeps the code\n"
                    "it generated (derivatives, tape recordings' backward programs,\n"
                    "tf.function blocks), so that a new process does not generate it again.",
    )
    cache.add_argument("action", choices=("info", "clear"),
                       help="info: directory, entries, size and limit; clear: remove every entry")
    cache.set_defaults(run=run_cache, traceback=False)


def _megabytes(size):
    return f"{size / 2**20:.1f} MB" if size >= 2**20 / 10 else f"{size / 2**10:.1f} kB"


def run_cache(args):
    if args.action == "clear":
        removed = disk.clear()
        print(f"removed {removed} entr{'y' if removed == 1 else 'ies'} from {disk.directory()}")
        return EXIT_OK
    shown = disk.info()
    state = "on" if shown["enabled"] else "off (S2SGRAD_CACHE=0)"
    print(f"directory: {shown['directory']}")
    print(f"disk cache: {state}")
    print(f"entries:   {shown['entries']}")
    print(f"size:      {_megabytes(shown['bytes'])}")
    print(f"limit:     {_megabytes(shown['limit'])} (S2SGRAD_CACHE_MAX_MB)")
    return EXIT_OK


# -- explain --------------------------------------------------------------------

def run_explain(args):
    with loaded_function(args.target) as function, np.errstate(all="ignore"):
        given = parse_assignments(args.at, function)
        wrt = _differentiated(args, function, given, "explain")
        call = Call(function, _bind(function, given, wrt))
        call.value()  # (its errors in the user's terms before the analysis runs)
        positional, keywords = call.arguments()
        spec = wrt[0] if len(wrt) == 1 else tuple(wrt)
        report = _engine("explain the gradient of", function,
                         lambda: explain(function, *positional, wrt=spec, **keywords))
    sys.stdout.write(report)
    return EXIT_OK


# -- check: values -------------------------------------------------------------

def parse_value(name, text):
    """The value of ``--at name=text``: a literal, lists made float64 arrays."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as error:
        raise CommandError(
            f"--at {name}={text}: not a literal value (numbers, lists, tuples, strings, "
            f"True/False/None; values are never evaluated as code)"
        ) from error
    return _arrays_from_lists(name, text, value)


def _arrays_from_lists(name, text, value):
    if isinstance(value, list):
        try:
            return np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError) as error:
            raise CommandError(f"--at {name}={text}: a list must be a rectangular nest of "
                               f"real numbers ({_one_line(str(error))})") from error
    if isinstance(value, tuple):
        return tuple(_arrays_from_lists(name, text, item) for item in value)
    return value


def parse_assignments(items, function):
    """``{name: value}`` from the ``--at`` items, checked against ``function``."""
    parameters = _parameters(function)
    values = {}
    for item in items:
        name, equals, text = item.partition("=")
        name = name.strip()
        if not equals:
            raise CommandError(f"--at expects NAME=VALUE, got {item!r}")
        if name not in parameters:
            raise CommandError(f"--at {item}: {function.__name__} has no argument {name!r} "
                               f"(its arguments: {', '.join(parameters) or 'none'})")
        if name in values:
            raise CommandError(f"--at: argument {name!r} is given twice")
        values[name] = parse_value(name, text)
    return values


def _differentiated(args, function, given, what):
    """The arguments ``--wrt`` names, or by default those given float values."""
    if args.wrt is not None:
        return _parse_wrt(args.wrt, function)
    wrt = [name for name, value in given.items() if _is_float_value(value)]
    if not wrt:
        raise CommandError(
            f"nothing to {what}: no --at value is a float or a list "
            f"(write 3.0 instead of 3, or choose arguments with --wrt)")
    return wrt


def _is_float_value(value):
    if isinstance(value, float):
        return True
    if isinstance(value, (np.ndarray, np.floating)):
        return np.issubdtype(np.result_type(value), np.floating)
    return False


def as_differentiable(name, value):
    """``value`` as a float64 float or array, for an argument being differentiated."""
    if isinstance(value, (bool, np.bool_)):
        raise CommandError(f"cannot differentiate with respect to {name}={value!r}, a bool")
    if isinstance(value, float):
        return value
    if isinstance(value, (int, np.integer, np.floating)):
        return float(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        return value.astype(np.float64)
    raise CommandError(f"cannot differentiate with respect to {name}={value!r}: expected a "
                       f"number or a list of numbers")


class Call:
    """One way of calling the function: its arguments by parameter name."""

    def __init__(self, function, values):
        self.function = function
        self.values = values

    def arguments(self, replace=None):
        """``(args, kwargs)`` for calling the function, ``replace`` overriding values."""
        values = {**self.values, **(replace or {})}
        args, kwargs = [], {}
        for name, parameter in _parameters(self.function).items():
            if name not in values:
                continue
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                kwargs[name] = values[name]
            else:
                args.append(values[name])
        return args, kwargs

    def value(self, replace=None):
        """``function(...)`` as a Python float; raises CommandError if that fails."""
        args, kwargs = self.arguments(replace)
        try:
            value = self.function(*args, **kwargs)
        except (Exception, SystemExit) as error:
            raise CommandError(f"{self.function.__name__} raised {_describe(error)} "
                               f"{self._where(replace)}") from error
        if np.ndim(value) != 0 or np.iscomplexobj(value) or not _is_real_number(value):
            raise CommandError(
                f"{self.function.__name__} must return a real scalar to be differentiated; "
                f"it returned {type(value).__name__} of shape {np.shape(value)}"
            )
        value = float(value)
        if not np.isfinite(value):
            raise CommandError(f"{self.function.__name__} is {value} {self._where(replace)}; "
                               f"choose values where it is finite"
                               + (" around them (`s2sgrad explain` shows which line)"
                                  if replace else ""))
        return value

    def _where(self, replace):
        """Where the function was called: the values given, or next to them
        (the point a finite difference probes is not the user's business)."""
        if replace:
            moved = ", ".join(replace)
            return (f"next to the values given (moving {moved} by a finite-difference step "
                    f"from {', '.join(f'{n}={_short(self.values[n])}' for n in replace)})")
        values = self.values
        return "at " + ", ".join(f"{name}={_short(value)}" for name, value in values.items())


def _is_real_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _short(value):
    text = np.array2string(value, threshold=6) if isinstance(value, np.ndarray) else repr(value)
    return " ".join(text.split())


def _bind(function, given, wrt):
    """The full set of values to call ``function`` with."""
    values = {}
    for name, parameter in _parameters(function).items():
        if name in given:
            value = given[name]
        elif parameter.default is not inspect.Parameter.empty:
            value = parameter.default
        else:
            raise CommandError(f"no value for argument {name!r} of {function.__name__} "
                               f"(add --at {name}=VALUE)")
        values[name] = as_differentiable(name, value) if name in wrt else value
        if name in wrt and np.size(values[name]) == 0:
            raise CommandError(f"--at {name}: an empty array has no entries to differentiate")
    return values


# -- check: comparison -----------------------------------------------------------

def finite_difference(evaluate, x):
    """Central differences of scalar ``evaluate`` at float or array ``x``."""
    if isinstance(x, float):
        return _central(evaluate, x)
    x = np.asarray(x, dtype=np.float64)
    result = np.empty(x.shape)
    for index in np.ndindex(*x.shape):
        def evaluate_entry(entry, index=index):
            moved = x.copy()
            moved[index] = entry
            return evaluate(moved)

        result[index] = _central(evaluate_entry, float(x[index]))
    return result


def _central(evaluate, x):
    step = STEP * max(1.0, abs(x))
    up, down = x + step, x - step
    return (evaluate(up) - evaluate(down)) / (up - down)


class Comparison:
    """Generated gradient vs finite differences for one argument."""

    def __init__(self, name, x, gradient, numerical, floor):
        self.name = name
        self.x = x
        self.gradient = gradient
        self.numerical = np.asarray(numerical, dtype=np.float64)
        shape_ok = np.shape(gradient) == np.shape(numerical)
        self.problem = None if shape_ok else (
            f"gradient has shape {np.shape(gradient)} but the argument has shape {np.shape(numerical)}")
        if not shape_ok:
            self.error = float("inf")
            return
        grad = np.asarray(gradient, dtype=np.float64)
        difference = np.max(np.abs(grad - self.numerical), initial=0.0)
        scale = max(np.max(np.abs(grad), initial=0.0), np.max(np.abs(self.numerical), initial=0.0), floor)
        self.error = float(difference / scale)

    @property
    def ok(self):
        return self.error <= TOLERANCE  # False for nan

    def lines(self):
        kind = "float" if isinstance(self.x, float) else f"float64 array of shape {np.shape(self.x)}"
        yield f"{self.name} ({kind}): relative error {self.error:.1e}"
        if self.problem:
            yield f"  {self.problem}"
            return
        grad = np.asarray(self.gradient, dtype=np.float64)
        differences = np.abs(grad - self.numerical)
        indices = list(np.ndindex(*grad.shape))
        if len(indices) > MAX_ROWS:
            worst = np.argsort(-np.nan_to_num(differences.ravel(), nan=np.inf), kind="stable")[:MAX_ROWS]
            indices = [indices[i] for i in sorted(worst)]
        labels = ["" if not index else "[" + ", ".join(map(str, index)) + "]" for index in indices]
        width = max(len("index"), *(len(label) for label in labels))
        if grad.shape:
            yield f"  {'index':<{width}}  {'s2sgrad':>20}  {'finite difference':>20}  {'difference':>10}"
        else:
            yield f"  {'s2sgrad':>20}  {'finite difference':>20}  {'difference':>10}"
        for label, index in zip(labels, indices):
            row = f"{grad[index]:>20.12g}  {self.numerical[index]:>20.12g}  {differences[index]:>10.1e}"
            yield f"  {label:<{width}}  {row}" if grad.shape else f"  {row}"
        if grad.size > MAX_ROWS:
            yield f"  ({MAX_ROWS} of {grad.size} entries shown: those with the largest differences)"


def run_check(args):
    # Non-finite values are reported by check itself, not as NumPy warnings.
    with loaded_function(args.target) as function, np.errstate(all="ignore"):
        given = parse_assignments(args.at, function)
        wrt = _differentiated(args, function, given, "differentiate")
        call = Call(function, _bind(function, given, wrt))
        floor = FLOOR_SCALE * max(1.0, abs(call.value()))
        spec = wrt[0] if len(wrt) == 1 else tuple(wrt)
        gradient_function = _engine("differentiate", function, lambda: s2sgrad.grad(function, wrt=spec))
        positional, keywords = call.arguments()
        gradients = _engine("compute the gradient of", function,
                            lambda: gradient_function(*positional, **keywords))
        if len(wrt) == 1:
            gradients = (gradients,)
        comparisons = []
        for name, gradient in zip(wrt, gradients):
            x = call.values[name]
            numerical = finite_difference(lambda moved, name=name: call.value({name: moved}), x)
            comparisons.append(Comparison(name, x, gradient, numerical, floor))
        hints = [line for c in comparisons if not c.ok for line in _kink_hint(call, c)]
        taylor = taylor_order(call, wrt, gradients)
    for comparison in comparisons:
        for line in comparison.lines():
            print(line)
    for line in hints:
        print(line)
    print(_taylor_line(taylor))
    worst = max((c.error for c in comparisons), key=lambda error: (error != error, error))
    ok = all(comparison.ok for comparison in comparisons)
    verdict = "ok" if ok else f"MISMATCH: above the tolerance {TOLERANCE:g}"
    print(f"max relative error: {worst:.1e} ({verdict})")
    return EXIT_OK if ok else EXIT_MISMATCH


def _worst_entry(comparison):
    """The index of the entry of ``comparison`` that disagrees most."""
    grad = np.asarray(comparison.gradient, dtype=np.float64)
    differences = np.nan_to_num(np.abs(grad - comparison.numerical), nan=np.inf)
    return np.unravel_index(int(np.argmax(differences)), grad.shape) if grad.shape else ()


def _kink_hint(call, comparison):
    """Lines naming the entry that disagrees and, when the one-sided
    differences there differ, the kink or jump of the function there."""
    if comparison.problem:
        return []
    index = _worst_entry(comparison)
    x = comparison.x
    label = comparison.name + ("[" + ", ".join(map(str, index)) + "]" if index else "")
    entry = float(np.asarray(x)[index])
    step = STEP * max(1.0, abs(entry))

    def moved(delta):
        if isinstance(x, float):
            return call.value({comparison.name: x + delta})
        value = np.array(x, dtype=np.float64)
        value[index] += delta
        return call.value({comparison.name: value})

    centre = call.value()
    left, right = (centre - moved(-step)) / step, (moved(step) - centre) / step
    lines = [f"disagreement at {label} = {entry:.12g}: s2sgrad "
             f"{float(np.asarray(comparison.gradient)[index]):.12g}, finite difference "
             f"{float(comparison.numerical[index]):.12g}"]
    positional, keywords = call.arguments()
    try:
        near = near_thresholds(call.function, *positional, within=2 * step, **keywords)
    except Exception:  # noqa: BLE001 - a hint only: a function the trace cannot run gets none
        near = []
    for where, comparison, distance in near:
        lines.append(f"  hint: the two sides of {comparison} are {distance:.2g} apart, less than "
                     f"a finite-difference step, so the differences cross its threshold: {where}")
    scale = max(abs(left), abs(right), 1e-300)
    if abs(left - right) > 1e-3 * scale:
        jump = max(abs(left), abs(right)) * step > 1e-3 * max(1.0, abs(centre))
        kind = "jumps (an if on a threshold, a rounding)" if jump else \
            "has a kink (np.abs, np.maximum, an if on a threshold)"
        lines.append(f"  hint: the one-sided differences disagree there (left {left:.6g}, right "
                     f"{right:.6g}): {call.function.__name__} {kind} at {label} = {entry:.12g}, "
                     f"where the derivative is one-sided; check a point away from it")
    return lines


#: the Taylor remainder test's halvings of h, and its first h relative to |x|
TAYLOR_STEPS = 8
TAYLOR_START = 1e-2


def taylor_order(call, wrt, gradients):
    """The observed order of decay of the Taylor remainder (see the module
    docstring), or None when the remainder is rounding noise (f linear along
    the direction)."""
    rng = np.random.default_rng(0)
    directions = {name: (rng.standard_normal() if isinstance(call.values[name], float) else
                         rng.standard_normal(np.shape(call.values[name]))) for name in wrt}
    slope = sum(float(np.sum(np.asarray(g, dtype=np.float64) * directions[name]))
                for name, g in zip(wrt, gradients))
    centre = call.value()
    size = max([1.0] + [float(np.max(np.abs(call.values[name]))) for name in wrt])
    h = TAYLOR_START * size
    noise = 1e3 * np.finfo(np.float64).eps * max(1.0, abs(centre))
    remainders = []
    for _ in range(TAYLOR_STEPS):
        moved = {name: call.values[name] + h * directions[name] for name in wrt}
        remainders.append(abs(call.value(moved) - centre - h * slope))
        h /= 2
    orders = [np.log2(a / b) for a, b in zip(remainders, remainders[1:]) if a > noise and b > noise]
    return float(np.median(orders)) if orders else None


def _taylor_line(order):
    if order is None:
        return ("Taylor remainder: at rounding level on every step (f is linear along the "
                "direction tried)")
    verdict = "second order: consistent with the gradient" if order > 1.5 else \
        "below second order: the gradient is wrong, or f is not smooth here"
    return f"Taylor remainder: decays at order {order:.2f} ({verdict})"
