"""Module-level helpers the random programs of test_random_programs call.

Each helper is smooth except at its own data-dependent conditions (which
the path check of the test traces) and always returns fresh arrays, so that
callers cannot end up aliasing their inputs. All but the last two leave
their arguments alone; ``scale_into`` and ``stepped`` update theirs in place
(``a *= c`` changes the caller's array, not its number), as helpers of
training loops do.
"""

import numpy as np


def smooth(a, b):
    return np.tanh(a) * np.cos(b) + a / (1.0 + b * b)


def branchy(a, c):
    if np.sum(a) > c:
        r = np.sin(a) * 2.0
    else:
        r = a * a
        r = np.tanh(r) - a
    return r


def looped(a, n):
    s = a * 0.5
    for i in range(n):
        s = np.sin(s) + a * (0.1 * i)
        if np.sum(s) > 2.5:
            break
    return s


def pair(a, b):
    return np.sin(a) * b, np.cos(b) + a


def scaled(a, k=2.0):
    return a * k


def nested(a, b):
    p, q = pair(a, b)
    return smooth(p, q) + branchy(q, 0.0)


def scale_into(a, c):
    a *= c


def stepped(a, g):
    a -= 0.1 * g
    return a
