"""Forward stage: normal form -> primal and tangent statements side by side.

``ForwardMode(fn, context, wrt, facts).transform()`` takes the normal-form
``FunctionDef`` the reverse transform reads and returns the ``FunctionDef``
of its Jacobian-vector product: the same parameters plus one keyword-only
tangent ``d<name>`` per wrt argument, every primal statement followed by
its tangent statement (``dy = ...`` after ``y = ...``), and
``return (result, dresult)`` (``tangent_only``: ``return dresult``, the
value computed only as far as the tangent needs it).

Only values that depend differentiably on a wrt argument get tangents (the
activity analysis reverse mode uses); a tangent is a variable
``d<primal name>`` or absent (zero), and nothing is zero-filled except
where paths meet -- the arms of an ``if``, a loop's back edge, an entry of
a display -- and one path has a tangent the other lacks.

The tangent of one operation comes from its primitive's record
(:mod:`s2sgrad.primitives.registry`), rule by rule:

* an explicit forward rule (``jvp`` slot): a straight-line ``def`` shaped
  like a VJP rule, ``(g, ans, *params)``, whose returned entry ``i`` is the
  result's tangent when ``g`` is the tangent of parameter ``i`` (and every
  other argument is held fixed); entries of several active arguments add;
  the entry of a ``*args`` parameter (``np.einsum``'s operands) gets for
  ``g`` the list of those arguments' tangents, None where inactive;
* ``elementwise``: the Jacobian is diagonal, so the VJP rule's entry with
  the tangent in place of ``g`` and broadcasting not undone (no
  ``unbroadcast``) is the JVP;
* ``linear`` (jointly, in the arguments its VJP differentiates): the
  primitive applied to the tangents;
* ``multilinear`` (linear in each argument with the others fixed: matmul,
  tensordot...): the sum over active arguments of the primitive with that
  argument replaced by its tangent.

Anything else -- a primitive with none of these, a user function left a
call -- raises ``UnsupportedSyntaxError`` naming it and the user's line,
never a silent zero.

Generated gradient code read again (forward over reverse: Hessians) replays
loops from a ``stack`` (``push`` and ``pop``, primitives of their own): a
stack onto which an active value is pushed gets a tangent stack beside it;
each push onto it pushes a tangent (zero for a value without one, such as
a trip count) and each pop pops one, so the two stay in step.

``batched=True`` builds the same program for tangents carrying a leading
axis of k directions (the convention at the top of
``s2sgrad.primitives.forward_rules``): a record's batched rule, else its
rule where it ``batches``, else (elementwise) its rule with each tangent
lifted to the result's rank, else the rule once per direction. Zero
tangents are ``batch_zeros`` (k of them), writes ``batch_setitem``.

Output guarantees: the output is inside the ``adjoint`` grammar, computes
the primal values the normal form computed and beside each the tangent its
primitive's forward rule gives (from the primitive table); a construct
without one raises UnsupportedSyntaxError at the user's line.
"""

import ast
import inspect
import operator

from s2sgrad import runtime
from s2sgrad.errors import S2SGradError, UnsupportedSyntaxError
from s2sgrad.ir.facts import GradientFacts
from s2sgrad.ir.nodes import function_def
from s2sgrad.primitives import containers, registry
from s2sgrad.transform import dtypes, simplify
from s2sgrad.transform.adjoints import assign, comment, walk_statements
from s2sgrad.transform.reverse import ReverseMode, _describe, _is_metadata, _literal_names
from s2sgrad.transform.structures import sequence_operator
from s2sgrad.transform.templates import _substitute, template_for, Template

class ForwardMode:
    """Builds the Jacobian-vector product of one normal-form function."""

    def __init__(self, fn, context, wrt, facts, *, checks=True, batched=False,
                 tangent_only=False, typed=True):
        self.fn = fn
        self.batched = batched
        self.tangent_only = tangent_only
        #: the tangent returned in the type and dtype of the value (transform.dtypes)
        self.typed = typed
        self.context = context
        self.namer = context.namer
        self.wrt = list(wrt)
        self.facts = facts
        self.checks = checks
        # reverse mode's analyses of the same program: activity, argument checks
        self.analysis = ReverseMode(fn, context, wrt, facts, seed=True, checks=checks)
        self.tangent_names = {}
        self.tangent_params = []
        #: primal names whose tangent variable holds their tangent now
        self.live = set()
        #: names assigned so far, in program order (a zero-fill may read them)
        self.bound = set()
        #: stacks onto which an active value is pushed (they get tangent stacks)
        self.tangent_stacks = set()
        #: names some statement writes into by subscript (their tangents must be owned)
        self.written = set()
        self.loop_sets = []
        #: names holding a constant now (their zero tangent is a constant too)
        self.constants = {}
        self.gradient_facts = GradientFacts()
        self.unreached = []
        #: statements the tangent being built reads (locals of its rule read twice)
        self.pending = []

    # --------------------------------------------------------------- driver
    def transform(self):
        fn = self.fn
        body = fn.body[:-1]
        returned = fn.body[-1]  # (the returned line: where its tangent's errors point)
        result = returned.value
        if body and isinstance(result, ast.Name) and _copies_into(body[-1], result.id):
            # ``result = s; return result``: return s and its tangent themselves
            returned = body.pop()
            result = returned.value
        guard_params, inherited = self.analysis.guarded_result_checks(body)
        self.active = self.analysis.activity(body, set(self.wrt))
        self.analysis.active = self.active
        self.analysis.refuse_shared_writes(body)
        self.tangent_stacks = self.analysis.active_stacks
        #: names that may hold tuples or lists (``a + b`` may concatenate them)
        self.sequences = self.analysis.sequence_names(body)
        self.written = {s.targets[0].value.id for s in walk_statements(body)
                        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Subscript)}
        params = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
        self.bound = {a.arg for a in params}
        for name in self.wrt:
            self.tangent_params.append(self.tangent_name(name))
            self.live.add(name)
        out = self.block(body)
        tangent = self.atom_tangent(result)
        if tangent is None:
            self.unreached = list(self.wrt)
            tangent = self.zero(result)
        elif self.typed and isinstance(result, ast.Name) and not self.batched:
            # (a batched tangent has a leading axis the value lacks: as_tangent
            # would return it as it is, so it is returned as it is)
            like = self.typed_like(body, result) if self.tangent_only else result
            tangent = dtypes.returned(tangent, result.id, self.context.resolve, lambda t: (
                self.analysis.helper_call("as_tangent", [t, like])))
        value = tangent if self.tangent_only else ast.Tuple([result, tangent], ast.Load())
        args = fn.args
        for name in self.tangent_params:
            args.kwonlyargs.append(ast.arg(name))
            args.kw_defaults.append(None)
        checks = self.analysis.argument_checks(skip=guard_params)
        guard = []
        if inherited:  # (the first derivative's check of f, where floats need none)
            guard = [self.analysis.float_guard(guard_params, [
                t for c in self.analysis.argument_checks(only=guard_params) for t in c.body]
                + inherited)]
            self.gradient_facts.float_guards.update(self.analysis.gradient_facts.float_guards)
        # a parameter written into gets its tangent written into: the caller's
        # direction is copied first, never changed
        owned = [assign(self.tangent_name(n), self.helper_call(
            "owned_copy", [ast.Name(self.tangent_name(n), ast.Load())]))
            for n in self.wrt if n in self.written]
        name = self.namer.fresh("jvp_" + fn.name)
        final = ast.copy_location(ast.Return(value), returned)
        return function_def(name, args, checks + owned + out + guard + [final], fn.lineno)

    def typed_like(self, body, result):
        """What the returned tangent takes its type from when the value is not
        returned: the parameter ``a`` of a result ``gradient_of(v, a)`` (the
        value has ``a``'s type, dtype and shape by construction), so that
        ``v``, which nothing else reads, is not computed; else the result."""
        for s in reversed(body):
            if not (isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
                    and s.targets[0].id == result.id):
                continue
            call = s.value
            if not (isinstance(call, ast.Call) and len(call.args) == 2 and not call.keywords
                    and dtypes.typed_for(call, getattr(call.args[1], "id", None),
                                         self.context.resolve)):
                return result
            like = call.args[1]
            params = {a.arg for a in self.fn.args.posonlyargs + self.fn.args.args
                      + self.fn.args.kwonlyargs}
            if like.id in params and not _assigns(body, like.id) \
                    and like.id not in self.written:
                return like
            return result
        return result

    # ----------------------------------------------------------- statements
    def block(self, stmts):
        out = []
        for s in stmts:
            out.extend(self.statement(s))
        return out

    def statement(self, s):
        if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name):
            target = s.targets[0].id
            emitted = [s] + self.assign_tangent(s, target)
            self.bound.add(target)
            if isinstance(s.value, ast.Constant):
                self.constants[target] = s.value
            else:
                self.constants.pop(target, None)
            return emitted
        if isinstance(s, ast.Assign):
            return [s] + self.write_tangent(s)
        if isinstance(s, ast.If):
            return self.if_tangent(s)
        if isinstance(s, (ast.For, ast.While)):
            return self.loop_tangent(s)
        if isinstance(s, ast.Expr):
            return [s] + self.call_statement(s)
        if isinstance(s, (ast.Break, ast.Continue)):
            return self.fill_loop_carried() + [s]
        if isinstance(s, (ast.Assert, ast.Pass, ast.FunctionDef)):
            return [s]
        raise self.error(f"{type(s).__name__} statement", s)

    def assign_tangent(self, s, target):
        if target in self.tangent_stacks:  # stack = []: its tangents' stack beside it
            return [assign(self.tangent_name(target), ast.List([], ast.Load()))]
        if target not in self.active:
            self.live.discard(target)
            return []
        rhs = s.value
        if self.analysis.stack_call(rhs, "pop") is not None:
            stack = rhs.args[0].id
            if stack not in self.tangent_stacks:
                self.live.discard(target)
                return []
            pop = self.helper_call("pop", [ast.Name(self.tangent_name(stack), ast.Load())])
            self.live.add(target)
            return [assign(self.tangent_name(target), pop)]
        self.pending = []
        tangent = self.rhs_tangent(rhs, target, s)
        computed, self.pending = self.pending, []  # (a rule's locals read twice)
        if tangent is None:
            self.live.discard(target)
            return []
        if target in self.written and isinstance(tangent, ast.Name) \
                and not (isinstance(rhs, ast.Name)):
            # written into later: its tangent must not share memory its primal does not
            tangent = self.helper_call("owned_copy", [tangent])
        self.live.add(target)
        return computed + [self.marked(s, assign(self.tangent_name(target), tangent))]

    def marked(self, s, stmt):
        """``stmt`` placed where ``s`` is: its line numbers, for messages."""
        return ast.copy_location(stmt, s)

    def write_tangent(self, s):
        """``x[i] = v``: ``dx[i] = dv`` (zeros where ``v`` has no tangent)."""
        target = s.targets[0]
        base = target.value.id
        if base not in self.active:
            return []
        value = self.atom_tangent(s.value)
        if value is None and base not in self.live:
            return []
        out = []
        if base not in self.live:  # the write makes x depend on the input (zeros: its own)
            out.append(assign(self.tangent_name(base), self.zero(ast.Name(base, ast.Load()),
                                                                 owned=True)))
            self.live.add(base)
        if value is None:
            value = ast.Constant(0.0)
        if self.batched:
            from s2sgrad.transform.adjoints import index_expression

            index = index_expression(target.slice, self)
            return out + [ast.Expr(self.batch_call("batch_setitem", [
                ast.Name(self.tangent_name(base), ast.Load()), index, value]))]
        write = ast.Subscript(ast.Name(self.tangent_name(base), ast.Load()), target.slice,
                              ast.Store())
        out.append(ast.Assign([write], value))
        return out

    def call_statement(self, s):
        """A call kept for its side effect: pushes carry tangents along."""
        call = self.analysis.stack_call(s.value, "push")
        if call is not None:
            stack = call.args[0].id
            if stack not in self.tangent_stacks:
                return []
            pushed = call.args[1]
            tangent = self.atom_tangent(pushed)
            if tangent is None:  # (its pop pops a tangent all the same)
                active = isinstance(pushed, ast.Name) and pushed.id in self.active
                tangent = self.zero(pushed) if active else ast.Constant(0.0)
            return [ast.Expr(self.helper_call("push", [
                ast.Name(self.tangent_name(stack), ast.Load()), tangent]))]
        given = list(s.value.args) + [k.value for k in s.value.keywords]
        if any(self.atom_tangent(a) is not None for a in given):
            found = registry.record(self.context.resolve(s.value.func))
            if found is None or found.mutates or not found.nondifferentiable:
                raise self.error(f"call of {ast.unparse(s.value.func)} for its side effect, "
                                 f"given {self.analysis.given(given)}", s,
                                 "assign its result instead (a call may write into the "
                                 "arrays it is given)")
        return []

    def if_tangent(self, s):
        before, constants, bound = set(self.live), dict(self.constants), set(self.bound)
        body = self.block(s.body)
        after_body, self.live = self.live, set(before)
        body_constants, self.constants = self.constants, constants
        orelse = self.block(s.orelse)
        after_else = self.live
        self.constants = {name: value for name, value in body_constants.items()
                          if name in self.constants and ast.dump(self.constants[name]) == ast.dump(value)}
        for name in sorted(after_body ^ after_else):
            # (a name assigned on one arm only is read after the if only
            # where that arm ran: the other arm needs no tangent of it)
            arm, assigned = (orelse, s.orelse) if name in after_body else (body, s.body)
            if name in before or name in bound or _assigns(assigned, name):
                arm.append(assign(self.tangent_name(name), self.zero(ast.Name(name, ast.Load()))))
        self.live = after_body | after_else
        return [ast.If(s.test, body or [ast.Pass()], orelse)]

    def loop_tangent(self, s):
        """Names carried round the loop keep a tangent at every iteration's start."""
        assigned = {n.id for n in ast.walk(s) if isinstance(n, ast.Name)
                    and isinstance(n.ctx, ast.Store)} | _written_bases(s)
        carried = (assigned & self.active) | self.live
        before = []
        for name in sorted(carried - self.live):
            if name in self.bound:
                before.append(assign(self.tangent_name(name), self.zero(ast.Name(name, ast.Load()))))
        self.live = set(carried)
        header = s
        if isinstance(s, ast.For):
            if isinstance(s.target, ast.Name) and s.target.id in self.active:
                self.live.discard(s.target.id)
            iterated = self.atom_tangent(s.iter)
            if iterated is not None:
                raise self.error("a for loop over a differentiated array (forward mode)", s,
                                 "loop over range(len(x)) and index instead")
        self.loop_sets.append(carried)
        body = self.block(s.body)
        body += self.fill_loop_carried()
        self.loop_sets.pop()
        self.live = set(carried)
        if isinstance(header, ast.For):
            loop = ast.For(header.target, header.iter, body, [])
        else:
            loop = ast.While(header.test, body, [])
        self.bound |= assigned
        for name in assigned:
            self.constants.pop(name, None)
        return before + [ast.copy_location(loop, s)]

    def fill_loop_carried(self):
        """Zero tangents for carried names whose tangent this path lost."""
        if not self.loop_sets:
            return []
        out = []
        for name in sorted(self.loop_sets[-1] - self.live):
            if name in self.bound:
                out.append(assign(self.tangent_name(name), self.zero(ast.Name(name, ast.Load()))))
        return out

    # ---------------------------------------------------------- expressions
    def rhs_tangent(self, rhs, target, s):
        """The tangent expression of ``target = rhs``, or None (zero)."""
        if isinstance(rhs, ast.Name):
            return self.atom_tangent(rhs)
        if isinstance(rhs, ast.Constant):
            return None
        if isinstance(rhs, ast.Attribute):
            if self.atom_tangent(rhs.value) is None or _is_metadata(rhs.attr):
                return None
            raise self.error(f"attribute .{rhs.attr} of a differentiated value", s)
        if isinstance(rhs, ast.Compare):
            return None
        if isinstance(rhs, ast.BinOp):
            tangent = self.sequence_tangent(rhs)
            if tangent is not False:
                return tangent
            found = registry.operator(type(rhs.op))
            return self.apply(found, [rhs.left, rhs.right], {}, target, s,
                              lambda a, k: ast.BinOp(a[0], rhs.op, a[1]))
        if isinstance(rhs, ast.UnaryOp):
            found = registry.operator(type(rhs.op))
            return self.apply(found, [rhs.operand], {}, target, s,
                              lambda a, k: ast.UnaryOp(rhs.op, a[0]))
        if isinstance(rhs, ast.Subscript):
            found = registry.record(operator.getitem)
            index = rhs.slice
            from s2sgrad.transform.adjoints import index_expression

            return self.apply(found, [rhs.value, index_expression(index, self)], {}, target, s,
                              lambda a, k: ast.Subscript(a[0], index, ast.Load()))
        if isinstance(rhs, (ast.Tuple, ast.List)):
            tangents = [self.atom_tangent(e) for e in rhs.elts]
            if all(t is None for t in tangents):
                return None
            elts = [t if t is not None else self.zero(e) for t, e in zip(tangents, rhs.elts)]
            return type(rhs)(elts, ast.Load())
        if isinstance(rhs, ast.IfExp):
            body, orelse = self.atom_tangent(rhs.body), self.atom_tangent(rhs.orelse)
            if body is None and orelse is None:
                return None
            return ast.IfExp(rhs.test, body or self.zero(rhs.body), orelse or self.zero(rhs.orelse))
        if isinstance(rhs, ast.Call):
            return self.call_tangent(rhs, target, s)
        raise self.error(f"{type(rhs).__name__} expression", s)

    def sequence_tangent(self, binop):
        """The tangent of ``a + b`` or ``a * n`` where an operand may be a
        tuple or list: concatenated (repeated) tangents, an operand without
        one contributing its zeros (``(y0,) + (v,)``: ``(0.0, dv)``, not dv
        spread over both entries), or None; False when this is not such an
        operation (or batched code, whose tangents of sequences are lists of
        batched entries, reads it as any operator)."""
        primitive = sequence_operator(binop, self.sequences)
        if primitive is None or self.batched:
            return False
        left, right = self.atom_tangent(binop.left), self.atom_tangent(binop.right)
        if left is None and right is None:
            return None
        if primitive is containers.sequence_repeat:
            if left is not None and right is not None:
                return False  # (two active operands: arrays, an elementwise product)
            args = [left, binop.right] if left is not None else [binop.left, right]
        else:
            args = [left or self.zero(binop.left), right or self.zero(binop.right)]
        name = self.context.env_name(primitive, primitive.__name__)
        return ast.Call(ast.Name(name, ast.Load()), args, [])

    def call_tangent(self, call, target, s):
        func = self.context.resolve(call.func)
        if registry.is_nondifferentiable(func):
            return None
        given = list(call.args) + [k.value for k in call.keywords]
        if all(self.atom_tangent(a) is None for a in given):
            return None
        local = isinstance(call.func, ast.Name) and call.func.id in self.context.local_functions
        found = registry.record(func)
        if func is getattr(self.context, "call_vjp", None) and call.args and not local:
            return self.callee_vjp_tangent(call, s)  # (forward over a callee's VJP)
        if not local and found is None and inspect.isfunction(func) and \
                registry.is_user_function(func):
            return self.user_call_tangent(call, func, s)
        if local or (found is None and registry.is_user_function(func)):
            raise self.error(f"call to {self.analysis.spelling(call.func)}, which is not inlined "
                             "(forward mode)", s,
                             "forward mode differentiates functions it can inline")
        keywords = {k.arg: k.value for k in call.keywords}
        return self.apply(found, list(call.args), keywords, target, s,
                          lambda a, k: ast.Call(call.func, a,
                                                [ast.keyword(n, v) for n, v in k.items()]),
                          primitive=func)

    def user_call_tangent(self, call, func, s):
        """The tangent of a call to the user's function that was not
        inlined: the callee's generated forward code, at run time
        (``call_jvp``, cached by the callee's code)."""
        code = func.__code__
        params = list(code.co_varnames[:code.co_argcount])
        if code.co_flags & inspect.CO_VARARGS or len(call.args) > len(params):
            raise self.error(f"call to {self.analysis.spelling(call.func)} with variable "
                             "arguments (forward mode)", s)
        bound = dict(zip(params, call.args))
        bound.update({k.arg: k.value for k in call.keywords})
        wrt = [(p, self.atom_tangent(v)) for p, v in bound.items()
               if isinstance(v, ast.AST) and self.atom_tangent(v) is not None]
        if not wrt:
            return None
        try:  # (a callee forward mode cannot follow: refused here, at this call)
            self.context.callee_forward(func, [p for p, _ in wrt], self.batched)
        except UnsupportedSyntaxError as error:
            raise self.error(f"call to {self.analysis.spelling(call.func)}, which is not "
                             f"inlined (forward mode: {error.construct})", s) from None
        name = self.context.env_name(self.context.call_jvp, "call_jvp")
        return ast.Call(ast.Name(name, ast.Load()), [
            call.func, ast.Tuple([ast.Constant(p) for p, _ in wrt], ast.Load()),
            ast.List([t for _, t in wrt], ast.Load()), ast.Constant(self.batched),
            *call.args], list(call.keywords))

    def callee_vjp_tangent(self, call, s):
        """The tangent of ``call_vjp(f, wrt, seed, *args)`` (a gradient
        calling the VJP of a callee it did not inline): that VJP is a
        generated function of ``args`` and the seed, run forward as a user
        function is."""
        func = self.analysis.callee_function(call.args[0])
        names = _literal_names(self.analysis.constant_value(call.args[1]))
        if not inspect.isfunction(func) or names is None:
            raise self.error(f"call to {self.analysis.spelling(call.args[0])}, which is not "
                             "inlined (forward mode)", s)
        vjp = self.context.callee_vjp(func, names)
        code = vjp.__code__
        seed_name = code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]
        made = self.analysis.helper_call_of(self.context.callee_vjp, "callee_vjp",
                                            [call.args[0], call.args[1]])
        as_user_call = ast.Call(made, list(call.args[3:]),
                                list(call.keywords) + [ast.keyword(seed_name, call.args[2])])
        return self.user_call_tangent(as_user_call, vjp, s)

    def apply(self, found, args, keywords, target, s, rebuild, primitive=None):
        """The tangent of ``target = primitive(*args, **keywords)`` from its record.

        ``rebuild(args, keywords)`` spells the primitive applied to other
        arguments (the linear rules apply it to tangents).
        """
        if primitive is None:
            primitive = None if found is None else found.primitive
        tangents = {id(a): self.atom_tangent(a) for a in args + list(keywords.values())}
        if all(t is None for t in tangents.values()):
            return None
        if found is None or (found.jvp is None and found.vjp is None):
            raise self.no_rule(primitive, s)
        if found.jvp is None and (found.holds or found.structures or found.structured_cotangents):
            raise self.no_rule(primitive, s)  # (structure tangents are not built yet)
        if self.batched and found.batched_jvp is not None:
            template = _forward_template(found, found.batched_jvp)
            if template.refusal is not None:
                raise self.error(template.refusal, s)
            return self.by_template(template, found, args, keywords, tangents, target, s,
                                    keep_unbroadcast=True)
        if found.jvp is not None:
            template = _forward_template(found)
            if template.refusal is not None:
                raise self.error(template.refusal, s)
            if self.batched and not found.batches:
                return self.each_rule_direction(template, found, args, keywords, tangents,
                                                target, s)
            return self.by_template(template, found, args, keywords, tangents, target, s,
                                    keep_unbroadcast=True)
        vjp_template = self.vjp_template(found, s)
        if found.elementwise:
            return self.by_template(vjp_template, found, args, keywords, tangents, target, s,
                                    keep_unbroadcast=False)
        if found.linear or found.multilinear:
            bound = self.bind(vjp_template, found, args, keywords, s)
            differentiable = [bound[p] for i, p in enumerate(vjp_template.params)
                              if i < len(vjp_template.returns) and vjp_template.returns[i] is not None
                              and isinstance(bound[p], ast.AST)]
            active = [a for a in differentiable if tangents.get(id(a)) is not None]
            # arguments the rule does not differentiate carry no tangent
            if not active:
                return None
            if self.batched and not found.batches:
                return self.each_direction(found, primitive, args, keywords, tangents, active,
                                           differentiable, s)
            if found.multilinear:
                terms = [self.replaced(rebuild, args, keywords, {id(a): tangents[id(a)]})
                         for a in active]
                return self.total(terms, found)
            replacement = {id(a): tangents[id(a)] if tangents.get(id(a)) is not None
                           else self.zero(a) for a in differentiable}
            return self.replaced(rebuild, args, keywords, replacement)
        raise self.no_rule(primitive, s)

    def each_direction(self, found, primitive, args, keywords, tangents, active,
                       differentiable, s):
        """A linear or multilinear primitive without a batched form, batched:
        called once per direction (``each_direction``)."""
        if any(id(v) in {id(a) for a in differentiable} for v in keywords.values()):
            raise self.no_rule(primitive, s)  # (a tangent passed by keyword)
        function = ast.Name(self.context.env_name(primitive, _plain_name(primitive)), ast.Load())
        keyword_nodes = [ast.keyword(k, v) for k, v in keywords.items()]

        def call(replacement):
            new_args = [replacement.get(id(a), a) for a in args]
            positions = [i for i, a in enumerate(args) if id(a) in replacement]
            return self.batch_call("each_direction", [
                function, ast.Tuple([ast.Constant(i) for i in positions], ast.Load()),
                *new_args], keyword_nodes)

        if found.multilinear:
            return self.total([call({id(a): tangents[id(a)]}) for a in active], found)
        return call({id(a): tangents[id(a)] if tangents.get(id(a)) is not None
                     else self.zero(a) for a in differentiable})

    def each_rule_direction(self, template, found, args, keywords, tangents, target, s):
        """A forward rule without a batched form, batched: called once per
        direction (``each_rule_direction``), one call per active argument."""
        if template.vararg is not None:  # (its callers run direction by direction instead)
            raise self.error(f"batched tangents through {_describe(found.primitive)} "
                             "(no batched rule)", s, "register one with registry.defbatched")
        bound = self.bind(template, found, args, keywords, s)
        values = [bound[p] if isinstance(bound[p], ast.AST) else self.context.literal(bound[p])
                  for p in template.params]
        terms = []
        for i, param in enumerate(template.params):
            value = bound[param]
            if not isinstance(value, ast.AST) or tangents.get(id(value)) is None:
                continue
            if i >= len(template.returns) or template.returns[i] is None:
                continue
            entry = _rule_entry(template, i)
            name = ast.Name(self.context.env_name(entry, entry.__name__), ast.Load())
            terms.append(self.batch_call("each_direction", [
                name, ast.Tuple([ast.Constant(0)], ast.Load()), tangents[id(value)],
                ast.Name(target, ast.Load()), *values]))
        return self.total(terms, found) if terms else None

    def total(self, terms, found):
        """The sum of the tangent terms of several active arguments: entry by
        entry (``add_cotangents``) where the result is a list, never ``+``
        (which would concatenate the lists)."""
        if not (found.returns_list or found.sequence_of):
            return _sum(terms)
        total = terms[0]
        for term in terms[1:]:
            total = self.helper_call("add_cotangents", [total, term])
        return total

    def replaced(self, rebuild, args, keywords, replacement):
        new_args = [replacement.get(id(a), a) for a in args]
        new_keywords = {k: replacement.get(id(v), v) for k, v in keywords.items()}
        return rebuild(new_args, new_keywords)

    def vjp_template(self, found, s):
        try:
            template = template_for(found)
        except S2SGradError:
            raise self.no_rule(found.primitive, s) from None
        if template.refusal is not None:
            raise self.error(template.refusal, s)
        return template

    def bind(self, template, found, args, keywords, s):
        try:
            return template.bind(args, keywords)
        except TypeError as exc:
            raise self.error(f"call to {_describe(found.primitive)} with these arguments", s,
                             str(exc)) from None

    def by_template(self, template, found, args, keywords, tangents, target, s, keep_unbroadcast):
        bound = self.bind(template, found, args, keywords, s)
        values = {"ans": ast.Name(target, ast.Load())}
        wanted = {}
        for i, param in enumerate(template.params):
            value = bound[param]
            if param == template.vararg:
                # ``*args`` (np.einsum's operands): the rule's ``g`` for its
                # entry is the list of their tangents, None where inactive
                values[param] = ast.Tuple([v if isinstance(v, ast.AST) else self.context.literal(v)
                                           for v in value], ast.Load())
                given = [tangents.get(id(v)) if isinstance(v, ast.AST) else None for v in value]
                if any(t is not None for t in given):
                    wanted[i] = ast.List([ast.Constant(None) if t is None else t for t in given],
                                         ast.Load())
            elif isinstance(value, ast.AST):
                values[param] = value
                tangent = tangents.get(id(value))
                if tangent is not None:
                    if self.batched and found.elementwise:
                        tangent = self.lifted(tangent, value, target)
                    wanted[i] = tangent
            else:
                values[param] = self.context.literal(value)
        for name in template.free:
            values[name] = ast.Name(self.context.env_name(template.free_object(name), name),
                                    ast.Load())
        terms = []
        for i, tangent in sorted(wanted.items()):
            local = dict(values, g=tangent)
            for name in template.locals:
                local[name] = ast.Name(self.namer.fresh("_" + name.strip("_")), ast.Load())
            statements, exprs = template.instantiate(local, [i])
            if i not in exprs:
                continue
            kept, expr = _fold_locals(statements, exprs[i])
            if not keep_unbroadcast:
                kept = [self.strip_unbroadcast(k) for k in kept]
                expr = self.strip_unbroadcast(expr)
            self.pending.extend(self.marked(s, k) for k in kept)
            terms.append(expr)
        if not terms:
            return None
        if found.returns_list or found.sequence_of:  # (list tangents add entry by entry)
            return self.total(terms, found)
        total = simplify.expression(_sum(terms), self.context)
        if found.elementwise:
            total = self.broadcast(total, [bound[p] for p in template.params], target)
        return total

    def broadcast(self, expr, operands, target):
        """``expr`` spread over ``target``'s shape unless it has it already.

        An elementwise tangent has the broadcast shape of the operands it
        reads (primal values, or tangents: a tangent has its primal's
        shape); an operand it does not read (``c`` in the tangent ``dx`` of
        ``x + c``) may have stretched the result, unless it is a scalar or
        provably shaped like one that is read.
        """
        proven = self.facts.proven
        primal_of = {t: p for p, t in self.tangent_names.items()}
        read = {primal_of.get(n.id, n.id) for n in ast.walk(expr) if isinstance(n, ast.Name)}
        classes = {proven.of(name) for name in read}
        for operand in operands:
            if not isinstance(operand, ast.Name) or operand.id in read:
                continue
            c = proven.of(operand.id)
            if c == 0 or (c is not None and c in classes):
                continue
            if self.batched:
                return self.batch_call("batch_repeat_to", [expr, ast.Name(target, ast.Load())])
            return self.helper_call("repeat_to", [expr, ast.Name(target, ast.Load())])
        return expr

    def lifted(self, tangent, operand, target):
        """A batched tangent of an operand of an elementwise ``target``, lifted
        to the result's rank unless the operand provably has its shape."""
        proven = self.facts.proven
        c = proven.of(operand.id) if isinstance(operand, ast.Name) else None
        if c is not None and c == proven.of(target):
            return tangent
        return self.batch_call("lift", [tangent, ast.Name(target, ast.Load())])

    def strip_unbroadcast(self, expr):
        """``unbroadcast(e, like)`` -> ``e``: a tangent keeps the broadcast shape."""
        mode = self

        class Strip(ast.NodeTransformer):
            def visit_Call(self, node):
                self.generic_visit(node)
                if mode.context.resolve(node.func) is runtime.unbroadcast and len(node.args) == 2:
                    return node.args[0]
                return node

        return Strip().visit(expr)

    # --------------------------------------------------------------- names
    def atom_tangent(self, atom):
        """The tangent of an atom now: its tangent variable, or None (zero)."""
        if isinstance(atom, ast.Name) and atom.id in self.active and atom.id in self.live:
            return ast.Name(self.tangent_name(atom.id), ast.Load())
        return None

    def tangent_name(self, name):
        if name not in self.tangent_names:
            self.tangent_names[name] = self.namer.fresh("d" + name)
        return self.tangent_names[name]

    def zero(self, value, owned=False):
        """A zero tangent for ``value``: 0.0 for a number, None for None
        (a constant, or a name holding one), else ``zeros_like(value)``
        (``owned``: an array of its own, to be written into)."""
        if isinstance(value, ast.Name) and value.id in self.constants:
            value = self.constants[value.id]
        if isinstance(value, ast.Constant) and value.value is None:
            return ast.Constant(None)
        if isinstance(value, ast.Constant) and not isinstance(value.value, (int, float, complex)):
            return ast.Constant(0.0)  # (a string's: nothing reads it, batched or not)
        if self.batched:
            first = ast.Name(self.tangent_name(self.wrt[0]), ast.Load())
            return self.batch_call("batch_zeros", [value, first])
        if isinstance(value, ast.Constant):
            return self.helper_call("owned_copy", [ast.Constant(0.0)]) if owned else ast.Constant(0.0)
        return self.helper_call("zeros_like", [value])

    def helper_call(self, helper, args):
        name = self.context.env_name(getattr(runtime, helper), helper)
        return ast.Call(ast.Name(name, ast.Load()), list(args), [])

    def batch_call(self, helper, args, keywords=()):
        from s2sgrad.primitives import batching

        name = self.context.env_name(getattr(batching, helper), helper)
        return ast.Call(ast.Name(name, ast.Load()), list(args), list(keywords))

    def no_rule(self, primitive, s):
        return self.error(f"forward mode through {_describe(primitive)} (no forward rule)", s,
                          "register one with registry.defjvp")

    def error(self, construct, node, hint=None):
        return UnsupportedSyntaxError(construct, self.context.filename,
                                      getattr(node, "lineno", None), "forward", hint)


def _forward_template(found, rule=None):
    rule = found.jvp if rule is None else rule
    return _FORWARD_TEMPLATES.get(rule) or _FORWARD_TEMPLATES.setdefault(
        rule, Template(_JvpView(found, rule)))


_FORWARD_TEMPLATES = {}


class _JvpView:
    """A record seen through its forward rule (templates read ``rule.vjp``)."""

    def __init__(self, found, rule):
        self.vjp = rule
        self.primitive = found.primitive


def _rule_entry(template, i):
    """Entry ``i`` of a forward rule as a function of its own, ``(g, ans,
    *params)`` (the other entries are not computed: they would read ``g``
    as the tangent of another parameter)."""
    key = (template.rule.vjp, i)
    found = _RULE_ENTRIES.get(key)
    if found is not None:
        return found
    rule = template.rule.vjp
    names = ["g", "ans", *template.params]
    values = {n: ast.Name(n, ast.Load()) for n in names + sorted(template.locals) + template.free}
    statements, exprs = template.instantiate(values, [i])
    name = f"{rule.__name__}_{i}"
    params = ast.arguments(posonlyargs=[], args=[ast.arg(n) for n in names], kwonlyargs=[],
                           kw_defaults=[], defaults=[])
    fn = ast.FunctionDef(name=name, args=params, body=statements + [ast.Return(exprs[i])],
                         decorator_list=[])
    module = ast.fix_missing_locations(ast.Module([fn], []))
    namespace = dict(template.globals)
    exec(compile(module, f"<s2sgrad forward rule {rule.__qualname__}, entry {i}>", "exec"),
         namespace)
    entry = namespace[name]
    entry.__qualname__ = f"{rule.__qualname__}_{i}"
    return _RULE_ENTRIES.setdefault(key, entry)


_RULE_ENTRIES = {}


def _fold_locals(statements, expr):
    """(the rule's local assignments read more than once, ``expr`` with the
    others substituted in): a local read once is folded where it is read,
    one read twice stays a statement, so its value is computed once."""
    reads = {}
    for node in [expr] + [stmt.value for stmt in statements]:
        for name in _names_read(node):
            reads[name] = reads.get(name, 0) + 1
    values, kept = {}, []
    for stmt in statements:
        local = stmt.targets[0].id
        value = _substitute(stmt.value, values)
        if reads.get(local, 0) > 1:
            kept.append(assign(local, value))
        else:
            values[local] = value
    return kept, _substitute(expr, values)


def _names_read(node):
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]


def _sum(terms):
    total = terms[0]
    for term in terms[1:]:
        total = ast.BinOp(total, ast.Add(), term)
    return total


def _assigns(stmts, name):
    return any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id == name
               for s in stmts for n in ast.walk(s))


def _plain_name(primitive):
    name = getattr(primitive, "__name__", "function")
    return name if name.isidentifier() else "function"


def _copies_into(statement, name):
    """True for ``name = other_name``."""
    return (isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name)
            and statement.targets[0].id == name and isinstance(statement.value, ast.Name))


def _written_bases(tree):
    """The names an ``x[i] = v`` (or ``x[i][j] = v``) in ``tree`` writes into:
    like assigned names, they carry a tangent round a loop."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            base = node.value
            while isinstance(base, ast.Subscript):
                base = base.value
            if isinstance(base, ast.Name):
                found.add(base.id)
    return found
