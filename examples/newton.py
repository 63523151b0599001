"""Newton's method on the Rosenbrock function with ``sg.grad`` and ``sg.hessian``."""

import numpy as np

import s2sgrad as sg


def rosenbrock(x):
    """sum of 100 (x[i+1] - x[i]**2)**2 + (1 - x[i])**2; its minimum is all ones."""
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def hand_hessian(x):
    """The Rosenbrock Hessian written out by hand (tridiagonal)."""
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200.0 * x[i] ** 2 - 400.0 * x[i + 1] + 2.0
        H[i, i + 1] += -400.0 * x[i]
        H[i + 1, i] += -400.0 * x[i]
        H[i + 1, i + 1] += 200.0
    return H


def newton(x, steps=30, tol=1e-10):
    """Damped Newton iterations; returns the final point and the values seen."""
    gradient = sg.grad(rosenbrock)
    hessian = sg.hessian(rosenbrock)
    values = [rosenbrock(x)]
    for step in range(steps):
        g = gradient(x)
        if np.linalg.norm(g) < tol:
            break
        step_dir = np.linalg.solve(hessian(x), g)
        t = 1.0  # backtrack until the value decreases
        while rosenbrock(x - t * step_dir) > values[-1] and t > 1e-8:
            t *= 0.5
        x = x - t * step_dir
        values.append(rosenbrock(x))
    return x, values


def main():
    for x0 in (np.array([-1.2, 1.0]), np.zeros(4)):
        x, values = newton(x0)
        print(f"from {x0}: {len(values) - 1} Newton steps, f = {values[0]:.3f} -> {values[-1]:.3e},"
              f" minimum at {np.round(x, 6)}")


if __name__ == "__main__":
    main()
