"""Normalise stage: one operation per statement, one assignment per path.

The output of :func:`normalise` is a ``FunctionDef`` of the ``normal``
stage of :mod:`s2sgrad.ir.grammar` (which states the grammar and checks
it): every statement one operation on atoms, ``if``/``for``/``while True``
as the only control flow, exactly one ``return``, as the last statement.
A call to the user's own function that may be inlined is decided where it
is met (:mod:`s2sgrad.frontend.inline` normalises the callee then, with the
caller's namer, so versions and the memory the callee's values share are
known to the statements after it) and left in the program as a call
(``result_1 = cell(h, x)``), recorded in ``NormalFormFacts.inline_sites``;
the pipeline's ``inline`` pass splices the callee there.

Outside loops every name is assigned at most once on any path through the
function (reassignments get versioned names ``x_1``, ``x_2``; the two arms
of an ``if`` end by copying into a common name), so a value read by the
adjoint is never overwritten. Inside loop bodies a name keeps one version
for the whole loop; the reverse-mode stage saves what iterations overwrite.
Early ``return`` statements are removed by moving the rest of the block
into the other arm, so a normal-form function has exactly one ``return``.
A ``while c:`` loop becomes ``while True:`` whose body evaluates ``c`` and
breaks when it is false (``while True:`` keeps its body as it is).
Temporaries are named ``_t1, _t2, ...`` in order of appearance.

Output guarantees: the result is inside the ``normal`` grammar (once the
inline pass spliced the recorded calls: ``inlined``) (checked
after the pass with ``S2SGRAD_CHECK=1``), computes what the user's function
computes (the same calls in the same order, the same values), keeps the
user's names for the values they name (``x``, ``x_1``...), and records what
later stages need about its nodes in the declared tables of
:class:`s2sgrad.ir.facts.NormalFormFacts`, never as attributes on nodes.
What it cannot put in normal form raises UnsupportedSyntaxError at the
user's line.
"""

import ast
import copy

from s2sgrad import backend, runtime
from s2sgrad.errors import UndefinedNameError
from s2sgrad.frontend import idioms
from s2sgrad.frontend.desugar import desugar
from s2sgrad.frontend.inline import CALLER, inline_call, outside_write
from s2sgrad.frontend.names import Namer, bind
from s2sgrad.frontend.parse import LOCAL, UNRESOLVED
from s2sgrad.ir.facts import NestedDef, NormalFormFacts, SavedSlot, SharedArrayCheck, copy_facts
from s2sgrad.ir.nodes import function_def
from s2sgrad.ir.nodes import walk
from s2sgrad.primitives import containers, registry

_OPERATOR_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
                  ast.MatMult: "@", ast.FloorDiv: "//", ast.Mod: "%"}

#: (``try`` is differentiated through its body: ``idioms.without_try``)
UNSUPPORTED_STATEMENTS = {
    ast.With: "with statement",
    ast.Global: "global statement", ast.Nonlocal: "nonlocal statement",
    ast.ClassDef: "class definition",
    ast.Import: "import inside the function", ast.ImportFrom: "import inside the function",
    ast.AsyncFor: "async for", ast.AsyncWith: "async with", ast.Match: "match statement",
    ast.AsyncFunctionDef: "nested async def",
}
#: (displays, comprehensions and f-strings are ``idioms.EXPRESSIONS``)
UNSUPPORTED_EXPRESSIONS = {
    ast.Lambda: "lambda", ast.SetComp: "set comprehension", ast.Yield: "yield (a generator)",
    ast.YieldFrom: "yield from (a generator)", ast.Await: "await", ast.NamedExpr: "walrus (:=)",
    ast.Starred: "starred expression", ast.Set: "set display",
}


def normalise(parsed, namer=None, params_outlive=False, argument_classes=None):
    """Normal form of ``parsed.tree``; returns (FunctionDef, Normaliser).

    The ``push(stack, v)`` and ``v = pop(stack)`` of generated code read
    again are calls of primitives like any other (their records say they
    write into the stack: they stay in order, see s2sgrad.primitives.stacks).
    With ``params_outlive`` the function is a callee whose parameters are the
    caller's values: ``param += v`` on an array changes the caller's array,
    which the callee's own gradient cannot follow, so it is refused.
    ``argument_classes`` (parameter -> class) are the classes of the
    arguments whose methods the function calls (see idioms.argument_method).
    """
    normaliser = Normaliser(parsed, namer or Namer(_all_names(parsed.tree)))
    normaliser.params_outlive = params_outlive
    normaliser.argument_classes = dict(argument_classes or {})
    return normaliser.function(), normaliser


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Normaliser:
    """Rewrites one function into normal form (see module docstring)."""

    def __init__(self, parsed, namer):
        self.parsed = parsed
        self.namer = namer
        #: user name -> the version currently holding its value
        self.current = {}
        self.loop_depth = 0
        self.out = []
        #: objects the normal form refers to by names we introduced
        self.env = {}
        self.namespace_alias = None
        #: nested defs: name -> FunctionDef
        self.local_functions = {}
        #: version -> versions that may share memory with it (copies, views)
        self.shared = {}
        #: version -> the user's variable it is a version of
        self.user_names = {}
        #: code objects being inlined into this function (and itself): calls
        #: to them stay calls (see s2sgrad.frontend.inline)
        function = getattr(parsed, "function", None)
        self.inlining = (function.__code__,) if function is not None else ()
        #: dotted text -> the function inlined for it (the cache re-checks them)
        self.inlined = {}
        #: result name of an inlined call ending ``result = <operation>`` ->
        #: its InlineSite, until the caller uses the value (see :meth:`inlined_value`)
        self.inline_results = {}
        #: the facts every path to the current statement shares: (test, taken,
        #: assignments of test so far) per enclosing if arm, ("loop", k) per loop
        self.path = ()
        #: user name -> the assignments that may have set it last, as
        #: (version, path, order); read when the name is defined on some paths only
        self.last_stores = {}
        #: version -> how many statements assign it (so far)
        self.assignments = {}
        #: counts assignments and branch points (orders last_stores, names facts)
        self.events = 0
        #: what later stages (and this one) need to know about the nodes it
        #: emits (see s2sgrad.ir.facts)
        self.facts = NormalFormFacts()
        #: (current, last_stores) at the entry of each enclosing loop
        self.loop_entries = []
        #: (user name, call) while ``name = call(...)`` is normalised
        self.rebinding = None
        #: parameters are the caller's values (see :func:`normalise`)
        self.params_outlive = False
        #: parameters an inlined callee only ever updates with ``param op= v``:
        #: the inliner hands the caller their final versions (see inline.py)
        self.updated_params = frozenset()
        #: user variable -> whether it only ever holds a number (plain_number)
        self.plain_numbers = {}
        #: parameter -> the class of its argument, for the parameters whose
        #: methods the function calls (given by the caller of the pipeline)
        self.argument_classes = {}
        #: parameter of an inlined callee -> the differentiated function's
        #: parameter it is bound to (where ``argument_classes`` came from)
        self.argument_roots = {}
        self.handlers = []
        #: the user's name of the function (errors name it): of a derivative
        #: read again, the function it is the derivative of
        self.function_name = getattr(parsed.tree, "name", None)
        #: how errors name what the function returns (of a derivative read
        #: again: "the derivative of f")
        self.returns_name = self.function_name

    # ----------------------------------------------------------- functions
    def function(self):
        rewritten = idioms.objects_as_locals(self)
        if rewritten is not None:
            self.parsed = self.parsed.with_tree(rewritten)
        tree = self.parsed.tree
        args = tree.args
        if args.vararg or args.kwarg:
            raise self.parsed.error("*args/**kwargs parameters", tree, stage="normalise")
        for a in args.posonlyargs + args.args + args.kwonlyargs:
            self.current[a.arg] = a.arg
            self.namer.reserve(a.arg)
            if self.params_outlive:
                self.share(a.arg, CALLER)
        differentiated = _guarded_function_name(tree.body, self.parsed.resolve)
        self.function_name = differentiated or tree.name
        self.returns_name = f"the derivative of {differentiated}" if differentiated else tree.name
        body = _without_entry_guards(list(tree.body), self.parsed.resolve)
        body = desugar(self, body)
        handlers = []
        body = idioms.without_try(body, handlers)
        #: the ``except`` clauses left out, as ``(classes, file, line)``: an
        #: exception one of them would catch is refused when it happens
        self.handlers = [idioms.caught(self, h) for h in handlers]
        #: lists and dicts only this function holds (written as new ones)
        self.containers = idioms.private_containers(tree, self.parsed.resolve)
        #: of those written through an item (xs[t][i] = v): why not private, or None
        self.item_writes = idioms.items_written_in_place(tree, self.containers,
                                                         self.parsed.resolve)
        body = _loops_without_else(body, self.namer)
        result = self.namer.fresh("result") if _has_return(body) else None
        self.result_name = result
        if any(isinstance(s, (ast.For, ast.While)) and _has_return(s.body)
               for stmt in body for s in walk(stmt)):
            # a return inside a loop sets the result there (then breaks): bound
            # before the loop, it has a version on every path after it
            body.insert(0, _at(ast.Assign([ast.Name(result, ast.Store())], ast.Constant(None)),
                               tree.body[0]))
        body = _remove_early_returns(body, self)
        new_body = self.block(body)
        if result is None:
            new_body.append(ast.Return(ast.Constant(None), lineno=tree.lineno))
        else:
            new_body.append(_at(ast.Return(ast.Name(self.current.get(result, result), ast.Load())),
                                tree.body[-1]))
        fn = function_def(tree.name, copy.deepcopy(args), new_body, tree.lineno)
        fn.args.defaults = [copy.deepcopy(d) for d in args.defaults]
        _strip_annotations(fn.args)
        return ast.fix_missing_locations(fn)

    def block(self, stmts):
        saved, self.out = self.out, []
        for stmt in stmts:
            self.stmt(stmt)
        block, self.out = self.out, saved
        return block

    def emit(self, node, origin):
        self.out.append(_at(node, origin))

    def made(self, atom):
        """``atom``, recorded as made here: normalising it again is a no-op."""
        self.facts.atoms[atom] = True
        return atom

    def copy(self, node):
        """A deep copy of ``node`` with the facts recorded of its parts."""
        copied = copy.deepcopy(node)
        copy_facts(node, copied, self.facts, self.facts)
        return copied

    def captured_by(self, name):
        """The enclosing variables nested def ``name`` reads (passed at calls)."""
        return self.facts.nested_defs.get(self.local_functions[name]).captured

    # ---------------------------------------------------------- statements
    def stmt(self, s):
        kind = type(s)
        if kind in UNSUPPORTED_STATEMENTS:
            raise self.parsed.error(UNSUPPORTED_STATEMENTS[kind], s, stage="normalise")
        if kind is ast.Expr:
            if isinstance(s.value, ast.Constant):
                return  # docstring or bare constant
            if type(s.value) in UNSUPPORTED_EXPRESSIONS:  # (``yield x``: what it is)
                raise self.parsed.error(UNSUPPORTED_EXPRESSIONS[type(s.value)], s,
                                        stage="normalise")
            if not isinstance(s.value, ast.Call):
                raise self.parsed.error("expression statement", s, stage="normalise")
            rhs = self.rhs(s.value)
            if isinstance(rhs, ast.Call):  # (an inlined call left its value in an atom)
                self.emit(ast.Expr(rhs), s)
            elif isinstance(rhs, ast.Name) and rhs.id in self.inline_results:
                self.inline_results.pop(rhs.id).unused = True
        elif kind is ast.Assign:
            value = s.value
            if isinstance(value, ast.Lambda) and len(s.targets) == 1 \
                    and isinstance(s.targets[0], ast.Name):
                # ``f = lambda v: v * w`` is ``def f(v): return v * w``
                self.nested_def(ast.copy_location(function_def(
                    s.targets[0].id, value.args,
                    [ast.copy_location(ast.Return(value.body), value)], s.lineno), s))
                return
            if len(s.targets) > 1:
                atom = self.atom(value)
                for target in s.targets:
                    self.assign(target, atom, s)
            else:
                target = s.targets[0]
                # ``w = step(w, g)``: the call's value replaces its argument
                self.rebinding = (target.id, value) if isinstance(target, ast.Name) else None
                self.assign(target, value, s)
                self.rebinding = None
        elif kind is ast.AnnAssign:
            if s.value is not None:
                self.assign(s.target, s.value, s)
        elif kind is ast.AugAssign:
            self.augassign(s)
        elif kind is ast.Return:
            value = s.value if s.value is not None else ast.Constant(None)
            self.assign(ast.Name(self.result_name, ast.Store()), value, s)
        elif kind is ast.If:
            self.if_(s)
        elif kind is ast.FunctionDef:
            self.nested_def(s)
        elif kind is ast.Delete:
            # ``del x`` only frees memory (generated code frees temporaries
            # so); deleting items or attributes changes values: refused
            if not all(isinstance(t, ast.Name) for t in s.targets):
                raise self.parsed.error("del of an item or attribute", s, stage="normalise")
        elif kind is ast.Pass:
            pass
        elif kind is ast.Assert:
            test = self.atom(s.test)
            msg = self.atom(s.msg) if s.msg is not None else None
            self.emit(ast.Assert(test, msg), s)
        elif kind is ast.Raise:
            idioms.raise_statement(self, s)
        elif kind in (ast.For, ast.While, ast.Break, ast.Continue):
            self.loop_statement(s)
        else:
            raise self.parsed.error(f"{kind.__name__} statement", s, stage="normalise")

    def nested_def(self, s):
        """A nested ``def``: variables it reads from the enclosing function
        become keyword-only parameters, passed at each call.

        ``def predict(v): return v @ w`` is kept as ``def predict(v, *, w)``
        and ``predict(x)`` becomes ``predict(x, w=w)``: the value read is the
        one at the call (as with a closure), and ``w``'s gradient flows
        through the call like any argument's.
        """
        if s.decorator_list:
            raise self.parsed.error("decorated nested def", s, stage="normalise")
        if s.name in self.current:
            raise self.parsed.error(f"nested def {s.name!r} rebinding a name", s,
                                    stage="normalise")
        inner_locals = {n.id for n in walk(s) if isinstance(n, ast.Name)
                        and isinstance(n.ctx, ast.Store)}
        inner_locals |= {a.arg for a in walk(s.args) if isinstance(a, ast.arg)}
        # an enclosing variable assigned only after the def is read too: a
        # closure sees its value at the call
        later = {n.id for n in walk(self.parsed.tree) if isinstance(n, ast.Name)
                 and isinstance(n.ctx, ast.Store)}
        read = {n.id for n in walk(s) if isinstance(n, ast.Name)
                and (n.id in self.current or n.id in later) and n.id not in inner_locals}
        # a nested def it calls is called with what that one captures
        calls = read & set(self.local_functions)
        captured = sorted((read - calls) | {name for f in calls for name in self.captured_by(f)})
        if captured and any(isinstance(n, ast.Name) and n.id == s.name for n in walk(s)):
            raise self.parsed.error(f"recursive nested def {s.name!r} reading enclosing variables",
                                    s, stage="normalise", hint="define it at module level")
        node = copy.deepcopy(s)
        for name in captured:
            node.args.kwonlyargs.append(ast.arg(name))
            node.args.kw_defaults.append(None)
        self.facts.nested_defs[node] = NestedDef(tuple(captured), bool(calls))
        self.current[s.name] = self.namer.reserve(s.name)
        self.local_functions[s.name] = node
        self.emit(node, s)

    def assign(self, target, value, origin):
        if isinstance(target, ast.Name):
            self.assign_value(target.id, self.rhs(value), origin)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target, value, origin)
        elif isinstance(target, ast.Subscript):
            base = target.value
            if isinstance(base, ast.Subscript) and idioms.held_item(self, base) is not None:
                # xs[t][i] = v: a write into the array a private container holds
                idioms.write_held_item(self, base, target.slice, value, origin)
                return
            if not isinstance(base, ast.Name) or self.parsed.resolve(base) is not LOCAL:
                raise self.parsed.error("assignment to a subscript of a non-local", origin,
                                        stage="normalise")
            index = self.index(target.slice)
            atom = self.atom(value)
            if base.id in self.containers:
                idioms.write_item(self, base.id, index, atom, origin)
            else:
                self.write_subscript(base.id, index, atom, origin)
        elif isinstance(target, ast.Attribute):
            raise self.parsed.error("assignment to an attribute", origin, stage="normalise")
        else:
            raise self.parsed.error(f"assignment to {type(target).__name__}", origin,
                                    stage="normalise")

    def assign_value(self, user_name, rhs, origin):
        """``user_name = rhs``, ``rhs`` normalised already."""
        name = self.store(user_name)
        site = self.inline_results.pop(rhs.id, None) if isinstance(rhs, ast.Name) else None
        if site is not None and self.loop_depth and name in site.operation.reads:
            # (as below: the inline pass makes the copy the operation itself)
            temp = self.namer.temp()
            self.emit(ast.Assign([ast.Name(temp, ast.Store())], rhs), origin)
            self.note_sharing(temp, rhs)
            rhs = ast.Name(temp, ast.Load())
        elif self.loop_depth and not isinstance(rhs, (ast.Name, ast.Constant)) and any(
            isinstance(n, ast.Name) and n.id == name for n in walk(rhs)
        ):
            # x = x * y in a loop: compute into a temporary first, so the
            # adjoint sees the old x while the new one is saved apart.
            temp = self.namer.temp()
            self.note_sharing(temp, rhs)  # (then passed on to ``name``)
            self.emit(ast.Assign([ast.Name(temp, ast.Store())], rhs), origin)
            rhs = ast.Name(temp, ast.Load())
        self.note_sharing(name, rhs)
        self.emit(ast.Assign([ast.Name(name, ast.Store())], rhs), origin)

    def write_subscript(self, name, index, atom, origin):
        """``x[i] = v``: save what the write overwrites, then write.

        The saved copy (``_t = np.copy(x[i])``) is an ordinary temporary:
        the adjoint restores ``x[i]`` from it, and inside loops it is saved
        per iteration like any other value the adjoint reads.
        """
        if name not in self.current:
            raise self.parsed.error(f"assignment to a subscript of {name!r} before it is defined",
                                    origin, stage="normalise")
        base = self.current[name]
        saved = self.namer.temp()
        old = ast.Subscript(self.made(ast.Name(base, ast.Load())), self.copy(index), ast.Load())
        self.emit(ast.Assign([ast.Name(saved, ast.Store())],
                             self.namespace_call(backend.xp.copy, [self.atom(old)])), origin)
        write = ast.Assign([ast.Subscript(ast.Name(base, ast.Load()), index, ast.Store())], atom)
        self.facts.saved_slots[write] = SavedSlot(saved)
        self.emit(write, origin)

    def unpack(self, target, value, origin):
        elts = target.elts
        starred = [i for i, e in enumerate(elts) if isinstance(e, ast.Starred)]
        if starred:
            self.unpack_starred(elts, starred[0], value, origin)
            return
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(elts):
            atoms = [self.atom(v) for v in value.elts]  # all read before any write
            if self.loop_depth:
                # x, y = y, x in a loop (names are reused there): read into
                # temporaries first so the assignments act simultaneously
                atoms = [self.snapshot(a, origin) for a in atoms]
            for t, a in zip(elts, atoms):
                self.assign(t, a, origin)
            return
        whole = self.atom(value)
        for i, t in enumerate(elts):
            item = ast.Subscript(whole, ast.Constant(i), ast.Load())
            self.assign(t, item, origin)

    def unpack_starred(self, elts, star, value, origin):
        """``first, *rest, last = xs``: ``first = xs[0]``, ``rest = list(xs[1:-1])``,
        ``last = xs[-1]``, once ``xs`` is known to have at least two items."""
        whole = self.atom(value)
        after = len(elts) - star - 1
        check = idioms.helper_call(self, containers.require_unpacked, [
            whole, ast.Constant(len(elts) - 1)])
        self.emit(ast.Expr(check), origin)
        for i, t in enumerate(elts[:star]):
            self.assign(t, ast.Subscript(whole, ast.Constant(i), ast.Load()), origin)
        rest = ast.Slice(ast.Constant(star) if star else None,
                         ast.Constant(-after) if after else None, None)
        self.assign(elts[star].value, self.builtin_call("list", [
            self.atom(ast.Subscript(whole, rest, ast.Load()))]), origin)
        for j, t in enumerate(elts[star + 1:]):
            self.assign(t, ast.Subscript(whole, ast.Constant(j - after), ast.Load()), origin)

    def env_helper(self, obj, preferred):
        return bind(self.env, self.namer, obj, preferred)

    def note_sharing(self, target, rhs):
        """Record that ``target`` may share memory with another variable."""
        source = None
        if isinstance(rhs, ast.Name) and (rhs.id in self.current.values() or rhs.id in self.shared):
            # (an inlined callee's names are not the caller's user names)
            source = rhs.id
        elif isinstance(rhs, ast.Subscript) and isinstance(rhs.value, ast.Name):
            source = rhs.value.id
        elif isinstance(rhs, ast.Call):
            found = registry.record(self.resolve(rhs.func))
            if found is not None and found.holds:  # a container of the arguments
                for item in rhs.args:
                    if isinstance(item, ast.Name):
                        self.share(target, item.id)
            viewed = None if found is None else found.view_of
            if found is not None and found.primitive is runtime.in_place:
                viewed = None  # (of x op= y: the operation's own temporary)
            if viewed is not None and viewed < len(rhs.args) and isinstance(rhs.args[viewed], ast.Name):
                source = rhs.args[viewed].id
        elif isinstance(rhs, (ast.Tuple, ast.List)):
            # a display holds its items themselves: ``items = [y]; y *= 3``
            # changes items[0] too when y is an array
            for item in rhs.elts:
                if isinstance(item, ast.Name):
                    self.share(target, item.id)
        if source is not None:
            self.share(target, source)

    def share(self, a, b):
        """Names ``a`` and ``b`` may reach the same array."""
        self.shared.setdefault(b, set()).add(a)
        self.shared.setdefault(a, set()).add(b)

    def snapshot(self, atom, origin):
        if not isinstance(atom, ast.Name):
            return atom
        temp = self.namer.temp()
        self.emit(ast.Assign([ast.Name(temp, ast.Store())], ast.Name(atom.id, ast.Load())), origin)
        return self.made(ast.Name(temp, ast.Load()))

    def augassign(self, s):
        target = s.target
        if isinstance(target, ast.Name):
            current = self.current.get(target.id)
            sharers = _sharing_closure(self.shared, current) - {current}
            if target.id in self.updated_params and sharers <= {CALLER}:
                sharers = set()  # the inliner hands the caller the new value
            if sharers:
                # on an array, x += y would also change the other names that
                # view x; x = x + y would not: refuse arrays at run time
                helper = runtime.refuse_parameter_update if sharers == {CALLER} \
                    else runtime.refuse_shared_array
                self.guard_shared_write(helper, current, [
                    ast.Constant(target.id), ast.Constant(_OPERATOR_TEXT.get(type(s.op), "op"))],
                    s)
            read = ast.Name(target.id, ast.Load())
            value = ast.BinOp(read, s.op, s.value)
            if not (self.parsed.generated or self.plain_number(target.id)):
                # an array is written in place: its dtype and shape are kept
                # (generated code's ``dx += ...`` adds into a gradient)
                helper = self.env_helper(runtime.in_place, "in_place")
                value = ast.Call(ast.Name(helper, ast.Load()), [value, copy.copy(read)], [])
            self.assign(ast.Name(target.id, ast.Store()), value, s)
        elif isinstance(target, ast.Subscript):
            read = copy.deepcopy(target)
            read.ctx = ast.Load()
            if isinstance(target.value, ast.Name) and target.value.id in self.containers:
                read = idioms.item_updated_in_place(self, read, s)
            value = ast.BinOp(read, s.op, s.value)
            self.assign(target, value, s)
        else:
            raise self.parsed.error("augmented assignment to an attribute", s,
                                    stage="normalise")

    def plain_number(self, name):
        """True when every value the function gives ``name`` is a number:
        each assignment to it a numeric constant (``n = 0``, ``n += 1``) or
        a ``for`` over ``range``, and it is no parameter."""
        if name in self.plain_numbers:
            return self.plain_numbers[name]
        args = self.parsed.tree.args
        plain = name not in {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        for node in walk(self.parsed.tree):
            if not plain:
                break
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(n, ast.Name) and n.id == name
                       for t in targets for n in ast.walk(t)):
                    plain = isinstance(node.value, ast.Constant) and _number(node.value.value) \
                        and all(isinstance(t, ast.Name) for t in targets)
            elif isinstance(node, (ast.For, ast.comprehension)):
                if any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.target)):
                    plain = isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Call) \
                        and self.resolve(node.iter.func) is range
            elif isinstance(node, (ast.NamedExpr, ast.withitem)):
                target = node.target if isinstance(node, ast.NamedExpr) else node.optional_vars
                plain = not any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(target)) \
                    if target is not None else True
        self.plain_numbers[name] = plain
        return plain

    def guard_shared_write(self, helper, current, details, origin):
        """Before an in-place write into version ``current``, which other
        names may share: ``helper(current, *details, file, line)`` refuses
        an array at run time (a number is a new object, nothing shared)."""
        guard = self.env_helper(helper, helper.__name__)
        where = self.env_helper(self.parsed.filename, "source_file")
        check = ast.Expr(ast.Call(ast.Name(guard, ast.Load()), [
            ast.Name(current, ast.Load()), *details, ast.Name(where, ast.Load()),
            ast.Constant(origin.lineno)], []))
        self.facts.shared_array_checks[check] = SharedArrayCheck(
            frozenset(_sharing_closure(self.shared, current) - {current}),
            bool(self.loop_depth))
        self.emit(check, origin)

    def store(self, name):
        """The name an assignment to user variable ``name`` writes.

        The first assignment keeps the user's name; later ones outside
        loops get a new version, so no value is ever overwritten there.
        """
        if name in self.current and self.loop_depth:
            version = self.current[name]
        elif name in self.current or name in self.last_stores:
            version = self.namer.fresh(name, exact_first=False)
        else:
            version = self.namer.reserve(name)
        self.current[name] = version
        self.user_names[version] = name
        self.assignments[version] = self.assignments.get(version, 0) + 1
        self.last_stores[name] = ((version, self.path, self.event()),)
        return version

    def enter_loop(self, loop):
        """Path facts for a loop body; returns the path to restore after it.

        The body runs many times: what the path said about a test the body
        assigns no longer holds inside it, and nothing assigned inside it
        certainly ran once outside (a ``("loop", k)`` fact of its own).
        """
        for n in walk(ast.Module(loop.body, [])):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id in self.current:
                version = self.current[n.id]
                self.assignments[version] = self.assignments.get(version, 0) + 1
        path = self.path
        self.path = path + ((("loop", self.event()), True, 0),)
        self.loop_entries.append((dict(self.current), dict(self.last_stores)))
        return path

    def leave_loop(self, path):
        """Back on ``path`` after a loop body: a name the loop assigns in the
        version it had before keeps the assignments made before as its last
        ones (the version was certainly assigned there, the loop reassigns it
        in place)."""
        self.path = path
        current, stores = self.loop_entries.pop()
        for name, before in stores.items():
            version = current.get(name)
            if version is not None and self.current.get(name) == version and all(
                    c[0] == version for c in self.last_stores.get(name, ())):
                self.last_stores[name] = before

    def event(self):
        self.events += 1
        return self.events

    def defined_on_this_path(self, name):
        """The version of ``name`` read here when it is assigned on some paths only.

        Generated code reads a value under the same test that guarded its
        assignment (``if _t1: _t6 = ...`` ... ``if _t1: ... _t6 ...``). Of
        the assignments that may have set ``name`` last, the latest one not
        contradicted by the path here must certainly have run (every test it
        was under holds here, with the same value, inside the same loop
        iteration); otherwise None.
        """
        facts = set(self.path)
        # (a path under both arms of one test is dead code: nothing is denied there)
        denied = {(test, not taken, n) for test, taken, n in self.path} - facts
        possible = [c for c in self.last_stores.get(name, ()) if not denied & set(c[1])]
        if not possible:
            return None
        version, path, _ = max(possible, key=lambda c: c[2])
        return version if set(path) <= facts else None

    def if_(self, s):
        test = self.atom(s.test)
        before, stores_before, path = dict(self.current), dict(self.last_stores), self.path
        # a test that is not a name is a fact of its own, never true elsewhere
        fact = (test.id, True, self.assignments.get(test.id, 0)) if isinstance(test, ast.Name) \
            else (("if", self.event()), True, 0)
        self.path = path + (fact,)
        body = self.block(s.body)
        after_body, stores_body = self.current, self.last_stores
        self.current, self.last_stores = dict(before), dict(stores_before)
        self.path = path + ((fact[0], False, fact[2]),)
        orelse = self.block(s.orelse)
        after_else, stores_else = self.current, self.last_stores
        self.current, self.path = dict(before), path
        self.last_stores = {name: tuple(sorted(set(stores_body.get(name, ())) |
                                               set(stores_else.get(name, ())), key=lambda c: c[2]))
                            for name in set(stores_body) | set(stores_else)}
        for name in sorted(set(after_body) | set(after_else)):
            a, b = after_body.get(name), after_else.get(name)
            if a == b:
                self.current[name] = a
                if stores_body.get(name) != stores_else.get(name):
                    # both arms assign the version: it is assigned on the path here
                    self.last_stores[name] = ((a, path, self.event()),)
            elif a is None or b is None:
                continue  # defined on one path only: unusable after the if
            else:
                joined = a if self.loop_depth else self.namer.fresh(name, exact_first=False)
                self.user_names[joined] = name
                for arm, version in ((body, a), (orelse, b)):
                    if joined != version:
                        join = _at(ast.Assign([ast.Name(joined, ast.Store())],
                                              ast.Name(version, ast.Load())), s)
                        self.facts.if_joins[join] = True
                        arm.append(join)
                self.current[name] = joined
                if joined not in (a, b):
                    self.assignments[joined] = self.assignments.get(joined, 0) + 1
                self.last_stores[name] = ((joined, path, self.event()),)
        if isinstance(test, ast.Name) and any(
                isinstance(n, ast.Name) and n.id == test.id and isinstance(n.ctx, ast.Store)
                for n in walk(ast.Module(body + orelse, []))):
            # ``if done: ... else: done = True`` in a loop: the adjoint takes
            # the branch by the test's value, so the arms must not change it
            test = self.snapshot(test, s)
        self.emit(ast.If(test, body or [ast.Pass()], orelse), s)

    def loop_statement(self, s):
        if isinstance(s, ast.Break):
            if not self.loop_depth:
                raise self.parsed.error("break outside a loop", s, stage="normalise")
            self.emit(ast.Break(), s)
        elif isinstance(s, ast.Continue):
            raise self.parsed.error("continue here", s, stage="normalise")
        elif s.orelse:  # (function() rewrote every loop-else)
            raise self.parsed.error(f"{type(s).__name__.lower()}-else", s, stage="normalise")
        elif isinstance(s, ast.For):
            self.for_(s)
        else:
            self.while_(s)

    def for_(self, s):
        """``for`` over anything becomes ``for i in <range>`` plus item reads.

        ``range(...)`` is kept; ``enumerate``, ``zip``, arrays, lists and
        tuples are iterated by index, so the adjoint can replay the loop
        backwards with ``reversed`` on the same range.
        """
        header, target, items = self.loop_source(s)
        target_name = self.store(target) if target is not None else self.namer.fresh("i")
        prefix = [ast.Assign([t], build(self.made(ast.Name(target_name, ast.Load()))))
                  for t, build in items]
        self.loop_depth += 1
        path = self.enter_loop(s)
        body = self.block([_at(p, s) for p in prefix] + _structure_jumps(list(s.body)))
        self.loop_depth -= 1
        self.leave_loop(path)
        self.emit(ast.For(ast.Name(target_name, ast.Store()), header, body or [ast.Pass()], []), s)

    def loop_source(self, s):
        """(range atom, loop variable or None, [(target, item builder)])."""
        it, target = s.iter, s.target
        resolve = self.parsed.resolve
        if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) \
                and it.func.id not in self.current and resolve(it.func) is enumerate:
            it = _enumerate_from_zero(it)
        if isinstance(it, ast.Call) and not it.keywords and isinstance(it.func, ast.Name) \
                and it.func.id not in self.current:
            func = resolve(it.func)
            if func is range and isinstance(target, ast.Name):
                return self.atom(it), target.id, []
            if func is reversed and len(it.args) == 1:
                # iterated backwards by index, as a slice (``reversed(r)`` has no len)
                it = ast.copy_location(ast.Subscript(it.args[0], ast.Slice(
                    None, None, ast.Constant(-1)), ast.Load()), it)
                seq = self.iterated(self.atom(it), s)
                header = self.atom(self.builtin_call("range", [self.builtin_call("len", [seq])]))
                return header, None, [(target, _item_of(seq))]
            if func is enumerate and isinstance(target, (ast.Tuple, ast.List)) \
                    and len(target.elts) == 2 and len(it.args) == 1 \
                    and isinstance(target.elts[0], ast.Name):
                seq = self.iterated(self.atom(it.args[0]), s)
                header = self.atom(self.builtin_call("range", [self.builtin_call("len", [seq])]))
                return header, target.elts[0].id, [(target.elts[1], _item_of(seq))]
            if func is enumerate and isinstance(target, (ast.Tuple, ast.List)) \
                    and len(target.elts) == 2 and len(it.args) == 2:
                # ``enumerate(xs, start)``: by index from 0, the count ``start`` on
                start = self.snapshot(self.atom(it.args[1]), s)
                seq = self.iterated(self.atom(it.args[0]), s)
                header = self.atom(self.builtin_call("range", [self.builtin_call("len", [seq])]))
                return header, None, [(target.elts[0], self.counted_from(start)),
                                      (target.elts[1], _item_of(seq))]
            if func is zip and isinstance(target, (ast.Tuple, ast.List)) \
                    and len(target.elts) == len(it.args) and it.args:
                seqs = [self.iterated(self.atom(a), s) for a in it.args]
                lengths = [self.builtin_call("len", [q]) for q in seqs]
                count = lengths[0] if len(lengths) == 1 else self.builtin_call("min", lengths)
                header = self.atom(self.builtin_call("range", [count]))
                return header, None, [(t, _item_of(q)) for t, q in zip(target.elts, seqs)]
        seq = self.iterated(idioms.iterated(self, it, self.atom(it)), s)
        header = self.atom(self.builtin_call("range", [self.builtin_call("len", [seq])]))
        return header, None, [(target, _item_of(seq))]

    def counted_from(self, start):
        """Builder of ``i + start`` for a loop index ``i`` (``start`` an atom)."""
        def build(index):
            return ast.BinOp(index, ast.Add(), self.made(copy.deepcopy(start)))

        return build

    def iterated(self, seq, loop):
        """``seq`` held in a temporary of its own when the loop rebinds it
        (``for r in y: y = ...`` iterates over the original ``y``)."""
        if isinstance(seq, ast.Name) and any(
                isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and
                self.current.get(n.id) == seq.id for st in loop.body for n in walk(st)):
            return self.snapshot(seq, loop)
        return seq

    def builtin_call(self, name, args):
        import builtins

        obj = getattr(builtins, name)
        if self.parsed.resolve(ast.Name(name)) is obj and name not in self.current:
            func = name
        else:
            func = self.namer.fresh(name)
            self.env[func] = obj
        return ast.Call(ast.Name(func, ast.Load()), list(args), [])

    def while_(self, s):
        """``while c: body`` becomes ``while True: c; if c: body else: break``."""
        self.loop_depth += 1
        path = self.enter_loop(s)
        saved, self.out = self.out, []
        test = self.atom(s.test)
        head = self.out
        self.out = saved
        body = self.block(_structure_jumps(list(s.body)))
        if isinstance(test, ast.Constant) and test.value is True:
            # ``while True``: the body itself, no ``if True:`` around it
            loop_body = head + (body or [ast.Pass()])
        else:
            loop_body = head + [_at(ast.If(test, body or [ast.Pass()], [_at(ast.Break(), s)]), s)]
        self.loop_depth -= 1
        self.leave_loop(path)
        self.emit(ast.While(ast.Constant(True), loop_body, []), s)

    # --------------------------------------------------------- expressions
    def atom(self, e):
        """Normalise ``e`` and return an atom holding its value."""
        if e in self.facts.atoms:
            return e
        if isinstance(e, ast.Constant):
            return ast.Constant(e.value)
        if isinstance(e, ast.UnaryOp) and isinstance(e.op, (ast.USub, ast.UAdd)) \
                and isinstance(e.operand, ast.Constant) and _number(e.operand.value):
            # a negative number is a constant too (``y[:-1]``, ``-0.5``)
            value = e.operand.value
            return ast.Constant(-value if isinstance(e.op, ast.USub) else value)
        if isinstance(e, ast.Name):
            return self.read(e)
        if self.is_global_ref(e):
            return copy.deepcopy(e)
        rhs = self.rhs(e)
        if isinstance(rhs, ast.Name) and self.inline_results.pop(rhs.id, None) is not None:
            # the operation an inlined call ends with gets a temporary, as any
            # operation (the inline pass makes this copy the operation itself)
            temp = self.namer.temp()
            self.note_sharing(temp, rhs)
            self.emit(ast.Assign([ast.Name(temp, ast.Store())], rhs), e)
            return self.made(ast.Name(temp, ast.Load()))
        if isinstance(rhs, (ast.Name, ast.Constant)):
            return rhs
        temp = self.namer.temp()
        if isinstance(rhs, (ast.Tuple, ast.List)):  # [[y]]: the inner list holds y
            self.note_sharing(temp, rhs)
        self.emit(ast.Assign([ast.Name(temp, ast.Store())], rhs), e)
        return self.made(ast.Name(temp, ast.Load()))

    def read(self, name_node, as_callee=False):
        name = name_node.id
        if name in self.current:
            local = self.local_functions.get(name)
            if local is not None and self.captured_by(name) and not as_callee:
                raise self.parsed.error(
                    f"nested def {name!r} used as a value", name_node, stage="normalise",
                    hint="call it directly, or pass what it reads as arguments")
            return self.made(ast.Name(self.current[name], ast.Load()))
        version = self.defined_on_this_path(name)
        if version is not None:
            return self.made(ast.Name(version, ast.Load()))
        resolved = self.parsed.resolve(name_node)
        if resolved is LOCAL:
            raise self.parsed.error(f"name {name!r} read before assignment", name_node,
                                    stage="normalise")
        if resolved is UNRESOLVED:
            raise self.parsed.error(f"undefined name {name!r}", name_node, stage="normalise",
                                    kind=UndefinedNameError)
        return ast.Name(name, ast.Load())

    def is_global_ref(self, e):
        """True for ``np.pi`` style dotted references to non-local objects."""
        while isinstance(e, ast.Attribute):
            e = e.value
        if not (isinstance(e, ast.Name) and e.id not in self.current):
            return False
        resolved = self.parsed.resolve(e)  # by identity: a global array has no truth value
        return resolved is not LOCAL and resolved is not UNRESOLVED

    def rhs(self, e):
        """Normalise ``e`` into a single operation over atoms."""
        kind = type(e)
        if kind in idioms.EXPRESSIONS:
            return idioms.expression(self, e)
        if kind in UNSUPPORTED_EXPRESSIONS:
            raise self.parsed.error(UNSUPPORTED_EXPRESSIONS[kind], e, stage="normalise")
        if kind in (ast.Constant, ast.Name) or e in self.facts.atoms:
            return self.atom(e)
        if kind is ast.BinOp:
            return ast.BinOp(self.atom(e.left), e.op, self.atom(e.right))
        if kind is ast.UnaryOp:
            operand = self.atom(e.operand)
            if isinstance(e.op, ast.UAdd):
                return operand
            return ast.UnaryOp(e.op, operand)
        if kind is ast.Compare:
            return self.compare(e)
        if kind is ast.BoolOp:
            return self.boolop(e)
        if kind is ast.IfExp:
            return self.ifexp(e)
        if kind is ast.Call:
            return self.call(e)
        if kind is ast.Attribute:
            return self.attribute(e)
        if kind is ast.Subscript:
            return ast.Subscript(self.atom(e.value), self.index(e.slice), ast.Load())
        if kind in (ast.Tuple, ast.List):
            return kind([self.atom(v) for v in e.elts], ast.Load())
        raise self.parsed.error(f"{kind.__name__} expression", e, stage="normalise")

    def ifexp(self, e):
        """``a if c else b`` becomes an ``if`` statement writing a temporary."""
        temp = ast.Name(self.namer.temp(), ast.Store())
        branch = ast.If(e.test, [ast.Assign([temp], e.body)], [ast.Assign([temp], e.orelse)])
        self.if_(_at(branch, e))
        return ast.Name(temp.id, ast.Load())

    def compare(self, e):
        left = self.atom(e.left)
        parts = []
        for op, right in zip(e.ops, e.comparators):
            right = self.atom(right)
            parts.append(ast.Compare(left, [op], [right]))
            left = right
        if len(parts) == 1:
            return parts[0]
        atoms = [self.atom(p) for p in parts]
        return self.boolop(ast.BoolOp(ast.And(), atoms))

    def boolop(self, e):
        # Conditions never carry a gradient; evaluate all operands eagerly is
        # wrong for short-circuit code, so build nested conditionals.
        values = e.values
        result = self.atom(values[0])
        for value in values[1:]:
            temp = self.namer.temp()
            right_block = self.block([ast.Assign([ast.Name(temp, ast.Store())], value)])
            left_block = [ast.Assign([ast.Name(temp, ast.Store())], result)]
            if isinstance(e.op, ast.And):
                self.emit(ast.If(result, right_block, left_block), e)
            else:
                self.emit(ast.If(result, left_block, right_block), e)
            result = ast.Name(temp, ast.Load())
        return result

    def attribute(self, e):
        if self.is_global_ref(e):
            return copy.deepcopy(e)
        base = self.atom(e.value)
        found = registry.attribute(e.attr)
        if found is not None and found.vjp is not None:  # x.T is np.transpose(x)
            return self.namespace_call(found.primitive, [base])
        return ast.Attribute(base, e.attr, ast.Load())

    def call(self, e):
        spelled = idioms.call(self, e)
        if spelled is not None:
            return spelled
        if any(isinstance(a, ast.Starred) for a in e.args) or any(
            k.arg is None for k in e.keywords
        ):
            raise self.parsed.error("call with *args or **kwargs", e, stage="normalise")
        func = e.func
        if isinstance(func, ast.Attribute) and not self.is_global_ref(func):
            return self.method_call(func, e)
        if isinstance(func, ast.Name):
            func = self.read(func, as_callee=True) if func.id in self.current else func
            if func.id not in self.current.values() and func.id not in self.env \
                    and self.parsed.resolve(func) is UNRESOLVED:
                raise self.parsed.error(f"call to undefined name {func.id!r}", e,
                                        stage="normalise", kind=UndefinedNameError)
        elif not self.is_global_ref(func):
            func = self.atom(func)
        self.refuse_writing_call(func, e)
        args = [self.atom(a) for a in e.args]
        keywords = [ast.keyword(k.arg, self.atom(k.value)) for k in e.keywords]
        if isinstance(func, ast.Name) and func.id in self.local_functions:
            for name in self.captured_by(func.id):  # see nested_def
                keywords.append(ast.keyword(name, self.read(ast.Name(name, ast.Load()))))
        inlined = inline_call(self, func, args, keywords, e)
        if inlined is not None:
            return inlined
        self.refuse_outside_writes(func, e)
        if isinstance(func, ast.Name) and func.id in self.local_functions and \
                self.facts.nested_defs.get(self.local_functions[func.id]).calls_nested_defs:
            # (its body calls them without what they capture: only inlined it works)
            raise self.parsed.error(f"nested def {func.id!r} calling another nested def, "
                                    "which cannot be inlined here", e, stage="normalise")
        return ast.Call(self.copy(func), args, keywords)

    def refuse_outside_writes(self, func, e):
        """A user function left a call whose code writes into what outlives
        the call (``a[0] = v`` on a parameter, ``G[0] = v`` on a global,
        ``items.append(v)``): its VJP would not see the write, so refuse."""
        callee = None if isinstance(func, ast.Name) and func.id in self.current \
            else self.resolve(func)
        if not registry.is_user_function(callee) \
                or (callee.__module__ or "").partition(".")[0] == __name__.partition(".")[0]:
            return  # (s2sgrad's own helpers, which generated code calls, are not the user's)
        written = outside_write(callee)
        if written is not None:
            # (a method the normaliser named is called by its class's name)
            name = callee.__qualname__ if isinstance(func, ast.Name) and func.id in self.env \
                else ast.unparse(func)
            raise self.parsed.error(
                f"call to {name}(), which writes into {written!r}", e,
                stage="normalise",
                hint="return the new value instead, and assign it in the caller")

    def refuse_writing_call(self, func, e):
        """A call that writes into an array it is passed (``np.copyto(y, x)``,
        ``np.add(x, x, out=y)``) changes a value behind its name's back: the
        gradient would not follow the write, so it is refused."""
        found = registry.record(self.resolve(func))
        name = ast.unparse(func)
        if found is not None and found.mutates and found.stack is None:
            raise self.parsed.error(f"{name}(), which writes into its argument", e,
                                    stage="normalise", hint="write the values with a subscript assignment: y[...] = x")
        self.refuse_out_argument(name, e)

    def refuse_out_argument(self, name, e):
        """``out=`` makes any NumPy call write into that array: refused (see above)."""
        for k in e.keywords:
            if k.arg == "out" and not (isinstance(k.value, ast.Constant) and k.value.value is None):
                raise self.parsed.error(f"{name}(..., out=...), which writes into an array", e,
                                        stage="normalise", hint="write the values with a subscript assignment: y[...] = x")

    def method_call(self, func, e):
        method = func.attr
        spelled = idioms.method_call(self, func, e)
        if spelled is not None:
            return spelled
        found = registry.method(method)
        if found is None:
            raise self.parsed.error(f"method call .{method}()", e, stage="normalise",
                                    hint="call the NumPy function instead")
        self.refuse_out_argument(ast.unparse(func), e)
        base = self.atom(func.value)
        args = [self.atom(a) for a in e.args]
        if found.packs_varargs and len(args) > 1:  # x.reshape(2, 3)
            args = [self.atom(ast.Tuple(args, ast.Load()))]
        keywords = [ast.keyword(k.arg, self.atom(k.value)) for k in e.keywords]
        if not keywords:  # x.clip(1.0) is np.clip(x, 1.0, None)
            args += [ast.Constant(v) for v in found.method_defaults[len(args):]]
        return self.namespace_call(found.primitive, [base, *args], keywords)

    def namespace_call(self, function, args, keywords=()):
        """A call of ``function``, spelled ``np.<name>`` when the array
        namespace has it (what a reader expects), else by a bound name."""
        name = backend.spelling(function)
        if name is None:
            callee = ast.Name(self.env_helper(function, function.__name__), ast.Load())
        else:
            callee = ast.Attribute(ast.Name(self.namespace_name(), ast.Load()), name, ast.Load())
        return ast.Call(callee, list(args), list(keywords))

    def namespace_name(self):
        """A name that denotes the array namespace in the generated code."""
        if self.namespace_alias is None:
            for candidate in ("np", "numpy"):
                if self.parsed.resolve(ast.Name(candidate)) is backend.xp:
                    self.namespace_alias = candidate
                    break
            else:
                self.namespace_alias = self.namer.fresh("np")
                self.env[self.namespace_alias] = backend.xp
        return self.namespace_alias

    def resolve(self, node):
        """The object a Name/Attribute chain denotes, also through the names
        this normaliser bound itself (``np`` when the user's module lacks it)."""
        if isinstance(node, ast.Name) and node.id in self.env:
            return self.env[node.id]
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            if base is LOCAL or base is UNRESOLVED:
                return base
            return getattr(base, node.attr, UNRESOLVED)
        return self.parsed.resolve(node)

    def index(self, node):
        if isinstance(node, ast.Slice):
            parts = [None if p is None else self.atom(p) for p in (node.lower, node.upper, node.step)]
            return ast.Slice(*parts)
        if isinstance(node, ast.Tuple):
            return ast.Tuple([self.index(e) for e in node.elts], ast.Load())
        return self.atom(node)


# ------------------------------------------------------------- early returns
def _always_returns(stmts):
    """True when every path through ``stmts`` ends in a return."""
    for s in stmts:
        if isinstance(s, ast.Return):
            return True
        if isinstance(s, ast.If) and _always_returns(s.body) and _always_returns(s.orelse):
            return True
    return False


def _has_return(stmts):
    return any(isinstance(n, ast.Return) for s in stmts for n in walk(s))


def _remove_early_returns(stmts, normaliser):
    """Move code after a returning ``if`` arm into the other arm.

    ``if c: return a`` followed by ``rest`` becomes ``if c: return a else:
    rest``, recursively, so that every return is the last statement of its
    path. A loop that returns becomes one that breaks: ``return a`` inside
    it sets the result and a flag and breaks (out of every enclosing loop
    of the function, flag by flag), and ``rest`` runs only if the flag is
    not set.
    """
    out = []
    for i, s in enumerate(stmts):
        if isinstance(s, ast.Return):
            out.append(s)
            return out
        if isinstance(s, ast.If) and (_has_return(s.body) or _has_return(s.orelse)):
            rest = stmts[i + 1:]
            body = _remove_early_returns(list(s.body) + ([] if _always_returns(s.body) else rest), normaliser)
            orelse = _remove_early_returns(list(s.orelse) + ([] if _always_returns(s.orelse) else rest), normaliser)
            out.append(ast.copy_location(ast.If(s.test, body, orelse), s))
            return out
        if isinstance(s, (ast.For, ast.While)) and _has_return(s.body):
            flag = normaliser.namer.fresh("returned")
            out.append(ast.copy_location(
                ast.Assign([ast.Name(flag, ast.Store())], ast.Constant(False)), s))
            out.append(_returns_to_breaks(s, flag, normaliser.result_name))
            rest = _remove_early_returns(stmts[i + 1:], normaliser)
            if rest:
                out.append(ast.copy_location(ast.If(
                    ast.UnaryOp(ast.Not(), ast.Name(flag, ast.Load())), rest, []), s))
            return out
        out.append(s)
    return out


def _loops_without_else(stmts, namer):
    """``stmts`` with every ``for``/``while`` … ``else`` (at any depth, not in
    nested defs) rewritten: the loop's own breaks set a flag, and the ``else``
    block runs in an ``if not flag`` after the loop. Done before returns are
    handled, so a return in an ``else`` block is one like any other."""
    out = []
    for s in stmts:
        if isinstance(s, (ast.For, ast.While, ast.If)):
            s = copy.copy(s)
            s.body = _loops_without_else(s.body, namer)
            s.orelse = _loops_without_else(s.orelse, namer)
        if isinstance(s, (ast.For, ast.While)) and s.orelse:
            flag = namer.fresh("broke")
            orelse = s.orelse
            s.body, s.orelse = _flag_breaks(s.body, flag), []
            out += [ast.copy_location(ast.Assign([ast.Name(flag, ast.Store())],
                                                 ast.Constant(False)), s),
                    s,
                    ast.copy_location(ast.If(ast.UnaryOp(ast.Not(), ast.Name(flag, ast.Load())),
                                             orelse, []), s)]
            continue
        out.append(s)
    return out


def _flag_breaks(stmts, flag):
    """``stmts`` with each break of their own loop (not of inner loops)
    preceded by ``flag = True``."""
    out = []
    for s in stmts:
        if isinstance(s, ast.Break):
            out.append(ast.copy_location(
                ast.Assign([ast.Name(flag, ast.Store())], ast.Constant(True)), s))
        elif isinstance(s, ast.If):
            s = copy.copy(s)
            s.body, s.orelse = _flag_breaks(s.body, flag), _flag_breaks(s.orelse, flag)
        out.append(s)
    return out


def _returns_to_breaks(loop, flag, result):
    """``loop`` with each ``return v`` in it turned into ``result = v; flag =
    True; break``, and an ``if flag: break`` after each inner loop that returns."""
    loop = copy.copy(loop)
    loop.body = _block_returns_to_breaks(loop.body, flag, result)
    return loop


def _block_returns_to_breaks(stmts, flag, result):
    out = []
    for s in stmts:
        if isinstance(s, ast.Return):
            value = s.value if s.value is not None else ast.Constant(None)
            out += [ast.copy_location(node, s) for node in (
                ast.Assign([ast.Name(result, ast.Store())], value),
                ast.Assign([ast.Name(flag, ast.Store())], ast.Constant(True)),
                ast.Break())]
            return out  # (what follows a return never runs)
        if isinstance(s, ast.If) and _has_return([s]):
            s = copy.copy(s)
            s.body = _block_returns_to_breaks(s.body, flag, result)
            s.orelse = _block_returns_to_breaks(s.orelse, flag, result)
        elif isinstance(s, (ast.For, ast.While)) and _has_return(s.body):
            out.append(_returns_to_breaks(s, flag, result))
            s = ast.copy_location(ast.If(ast.Name(flag, ast.Load()),
                                         [ast.copy_location(ast.Break(), s)], []), s)
        out.append(s)
    return out


# ------------------------------------------------------------------ helpers
def _at(node, origin):
    """``node`` with the user's line number of ``origin`` on every part."""
    lineno = getattr(origin, "lineno", None)
    if lineno is not None:
        for n in walk(node):
            if getattr(n, "lineno", None) is None and "lineno" in n._attributes:
                n.lineno = n.end_lineno = lineno
                n.col_offset = n.end_col_offset = 0
    return node


def _enumerate_from_zero(call):
    """``enumerate(xs, start=0)``/``enumerate(xs, 0)`` as ``enumerate(xs)``;
    ``start=k`` as a second argument; another call as it is."""
    args, keywords = list(call.args), list(call.keywords)
    if len(args) == 1 and len(keywords) == 1 and keywords[0].arg == "start":
        args, keywords = args + [keywords[0].value], []
    if keywords:
        return call
    if len(args) == 2 and isinstance(args[1], ast.Constant) and args[1].value == 0 \
            and type(args[1].value) is int:
        args = args[:1]
    return ast.copy_location(ast.Call(call.func, args, keywords), call)


def _item_of(seq):
    """Builder of ``seq[i]`` for a loop index ``i``."""
    def build(index):
        return ast.Subscript(seq, index, ast.Load())

    return build


def _jumps(stmts):
    """True when ``stmts`` contain break/continue for the enclosing loop."""
    for s in stmts:
        if isinstance(s, (ast.Break, ast.Continue)):
            return True
        if isinstance(s, ast.If) and (_jumps(s.body) or _jumps(s.orelse)):
            return True
    return False


def _always_jumps(stmts):
    for s in stmts:
        if isinstance(s, (ast.Break, ast.Continue, ast.Return)):
            return True
        if isinstance(s, ast.If) and _always_jumps(s.body) and _always_jumps(s.orelse):
            return True
    return False


def _structure_jumps(stmts):
    """Loop body with break/continue only as the last statement of an arm.

    ``if c: break`` followed by ``rest`` becomes ``if c: break else: rest``
    and a ``continue`` simply ends its arm, so the adjoint of a partial
    iteration is the adjoint of what ran — no flags needed.
    """
    out = []
    for i, s in enumerate(stmts):
        if isinstance(s, ast.Break):
            out.append(s)
            return out
        if isinstance(s, ast.Continue):
            return out
        if isinstance(s, ast.If) and (_jumps(s.body) or _jumps(s.orelse)):
            rest = stmts[i + 1:]
            body = _structure_jumps(list(s.body) + ([] if _always_jumps(s.body) else rest))
            orelse = _structure_jumps(list(s.orelse) + ([] if _always_jumps(s.orelse) else rest))
            out.append(ast.copy_location(ast.If(s.test, body or [ast.Pass()], orelse), s))
            return out
        out.append(s)
    return out


def _sharing_closure(shared, name):
    """The names that may reach ``name``'s array (:data:`CALLER` among them,
    but not through it: two parameters need not share each other)."""
    seen, todo = set(), [name]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            if n != CALLER:
                todo.extend(shared.get(n, ()))
    return seen


def _is_entry_guard(stmt, resolve):
    """A call, for its effect, of a helper marked as an entry guard."""
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and \
        getattr(resolve(stmt.value.func), "entry_guard", False) is True


def _guarded_function_name(body, resolve):
    """The function an entry guard of ``body`` names (its last argument,
    the user's function whose derivative ``body`` is), or None."""
    for s in body:
        for node in walk(s):
            if isinstance(node, ast.Call) and getattr(resolve(node.func), "entry_guard", False) \
                    is True and node.args and isinstance(node.args[-1], ast.Constant) \
                    and isinstance(node.args[-1].value, str):
                return node.args[-1].value
    return None


def _without_entry_guards(body, resolve):
    """``body`` without the entry guards of generated code being read again.

    Generated gradients check their arguments and result with helpers that
    carry the ``entry_guard`` mark (``runtime.require_float``,
    ``runtime.require_scalar``): such a call at the top level, and an
    ``if`` without ``else`` and without calls in its test whose body is
    such calls plus assignments only they read (what the optimiser sank
    into the guard), compute nothing the function returns. Such a guard
    may end by returning the function's final return value with some
    entries cast by a helper marked ``gradient_cast`` (the casts only
    arguments other than Python floats need, which
    ``transform.dtypes`` moves there): the values are the same. They are
    left out of the program that is differentiated, so a second derivative
    neither differentiates nor repeats the first one's checks; its own
    guards and casts are generated for it.
    """
    final = body[-1].value if body and isinstance(body[-1], ast.Return) else None

    def reads_elsewhere(names, guard):
        return any(isinstance(n, ast.Name) and n.id in names
                   for s in body if s is not guard for n in walk(s))

    def is_guard_block(s):
        if not isinstance(s, ast.If) or s.orelse or \
                any(isinstance(n, ast.Call) for n in walk(s.test)):
            return False
        calls = [t for t in s.body if _is_entry_guard(t, resolve)]
        rest = [t for t in s.body if not _is_entry_guard(t, resolve)]
        if rest and s.body[-1] is rest[-1] and _is_cast_return(rest[-1], final, resolve):
            rest = rest[:-1]
        if not calls or not all(isinstance(t, ast.Assign) and isinstance(t.targets[0], ast.Name)
                                and len(t.targets) == 1 for t in rest):
            return False
        return not reads_elsewhere({t.targets[0].id for t in rest}, s)

    kept = []
    for s in body:
        if _is_entry_guard(s, resolve):
            if _checks_result(s, resolve):
                kept.append(s)
        elif is_guard_block(s):
            kept.extend(t for t in s.body if isinstance(t, ast.Assign) or _checks_result(t, resolve))
        else:
            kept.append(s)
    if kept and isinstance(kept[-1], ast.Return) and kept[-1].value is not None:
        # (and the final return's casts: the derivative of a cast is the
        # derivative of what it casts, and the derivative made here casts its own)
        kept[-1] = ast.copy_location(ast.Return(_uncast(kept[-1].value, resolve)), kept[-1])
    return kept


def _checks_result(stmt, resolve):
    """True for an entry guard checking what a function returns
    (``require_scalar``: a derivative differentiated again still requires it)."""
    return _is_entry_guard(stmt, resolve) and \
        getattr(resolve(stmt.value.func), "checks_result", False) is True


def _uncast(value, resolve):
    """``value`` (a returned expression, or a tuple of them) with its
    ``gradient_cast`` calls ``cast(entry, name)`` replaced by ``entry``."""
    if isinstance(value, ast.Tuple):
        return ast.Tuple([_uncast(e, resolve) for e in value.elts], ast.Load())
    if isinstance(value, ast.Call) and len(value.args) == 2 and not value.keywords \
            and isinstance(value.args[1], ast.Name) \
            and getattr(resolve(value.func), "gradient_cast", False) is True:
        return value.args[0]
    return value


def _is_cast_return(stmt, final, resolve):
    """True for ``return G`` where ``G`` is ``final`` with some entries
    wrapped in a ``gradient_cast`` helper call ``cast(entry, name)``."""
    if not isinstance(stmt, ast.Return) or stmt.value is None or final is None:
        return False
    mine, theirs = stmt.value, final
    if isinstance(mine, ast.Tuple) != isinstance(theirs, ast.Tuple):
        return False
    mine = mine.elts if isinstance(mine, ast.Tuple) else [mine]
    theirs = theirs.elts if isinstance(theirs, ast.Tuple) else [theirs]
    return len(mine) == len(theirs) and all(
        ast.dump(_uncast(entry, resolve)) == ast.dump(plain) for entry, plain in zip(mine, theirs))


def _all_names(tree):
    names = {n.id for n in walk(tree) if isinstance(n, ast.Name)}
    names |= {n.arg for n in walk(tree) if isinstance(n, ast.arg)}
    return names


def _strip_annotations(args):
    for a in args.posonlyargs + args.args + args.kwonlyargs:
        a.annotation = None
