"""Rules for the arithmetic operators and their NumPy ufunc twins.

One ``def`` serves both spellings: the source transformer keys ``a * b``
on ``operator.mul`` and a call ``np.multiply(a, b)`` on ``np.multiply``.
Every binary rule undoes broadcasting with :func:`s2sgrad.runtime.unbroadcast`.
Matrix multiplication lives in :mod:`s2sgrad.primitives.linalg`.
Each result is a fresh value (``allocates``), of the operands' promoted
dtype except for true division.
"""

import ast
import builtins
import math
import operator

import numpy as np

from s2sgrad.primitives.registry import deffacts, defvjp
from s2sgrad.runtime import unbroadcast


@defvjp(operator.add, np.add, elementwise=True, linear=True, allocates=True)
def add(g, ans, x, y):
    return (unbroadcast(g, x), unbroadcast(g, y))


@defvjp(operator.sub, np.subtract, elementwise=True, linear=True, allocates=True)
def subtract(g, ans, x, y):
    return (unbroadcast(g, x), unbroadcast(-g, y))


@defvjp(operator.mul, np.multiply, elementwise=True, allocates=True)
def multiply(g, ans, x, y):
    return (unbroadcast(g * y, x), unbroadcast(g * x, y))


@defvjp(operator.truediv, np.divide, elementwise=True, allocates=True, dtype="float")
def divide(g, ans, x, y):
    return (unbroadcast(g / y, x), unbroadcast(-g * ans / y, y))


@defvjp(operator.neg, np.negative, elementwise=True, linear=True, allocates=True)
def negative(g, ans, x):
    return (-g,)


@defvjp(operator.pos, np.positive, elementwise=True, linear=True, allocates=True)
def positive(g, ans, x):
    return (g,)


# ``math.pow`` shares this hand-written rule instead of a sympy-derived one:
# sympy's simplest forms, ``y*ans/x`` and ``ans*log(x)``, are undefined at
# x == 0 where the true derivatives (for y > 0) exist.
#
# d/dx x**y = y * x**(y - 1), except that x**0 is constant: its derivative is
# 0 everywhere, but 0 * 0**-1 is nan for arrays and ZeroDivisionError for
# floats. Adding ``(y == 0)`` to the exponent makes that case 0 * x**0 = 0
# without a branch or np.where; for a constant exponent the whole exponent
# folds to a number (``x ** 2`` still gets ``2 * x``). The derivative is a
# power again, so differentiating it again goes through this same rule:
# x**1 has derivative x**0 and second derivative 0 * x**0 = 0, also at 0.
@defvjp(operator.pow, np.power, np.float_power, builtins.pow, math.pow, elementwise=True, allocates=True)
def power(g, ans, x, y):
    return (unbroadcast(g * y * x ** (y - 1 + (y == 0)), x), unbroadcast(g * log_or_zero(x) * ans, y))


deffacts(math.pow, dtype="float", scalar=True)
deffacts(np.float_power, dtype="float")


def log_or_zero(x):
    """``log(x)`` with 0 where ``x == 0`` (and nan, silently, where x < 0).

    d(x**y)/dy = log(x) * x**y; at x == 0 the product is 0 for y > 0, which
    a plain ``log`` would turn into ``-inf * 0 = nan``. For x < 0 the
    derivative does not exist in the reals and stays nan, but without the
    warning, because the tape evaluates this even when y is a constant.
    A Python float stays a Python float, so float32 exponents stay float32.
    """
    if type(x) is float or type(x) is int:  # (not np.float64: the tape records that)
        return math.log(x) if x > 0 else (0.0 if x == 0 else math.nan)
    with np.errstate(invalid="ignore"):
        return np.log(np.where(x == 0, 1, x))


@defvjp(log_or_zero, elementwise=True, allocates=True, dtype="float")
def log_or_zero_vjp(g, ans, x):
    return (g / np.where(x == 0, 1, x),)


# -- the operator syntax ------------------------------------------------------
# ``a + b`` in the source is operator.add, and so on: the passes find an
# operator node's primitive here (rules of mod, matmul, floordiv and the
# logical operators live in their families' modules).

for _primitive, _node in (
    (operator.add, ast.Add), (operator.sub, ast.Sub), (operator.mul, ast.Mult),
    (operator.truediv, ast.Div), (operator.pow, ast.Pow), (operator.matmul, ast.MatMult),
    (operator.floordiv, ast.FloorDiv), (operator.mod, ast.Mod),
    (operator.neg, ast.USub), (operator.pos, ast.UAdd),
    (operator.not_, ast.Not), (operator.invert, ast.Invert),
    (operator.and_, ast.BitAnd), (operator.or_, ast.BitOr), (operator.xor, ast.BitXor),
    (operator.lshift, ast.LShift), (operator.rshift, ast.RShift),
):
    deffacts(_primitive, operator_node=_node)
