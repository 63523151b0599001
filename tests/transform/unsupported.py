"""Functions using constructs s2sgrad rejects (each on a known line)."""

import numpy as np


def vector_output(x):
    return np.sin(x)


def square(x):
    return x * x


def square_sum(x):
    return np.sum(x * x)


def uses_with(x):
    with open("f") as fh:
        return x * len(fh.read())


def uses_yield(x):
    y = yield x
    return y


def uses_global_statement(x):
    global COUNTER
    return x


def uses_class(x):
    class A:
        pass
    return x


def uses_lambda(x):
    return np.sum(np.apply_along_axis(lambda t: t * 2, 0, x))


def uses_set_comprehension(x):
    return sum({x * i for i in range(3)})


def unknown_primitive(x):
    return np.sum(np.nanmedian(x))


def star_args(x, *rest):
    return x


def copies_into(x):
    y = np.zeros(3)
    np.copyto(y, x)
    return np.sum(y * y)


def writes_out(x):
    y = np.zeros(3)
    np.multiply(x, 2.0, out=y)
    return np.sum(y * y)


def scatters_into(x):
    y = np.zeros(3)
    np.add.at(y, [0, 1], x)
    return np.sum(y * y)


def shuffles(x):
    y = np.ones(3) * x
    np.random.shuffle(y)
    return np.sum(y * np.arange(3.0))


def method_writes_out(x):
    y = np.zeros(1)
    x.sum(out=y)
    return np.sum(y * y)
