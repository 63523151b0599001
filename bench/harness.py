"""Timing, verification and reporting shared by the benchmark workloads.

A workload module under ``bench/workloads/`` exposes ``rows(cfg)``, a list of
row objects; ``row.run(cfg)`` returns the table rows (``Result``) it measured.
The main kind is ``PairRow``: a hand-written callable and the s2sgrad one,
verified first (the hand-written one independently, e.g. against finite
differences; the generated one against it), then timed on the same arguments
in interleaved repeats of the same run. A feature s2sgrad lacks yet makes its
cell read ``unsupported: <reason>`` instead of stopping the run.
"""

from __future__ import annotations

import ast
import atexit
import gc
import importlib.util
import inspect
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import timeit
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: the benchmarks never read or fill the user's disk cache of generated code:
#: the run and its child processes (which import this module too) share a
#: directory of the run's own, removed when the run ends
if not os.environ.get("S2SGRAD_BENCH_CACHE_DIR"):
    os.environ["S2SGRAD_BENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="s2sgrad-bench-cache-")
    atexit.register(shutil.rmtree, os.environ["S2SGRAD_BENCH_CACHE_DIR"], ignore_errors=True)
os.environ["S2SGRAD_CACHE_DIR"] = os.environ["S2SGRAD_BENCH_CACHE_DIR"]


@dataclass(frozen=True)
class Config:
    """How hard to measure: ``--quick`` trades precision for a run of seconds."""

    quick: bool = False
    peers: tuple[str, ...] = ()

    @property
    def repeats(self) -> int:
        return 3 if self.quick else 7

    @property
    def repeat_seconds(self) -> float:
        """Minimum duration of one timed repeat (the call count is chosen to reach it)."""
        return 0.02 if self.quick else 0.1

    @property
    def trials(self) -> int:
        """Repetitions of measurements that cannot be batched (first calls, subprocesses)."""
        return 3 if self.quick else 5


@dataclass(frozen=True)
class Target:
    """What a row must reach: a ratio to hand-written and/or an absolute time or size."""

    max_ratio: float | None = None
    max_seconds: float | None = None
    text: str | None = None  # overrides the generated description

    def describe(self) -> str:
        if self.text:
            return self.text
        parts = []
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:g}x")
        if self.max_seconds is not None:
            parts.append(f"< {format_seconds(self.max_seconds)}")
        return ", ".join(parts) or "—"

    def met(self, ratio: float | None, seconds: float | None) -> str:
        checks = []
        if self.max_ratio is not None and ratio is not None:
            checks.append(ratio <= self.max_ratio)
        if self.max_seconds is not None and seconds is not None:
            checks.append(seconds < self.max_seconds)
        if not checks:
            return ""
        return "yes" if all(checks) else "no"


NO_TARGET = Target()


@dataclass
class Result:
    """One line of the table."""

    workload: str
    hand: str = "—"
    s2sgrad: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: str = ""
    peers: dict[str, str] = field(default_factory=dict)
    failed: bool = False  # a gradient or result was wrong (not merely unsupported)


class WrongResult(AssertionError):
    """A gradient or result disagrees with its reference."""


# --------------------------------------------------------------------------- formatting


def format_seconds(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def format_bytes(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} B"
    if n < 1024 ** 2:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 ** 2:.2f} MiB"


def format_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x"


def describe_exception(exc: BaseException, limit: int = 90) -> str:
    """One table-safe line: the exception type and the start of its message."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    message = re.sub(r"(?:/[^/\s:]+)+/([^/\s:]+)", r"\1", message)  # paths to file names
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    text = text.replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_unsupported(exc: BaseException) -> bool:
    """True for 'not implemented yet' failures, as opposed to bugs in what exists."""
    if isinstance(exc, (NotImplementedError, ImportError)):
        return True
    if isinstance(exc, AttributeError) and "s2sgrad" in str(exc):
        return True
    try:
        import s2sgrad

        return isinstance(exc, s2sgrad.S2SGradError)
    except Exception:  # the package itself does not import: report as unsupported
        return True


def failure_cell(exc: BaseException) -> str:
    kind = "unsupported" if is_unsupported(exc) else "error"
    return f"{kind}: {describe_exception(exc)}"


# --------------------------------------------------------------------------- timing


def _timer(fn: Callable, args: tuple) -> timeit.Timer:
    """A timer for ``fn(a0, a1, ...)``: the arguments are spelled out, not splatted,
    so the measured call is the call a user writes."""
    names = [f"a{i}" for i in range(len(args))]
    namespace = dict(zip(names, args), fn=fn)
    return timeit.Timer(f"fn({', '.join(names)})", globals=namespace)


def _calls_per_repeat(timer: timeit.Timer, seconds: float) -> int:
    """Like ``Timer.autorange``: the smallest 1, 2, 5, 10, 20, ... reaching ``seconds``."""
    number = 1
    while True:
        for factor in (1, 2, 5):
            n = number * factor
            if timer.timeit(n) >= seconds:
                return n
        number *= 10


def time_calls(calls: dict[str, tuple[Callable, tuple]], cfg: Config) -> dict[str, float]:
    """Median seconds per call of each ``fn(*args)``, the repeats interleaved so that
    drift in machine speed affects every contestant alike."""
    timers = {key: _timer(fn, args) for key, (fn, args) in calls.items()}
    numbers = {key: _calls_per_repeat(t, cfg.repeat_seconds) for key, t in timers.items()}
    samples: dict[str, list[float]] = {key: [] for key in calls}
    for _ in range(cfg.repeats):
        for key, t in timers.items():
            samples[key].append(t.timeit(numbers[key]) / numbers[key])
    return {key: statistics.median(s) for key, s in samples.items()}


#: peak-memory rows compare against the hand-written peak plus one page
MEMORY_SLACK_BYTES = 4096


def peak_memory(fn: Callable, args: tuple) -> int:
    """Peak bytes allocated (Python objects and NumPy buffers) during one call."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = fn(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del result
    return peak - before


# --------------------------------------------------------------------------- verification


def _leaves(value: Any) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def as_array(value: Any) -> np.ndarray:
    """A NumPy array from a float, NumPy value, s2sgrad tensor or peer tensor."""
    if hasattr(value, "numpy"):
        value = value.detach().numpy() if hasattr(value, "detach") else value.numpy()
    return np.asarray(value, dtype=np.float64)


def assert_close(expected: Any, actual: Any, rtol: float, what: str) -> None:
    """Compare two (possibly nested) results leaf by leaf, relative to each leaf's scale."""
    exp_leaves, act_leaves = _leaves(expected), _leaves(actual)
    if len(exp_leaves) != len(act_leaves):
        raise WrongResult(f"{what}: {len(act_leaves)} outputs, expected {len(exp_leaves)}")
    for i, (e, a) in enumerate(zip(exp_leaves, act_leaves)):
        e, a = as_array(e), as_array(a)
        if e.shape != a.shape:
            raise WrongResult(f"{what}: output {i} has shape {a.shape}, expected {e.shape}")
        scale = max(float(np.max(np.abs(e), initial=0.0)), 1e-300)
        err = float(np.max(np.abs(a - e), initial=0.0)) / scale
        if not err <= rtol:
            raise WrongResult(f"{what}: output {i} off by {err:.2e} (relative), tolerance {rtol:.0e}")


def _perturbed(args: tuple, index: int, delta: Any) -> tuple:
    return args[:index] + (args[index] + delta,) + args[index + 1 :]


def check_against_finite_differences(
    primal: Callable, gradient: Any, args: tuple, wrt: tuple[int, ...], rtol: float = 1e-5
) -> None:
    """Check a gradient by directional derivatives: for each argument in ``wrt`` and a
    random direction v, ⟨gradient, v⟩ must match a central difference of ``primal``.
    Cheap for any argument size (two primal evaluations per argument)."""
    rng = np.random.default_rng(1234)
    grads = gradient if len(wrt) > 1 else (gradient,)
    for index, g in zip(wrt, grads):
        x = args[index]
        direction = rng.standard_normal(np.shape(x))
        if isinstance(x, float):
            direction = float(direction)
        scale = max(1.0, float(np.max(np.abs(x), initial=0.0)))
        eps = 1e-6 * scale
        up = primal(*_perturbed(args, index, eps * direction))
        down = primal(*_perturbed(args, index, -eps * direction))
        numeric = (float(up) - float(down)) / (2 * eps)
        analytic = float(np.sum(as_array(g) * direction))
        tolerance = rtol * max(abs(numeric), abs(analytic), 1e-8)
        if not abs(numeric - analytic) <= tolerance:
            raise WrongResult(
                f"d/d(argument {index}) along a random direction: "
                f"{analytic:.10g}, finite differences give {numeric:.10g}"
            )


# --------------------------------------------------------------------------- rows


@dataclass
class PairRow:
    """A hand-written callable against the s2sgrad one on the same arguments.

    ``generated`` and each entry of ``peers`` are builders: called once (their
    cost is not timed) to return the callable to time. ``check_handwritten()``
    verifies the hand-written side independently; ``compare(hand_out, other_out)``
    verifies a contestant against it. A row whose check fails is not timed.
    """

    name: str
    handwritten: Callable
    generated: Callable[[], Callable]
    target: Target
    check_handwritten: Callable[[], None]
    compare: Callable[[Any, Any], None]
    args: tuple = ()
    peers: dict[str, Callable[[], Callable]] = field(default_factory=dict)
    memory: bool = False  # add a peak-memory row
    memory_target: Target = field(default_factory=lambda: Target(max_ratio=1.0))

    def run(self, cfg: Config) -> list[Result]:
        row = Result(self.name, target=self.target.describe())
        try:
            self.check_handwritten()
            hand_out = self.handwritten(*self.args)
        except WrongResult as exc:
            row.hand, row.failed = f"wrong, row aborted: {exc}", True
            return [row]

        calls = {"hand": (self.handwritten, self.args)}
        try:
            generated = self.generated()
            self.compare(hand_out, generated(*self.args))
            calls["s2sgrad"] = (generated, self.args)
        except WrongResult as exc:
            row.s2sgrad, row.failed = f"wrong, not timed: {exc}", True
        except Exception as exc:  # noqa: BLE001 - any failure becomes the cell's text
            row.s2sgrad = failure_cell(exc)

        for peer in cfg.peers:
            build = self.peers.get(peer)
            if build is None:
                continue
            try:
                fn = build()
                self.compare(hand_out, fn(*self.args))
                calls[peer] = (fn, self.args)
            except WrongResult as exc:
                row.peers[peer] = f"wrong: {exc}"
            except Exception as exc:  # noqa: BLE001
                row.peers[peer] = f"error: {describe_exception(exc, 50)}"

        times = time_calls(calls, cfg)
        hand = times["hand"]
        row.hand = format_seconds(hand)
        for peer in cfg.peers:
            if peer in times:
                row.peers[peer] = f"{format_seconds(times[peer])} ({format_ratio(times[peer] / hand)})"
        if "s2sgrad" in times:
            ratio = times["s2sgrad"] / hand
            row.s2sgrad, row.ratio = format_seconds(times["s2sgrad"]), format_ratio(ratio)
            row.met = self.target.met(ratio, times["s2sgrad"])
        if not self.memory:
            return [row]
        return [row, self._memory_row(calls["s2sgrad"][0] if "s2sgrad" in calls else None, row)]

    def _memory_row(self, generated: Callable | None, timing: Result) -> Result:
        """Peak memory of one call each; s2sgrad's cell repeats the timing row's
        failure when there is nothing to measure."""
        hand = peak_memory(self.handwritten, self.args)
        row = Result(
            f"peak memory: {self.name}",
            hand=format_bytes(hand),
            s2sgrad=timing.s2sgrad,
            target=self.memory_target.describe(),
        )
        if generated is not None:
            mine = peak_memory(generated, self.args)
            ratio = mine / hand if hand else float("inf")
            row.s2sgrad, row.ratio = format_bytes(mine), format_ratio(ratio)
            # Arrays decide the peak; a few hundred bytes of Python objects
            # (a frame, a tuple) are not "more memory than it needs".
            row.met = self.memory_target.met(mine / (hand + MEMORY_SLACK_BYTES), None)
        return row


def gradient_row(
    name: str,
    *,
    primal: Callable,
    args: tuple,
    wrt: int | tuple[int, ...],
    handwritten: Callable,
    target: Target,
    memory: bool = False,
    peers: bool = True,
    rtol: float = 1e-7,
) -> PairRow:
    """A row comparing ``sg.grad(primal, wrt)`` with a hand-written gradient.

    The hand-written gradient is checked against finite differences of ``primal``;
    s2sgrad's (and each peer's) against the hand-written one to ``rtol``.
    """
    wrt_tuple = wrt if isinstance(wrt, tuple) else (wrt,)

    def check_handwritten() -> None:
        check_against_finite_differences(primal, handwritten(*args), args, wrt_tuple)

    def build_generated() -> Callable:
        import s2sgrad as sg

        return sg.grad(primal, wrt=wrt)

    def compare(expected: Any, actual: Any) -> None:
        assert_close(expected, actual, rtol, "gradient")

    peer_builders = {}
    if peers:
        from bench import peers as peer_module

        peer_builders = {
            peer: (lambda peer=peer: peer_module.gradient(peer, primal, wrt, args))
            for peer in peer_module.PEERS
        }
    return PairRow(
        name,
        handwritten=handwritten,
        generated=build_generated,
        target=target,
        check_handwritten=check_handwritten,
        compare=compare,
        args=args,
        peers=peer_builders,
        memory=memory,
    )


# --------------------------------------------------------------------------- first calls

_FRESH_DIR = None


def _fresh_dir() -> Path:
    """The run's directory for copies of functions (removed at exit)."""
    global _FRESH_DIR
    if _FRESH_DIR is None:
        _FRESH_DIR = tempfile.mkdtemp(prefix="s2sgrad-bench-")
        atexit.register(shutil.rmtree, _FRESH_DIR, ignore_errors=True)
    return Path(_FRESH_DIR)


def fresh_function(func: Callable, tag: int) -> Callable:
    """A new function object with ``func``'s source, from a new file and with new
    code (shifted line numbers, a distinct comment), so that no cache keyed by the
    function, its code or its source text can already hold its derivative.
    The copy's module sees ``np`` and ``math``, as the workloads' functions expect."""
    source = textwrap.dedent(inspect.getsource(func))
    lines = source.splitlines()
    first_statement = ast.parse(source).body[0].body[0].lineno - 1
    indent = lines[first_statement][: len(lines[first_statement]) - len(lines[first_statement].lstrip())]
    lines.insert(first_statement, f"{indent}# fresh copy {os.getpid()}-{tag}")
    text = "import math\nimport numpy as np\n" + "\n" * (tag + 1) + "\n".join(lines) + "\n"
    module_name = f"_s2sgrad_bench_fresh_{os.getpid()}_{tag}"
    path = _fresh_dir() / f"{module_name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return getattr(module, func.__name__)


def first_call_seconds(func: Callable, args: tuple, wrt: Any, tag: int) -> float:
    """Seconds for ``sg.grad(fresh copy of func)(*args)``: parse to result, cold cache."""
    import s2sgrad as sg

    fresh = fresh_function(func, tag)
    start = time.perf_counter()
    sg.grad(fresh, wrt=wrt)(*args)
    return time.perf_counter() - start


_CHILD = """
import importlib, json, sys
sys.path.insert(0, {root!r})
from bench.harness import first_call_seconds
module = importlib.import_module({module!r})
func, args = getattr(module, {func!r}), getattr(module, {make_args!r})()
print(json.dumps(first_call_seconds(func, args, {wrt!r}, tag={tag!r})))
"""


@dataclass
class FirstCallRow:
    """Time of the first ``sg.grad(f)(...)`` call, parse to result: once in this process
    with a cold cache (the pipeline's modules already imported) and once in a new
    interpreter where ``import s2sgrad`` has run but nothing else of it."""

    name: str
    func: Callable
    make_args: Callable[[], tuple]
    wrt: Any
    target: Target

    def run(self, cfg: Config) -> list[Result]:
        warm = Result(f"{self.name} (cold cache)", target=self.target.describe())
        new = Result(f"{self.name} (new process)", target=self.target.describe())
        args = self.make_args()
        try:
            first_call_seconds(self.func, args, self.wrt, tag=0)  # imports the pipeline
            seconds = statistics.median(
                first_call_seconds(self.func, args, self.wrt, tag=t) for t in range(1, cfg.trials + 1)
            )
            warm.s2sgrad, warm.met = format_seconds(seconds), self.target.met(None, seconds)
        except Exception as exc:  # noqa: BLE001
            warm.s2sgrad = new.s2sgrad = failure_cell(exc)
            return [warm, new]
        samples = []
        for trial in range(cfg.trials):
            child = _CHILD.format(
                root=str(ROOT),
                module=self.func.__module__,
                func=self.func.__name__,
                make_args=self.make_args.__name__,
                wrt=self.wrt,
                tag=trial,
            )
            proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                                  cwd=ROOT, env=_env_with_bytecode())
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                new.s2sgrad = f"error: {last[:90]}".replace("|", "/")
                return [warm, new]
            samples.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        seconds = statistics.median(samples)
        new.s2sgrad, new.met = format_seconds(seconds), self.target.met(None, seconds)
        return [warm, new]


_WARM_CHILD = """
import importlib, importlib.util, json, sys, time
sys.path.insert(0, {root!r})
spec = importlib.util.spec_from_file_location({name!r}, {path!r})
module = importlib.util.module_from_spec(spec)
sys.modules[{name!r}] = module
spec.loader.exec_module(module)
args = getattr(importlib.import_module({workload!r}), {make_args!r})()
import s2sgrad as sg
if {engine_imported!r}:
    import s2sgrad.api, s2sgrad.pipeline
start = time.perf_counter()
sg.grad(module.{func}, wrt={wrt!r})(*args)
seconds = time.perf_counter() - start
from s2sgrad.codegen import disk
print(json.dumps({{"seconds": seconds, "loaded": disk.stats["loaded"]}}))
"""


@dataclass
class WarmDiskFirstCallRow(FirstCallRow):
    """Time of the first ``sg.grad(f)(...)`` call in a new interpreter whose disk
    cache already holds ``f``'s derivative (an earlier process generated it):
    no pass runs, the entry is read, checked and compiled. ``f`` is copied to a
    file of its own that every process imports (the cache is keyed by the
    code, which names its file). Two rows: after ``import s2sgrad`` (so the
    pipeline's import is counted, as in FirstCallRow's new-process row) and
    with the engine imported already (the cache's own cost)."""

    def run(self, cfg: Config) -> list[Result]:
        module_name = f"_s2sgrad_bench_warm_{self.func.__name__}"
        path = _fresh_dir() / f"{module_name}.py"
        path.write_text("import math\nimport numpy as np\n\n\n"
                        + textwrap.dedent(inspect.getsource(self.func)))
        results = []
        for engine_imported, title in ((False, "new process, warm disk cache"),
                                       (True, "new process, warm disk cache, engine imported")):
            row = Result(f"{self.name} ({title})", target=self.target.describe())
            results.append(row)
            try:
                self._child(path, module_name, False, must_load=False)  # fills the cache
                seconds = statistics.median(
                    self._child(path, module_name, engine_imported) for _ in range(cfg.trials))
            except RuntimeError as exc:
                row.s2sgrad = f"error: {exc}"[:100].replace("|", "/")
                continue
            row.s2sgrad, row.met = format_seconds(seconds), self.target.met(None, seconds)
        return results

    def _child(self, path, module_name, engine_imported, must_load=True):
        child = _WARM_CHILD.format(root=str(ROOT), name=module_name, path=str(path),
                                   workload=self.func.__module__, make_args=self.make_args.__name__,
                                   func=self.func.__name__, wrt=self.wrt,
                                   engine_imported=engine_imported)
        proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                              cwd=ROOT, env=_env_with_bytecode())
        if proc.returncode != 0:
            raise RuntimeError((proc.stderr.strip().splitlines() or ["no output"])[-1])
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        if must_load and not report["loaded"]:
            raise RuntimeError("the derivative was not read from the disk cache")
        return report["seconds"]


def _env_with_bytecode():
    """The environment for new-process rows, with bytecode caching on.

    Installed packages have their ``.pyc`` files, so a user's new process does
    not recompile s2sgrad; a shell with PYTHONDONTWRITEBYTECODE=1 (this
    sandbox sets it) would otherwise measure compilation of the sources.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_python(code: str, *options: str) -> subprocess.CompletedProcess:
    """Run ``python [options] -c code`` in a new interpreter from the repository root."""
    return subprocess.run(
        [sys.executable, *options, "-c", code], capture_output=True, text=True, cwd=ROOT
    )
