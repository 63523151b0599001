"""Threads: every piece of per-call state is per thread or per call (issue 10).

Eight threads mix ``sg.grad``, ``sg.grad(sg.grad(f))`` of a loop (which
differentiates on nested tapes, as a rule running on recorded Tensors) and
tapes, persistent and nested, with a value leaving a tape in between (legal
outside a rule: it cuts the path), and custom_gradient calls (which step
out of the thread's tapes); each result is compared with the value
computed single-threaded first.
"""

import sys
import threading

import numpy as np

import s2sgrad as sg


def loop(x):
    y = x
    for _ in range(3):
        y = np.sin(y) * x
    return y


def smooth(x):
    return np.sum(np.tanh(x) * x)


def first(x):
    return sg.grad(smooth)(x)


def second(x):
    return sg.grad(sg.grad(loop))(x)


def persistent(x):
    x = sg.constant(x)
    with sg.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = np.sin(x) * x
        cut = sum(float(np.sum(y)) for _ in range(20))  # leaves the tape: allowed, not a rule
        z = y * cut
    return tape.gradient(y, x).numpy(), tape.gradient(z, x).numpy()


def nested(x):
    x = sg.constant(x)
    with sg.GradientTape() as outer:
        outer.watch(x)
        with sg.GradientTape() as inner:
            inner.watch(x)
            y = np.exp(x) * x
        dy = inner.gradient(y, x)
    return dy.numpy(), outer.gradient(dy, x).numpy()


@sg.custom_gradient
def softplus(x):
    e = np.exp(x)
    return np.log1p(e), lambda u: u * e / (1 + e)


def custom(x):
    x = sg.constant(x)
    with sg.GradientTape() as tape:  # custom_gradient steps out of this thread's tapes
        tape.watch(x)
        y = softplus(x) * x
    return tape.gradient(y, x).numpy()


CASES = [(custom, np.array([0.1, -0.8])), (first, np.array([0.3, -1.2, 2.0])), (second, 0.7), (persistent, np.array([0.5, 1.5])),
         (nested, 0.4)]


def _close(a, b):
    if isinstance(a, tuple):
        return all(_close(u, v) for u, v in zip(a, b))
    return np.allclose(a, b, rtol=1e-12, atol=0)


def test_threads_mixing_grad_second_derivatives_and_tapes():
    expected = [case(x) for case, x in CASES]
    failures = []
    start = threading.Barrier(8)

    def work(k):
        start.wait()
        for n in range(10):
            i = (k + n) % len(CASES)
            case, x = CASES[i]
            try:
                got = case(x)
            except Exception as error:  # noqa: BLE001 -- reported below
                failures.append(f"{case.__name__}: {type(error).__name__}: {error}")
                continue
            if not _close(got, expected[i]):
                failures.append(f"{case.__name__}: {got} != {expected[i]}")

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # threads interleave within every call
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not failures, f"{len(failures)} failures, first: {failures[0]}"


def test_a_thread_leaving_its_tape_while_another_runs_custom_gradient():
    """custom_gradient steps out of the recording tapes and back in: only its
    own thread's (a process-wide stack put the other thread's exited tape back,
    which then recorded this thread's operations)."""
    x = sg.constant(2.0)
    entered, go, left = threading.Event(), threading.Event(), threading.Event()
    tapes = []

    def other():
        with sg.GradientTape() as tape:
            tape.watch(x)
            tapes.append(tape)
            entered.set()
            go.wait(5)
        left.set()

    @sg.custom_gradient
    def stepping(v):
        go.set()
        left.wait(5)  # the other thread leaves its tape meanwhile
        return v * 1.0, lambda u: u

    t = threading.Thread(target=other)
    t.start()
    entered.wait(5)
    stepping(x)
    t.join()
    x * x
    assert tapes[0]._records == []
