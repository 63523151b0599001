"""Issue 12: Hessians, Hessian-vector products and a tall Jacobian.

* Rosenbrock's Hessian (n = 10 and 100) against the analytic tridiagonal
  one, and its Hessian-vector product at n = 10,000 against the analytic
  product (both forward over reverse in s2sgrad);
* the Jacobian of f: R -> R^1000, ``sin(t * grid) + t``, against
  ``grid * cos(t * grid) + 1``.

The issue's other yardsticks are the cost of what is differentiated: the
HVP against the hand-written gradient (within 3x), the tall Jacobian
against the primal (within 5x), and the Hessian against the hand-written
gradient (a floor: forward over reverse runs the gradient once, along every
direction at once). Those rows time a hand-written gradient or the primal
in the "hand-written" column; what s2sgrad returns is still checked, against
the analytic result.

Each hand-written result is checked against central differences of the
generated gradient (or of the function) before anything is timed.
"""

import numpy as np

from bench import peers
from bench.harness import PairRow, Target, WrongResult, assert_close


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    g = np.zeros_like(x)
    inner = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * inner - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * inner
    return g


def rosenbrock_hessian(x):
    n = x.shape[0]
    H = np.zeros((n, n))
    diagonal = np.zeros(n)
    diagonal[:-1] = 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
    diagonal[1:] += 200.0
    off = -400.0 * x[:-1]
    i = np.arange(n)
    H[i, i] = diagonal
    H[i[:-1], i[1:]] = off
    H[i[1:], i[:-1]] = off
    return H


def rosenbrock_hvp(x, v):
    Hv = np.zeros_like(x)
    Hv[:-1] = (1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0) * v[:-1] - 400.0 * x[:-1] * v[1:]
    Hv[1:] += 200.0 * v[1:] - 400.0 * x[:-1] * v[:-1]
    return Hv


GRID = np.linspace(0.0, 1.0, 1000)


def tall(t):
    return np.sin(t * GRID) + t


def tall_jacobian(t):
    return GRID * np.cos(t * GRID) + 1.0


def _gradient_differences(x, v, eps=1e-6):
    import s2sgrad as sg

    gradient = sg.grad(rosenbrock)
    return (gradient(x + eps * v) - gradient(x - eps * v)) / (2 * eps)


def _check_hvp(x, v):
    expected = _gradient_differences(x, v)
    got = rosenbrock_hvp(x, v)
    if not np.allclose(got, expected, rtol=1e-5, atol=1e-4):
        raise WrongResult("hand-written HVP disagrees with differences of the gradient")


def _compare(rtol):
    return lambda expected, actual: assert_close(expected, actual, rtol, "result")


def _against(exact, rtol):
    """Compare s2sgrad's result with ``exact()`` (the hand-written column
    times something else: the gradient, or the primal)."""
    return lambda _, actual: assert_close(exact(), actual, rtol, "result")


def _check_gradient(x):
    import s2sgrad as sg

    if not np.allclose(rosenbrock_gradient(x), sg.grad(rosenbrock)(x), rtol=1e-12):
        raise WrongResult("hand-written gradient disagrees with the generated one")
    v, eps = np.random.default_rng(1).standard_normal(x.shape), 1e-6
    numeric = (rosenbrock(x + eps * v) - rosenbrock(x - eps * v)) / (2 * eps)
    if not np.isclose(rosenbrock_gradient(x) @ v, numeric, rtol=1e-5):
        raise WrongResult("hand-written gradient disagrees with differences")


def _peers(build):
    """Builders of each peer's Hessian (or HVP) of Rosenbrock, for the rows
    against the analytic result."""
    return {peer: (lambda peer=peer: build(peer, rosenbrock)) for peer in peers.PEERS}


def rows(cfg):
    rng = np.random.default_rng(0)
    result = []
    for n in (10, 100):
        x = rng.uniform(-1.0, 1.0, n)

        def check(x=x):
            for j in rng.choice(x.shape[0], 3, replace=False):
                _check_hvp(x, np.eye(x.shape[0])[j])

        def build():
            import s2sgrad as sg

            return sg.hessian(rosenbrock)

        result.append(PairRow(f"Rosenbrock Hessian, n={n}", handwritten=rosenbrock_hessian,
                              generated=build, target=Target(max_ratio=3.0),
                              check_handwritten=check, compare=_compare(1e-9), args=(x,),
                              peers=_peers(peers.hessian)))
        result.append(PairRow(f"Rosenbrock Hessian, n={n}, vs hand-written gradient",
                              handwritten=rosenbrock_gradient, generated=build,
                              target=Target(text="— (a floor)"),
                              check_handwritten=lambda x=x: _check_gradient(x),
                              compare=_against(lambda x=x: rosenbrock_hessian(x), 1e-9),
                              args=(x,)))
    x, v = rng.uniform(-1.0, 1.0, 10_000), rng.standard_normal(10_000)

    def build_hvp():
        import s2sgrad as sg

        return sg.hvp(rosenbrock)

    result.append(PairRow("Rosenbrock HVP, n=10,000", handwritten=rosenbrock_hvp,
                          generated=build_hvp, target=Target(max_ratio=3.0),
                          check_handwritten=lambda: _check_hvp(x, v), compare=_compare(1e-9),
                          args=(x, v), peers=_peers(peers.hvp)))
    result.append(PairRow("Rosenbrock HVP, n=10,000, vs hand-written gradient",
                          handwritten=lambda x, v: rosenbrock_gradient(x), generated=build_hvp,
                          target=Target(max_ratio=3.0), check_handwritten=lambda: _check_gradient(x),
                          compare=_against(lambda: rosenbrock_hvp(x, v), 1e-9), args=(x, v)))

    def check_tall():
        t, eps = 0.7, 1e-6
        numeric = (tall(t + eps) - tall(t - eps)) / (2 * eps)
        if not np.allclose(tall_jacobian(t), numeric, rtol=1e-6):
            raise WrongResult("hand-written Jacobian disagrees with differences")

    def build_jacobian():
        import s2sgrad as sg

        return sg.jacobian(tall)

    result.append(PairRow("jacobian of R -> R^1000", handwritten=tall_jacobian,
                          generated=build_jacobian, target=Target(max_ratio=5.0),
                          check_handwritten=check_tall, compare=_compare(1e-9), args=(0.7,)))
    result.append(PairRow("jacobian of R -> R^1000, vs the primal", handwritten=tall,
                          generated=build_jacobian, target=Target(max_ratio=5.0),
                          check_handwritten=check_tall,
                          compare=_against(lambda: tall_jacobian(0.7), 1e-9), args=(0.7,)))
    return result
