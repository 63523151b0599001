"""Run the s2sgrad benchmarks and print a Markdown table.

    python bench/run.py [--quick] [--only NAME[,NAME...]] [--no-peers]

NAME matches a workload module (``mlp``, ``rnn``, ...) or any part of a row's
title. Each row times s2sgrad against a hand-written NumPy version in the
same run (median of interleaved repeats); see bench/README.md. Exits 1 if a
gradient or result anywhere was wrong, 0 otherwise (an unsupported feature
is not an error).
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.* and, unless installed elsewhere first, ./s2sgrad

import numpy as np  # noqa: E402

from bench import peers  # noqa: E402
from bench.harness import Config, Result, describe_exception  # noqa: E402
from bench.workloads import ALL  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    parser.add_argument("--only", default="", help="comma-separated workload names or title fragments")
    parser.add_argument("--no-peers", action="store_true", help="skip autograd/jax/torch even if importable")
    return parser.parse_args(argv)


def selected(module_name: str, row, only: list[str]) -> bool:
    if not only:
        return True
    title = getattr(row, "name", "").lower()
    return any(word == module_name or word in title for word in only)


def environment() -> str:
    try:
        import s2sgrad

        where = f"s2sgrad {getattr(s2sgrad, '__version__', '?')} from {Path(s2sgrad.__file__).parent}"
    except Exception as exc:  # noqa: BLE001
        where = f"s2sgrad not importable ({describe_exception(exc)})"
    return (
        f"{where}; Python {platform.python_version()}, NumPy {np.__version__}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )


def load_average() -> float | None:
    """The 1-minute load average: other work on the machine skews every timing."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def table(results: list[Result], peer_names: tuple[str, ...]) -> str:
    header = ["workload", "hand-written", "s2sgrad", "ratio", "target", "met", *peer_names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        cells = [r.workload, r.hand, r.s2sgrad, r.ratio, r.target, r.met]
        cells += [r.peers.get(p, "—") for p in peer_names]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    only = [w.strip().lower() for w in args.only.split(",") if w.strip()]
    peer_names = () if args.no_peers else peers.available()
    cfg = Config(quick=args.quick, peers=peer_names)
    load_at_start = load_average()
    print(f"# {environment()}", file=sys.stderr)
    if peer_names:
        print(f"# peers: {', '.join(peer_names)}", file=sys.stderr)

    results: list[Result] = []
    for module_name in ALL:
        module = importlib.import_module(f"bench.workloads.{module_name}")
        for row in module.rows(cfg):
            if not selected(module_name, row, only):
                continue
            start = time.perf_counter()
            try:
                produced = row.run(cfg)
            except Exception as exc:  # noqa: BLE001 - a broken row must not stop the table
                produced = [Result(getattr(row, "name", module_name), hand=f"bench error: {describe_exception(exc)}", failed=True)]
            for r in produced:
                print(f"  {r.workload}: {r.s2sgrad} vs {r.hand} ({time.perf_counter() - start:.1f}s)", file=sys.stderr)
            results.extend(produced)

    if not results:
        print(f"no workload matches --only {args.only!r}; workloads: {', '.join(ALL)}", file=sys.stderr)
        return 2
    load = "" if load_at_start is None else f"; load average {load_at_start:.2f} at start, {load_average():.2f} at end"
    print(f"Measured {datetime.date.today()}: {environment()}{load}" + (" (--quick)" if args.quick else ""))
    print()
    print(table(results, peer_names))
    return 1 if any(r.failed for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
