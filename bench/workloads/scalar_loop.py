"""Issue 3: a scalar recurrence of 1,000 iterations on Python floats.

``s ← a·sin(s) + x`` starting from ``s = x``; the gradient with respect to
``x`` and ``a``. The hand-written adjoint is plain Python: it stores the 1,000
values of ``s`` the reverse sweep reads, then walks them backwards.
"""

import math

from bench.harness import Target, gradient_row

ITERATIONS = 1000


def recurrence(x, a, n):
    s = x
    for _ in range(n):
        s = a * math.sin(s) + x
    return s


def recurrence_grad(x, a, n):
    s = x
    history = [0.0] * n
    for i in range(n):
        history[i] = s
        s = a * math.sin(s) + x
    ds, dx, da = 1.0, 0.0, 0.0
    for i in range(n - 1, -1, -1):
        si = history[i]
        da += ds * math.sin(si)
        dx += ds
        ds *= a * math.cos(si)
    return dx + ds, da


def rows(cfg):
    return [
        gradient_row(
            "scalar loop, 1000 iterations, Python floats",
            primal=recurrence,
            args=(0.3, 0.8, ITERATIONS),
            wrt=(0, 1),
            handwritten=recurrence_grad,
            target=Target(max_ratio=2.0),
        )
    ]
