"""Issue 4: what the tape costs per recorded operation, in µs.

A chain of 1,000 scalar operations (``y = y * 0.999 + 0.001``, 500 times) on a
float64 ``sg.Variable``, recorded under a ``GradientTape``, against the same
chain on a NumPy float64 scalar. Reported per operation: recording alone, and
recording plus ``tape.gradient`` (the compiled adjoint is cached by the
recorded program's structure, so repeats measure the steady state of a
training loop). There is no target; the ratio shows the tape's overhead.
"""

import numpy as np

from bench.harness import (
    Config,
    Result,
    WrongResult,
    failure_cell,
    format_ratio,
    format_seconds,
    time_calls,
)

PAIRS = 500
OPS = 2 * PAIRS


def plain_chain(x):
    y = x
    for _ in range(PAIRS):
        y = y * 0.999 + 0.001
    return y


def build_recorders():
    import s2sgrad as sg

    x = sg.Variable(np.float64(1.0))

    def record():
        with sg.GradientTape() as tape:
            y = plain_chain(x)
        return tape, y

    def record_and_gradient():
        tape, y = record()
        return tape.gradient(y, x)

    expected = 0.999 ** PAIRS
    got = float(np.asarray(record_and_gradient()))
    if abs(got - expected) > 1e-12:
        raise WrongResult(f"tape gradient of the chain is {got!r}, expected {expected!r}")
    return record, record_and_gradient


class TapeOverheadRow:
    name = "tape overhead"

    def run(self, cfg: Config) -> list[Result]:
        rows = [
            Result("tape: per recorded op, recording", target="report only"),
            Result("tape: per recorded op, recording + gradient", target="report only"),
        ]
        calls = {"plain": (plain_chain, (np.float64(1.0),))}
        try:
            record, record_and_gradient = build_recorders()
            calls["record"] = (record, ())
            calls["gradient"] = (record_and_gradient, ())
        except WrongResult as exc:
            for row in rows:
                row.s2sgrad, row.failed = f"wrong, not timed: {exc}", True
        except Exception as exc:  # noqa: BLE001
            for row in rows:
                row.s2sgrad = failure_cell(exc)
        times = {key: seconds / OPS for key, seconds in time_calls(calls, cfg).items()}
        for row, key in zip(rows, ("record", "gradient")):
            row.hand = f"{format_seconds(times['plain'])} (NumPy scalar op)"
            if key in times:
                row.s2sgrad = format_seconds(times[key])
                row.ratio = format_ratio(times[key] / times["plain"])
        return rows


def rows(cfg):
    return [TapeOverheadRow()]
