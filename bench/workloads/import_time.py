"""Issue 2: ``import s2sgrad`` in a new interpreter, and that it does not import sympy.

Read from ``python -X importtime`` (cumulative microseconds of the ``s2sgrad``
entry, which includes NumPy when s2sgrad imports it); the hand-written column
shows ``import numpy`` alone for reference.
"""

import statistics

from bench.harness import Config, Result, Target, format_seconds, run_python

TARGET = Target(max_seconds=0.150, text="< 150 ms, no sympy")


def cumulative_import_seconds(module: str) -> float:
    """Cumulative import time of ``module`` in a new interpreter, from -X importtime."""
    proc = run_python(f"import {module}", "-X", "importtime")
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr.strip().splitlines() or ["import failed"])[-1])
    for line in reversed(proc.stderr.splitlines()):
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module:
            return int(parts[1]) / 1e6
    raise RuntimeError(f"no -X importtime entry for {module}")


class ImportRow:
    name = "import s2sgrad"

    def run(self, cfg: Config) -> list[Result]:
        row = Result("import s2sgrad (new process)", target=TARGET.describe())
        numpy = statistics.median(cumulative_import_seconds("numpy") for _ in range(cfg.trials))
        row.hand = f"{format_seconds(numpy)} (numpy)"
        try:
            seconds = statistics.median(cumulative_import_seconds("s2sgrad") for _ in range(cfg.trials))
        except RuntimeError as exc:
            row.s2sgrad = f"error: {exc}"[:90]
            return [row]
        check = run_python("import sys, s2sgrad; print('sympy' in sys.modules)")
        sympy = check.stdout.strip() == "True"
        row.s2sgrad = format_seconds(seconds) + (", imports sympy" if sympy else "")
        row.met = "no" if sympy else TARGET.met(None, seconds)
        return [row]


def rows(cfg):
    return [ImportRow()]
