"""Inlining: a call to the user's own function replaced by its normal form.

Two halves: :func:`inline_call`, which the normaliser calls where it meets
a call (it decides, normalises the callee with the caller's namer, renames
its locals apart and leaves the call in the program, recorded as an
``InlineSite``), and :func:`splice_calls`, the pipeline's ``inline`` pass,
which replaces each recorded call by the callee's statements (output stage
``inlined`` of :mod:`s2sgrad.ir.grammar`).

``h = cell(x[t], h)`` inside a differentiated function used to stay a call:
the adjoint then called the callee's generated VJP, which ran the callee's
primal a second time. Spliced into the caller instead -- parameters bound
to the argument atoms, every local renamed apart from the caller's names,
the result the callee's ``return`` atom -- the callee is differentiated as
if the user had written its body in place: no second primal, no call per
iteration, and the result can be differentiated again (second derivatives
through helper functions).

Only calls whose meaning is certain to survive the move are inlined; the
others stay calls (whose VJP generated code gets at run time through the
pipeline's ``call_vjp``):

* the callee is a plain function with source, no rule of its own, the same
  module globals as the caller (so never one of s2sgrad's runtime helpers),
  no closure, and only positional-or-keyword
  parameters (defaults that are literals);
* it is not already being inlined (recursion stays a call), and the
  nesting stays shallow;
* its normal form writes into no array but its parameters and its own
  locals (a write into a parameter is then the caller's own write into
  its argument), defines no nested function, and needs no run-time
  aliasing checks;
* none of the global names it reads is a local of the caller.

A parameter bound to a global object of the user's (``forward(layer, x)``,
which is what ``layer.forward(x)`` becomes) and never assigned is read as
that global in the callee's body, so that ``self.act(z)`` and ``self.W``
resolve as the caller's own ``layer.act(z)`` and ``layer.W`` would.

Output guarantees: after :func:`splice_calls` every recorded call is
replaced by statements of the ``inlined`` stage that compute what the call
computed, with the callee's
locals renamed apart from every name of the caller, its facts copied
(:func:`s2sgrad.ir.facts.copy_facts`) and the function recorded among what
the cache re-checks, and no nested ``def`` is left that nothing refers
to; a call that cannot be inlined is left exactly as it was.
"""

import ast
import copy
import inspect

from s2sgrad import runtime
from s2sgrad.errors import ArgumentClassNeeded, S2SGradError
from s2sgrad.frontend.parse import LOCAL, UNRESOLVED, parse_function, plain_parameters
from s2sgrad.ir.facts import InlineSite, copy_facts
from s2sgrad.ir.nodes import walk
from s2sgrad.primitives import containers, registry

#: calls inlined inside calls inlined ... at most this deep
MAX_DEPTH = 8
#: callees whose normal form is longer stay calls (code size)
MAX_STATEMENTS = 400
#: the sharer standing for the caller's names when a function's parameters
#: outlive it (a callee's): not an identifier, so never read by the program
CALLER = "<caller>"


def inline_call(normaliser, func, args, keywords, origin):
    """Splice the call ``func(*args, **keywords)`` into ``normaliser``'s output.

    ``args`` and ``keywords`` are atoms already. Returns the atom holding
    the call's value, or None when the call stays a call.
    """
    local = _local_function(normaliser, func)
    if local is not None:
        callee, key = local, ("nested def", func.id)
        bound = _bind_definition(local, args, keywords)
    else:
        callee = _inlinable(normaliser, func)
        if callee is None:
            return None
        key = callee.__code__
        bound = _bind(callee, args, keywords, normaliser)
    if bound is None:
        return None
    try:
        parsed = normaliser.parsed.derived(copy.deepcopy(local)) if local is not None \
            else _globals_in_place(parse_function(callee), bound, normaliser)
        # the callee is normalised by the caller's kind of normaliser, so
        # this module needs none of its own (and normalise imports this one)
        inner = type(normaliser)(parsed, normaliser.namer)
        inner.inlining = normaliser.inlining + (key,)
        inner.params_outlive = True
        inner.updated_params = params_updated_in_place(parsed.tree)
        # a parameter bound to an argument of the caller's whose class is known
        for param, atom in bound:
            if isinstance(atom, ast.Name) and atom.id in normaliser.argument_classes:
                inner.argument_classes[param] = normaliser.argument_classes[atom.id]
                inner.argument_roots[param] = normaliser.argument_roots.get(atom.id, atom.id)
        if local is not None:  # the nested defs it may call, inlined in turn
            inner.local_functions = dict(normaliser.local_functions)
            inner.facts.nested_defs.update(normaliser.facts.nested_defs)
            inner.current.update((name, name) for name in normaliser.local_functions)
        before = set(normaliser.namer.taken)
        tree = splice_calls(inner.function(), inner.facts)  # (its own calls first)
    except ArgumentClassNeeded as needed:
        _needs_callers_classes(needed, bound, normaliser)
        return None
    except S2SGradError:
        return None  # the call stays a call; its VJP reports the problem if it matters
    if not _splicable(inner, tree, normaliser, parsed):
        return None
    normaliser.handlers.extend(inner.handlers)  # (its except clauses are the caller's now)
    stored = {n.id for n in walk(tree) if isinstance(n, ast.Name)
              and isinstance(n.ctx, ast.Store)}
    # a parameter the callee never assigns reads the argument's atom itself
    substitutes = {param: atom for param, atom in bound if param not in stored}
    renames = _renames(tree, set(substitutes), before, normaliser)
    *body, result = tree.body
    for param, atom in bound:
        if param not in substitutes:
            target = renames.get(param, param)
            normaliser.emit(ast.Assign([ast.Name(target, ast.Store())], atom), origin)
            normaliser.note_sharing(target, atom)
    value = _renamed(result, renames, substitutes, origin, inner.facts, normaliser.facts).value
    last = body[-1] if body else None
    folds = isinstance(value, ast.Name) and isinstance(last, ast.Assign) \
        and isinstance(last.targets[0], ast.Name) and last.targets[0].id == result.value.id \
        and sum(isinstance(n, ast.Name) and n.id == result.value.id
                for stmt in body for n in walk(stmt)) == 1
    if folds and isinstance(last.value, (ast.Name, ast.Constant)):
        # ``result = v; return result``: the value is ``v`` itself
        body.pop()
        value = _renamed(ast.Return(last.value), renames, substitutes, origin, inner.facts,
                         normaliser.facts).value
        folds = False
    call = ast.Call(normaliser.copy(func), [normaliser.copy(a) for a in args],
                    [ast.keyword(k.arg, normaliser.copy(k.value)) for k in keywords])
    defined = {renames.get(name, name) for name in stored}
    # the call stays in the normal form until the inline pass splices the body there
    if isinstance(value, ast.Name) and value.id in defined:
        site = ast.Assign([ast.Name(value.id, ast.Store())], call)
    else:
        site = ast.Expr(call)
    found = InlineSite(tuple(body), renames, substitutes, inner.facts, origin)
    if folds and isinstance(site, ast.Assign):
        # ``return <operation>``: the caller's copy of the value becomes the
        # operation itself (see splice_calls)
        found.operation = OperationResult(
            isinstance(last.value, ast.Call), _renamed_reads(last.value, renames, substitutes))
        normaliser.inline_results[value.id] = found
    normaliser.facts.inline_sites[site] = found
    normaliser.emit(site, origin)
    _merge_state(normaliser, inner, renames, substitutes)
    for param, atom in bound:
        if param in inner.updated_params:
            final = inner.current[param]
            _written_through(normaliser, atom, renames.get(final, final), ast.unparse(func), origin)
    if local is None and not (isinstance(func, ast.Name) and func.id in normaliser.env):
        # (a name the normaliser bound is checked through the text it stands for)
        normaliser.inlined[ast.unparse(func)] = callee
    normaliser.inlined.update(inner.inlined)
    return value


def params_updated_in_place(tree):
    """The parameters of ``tree`` (a FunctionDef) that its code updates with
    ``param op= v`` and never binds otherwise: on an array argument the
    update is in place, so the caller's array is the parameter's final
    value; on a number the caller's value stays as it was."""
    params = [a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs]
    augmented = {n.target for n in ast.walk(tree) if isinstance(n, ast.AugAssign)}
    updated = {t.id for t in augmented if isinstance(t, ast.Name)}
    bound = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store) and n not in augmented}
    return frozenset(p for p in params if p in updated and p not in bound)


def _written_through(normaliser, atom, final, callee, origin):
    """After an inlined call that updated a parameter in place: the caller's
    argument ``atom`` becomes ``written_through(atom, final)`` (the new value
    for an array); other names sharing it would change too: refused for
    arrays at run time."""
    if not isinstance(atom, ast.Name):
        return
    name = atom.id
    if normaliser.shared.get(name):
        normaliser.guard_shared_write(runtime.refuse_shared_argument, name, [
            ast.Constant(normaliser.user_names.get(name, name)), ast.Constant(callee)], origin)
    # (the caller's own parameters are versions named as themselves)
    user = next((u for u, version in normaliser.current.items() if version == name), None)
    if user is None or normaliser.rebinding == (user, origin):
        return  # a temporary, or ``w = step(w)``: nobody reads the old value again
    helper = normaliser.env_helper(containers.written_through, "written_through")
    normaliser.assign_value(user, ast.Call(ast.Name(helper, ast.Load()),
                                           [ast.Name(name, ast.Load()), ast.Name(final, ast.Load())], []),
                            origin)
    normaliser.share(normaliser.current[user], final)


class OperationResult:
    """Of an inlined callee ending ``result = <operation>; return result``."""

    __slots__ = ("is_call", "reads")

    def __init__(self, is_call, reads):
        #: whether the operation is a call (kept for its effect if the value is not used)
        self.is_call = is_call
        #: the caller's names it reads
        self.reads = reads


def _renamed_reads(expr, renames, substitutes):
    reads = set()
    for n in walk(expr):
        if isinstance(n, ast.Name):
            atom = substitutes.get(n.id)
            if atom is None:
                reads.add(renames.get(n.id, n.id))
            elif isinstance(atom, ast.Name):
                reads.add(atom.id)
    return reads


def splice_calls(fn, facts):
    """The inline pass: every call site ``facts.inline_sites`` records (the
    normaliser decided to inline it) replaced by the callee's normal form,
    renamed apart; then the run-time sharing checks no later statement
    needs and the nested ``def``s no statement refers to any more are
    dropped. ``fn`` is changed in place and returned.

    ``result = <operation>`` ending a callee whose value the caller copies
    right away is assigned to the caller's name itself (``h = np.tanh(...)``,
    not ``result = np.tanh(...); h = result``).
    """
    sites = facts.inline_sites
    *body, ret = fn.body
    if len(sites):
        loads = {}
        for node in walk(fn):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                loads[node.id] = loads.get(node.id, 0) + 1
        body = _spliced(body, sites, facts, loads, in_loop=False)
    drop_unneeded_guards(body, facts.shared_array_checks)
    drop_uncalled_defs(body)
    fn.body = body + [ret]
    return fn


def _spliced(stmts, sites, facts, loads, in_loop):
    out = []
    for i, s in enumerate(stmts):
        site = sites.get(s)
        if site is None:
            if not isinstance(s, ast.FunctionDef):
                loop = in_loop or isinstance(s, (ast.For, ast.While))
                for field in ("body", "orelse"):
                    block = getattr(s, field, None)
                    if block:
                        setattr(s, field, _spliced(block, sites, facts, loads, loop))
            out.append(s)
            continue
        body = [_renamed(stmt, site.renames, site.substitutes, site.origin, site.facts, facts)
                for stmt in site.body]
        after = stmts[i + 1] if i + 1 < len(stmts) else None
        if isinstance(s, ast.Assign) and _copied_at_once(s.targets[0].id, body, after, loads,
                                                         in_loop):
            after.value = body.pop().value
        elif site.unused and body:  # (its value unused: a call is kept for its effect)
            last = body.pop()
            if isinstance(last.value, ast.Call):
                body.append(ast.copy_location(ast.Expr(last.value), last))
        out.extend(body)
    return out


def _copied_at_once(name, body, after, loads, in_loop):
    """True when ``body`` ends by computing ``name`` (its only mention) and
    the next statement, ``after``, only copies it (read nowhere else)."""
    last = body[-1] if body else None
    if not (isinstance(last, ast.Assign) and isinstance(last.targets[0], ast.Name)
            and last.targets[0].id == name and loads.get(name) == 1
            and isinstance(after, ast.Assign) and isinstance(after.targets[0], ast.Name)
            and isinstance(after.value, ast.Name) and after.value.id == name):
        return False
    if sum(isinstance(n, ast.Name) and n.id == name for stmt in body for n in walk(stmt)) != 1:
        return False
    # (x = f(x) in a loop: computed apart first, so the adjoint sees the old x)
    target = after.targets[0].id
    return not (in_loop and any(isinstance(n, ast.Name) and n.id == target
                                for n in walk(last.value)))


def drop_unneeded_guards(body, checks):
    """Remove shared-array guards (``checks``: their SharedArrayCheck facts)
    when no sharer is read afterwards.

    ``a, x = f(...)`` shares ``x`` with a temporary tuple nobody reads
    again; ``x += y`` then changes nothing anyone can see.
    """
    order = list(_flatten(body))
    for position, stmt in enumerate(order):
        check = checks.get(stmt)
        if check is None or check.in_loop or CALLER in check.sharers:
            continue
        later = order[position + 1:]
        if not any(isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id in check.sharers
                   for st in later for n in walk(st)):
            _remove(body, stmt)


def drop_uncalled_defs(body):
    """Remove nested ``def``s no statement refers to any more (every call inlined)."""
    defs = [s for s in _flatten(body) if isinstance(s, ast.FunctionDef)]
    for node in defs:
        used = any(isinstance(n, ast.Name) and n.id == node.name
                   for s in _flatten(body) if s is not node for n in _own_parts(s))
        if not used:
            _remove(body, node)


def _flatten(stmts):
    for s in stmts:
        yield s
        if not isinstance(s, ast.FunctionDef):
            for field in ("body", "orelse"):
                yield from _flatten(getattr(s, field, []) or [])


def _own_parts(stmt):
    """The nodes of ``stmt`` outside the statements nested in it."""
    if isinstance(stmt, ast.FunctionDef):
        return walk(stmt)
    for field, value in ast.iter_fields(stmt):
        if field in ("body", "orelse"):
            continue
        for node in value if isinstance(value, list) else [value]:
            if isinstance(node, ast.AST):
                yield from walk(node)


def _remove(stmts, target):
    for i, s in enumerate(stmts):
        if s is target:
            del stmts[i]
            return True
        for field in ("body", "orelse"):
            if _remove(getattr(s, field, []) or [], target):
                return True
    return False


#: methods that change the list, dict or array they are called on
MUTATING_METHODS = frozenset({
    "append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault",
    "popitem", "sort", "reverse", "fill", "resize", "put", "itemset", "partition"})


def outside_write(callee):
    """What ``callee``'s own code writes that outlives the call -- a
    parameter's items, a global, a list or dict it was passed -- as the
    text a refusal names, or None.

    A call that is not inlined is differentiated through its VJP, which
    knows nothing of such writes (the caller's gradient would silently miss
    them), so the normaliser refuses it. Names the callee assigns are its
    own; any other name whose item, attribute or contents it changes is not.
    """
    try:
        parsed = parse_function(callee)
    except S2SGradError:
        return None
    tree = parsed.tree
    own = {n.id for n in walk(tree) if isinstance(n, ast.Name)
           and isinstance(n.ctx, ast.Store)}
    params = {a.arg for a in tree.args.posonlyargs + tree.args.args + tree.args.kwonlyargs}
    if tree.args.vararg:
        params.add(tree.args.vararg.arg)
    if tree.args.kwarg:
        params.add(tree.args.kwarg.arg)
    own -= params

    def outside(node):
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        return isinstance(node, ast.Name) and node.id not in own

    for node in walk(tree):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return ", ".join(node.names)
        if isinstance(node, (ast.Subscript, ast.Attribute)) \
                and isinstance(node.ctx, (ast.Store, ast.Del)) and outside(node.value):
            return ast.unparse(node.value)
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in MUTATING_METHODS \
                and outside(node.func.value):
            return ast.unparse(node.func.value)
        for k in node.keywords:  # np.sin(v, out=a)
            if k.arg == "out" and outside(k.value):
                return ast.unparse(k.value)
        found = registry.record(parsed.resolve(node.func))
        if found is not None and found.mutates and node.args and outside(node.args[0]):
            return ast.unparse(node.args[0])  # np.copyto(a, v)
    return None


def _local_function(normaliser, func):
    """The nested ``def`` (its captured variables as keyword-only parameters,
    see ``Normaliser.nested_def``) a call calls, when it may be inlined."""
    if not isinstance(func, ast.Name) or func.id not in normaliser.local_functions:
        return None
    node = normaliser.local_functions[func.id]
    if ("nested def", func.id) in normaliser.inlining or len(normaliser.inlining) > MAX_DEPTH \
            or node.args.vararg or node.args.kwarg or node.args.posonlyargs:
        return None
    return node


def _bind_definition(node, args, keywords):
    """:func:`_bind` for a nested ``def`` (literal defaults only)."""
    params = [a.arg for a in node.args.args]
    if len(args) > len(params):
        return None
    given = dict(zip(params, args))
    names = params + [a.arg for a in node.args.kwonlyargs]
    for keyword in keywords:
        if keyword.arg not in names or keyword.arg in given:
            return None
        given[keyword.arg] = keyword.value
    defaults = dict(zip(params[len(params) - len(node.args.defaults):], node.args.defaults))
    defaults.update((a.arg, d) for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults)
                    if d is not None)
    for name, default in defaults.items():
        if name not in given:
            if not isinstance(default, ast.Constant):
                return None
            given[name] = ast.Constant(default.value)
    if set(given) != set(names):
        return None
    return [(name, given[name]) for name in names]


def _inlinable(normaliser, func):
    """The function object ``func`` calls, when it may be inlined, else None."""
    if not isinstance(func, (ast.Name, ast.Attribute)):
        return None
    if isinstance(func, ast.Name) and func.id in normaliser.current:
        return None
    callee = normaliser.resolve(func)  # (also a method's function the normaliser named)
    if callee is LOCAL or callee is UNRESOLVED or not inspect.isfunction(callee):
        return None
    code = callee.__code__
    if registry.lookup(callee) is not None or registry.is_nondifferentiable(callee) \
            or callee.__globals__ is not normaliser.parsed.globals \
            or code.co_freevars or code.co_kwonlyargcount or code.co_posonlyargcount \
            or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
                                | inspect.CO_GENERATOR | inspect.CO_COROUTINE
                                | inspect.CO_ASYNC_GENERATOR) \
            or code in normaliser.inlining or len(normaliser.inlining) > MAX_DEPTH \
            or hasattr(callee, "__wrapped__"):
        return None
    return callee


def _needs_callers_classes(needed, bound, normaliser):
    """A callee calling methods of parameters whose classes it needs: when
    each is bound to a parameter of the caller's (``helper(model, x)``), the
    caller needs those arguments' classes (raised again for them); otherwise
    the call stays a call, whose VJP finds the classes when it runs."""
    atoms = dict(bound)
    names = [atoms[name].id for name in needed.names if isinstance(atoms.get(name), ast.Name)]
    if len(names) == len(needed.names) and set(names) <= plain_parameters(normaliser.parsed.tree):
        needed.names = tuple(names)
        raise needed


def _globals_in_place(parsed, bound, normaliser):
    """``parsed`` with each parameter that is bound to one of the module's
    globals (``layer`` in ``forward(layer, x)``, a method called on a global
    object) and never assigned read as that global, so that what the callee
    does with it (``self.act(z)``, ``self.W``) resolves as the caller's own
    ``layer.act(z)`` would. The callee has the caller's globals (see
    :func:`_inlinable`)."""
    stored = {n.id for n in walk(parsed.tree) if isinstance(n, ast.Name)
              and not isinstance(n.ctx, ast.Load)}
    known = {}
    for param, atom in bound:
        base = atom
        while isinstance(base, ast.Attribute):
            base = base.value
        # (the callee has no closure: a name it does not bind is a global)
        if isinstance(base, ast.Name) and param not in stored \
                and base.id not in parsed.local_names and base.id not in normaliser.current \
                and base.id in normaliser.parsed.globals and base.id not in normaliser.parsed.closure \
                and registry.is_user_object(normaliser.resolve(atom)):
            known[param] = atom
    if not known:
        return parsed

    class Substitute(ast.NodeTransformer):
        def visit_Name(self, node):
            if isinstance(node.ctx, ast.Load) and node.id in known:
                return ast.copy_location(copy.deepcopy(known[node.id]), node)
            return node

        def visit_FunctionDef(self, node):  # (a nested def's names are its own)
            return node

        visit_Lambda = visit_AsyncFunctionDef = visit_FunctionDef

    tree = copy.deepcopy(parsed.tree)
    tree.body = [Substitute().visit(stmt) for stmt in tree.body]
    return parsed.with_tree(tree)


def _bind(callee, args, keywords, normaliser):
    """[(parameter, atom)] for the call, defaults filled in; None if they do not fit."""
    code = callee.__code__
    params = list(code.co_varnames[:code.co_argcount])
    if len(args) > len(params):
        return None
    given = dict(zip(params, args))
    for keyword in keywords:
        if keyword.arg not in params or keyword.arg in given:
            return None
        given[keyword.arg] = keyword.value
    defaults = callee.__defaults__ or ()
    for param, default in zip(params[len(params) - len(defaults):], defaults):
        if param not in given:
            if not (default is None or type(default) in (bool, int, float, str)):
                return None
            given[param] = ast.Constant(default)
    if set(given) != set(params):
        return None
    return [(param, given[param]) for param in params]


def _splicable(inner, tree, normaliser, parsed):
    """True when the callee's normal form can run among the caller's names."""
    if set(inner.local_functions) - set(normaliser.local_functions) \
            or len(tree.body) > MAX_STATEMENTS:
        return False
    if any(value is runtime.refuse_shared_array or value is runtime.refuse_parameter_update
           for value in inner.env.values()):
        return False
    stored = {node.id for node in walk(tree)
              if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    params = {a.arg for a in tree.args.args}
    for node in walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store) and not (
                isinstance(node.value, ast.Name) and node.value.id in stored | params):
            return False
    for node in walk(tree):
        if isinstance(node, ast.Name) and node.id not in stored and node.id not in params \
                and node.id not in inner.env:
            # a global of the callee: it must mean the same in the caller
            if normaliser.parsed.resolve(ast.Name(node.id, ast.Load())) is not \
                    parsed.resolve(ast.Name(node.id, ast.Load())):
                return False
    return True


def _renames(tree, substituted, before, normaliser):
    """Callee local -> caller name: locals the caller might also use get fresh names."""
    locals_ = {a.arg for a in tree.args.args} - substituted
    locals_ |= {n.id for n in walk(tree) if isinstance(n, ast.Name)
                and isinstance(n.ctx, ast.Store)}
    renames = {}
    for name in sorted(locals_):
        if name in before:
            renames[name] = normaliser.namer.fresh(name)
        else:
            normaliser.namer.reserve(name)
    return renames


def _renamed(stmt, renames, substitutes, origin, callee_facts, facts):
    """``stmt`` with names renamed or substituted, placed at the call's line.

    The callee's normaliser recorded ``callee_facts`` about ``stmt``; the
    caller's ``facts`` learn them of the copy.
    """

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in substitutes:
                atom = substitutes[node.id]
                substitute = copy.deepcopy(atom)
                copy_facts(atom, substitute, facts, facts)
                return substitute
            if node.id in renames:
                node.id = renames[node.id]
            return node

    copied = copy.deepcopy(stmt)
    copy_facts(stmt, copied, callee_facts, facts)
    stmt = Rename().visit(copied)
    for node in walk(stmt):
        if "lineno" in node._attributes:
            node.lineno = node.end_lineno = origin.lineno
            node.col_offset, node.end_col_offset = 0, 0
    return stmt


def _merge_state(normaliser, inner, renames, substitutes):
    """What the callee's normaliser learnt, under the caller's names.

    A substituted parameter is the caller's argument itself: a view the
    callee takes of it (``t = v[0:2]``) is a view of the caller's array,
    which later writes into it must know about.
    """
    def name(n):
        atom = substitutes.get(n)
        if atom is not None:
            return atom.id if isinstance(atom, ast.Name) else None
        return renames.get(n, n)

    for key, value in inner.env.items():
        normaliser.env.setdefault(key, value)
    for version, sharers in inner.shared.items():
        sharers = {name(s) for s in sharers} - {None, CALLER}
        if name(version) not in (None, CALLER) and sharers:
            normaliser.shared.setdefault(name(version), set()).update(sharers)
    for version, user in inner.user_names.items():
        if name(version) is not None and version not in substitutes:
            normaliser.user_names.setdefault(name(version), user)
