"""Quick start: differentiate a plain Python function and read the generated code.

Run with ``python examples/quickstart.py``; ``s2sgrad show examples/quickstart.py:f``
prints the same generated source from the command line.
"""

import s2sgrad as sg


def f(x, a, b, c):
    return a * x ** 2 + b * x + c


if __name__ == "__main__":
    df_dx = sg.grad(f)  # derivative with respect to the first argument, x
    print("df/dx at x=3, a=1, b=-2, c=1:", df_dx(3.0, 1.0, -2.0, 1.0))  # 2*a*x + b = 4.0
    print()
    print("Generated source of df/dx:")
    print(sg.source(f))
