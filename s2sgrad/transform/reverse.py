"""Differentiate stage: normal form -> primal sweep + adjoint sweep.

``reverse(fn, context, wrt)`` takes a normal-form ``FunctionDef`` and
returns the ``FunctionDef`` of its gradient: the primal statements (all of
them; the optimise stage removes what the adjoint does not read) followed
by the adjoint statements in reverse order, each group headed by a
``# grad of: <user line>`` marker, and a return of the gradients.

Adjoints are tracked while generating: a primal name's adjoint is either
undefined (zero), an *alias* of an atom (``dy`` is just ``dz``, or the unit
seed ``1.0``: nothing is emitted), or a variable ``d<name>``. The first
contribution defines it, later ones accumulate with ``d = d + e``; nothing
is zero-filled and nothing is patched afterwards.
"""

import ast
import builtins
import copy
import inspect
import operator

import numpy as np

from s2sgrad.errors import S2SGradError, UnsupportedSyntaxError
from s2sgrad.frontend.normalise import METADATA_ATTRS
from s2sgrad.rules import registry
from s2sgrad.transform import simplify
from s2sgrad.transform.shapes import ShapeClasses
from s2sgrad.transform.templates import template_for

BINOPS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
UNARYOPS = {ast.USub: operator.neg, ast.UAdd: operator.pos}

#: marker comment statements, turned into ``# ...`` lines by the emitter
COMMENT_PREFIX = "__s2sgrad_comment__ "


def comment(text):
    return ast.Expr(ast.Constant(COMMENT_PREFIX + text))


class Adjoint:
    """The state of one primal name's adjoint: an alias atom or a variable.

    With ``like`` set, the adjoint is the constant ``expr`` broadcast to
    the shape of the primal ``like`` (a folded unit seed spread by a sum),
    which is never materialised unless a rule needs the array.
    """

    __slots__ = ("expr", "is_alias", "like")

    def __init__(self, expr, is_alias, like=None):
        self.expr = expr
        self.is_alias = is_alias
        self.like = like


class ReverseMode:
    """Builds the gradient of one normal-form function."""

    def __init__(self, fn, context, wrt, *, seed=None, return_value=False, known_shapes=None,
                 checks=True):
        self.fn = fn
        self.context = context
        self.namer = context.namer
        self.wrt = list(wrt)
        self.seed = seed
        self.return_value = return_value
        self.known_shapes = known_shapes
        self.checks = checks
        from s2sgrad import runtime

        self.runtime = runtime
        self.adjoint_names = {}
        self.primal_of = {}
        self._stack = None
        #: names holding saved shapes (tuples)
        self.shape_names = []
        #: names holding shapes saved in loops (they start as None)
        self.loop_shapes = []
        self.sequences = set()
        #: adjoint variables that may hold a 0.0 placeholder instead of an
        #: array of their primal's shape
        self.zero_filled = set()
        self.owned = set()
        self.reassigned = set()
        self.seed_name = None
        self.loops = {}
        self.loop_depth_of = {}
        self.active = set()

    # --------------------------------------------------------------- driver
    def transform(self):
        body = self.fn.body[:-1]
        result = self.fn.body[-1].value
        self.active = self.activity(body, set(self.wrt))
        self.reassigned = {n.id for n in ast.walk(self.fn) if isinstance(n, ast.Name)
                           and isinstance(n.ctx, ast.Store)}
        self.sequences = self.sequence_names(body)
        self.guards = []
        self.check_writes(body)
        for statement, argument, write in self.guards:
            _insert_after(body, statement, ast.Expr(self.helper_call("refuse_if_shared", [
                ast.Name(statement.targets[0].id, ast.Load()), ast.Name(argument, ast.Load()),
                ast.Constant(self.context.user_names.get(argument, argument)),
                ast.Name(self.context.env_name(self.context.filename, "source_file"), ast.Load()),
                ast.Constant(getattr(write, "lineno", None))])))
        proven = ShapeClasses(self.context.resolve).analyse(self.fn, result_is_scalar=False)
        result_proven_scalar = isinstance(result, ast.Name) and proven.of(result.id) == 0
        self.shapes = ShapeClasses(self.context.resolve).analyse(
            self.fn, result_is_scalar=not self.seed, known_shapes=self.known_shapes)
        adj = {}
        seed_name = None
        if self.seed:
            seed_name = self.adjoint_name(result.id) if isinstance(result, ast.Name) \
                else self.namer.fresh("dresult")
        if isinstance(result, ast.Name) and result.id in self.active:
            seed = ast.Constant(1.0) if seed_name is None else ast.Name(seed_name, ast.Load())
            adj[result.id] = Adjoint(seed, True)
        _record_loop_depths(body, 0, self.loop_depth_of)
        adjoint = self.adjoint_block(body, adj)
        grads = [self.final_gradient(name, adj) for name in self.wrt]
        self.unreached = [name for name in self.wrt if name not in adj]
        body, adjoint = self.place_saves(list(body), adjoint + [ast.Return(ast.Tuple(grads, ast.Load()))])
        adjoint = adjoint[:-1]
        check = []
        guarded = ()
        if self.seed is None and not result_proven_scalar:
            check = [ast.Expr(self.helper_call("require_scalar", [
                result, ast.Constant(self.fn.name)]))]
            guarded = self.float_guard_params(body, result)
        arg_checks = self.argument_checks(skip=guarded)
        if guarded:
            # Python floats in, Python float out: nothing to check. Otherwise
            # check the arguments and the result (the primal statements only
            # the check reads are sunk into this branch by the optimiser).
            checks = [c.body[0] for c in self.argument_checks(only=guarded)] + check
            check = [self.float_guard(guarded, checks)]
        value = grads[0] if len(grads) == 1 and not self.context.wrt_is_tuple else \
            ast.Tuple(grads, ast.Load())
        if self.return_value:
            value = ast.Tuple([result, value], ast.Load())
        new_body = arg_checks + body + check + adjoint + [ast.Return(value)]
        args = self.fn.args
        self.seed_name = seed_name
        if seed_name is not None:
            args.kwonlyargs.append(ast.arg(seed_name))
            args.kw_defaults.append(None)
        name = self.namer.fresh(("value_and_grad_" if self.return_value else "grad_") + self.fn.name)
        from s2sgrad.frontend.normalise import function_def

        out = function_def(name, args, new_body, self.fn.lineno)
        out.small_values = list(self.shape_names)
        return out  # compiled from its source text: no locations needed

    def float_guard_params(self, body, result):
        """Parameters whose being Python floats proves the result is a float.

        Returns () unless the body is straight-line code without side
        effects (where the check's primal statements can move into the
        guard) and assuming those parameters are 0-d proves the result 0-d.
        """
        if not isinstance(result, ast.Name):
            return ()
        for s in _walk_statements(body):
            if not isinstance(s, (ast.Assign, ast.If, ast.Pass)):
                return ()
        params = [a.arg for a in self.fn.args.posonlyargs + self.fn.args.args +
                  self.fn.args.kwonlyargs]
        scalars = tuple(p for p in params if self.shapes.of(p) == 0)
        if not scalars:
            return ()
        proof = ShapeClasses(self.context.resolve).analyse(
            self.fn, result_is_scalar=False, scalar_params=scalars)
        return scalars if proof.of(result.id) == 0 else ()

    def float_guard(self, params, body):
        """``if not (a.__class__ is b.__class__ is float): body``."""
        float_name = self.context.env_name(builtins.float, "float")
        classes = [ast.Attribute(ast.Name(p, ast.Load()), "__class__", ast.Load()) for p in params]
        test = ast.Compare(classes[0], [ast.Is()] * len(params),
                           classes[1:] + [ast.Name(float_name, ast.Load())])
        guard = ast.If(ast.UnaryOp(ast.Not(), test), body, [])
        guard.sink_target = True
        return guard

    def argument_checks(self, skip=(), only=None):
        """``require_float`` for each wrt argument that is not a Python float."""
        checks = []
        for name in self.wrt if self.checks else ():
            if name in skip or (only is not None and name not in only):
                continue
            test = ast.Compare(
                ast.Attribute(ast.Name(name, ast.Load()), "__class__", ast.Load()),
                [ast.IsNot()], [ast.Name("float", ast.Load())])
            call = self.helper_call("require_float", [
                ast.Name(name, ast.Load()), ast.Constant(name), ast.Constant(self.fn.name)])
            checks.append(ast.If(test, [ast.Expr(call)], []))
        return checks

    def final_gradient(self, name, adj):
        state = adj.get(name)
        if state is None:
            return self.helper_call("zeros_like", [ast.Name(name, ast.Load())])
        if state.like is not None:
            return self.helper_call("full_like", [state.like, state.expr])
        if any(isinstance(n, ast.Name) and n.id in self.zero_filled for n in ast.walk(state.expr)):
            return self.helper_call("as_gradient", [state.expr, ast.Name(name, ast.Load())])
        return state.expr

    # ------------------------------------------------------------- activity
    def activity(self, body, active):
        """Names whose value depends differentiably on a wrt argument."""
        active = set(active)
        changed = True
        while changed:  # fixpoint: loops may feed values back
            changed = False
            for s in _walk_statements(body):
                if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
                    target = s.targets[0].id
                    if target not in active and self.carries_derivative(s.value, active):
                        active.add(target)
                        changed = True
                elif isinstance(s, ast.Assign):  # x[i] = v: x carries v's derivative
                    base = s.targets[0].value.id
                    if base not in active and isinstance(s.value, ast.Name) and s.value.id in active:
                        active.add(base)
                        changed = True
        return active

    def carries_derivative(self, rhs, active):
        reads = ({n.id for n in ast.walk(rhs) if isinstance(n, ast.Name)}
                 | self.closure_reads(rhs)) & active
        if not reads:
            return False
        if isinstance(rhs, ast.Compare):
            return False
        if isinstance(rhs, ast.Attribute):
            return rhs.attr not in METADATA_ATTRS
        if isinstance(rhs, ast.UnaryOp) and isinstance(rhs.op, (ast.Not, ast.Invert)):
            return False
        if isinstance(rhs, ast.BinOp):
            return BINOPS.get(type(rhs.op)) not in (operator.floordiv, operator.mod)
        if isinstance(rhs, ast.Call):
            func = self.context.resolve(rhs.func)
            return not (registry.is_nondifferentiable(func) or _is_stop_gradient(func))
        return True

    def sequence_names(self, body):
        """Names that may hold tuples/lists, whose cotangents are lists.

        Displays ``(a, b)`` and results of the user's own functions (which
        may return tuples) accumulate cotangents with ``add_cotangents``.
        """
        names = set()
        for s in _walk_statements(body):
            if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
                rhs = s.value
                if isinstance(rhs, (ast.Tuple, ast.List)):
                    names.add(s.targets[0].id)
                elif isinstance(rhs, ast.Call):
                    func = self.context.resolve(rhs.func)
                    local = isinstance(rhs.func, ast.Name) and rhs.func.id in self.context.local_functions
                    if local or (inspect.isfunction(func) and registry.lookup(func) is None):
                        names.add(s.targets[0].id)
        copies = [(s.targets[0].id, s.value.id) for s in _walk_statements(body)
                  if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
                  and isinstance(s.value, ast.Name)]
        changed = True
        while changed:  # a copy of a sequence is a sequence
            changed = False
            for target, source in copies:
                if source in names and target not in names:
                    names.add(target)
                    changed = True
        return names

    def closure_reads(self, rhs):
        """Names a call to a nested def reads from the enclosing function."""
        if isinstance(rhs, ast.Call) and isinstance(rhs.func, ast.Name) \
                and rhs.func.id in self.context.local_functions:
            node = self.context.local_functions[rhs.func.id]
            return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        return set()

    # -------------------------------------------------------------- adjoint
    def adjoint_block(self, stmts, adj, in_loop=False):
        out = []
        line = None
        for s in reversed(stmts):
            emitted = self.adjoint_statement(s, adj, in_loop)
            if in_loop and isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
                # adjoints read through aliases of the old value keep it
                restored = s.targets[0].id
                emitted = emitted + self.free_aliases_of(restored, adj, None) + \
                    [self.restore(restored)]
            if emitted:
                text = self.context.source_line(s)
                if text and text != line:
                    out.append(comment("grad of: " + text))
                    line = text
                out.extend(emitted)
        return out

    def adjoint_statement(self, s, adj, in_loop=False):
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            target = s.targets[0].id
            state = adj.pop(target, None)
            if state is None or target not in self.active:
                return []
            return self.adjoint_assign(s, target, state, adj)
        if isinstance(s, ast.Assign):
            return self.adjoint_write(s, adj)
        if isinstance(s, ast.If):
            return self.adjoint_if(s, adj, in_loop)
        if isinstance(s, (ast.For, ast.While)):
            return self.adjoint_loop(s, adj)
        if isinstance(s, (ast.Expr, ast.Assert, ast.Pass, ast.Break, ast.Continue, ast.FunctionDef)):
            return []
        raise self.error(f"{type(s).__name__} statement", s)

    # -------------------------------------------------------- array writes
    def adjoint_write(self, s, adj):
        """Adjoint of ``x[i] = v``: the slot's cotangent goes to ``v`` and
        is cleared (the overwritten value never reached the result); then
        the slot gets its old value back for the adjoints before it."""
        target = s.targets[0]
        base = target.value.id
        value = s.value
        out = []
        state = adj.get(base)
        if state is not None and base in self.active:
            cotangent = self.materialise(state)
            index = _index_expression(target.slice, self)
            if isinstance(value, ast.Name) and value.id in self.active:
                slot = self.helper_call("slot_of", [copy.deepcopy(cotangent), copy.deepcopy(index)])
                out += self.accumulate(value.id, self.helper_call("unbroadcast", [slot, value]), adj)
                state = adj.get(base)
                cotangent = self.materialise(state)
            var = self.adjoint_name(base)
            cleared = self.helper_call("zero_slot", [cotangent, index])
            out += self.free_aliases_of(var, adj, base, cleared)
            out.append(_assign(var, cleared))
            adj[base] = Adjoint(ast.Name(var, ast.Load()), False)
            self.owned.discard(var)
        saved = getattr(s, "saved", None)
        if saved is not None:
            out += self.free_aliases_of(base, adj, None, copy_arrays=True)  # keep what they saw
            out.append(ast.Assign([ast.Subscript(ast.Name(base, ast.Load()), copy.deepcopy(target.slice),
                                                 ast.Store())], ast.Name(saved, ast.Load())))
        return out

    def check_writes(self, body):
        """Refuse array writes that other names could observe.

        ``x[i] = v`` is differentiated when ``x`` is an argument or an array
        the function allocated, and no other name shares it (a copy ``y =
        x``, a tuple holding it, a call receiving it): otherwise the write
        would change values whose adjoints are tracked under other names.
        """
        from s2sgrad.rules import registry as _registry  # noqa: F401

        written = {}
        for st in _walk_statements(body):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Subscript):
                written.setdefault(st.targets[0].value.id, st)
        if not written:
            return
        params = {a.arg for a in self.fn.args.posonlyargs + self.fn.args.args + self.fn.args.kwonlyargs}
        allocators = {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
                      "full_like", "copy", "array", "eye", "identity"}
        order = list(_walk_statements(body))
        joins = {}  # name -> sources of the copies merging if arms into it
        for st in order:
            if getattr(st, "join", False):
                joins.setdefault(st.targets[0].id, []).append(st.value.id)
        todo = list(written)
        while todo:  # writing into a merged name writes into what was merged
            for source in joins.get(todo.pop(), ()):
                if source not in written:
                    written[source] = written.get(source) or order[0]
                    todo.append(source)
        last_write = {}
        for k, st in enumerate(order):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Subscript):
                last_write[st.targets[0].value.id] = k
        for k, st in enumerate(order):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                target, rhs = st.targets[0].id, st.value
                if getattr(st, "join", False):
                    continue  # checked through its source, just above
                if target in written and target not in params:
                    func = self.context.resolve(rhs.func) if isinstance(rhs, ast.Call) else None
                    fresh = isinstance(rhs, ast.BinOp) or (
                        isinstance(rhs, ast.UnaryOp) and isinstance(rhs.op, ast.USub))
                    rule = registry.lookup(func) if func is not None else None
                    fresh = fresh or (rule is not None and rule.elementwise)
                    if not fresh and not (getattr(func, "__name__", None) in allocators and
                                          getattr(func, "__module__", "").startswith("numpy")):
                        user = self.context.user_names.get(target, target)
                        raise self.error(
                            f"assignment into {user!r}, which may share memory with other values",
                            written[target], f"assign into a copy: {user} = np.copy(...)")
                shared = []
                if isinstance(rhs, ast.Name):
                    shared = [rhs.id]
                elif isinstance(rhs, (ast.Tuple, ast.List)):
                    shared = [e.id for e in rhs.elts if isinstance(e, ast.Name)]
                elif isinstance(rhs, ast.Call) and _is_user_function(self, rhs):
                    # the callee may return its argument (or a view): checked
                    # when it runs, since usually it does not
                    for a in rhs.args:
                        if isinstance(a, ast.Name) and a.id in written and \
                                k < last_write.get(a.id, len(order)):
                            self.guards.append((st, a.id, written[a.id]))
                for name in shared:
                    if name in written and k < last_write.get(name, len(order)):
                        user = self.context.user_names.get(name, name)
                        raise self.error(
                            f"assignment into {user!r} while another name shares it", written[name],
                            f"copy it first: np.copy({user})")

    # ---------------------------------------------------------------- loops
    def restore(self, name):
        """Marker: pop ``name``'s value saved before its assignment (kept
        only if the adjoint reads ``name``; see ``place_saves``)."""
        marker = _assign(name, ast.Call(
            ast.Attribute(ast.Name(self.stack_name(), ast.Load()), "pop", ast.Load()), [], []))
        marker.restores = name
        return marker

    def stack_name(self):
        if self._stack is None:
            self._stack = self.namer.fresh("stack")
        return self._stack

    def adjoint_loop(self, s, adj):
        """Replay the loop backwards; adjoints that cross iterations are variables.

        Names whose adjoint lives across iterations (read in the body, or
        user variables assigned in it) become variables before the loop
        (zero where nothing flowed yet); inside, the body's adjoint runs
        in reverse with the straight-line machinery, and each iteration ends
        by writing those variables back.
        """
        crossing = sorted(self.loop_names(s.body))
        before = []
        for name in crossing:
            var = self.adjoint_name(name)
            state = adj.get(name)
            before += self.free_aliases_of(var, adj, name)
            if state is None:
                zero = self.helper_call("zeros_like", [ast.Name(name, ast.Load())]) \
                    if name in self.wrt else ast.Constant(0.0)
                self.note_ownership(name, var, zero)
                if name not in self.wrt:
                    self.zero_filled.add(var)
                before.append(_assign(var, zero))
            elif not (isinstance(state.expr, ast.Name) and state.expr.id == var and state.like is None):
                value = self.materialise(state)
                if name in self.wrt and name not in self.reassigned:
                    # accumulated in place below: start from our own copy
                    value = self.helper_call("owned_copy", [value])
                    self.owned.add(var)
                before.append(_assign(var, value))
            elif name in self.wrt and var not in self.owned and name not in self.reassigned:
                before.append(_assign(var, self.helper_call("owned_copy", [state.expr])))
                self.owned.add(var)
            adj[name] = Adjoint(ast.Name(var, ast.Load()), False)
        assigned = {n.targets[0].id for n in _walk_statements(s.body)
                    if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}
        for name in crossing:
            if name in assigned or name not in self.wrt:
                self.zero_filled.add(self.adjoint_name(name))
        inner = dict(adj)
        body = self.adjoint_block(s.body, inner, in_loop=True)
        writes = []
        for name in crossing:
            var = self.adjoint_name(name)
            state = inner.get(name)
            if state is None:
                writes.append((var, ast.Constant(0.0)))
                self.zero_filled.add(var)
            elif not (isinstance(state.expr, ast.Name) and state.expr.id == var and state.like is None):
                writes.append((var, self.materialise(state)))
        body += _simultaneous(writes)
        info = self.loops[id(s)] = {"counter": None}
        if isinstance(s, ast.While) or _breaks(s.body):
            info["counter"] = self.namer.fresh("trips")
        counter = ast.Name(info["counter"], ast.Load()) if info["counter"] else None
        if isinstance(s, ast.For):
            target = s.target
            seq = s.iter
            if counter is not None:
                seq = ast.Subscript(seq, ast.Slice(None, counter, None), ast.Load())
            reverse_iter = ast.Call(ast.Name(self.context.env_name(builtins.reversed, "reversed"),
                                             ast.Load()), [seq], [])
        else:
            target = ast.Name("_", ast.Store())
            reverse_iter = ast.Call(ast.Name(self.context.env_name(builtins.range, "range"),
                                             ast.Load()), [counter], [])
        loop = ast.For(target, reverse_iter, body or [ast.Pass()], [])
        loop.lineno = s.lineno
        info["nested"] = self.loop_depth_of.get(id(s), 0) > 0
        info["primal"], info["adjoint"] = s, loop
        restore_counter = []
        if counter is not None and info["nested"]:
            restore_counter = [self.restore(info["counter"])]
            restore_counter[0].counter = True
        return before + restore_counter + [loop]

    def loop_names(self, body):
        """Active names whose adjoint lives across iterations of ``body``."""
        names, local_temps = set(), set()
        for stmt in _walk_statements(body):
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                target = stmt.targets[0].id
                if target in self.active:
                    (local_temps if target in self.context.temporaries else names).add(target)
                names |= {n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name)} & self.active
            elif isinstance(stmt, ast.Assign):  # x[i] = v: x's and v's adjoints
                names |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)} & self.active
        return names - local_temps

    def adjoint_if(self, s, adj, in_loop=False):
        adj_body, adj_else = dict(adj), dict(adj)
        owned = set(self.owned)
        body = self.adjoint_block(s.body, adj_body, in_loop)
        owned_body, self.owned = self.owned, set(owned)
        orelse = self.adjoint_block(s.orelse, adj_else, in_loop)
        self.owned &= owned_body  # owned after the if only if owned on both paths
        adj.clear()
        writes = {id(body): [], id(orelse): []}
        for name in sorted(set(adj_body) | set(adj_else)):
            a, b = adj_body.get(name), adj_else.get(name)
            if a is not None and b is not None and _same_state(a, b):
                adj[name] = a
                continue
            var = self.adjoint_name(name)
            for block, state in ((body, a), (orelse, b)):
                value = ast.Constant(0.0) if state is None else self.materialise(state)
                if state is None:
                    self.zero_filled.add(var)
                if not (isinstance(value, ast.Name) and value.id == var):
                    self.owned.discard(var)
                    writes[id(block)].append((var, value))
            adj[name] = Adjoint(ast.Name(var, ast.Load()), False)
        body += _simultaneous(writes[id(body)])
        orelse += _simultaneous(writes[id(orelse)])
        if not body and not orelse:
            return []
        return [ast.If(s.test, body or [ast.Pass()], orelse)]

    # ---------------------------------------------------- primal with saves
    def place_saves(self, primal, adjoint):
        """Insert the pushes the adjoint's pops need; drop unneeded pops.

        A name assigned inside a loop is saved (pushed before being
        overwritten) only when the adjoint reads it: per iteration the
        stack holds exactly the overwritten values the adjoint uses, plus
        trip counts of loops that can stop early and are nested.
        """
        for info in self.loops.values():
            self.rematerialise(info["primal"], info["adjoint"])
        for info in self.loops.values():
            self.save_shapes_only(info["primal"].body, info["primal"], adjoint)
        if not self.loops:
            self.save_shapes_only(primal, self.fn, adjoint)
        reads = set()
        for stmt in adjoint:
            for n in ast.walk(stmt):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                    reads.add(n.id)
        saved = set()
        adjoint = _filter_restores(adjoint, reads, saved)
        primal = self.primal_block(primal, saved, depth=0)
        if saved or self.loop_shapes:
            # a loop saves a name's previous value before assigning it; give
            # names first assigned inside loops a value to save
            params = {a.arg for a in self.fn.args.posonlyargs + self.fn.args.args +
                      self.fn.args.kwonlyargs}
            in_loops = []
            for loop in _loops(primal):
                in_loops += [n.targets[0].id for n in _walk_statements(loop.body)
                             if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)]
            first = [_assign(name, ast.Constant(None)) for name in dict.fromkeys(in_loops)
                     if (name in saved or name in self.loop_shapes) and name not in params]
            stack = [_assign(self.stack_name(), ast.List([], ast.Load()))] if saved else []
            primal[:0] = stack + first
        return primal, adjoint

    def rematerialise(self, primal_loop, adjoint_loop):
        """Recompute cheap per-iteration values in the adjoint instead of saving them.

        ``x[t]`` (a view) and ``math.sin(s)`` (a float) cost less to redo
        than to push and pop; the value is recomputed just before the first
        adjoint statement reading it, provided none of its inputs is
        restored to another value before the last such read.
        """
        counts = {}  # over the whole function: a name saved for another
        for n in ast.walk(self.fn):  # assignment keeps its pushes and pops
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                counts[n.id] = counts.get(n.id, 0) + 1
        body = adjoint_loop.body
        primal = primal_loop.body
        recomputed = set()
        for position, stmt in enumerate(primal):
            if not (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)):
                continue
            name, rhs = stmt.targets[0].id, stmt.value
            if counts.get(name) != 1 or not self.cheap_to_recompute(rhs):
                continue
            inputs = {n.id for n in ast.walk(rhs) if isinstance(n, ast.Name)}
            if inputs & recomputed or not _recomputable_at_readers(primal, position, name, inputs):
                continue
            readers = [k for k, st in enumerate(body) if getattr(st, "restores", None) != name
                       and any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                               for n in ast.walk(st))]
            if not readers:
                continue
            first, last = readers[0], readers[-1]
            if any(getattr(body[k], "restores", None) in inputs for k in range(first, last + 1)):
                continue
            body[:] = [st for st in body if getattr(st, "restores", None) != name]
            first = next(k for k, st in enumerate(body) if any(
                isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                for n in ast.walk(st)))
            body.insert(first, _assign(name, copy.deepcopy(rhs)))
            recomputed.add(name)

    def save_shapes_only(self, body, scope, adjoint):
        """Keep ``np.shape(v)`` instead of ``v`` when the adjoint needs only
        the shape (``unbroadcast(g, v)``).

        In a loop, per iteration a small tuple is saved instead of an array
        kept alive. ``scope`` is the loop in which ``v`` must be assigned
        exactly once.
        """
        # (repeat_to also takes the dtype of what it spreads over: not shape-only)
        by_shape = {self.runtime.unbroadcast: self.runtime.unbroadcast_to}
        uses = {}  # name -> [calls using it as the shape argument], or None
        for stmt in adjoint:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Call) and len(node.args) >= 2 and \
                        isinstance(node.args[1], ast.Name) and \
                        self.context.resolve(node.func) in by_shape:
                    like = node.args[1].id
                    if uses.get(like, []) is not None:
                        uses.setdefault(like, []).append(node)
        for stmt in adjoint:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in uses:
                    if not any(node is call.args[1] for call in uses[node.id] or ()):
                        uses[node.id] = None  # read for its value too
        replaced = []
        stores = None
        for position in range(len(body) - 1, -1, -1):
            stmt = body[position]
            if not (isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name)):
                continue
            name = stmt.targets[0].id
            calls = uses.get(name)
            if not calls:
                continue
            if stores is None:
                stores = (_store_counts(scope), _store_counts(self.fn))
            if stores[0].get(name) != 1 or stores[1].get(name) != 1:
                continue  # assigned elsewhere too: its shape may differ there
            shape_name = self.namer.fresh(name.lstrip("_") + "_shape")
            self.shape_names.append(shape_name)
            if scope is self.fn:
                numpy = self.context.env_name(np, "np")
                shape = ast.Call(ast.Attribute(ast.Name(numpy, ast.Load()), "shape", ast.Load()),
                                 [ast.Name(name, ast.Load())], [])
            else:  # in a loop: one tuple object while the shape stays the same
                shape = self.helper_call("same_shape", [ast.Name(name, ast.Load()),
                                                         ast.Name(shape_name, ast.Load())])
                self.loop_shapes.append(shape_name)
            body.insert(position + 1, _assign(shape_name, shape))
            for call in calls:
                helper = by_shape[self.context.resolve(call.func)]
                call.func = ast.Name(self.context.env_name(helper, helper.__name__), ast.Load())
                call.args[1] = ast.Name(shape_name, ast.Load())
            for marker in _walk_all(adjoint):
                if getattr(marker, "restores", None) == name:
                    marker.targets[0].id = shape_name
                    marker.restores = shape_name
            replaced.append(name)
        return replaced

    def cheap_to_recompute(self, rhs):
        atoms = (ast.Name, ast.Constant)
        if isinstance(rhs, ast.Subscript) and isinstance(rhs.value, ast.Name):
            index = rhs.slice.elts if isinstance(rhs.slice, ast.Tuple) else [rhs.slice]
            return all(isinstance(i, atoms) for i in index)
        if isinstance(rhs, ast.Call) and all(isinstance(a, atoms) for a in rhs.args) \
                and not rhs.keywords:
            return getattr(self.context.resolve(rhs.func), "__module__", None) == "math"
        return False

    def primal_block(self, stmts, saved, depth):
        out = []
        for s in stmts:
            if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name) and depth \
                    and s.targets[0].id in saved:
                out.append(self.push(s.targets[0].id))
                out.append(s)
            elif isinstance(s, ast.If):
                s.body = self.primal_block(s.body, saved, depth)
                s.orelse = self.primal_block(s.orelse, saved, depth)
                out.append(s)
            elif isinstance(s, (ast.For, ast.While)):
                info = self.loops.get(id(s), {"counter": None, "nested": False})
                body = self.primal_block(s.body, saved, depth + 1)
                counter = info["counter"]
                if counter:
                    out.append(_assign(counter, ast.Constant(0)))
                    body.insert(0, _assign(counter, ast.BinOp(
                        ast.Name(counter, ast.Load()), ast.Add(), ast.Constant(1))))
                s.body = body
                out.append(s)
                if counter and depth and counter in saved:
                    out.append(self.push(counter))
            else:
                out.append(s)
        return out

    def push(self, name):
        return ast.Expr(ast.Call(
            ast.Attribute(ast.Name(self.stack_name(), ast.Load()), "append", ast.Load()),
            [ast.Name(name, ast.Load())], []))

    def initial_values(self, loop, saved, block):
        """``name = None`` for saved names a loop may push before defining."""
        params = {a.arg for a in self.fn.args.posonlyargs + self.fn.args.args +
                  self.fn.args.kwonlyargs}
        defined = set(params)
        for stmt in block:
            if stmt is loop:
                break
            for n in ast.walk(stmt):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                    defined.add(n.id)
        inside = [n.targets[0].id for n in _walk_statements(loop.body)
                  if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)]
        return [_assign(name, ast.Constant(None))
                for name in dict.fromkeys(inside) if name in saved and name not in defined]

    def adjoint_assign(self, s, target, g, adj):
        rhs = s.value
        contributions = []  # (primal name, expression)
        prologue = []
        if g.is_alias and not isinstance(rhs, ast.Name):
            # The contributions may reassign the variable g aliases (x = x * c
            # in a loop): read g through a name of its own first.
            written = {self.adjoint_names.get(n.id) for n in ast.walk(rhs)
                       if isinstance(n, ast.Name) and n.id in self.active}
            if any(isinstance(n, ast.Name) and n.id in written for n in ast.walk(g.expr)):
                own = self.namer.fresh(self.adjoint_name(target))  # nothing else reads it
                self.primal_of[own] = target
                prologue = [_assign(own, g.expr)]
                g = Adjoint(ast.Name(own, ast.Load()), False, g.like)
        if isinstance(rhs, ast.Name):
            if rhs.id in self.active:
                return self.accumulate_state(rhs.id, Adjoint(g.expr, True, g.like), adj)
        elif isinstance(rhs, ast.Constant):
            pass
        elif isinstance(rhs, ast.Attribute):
            if rhs.attr not in METADATA_ATTRS:
                raise self.error(f"attribute .{rhs.attr} of a differentiated value", s)
        elif isinstance(rhs, ast.BinOp):
            primitive = BINOPS.get(type(rhs.op))
            contributions = self.apply_rule(primitive, [rhs.left, rhs.right], {}, g, target, s)
        elif isinstance(rhs, ast.UnaryOp):
            primitive = UNARYOPS.get(type(rhs.op))
            if primitive is not None:
                contributions = self.apply_rule(primitive, [rhs.operand], {}, g, target, s)
        elif isinstance(rhs, ast.Call):
            contributions = self.adjoint_call(rhs, g, target, s)
        elif isinstance(rhs, ast.Subscript):
            index = _index_expression(rhs.slice, self)
            contributions = self.apply_rule(operator.getitem, [rhs.value, index], {}, g, target, s)
        elif isinstance(rhs, (ast.Tuple, ast.List)):
            seq = self.materialise(g)
            for k, element in enumerate(rhs.elts):
                if isinstance(element, ast.Name) and element.id in self.active:
                    item = ast.Subscript(seq, ast.Constant(k), ast.Load())
                    contributions.append((element.id, self.helper_call("cotangent_or_zero", [item])))
        else:
            raise self.error(f"{type(rhs).__name__} expression", s)
        statements = list(prologue)
        for name, expr in contributions:
            statements.extend(self.accumulate(name, expr, adj))
        return statements

    def adjoint_call(self, call, g, target, s):
        func = self.context.resolve(call.func)
        if registry.is_nondifferentiable(func) or _is_stop_gradient(func):
            return []
        keywords = {k.arg: k.value for k in call.keywords}
        local = isinstance(call.func, ast.Name) and call.func.id in self.context.local_functions
        if local or (registry.lookup(func) is None and inspect.isfunction(func)):
            return self.adjoint_user_call(call, func, g, target, s)
        return self.apply_rule(func, call.args, keywords, g, target, s)

    def adjoint_user_call(self, call, func, g, target, s):
        """A call to the user's own function: its generated VJP, at run time.

        The callee is differentiated once (cached by its code) with respect
        to the parameters that receive active values; ``call_vjp`` finds or
        builds that VJP and runs it with the call's own arguments.
        """
        if isinstance(call.func, ast.Name) and call.func.id in self.context.local_functions:
            node = self.context.local_functions[call.func.id]
            params = [a.arg for a in node.args.posonlyargs + node.args.args]
            varargs = node.args.vararg is not None
            own = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)} | {
                n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
            captured = sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
                              & self.active - own)
            if captured:
                raise self.error(
                    f"nested def {node.name!r} reading differentiated variable {captured[0]!r} "
                    "from the enclosing function", s, f"pass {captured[0]} as an argument")
        else:
            code = func.__code__
            params = list(code.co_varnames[: code.co_argcount])
            varargs = bool(code.co_flags & inspect.CO_VARARGS)
        if varargs or len(call.args) > len(params):
            raise self.error(f"call to {_describe(func)} with variable arguments", s)
        bound = dict(zip(params, call.args))
        bound.update({k.arg: k.value for k in call.keywords})
        wrt = [(p, v.id) for p, v in bound.items()
               if isinstance(v, ast.Name) and v.id in self.active]
        if not wrt:
            return []
        seed = self.materialise(g)
        helper = self.helper_call("call_vjp", [
            call.func, ast.Tuple([ast.Constant(p) for p, _ in wrt], ast.Load()), seed,
            *call.args])
        helper.keywords = [ast.keyword(k.arg, k.value) for k in call.keywords]
        grads = self.namer.fresh("d" + target + "_args")
        result = [(None, [_assign(grads, helper)])]
        for i, (_, name) in enumerate(wrt):
            result.append((name, ast.Subscript(ast.Name(grads, ast.Load()), ast.Constant(i),
                                               ast.Load())))
        return result


    def apply_rule(self, primitive, args, keywords, g, target, s):
        """Inline ``primitive``'s rule; returns [(active name, gradient)].

        Local assignments of the rule come first, as ``(None, statements)``.
        """
        given = list(args) + list(keywords.values())
        active = [a for a in given if isinstance(a, ast.Name) and a.id in self.active]
        if not active:
            return []
        rule = registry.lookup(primitive)
        if rule is None:
            raise self.error(
                f"call to {_describe(primitive)} (no derivative rule)", s,
                "register one with sg.defgrad or wrap the argument in sg.stop_gradient",
            )
        try:
            template = template_for(rule)
        except S2SGradError:
            return self.call_rule(rule, args, keywords, active, g, target, s)
        try:
            bound = template.bind(args, keywords)
        except TypeError as exc:
            raise self.error(f"call to {_describe(primitive)} with these arguments", s, str(exc))
        wanted = {}  # parameter index -> the active argument bound to it
        values = {"ans": ast.Name(target, ast.Load())}
        for i, param in enumerate(template.params):
            value = bound[param]
            if isinstance(value, ast.AST):
                values[param] = value
                if any(value is a for a in active):
                    wanted[i] = value.id
            else:
                values[param] = self.context.literal(value)
        for name in template.free:
            values[name] = ast.Name(
                self.context.env_name(template.free_object(name), name), ast.Load())
        if g.like is None:
            return self.instantiate(template, values, g.expr, wanted)
        # A folded seed: elementwise rules may use the scalar for arguments
        # shaped like the seed; everything else needs the broadcast array.
        folded, spread = {}, {}
        for i, name in wanted.items():
            same = self.shapes.of(name) is not None and self.shapes.of(name) == self.shapes.of(g.like.id)
            (folded if rule.elementwise and same else spread)[i] = name
        result = []
        if folded:
            result += self.instantiate(template, values, g.expr, folded, fold_like=g.like)
        if spread:
            result += self.instantiate(template, values, self.materialise(g), spread)
        return result

    def call_rule(self, rule, args, keywords, active, g, target, s):
        """A rule that is not a straight-line template (a user's ``defgrad``
        with branches, say) is called as a function and its tuple indexed."""
        try:
            bound = inspect.signature(rule.vjp).bind(None, None, *args, **keywords)
        except TypeError as exc:
            raise self.error(f"call to {_describe(rule.primitive)} with these arguments", s,
                             str(exc))
        params = list(bound.arguments)[2:]
        name = self.context.env_name(rule.vjp, getattr(rule.vjp, "__name__", "vjp"))
        call = ast.Call(ast.Name(name, ast.Load()),
                        [self.materialise(g), ast.Name(target, ast.Load()), *args],
                        [ast.keyword(k, v) for k, v in keywords.items()])
        grads = self.namer.fresh("d" + target + "_args")
        result = [(None, [_assign(grads, call)])]
        for i, param in enumerate(params):
            value = bound.arguments[param]
            if any(value is a for a in active):
                item = ast.Subscript(ast.Name(grads, ast.Load()), ast.Constant(i), ast.Load())
                result.append((value.id, self.helper_call("cotangent_or_zero", [item])))
        return result

    def instantiate(self, template, values, g, wanted, fold_like=None):
        values = dict(values, g=g)
        for name in template.locals:
            values[name] = ast.Name(self.namer.fresh("_" + name.strip("_")), ast.Load())
        statements, exprs = template.instantiate(values, sorted(wanted))
        result = [(None, statements)] if statements else []
        for i, name in sorted(wanted.items()):
            if i in exprs:
                expr = exprs[i]
                if "unbroadcast" in template.free:
                    expr = self.drop_unbroadcast(expr)
                if template.queries_shapes:
                    expr = self.fold_known_shapes(expr)
                expr = simplify.expression(expr, self.context)
                if fold_like is not None:
                    expr = self.keep_folded(expr, name)
                result.append((name, expr))
        return result

    def keep_folded(self, expr, name):
        """A scalar gradient for an argument shaped like a folded seed.

        With the seed folded to a scalar, a rule may produce a scalar for an
        array argument (``g * 2.0`` -> ``2.0``); say so with ``repeat_to``
        (a folded alias again) instead of computing the broadcast.
        """
        if isinstance(expr, ast.Call) and self.context.resolve(expr.func) is self.runtime.unbroadcast:
            inner = expr.args[0]
        else:
            inner = expr
        if self.shapes.expression_class(inner, self.name_class) == 0 and self.shapes.of(name) != 0:
            return self.helper_call("repeat_to", [inner, ast.Name(name, ast.Load())])
        return expr

    def materialise(self, state):
        """The array value of a folded-seed adjoint."""
        if state.like is None:
            return state.expr
        return self.helper_call("repeat_to", [state.expr, state.like])

    def name_class(self, name):
        primal = self.primal_of.get(name, name)
        return self.shapes.of(primal)

    def fold_known_shapes(self, expr):
        """``np.size(v)``, ``np.shape(v)``, ``np.ndim(v)`` as constants where
        the shape of ``v`` is known: 0-d values, and every value of a program
        recorded by the tape."""
        shapes = dict(self.known_shapes or {})
        mode = self

        class Fold(ast.NodeTransformer):
            def visit_Call(self, node):
                self.generic_visit(node)
                if len(node.args) == 1 and not node.keywords and isinstance(node.args[0], ast.Name) \
                        and (node.args[0].id in shapes or mode.shapes.of(node.args[0].id) == 0):
                    shape = shapes.get(node.args[0].id, ())
                    func = mode.context.resolve(node.func)
                    if func is np.size:
                        return ast.Constant(int(np.prod(shape, dtype=np.int64)))
                    if func is np.ndim:
                        return ast.Constant(len(shape))
                    if func is np.shape:
                        return ast.Tuple([ast.Constant(int(n)) for n in shape], ast.Load())
                return node

        return Fold().visit(expr)

    def drop_unbroadcast(self, expr):
        """Remove ``unbroadcast(e, x)`` where ``e`` provably has x's shape."""
        from s2sgrad import runtime

        mode = self

        class Drop(ast.NodeTransformer):
            def visit_Call(self, node):
                self.generic_visit(node)
                if len(node.args) == 2 and not node.keywords and \
                        mode.context.resolve(node.func) is runtime.unbroadcast:
                    e, like = node.args
                    c = mode.shapes.expression_class(simplify.expression(e), mode.name_class)
                    if c is not None and c == mode.shapes.expression_class(like, mode.name_class):
                        return e
                return node

        return Drop().visit(expr)

    def accumulate(self, name, expr, adj):
        if name is None:
            return list(expr)
        runtime = self.runtime
        if isinstance(expr, ast.Call) and self.context.resolve(expr.func) is runtime.repeat_to \
                and _cheap_scalar(expr.args[0]) and isinstance(expr.args[1], ast.Name) \
                and self.shapes.expression_class(expr.args[0], self.name_class) == 0 \
                and all(isinstance(a, ast.Constant) and a.value in (None, False) for a in expr.args[2:]) \
                and not expr.keywords:
            return self.accumulate_state(name, Adjoint(expr.args[0], True, expr.args[1]), adj)
        return self.accumulate_state(name, Adjoint(expr, _is_atom(expr)), adj)

    def accumulate_state(self, name, new, adj):
        """Add the adjoint contribution ``new`` (an Adjoint) to ``name``'s."""
        state = adj.get(name)
        if state is None:
            if new.is_alias:
                adj[name] = new
                return []
            var = self.adjoint_name(name)
            out = self.free_aliases_of(var, adj, name, new.expr)
            adj[name] = Adjoint(ast.Name(var, ast.Load()), False)
            self.note_ownership(name, var, new.expr)
            self.note_zero_fill(var, new.expr)
            return out + [_assign(var, new.expr)]
        var = self.adjoint_name(name)
        if var in self.owned and not state.is_alias and state.like is None and new.like is None \
                and name not in self.sequences and isinstance(state.expr, ast.Name) \
                and state.expr.id == var:
            # the gradient of an argument, held in an array only we own
            return [ast.AugAssign(ast.Name(var, ast.Store()), ast.Add(), new.expr)]
        left, right = state.expr, new.expr
        if new.like is not None and state.expr.id in self.zero_filled if isinstance(state.expr, ast.Name) else False:
            right = self.materialise(new)  # 0.0 placeholders do not carry the shape
        elif state.like is not None or new.like is not None:
            cls = self.shapes.expression_class(ast.BinOp(
                state.expr if state.like is None else state.like, ast.Add(),
                new.expr if new.like is None else new.like), self.name_class)
            if cls is None or cls != self.shapes.of(name):
                left, right = self.materialise(state), self.materialise(new)
        if name in self.sequences:
            total = self.helper_call("add_cotangents", [left, right])
        else:
            total = simplify.expression(ast.BinOp(left, ast.Add(), right), self.context)
        like = None
        if state.like is not None and new.like is not None and left is state.expr \
                and right is new.expr:
            like = state.like  # both folded seeds of one shape: the sum stays folded
            if _is_atom(total):
                adj[name] = Adjoint(total, True, like)
                return []
        out = self.free_aliases_of(var, adj, name, total)
        adj[name] = Adjoint(ast.Name(var, ast.Load()), False, like)
        self.note_ownership(name, var, total)
        self.note_zero_fill(var, total)
        return out + [_assign(var, total)]

    def note_zero_fill(self, var, value):
        """``var`` may hold a 0.0 placeholder if ``value`` reads one."""
        if any(isinstance(n, ast.Name) and n.id in self.zero_filled for n in ast.walk(value)):
            self.zero_filled.add(var)

    def note_ownership(self, name, var, value):
        """Track which argument gradients hold arrays nothing else references.

        Only adjoints of parameters the function never reassigns qualify (no
        statement consumes them or passes them on); their value is ours when it was just computed by
        an operator or allocated by ``zeros_like``/``full_like``. Those are
        then accumulated in place (``dW += ...``) instead of reallocated.
        """
        if name not in self.wrt or name in self.reassigned:
            return  # a reassigned argument's adjoint is consumed and redefined
        fresh = isinstance(value, (ast.BinOp, ast.UnaryOp)) or (
            isinstance(value, ast.Call) and self.context.resolve(value.func) in
            (self.runtime.zeros_like, self.runtime.full_like))
        (self.owned.add if fresh else self.owned.discard)(var)

    def free_aliases_of(self, var, adj, owner, pending=None, copy_arrays=False):
        """Copy out aliases of ``var`` before ``var`` is reassigned.

        ``d_t3`` may be an alias of ``dy``; once ``dy`` takes a new value the
        alias must keep the old one, so it becomes a variable of its own.
        """
        out = []
        for name, state in list(adj.items()):
            if name == owner or not state.is_alias:
                continue
            if any(isinstance(n, ast.Name) and n.id == var for n in ast.walk(state.expr)):
                own = self.adjoint_name(name)
                exprs = [other.expr for other in adj.values()] + ([pending] if pending else [])
                if own == var or any(isinstance(n, ast.Name) and n.id == own
                                     for e in exprs for n in ast.walk(e)):
                    # its own variable is still read through another alias
                    # (a swap): keep the value under a fresh name instead
                    own = self.namer.fresh(own)
                    self.primal_of[own] = name
                value = self.materialise(state)
                if copy_arrays and isinstance(value, ast.Name) and value.id == var:
                    value = self.helper_call("owned_copy", [value])  # var is written into
                out.append(_assign(own, value))
                adj[name] = Adjoint(ast.Name(own, ast.Load()), False)
        return out

    def adjoint_name(self, name):
        if name not in self.adjoint_names:
            self.adjoint_names[name] = self.namer.fresh("d" + name)
            self.primal_of[self.adjoint_names[name]] = name
        return self.adjoint_names[name]

    # -------------------------------------------------------------- helpers
    def helper_call(self, helper, args):
        from s2sgrad import runtime

        name = self.context.env_name(getattr(runtime, helper), helper)
        return ast.Call(ast.Name(name, ast.Load()), list(args), [])

    def error(self, construct, node, hint=None):
        return UnsupportedSyntaxError(
            construct, self.context.filename, getattr(node, "lineno", None), "differentiate", hint
        )


def _is_user_function(mode, call):
    func = mode.context.resolve(call.func)
    local = isinstance(call.func, ast.Name) and call.func.id in mode.context.local_functions
    return local or (inspect.isfunction(func) and registry.lookup(func) is None)


def _recomputable_at_readers(body, position, name, inputs):
    """Whether ``name = <rhs of body[position]>`` may be recomputed where
    the adjoint first reads it: every read of ``name`` in the loop body
    comes after its definition (none reads the previous iteration's value),
    and no statement from the definition up to the last reader (inclusive:
    the adjoint runs before that statement is undone) assigns an input."""
    def reads(stmt):
        return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                   for n in ast.walk(stmt))

    if any(reads(st) for st in body[:position + 1]):
        return False
    readers = [k for k in range(position + 1, len(body)) if reads(body[k])]
    if not readers:
        return True
    for st in body[position + 1:readers[-1] + 1]:
        for n in ast.walk(st):
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load) and n.id in inputs:
                return False
            if isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store) and \
                    isinstance(n.value, ast.Name) and n.value.id in inputs:
                return False
    return True


def _simultaneous(writes):
    """Assignments ``var = value`` acting at once: when a value reads a
    variable assigned before it in the list (adjoints of ``x, y = y, x``),
    one tuple assignment instead of a sequence."""
    assigned = set()
    for var, value in writes:
        if any(isinstance(n, ast.Name) and n.id in assigned for n in ast.walk(value)):
            targets = ast.Tuple([ast.Name(v, ast.Store()) for v, _ in writes], ast.Store())
            return [ast.Assign([targets], ast.Tuple([v for _, v in writes], ast.Load()))]
        assigned.add(var)
    return [_assign(var, value) for var, value in writes]


def _insert_after(stmts, anchor, new):
    for i, s in enumerate(stmts):
        if s is anchor:
            stmts.insert(i + 1, new)
            return True
        for field in ("body", "orelse"):
            if _insert_after(getattr(s, field, []) or [], anchor, new):
                return True
    return False


def _store_counts(tree):
    counts = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            counts[n.id] = counts.get(n.id, 0) + 1
    return counts


def _walk_all(stmts):
    for s in stmts:
        yield s
        for field in ("body", "orelse"):
            yield from _walk_all(getattr(s, field, []) or [])


def _loops(stmts):
    for s in _walk_statements(stmts):
        if isinstance(s, (ast.For, ast.While)):
            yield s


def _cheap_scalar(expr):
    """An atom, or a little arithmetic on atoms (``g / 1000.0``)."""
    return sum(1 for _ in ast.walk(expr)) <= 7 and not any(
        isinstance(n, ast.Call) for n in ast.walk(expr))


def _record_loop_depths(stmts, depth, out):
    for s in stmts:
        if isinstance(s, (ast.For, ast.While)):
            out[id(s)] = depth
            _record_loop_depths(s.body, depth + 1, out)
        elif isinstance(s, ast.If):
            _record_loop_depths(s.body, depth, out)
            _record_loop_depths(s.orelse, depth, out)


def _breaks(stmts):
    """True when ``stmts`` (not nested loops) contain a break."""
    for s in stmts:
        if isinstance(s, ast.Break):
            return True
        if isinstance(s, ast.If) and (_breaks(s.body) or _breaks(s.orelse)):
            return True
    return False


def _filter_restores(stmts, reads, saved):
    """Keep restore markers of names the adjoint reads; record them."""
    out = []
    for s in stmts:
        name = getattr(s, "restores", None)
        if name is not None:
            if name in reads or getattr(s, "counter", False):
                saved.add(name)
                out.append(s)
            continue
        for field in ("body", "orelse"):
            if getattr(s, field, None):
                setattr(s, field, _filter_restores(getattr(s, field), reads, saved) or
                        ([ast.Pass()] if field == "body" else []))
        out.append(s)
    return out


def _same_state(a, b):
    return ast.dump(a.expr) == ast.dump(b.expr) and (a.like is None) == (b.like is None) and \
        (a.like is None or a.like.id == b.like.id)


def _walk_statements(stmts):
    for s in stmts:
        yield s
        for field in ("body", "orelse"):
            yield from _walk_statements(getattr(s, field, []))


def _assign(name, value):
    return ast.Assign([ast.Name(name, ast.Store())], value)


def _is_atom(e):
    return isinstance(e, (ast.Name, ast.Constant))


def _is_stop_gradient(func):
    return getattr(func, "__name__", None) == "stop_gradient" and \
        getattr(func, "__module__", "").startswith("s2sgrad")


def _describe(primitive):
    module = getattr(primitive, "__module__", None) or ""
    name = getattr(primitive, "__qualname__", None) or getattr(primitive, "__name__", repr(primitive))
    return f"{module}.{name}" if module and module != "builtins" else name


def _index_expression(node, mode):
    """A subscript's index as an expression (slices become slice(...))."""
    if isinstance(node, ast.Slice):
        parts = [p if p is not None else ast.Constant(None) for p in (node.lower, node.upper, node.step)]
        name = mode.context.env_name(builtins.slice, "slice")
        return ast.Call(ast.Name(name, ast.Load()), parts, [])
    if isinstance(node, ast.Tuple):
        return ast.Tuple([_index_expression(e, mode) for e in node.elts], ast.Load())
    return node
