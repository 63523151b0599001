"""Derive the smooth elementwise rules with sympy and write ``_derived.py``.

    python -m s2sgrad.primitives.derive           # regenerate _derived.py
    python -m s2sgrad.primitives.derive --check   # exit 1 if it is out of date

For every function in :data:`FUNCTIONS` the derivative of the primal
expression is taken symbolically; then cheaper equivalent forms are tried
that reuse the primal result, named ``ans`` in the rule (tanh' = 1 - ans**2,
exp' = ans, hypot' = x / ans, ...). A candidate is kept only if it
agrees with the plain derivative at sample points of the function's domain,
and the cheapest by :func:`cost` wins. Shared subexpressions of a binary
rule are named ``t0, t1, ...``. The result is printed once with ``np.``
names for the NumPy ufuncs and once with ``math.`` names for the ``math``
functions; constants such as ``log(2)`` are printed as ``math.log(2)`` in
both, so they stay Python floats and do not promote float32 arrays.

sympy is imported only here: nothing that ``import s2sgrad`` loads may
import this module.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import sympy as sp
from sympy.printing.str import StrPrinter

TARGET = Path(__file__).with_name("_derived.py")

X, X1, X2 = sp.symbols("x x1 x2", real=True)
ANS, G = sp.symbols("ans g", real=True)


@dataclass(frozen=True)
class Function:
    """One smooth function: its formula, where to check it, what it registers."""

    name: str
    params: tuple
    formula: object
    #: points inside the domain, one value per parameter, for validating
    #: the cheaper forms against the plain derivative.
    samples: tuple
    numpy_names: tuple = ()
    math_names: tuple = ()
    #: the result's dtype (see ``registry.DTYPES``): floating even for integers
    dtype: str = "float"
    #: linear in its argument (a unit conversion)
    linear: bool = False


def _unary(name, formula, samples, numpy_names=None, math_names=(), **facts):
    return Function(
        name,
        (X,),
        formula(X),
        tuple((s,) for s in samples),
        tuple(numpy_names or (name,)),
        tuple(math_names),
        **facts,
    )


FUNCTIONS = (
    _unary("sin", sp.sin, (0.3, -1.2, 2.5), math_names=("sin",)),
    _unary("cos", sp.cos, (0.3, -1.2, 2.5), math_names=("cos",)),
    _unary("tan", sp.tan, (0.3, -1.2, 0.9), math_names=("tan",)),
    _unary("arcsin", sp.asin, (0.3, -0.6), math_names=("asin",)),
    _unary("arccos", sp.acos, (0.3, -0.6), math_names=("acos",)),
    _unary("arctan", sp.atan, (0.3, -2.0), math_names=("atan",)),
    _unary("sinh", sp.sinh, (0.3, -2.0), math_names=("sinh",)),
    _unary("cosh", sp.cosh, (0.3, -2.0), math_names=("cosh",)),
    _unary("tanh", sp.tanh, (0.3, -2.0), math_names=("tanh",)),
    _unary("arcsinh", sp.asinh, (0.3, -2.0), math_names=("asinh",)),
    _unary("arccosh", sp.acosh, (1.5, 3.0), math_names=("acosh",)),
    _unary("arctanh", sp.atanh, (0.3, -0.6), math_names=("atanh",)),
    _unary("exp", sp.exp, (0.3, -2.0), math_names=("exp",)),
    _unary("exp2", lambda x: 2**x, (0.3, -2.0), math_names=("exp2",)),
    _unary("expm1", lambda x: sp.exp(x) - 1, (0.3, -2.0), math_names=("expm1",)),
    _unary("log", sp.log, (0.3, 2.0), math_names=("log",)),
    _unary("log2", lambda x: sp.log(x, 2), (0.3, 2.0), math_names=("log2",)),
    _unary("log10", lambda x: sp.log(x, 10), (0.3, 2.0), math_names=("log10",)),
    _unary("log1p", lambda x: sp.log(1 + x), (0.3, -0.6), math_names=("log1p",)),
    _unary("sqrt", sp.sqrt, (0.3, 2.0), math_names=("sqrt",)),
    _unary("cbrt", sp.cbrt, (0.3, 2.0), math_names=("cbrt",)),
    _unary("square", lambda x: x**2, (0.3, -2.0), dtype="same"),
    _unary("reciprocal", lambda x: 1 / x, (0.3, -2.0), dtype="same"),
    _unary("deg2rad", lambda x: x * sp.pi / 180, (0.3, -2.0), ("deg2rad", "radians"), ("radians",),
           linear=True),
    _unary("rad2deg", lambda x: x * 180 / sp.pi, (0.3, -2.0), ("rad2deg", "degrees"), ("degrees",),
           linear=True),
    Function(
        "arctan2", (X1, X2), sp.atan2(X1, X2), ((0.3, 0.7), (-1.2, 0.4), (0.5, -2.0)),
        ("arctan2",), ("atan2",),
    ),
    Function(
        "hypot", (X1, X2), sp.sqrt(X1**2 + X2**2), ((0.3, 0.7), (-1.2, 0.4)),
        ("hypot",), ("hypot",),
    ),
    # (logaddexp and logaddexp2 are written out in elementwise.py: the cheapest
    # form of their slopes, exp(x1 - ans), loses digits to the rounding of ans)
)


# -- choosing the cheapest form ---------------------------------------------


def cost(expr):
    """A rough count of the work to evaluate ``expr`` on arrays.

    A transcendental call or a general power costs 10, an arithmetic
    operation 1 (a square is a product, a reciprocal a division); constant
    subexpressions are free because they evaluate to a number once per call
    at most.
    """
    if not expr.free_symbols or expr.is_Atom:
        return 0
    args_cost = sum(cost(arg) for arg in expr.args)
    if isinstance(expr, sp.Pow):
        if expr.exp.is_Integer and abs(int(expr.exp)) <= 2:
            return args_cost + abs(int(expr.exp)) + int(int(expr.exp) < 0)
        return args_cost + 10
    if isinstance(expr, (sp.Add, sp.Mul)):
        return args_cost + len(expr.args) - 1
    return args_cost + 10


def _inverse_substitutions(formula, params):
    """Ways to write a part of ``formula`` in terms of ``ans``.

    For each subexpression ``h`` with ``formula = F(h)`` and ``F`` uniquely
    invertible, ``h = F^-1(ans)`` (log(exp(a) + exp(b)) = ans gives
    exp(a) + exp(b) = exp(ans)). The formula itself gives ``formula = ans``.
    """
    yield formula, ANS
    u = sp.Dummy("u", positive=True)
    seen = set()
    for part in sp.preorder_traversal(formula):
        if part == formula or part.is_Atom or part in seen or not part.free_symbols & set(params):
            continue
        seen.add(part)
        outer = formula.subs(part, u)
        if u not in outer.free_symbols:
            continue
        solutions = sp.solve(sp.Eq(outer, ANS), u)
        if len(solutions) == 1:
            yield part, solutions[0]


def _agrees(candidate, reference, function):
    """True when ``candidate`` equals ``reference`` at every sample point."""
    for point in function.samples:
        values = {p: sp.Rational(str(v)) for p, v in zip(function.params, point)}
        values[ANS] = function.formula.subs(values).evalf(30)
        got = sp.N(candidate.subs(values), 30)
        want = sp.N(reference.subs(values), 30)
        if not (got.is_real and abs(got - want) <= 1e-20 * (1 + abs(want))):
            return False
    return True


def cheapest_derivative(function, param):
    """d function / d param, in its cheapest validated form."""
    plain = sp.diff(function.formula, param)
    candidates = {plain}
    for part, replacement in _inverse_substitutions(function.formula, function.params):
        candidates.add(plain.subs(part, replacement))
    for candidate in list(candidates):
        merged = sp.powsimp(candidate, force=True)
        candidates.update({
            sp.simplify(candidate),
            merged,
            sp.expand(merged, power_base=False, power_exp=False, deep=True),
        })
    valid = [c for c in candidates if c == plain or _agrees(c, plain, function)]
    return min(valid, key=lambda c: (cost(c), len(str(c)), str(c)))


# -- printing ---------------------------------------------------------------

NUMPY_NAMES = {
    "asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
    "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh",
}


class RulePrinter(StrPrinter):
    """Prints a sympy expression as Python with ``np.`` or ``math.`` calls."""

    def __init__(self, module):
        super().__init__({"order": "none"})
        self.module = module

    def _call(self, module, name, args):
        return f"{module}.{name}({', '.join(self._print(a) for a in args)})"

    def _print_Function(self, expr):
        name = type(expr).__name__
        if not expr.free_symbols:
            return self._call("math", name, expr.args)
        if self.module == "np":
            name = NUMPY_NAMES.get(name, name)
        return self._call(self.module, name, expr.args)

    def _print_Pow(self, expr, rational=False):
        if expr.exp == sp.S.Half:
            return self._call(self.module, "sqrt", [expr.base])
        if expr.exp == -sp.S.Half:
            return "1/" + self._call(self.module, "sqrt", [expr.base])
        return super()._print_Pow(expr, rational)

    def _print_Pi(self, expr):
        return "math.pi"

    def _print_Exp1(self, expr):
        return "math.e"


HEADER = '''\
# generated by python -m s2sgrad.primitives.derive; do not edit
"""Smooth elementwise rules, derived symbolically by ``derive.py``.

Each derivative is the cheapest form sympy found that agrees with the
plain derivative on the function's domain, reusing the primal result
``ans`` where that saves work. Regenerate with
``python -m s2sgrad.primitives.derive`` after changing the table there.
"""

import math

import numpy as np

from s2sgrad.primitives.registry import defvjp
from s2sgrad.runtime import unbroadcast
'''


#: math functions newer than the oldest supported Python (3.10); their
#: rules are registered only where they exist.
NEW_MATH_FUNCTIONS = {"exp2", "cbrt"}


def _facts(function, module):
    """The registry facts of one rule's decorator: every function here is
    elementwise; the NumPy ufuncs return fresh arrays, the ``math`` ones Python floats."""
    facts = ["elementwise=True"]
    if function.linear:
        facts.append("linear=True")
    if module == "np":
        facts.append("allocates=True")
    dtype = function.dtype if module == "np" else "float"
    if dtype != "same":
        facts.append(f'dtype="{dtype}"')
    if module == "math":
        facts.append("scalar=True")
    return ", ".join(facts)


def _rule_source(function, derivatives, module, primitives, def_name):
    """The source of one rule: decorator, def, cse assignments, return."""
    printer = RulePrinter(module)
    params = [str(p) for p in function.params]
    temps = sp.numbered_symbols("t")
    shared, grads = sp.cse([G * d for d in derivatives], symbols=temps, optimizations=None)
    lines = [
        "",
        "",
        f"@defvjp({', '.join(f'{module}.{p}' for p in primitives)}, {_facts(function, module)})",
        f"def {def_name}(g, ans, {', '.join(params)}):",
    ]
    lines += [f"    {name} = {printer.doprint(value)}" for name, value in shared]
    entries = [printer.doprint(grad) for grad in grads]
    if module == "np" and len(params) > 1:
        entries = [f"unbroadcast({e}, {p})" for e, p in zip(entries, params)]
    one_line = f"    return ({', '.join(entries)}{',' if len(entries) == 1 else ''})"
    if len(one_line) <= 88:
        lines.append(one_line)
    else:
        lines += ["    return ("] + [f"        {e}," for e in entries] + ["    )"]
    if module == "math" and NEW_MATH_FUNCTIONS.intersection(primitives):
        guard = " and ".join(f'hasattr(math, "{p}")' for p in primitives)
        lines = lines[:2] + [f"if {guard}:", ""] + ["    " + line for line in lines[2:]]
    return "\n".join(lines) + "\n"


def render():
    """The full text of ``_derived.py``."""
    chunks = [HEADER]
    for function in FUNCTIONS:
        derivatives = [cheapest_derivative(function, p) for p in function.params]
        if function.numpy_names:
            chunks.append(_rule_source(function, derivatives, "np", function.numpy_names, function.name))
        if function.math_names:
            chunks.append(
                _rule_source(function, derivatives, "math", function.math_names, "math_" + function.math_names[0])
            )
    return "".join(chunks)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m s2sgrad.primitives.derive", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if _derived.py is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date; run python -m s2sgrad.primitives.derive", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
