"""Programs of tests/test_idioms_more.py that pytest must not rewrite: it
rewrites the ``assert`` statements of test modules, so a function asserting
there no longer compiles to what its source says."""

import numpy as np


def asserts(x):
    s = np.sum(x * x)
    assert s >= 0, "negative"
    assert np.all(x < 100.0)
    return s


def asserts_with_a_message(x):
    assert np.all(x > -1.0), "negative entries"
    return np.sum(np.exp(x))
