"""Random programs: s2sgrad's gradients against finite differences (issue 3, 9).

A hypothesis strategy (random_programs.py) writes the *source text* of small
functions ``def f(x, y): ...`` -- x and y are Python floats or float64 arrays
of shape (3,) or (2, 3), drawn per example -- built from

* assignments of smooth expressions over the names in scope (sin, cos,
  tanh, exp(tanh(.)), sqrt(1 + a*a), log1p(a*a), a**2, (1 + a*a)**b, +, -,
  *, a / (1 + b*b), sums, means, products, dot products, sums and means over
  axis 0, constants), reassignments, tuple unpacking and swaps;
* conditional expressions ``a if cond else b``, alone, as operands of
  arithmetic and assigned or accumulated (``v += a if c else b``) in loops,
  with conditions on recently accumulated values or on the loop counter, so
  the branch taken changes between iterations;
* views bound to new names or rebinding the viewed name, also in loops:
  ``A = A.T``, ``A[::-1]``, ``A[:, ::-1]``, ``A[1:]``, ``A[::2]``,
  ``A.reshape(...)``, ``np.transpose(A)``, ``A.ravel()`` and chains such as
  ``A = A.T[:, ::-1].reshape(2, 3)`` on (2, 3), (3, 2) and (6,) arrays, read
  afterwards by sums, means, products, subscripts;
* augmented assignment (+=, -=, *=, /=) on names, and subscript writes
  (v[k] = e, v[k] += e, v[1:] *= e, v[:-1] += v[1:] * c) on arrays;
* subscripts x[0], x[-1], x[i], x[::-1], x[1:] * x[:-1] where shapes allow;
* if / elif / else on data-dependent conditions ``np.sum(e) > c`` (also
  combined with and / or / not, and flags set from them), ``if s > c: v =
  s ** e`` with c > 0, early returns;
* ``for i in range(k)`` (k = 0..4), ``for r in v`` / ``enumerate(v)`` and
  counter-bounded ``while`` loops, with conditional break / continue,
  nested up to two levels;
* calls to the module-level helpers of random_helpers.py (smooth ones, one
  with a branch, one with a loop and a break, one returning a tuple that
  is unpacked or indexed, one with a keyword argument, one calling others),
  imported (called) or defined in the program's module (inlined), and a
  nested helper reading y;

and ending in ``return np.sum(...)`` so the result is a scalar. Every
program is written to its own module file (s2sgrad reads source with
inspect.getsource) and imported under a unique name. Programs come in three
sizes (statements per block, top-level statements, nesting: small, medium,
large). The order-2 mode draws programs of two floats, weighted to branches
(if/elif/else, nested ifs, if/else overwriting a variable, ``x ** y`` in a
branch, helper calls) and checks ``sg.grad(sg.grad(f, wrt=i), wrt=j)`` for
(i, j) in (0, 0), (0, 1), (1, 1) against central differences of the
generated first derivative ``sg.grad(f, wrt=i)``, itself first checked
against differences of f.

Why the finite differences can be trusted
-----------------------------------------
* Smoothness: the only non-smooth points of a program are its
  comparisons (no abs, max, where, floor...). The *path check* runs an
  instrumented copy of the program -- every comparison, in the program and
  in the helpers, wrapped by an AST rewrite into a call that records its
  outcome -- at the input and at every input moved by +-1e-4 along each
  coordinate of x and y. The example is discarded (``hypothesis.reject``)
  unless all of those runs take the same path (the same sequence of
  comparison outcomes, which fixes every branch, break, continue and loop
  trip count). Central differences use steps of 1e-6, a hundred times
  smaller, so they never straddle a branch; the margin requirement is
  directly in input space, whatever the program's sensitivity.
* Magnitude: inputs are in [-2, 2] and bounded functions (tanh, sin,
  exp(tanh)) dominate, but products in loops can still grow, so examples
  whose value or numerical gradient exceeds 1e6, or that overflow, are
  discarded. Tolerances are rtol=1e-5, atol=1e-6 * max(1, |f|, |grad|).
* Aliasing: the generator never binds a name to a view of an array that is
  later modified in place (an assignment whose value would be a view gets
  ``* 1.0``; after a view statement neither the view nor the viewed array is
  written into; in a loop, views are taken only of names bound in the body
  or frozen for the whole loop, so no iteration writes through a view an
  earlier one made), the source of ``for r in v`` is not modified in place during
  or after the loop (r stays a view of its last row), and subscript writes
  go only into the arguments and arrays made by ``np.copy`` / ``.copy()``
  (s2sgrad refuses writes into arrays it cannot prove unshared). Arguments
  are passed as fresh copies, so in-place updates of x and y are the
  program's own business.
* Order 2: the probe points of the differences of the first derivative
  are within 1e-6 of the input, inside the path check's 1e-4 too.
* If a comparison still fails, the finite differences are recomputed with
  step 1e-5; if the two disagree the differences are unreliable and the
  example is discarded (counted), otherwise it is a real mismatch.

Anything ``sg.grad`` raises must be ``sg.UnsupportedSyntaxError``; rejected
programs are counted and at most a small fraction may be rejected at order 1,
else the generator is not exercising the engine (at order 2 refusals are
counted, by message, but not bounded yet). Run with ``-s`` to see counts;
S2SGRAD_RANDOM_EXAMPLES, S2SGRAD_RANDOM_SIZES and S2SGRAD_RANDOM_LOG (below)
turn a CI run into a hunt, e.g.

    S2SGRAD_RANDOM_EXAMPLES=1000 S2SGRAD_RANDOM_SIZES=small,medium,large \\
    S2SGRAD_RANDOM_LOG=/tmp/failures.jsonl S2SGRAD_CHECK=1 \\
    python -m pytest -q -s tests/transform/test_random_programs.py
"""

import ast
import contextlib
import importlib.util
import inspect
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, event, given, note, reject, settings

import s2sgrad as sg
from tests.fd import numerical_grad
from tests.transform import random_helpers
from tests.transform.random_programs import HELPERS, SIZES, UPDATING, cases, programs

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DELTA = 1e-4          # path-check displacement
LIMIT = 1e6           # largest |f| or |grad| compared
#: a gradient (generation included) takes milliseconds; one taking longer than
#: SLOW_SECONDS is counted (and logged in a hunt) -- today some 60-line programs
#: with returns in nested loops after returning branches take seconds to
#: generate (reported) -- and one exceeding GRAD_SECONDS is taken for a hang
SLOW_SECONDS = 3.0
GRAD_SECONDS = float(os.environ.get("S2SGRAD_RANDOM_SECONDS", "30"))

STATS = Counter()
REJECTIONS = Counter()


# --------------------------------------------------------------------------
# loading programs and their instrumented copies

_ids = itertools.count()
_PROGRAM_DIR = None


@pytest.fixture(scope="module", autouse=True)
def program_dir(tmp_path_factory):
    global _PROGRAM_DIR
    _PROGRAM_DIR = str(tmp_path_factory.mktemp("random_programs"))
    loaded = set(sys.modules)
    yield _PROGRAM_DIR
    for name in set(sys.modules) - loaded:
        if name.startswith("s2s_random_"):
            del sys.modules[name]


def load(source, name=None):
    """Write ``source`` to a fresh module file, import it, return the module."""
    name = name or f"s2s_random_{next(_ids)}_{uuid.uuid4().hex[:8]}"
    path = os.path.join(_PROGRAM_DIR, name + ".py")
    with open(path, "w") as fh:
        fh.write(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


TRACE = []


def _trace(outcome):
    TRACE.append(bool(outcome))
    return outcome


class _WrapComparisons(ast.NodeTransformer):
    def visit_Compare(self, node):
        self.generic_visit(node)
        call = ast.Call(ast.Name("__trace__", ast.Load()), [node], [])
        return ast.copy_location(call, node)

    def visit_ImportFrom(self, node):   # the traced helpers are provided instead
        return None if node.module == random_helpers.__name__ else node


def _instrument(source, namespace):
    tree = ast.fix_missing_locations(_WrapComparisons().visit(ast.parse(source)))
    exec(compile(tree, "<instrumented>", "exec"), namespace)
    return namespace


_TRACED_HELPERS = _instrument(inspect.getsource(random_helpers), {"__trace__": _trace})


def traced(source):
    namespace = {"__trace__": _trace}
    namespace.update({h: _TRACED_HELPERS[h] for h in HELPERS + UPDATING})
    return _instrument(source, namespace)["f"]


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _path(fun, x, y):
    del TRACE[:]
    fun(_copy(x), _copy(y))
    return tuple(TRACE)


def _displaced(value):
    """Every ``value`` moved by +-DELTA along one coordinate."""
    if isinstance(value, float):
        yield value + DELTA
        yield value - DELTA
        return
    for index in np.ndindex(*value.shape):
        for sign in (1.0, -1.0):
            moved = value.copy()
            moved[index] += sign * DELTA
            yield moved


class _TooSlow(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds):
    """Fail (instead of hanging, or filling memory) if the block runs too long."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise _TooSlow()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _TooSlow:
        raise AssertionError(f"the gradient did not finish within {seconds} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _timed(case):
    """Count (and in a hunt, log) a gradient slower than SLOW_SECONDS."""
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    if seconds > SLOW_SECONDS:
        STATS[f"slower than {SLOW_SECONDS:g} s"] += 1
        if HUNT_LOG:
            with open(HUNT_LOG, "a") as fh:
                fh.write(json.dumps({"kind": "slow", "message": f"{seconds:.1f} s", "source": case.source,
                                     "x": repr(case.x), "y": repr(case.y)}) + "\n")


def _discard(reason):
    STATS[f"discarded: {reason}"] += 1
    event(f"discarded: {reason}")
    reject()


def _close(actual, expected, scale, rtol=1e-5):
    return np.allclose(np.asarray(actual, dtype=float), expected, rtol=rtol, atol=rtol * 0.1 * scale)


#: S2SGRAD_RANDOM_EXAMPLES=N: a hunt, N programs per size and order instead of
#: the CI budgets below; a failure is counted, logged (S2SGRAD_RANDOM_LOG=FILE,
#: JSON lines) and the hunt goes on; the test fails at the end if any was found.
#: S2SGRAD_RANDOM_SIZES=small,medium,large chooses the program sizes (CI: medium).
#: S2SGRAD_SHRINK=1 lets hypothesis shrink a failing program (CI mode only; it
#: can take minutes: the failure report already shows the program and its
#: inputs, and tests/transform/cases_found.py holds hand-minimised reproducers).
HUNT = int(os.environ.get("S2SGRAD_RANDOM_EXAMPLES", "0"))
#: CI draws the same programs every run (a fixed seed), so a red run is a change's
#: doing, not the dice; hunts (S2SGRAD_RANDOM_EXAMPLES) draw new ones each time.
HUNT_LOG = os.environ.get("S2SGRAD_RANDOM_LOG")
RUN_SIZES = os.environ.get("S2SGRAD_RANDOM_SIZES", "medium").split(",")
FAILURES = Counter()
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + (
    [Phase.shrink] if os.environ.get("S2SGRAD_SHRINK") and not HUNT else [])


def _fail(kind, message, case):
    """A wrong gradient or an exception other than a refusal: raised in CI,
    counted and logged in a hunt."""
    if not HUNT:
        raise AssertionError(message)
    FAILURES[kind] += 1
    STATS["FAILED"] += 1
    if HUNT_LOG:
        with open(HUNT_LOG, "a") as fh:
            fh.write(json.dumps({"kind": kind, "message": message, "source": case.source,
                                 "x": repr(case.x), "y": repr(case.y)}) + "\n")


def _category(error):
    """A refusal's message with the names that vary between programs replaced."""
    text = str(error).split(" is not supported")[0]
    text = re.sub(r"s2s_random_\w+\.py:\d+", "<program>:N", text)
    text = re.sub(r"<s2sgrad [^>]*>:\w+", "<generated>:N", text)
    text = re.sub(r"\b(_t|[a-z])\d+(_\d+)?\b", r"\1N", text)
    return re.sub(r"'[A-Za-z_]\w*'", "'NAME'", text)


def _error_kind(error):
    return f"{type(error).__name__}: {_category(error)[:120]}"


def _names_program_line(error, module):
    where = re.escape(os.path.basename(module.__file__)) + r":\d+"
    return re.search(where, str(error)) is not None


def _reference(case, g):
    """f's value, its central differences and the scale of both; discards
    programs that overflow or whose numbers are too large to compare."""
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            value = g(case.x, case.y)
            fd = [numerical_grad(g, (case.x, case.y), i) for i in (0, 1)]
        except (FloatingPointError, OverflowError):
            _discard("overflow")
    scale = max([1.0, abs(value)] + [float(np.max(np.abs(d))) for d in fd])
    if not np.isfinite(scale) or scale > LIMIT:
        _discard("too large")
    return value, fd, scale


def _check_path(case, value):
    """Discard the program unless every input within DELTA takes its path."""
    instrumented = traced(case.source)
    base = _path(instrumented, case.x, case.y)
    assert instrumented(_copy(case.x), _copy(case.y)) == value, "instrumented copy differs"
    for moved in _displaced(case.x):
        if _path(instrumented, moved, case.y) != base:
            _discard("path changes within 1e-4")
    for moved in _displaced(case.y):
        if _path(instrumented, case.x, moved) != base:
            _discard("path changes within 1e-4")


def _compare(what, got, expected, scale, coarse, case, rtol=1e-5):
    """``got`` against central differences ``expected``; on a mismatch the
    differences are recomputed with a 10x larger step (``coarse()``): if the
    two disagree they are unreliable and the example is discarded."""
    if _close(got, expected, scale, rtol):
        return True
    if not _close(coarse(), expected, scale):
        _discard("finite differences unreliable")
    _fail(f"wrong {what}", f"{what} differs from finite differences:\n"
          f"s2sgrad: {got!r}\nnumerical: {expected!r}\n\n{case.source}\n"
          f"x = {case.x!r}\ny = {case.y!r}", case)
    return False


def check_program(case):
    note(case.source)
    note(f"x = {case.x!r}\ny = {case.y!r}")
    STATS["programs"] += 1
    module = load(case.source)
    f = module.f
    x, y = case.x, case.y

    def g(x, y):                      # f on fresh copies: in-place updates stay local
        return f(_copy(x), _copy(y))

    value, fd, scale = _reference(case, g)
    _check_path(case, value)

    try:
        with _time_limit(GRAD_SECONDS), _timed(case):
            grads = sg.grad(f, wrt=(0, 1))(_copy(x), _copy(y))
    except sg.UnsupportedSyntaxError as error:
        # the contract: the message names the construct, the file and the line
        assert _names_program_line(error, module), f"rejection without file and line: {error}"
        STATS["rejected"] += 1
        REJECTIONS[_category(error)] += 1
        event("rejected")
        return
    except Exception as error:        # (AssertionError: the time limit)
        if not HUNT:
            raise
        return _fail(_error_kind(error), repr(error), case)
    STATS["checked"] += 1
    for feature in case.features:
        STATS[f"feature: {feature}"] += 1

    assert isinstance(grads, tuple) and len(grads) == 2
    # float32 arguments: the program runs in float32, its differences in
    # float64; rounding in float32 bounds the agreement to about 1e-3
    rtol = 1e-3 if "float32" in case.features else 1e-5
    for i, (arg, grad, expected) in enumerate(zip((x, y), grads, fd)):
        if np.shape(grad) != np.shape(arg):
            return _fail("gradient shape", f"argument {i}: gradient shape {np.shape(grad)}", case)
        if isinstance(arg, np.ndarray) and grad.dtype != arg.dtype:
            if arg.dtype == np.float64:
                return _fail("gradient dtype", f"argument {i}: gradient dtype {grad.dtype}", case)
            # (float32 gradients belong to the dtypes work: counted, not failed)
            STATS[f"gradient dtype {grad.dtype} for {arg.dtype}"] += 1
        if not _compare(f"gradient of {'xy'[i]}", grad, expected, scale,
                        lambda: numerical_grad(g, (x, y), i, eps=1e-5), case, rtol):
            return
    if FORWARD:
        check_forward(case, f, g, value, fd[0], scale, rtol, module)


#: sg.jvp is checked too (S2SGRAD_RANDOM_FORWARD=0 leaves it out): on since
#: the two bugs it found were fixed -- a zero tangent differentiated as
#: nonzero after a break (dce), and float32 programs whose x += y promoted x
#: (jvp's value was not f's)
FORWARD = os.environ.get("S2SGRAD_RANDOM_FORWARD", "1") == "1"


def check_forward(case, f, g, value, fd, scale, rtol, module):
    """sg.jvp along a fixed direction against the same differences: forward
    mode is a transform of its own (it once dropped a write through a second
    name for an array as dead code, which reverse mode refuses)."""
    x, y = case.x, case.y
    v = np.cos(np.arange(1.0, np.size(x) + 1.0)).reshape(np.shape(x))
    v = float(v) if isinstance(x, float) else v.astype(x.dtype)
    try:
        with _time_limit(GRAD_SECONDS), _timed(case):
            out, tangent = sg.jvp(f, wrt=0)(_copy(x), _copy(y), v)
    except sg.UnsupportedSyntaxError as error:
        assert _names_program_line(error, module), f"rejection without file and line: {error}"
        STATS["forward mode rejected"] += 1
        return
    except Exception as error:
        if not HUNT:
            raise
        return _fail(f"forward mode: {_error_kind(error)}", repr(error), case)
    STATS["forward mode checked"] += 1
    if not _close(out, value, scale, 1e-9):
        return _fail("forward mode value", f"jvp value {out!r}, f gives {value!r}", case)
    _compare("tangent along v", tangent, np.sum(fd * v), scale,
             lambda: np.sum(numerical_grad(g, (x, y), 0, eps=1e-5) * v), case, rtol)


#: the second derivatives checked: (i, j) is d/d(arg j) of sg.grad(f, wrt=i)
SECOND = ((0, 0), (0, 1), (1, 1))


def check_second_order(case):
    """sg.grad(sg.grad(f, wrt=i), wrt=j) of a program of two floats against
    central differences of the generated first derivative sg.grad(f, wrt=i),
    itself first checked against differences of f. Probe points are within
    the path check's DELTA."""
    note(case.source)
    note(f"x = {case.x!r}\ny = {case.y!r}")
    STATS["programs"] += 1
    module = load(case.source)
    f = module.f
    x, y = case.x, case.y
    value, fd, scale = _reference(case, f)
    _check_path(case, value)

    def attempt(what, thunk):
        """(True, value) or (False, None) after counting a refusal or failure."""
        try:
            with _time_limit(GRAD_SECONDS), _timed(case):
                return True, thunk()
        except sg.UnsupportedSyntaxError as error:
            STATS[f"refused: {what}"] += 1
            # a refusal in generated code read again names the program's line too
            assert _names_program_line(error, module), f"refusal without the program's line: {error}"
            REJECTIONS[f"{what}: {_category(error)}"] += 1
            event(f"refused: {what}")
        except Exception as error:
            if not HUNT:
                raise
            _fail(f"{what}: {_error_kind(error)}", repr(error), case)
        return False, None

    ok, first = attempt("order 1", lambda: [sg.grad(f, wrt=i) for i in (0, 1)])
    if not ok:
        return
    ok, d = attempt("order 1", lambda: [g(x, y) for g in first])
    if not ok:
        return
    for i in (0, 1):
        if not _compare(f"first derivative d/d{'xy'[i]}", d[i], fd[i], scale,
                        lambda: numerical_grad(f, (x, y), i, eps=1e-5), case):
            return
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        try:
            expected = {(i, j): numerical_grad(first[i], (x, y), j) for i, j in SECOND}
        except (FloatingPointError, OverflowError):
            _discard("overflow")
    scale2 = max([scale] + [abs(e) for e in expected.values()])
    if not np.isfinite(scale2) or scale2 > LIMIT:
        _discard("too large")
    STATS["checked order 1"] += 1
    for feature in case.features:
        STATS[f"feature: {feature}"] += 1
    for i, j in SECOND:
        what = f"d2/d{'xy'[i]}d{'xy'[j]}"
        ok, derivative = attempt("order 2", lambda: sg.grad(first[i], wrt=j))
        if not ok:
            continue
        if not hasattr(derivative, "__s2sgrad_source__"):
            STATS["order 2 on the tape"] += 1  # (the source path refused it)
        ok, second = attempt("order 2", lambda: derivative(x, y))
        if not ok:
            continue
        STATS["checked order 2"] += 1
        if not isinstance(second, float):
            _fail("order 2 type", f"{what} is a {type(second).__name__}, not a float", case)
        elif not _compare(what, second, expected[i, j], scale2,
                          lambda: numerical_grad(first[i], (x, y), j, eps=1e-5), case):
            return


def _report(title):
    counts = ", ".join(f"{k}={v}" for k, v in sorted(STATS.items()) if not k.startswith("feature"))
    features = ", ".join(f"{k[9:]}={v}" for k, v in sorted(STATS.items()) if k.startswith("feature"))
    print(f"\n{title}: {counts}\n  features of checked programs: {features}")
    for what, table in (("refusals", REJECTIONS), ("FAILURES", FAILURES)):
        if table:
            print(f"  {what}:")
            for text, count in table.most_common():
                print(f"    {count:5d}  {text}")


def _run(check, strategy, examples, title):
    """``check`` on ``examples`` draws of ``strategy``, counts reported with -s."""
    STATS.clear()
    REJECTIONS.clear()
    FAILURES.clear()

    @settings(max_examples=examples, deadline=None, derandomize=not HUNT, phases=PHASES,
              report_multiple_bugs=False, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.filter_too_much])
    @given(strategy)
    def run(case):
        check(case)

    try:
        run()
    finally:
        _report(title)
    assert not FAILURES, f"{sum(FAILURES.values())} failures: {dict(FAILURES)}"


#: CI budgets (examples per test); a hunt uses S2SGRAD_RANDOM_EXAMPLES
MAX_EXAMPLES = HUNT or 200
MAX_EXAMPLES_ORDER2 = HUNT or 25

#: constructs left out of CI runs while a known bug makes them fail (a hunt
#: draws everything, unless S2SGRAD_RANDOM_AVOID_KNOWN=1: then it looks for
#: new bugs only); take a construct out of here when its bug is fixed
KNOWN_FAILING = {
    # (dead `w = y.reshape(-1)` in a loop, a ValueError, was fixed in e24ba84)
    1: frozenset(),
    # `np.prod(x) + x` of a float x: the second derivative is a 0-d array, not
    # a float (prod_of_others_jvp); reported, not fixed yet
    2: frozenset({"prod"}),
}
CI_AVOID = {order: avoid if not HUNT or os.environ.get("S2SGRAD_RANDOM_AVOID_KNOWN") else frozenset()
            for order, avoid in KNOWN_FAILING.items()}


@pytest.mark.parametrize("size", RUN_SIZES)
def test_random_programs_match_finite_differences(size):
    _run(check_program, cases(SIZES[size], avoid=CI_AVOID[1]), MAX_EXAMPLES,
         f"random programs ({size})")
    handled = STATS["checked"] + STATS["rejected"]
    assert STATS["checked"] >= MAX_EXAMPLES // 2, dict(STATS)
    # Refusals by design remain: writing into (or `+=` on) an array that a copy
    # or a tuple made earlier still shares and reads later. Across draws they
    # run from 5 % to 15 % of the programs; the bound only has to show that
    # most programs are differentiated (and must not make CI flaky).
    assert STATS["rejected"] <= 0.25 * handled, f"too many rejections: {dict(REJECTIONS)}"


@pytest.mark.parametrize("size", RUN_SIZES)
def test_second_derivatives_of_random_loop_programs(size):
    """Loops (for/while, break/continue, nested, with branches) at order 2:
    their first derivatives replay stacks, differentiated again as source."""
    _run(check_second_order, cases(SIZES[size], order="2 loops", avoid=CI_AVOID[2]),
         MAX_EXAMPLES_ORDER2, f"order 2 through loops ({size})")
    assert STATS["checked order 1"] + STATS["refused: order 1"] >= MAX_EXAMPLES_ORDER2 // 2, dict(STATS)
    assert STATS["checked order 2"] >= MAX_EXAMPLES_ORDER2 // 2, dict(STATS)


@pytest.mark.parametrize("size", RUN_SIZES)
def test_second_derivatives_of_random_branchy_programs(size):
    _run(check_second_order, cases(SIZES[size], order=2, avoid=CI_AVOID[2]), MAX_EXAMPLES_ORDER2,
         f"order 2 ({size})")
    # every program reached the first derivatives (refusals of order 2 are
    # allowed for now: see check_second_order)
    assert STATS["checked order 1"] + STATS["refused: order 1"] >= MAX_EXAMPLES_ORDER2 // 2, dict(STATS)


# --------------------------------------------------------------------------
# determinism of the generated source

_SOURCES = []


@settings(max_examples=max(10, min(MAX_EXAMPLES, 200) // 8), deadline=None, derandomize=not HUNT,
          phases=PHASES, report_multiple_bugs=False, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(programs())
def _check_deterministic(program):
    source = program[0]
    note(source)
    tag = uuid.uuid4().hex[:8]
    first, second = (load(source, f"s2s_random_det_{tag}_{k}") for k in "ab")
    try:
        text = sg.source(first.f, wrt=(0, 1))
    except sg.UnsupportedSyntaxError:
        return
    again = sg.source(second.f, wrt=(0, 1))
    assert text.replace(first.__name__, "M") == again.replace(second.__name__, "M")
    assert sg.source(first.f, wrt=(0, 1)) == text       # the cached entry
    _SOURCES.append((source, text.replace(first.__name__, "M")))


_GENERATE_IN_SUBPROCESS = textwrap.dedent("""
    import importlib.util, json, sys
    import s2sgrad as sg
    out = []
    for k, path in enumerate(json.load(sys.stdin)):
        name = f"s2s_random_sub_{k}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        out.append(sg.source(module.f, wrt=(0, 1)).replace(name, "M"))
    json.dump(out, sys.stdout)
""")


def test_generated_source_is_deterministic():
    """The same program text gives the same gradient source: in two module
    files of one process, and in fresh processes with different hash seeds."""
    del _SOURCES[:]
    _check_deterministic()
    assert _SOURCES
    paths = []
    for k, (source, _) in enumerate(_SOURCES):
        path = os.path.join(_PROGRAM_DIR, f"s2s_random_hashseed_{k}.py")
        with open(path, "w") as fh:
            fh.write(source)
        paths.append(path)
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed,
                   PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
        done = subprocess.run([sys.executable, "-c", _GENERATE_IN_SUBPROCESS], input=json.dumps(paths),
                              capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
        assert done.returncode == 0, done.stderr
        for (source, text), other in zip(_SOURCES, json.loads(done.stdout)):
            assert other == text, f"PYTHONHASHSEED={seed} changes the gradient of\n{source}"
