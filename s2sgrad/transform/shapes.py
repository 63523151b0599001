"""Static shape classes: which values are known to have the same shape.

Nothing about argument shapes is known when code is generated, but much is
known about how shapes relate: ``t = x * 2.0`` has ``x``'s shape, ``s =
np.sum(x)`` is a scalar, and since ``grad`` only accepts scalar results,
every operand of an elementwise operation producing the result is a scalar
too. Two values in the same class have the same shape at run time, so the
reverse-mode stage can drop ``unbroadcast`` calls and fold unit seeds
instead of paying for them in every call.

The analysis is a union-find over names: forward over the statements, then
backward from scalar results through elementwise operations, to a fixpoint.
The program is read once (:meth:`ShapeClasses.equations`); the classes under
each set of assumptions are solved from what was read (:meth:`ShapeClasses.solve`).

Output guarantees: two names in one class have equal shapes at run time
whenever the assumptions solved under hold (a scalar result, 0-d
parameters, known shapes); a name in class ``SCALAR`` is 0-d. A name in a
class of its own promises nothing. ``shapes_by_running`` returns shapes the
program actually produced on the given arguments, or None.
"""

import ast

from s2sgrad import backend
from s2sgrad.primitives import registry
from s2sgrad.ir.nodes import function_def

SCALAR = 0


class ShapeClasses:
    """Union-find of shape classes over the names of one function."""

    def __init__(self, resolve):
        self.resolve = resolve
        self.parent = {SCALAR: SCALAR}
        self.of_name = {}
        self.relations = []  # (target class, [operand classes]) of elementwise ops
        self.shape_tuples = set()  # names holding an array's .shape
        #: (class of a reassigned name, classes of its definitions)
        self.joins = []
        #: the name the function returns (None for a constant)
        self.result = None
        self._next = 1

    # ----------------------------------------------------------- union-find
    def fresh(self):
        c = self._next
        self._next += 1
        self.parent[c] = c
        return c

    def find(self, c):
        if c is None:
            return None
        while self.parent[c] != c:
            self.parent[c] = self.parent[self.parent[c]]
            c = self.parent[c]
        return c

    def union(self, a, b):
        a, b = self.find(a), self.find(b)
        if a is None or b is None or a == b:
            return False
        if b == SCALAR:
            a, b = b, a
        self.parent[b] = a
        return True

    # ------------------------------------------------------------- analysis
    def analyse(self, fn, result_is_scalar, scalar_params=(), known_shapes=None):
        """Fill the classes for normal-form ``fn`` (``scalar_params`` assumed 0-d).

        ``known_shapes`` gives concrete shapes where they are known (a tape
        recording knows every shape; its code is cached per shape). The same
        as ``ShapeClasses(resolve).equations(fn).solve(...)``.
        """
        return self.equations(fn).solve(result_is_scalar, scalar_params, known_shapes)

    def equations(self, fn):
        """Read normal-form ``fn`` once: a class per name and the relations
        between classes (elementwise operations, joins of a reassigned name's
        definitions), under no assumption. :meth:`solve` then finds the classes
        under any assumptions without reading the program again."""
        params = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
        for name in params:
            self.of_name[name] = self.fresh()
        definitions = {}
        for s in _assignments(fn.body):
            definitions.setdefault(s.targets[0].id, []).append(s)
        for name, defs in definitions.items():
            if len(defs) > 1:
                self.of_name[name] = self.fresh()  # reassigned (loops/joins): own class
        for name, defs in definitions.items():
            if len(defs) == 1:
                self.of_name[name] = self.rhs_class(defs[0].value, defs[0].targets[0].id)
        for name, defs in definitions.items():
            if len(defs) > 1:
                self.joins.append((self.of_name[name], [self.rhs_class(d.value, name) for d in defs]))
        result = fn.body[-1].value
        self.result = result.id if isinstance(result, ast.Name) else None
        return self

    def solve(self, result_is_scalar=False, scalar_params=(), known_shapes=None):
        """The classes of the program :meth:`equations` read, when its result is
        a scalar (``result_is_scalar``), ``scalar_params`` are 0-d and the names
        of ``known_shapes`` have those shapes: a new ShapeClasses sharing this
        one's equations (this one is not changed)."""
        solved = ShapeClasses(self.resolve)
        solved.parent = dict(self.parent)
        solved.of_name, solved.relations, solved.joins = self.of_name, self.relations, self.joins
        solved.shape_tuples, solved.result, solved._next = self.shape_tuples, self.result, self._next
        solved._assume(result_is_scalar, scalar_params, known_shapes)
        return solved

    def _assume(self, result_is_scalar, scalar_params, known_shapes):
        for name in scalar_params:
            self.union(self.of_name[name], SCALAR)
        if result_is_scalar and self.result in self.of_name:
            self.union(self.of_name[self.result], SCALAR)
        by_shape = {}
        for name, shape in (known_shapes or {}).items():
            if name in self.of_name:
                if shape == ():
                    self.union(self.of_name[name], SCALAR)
                elif shape in by_shape:
                    self.union(self.of_name[name], by_shape[shape])
                else:
                    by_shape[shape] = self.of_name[name]
        changed = True
        while changed:
            changed = False
            for target, operands in self.relations:
                if self.find(target) == SCALAR:
                    for c in operands:
                        changed |= self.union(c, SCALAR)
                known = [self.find(c) for c in operands if self.find(c) != SCALAR]
                if operands and not known:
                    changed |= self.union(target, SCALAR)
                elif known and all(k == known[0] for k in known) and None not in known:
                    changed |= self.union(target, known[0])
            for target, classes in self.joins:
                # a reassigned name is scalar iff every definition is
                if self.find(target) == SCALAR:
                    for c in classes:
                        changed |= self.union(c, SCALAR)
                elif all(self.find(c) == SCALAR for c in classes):
                    changed |= self.union(target, SCALAR)

    def rhs_class(self, rhs, target):
        if isinstance(rhs, ast.Attribute) and rhs.attr in ("ndim", "size"):
            return SCALAR
        if isinstance(rhs, ast.Attribute) and rhs.attr == "shape":
            self.shape_tuples.add(target)
            return self.fresh()
        if isinstance(rhs, ast.Subscript) and isinstance(rhs.value, ast.Name) \
                and rhs.value.id in self.shape_tuples and isinstance(rhs.slice, ast.Constant):
            return SCALAR
        if isinstance(rhs, (ast.Name, ast.Constant)):
            c = self.atom_class(rhs)
            return c if c is not None else self.fresh()
        if isinstance(rhs, ast.BinOp) and _elementwise(rhs.op):
            return self.elementwise([rhs.left, rhs.right])
        if isinstance(rhs, ast.UnaryOp) and _elementwise(rhs.op):
            return self.elementwise([rhs.operand])
        if isinstance(rhs, ast.Call):
            found = registry.record(self.resolve(rhs.func))
            if found is not None and found.scalar:
                return SCALAR
            if found is not None and found.elementwise and not rhs.keywords:
                return self.elementwise(rhs.args)
            if found is not None and found.reduction and len(rhs.args) == 1 and not rhs.keywords:
                return SCALAR  # a full reduction (no axis)
            if found is not None and found.shaped_like is not None \
                    and len(rhs.args) > found.shaped_like:
                c = self.atom_class(rhs.args[found.shaped_like])
                if c is not None:
                    return c
        return self.fresh()

    def elementwise(self, operands):
        classes = [self.atom_class(a) for a in operands]
        target = self.fresh()
        if None not in classes:
            self.relations.append((target, classes))
        return target

    def atom_class(self, atom):
        if isinstance(atom, ast.Name):
            c = self.of_name.get(atom.id)
            return self.find(c) if c is not None else None
        if isinstance(atom, ast.Constant) and type(atom.value) in (int, float):
            return SCALAR
        return None

    # -------------------------------------------------------------- queries
    def partition(self):
        """The classes as sets of names (the scalar class first): what two
        readings of a program must share to say the same."""
        classes = {}
        for name in self.of_name:
            classes.setdefault(self.of(name), set()).add(name)
        scalars = frozenset(classes.pop(SCALAR, ()))
        return scalars, frozenset(frozenset(names) for names in classes.values())

    def of(self, name):
        c = self.of_name.get(name)
        return self.find(c) if c is not None else None

    def expression_class(self, e, name_class):
        """Class of an expression over names classed by ``name_class``."""
        if isinstance(e, ast.Name):
            return name_class(e.id)
        if isinstance(e, ast.Constant):
            return SCALAR if type(e.value) in (int, float) else None
        if isinstance(e, ast.BinOp) and _elementwise(e.op):
            return _combine([self.expression_class(e.left, name_class),
                             self.expression_class(e.right, name_class)])
        if isinstance(e, ast.UnaryOp) and _elementwise(e.op):
            return self.expression_class(e.operand, name_class)
        if isinstance(e, ast.Call) and not e.keywords:
            found = registry.record(self.resolve(e.func))
            if found is not None and found.scalar:
                return SCALAR
            if found is not None and found.elementwise:
                return _combine([self.expression_class(a, name_class) for a in e.args])
        return None


def _elementwise(op):
    """True for an operator whose primitive is elementwise (``+``, ``%``; not ``@``)."""
    found = registry.operator(type(op))
    return found is not None and found.elementwise


def _combine(classes):
    if None in classes:
        return None
    known = {c for c in classes if c != SCALAR}
    if not known:
        return SCALAR
    if len(known) == 1:
        return known.pop()
    return None


def _assignments(stmts):
    for s in stmts:
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            yield s
        for field in ("body", "orelse"):
            yield from _assignments(getattr(s, field, []))


def shapes_by_running(fn, namespace, args):
    """Concrete shapes of every value of straight-line normal-form ``fn``.

    A front end that generates code for the arguments it holds (a lifted
    tape block, specialised on its inputs' shapes) can have every
    intermediate shape too: running the primal once on ``args`` is cheap
    next to generating code, and with all shapes known the reverse-mode
    stage drops every needless ``unbroadcast`` as it does for tape
    recordings. Returns ``{name: shape}``, or None for code with control
    flow or when running it fails (shapes then stay partly unknown).
    """
    body = []
    for stmt in fn.body:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            name = stmt.targets[0].id
            body += [stmt, ast.parse(f"__shapes[{name!r}] = __shape({name})").body[0]]
        elif isinstance(stmt, (ast.Return, ast.Expr)):
            body.append(stmt)
        else:
            return None
    params = [a.arg for a in fn.args.args]

    probe = function_def("__probe", fn.args, body)
    module = ast.fix_missing_locations(ast.Module([probe], []))
    shapes = dict(zip(params, (backend.shape_of(a) for a in args)))
    scope = dict(namespace, __shapes=shapes, __shape=backend.xp.shape)
    try:
        exec(compile(module, "<s2sgrad shapes>", "exec"), scope)
        with backend.xp.errstate(all="ignore"):
            scope["__probe"](*args)
    except Exception:  # noqa: BLE001 - the shapes are an optimisation only
        return None
    return shapes
