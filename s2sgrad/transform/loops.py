"""Reverse mode through loops: replaying iterations from one stack.

The adjoint of a loop runs its body's adjoint once per iteration, backwards.
What an iteration overwrote and the adjoint reads is pushed before it is
overwritten and popped after the statement's adjoint ("restore markers"
placed by the reverse-mode stage); cheap values are recomputed instead of
saved, values read only for their shape are saved as shapes, and loops
that can stop early record their trip counts.

Output guarantees: every value a loop's adjoint reads is, when it reads
it, the value that iteration of the primal had (pushed before it was
overwritten and popped back, recomputed from values that are, or saved as
its shape where only the shape is read), and every push has its pop.
"""

import ast
import builtins
import copy
import dataclasses

from s2sgrad import backend
from s2sgrad.ir.facts import RestoreMarker
from s2sgrad.ir.nodes import walk
from s2sgrad.transform.adjoints import Adjoint, assign as _assign, simultaneous as _simultaneous, walk_statements as _walk_statements


class LoopAdjoints:
    """The loop part of :class:`s2sgrad.transform.reverse.ReverseMode`."""

    def restore(self, name, trip_count=False):
        """Marker: pop ``name``'s value saved before its assignment (kept
        only if the adjoint reads ``name``, or if it is a ``trip_count``;
        see ``place_saves``)."""
        marker = _assign(name, self.helper_call("pop", [ast.Name(self.stack_of(name), ast.Load())]))
        self.restore_markers[marker] = RestoreMarker(name, trip_count)
        return marker

    def restored_by(self, stmt):
        """The name ``stmt`` restores if it is a restore marker, else None."""
        marker = self.restore_markers.get(stmt)
        return None if marker is None else marker.name


    def stack_of(self, name):
        """The stack saving ``name``'s values (one per name: what a pop
        gives back is what the pushes of that name pushed, so read again a
        stack carries derivatives exactly when its name does)."""
        if name not in self._stacks:
            base = name.lstrip("_")
            self._stacks[name] = self.namer.fresh((base if base.isidentifier() else name) + "_stack")
        return self._stacks[name]


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
            # (the gradient of an argument that may be a container starts as a
            # placeholder: its cotangent sums entry by entry, never in place)
            array_wrt = name in self.wrt and name not in self.structured
            if state is None:
                zero = self.helper_call("zeros_like", [ast.Name(name, ast.Load())]) \
                    if array_wrt else ast.Constant(0.0)
                self.note_ownership(name, var, zero)
                if not array_wrt:
                    self.zero_filled.add(var)
                before.append(_assign(var, zero))
            elif not (isinstance(state.expr, ast.Name) and state.expr.id == var and state.like is None):
                value = self.materialise(state)
                if array_wrt and name not in self.reassigned:
                    # accumulated in place below: start from our own copy
                    value = self.helper_call("owned_copy", [value])
                    self.owned.add(var)
                before.append(_assign(var, value))
            elif array_wrt and var not in self.owned and name not in self.reassigned:
                before.append(_assign(var, self.helper_call("owned_copy", [state.expr])))
                self.owned.add(var)
            adj[name] = Adjoint(ast.Name(var, ast.Load()), False)
        # the replay restores (and recomputes) what the loop assigned, and
        # rebinds its target: adjoints read after the loop keep the values
        # of now (``da`` is ``s`` for ``return s * a``)
        for name in sorted(_stored_names(s)):
            before += self.free_aliases_of(name, adj, None)
        # and writes back the slots the loop overwrote (y[i] = ...): an
        # adjoint read after the loop through y (dx is y, for sum(y * x))
        # keeps the values of now, as a copy
        saved = self.context.normal_facts.saved_slots
        for name in sorted(_written_into(s, saved)):
            before += self.free_aliases_of_array(name, adj)
        assigned = {n.targets[0].id for n in _walk_statements(s.body)
                    if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)}
        for name in crossing:
            if name in assigned or name not in self.wrt:
                self.zero_filled.add(self.adjoint_name(name))
        inner = dict(adj)
        owned = set(self.owned)
        body = self.adjoint_block(s.body, inner, in_loop=True)
        # the loop may run no iteration: a gradient the body made an array of
        # its own (dx = dx + ...) is, after it, still what came before (a
        # read-only spread of a seed, another value's array)
        self.owned &= owned
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
            restore_counter = [self.restore(info["counter"], trip_count=True)]
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
            elif isinstance(stmt, ast.Expr) and self.stack_call(stmt.value, "push") is not None:
                names |= {n.id for n in stmt.value.args[1:] if isinstance(n, ast.Name)} & self.active
        return names - local_temps


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
        reads = {n.id for stmt in adjoint for n in walk(stmt)
                 if n.__class__ is ast.Name and n.ctx.__class__ is ast.Load}
        saved = set()
        adjoint = _filter_restores(adjoint, reads, saved, self.restore_markers)
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
            stack = [_assign(self.stack_of(name), ast.List([], ast.Load())) for name in sorted(saved)]
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
            readers = [k for k, st in enumerate(body) if self.restored_by(st) != name
                       and any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
                               for n in ast.walk(st))]
            if not readers:
                continue
            first, last = readers[0], readers[-1]
            if any(self.restored_by(body[k]) in inputs for k in range(first, last + 1)):
                continue
            body[:] = [st for st in body if self.restored_by(st) != name]
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
        loads = []  # every name read (in one walk of the adjoint)
        for stmt in adjoint:
            for node in walk(stmt):
                cls = node.__class__
                if cls is ast.Name:
                    if node.ctx.__class__ is ast.Load:
                        loads.append(node)
                elif cls is ast.Call and len(node.args) >= 2 and \
                        node.args[1].__class__ is ast.Name and \
                        self.context.resolve(node.func) in by_shape:
                    like = node.args[1].id
                    if uses.get(like, []) is not None:
                        uses.setdefault(like, []).append(node)
        for node in loads:
            calls = uses.get(node.id, ())
            if calls is not None and node.id in uses and \
                    not any(node is call.args[1] for call in calls):
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
                numpy = self.context.env_name(backend.xp, "np")
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
                if self.restored_by(marker) == name:
                    marker.targets[0].id = shape_name
                    marker.value.args[0] = ast.Name(self.stack_of(shape_name), ast.Load())
                    self.restore_markers[marker] = dataclasses.replace(
                        self.restore_markers.get(marker), name=shape_name)
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
        return ast.Expr(self.helper_call("push", [ast.Name(self.stack_of(name), ast.Load()),
                                                  ast.Name(name, ast.Load())]))


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


def _stored_names(tree):
    """Every name ``tree`` binds (assignment and loop targets, nested blocks)."""
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _written_into(tree, saved_slots):
    """Every name ``tree`` writes into by subscript (``y[i] = v``, nested
    blocks) keeping the overwritten slot (``saved_slots``): the adjoint
    writes it back."""
    return {n.targets[0].value.id for n in ast.walk(tree) if isinstance(n, ast.Assign)
            and isinstance(n.targets[0], ast.Subscript) and n in saved_slots}


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


def _filter_restores(stmts, reads, saved, markers):
    """Keep restore markers (``markers``: their RestoreMarker facts) of names
    the adjoint reads, and trip counts; record their names in ``saved``."""
    out = []
    for s in stmts:
        marker = markers.get(s)
        if marker is not None:
            if marker.name in reads or marker.trip_count:
                saved.add(marker.name)
                out.append(s)
            continue
        if getattr(s, "body", None):
            s.body = _filter_restores(s.body, reads, saved, markers) or [ast.Pass()]
        if getattr(s, "orelse", None):
            s.orelse = _filter_restores(s.orelse, reads, saved, markers)
        out.append(s)
    return out
