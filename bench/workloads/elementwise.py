"""Issue 2: the elementwise chain ``sum(tanh(x)*exp(-x**2) + log1p(x**2))``.

The hand-written gradient is the simplified formula
``exp(-x²)·(1 - tanh²x - 2x·tanh x) + 2x / (1 + x²)``, computed once per
intermediate; the target applies at 10⁶ elements, where memory traffic
dominates and every avoidable temporary array shows.
"""

import numpy as np

from bench.harness import NO_TARGET, Target, gradient_row


def chain(x):
    return np.sum(np.tanh(x) * np.exp(-x ** 2) + np.log1p(x ** 2))


def chain_grad(x):
    t = np.tanh(x)
    x2 = x * x
    return np.exp(-x2) * (1.0 - t * (t + 2.0 * x)) + 2.0 * x / (1.0 + x2)


def rows(cfg):
    rng = np.random.default_rng(0)
    return [
        gradient_row(
            f"elementwise chain, {n:.0e} float64".replace("e+0", "e"),
            primal=chain,
            args=(rng.standard_normal(n),),
            wrt=0,
            handwritten=chain_grad,
            target=target,
            memory=n >= 10 ** 6,
        )
        for n, target in ((10 ** 3, NO_TARGET), (10 ** 6, Target(max_ratio=1.3)))
    ]
