"""Issue 2: the scalar quadratic with Python floats, against ``2*a*x + b``.

Measures the call path itself: at this size the arithmetic is a few hundred
nanoseconds, so any wrapper overhead shows in the ratio.
"""

from bench.harness import Target, gradient_row


def f(x, a, b, c):
    return a * x ** 2 + b * x + c


def df_dx(x, a, b, c):
    return 2 * a * x + b


def rows(cfg):
    return [
        gradient_row(
            "scalar quadratic, Python floats",
            primal=f,
            args=(3.0, 1.0, -2.0, 1.0),
            wrt=0,
            handwritten=df_dx,
            target=Target(max_ratio=2.0),
        )
    ]
