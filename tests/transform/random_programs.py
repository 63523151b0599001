"""The random-program generator of test_random_programs.py.

``programs(size, order)`` is a hypothesis strategy for the *source text* of
a function ``def f(x, y): ...`` (with the module header it needs) plus the
shapes of x and y; ``cases(size, order)`` adds the argument values. What the
programs contain, and the disciplines that make central finite differences
of them trustworthy, are described in test_random_programs.py's docstring;
this module guarantees, for every program it writes:

* the only non-smooth points are comparisons (each one an ``ast.Compare``,
  which the test's path check instruments), and ``**`` with a non-constant
  exponent only has a positive base (``(1.0 + a * a) ** b``, or a name
  inside ``if name > c`` with c > 0);
* no in-place write goes into an array that a live view shares: a name
  bound to a view (``x.T``, slices, reshape, rows of ``for r in v``) is never
  written into, the array it views is never written into afterwards, and
  inside a loop a view is taken only of names bound in the loop body or of
  names frozen (never written into in place) for the whole loop -- so the
  next iteration cannot write through a view the previous one made;
* in a loop, a name rebound to a view keeps its shape from one iteration to
  the next (a chain that changes it is reshaped back, or a later statement
  of the same iteration rebinds it to the old shape), so the scope the
  generator tracks is the scope at every iteration;
* ``order=2`` programs take two Python floats and hold only scalars;
  ``order="2 loops"`` ones too, drawing mostly loops (with break/continue,
  nested, with branches).
"""

import inspect
import itertools
from dataclasses import dataclass, replace

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tests.transform import random_helpers

#: helpers called in expressions
HELPERS = ("smooth", "branchy", "looped", "pair", "scaled", "nested")
#: helpers updating their first argument in place (called as statements)
UPDATING = ("scale_into", "stepped")
HEADER = ("import functools\n\nimport numpy as np\n"
          f"from tests.transform.random_helpers import {', '.join(HELPERS + UPDATING)}\n\n\n")
#: the same helpers defined in the program's own module: calls to them are
#: inlined (s2sgrad.frontend.inline), while imported ones stay calls
HEADER_WITH_HELPERS = ("import functools\n\nimport numpy as np\n\n\n" + inspect.getsource(random_helpers).split(
    "import numpy as np\n", 1)[1].strip() + "\n\n\n")

#: () stands for a Python float argument
ARG_SHAPES = [(), (3,), (2, 3)]
CONSTANTS = ["0.5", "1.5", "-0.7", "2.0", "0.3", "-1.2"]
THRESHOLDS = ["0.0", "0.5", "-0.5", "1.0", "-1.0", "2.0"]
POSITIVE_THRESHOLDS = ["0.2", "0.5", "1.0"]
UNARY = ["np.sin({a})", "np.cos({a})", "np.tanh({a})", "np.exp(np.tanh({a}))",
         "np.sqrt(1.0 + {a} * {a})", "np.log1p({a} * {a})", "{a} ** 2", "(-{a})"]
BINARY = ["({a} + {b})", "({a} - {b})", "({a} * {b})", "({a} / (1.0 + {b} * {b}))"]

@dataclass(frozen=True)
class Size:
    """How long programs are: statements per block, statements appended at
    the top level after the first block, and how deep compound statements nest."""
    name: str
    block: tuple
    extra: tuple
    nesting: int


SIZES = {"small": Size("small", (1, 2), (0, 1), 1),
         "medium": Size("medium", (1, 3), (0, 3), 2),
         "large": Size("large", (2, 5), (3, 7), 2)}


# --------------------------------------------------------------------------
# views: (template, shape of the result) by operand shape

def _view_ops():
    ops = {
        (3,): [("{a}[::-1]", (3,)), ("{a}[1:]", (2,)), ("{a}[:-1]", (2,)), ("{a}[::2]", (2,)),
               ("{a}.T", (3,)), ("np.transpose({a})", (3,))],
        (2,): [("{a}[::-1]", (2,)), ("{a}.T", (2,))],
        (6,): [("{a}.reshape(2, 3)", (2, 3)), ("{a}.reshape(3, 2)", (3, 2)), ("{a}[::2]", (3,)),
               ("{a}[1::2]", (3,)), ("{a}[::-1]", (6,)), ("{a}[::3]", (2,)), ("{a}[3:]", (3,))],
        (2, 3): [("{a}.T", (3, 2)), ("np.transpose({a})", (3, 2)), ("{a}[::-1]", (2, 3)),
                 ("{a}[:, ::-1]", (2, 3)), ("{a}[::-1, ::-1]", (2, 3)), ("{a}.reshape(3, 2)", (3, 2)),
                 ("{a}.reshape(-1)", (6,)), ("{a}.ravel()", (6,)), ("{a}[:, 0]", (2,)),
                 ("{a}[:, 1]", (2,)), ("{a}[1]", (3,))],
        (3, 2): [("{a}.T", (2, 3)), ("np.transpose({a})", (2, 3)), ("{a}[::-1]", (3, 2)),
                 ("{a}[:, ::-1]", (3, 2)), ("{a}.reshape(2, 3)", (2, 3)), ("{a}.reshape(-1)", (6,)),
                 ("{a}[:, 0]", (3,)), ("{a}[0]", (2,)), ("{a}[1:, 0]", (2,)), ("{a}[::2, 1]", (2,))],
    }
    return ops


VIEW_OPS = _view_ops()


def _reshape_to(shape):
    return f"{{a}}.reshape({', '.join(map(str, shape))})"


@dataclass(frozen=True)
class Var:
    shape: tuple
    kind: str = "float"       # "float", "int" or "bool" (a flag)
    readonly: bool = False    # loop variables, counters, rows
    owned: bool = True        # False: may be a view of another array, or viewed by one
    copy: bool = False        # an argument or made by np.copy: may be written into
    bound: int = 0            # ints: largest value the variable takes


@dataclass(frozen=True)
class Ctx:
    depth: int = 0
    in_loop: bool = False             # break and continue allowed
    loops: int = 0                    # enclosing loops (else blocks of loops included)
    frozen: frozenset = frozenset()   # arrays not to modify in place
    views: frozenset = frozenset()    # in loops: names frozen so that views may be taken of them
    entry: frozenset = frozenset()    # names bound when the innermost loop's body starts
    straight: bool = False            # only simple statements (between a view and its undoing)


def _fits(sub, target):
    """True if an operand of shape ``sub`` broadcasts to exactly ``target``."""
    try:
        return np.broadcast_shapes(sub, target) == target
    except ValueError:
        return False


def _merge(scopes, keys=None):
    """Names bound, with the same shape and kind, at the end of every path."""
    first = scopes[0]
    names = [n for n in first if keys is None or n in keys]
    merged = {}
    for name in names:
        vars_ = [s.get(name) for s in scopes]
        if any(v is None or v.shape != first[name].shape or v.kind != first[name].kind
               for v in vars_):
            continue
        merged[name] = replace(first[name], owned=all(v.owned for v in vars_),
                               copy=all(v.copy for v in vars_),
                               readonly=any(v.readonly for v in vars_),
                               bound=max(v.bound for v in vars_))
    return merged


#: statement weights; order 2 draws more branches and guarded powers ("2 loops":
#: more loops, with jumps)
WEIGHTS = {1: {"assign": 6, "reassign": 3, "unpack": 1, "flag": 1, "augassign": 3, "setitem": 2,
               "if": 3, "for": 3, "for row": 1, "while": 1, "jump": 2, "return": 1,
               "select": 2, "power": 1, "view": 3, "update call": 1, "sequence": 2, "alias": 1},
           2: {"assign": 5, "reassign": 3, "unpack": 1, "flag": 1, "augassign": 2, "setitem": 0,
               "if": 7, "for": 1, "for row": 0, "while": 1, "jump": 1, "return": 1,
               "select": 2, "power": 3, "view": 0, "update call": 0, "sequence": 0, "alias": 0},
           # order 2 through loops: for/while, break/continue, nested, with branches
           "2 loops": {"assign": 5, "reassign": 3, "unpack": 1, "flag": 1, "augassign": 3,
                       "setitem": 0, "if": 3, "for": 6, "for row": 0, "while": 3, "jump": 3,
                       "return": 1, "select": 2, "power": 2, "view": 0, "update call": 0,
                       "sequence": 0, "alias": 0}}

#: decorators a program's f may carry: (source, what the wrapper does); the
#: wrapper is f's own signature, so it is differentiated as the function called
DECORATORS = [
    ("def doubled(fn):\n    @functools.wraps(fn)\n    def wrapper(x, y):\n"
     "        return 2.0 * fn(x, y)\n    return wrapper\n\n\n", "@doubled"),
    ("def shifted(fn):\n    @functools.wraps(fn)\n    def wrapper(x, y):\n"
     "        return fn(x * 0.5, y) + np.sum(y)\n    return wrapper\n\n\n", "@shifted"),
    ("def plain(fn):\n    def wrapper(x, y):\n        return fn(x, y)\n    return wrapper\n\n\n",
     "@plain"),
]


class Builder:
    """Draws one program; ``draw`` is hypothesis's, so programs shrink."""

    def __init__(self, draw, xshape, yshape, size=SIZES["medium"], order=1, avoid=frozenset()):
        self.draw = draw
        self.avoid = avoid
        self.size = size
        self.weights = WEIGHTS[order]
        self.lines = []
        self.ids = itertools.count()
        self.assigned = []
        self.features = set()
        self.scope = {"x": Var(xshape, copy=True), "y": Var(yshape, copy=True)}

    # -- drawing helpers (simplest option first, so shrinking simplifies)
    def pick(self, weighted):
        total = sum(w for w, _ in weighted)
        r = self.draw(st.integers(0, total - 1))
        for w, value in weighted:
            if r < w:
                return value
            r -= w
        raise AssertionError

    def choice(self, options):
        return self.draw(st.sampled_from(list(options)))

    def coin(self, p_percent=50):
        return self.draw(st.integers(0, 99)) < p_percent

    def fresh(self, prefix):
        return f"{prefix}{next(self.ids)}"

    def emit(self, indent, text):
        self.lines.append("    " * (indent + 1) + text)

    @staticmethod
    def shapes(scope):
        return sorted({v.shape for v in scope.values() if v.kind == "float"} | {()},
                      key=lambda s: (len(s), s))

    @staticmethod
    def ints(scope):
        return [(n, v) for n, v in scope.items() if v.kind == "int"]

    def recent(self, scope):
        """Float names assigned most recently first (accumulated values)."""
        return [n for n in dict.fromkeys(reversed(self.assigned))
                if n in scope and scope[n].kind == "float"]

    # -- expressions: (text, is_view) of an expression of shape ``target``
    def leaf(self, scope, target):
        candidates = []
        for name, v in scope.items():
            if v.kind != "float":
                continue
            if v.shape == target:
                candidates.append((name, target != ()))
        if target == ():
            candidates.append(("<const>", False))
        for name, v in scope.items():
            if v.kind != "float" or not v.shape:
                continue
            n = v.shape[0]
            if v.shape[1:] == target:
                for idx in ("0", "-1", "1"):
                    candidates.append((f"{name}[{idx}]", target != ()))
                for iname, iv in self.ints(scope):
                    if iv.bound < n:
                        candidates.append((f"{name}[{iname}]", target != ()))
                        candidates.append((f"{name}[{iname} - 1]", target != ()))
            if v.shape == target:
                candidates.append((f"{name}[::-1]", True))
            if target == () and n >= 2:
                candidates.append((f"np.sum({name}[1:] * {name}[:-1])", False))
        text, view = self.choice(candidates)
        if text == "<const>":
            text = self.choice(CONSTANTS)
        if "[" in text:
            self.features.add("subscript")
        return text, view

    def expr(self, scope, target, depth):
        forms = [(5, "leaf")]
        if depth > 0:
            forms += [(3, "unary"), (5, "binary"), (3, "helper"), (2, "ifexp"), (1, "power")]
            if target == ():
                forms.append((2, "reduce"))
            if any(s[1:] == target for s in self.shapes(scope) if s):
                forms.append((1, "axis"))
            if self.ints(scope):
                forms.append((1, "intmul"))
        form = self.pick([(w, f) for w, f in forms if f not in self.avoid])
        if form == "leaf":
            return self.leaf(scope, target)
        self.features.add(form)
        sub = lambda: self.choice([s for s in self.shapes(scope) if _fits(s, target)])  # noqa: E731
        if form == "unary":
            a, _ = self.expr(scope, target, depth - 1)
            return self.choice([u for u in UNARY if u not in self.avoid]).format(a=a), False
        if form == "binary":
            a, _ = self.expr(scope, target, depth - 1)
            b, _ = self.expr(scope, sub(), depth - 1)
            if self.coin():
                a, b = b, a
            return self.choice(BINARY).format(a=a, b=b), False
        if form == "power":   # a positive base, any exponent
            a, _ = self.expr(scope, target, depth - 1)
            b, _ = self.expr(scope, sub(), depth - 1)
            return f"(1.0 + {a} * {a}) ** {b}", False
        if form == "helper":
            which = "local" if self.local_helper and self.coin(40) else self.choice(
                [h for h in HELPERS if f"call {h}" not in self.avoid])
            self.features.add(f"call {which}")
            a, _ = self.expr(scope, target, depth - 1)
            if which == "local":
                return f"local({a})", False
            if which in ("smooth", "nested", "pair"):
                b, _ = self.expr(scope, sub(), depth - 1)
                if self.coin():
                    a, b = b, a
                call = f"{which}({a}, {b})"
                return (call + f"[{self.choice('01')}]" if which == "pair" else call), False
            if which == "branchy":
                c = self.choice(THRESHOLDS) if self.coin() else self.expr(scope, (), depth - 1)[0]
                return f"branchy({a}, {c})", False
            if which == "looped":
                return f"looped({a}, {self.draw(st.integers(0, 3))})", False
            c = self.choice(CONSTANTS)
            return self.choice([f"scaled({a})", f"scaled({a}, {c})", f"scaled({a}, k={c})"]), False
        if form == "ifexp":
            return self.ifexp(scope, target, depth - 1)
        if form == "reduce":
            shape = self.choice(self.shapes(scope))
            vectors = [s for s in self.shapes(scope) if len(s) == 1]
            kind = self.choice(["sum", "mean"] + ([] if "prod" in self.avoid else ["prod"])
                               + (["dot"] if vectors else []))
            if kind == "dot":
                shape = self.choice(vectors)
                a, _ = self.expr(scope, shape, depth - 1)
                b, _ = self.expr(scope, shape, depth - 1)
                return f"np.dot({a}, {b})", False
            a, _ = self.expr(scope, shape, depth - 1)
            if kind == "prod":
                self.features.add("prod")
            return f"np.{kind}({a})", False
        if form == "axis":
            shape = self.choice([s for s in self.shapes(scope) if s and s[1:] == target])
            a, _ = self.expr(scope, shape, depth - 1)
            return f"np.{self.choice(['sum', 'mean'])}({a}, axis=0)", False
        if form == "intmul":
            iname = self.choice([n for n, _ in self.ints(scope)])
            a, _ = self.expr(scope, target, depth - 1)
            return self.choice([f"({a} * {iname})", f"({a} * ({iname} + 1))"]), False
        raise AssertionError(form)

    def ifexp(self, scope, target, depth):
        """``(a if cond else b)``, alone or as an operand of arithmetic."""
        cond = self.cond(scope, depth)
        a, va = self.expr(scope, target, depth)
        b, vb = self.expr(scope, target, depth)
        text = f"({a} if {cond} else {b})"
        if self.coin(30):
            self.features.add("ifexp operand")
            c, _ = self.expr(scope, self.choice([s for s in self.shapes(scope) if _fits(s, target)]), depth)
            return self.choice(BINARY).format(a=text, b=c), False
        return text, va or vb

    def top_expr(self, scope, target):
        """An expression that is never a view (safe to modify in place later)."""
        text, view = self.expr(scope, target, self.draw(st.integers(0, 3)))
        if view:
            text = f"{text} * 1.0"
        return text

    def cond(self, scope, depth):
        def atom():
            recent = self.recent(scope)
            kind = self.pick([(6, "expr")] + ([(3, "recent")] if recent else [])
                             + ([(1, "counter")] if self.ints(scope) else []))
            op = self.choice([">", "<"])
            if kind == "recent":        # a condition on an accumulated value
                self.features.add("cond recent")
                name = self.choice(recent[:3])
                value = f"np.sum({name})" if scope[name].shape else name
                return f"{value} {op} {self.choice(THRESHOLDS)}"
            if kind == "counter":       # differs between iterations whatever the data
                self.features.add("cond counter")
                iname, iv = self.choice(self.ints(scope))
                if self.coin():
                    return f"{iname} % 2 == {self.choice('01')}"
                return f"{iname} {op} {self.draw(st.integers(0, max(iv.bound, 1)))}"
            shape = self.choice(self.shapes(scope))
            e, _ = self.expr(scope, shape, depth)
            if self.coin(20):
                e2, _ = self.expr(scope, self.choice(self.shapes(scope)), depth)
                return f"np.sum({e}) {op} np.sum({e2})"
            value = f"np.sum({e})" if shape else e
            return f"{value} {op} {self.choice(THRESHOLDS)}"
        flags = [n for n, v in scope.items() if v.kind == "bool"]
        form = self.pick([(6, "atom"), (1, "and"), (1, "or"), (1, "not")]
                         + ([(6, "flag")] if flags else []))
        if form == "atom":
            return atom()
        if form == "flag":
            self.features.add("cond flag")
            return ("not " if self.coin(30) else "") + self.choice(flags)
        self.features.add(f"cond {form}")
        if form == "not":
            return f"not ({atom()})"
        return f"({atom()} {form} {atom()})"

    # -- statements
    def block(self, scope, indent, ctx):
        for _ in range(self.draw(st.integers(*self.size.block))):
            scope, terminated = self.statement(scope, indent, ctx)
            if terminated:
                return scope, True
        return scope, False

    def assign(self, scope, name, shape, rhs, indent):
        copy = bool(shape) and self.coin(30)
        if copy:
            rhs = f"np.copy({rhs})" if self.coin(70) else f"({rhs}).copy()"
            self.features.add("copy")
        self.emit(indent, f"{name} = {rhs}")
        scope = dict(scope)
        scope[name] = Var(shape, copy=copy)
        self.assigned.append(name)
        return scope

    def view_sources(self, scope, ctx):
        """Arrays a view may be taken of here (see the module docstring)."""
        return [n for n, v in scope.items() if v.kind == "float" and v.shape in VIEW_OPS
                and (not ctx.loops or n in ctx.views or n not in ctx.entry)]

    def statement(self, scope, indent, ctx):
        writable = [n for n, v in scope.items() if v.kind == "float" and not v.readonly]
        inplace = [n for n in writable if scope[n].shape == () or
                   (scope[n].owned and n not in ctx.frozen)]
        # s2sgrad only writes into arrays it knows are unshared (np.copy, arguments)
        arrays = [n for n in inplace if scope[n].shape and scope[n].copy]
        scalars = [n for n in writable if scope[n].shape == ()]
        # (x and y themselves leave the scope when arms of an if rebind them to
        # views of different shapes)
        names = ["assign", "unpack", "flag", "select", "sequence"] + (["reassign"] if writable else [])
        if inplace:
            names += ["augassign", "update call"]
        if writable and not ctx.straight:
            names.append("alias")
        if arrays:
            names.append("setitem")
        if scalars:
            names.append("power")
        if self.view_sources(scope, ctx):
            names.append("view")
        if ctx.depth < self.size.nesting and not ctx.straight:
            names += ["if", "for", "for row", "while"]
        if ctx.in_loop and not ctx.straight:
            names.append("jump")
        if ctx.depth > 0:
            names.append("return")
        form = self.pick([(self.weights[f], f) for f in names
                          if f not in self.avoid and self.weights[f]])
        self.features.add(form)

        if form == "flag":  # a new flag, or one set again (in a loop: ``if done: ...``)
            flags = [n for n, v in scope.items() if v.kind == "bool"]
            name = self.choice(flags) if flags and self.coin(60) else self.fresh("b")
            value = self.choice(["True", "False", "cond"])
            self.emit(indent, f"{name} = {self.cond(scope, 1) if value == 'cond' else value}")
            scope = dict(scope)
            scope[name] = Var((), kind="bool")
            return scope, False
        if form == "assign":
            shape = self.choice(self.shapes(scope))
            return self.assign(scope, self.fresh("v"), shape, self.top_expr(scope, shape), indent), False
        if form == "reassign":
            name = self.choice(writable)
            shape = scope[name].shape
            return self.assign(scope, name, shape, self.top_expr(scope, shape), indent), False
        if form == "augassign":
            name = self.choice(inplace)
            shape = scope[name].shape
            op = self.choice(["+=", "-=", "*=", "/="])
            e, _ = self.expr(scope, self.choice([s for s in self.shapes(scope) if _fits(s, shape)]),
                             self.draw(st.integers(0, 2)))
            rhs = f"(1.0 + {e} ** 2)" if op == "/=" else e
            self.emit(indent, f"{name} {op} {rhs}")
            self.assigned.append(name)
            return scope, False
        if form == "select":
            return self.select(scope, inplace, indent), False
        if form == "update call":
            return self.update_call(scope, inplace, indent), False
        if form == "sequence":
            return self.sequence(scope, indent), False
        if form == "alias":
            return self.alias(scope, writable, indent), False
        if form == "power":
            return self.power(scope, scalars, indent, ctx)
        if form == "view":
            return self.view(scope, indent, ctx)
        if form == "setitem":
            return self.setitem(scope, self.choice(arrays), indent), False
        if form == "unpack":
            return self.unpack(scope, writable, indent), False
        if form == "if":
            return self.if_statement(scope, indent, ctx)
        if form == "for":
            return self.for_range(scope, indent, ctx), False
        if form == "for row":
            return self.for_row(scope, indent, ctx), False
        if form == "while":
            return self.while_loop(scope, indent, ctx), False
        if form == "jump":
            self.emit(indent, f"if {self.cond(scope, 1)}:")
            jump = self.choice(["break", "continue", "return"])
            self.features.add(jump)
            self.emit(indent + 1, f"return {self.result(scope)}" if jump == "return" else jump)
            return scope, False
        if form == "return":
            self.emit(indent, f"return {self.result(scope)}")
            return scope, True
        raise AssertionError(form)

    def select(self, scope, inplace, indent):
        """``name = a if cond else b`` (or ``name op= ...``), the condition often
        on an accumulated value or a loop counter, so in a loop the branch
        taken changes between iterations."""
        if inplace and self.coin(40):
            name = self.choice(inplace)
            shape = scope[name].shape
            e, _ = self.ifexp(scope, self.choice([s for s in self.shapes(scope) if _fits(s, shape)]), 1)
            self.emit(indent, f"{name} {self.choice(['+=', '-=', '*='])} {e}")
            self.assigned.append(name)
            return scope
        writable = [n for n, v in scope.items() if v.kind == "float" and not v.readonly]
        name = self.choice(writable) if writable and self.coin(50) else self.fresh("v")
        shape = scope[name].shape if name in scope else self.choice(self.shapes(scope))
        e, view = self.ifexp(scope, shape, self.draw(st.integers(0, 2)))
        return self.assign(scope, name, shape, f"{e} * 1.0" if view else e, indent)

    def update_call(self, scope, inplace, indent):
        """A helper updating its argument in place: ``scale_into(v, c)``, or
        ``v = stepped(v, e)`` (which also returns it), as training steps do;
        on a number the caller's value stays (``scale_into(s, c)`` does
        nothing to s)."""
        if "helpers inlined" not in self.features:
            # (a helper of another module updating an array is refused: numbers only)
            inplace = [n for n in inplace if scope[n].shape == ()]
            if not inplace:
                return self.assign(scope, self.fresh("v"), (), self.top_expr(scope, ()), indent)
        name = self.choice(inplace)
        shape = scope[name].shape
        # (a call statement passing a value into another module's helper is refused)
        if "helpers inlined" in self.features and self.coin():
            self.features.add("call scale_into")
            self.emit(indent, f"scale_into({name}, {self.choice(CONSTANTS)})")
        else:
            self.features.add("call stepped")
            e, _ = self.expr(scope, self.choice([s for s in self.shapes(scope) if _fits(s, shape)]), 1)
            target = name if self.coin(70) else self.fresh("v")
            self.emit(indent, f"{target} = stepped({name}, {e})")
            if target != name:  # the result is the updated array itself
                scope = dict(scope)
                scope[name] = replace(scope[name], owned=False)
                scope[target] = Var(shape, owned=False)
        self.assigned.append(name)
        return scope

    def sequence(self, scope, indent):
        """A list or tuple of values of one shape, rebuilt by a sequence
        operation (slices, concatenation, repetition, append, +=) and read
        back into a new value (sum, items, a loop over it)."""
        shape = self.choice(self.shapes(scope))
        is_list = self.coin()
        items = [self.top_expr(scope, shape) if self.coin() else self.leaf(scope, shape)[0]
                 for _ in range(self.draw(st.integers(1, 3)))]
        name = self.fresh("t")
        self.emit(indent, f"{name} = [{', '.join(items)}]" if is_list
                  else f"{name} = ({', '.join(items)},)")
        more = self.top_expr(scope, shape)
        ops = [f"{name} = {name}[::-1]", f"{name} = {name}[1:] + {name}[:1]",
               f"{name} = {name} * 2", f"{name} = {name}[-1:] + {name}"]
        ops += ([f"{name} = {name} + [{more}]", f"{name} += [{more}]", f"{name}.append({more})"]
                if is_list else [f"{name} = {name} + ({more},)", f"{name} = ({more},) + {name}"])
        op = self.choice(ops)
        self.features.add("sequence " + op.replace(name, "t").replace(more, "e")[:16])
        self.emit(indent, op)
        target = self.fresh("v")
        form = self.choice(["sum", "items", "loop"])
        if form == "sum":
            self.emit(indent, f"{target} = sum({name}) * 0.5")
        elif form == "items":
            self.emit(indent, f"{target} = {name}[0] * {name}[-1] - {name}[len({name}) // 2]")
        else:
            item = self.fresh("q")
            self.emit(indent, f"{target} = {name}[0] * 0.0")
            self.emit(indent, f"for {item} in {name}:")
            self.emit(indent + 1, f"{target} = {target} * 0.5 + np.sin({item})")
        scope = dict(scope)
        scope[target] = Var(shape)
        self.assigned.append(target)
        return scope

    def alias(self, scope, writable, indent):
        """A second name for a value (``w = v``): neither is written into
        in place afterwards, except, now and then, the original -- which
        s2sgrad must then differentiate right or refuse."""
        name = self.choice(writable)
        alias = self.fresh("w")
        self.emit(indent, f"{alias} = {name}")
        scope = dict(scope)
        scope[alias] = replace(scope[name], owned=False, copy=False, readonly=False)
        if scope[name].shape and not self.coin(10):
            scope[name] = replace(scope[name], owned=False, copy=False)
        else:
            self.features.add("alias written")
        self.assigned.append(alias)
        return scope

    def power(self, scope, scalars, indent, ctx):
        """``if s > c: v = s ** e`` (c > 0: the base stays positive), with an
        else arm that overwrites v differently or not."""
        base = self.choice(scalars)
        target = self.choice([n for n in scalars if n != base] + [self.fresh("v")])
        e, _ = self.expr(scope, (), self.draw(st.integers(0, 2)))
        self.emit(indent, f"if {base} > {self.choice(POSITIVE_THRESHOLDS)}:")
        self.emit(indent + 1, f"{target} = {base} ** {e}")
        has_else = self.coin(60)
        if has_else:
            self.emit(indent, "else:")
            self.emit(indent + 1, f"{target} = {self.top_expr(scope, ())}")
        if has_else or target in scope:
            scope = dict(scope, **{target: Var(())})
        self.assigned.append(target)
        return scope, False

    def reshapes(self, ctx):
        return not (ctx.loops and "reshape in loop" in self.avoid)

    def chain(self, shape, ctx, sizes=None):
        """A chain of 1-3 view operations on ``{a}``: (template, result shape);
        ``sizes`` restricts the intermediate shapes to those sizes."""
        template = "{a}"
        for _ in range(self.draw(st.integers(1, 3))):
            ops = [(t, s) for t, s in VIEW_OPS.get(shape, [])
                   if (sizes is None or int(np.prod(s)) in sizes)
                   and (self.reshapes(ctx) or not ("reshape" in t or "ravel" in t))]
            if not ops:
                break
            op, shape = self.choice(ops)
            template = op.format(a=template)
        return template, shape

    def back_to(self, template, shape, target, ctx):
        """``template`` followed by a transpose or a reshape to ``target`` if it
        ends elsewhere (of the same size)."""
        if shape == target:
            return template
        if shape[::-1] == target and len(shape) == 2 and (not self.reshapes(ctx) or self.coin()):
            return template + ".T"
        return _reshape_to(target).format(a=template)

    def view(self, scope, indent, ctx):
        """A view of an array bound to a new name, or rebinding the array's own
        name (``A = A.T[:, ::-1].reshape(2, 3)``); in loops the rebinding keeps
        the shape across iterations."""
        sources = self.view_sources(scope, ctx)
        source = self.choice(sources)
        shape = scope[source].shape
        scope = dict(scope)
        scope[source] = replace(scope[source], owned=False, copy=False)
        rebind = not scope[source].readonly and self.coin(65)
        if not rebind:
            template, result = self.chain(shape, ctx)
            name = self.fresh("w")
            self.emit(indent, f"{name} = {template.format(a=source)}")
            scope[name] = Var(result, owned=False)
            self.assigned.append(name)
            return scope, False
        self.features.add("view rebind")
        size = int(np.prod(shape))
        if not ctx.loops:
            template, result = self.chain(shape, ctx)
        elif ctx.straight or self.coin(60):      # the same shape at the end of each iteration
            template, result = self.chain(shape, ctx, sizes={size})
            template, result = self.back_to(template, result, shape, ctx), shape
        else:                                    # another shape, then back before the iteration ends
            self.features.add("view rebind and back")
            template, result = self.chain(shape, ctx, sizes={size})
            self.emit(indent, f"{source} = {template.format(a=source)}")
            scope[source] = Var(result, owned=False)
            self.assigned.append(source)
            scope, terminated = self.block(scope, indent, replace(ctx, straight=True))
            if terminated:
                return scope, True
            template, result = self.chain(result, ctx, sizes={size})
            template, result = self.back_to(template, result, shape, ctx), shape
        self.emit(indent, f"{source} = {template.format(a=source)}")
        scope[source] = Var(result, owned=False)
        self.assigned.append(source)
        return scope, False

    def index(self, scope, n):
        options = ["0", "-1", "1"] + [name for name, v in self.ints(scope) if v.bound < n]
        return self.choice(options)

    def setitem(self, scope, name, indent):
        shape = scope[name].shape
        n, rest = shape[0], shape[1:]
        forms = ["=", "+=", "*=", "slice *="] + (["shift +="] if n >= 2 else [])
        form = self.choice(forms)
        depth = self.draw(st.integers(0, 2))
        if form == "shift +=":
            line = f"{name}[:-1] += {name}[1:] * {self.choice(CONSTANTS)}"
        elif form == "slice *=":
            e, _ = self.expr(scope, self.choice([s for s in self.shapes(scope) if _fits(s, rest)]), depth)
            line = f"{name}[1:] *= {e}"
        else:
            e, _ = self.expr(scope, self.choice([s for s in self.shapes(scope) if _fits(s, rest)]), depth)
            line = f"{name}[{self.index(scope, n)}] {form} {e}"
        self.emit(indent, line)
        self.assigned.append(name)
        return scope

    def unpack(self, scope, writable, indent):
        form = self.choice(["pair", "tuple", "swap"])
        self.features.add(f"unpack {form}")
        scope = dict(scope)
        if form == "swap":    # (names that are views swap only with views)
            same = [(a, b) for a in writable for b in writable
                    if a < b and scope[a].shape == scope[b].shape and scope[a].owned == scope[b].owned]
            if same:
                a, b = self.choice(same)
                self.emit(indent, f"{a}, {b} = {b}, {a}")
                scope[a], scope[b] = scope[b], scope[a]
                return scope
            form = "tuple"

        def target(shape):
            existing = [n for n in writable if scope[n].shape == shape]
            return self.choice(existing) if existing and self.coin(30) else self.fresh("v")

        if form == "pair":
            shape = self.choice(self.shapes(scope))
            sub = self.choice([s for s in self.shapes(scope) if _fits(s, shape)])
            a, _ = self.expr(scope, shape, 1)
            b, _ = self.expr(scope, sub, 1)
            if self.coin():
                a, b = b, a
            names = [target(shape), target(shape)]
            shapes = [shape, shape]
            rhs = f"pair({a}, {b})"
        else:
            shapes = [self.choice(self.shapes(scope)), self.choice(self.shapes(scope))]
            names = [target(shapes[0]), target(shapes[1])]
            rhs = ", ".join(self.top_expr(scope, s) for s in shapes)
        if names[0] == names[1]:
            names[1] = self.fresh("v")
        self.emit(indent, f"{names[0]}, {names[1]} = {rhs}")
        for name, shape in zip(names, shapes):
            scope[name] = Var(shape)
            self.assigned.append(name)
        return scope

    def if_statement(self, scope, indent, ctx):
        inner = replace(ctx, depth=ctx.depth + 1)
        self.emit(indent, f"if {self.cond(scope, 1)}:")
        arms = [self.block(scope, indent + 1, inner)]
        if self.coin(25):
            self.features.add("elif")
            self.emit(indent, f"elif {self.cond(scope, 1)}:")
            arms.append(self.block(scope, indent + 1, inner))
        if self.coin(75):
            self.emit(indent, "else:")
            arms.append(self.block(scope, indent + 1, inner))
        else:
            arms.append((scope, False))
        live = [s for s, terminated in arms if not terminated]
        if not live:
            return scope, True
        return _merge(live), False

    def loop_ctx(self, scope, body, ctx, frozen=frozenset()):
        """The context of a loop body: some arrays are frozen for the whole
        loop so that the body may take views of them."""
        arrays = [n for n, v in scope.items() if v.kind == "float" and v.shape in VIEW_OPS]
        views = frozenset(n for n in arrays if self.coin(40))
        return replace(ctx, depth=ctx.depth + 1, in_loop=True, loops=ctx.loops + 1, straight=False,
                       frozen=ctx.frozen | frozen | views, views=ctx.views | views,
                       entry=frozenset(n for n, v in body.items() if not v.readonly))

    def loop_body(self, scope, body_scope, indent, ctx):
        body_end, _ = self.block(body_scope, indent + 1, ctx)
        # after a loop only names bound before it are certainly bound
        after = _merge([scope, body_end], keys=scope)
        if self.coin(15):
            self.features.add("loop else")
            self.emit(indent, "else:")  # (no jumps in it: they would leave an outer loop)
            else_end, terminated = self.block(after, indent + 1, replace(ctx, in_loop=False))
            if not terminated:
                after = _merge([after, else_end], keys=after)
        return after

    def for_range(self, scope, indent, ctx):
        k = self.draw(st.integers(0, 4))
        i = self.fresh("i")
        self.emit(indent, f"for {i} in range({k}):")
        body = dict(scope)
        body[i] = Var((), kind="int", readonly=True, bound=max(k - 1, 0))
        return self.loop_body(scope, body, indent, self.loop_ctx(scope, body, ctx))

    def for_row(self, scope, indent, ctx):
        sources = [n for n, v in scope.items() if v.kind == "float" and v.shape]
        if not sources:
            return self.for_range(scope, indent, ctx)
        name = self.choice(sources)
        shape = scope[name].shape
        row = self.fresh("r")
        body = dict(scope)
        body[row] = Var(shape[1:], readonly=True, owned=not shape[1:])
        if self.coin(40):
            j = self.fresh("j")
            self.features.add("enumerate")
            self.emit(indent, f"for {j}, {row} in enumerate({name}):")
            body[j] = Var((), kind="int", readonly=True, bound=shape[0] - 1)
        else:
            self.emit(indent, f"for {row} in {name}:")
        after = self.loop_body(scope, body, indent, self.loop_ctx(scope, body, ctx, {name}))
        if name in after:    # the last row, a view of it, stays bound after the loop
            after[name] = replace(after[name], owned=False)
        return after

    def while_loop(self, scope, indent, ctx):
        n = self.fresh("n")
        bound = self.draw(st.integers(1, 4))
        self.emit(indent, f"{n} = 0")
        cond = f"{n} < {bound}"
        if self.coin(70):
            cond += f" and {self.cond(scope, 1)}"
        self.emit(indent, f"while {cond}:")
        self.emit(indent + 1, f"{n} += 1")
        scope = dict(scope)
        scope[n] = Var((), kind="int", readonly=True, bound=bound)
        return self.loop_body(scope, dict(scope), indent, self.loop_ctx(scope, scope, ctx))

    def result(self, scope):
        shape = self.choice(self.shapes(scope))
        e, _ = self.expr(scope, shape, 2)
        terms = [f"np.sum({e})"]
        terms += [f"np.sum({n})" for n in self.recent(scope)[: self.draw(st.integers(0, 2))]]
        return " + ".join(terms)

    def build(self):
        header = HEADER
        if self.coin():
            header = HEADER_WITH_HELPERS
            self.features.add("helpers inlined")
        if self.weights["update call"] and self.coin(15):
            decorator, line = self.choice(DECORATORS)
            header += decorator
            self.lines.append(line)
            self.features.add("decorator " + line)
        self.lines.append("def f(x, y):")
        scope = self.scope
        self.local_helper = self.coin(50)
        if self.local_helper:  # a nested helper reading the current y (inlined where called)
            if self.coin():
                self.emit(0, "def local(a):")
                self.emit(1, "return np.tanh(a) * np.sum(y) + smooth(a, 0.5)")
            else:
                self.emit(0, "local = lambda a: np.sin(a) * np.sum(y * y)  # noqa: E731")
        if self.coin(30):  # a flag the body may test and set (``done = False``)
            scope = dict(scope, done=Var((), kind="bool"))
            self.emit(0, "done = False")
        scope, terminated = self.block(scope, 0, Ctx())
        for _ in range(self.draw(st.integers(*self.size.extra))):
            if terminated:
                break
            scope, terminated = self.statement(scope, 0, Ctx())
        if not terminated:
            self.emit(0, f"return {self.result(scope)}")
        return header + "\n".join(self.lines) + "\n"


@dataclass
class Case:
    source: str
    x: object
    y: object
    features: frozenset


def _values(shape, dtype=np.float64):
    if shape == ():
        return st.floats(-2.0, 2.0)
    return hnp.arrays(dtype, shape, elements=st.floats(-2.0, 2.0, width=np.finfo(dtype).bits))


@st.composite
def programs(draw, size=SIZES["medium"], order=1, avoid=frozenset()):
    """``avoid``: statement and expression forms ("while", "view", "reduce", ...), templates
    (entries of UNARY), "call HELPER", "prod" and "reshape in loop" to leave out -- a
    way to step around a known bug."""
    shapes = ARG_SHAPES if order == 1 else [()]  # (order 2 and "2 loops": two floats)
    xshape, yshape = draw(st.sampled_from(shapes)), draw(st.sampled_from(shapes))
    builder = Builder(draw, xshape, yshape, size, order, avoid)
    return builder.build(), xshape, yshape, frozenset(builder.features)


@st.composite
def cases(draw, size=SIZES["medium"], order=1, avoid=frozenset()):
    source, xshape, yshape, features = draw(programs(size, order, avoid))
    # order 1: now and then float32 arrays (Python floats stay floats)
    dtype = np.float32 if order == 1 and draw(st.integers(0, 99)) < 15 else np.float64
    if dtype == np.float32 and (xshape or yshape):
        features |= {"float32"}
    return Case(source, draw(_values(xshape, dtype)), draw(_values(yshape, dtype)), features)
