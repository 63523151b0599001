"""Reverse mode through array writes ``x[i] = v``.

A write saves what it overwrites (the normaliser emits the copy); its
adjoint moves the slot's cotangent to ``v``, clears the slot, and restores
the old value for the adjoints of earlier statements. Writes into arrays
that other names share are refused.

Output guarantees: the adjoint of a write reads the overwritten value from
the copy the normaliser saved (restoring it for earlier adjoints), and a
write that could reach memory another name shares is refused or guarded at
run time (``refuse_if_shared``), never differentiated as if private.
"""

import ast
import copy

from s2sgrad import runtime
from s2sgrad.primitives import registry
from s2sgrad.transform.adjoints import Adjoint, assign as _assign, index_expression as _index_expression, walk_statements as _walk_statements


class ArrayWrites:
    """The array-write part of :class:`s2sgrad.transform.reverse.ReverseMode`."""

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
        saved = self.context.normal_facts.saved_slots.get(s)
        if saved is not None:
            out += self.free_aliases_of_array(base, adj)  # keep what they saw
            out.append(ast.Assign([ast.Subscript(ast.Name(base, ast.Load()), copy.deepcopy(target.slice),
                                                 ast.Store())], ast.Name(saved.name, ast.Load())))
        return out


    def refuse_shared_writes(self, body):
        """:meth:`check_writes`, and the run-time guards it asks for inserted
        into ``body`` (forward mode runs it too: a write through a shared
        name is refused in both modes, never dropped as dead code)."""
        self.guards = []
        self.check_writes(body)
        body[:0] = self.aliased_argument_guards(body)
        for statement, argument, write in self.guards:
            _insert_after(body, statement, ast.Expr(self.helper_call("refuse_if_shared", [
                ast.Name(statement.targets[0].id, ast.Load()), ast.Name(argument, ast.Load()),
                ast.Constant(self.context.user_names.get(argument, argument)),
                ast.Name(self.context.env_name(self.context.filename, "source_file"), ast.Load()),
                ast.Constant(getattr(write, "lineno", None))])))

    def free_aliases_of_array(self, base, adj):
        """Copy out the cotangents read through array ``base`` (and through
        the names bound to it afterwards, ``z = y``) before the adjoint
        writes overwritten slots back into it: they keep the values of now."""
        copies = {}
        for st in _walk_statements(self.fn.body):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name) \
                    and isinstance(st.value, ast.Name):
                copies.setdefault(st.value.id, set()).add(st.targets[0].id)
        sharers, todo = {base}, [base]
        while todo:
            for name in copies.get(todo.pop(), ()):
                if name not in sharers:
                    sharers.add(name)
                    todo.append(name)
        out = []
        for name in sorted(sharers):
            out += self.free_aliases_of(name, adj, None, copy_arrays=True)
        return out

    def aliased_argument_guards(self, body):
        """``refuse_aliased_argument`` checks for each parameter written into
        (``x[i] = v``, ``x *= v``) and each other parameter: called with one array for
        both (``f(a, a)``, or a view of it), the write changes the other
        too, which the derivative, taking them apart, would not follow."""
        first_write = {}
        for st in _walk_statements(body):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Subscript):
                first_write.setdefault(st.targets[0].value.id, st)
            elif isinstance(st, ast.Assign) and isinstance(st.value, ast.Call) \
                    and len(st.value.args) == 2 and isinstance(st.value.args[1], ast.Name) \
                    and self.context.resolve(st.value.func) is runtime.in_place:
                # ``x *= 2`` writes into x's array (see runtime.in_place)
                first_write.setdefault(st.value.args[1].id, st)
        params = [a.arg for a in self.fn.args.posonlyargs + self.fn.args.args +
                  self.fn.args.kwonlyargs]
        source_file = ast.Name(self.context.env_name(self.context.filename, "source_file"),
                               ast.Load())
        guards = []
        for written in (p for p in params if p in first_write):
            for other in (p for p in params if p != written):
                guards.append(ast.Expr(self.helper_call("refuse_aliased_argument", [
                    ast.Name(other, ast.Load()), ast.Name(written, ast.Load()),
                    ast.Constant(self.context.user_names.get(written, written)),
                    ast.Constant(self.context.user_names.get(other, other)), source_file,
                    ast.Constant(getattr(first_write[written], "lineno", None))])))
        return guards

    def check_writes(self, body):
        """Refuse array writes that other names could observe.

        ``x[i] = v`` is differentiated when ``x`` is an argument or an array
        the function allocated, and no other name shares it (a copy ``y =
        x``, a tuple holding it, a call receiving it): otherwise the write
        would change values whose adjoints are tracked under other names.
        """
        written = {}
        for st in _walk_statements(body):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Subscript):
                written.setdefault(st.targets[0].value.id, st)
        if not written:
            return
        params = {a.arg for a in self.fn.args.posonlyargs + self.fn.args.args + self.fn.args.kwonlyargs}
        order = list(_walk_statements(body))
        is_join = self.context.normal_facts.if_joins.get
        joins = {}  # name -> sources of the copies merging if arms into it
        for st in order:
            if is_join(st, False):
                joins.setdefault(st.targets[0].id, []).append(st.value.id)
        todo = list(written)
        while todo:  # writing into a merged name writes into what was merged
            for source in joins.get(todo.pop(), ()):
                if source not in written:
                    written[source] = written.get(source) or order[0]
                    todo.append(source)
        fresh_value = _fresh_values(self, order)
        last_write = {}
        for k, st in enumerate(order):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Subscript):
                last_write[st.targets[0].value.id] = k
        for k, st in enumerate(order):
            if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name):
                target, rhs = st.targets[0].id, st.value
                if is_join(st, False):
                    continue  # checked through its source, just above
                if target in written and target not in params:
                    fresh = fresh_value(st) or self.context.normal_facts.private_items.get(st, False)
                    if not fresh:
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
                else:
                    # ``t = x[0:2]`` (a basic slice) or ``np.reshape(x, ...)`` is
                    # a view of ``x``: read after a write into ``x`` it has
                    # changed with it. (Read before, the adjoint's restoring of
                    # ``x`` restores it too.) An element or advanced indexing is
                    # a copy: checked when it runs.
                    viewed = _viewed_name(self, rhs)
                    if viewed in written and _read_after_a_write(order, k, target, viewed):
                        self.guards.append((st, viewed, written[viewed]))
                for name in shared:
                    if name in written and k < last_write.get(name, len(order)):
                        user = self.context.user_names.get(name, name)
                        raise self.error(
                            f"assignment into {user!r} while another name shares it", written[name],
                            f"copy it first: np.copy({user})")


def _insert_after(stmts, anchor, new):
    for i, s in enumerate(stmts):
        if s is anchor:
            stmts.insert(i + 1, new)
            return True
        for field in ("body", "orelse"):
            if _insert_after(getattr(s, field, []) or [], anchor, new):
                return True
    return False


def _read_after_a_write(order, k, view, base):
    """True when ``view`` (or a copy of it), assigned by ``order[k]``, may be
    read after a write into ``base`` that follows it: later in the order, or
    earlier in the body of a loop around ``order[k]`` that writes into ``base``
    (the next iteration reads it)."""
    names = {view}
    for st in order[k + 1:]:  # copies: r = t
        if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name) \
                and isinstance(st.value, ast.Name) and st.value.id in names:
            names.add(st.targets[0].id)

    def writes(st):
        return isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Subscript) \
            and st.targets[0].value.id == base

    def reads(st):
        return any(isinstance(n, ast.Name) and n.id in names and isinstance(n.ctx, ast.Load)
                   for n in _own_nodes(st))

    first_write = next((j for j in range(k + 1, len(order)) if writes(order[j])), None)
    if first_write is not None and any(reads(st) for st in order[first_write + 1:]):
        return True
    for j, loop in enumerate(order[:k]):
        if isinstance(loop, (ast.For, ast.While)):
            inside = {id(st) for st in _walk_statements(loop.body)}
            if id(order[k]) in inside:
                # a read before the assignment in the loop's body reads the view
                # of the iteration before, across the writes since
                before = [st for st in order[j + 1:k] if id(st) in inside]
                if any(reads(st) for st in before) and any(
                        writes(st) for st in order[j + 1:] if id(st) in inside):
                    return True
    return False


def _own_nodes(st):
    """The expression nodes of statement ``st`` (not of statements nested in it)."""
    for field in ("targets", "value", "test", "iter", "target"):
        part = getattr(st, field, None)
        for node in part if isinstance(part, list) else [part] if part is not None else []:
            yield from ast.walk(node)


def _fresh_values(mode, order):
    """``fresh(statement)``: True when the statement's value is an array
    nothing else refers to: an operator's result, an allocating call's, or
    a view (``runtime.in_place(t, x)``) of such a value read nowhere else."""
    reads = {}
    for st in order:
        for n in ast.walk(st):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                reads[n.id] = reads.get(n.id, 0) + 1
    assigned = {st.targets[0].id: st for st in order
                if isinstance(st, ast.Assign) and isinstance(st.targets[0], ast.Name)}

    def fresh(st, depth=0):
        rhs = st.value
        if isinstance(rhs, ast.BinOp) or (isinstance(rhs, ast.UnaryOp) and isinstance(rhs.op, ast.USub)):
            return True
        if not isinstance(rhs, ast.Call):
            return False
        found = registry.record(mode.context.resolve(rhs.func))
        if found is None:
            return False
        if found.allocates:
            return True
        k = found.view_of
        if k is None or k >= len(rhs.args) or not isinstance(rhs.args[k], ast.Name) or depth > 8:
            return False
        source = assigned.get(rhs.args[k].id)
        return source is not None and reads.get(rhs.args[k].id) == 1 and fresh(source, depth + 1)

    return fresh


def _viewed_name(mode, rhs):
    """The name ``rhs`` may be a view of (a subscript, a view function), else None."""
    if isinstance(rhs, ast.Subscript) and isinstance(rhs.value, ast.Name):
        return rhs.value.id
    if isinstance(rhs, ast.Call):
        found = registry.record(mode.context.resolve(rhs.func))
        viewed = None if found is None else found.view_of
        if viewed is not None and viewed < len(rhs.args) and isinstance(rhs.args[viewed], ast.Name):
            return rhs.args[viewed].id
    if isinstance(rhs, ast.Attribute) and isinstance(rhs.value, ast.Name):
        found = registry.attribute(rhs.attr)
        if found is not None and found.view_of == 0:  # x.T (normal form spells it np.transpose)
            return rhs.value.id
    return None


def _is_user_function(mode, call):
    func = mode.context.resolve(call.func)
    local = isinstance(call.func, ast.Name) and call.func.id in mode.context.local_functions
    return local or registry.is_user_function(func)
