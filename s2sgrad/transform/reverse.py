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

Output guarantees: the gradient is inside the ``adjoint`` grammar (so it
re-enters the pipeline for the next order), the primal statements compute
what the normal form computed, the adjoint of each statement follows its
primitive's rule in the primitive table (or raises UnsupportedSyntaxError
naming the construct and the user's line: never a silently wrong or
missing contribution), and what the optimiser needs is recorded in
:class:`s2sgrad.ir.facts.GradientFacts`.
"""

import ast
import builtins
import inspect
import operator

from s2sgrad import backend
from s2sgrad.errors import S2SGradError, UnsupportedSyntaxError
from s2sgrad.ir.facts import GradientFacts, NodeTable
from s2sgrad.ir.nodes import function_def
from s2sgrad.ir.nodes import walk
from s2sgrad.primitives import registry
from s2sgrad.transform import dtypes, simplify
from s2sgrad.transform.adjoints import Adjoint, comment
from s2sgrad.transform.adjoints import assign as _assign
from s2sgrad.transform.adjoints import index_expression as _index_expression
from s2sgrad.transform.adjoints import is_atom as _is_atom
from s2sgrad.transform.adjoints import simultaneous as _simultaneous
from s2sgrad.transform.adjoints import walk_statements as _walk_statements
from s2sgrad.transform.loops import LoopAdjoints, _record_loop_depths
from s2sgrad.transform.structures import may_be_structures, reads_placeholder, sequence_operator
from s2sgrad.transform.writes import ArrayWrites
from s2sgrad.transform.templates import returns_bare, template_for
from s2sgrad.transform.analyse import result_checks



def _literal_names(node):
    """The strings of a literal tuple of strings (``('x', 'w')``), else None."""
    if not isinstance(node, ast.Tuple) or not all(
            isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
        return None
    return tuple(e.value for e in node.elts)


class ReverseMode(LoopAdjoints, ArrayWrites):
    """Builds the gradient of one normal-form function."""

    def __init__(self, fn, context, wrt, facts, *, seed=None, return_value=False,
                 known_shapes=None, checks=True, result_like=None, typed=True):
        self.fn = fn
        #: the analyse pass's ShapeFacts of ``fn``
        self.facts = facts
        self.context = context
        self.namer = context.namer
        self.wrt = list(wrt)
        self.seed = seed
        self.return_value = return_value
        self.known_shapes = known_shapes
        self.checks = checks
        #: the parameter whose shape the result has, when ``fn`` is a
        #: generated gradient with respect to that one parameter (a
        #: derivative differentiated again): the result is a scalar exactly
        #: when that argument is, so the entry checks the argument instead
        #: of computing the result only to check it
        self.result_like = result_like
        #: return each gradient in its argument's type (transform.dtypes);
        #: off for a front end that finishes the gradients itself (the tape)
        self.typed = typed
        from s2sgrad import runtime

        self.runtime = runtime
        self.adjoint_names = {}
        self.primal_of = {}
        #: primal name -> the stack saving its values in loops (see transform.loops)
        self._stacks = {}
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
        #: stacks of the program (generated code read again) with active
        #: pushes and pops: each has a cotangent stack in the adjoint
        self.cotangent_stacks = set()
        #: stacks onto which an active value is pushed (see :meth:`activity`)
        self.active_stacks = set()
        #: the restore markers placed in loops' adjoints (see transform.loops)
        self.restore_markers = NodeTable()
        #: what the optimiser needs to know about the gradient (see s2sgrad.ir.facts)
        self.gradient_facts = GradientFacts()
        #: an expression's algebraic form (what decisions read) -> the
        #: expression as instantiated (what is emitted, for the simplify pass)
        self.raw_forms = NodeTable()

    # --------------------------------------------------------------- driver
    def transform(self):
        body = self.fn.body[:-1]
        result = self.fn.body[-1].value
        inherited_params, inherited = self.guarded_result_checks(body)
        self.active = self.activity(body, set(self.wrt))
        self.check_calls(body)
        self.reassigned = {n.id for n in walk(self.fn) if isinstance(n, ast.Name)
                           and isinstance(n.ctx, ast.Store)}
        self.sequences = self.sequence_names(body)
        self.structured = may_be_structures(body, self.wrt, self.context)
        self.assigned_under = _arms_assigning(self.fn)
        self.refuse_shared_writes(body)
        result_proven_scalar = isinstance(result, ast.Name) and \
            self.facts.proven.of(result.id) == 0 and not _may_be_complex(self.fn, self.context)
        self.shapes = self.facts.assumed
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
        adjoint[:0] = [_assign(self.adjoint_name(stack), ast.List([], ast.Load()))
                       for stack in sorted(self.cotangent_stacks)]
        grads = [self.final_gradient(name, adj) for name in self.wrt]
        self.unreached = [name for name in self.wrt if name not in adj]
        body, adjoint = self.place_saves(list(body), adjoint + [ast.Return(ast.Tuple(grads, ast.Load()))])
        adjoint = adjoint[:-1]
        check = []
        guarded = ()
        scalar_arguments = ()
        if self.seed is None and self.result_like is not None:
            # (the result read again is a gradient: shaped like its argument,
            # whatever the uncast value it returns -- 2.0 for x * 2.0)
            scalar_arguments = (self.result_like,)
            if inherited:
                guarded = self.params_in_order(inherited_params + scalar_arguments)
                check = inherited
        elif self.seed is None and not result_proven_scalar:
            check = [ast.Expr(self.helper_call("require_scalar", [
                result, ast.Constant(self.context.returns_name)]))]
            guarded = self.float_guard_params(body, result)
        arg_checks = self.argument_checks(skip=guarded, scalars=scalar_arguments)
        if guarded:
            # Python floats in, Python float out: nothing to check. Otherwise
            # check the arguments and the result (the primal statements only
            # the check reads are sunk into this branch by the optimiser).
            checks = [t for c in self.argument_checks(only=guarded, scalars=scalar_arguments)
                      for t in c.body] + check
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

        self.gradient_facts.small_values = tuple(self.shape_names)
        # compiled from its source text: no locations needed
        return function_def(name, args, new_body, self.fn.lineno)

    def guarded_result_checks(self, body):
        """``(params, checks)``: the checks of what the function a derivative
        read again differentiates returns (``require_scalar(v, 'f')``, which
        the derivative of the derivative still requires), taken out of
        ``body`` to go into the float guard of ``params`` -- parameters whose
        being Python floats proves each checked value a float. ``((), [])``
        (the checks left where they are) when that is not proven."""
        checks = result_checks(body, self.context.resolve)
        proof = self.facts.scalar_proof
        if not checks or proof is None:
            return (), []
        # (the arguments this derivative checks are scalars too, where it is
        # a gradient's gradient: see result_like)
        narrow = self.params_in_order(set(self.facts.scalar_params) | set(self.wrt)
                                      | {self.result_like})
        read = {n.id for s in body for n in walk(s) if isinstance(n, ast.Name)}
        for params in (narrow, self.params_in_order(read)):  # (else every one it reads)
            solved = proof.solve(scalar_params=params)
            if all(isinstance(c.value.args[0], ast.Name) and solved.of(c.value.args[0].id) == 0
                   for c in checks):
                for c in checks:
                    body.remove(c)
                return params, checks
        return (), []

    def params_in_order(self, names):
        """``names`` (parameters) once each, in the order of the signature."""
        args = self.fn.args
        return tuple(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs
                     if a.arg in names)

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
        proof = self.facts.scalar_proof
        if proof is None:
            return ()
        return self.facts.scalar_params if proof.of(result.id) == 0 else ()

    def float_guard(self, params, body):
        """``if not (a.__class__ is b.__class__ is float): body``."""
        float_name = self.context.env_name(builtins.float, "float")
        classes = [ast.Attribute(ast.Name(p, ast.Load()), "__class__", ast.Load()) for p in params]
        test = ast.Compare(classes[0], [ast.Is()] * len(params),
                           classes[1:] + [ast.Name(float_name, ast.Load())])
        guard = ast.If(ast.UnaryOp(ast.Not(), test), body, [])
        self.gradient_facts.float_guards[guard] = True
        return guard

    def argument_checks(self, skip=(), only=None, scalars=()):
        """``require_float`` for each wrt argument that is not a Python float
        (``require_float_scalar`` for each of ``scalars``, arguments the
        result is shaped like: see ``result_like``)."""
        checks = []
        names = list(self.wrt if self.checks else ()) + [n for n in scalars if n not in self.wrt]
        for name in names:
            if name in skip or (only is not None and name not in only):
                continue
            test = ast.Compare(
                ast.Attribute(ast.Name(name, ast.Load()), "__class__", ast.Load()),
                [ast.IsNot()], [ast.Name("float", ast.Load())])
            helper = "require_float_scalar" if name in scalars else "require_float"
            call = self.helper_call(helper, [
                ast.Name(name, ast.Load()), ast.Constant(name), ast.Constant(self.context.function_name)])
            checks.append(ast.If(test, [ast.Expr(call)], []))
        return checks

    def final_gradient(self, name, adj):
        state = adj.get(name)
        if state is None:
            return self.helper_call("zeros_like", [ast.Name(name, ast.Load())])
        if state.like is not None:
            expr = self.helper_call("full_like", [state.like, state.expr])
        elif name in self.structured:
            return self.helper_call("gradient_of", [state.expr, ast.Name(name, ast.Load())])
        else:
            expr = state.expr
        if self.typed:  # (the argument's type, dtype and shape: transform.dtypes)
            return dtypes.returned(expr, name, self.context.resolve, self.cast_for(name))
        if reads_placeholder(expr, self.zero_filled, self.context):
            return self.cast_for(name)(expr)
        return expr

    def cast_for(self, name):
        """``g -> gradient_of(g, name)``: the cast of a gradient returned for
        ``name`` (in its own structure, should it be a list, tuple or dict)."""
        def cast(g):
            return self.helper_call("gradient_of", [g, ast.Name(name, ast.Load())])
        return cast

    # ------------------------------------------------------------- activity
    def activity(self, body, active):
        """Names whose value depends differentiably on a wrt argument.

        Through stacks (generated code read again): a push of an active
        value makes its stack active (``self.active_stacks``), and whatever
        is popped from an active stack is active; every push and pop of an
        active stack is then differentiated, which keeps its cotangent stack
        in step with it.
        """
        active = set(active)
        stacks = self.active_stacks = set()
        changed = True
        while changed:  # fixpoint: loops may feed values back
            changed = False
            for s in _walk_statements(body):
                if isinstance(s, ast.Expr) and self.stack_call(s.value, "push") is not None:
                    stack, value = s.value.args[0].id, s.value.args[1]
                    if stack not in stacks and isinstance(value, ast.Name) and value.id in active:
                        stacks.add(stack)
                        changed = True
                elif isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
                    target = s.targets[0].id
                    pop = self.stack_call(s.value, "pop")
                    if pop is not None:
                        carries = pop.args[0].id in stacks
                    else:
                        carries = self.carries_derivative(s.value, active)
                    if target not in active and carries:
                        active.add(target)
                        changed = True
                elif isinstance(s, ast.Assign):  # x[i] = v: x carries v's derivative
                    base = s.targets[0].value.id
                    if base not in active and isinstance(s.value, ast.Name) and s.value.id in active:
                        active.add(base)
                        changed = True
        self.check_stacks(body, stacks)
        return active

    def check_calls(self, body):
        """Refuse every call whose derivative nothing here knows.

        A call is differentiated through a primitive's record, a user function
        (inlined, or its VJP at run time) or a declared nondifferentiable
        primitive. Any other callee -- a callable computed from the input
        (``f = functools.partial(np.power, x)``, ``f = x.sum``), or an object
        with no rule receiving a value that depends on a wrt argument
        (``operator.setitem(a, 0, x)``, ``np.add.at(a, i, x)``) -- could return
        or write anything: treated as a constant the gradient would be
        silently wrong, whether or not its result is read later. A call kept
        only for its side effect and given a differentiated value is refused
        unless its record says it writes nothing.
        """
        made = {s.targets[0].id: s.value for s in _walk_statements(body)
                if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
                and s.targets[0].id in self.context.temporaries}
        for s in _walk_statements(body):
            call = s.value if isinstance(s, (ast.Assign, ast.Expr)) else None
            if not isinstance(call, ast.Call):
                continue
            func = call.func
            spelling = ast.unparse(made[func.id]) if isinstance(func, ast.Name) \
                and func.id in made else self.spelling(func)
            if isinstance(func, ast.Name) and func.id in self.active \
                    and func.id not in self.context.local_functions:
                raise self.error(f"call to {spelling}, a function computed from the "
                                 "differentiated input", s,
                                 "call the function it stands for directly")
            given = list(call.args) + [k.value for k in call.keywords]
            if not any(isinstance(a, ast.Name) and a.id in self.active for a in given):
                continue
            callee = self.context.resolve(func)
            known = registry.lookup(callee) is not None or registry.is_nondifferentiable(callee) \
                or (isinstance(func, ast.Name) and func.id in self.context.local_functions) \
                or registry.is_user_function(callee)
            found = registry.record(callee)
            if isinstance(s, ast.Expr) and (found is None or found.mutates) and \
                    self.stack_call(s.value, "push") is None:
                # (kept for its side effect, it may write into what it is
                # given -- np.add.at, np.random.shuffle -- unless its record
                # says it writes nothing)
                raise self.error(f"call of {spelling} for its side effect, given "
                                 f"{self.given(given)}", s,
                                 "assign its result instead (a call may write into the "
                                 "arrays it is given)")
            if not known:
                raise self.error(f"call to {spelling} (no derivative rule)", s,
                                 "register one with sg.defgrad or wrap the argument in "
                                 "sg.stop_gradient")

    def given(self, values):
        """The user's name of the first differentiated value among ``values``."""
        params = {a.arg for a in self.fn.args.posonlyargs + self.fn.args.args
                  + self.fn.args.kwonlyargs}
        users = [self.context.user_names.get(a.id, a.id) for a in values
                 if isinstance(a, ast.Name) and a.id in self.active
                 and (a.id in self.context.user_names or a.id in params)]
        return repr(users[0]) if users else "a differentiated value"

    def spelling(self, func):
        """How the user wrote callee ``func`` (their name for a local)."""
        if isinstance(func, ast.Name):
            return self.context.user_names.get(func.id, func.id)
        return ast.unparse(func)

    def carries_derivative(self, rhs, active):
        reads = {n.id for n in walk(rhs) if isinstance(n, ast.Name)} & active
        if not reads:
            return False
        if isinstance(rhs, ast.Compare):
            return False
        if isinstance(rhs, ast.Attribute):
            return not _is_metadata(rhs.attr)
        if isinstance(rhs, (ast.UnaryOp, ast.BinOp)):  # (not x, a // b: constants)
            found = registry.operator(type(rhs.op))
            return found is None or not found.nondifferentiable
        if isinstance(rhs, ast.Call):
            func = self.context.resolve(rhs.func)
            return not registry.is_nondifferentiable(func)
        return True

    def sequence_names(self, body):
        """Names that may hold tuples/lists, whose cotangents are lists.

        Displays ``(a, b)``, results of the user's own functions (which
        may return tuples) and of primitives returning sequences (np.split,
        divmod) accumulate cotangents with ``add_cotangents``.
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
                    found = registry.record(func)
                    if local or registry.is_user_function(func) or \
                            (found is not None and found.returns_list):
                        names.add(s.targets[0].id)
        sources = []  # (target, names whose being sequences makes it one)
        concatenations = set()  # (targets that need all of theirs)
        for s in _walk_statements(body):
            if not (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)):
                continue
            if isinstance(s.value, ast.Name):  # a copy
                sources.append((s.targets[0].id, {s.value.id}))
            elif isinstance(s.value, ast.Subscript) and isinstance(s.value.slice, ast.Slice) \
                    and isinstance(s.value.value, ast.Name):  # t[1:] of a tuple is a tuple
                sources.append((s.targets[0].id, {s.value.value.id}))
            elif _joins_sequences(s.value):
                # t[1:] + t[:1] (both operands sequences), [x] * 3: concatenated
                # or repeated sequences
                sources.append((s.targets[0].id, {
                    a.id for a in (s.value.left, s.value.right) if isinstance(a, ast.Name)}))
                if isinstance(s.value.op, ast.Add):
                    concatenations.add(s.targets[0].id)
            elif isinstance(s.value, ast.Call):  # add_cotangents, getitem_adjoint (generated code)
                found = registry.record(self.context.resolve(s.value.func))
                if found is not None and found.sequence_of:
                    sources.append((s.targets[0].id, {
                        a.id for i, a in enumerate(s.value.args)
                        if i in found.sequence_of and isinstance(a, ast.Name)}))
        changed = True
        while changed:
            changed = False
            for target, read in sources:
                if read & names and target not in names and (
                        target not in concatenations or read <= names):
                    names.add(target)
                    changed = True
        return names

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
                    out.append(ast.copy_location(comment("grad of: " + text), s))
                    line = text
                out.extend(emitted)
        return out

    def adjoint_statement(self, s, adj, in_loop=False):
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            target = s.targets[0].id
            state = adj.pop(target, None)
            pop = self.stack_call(s.value, "pop")
            if pop is not None and pop.args[0].id in self.active_stacks:
                return self.adjoint_pop(pop, target, state)
            if state is None or target not in self.active:
                return []
            return self.adjoint_assign(s, target, state, adj)
        if isinstance(s, ast.Expr) and self.stack_call(s.value, "push") is not None:
            return self.adjoint_push(s.value, adj)
        if isinstance(s, ast.Assign):
            return self.adjoint_write(s, adj)
        if isinstance(s, ast.If):
            return self.adjoint_if(s, adj, in_loop)
        if isinstance(s, (ast.For, ast.While)):
            return self.adjoint_loop(s, adj)
        if isinstance(s, (ast.Expr, ast.Assert, ast.Pass, ast.Break, ast.Continue, ast.FunctionDef)):
            return []
        raise self.error(f"{type(s).__name__} statement", s)

    # --------------------------------------------------------------- stacks
    def check_stacks(self, body, stacks):
        """A list the stack primitives (``list.append``, ``list.pop`` called
        as functions) carry derivatives through must be a stack: made by
        ``name = []`` here, read by nothing but them, one value pushed or
        popped at a time (what the cotangent stack mirrors). Else refused."""
        made = {s.targets[0].id for s in _walk_statements(body) if isinstance(s, ast.Assign)
                and isinstance(s.targets[0], ast.Name) and isinstance(s.value, ast.List)
                and not s.value.elts}
        allowed = set()
        for s in _walk_statements(body):
            for node in ast.walk(s):
                if not isinstance(node, ast.Call):
                    continue
                found = registry.record(self.context.resolve(node.func))
                if found is None or found.stack is None:
                    continue
                arity = 2 if found.stack == "push" else 1
                if len(node.args) != arity or node.keywords or \
                        not isinstance(node.args[0], ast.Name):
                    raise self.error(f"{ast.unparse(node)} (a stack takes one value at a time)", s)
                allowed.add(id(node.args[0]))
        for s in _walk_statements(body):
            for node in ast.walk(s):
                if isinstance(node, ast.Name) and node.id in stacks and \
                        isinstance(node.ctx, ast.Load) and id(node) not in allowed:
                    raise self.error(f"list {node.id!r} used as a stack (list.append/list.pop) "
                                     "and read otherwise", s)
        for stack in sorted(stacks - made):
            raise self.error(f"list {stack!r} used as a stack but not made here (= [])", self.fn)

    def stack_call(self, value, role):
        """``value`` if it is a call of a stack primitive doing ``role``
        ("push" or "pop", the record's ``stack`` fact), else None."""
        if not isinstance(value, ast.Call) or not value.args or \
                not isinstance(value.args[0], ast.Name):
            return None
        found = registry.record(self.context.resolve(value.func))
        return value if found is not None and found.stack == role else None

    def cotangent_stack(self, stack):
        """The name of ``stack``'s cotangent stack (a list, empty at the
        start of the adjoint sweep: the primal stack ends empty)."""
        self.cotangent_stacks.add(stack)
        return ast.Name(self.adjoint_name(stack), ast.Load())

    def adjoint_push(self, call, adj):
        """``push(stack, v)``: ``v``'s cotangent is on top of the cotangent stack.

        On an active stack every push pops a cotangent (for a value that
        carries no derivative, such as a trip count, it is dropped), so the
        cotangent stack stays in step with the stack (see :meth:`activity`).
        """
        stack, value = call.args[0].id, call.args[1]
        if stack not in self.active_stacks:
            return []
        popped = self.helper_call("pop", [self.cotangent_stack(stack)])
        if not (isinstance(value, ast.Name) and value.id in self.active):
            return [ast.Expr(popped)]
        out = self.accumulate(value.id, popped, adj)
        var = self.adjoint_name(value.id)
        self.zero_filled.add(var)  # (a 0.0 placeholder may have been pushed)
        self.owned.discard(var)
        return out

    def adjoint_pop(self, call, target, state):
        """``v = pop(stack)``: ``v``'s cotangent goes back on the cotangent
        stack, where the matching push's adjoint takes it (0.0 if nothing
        flowed into it: the push's adjoint pops all the same)."""
        value = ast.Constant(0.0) if state is None else self.materialise(state)
        if isinstance(value, ast.Name):
            self.owned.discard(value.id)  # (the stack holds it now: no writes into it)
        return [ast.Expr(self.helper_call("push", [self.cotangent_stack(call.args[0].id), value]))]

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
            # the primal assigned on one arm only: on the other nothing reads its adjoint
            unread = {arm for arm in (True, False) if isinstance(s.test, ast.Name) and
                      (s.test.id, not arm) in self.assigned_under.get(name, ())}
            kept = a if False in unread else b if True in unread else None
            if kept is not None and kept.is_alias and kept.like is None and \
                    isinstance(kept.expr, ast.Constant):
                adj[name] = kept  # a constant needs no variable
                continue
            var = self.adjoint_name(name)
            for block, state, arm in ((body, a, True), (orelse, b, False)):
                if state is None and arm in unread:
                    continue
                value = ast.Constant(0.0) if state is None else self.materialise(state)
                if state is None:
                    self.zero_filled.add(var)
                if not (isinstance(value, ast.Name) and value.id == var):
                    self.owned.discard(var)
                    self.note_zero_fill(var, value)  # an arm may pass a 0.0 placeholder on
                    writes[id(block)].append((var, value))
            adj[name] = Adjoint(ast.Name(var, ast.Load()), False)
        # an alias both arms left alone (``d_t4`` is ``da``) still means the
        # value before the if: copy it out before the arms write its variable
        written = [var for block in (body, orelse) for var, _ in writes[id(block)]]
        reads_after = body + orelse + [value for block in (body, orelse)
                                       for _, value in writes[id(block)]]
        before = []
        for var in dict.fromkeys(written):
            before += self.free_aliases_of(var, adj, None, reads_after)
        body += _simultaneous(writes[id(body)])
        orelse += _simultaneous(writes[id(orelse)])
        if not body and not orelse:
            return before
        return before + [ast.If(s.test, body or [ast.Pass()], orelse)]


    def adjoint_assign(self, s, target, g, adj):
        rhs = s.value
        if not self.carries_derivative(rhs, self.active):
            # (``_t1 = n < 1``: a name made active by a stack it is popped
            # from, assigned here a value that carries no derivative)
            return []
        contributions = []  # (primal name, expression)
        prologue = []
        if g.is_alias and not isinstance(rhs, ast.Name):
            # The contributions may reassign the variable g aliases (x = x * c
            # in a loop): read g through a name of its own first.
            written = {self.adjoint_names.get(n.id) for n in walk(rhs)
                       if isinstance(n, ast.Name) and n.id in self.active}
            if any(isinstance(n, ast.Name) and n.id in written for n in walk(g.expr)):
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
            if not _is_metadata(rhs.attr):
                raise self.error(f"attribute .{rhs.attr} of a differentiated value", s)
        elif isinstance(rhs, ast.BinOp):
            primitive = sequence_operator(rhs, self.sequences) or _operator_primitive(rhs.op)
            contributions = self.apply_rule(primitive, [rhs.left, rhs.right], {}, g, target, s)
        elif isinstance(rhs, ast.UnaryOp):
            primitive = _operator_primitive(rhs.op)
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
                    # a literal seed (a tuple result, refused by the entry guard
                    # before this runs) is no list: never index a literal
                    item = ast.Constant(seq.value) if isinstance(seq, ast.Constant) else \
                        self.helper_call("element_cotangent", [seq, ast.Constant(k)])
                    contributions.append((element.id, item))
        else:
            raise self.error(f"{type(rhs).__name__} expression", s)
        statements = list(prologue)
        for name, expr in contributions:
            statements.extend(self.accumulate(name, expr, adj))
        return statements

    def adjoint_call(self, call, g, target, s):
        func = self.context.resolve(call.func)
        if registry.is_nondifferentiable(func):
            return []
        keywords = {k.arg: k.value for k in call.keywords}
        local = isinstance(call.func, ast.Name) and call.func.id in self.context.local_functions
        if func is getattr(self.context, "call_vjp", None) and call.args:
            # (a first derivative calling the VJP of a callee it did not inline)
            return self.adjoint_callee_vjp(call, g, target, s)
        if local or registry.is_user_function(func):
            return self.adjoint_user_call(call, func, g, target, s)
        return self.apply_rule(func, call.args, keywords, g, target, s)

    def adjoint_callee_vjp(self, call, g, target, s):
        """``d_args = call_vjp(f, wrt, seed, *args)`` of a first derivative
        read again: the callee's VJP is a generated function of ``args``
        and ``seed``, in the grammar like any other, so it is called
        through its own VJP as a user function is (differentiated again
        when it runs: a recursive callee's VJP calls itself the same way)."""
        callee, wrt = call.args[0], call.args[1] if len(call.args) > 2 else None
        func = self.callee_function(callee)
        names = _literal_names(self.constant_value(wrt))
        if not inspect.isfunction(func) or names is None:
            raise self.error(f"a derivative of the call to {self.spelling(callee)}(), "
                             "which is not inlined, differentiated again", s)
        vjp = self.context.callee_vjp(func, names)
        seed_name = vjp.__code__.co_varnames[vjp.__code__.co_argcount
                                             + vjp.__code__.co_kwonlyargcount - 1]
        vjp_name = self.namer.fresh(callee.id + "_vjp" if isinstance(callee, ast.Name) else "vjp")
        made = _assign(vjp_name, self.helper_call_of(self.context.callee_vjp, "callee_vjp",
                                                     [callee, wrt]))
        as_user_call = ast.Call(ast.Name(vjp_name, ast.Load()), list(call.args[3:]),
                                list(call.keywords) + [ast.keyword(seed_name, call.args[2])])
        contributions = self.adjoint_user_call(as_user_call, vjp, g, target, s)
        return [(None, [made])] + contributions if contributions else []

    def callee_function(self, node):
        """The function a callee expression denotes: a name resolved, or a
        VJP made by ``callee_vjp(f, wrt)`` (a derivative of order 3 or more
        through a call that is not inlined), made here too."""
        value = self.constant_value(node)
        if isinstance(value, ast.Call) and len(value.args) == 2 and \
                self.context.resolve(value.func) is self.context.callee_vjp:
            inner = self.callee_function(value.args[0])
            names = _literal_names(self.constant_value(value.args[1]))
            if inspect.isfunction(inner) and names is not None:
                return self.context.callee_vjp(inner, names)
            return None
        return self.context.resolve(node)

    def constant_value(self, node):
        """``node``, or the literal a name normal form gave it is assigned
        (``_t7 = ('x',)``, assigned once)."""
        if not isinstance(node, ast.Name):
            return node
        values = [st.value for st in walk(self.fn) if isinstance(st, ast.Assign)
                  and isinstance(st.targets[0], ast.Name) and st.targets[0].id == node.id]
        return values[0] if len(values) == 1 else node

    def helper_call_of(self, obj, preferred, args):
        """``name(*args)`` for ``obj`` handed to generated code under ``name``."""
        return ast.Call(ast.Name(self.context.env_name(obj, preferred), ast.Load()), args, [])

    def adjoint_user_call(self, call, func, g, target, s):
        """A call to the user's own function: its generated VJP, at run time.

        The callee is differentiated once (cached by its code) with respect
        to the parameters that receive active values; ``call_vjp`` finds or
        builds that VJP and runs it with the call's own arguments.
        """
        if isinstance(call.func, ast.Name) and call.func.id in self.context.local_functions:
            node = self.context.local_functions[call.func.id]
            params = [a.arg for a in node.args.posonlyargs + node.args.args]
            varargs = node.args.vararg is not None or node.args.kwarg is not None
        else:
            code = func.__code__
            params = list(code.co_varnames[: code.co_argcount])
            varargs = bool(code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))
        if varargs or len(call.args) > len(params):
            raise self.error(f"call to {self.spelling(call.func)} with variable arguments", s,
                             "give the function named parameters")
        bound = dict(zip(params, call.args))
        bound.update({k.arg: k.value for k in call.keywords})
        wrt = [(p, v.id) for p, v in bound.items()
               if isinstance(v, ast.Name) and v.id in self.active]
        if not wrt:
            return []
        seed = self.materialise(g)
        call_vjp = self.context.env_name(self.context.call_vjp, "call_vjp")
        helper = ast.Call(ast.Name(call_vjp, ast.Load()), [
            call.func, ast.Tuple([ast.Constant(p) for p, _ in wrt], ast.Load()), seed,
            *call.args], [])
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
        if template.refusal is not None:
            raise self.error(template.refusal, s)
        try:
            bound = template.bind(args, keywords)
        except TypeError as exc:
            raise self.error(f"call to {_describe(primitive)} with these arguments", s, str(exc))
        wanted = {}  # parameter index -> the active argument bound to it
        values = {"ans": ast.Name(target, ast.Load())}
        spread_list = None  # (index, arguments) of a *args parameter with active ones
        for i, param in enumerate(template.params):
            value = bound[param]
            if param == template.vararg:
                values[param] = ast.Tuple([v if isinstance(v, ast.AST) else self.context.literal(v)
                                           for v in value], ast.Load())
                if any(v is a for v in value for a in active):
                    spread_list = (i, value)
            elif isinstance(value, ast.AST):
                values[param] = value
                if any(value is a for a in active):
                    wanted[i] = value.id
            else:
                values[param] = self.context.literal(value)
        for name in template.free:
            values[name] = ast.Name(
                self.context.env_name(template.free_object(name), name), ast.Load())
        if g.like is None and isinstance(g.expr, ast.Constant) and template.indexes_g:
            # a literal cotangent indexed by the rule: spread it over ans first
            g = Adjoint(g.expr, True, ast.Name(target, ast.Load()))
        if g.like is None and rule.view_of is not None and not rule.elementwise and \
                target not in self.sequences and \
                reads_placeholder(g.expr, self.zero_filled, self.context):  # (a list's rule reads it itself)
            # a 0.0 placeholder (a branch or loop where nothing flowed) carries
            # no shape, which the rule of a view (reshape, transpose...) needs: shape it as ans
            g = Adjoint(self.helper_call("as_gradient", [g.expr, ast.Name(target, ast.Load())]), False)
        result = [] if spread_list is None else \
            self.vararg_cotangents(template, values, self.materialise(g), target, *spread_list)
        if not wanted:
            return result
        if g.like is None:
            return result + self.instantiate(template, values, g.expr, wanted)
        # A folded seed: elementwise rules may use the scalar for arguments
        # shaped like the seed; everything else needs the broadcast array.
        folded, spread = {}, {}
        for i, name in wanted.items():
            same = self.shapes.of(name) is not None and self.shapes.of(name) == self.shapes.of(g.like.id)
            (folded if rule.elementwise and same else spread)[i] = name
        if folded:
            result += self.instantiate(template, values, g.expr, folded, fold_like=g.like)
        if spread:
            result += self.instantiate(template, values, self.materialise(g), spread)
        return result

    def vararg_cotangents(self, template, values, g, target, index, arguments):
        """The cotangents of the active arguments a rule's ``*args`` took:
        its entry (a list, one per argument) named once, then indexed."""
        (_, expr), *rest = reversed(self.instantiate(template, values, g, {index: target}))
        grads = self.namer.fresh("d" + target + "_args")
        result = list(reversed(rest)) + [(None, [_assign(grads, self.emitted(expr))])]
        for k, value in enumerate(arguments):
            if isinstance(value, ast.Name) and value.id in self.active:
                item = ast.Subscript(ast.Name(grads, ast.Load()), ast.Constant(k), ast.Load())
                result.append((value.id, self.helper_call("cotangent_or_zero", [item])))
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
        bare = returns_bare(rule.vjp)
        if bare is None:  # (a one-argument rule whose return may or may not be a tuple)
            call = self.helper_call("rule_gradients", [call])
        grads = self.namer.fresh("d" + target + ("_arg" if bare else "_args"))
        result = [(None, [_assign(grads, call)])]
        for i, param in enumerate(params):
            value = bound.arguments[param]
            if any(value is a for a in active):
                item = ast.Name(grads, ast.Load()) if bare else \
                    ast.Subscript(ast.Name(grads, ast.Load()), ast.Constant(i), ast.Load())
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
                expr = self.algebraic_form(expr)
                if fold_like is not None:
                    expr = self.keep_folded(expr, name, g)
                result.append((name, expr))
        return result

    def keep_folded(self, expr, name, seed):
        """A scalar gradient for an argument shaped like a folded seed.

        With the seed folded to a scalar, a rule may produce a scalar for an
        array argument (``g * 2.0`` -> ``2.0``); say so with ``repeat_to``
        (a folded alias again) instead of computing the broadcast. The seed
        itself is a scalar even when it is held in a variable named after
        an array (``dx_1 = 2.0 + 1.0``, then ``g * 1.0`` -> ``dx_1``).
        """
        if isinstance(expr, ast.Call) and self.context.resolve(expr.func) is self.runtime.unbroadcast:
            inner = expr.args[0]
        else:
            inner = expr
        seed_name = seed.id if isinstance(seed, ast.Name) else None

        def name_class(n):
            return 0 if n == seed_name else self.name_class(n)

        if self.shapes.expression_class(inner, name_class) == 0 and self.shapes.of(name) != 0:
            raw = self.raw_forms.get(expr, expr)
            raw_inner = inner
            if inner is not expr and isinstance(raw, ast.Call) and len(raw.args) == 2 \
                    and self.context.resolve(raw.func) is self.runtime.unbroadcast:
                raw_inner = raw.args[0]
            elif inner is expr:
                raw_inner = raw
            folded = self.helper_call("repeat_to", [inner, ast.Name(name, ast.Load())])
            if raw_inner is not inner:
                self.raw_forms[folded] = self.helper_call(
                    "repeat_to", [raw_inner, ast.Name(name, ast.Load())])
            return folded
        return expr

    def algebraic_form(self, expr):
        """``expr`` simplified (what decisions about it read), remembering
        ``expr`` as what is emitted (the simplify pass simplifies it there)."""
        simple = simplify.simplified(expr, self.context)
        self.raw_forms[simple] = expr
        return simple

    def emitted(self, expr):
        """What to emit for ``expr``: its instantiated form if it has one
        (recorded for the simplify pass), else ``expr`` itself."""
        raw = self.raw_forms.get(expr)
        if raw is None:
            return expr
        self.gradient_facts.algebra[raw] = True
        return raw

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
                    found = registry.record(mode.context.resolve(node.func))
                    if found is not None and found.from_shape is not None:
                        return _constant(found.from_shape(tuple(int(n) for n in shape)))
                return node

        return Fold().visit(expr)

    def drop_unbroadcast(self, expr):
        """Remove ``unbroadcast(e, x)`` where ``e`` provably has x's shape
        (and, in recorded programs, sum directly into a 0-d ``x``)."""
        from s2sgrad import runtime

        mode = self

        class Drop(ast.NodeTransformer):
            def visit_Call(self, node):
                self.generic_visit(node)
                if len(node.args) == 2 and not node.keywords and \
                        mode.context.resolve(node.func) is runtime.unbroadcast:
                    e, like = node.args
                    c = mode.shapes.expression_class(simplify.simplified(e), mode.name_class)
                    target = mode.shapes.expression_class(like, mode.name_class)
                    if c is not None and c == target:
                        return e
                    if target == 0 and mode.known_shapes:
                        # a recorded scalar source: every axis is summed
                        numpy = mode.context.env_name(backend.xp, "np")
                        return ast.Call(ast.Attribute(ast.Name(numpy, ast.Load()), "sum",
                                                      ast.Load()), [e], [])
                    lead = mode.leading_broadcast_axes(c, target)
                    if lead:
                        # shapes known (a recording, a lifted block): the axes
                        # broadcasting added are summed directly, as unbroadcast would
                        numpy = mode.context.env_name(backend.xp, "np")
                        axis = ast.Constant(0) if lead == 1 else ast.Tuple(
                            [ast.Constant(i) for i in range(lead)], ast.Load())
                        return ast.Call(ast.Attribute(ast.Name(numpy, ast.Load()), "sum",
                                                      ast.Load()), [e], [ast.keyword("axis", axis)])
                return node

        return Drop().visit(expr)

    def leading_broadcast_axes(self, value_class, target_class):
        """How many leading axes broadcasting added to a value of shape class
        ``value_class`` over one of ``target_class`` -- when both shapes are
        known and differ only by those axes -- else 0."""
        if not self.known_shapes or value_class is None or target_class is None:
            return 0
        shapes = {}
        for name, shape in self.known_shapes.items():
            shapes.setdefault(self.shapes.of(name), tuple(shape))
        value, target = shapes.get(value_class), shapes.get(target_class)
        if value is None or target is None or len(value) <= len(target):
            return 0
        lead = len(value) - len(target)
        return lead if value[lead:] == target else 0

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
            return out + [_assign(var, self.emitted(new.expr))]
        var = self.adjoint_name(name)
        if var in self.owned and not state.is_alias and state.like is None and new.like is None \
                and name not in self.sequences and isinstance(state.expr, ast.Name) \
                and state.expr.id == var:
            # the gradient of an argument, held in an array only we own
            return [ast.AugAssign(ast.Name(var, ast.Store()), ast.Add(), self.emitted(new.expr))]
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
            total = self.algebraic_form(ast.BinOp(self.raw_forms.get(left, left), ast.Add(),
                                                  self.raw_forms.get(right, right)))
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
        return out + [_assign(var, self.emitted(total))]

    def note_zero_fill(self, var, value):
        """``var`` may hold a 0.0 placeholder if ``value`` reads one."""
        if reads_placeholder(value, self.zero_filled, self.context):
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
        ``var`` may also be a primal name a loop's adjoint restores: a folded
        seed spread over its shape (``like``) is then materialised first, as
        the restored value may have another shape (``A = A.T`` in a loop).
        """
        out = []
        for name, state in list(adj.items()):
            spread_over_var = state.like is not None and state.like.id == var
            if name == owner or not (state.is_alias or spread_over_var):
                continue
            if spread_over_var or any(isinstance(n, ast.Name) and n.id == var
                                      for n in walk(state.expr)):
                own = self.adjoint_name(name)
                exprs = [other.expr for other in adj.values()] + (
                    [] if pending is None else pending if isinstance(pending, list) else [pending])
                if own == var or any(isinstance(n, ast.Name) and n.id == own
                                     for e in exprs for n in walk(e)):
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


def _joins_sequences(rhs):
    """``a + b`` of two names, or ``a * n`` / ``n * a`` with an int constant
    ``n``: what concatenates or repeats when the operands are sequences."""
    if not isinstance(rhs, ast.BinOp):
        return False
    operands = (rhs.left, rhs.right)
    if isinstance(rhs.op, ast.Add):
        return all(isinstance(a, ast.Name) for a in operands)
    return isinstance(rhs.op, ast.Mult) and any(isinstance(a, ast.Name) for a in operands) and any(
        isinstance(a, ast.Constant) and type(a.value) is int for a in operands)


def _arms_assigning(fn):
    """Primal name -> the if arms ``(test, taken)`` enclosing every assignment of it.

    Only names assigned outside loops, and tests assigned at most once
    (normal form outside loops): a name assigned under ``if t:`` alone is
    read only under ``if t:`` too, so on the other arm nothing reads its
    adjoint and none needs to be zero-filled there.
    """
    stores = {}
    for n in walk(fn):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            stores[n.id] = stores.get(n.id, 0) + 1
    arms = {}

    def visit(stmts, path, in_loop):
        for s in stmts:
            if isinstance(s, ast.If):
                once = isinstance(s.test, ast.Name) and stores.get(s.test.id, 0) <= 1
                visit(s.body, path | {(s.test.id, True)} if once else path, in_loop)
                visit(s.orelse, path | {(s.test.id, False)} if once else path, in_loop)
            elif isinstance(s, (ast.For, ast.While)):
                visit(s.body, path, True)
            elif isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
                name = s.targets[0].id
                arms[name] = frozenset() if in_loop else arms.get(name, path) & path

    visit(fn.body, frozenset(), False)
    # under both arms of one test is dead code: claim nothing there (the
    # zero-fills keep the code readable again at the next order)
    return {name: path for name, path in arms.items()
            if not any((test, not taken) in path for test, taken in path)}


def _cheap_scalar(expr):
    """An atom, or a little arithmetic on atoms (``g / 1000.0``)."""
    return sum(1 for _ in ast.walk(expr)) <= 7 and not any(
        isinstance(n, ast.Call) for n in ast.walk(expr))


def _same_state(a, b):
    return ast.dump(a.expr) == ast.dump(b.expr) and (a.like is None) == (b.like is None) and \
        (a.like is None or a.like.id == b.like.id)


def _operator_primitive(op):
    """The primitive an operator node spells (``operator.add`` for ``+``), or None."""
    found = registry.operator(type(op))
    return None if found is None else found.primitive


def _is_metadata(attr):
    """True for an attribute that carries no derivative (``x.shape``, ``x.dtype``)."""
    found = registry.attribute(attr)
    return found is not None and found.nondifferentiable


def _constant(value):
    """An expression for a folded shape fact: an int or a tuple of ints."""
    if isinstance(value, tuple):
        return ast.Tuple([ast.Constant(v) for v in value], ast.Load())
    return ast.Constant(value)


#: callables whose result may be complex for real input (NumPy 2.5's eig
#: and eigvals always return complex arrays)
_COMPLEX_RESULTS = (backend.xp.linalg.eig, backend.xp.linalg.eigvals, complex)


def _may_be_complex(fn, context):
    """False when no value of ``fn`` can be complex: no complex constant,
    no mention of a complex type, no call that may return one (a user
    function not inlined may). A scalar result proven real needs no
    ``require_scalar`` check; any other does (grad refuses a complex result)."""
    for node in walk(fn):
        if isinstance(node, ast.Constant) and isinstance(node.value, complex):
            return True
        if isinstance(node, (ast.Name, ast.Attribute)) and \
                "complex" in (node.id if isinstance(node, ast.Name) else node.attr):
            return True
        if isinstance(node, ast.Call):
            func = context.resolve(node.func)
            if func is None:
                continue
            if any(func is c for c in _COMPLEX_RESULTS) or func is context.call_vjp or \
                    (registry.is_user_function(func) and not (
                        isinstance(node.func, ast.Name) and node.func.id in context.local_functions)):
                return True
    return False


def _describe(primitive):
    module = getattr(primitive, "__module__", None) or ""
    name = getattr(primitive, "__qualname__", None) or getattr(primitive, "__name__", repr(primitive))
    return f"{module}.{name}" if module and module != "builtins" else name


