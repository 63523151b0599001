"""Python idioms of numerical code, spelled in the normal form's terms.

The normaliser hands these constructs here; each becomes ordinary normal
form (operations on atoms, ``for`` loops over ranges) built from the
container helpers of :mod:`s2sgrad.primitives.containers`, which carry
derivative rules like any primitive:

* dict displays ``{k: v}`` and ``dict(k=v)`` -> ``dict_display(keys, values)``;
* list, dict and set-free comprehensions and generator expressions -> a
  ``for`` loop appending to a fresh list (or writing a fresh dict);
* ``d[k] = v`` and ``d[k] += v`` on a dict or list the function builds
  itself -> ``d = with_item(d, k, v)``; ``xs.append(v)``, ``xs.extend(vs)``,
  ``xs.pop()`` -> a new list bound to ``xs``. A container the function
  shares (copied to another name, held by another container, passed to a
  function, or a parameter: the caller's) would see the write through the
  other reference, which a new list does not: those writes are refused;
* ``d.get``, ``d.items()``, ``d.values()``, ``d.keys()``;
* ``max(a, b, c)`` -> ``max(max(a, b), c)``; a star argument of a call
  with no derivative (``np.random.rand(*x.shape)``); a method of an object
  held in a global (``layer.forward(x)``: its class's function, called with
  the object);
* ``x.item(...)`` and ``x.tolist()`` of an array (helpers with rules);
  ``model.forward(x)`` of an argument ``model`` whose class the pipeline's
  caller gives (:func:`argument_method`: that class's function, given the
  argument; ArgumentClassNeeded until the class is known);
* f-strings (text: no derivative), ``raise`` (a check of the primal) and
  ``try`` statements, of which the body, ``else`` and ``finally`` run (the
  ``except`` clauses are recorded: an exception one of them would catch is
  refused at its line when it happens, never a silently different program).

Output guarantees: every idiom it accepts becomes statements of the
``normal`` stage whose meaning is the idiom's (a container helper with a
rule, or a loop); a write it cannot prove private, and a handler that would
run, raise an error in the user's terms instead of a different program.
"""

import ast
import builtins
import copy
import inspect
import types

from s2sgrad import runtime
from s2sgrad.errors import ArgumentClassNeeded, S2SGradError
from s2sgrad.frontend.parse import LOCAL, UNRESOLVED, parse_function, plain_parameters
from s2sgrad.primitives import containers, registry, shape

#: expressions :func:`expression` spells
EXPRESSIONS = (ast.Dict, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.JoinedStr)

#: calls that build a list or dict, whatever their arguments
_BUILDERS = {builtins.dict: "dict", builtins.list: "list"}
#: container methods, and the kind of container each needs
_METHODS = {"append": "list", "extend": "list", "pop": "list",
            "get": "dict", "items": "dict", "values": "dict", "keys": "dict"}
#: array methods with no NumPy function of their own, and the helpers
#: spelling them (the tape's tensors have methods of these names)
ARRAY_METHODS = {"item": shape.item, "tolist": containers.tolist}


# ------------------------------------------------------------- containers
def private_containers(tree, resolve):
    """User names of ``tree`` that always hold a list or dict the function
    itself builds and that no other reference can reach: name -> kind.

    Every assignment to such a name is a display, a comprehension, a
    ``dict(...)``/``list(...)`` call or a call of a helper returning a new
    one (:func:`_returned_kind`), and every read of it is a subscript, a
    method call on it, an iteration, or an argument of a call with a
    derivative rule or none (``np.stack(xs)``, ``len(xs)``, ``sum(xs)``),
    which cannot keep it, or ``return xs`` (the function's locals end there). Writes
    into these are new containers bound to the same name: nothing else sees
    the old one.
    """
    kinds = {}
    defs = {n.name: n for n in _own_nodes(tree) if isinstance(n, ast.FunctionDef)}
    for node in _own_nodes(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name, value in _bindings(target, node.value):
                    kinds.setdefault(name, set()).add(_kind_of(value, resolve, defs))
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
            kind = _kind_of(node.value, resolve, defs) if isinstance(node, ast.AugAssign) else None
            kinds.setdefault(node.target.id, set()).add(kind)
        elif isinstance(node, (ast.For, ast.comprehension, ast.withitem, ast.NamedExpr)):
            target = getattr(node, "target", None) or getattr(node, "optional_vars", None)
            for name in _names(target):
                kinds.setdefault(name, set()).add(None)
    params = {a.arg for a in ast.walk(tree.args) if isinstance(a, ast.arg)}
    found = {name: next(iter(k)) for name, k in kinds.items()
             if len(k) == 1 and None not in k and name not in params}
    iterated = _iterator_calls(tree, resolve)
    for node, parent in _reads(tree):
        if node.id in found and not _keeps_no_reference(node, parent, resolve) \
                and not isinstance(parent, ast.Return) and id(parent) not in iterated:
            del found[node.id]
    return found


def _iterator_calls(tree, resolve):
    """Ids of the ``enumerate``/``zip``/``reversed`` calls a ``for`` or a
    comprehension iterates (``for i, (a, b) in enumerate(zip(xs, ys))``):
    their arguments are iterated there, as ``for v in xs`` iterates ``xs``."""
    found = set()
    todo = [n.iter for n in _own_nodes(tree) if isinstance(n, (ast.For, ast.comprehension))]
    while todo:
        call = todo.pop()
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) \
                and resolve(call.func) in _ITERATORS:
            found.add(id(call))
            todo.extend(call.args)
    return found


#: functions whose returned kind is being worked out (a recursive helper: None)
_RETURNED_IN_PROGRESS = set()


def _returned_kind(function):
    """"list" or "dict" when every ``return`` of the plain Python function
    ``function`` returns a container only it built and held (so the caller
    gets a new one nobody else can reach), else None."""
    if function in _RETURNED_IN_PROGRESS:
        return None
    _RETURNED_IN_PROGRESS.add(function)
    try:
        parsed = parse_function(function)
        return _def_returned_kind(parsed.tree, parsed.resolve)
    except S2SGradError:
        return None
    finally:
        _RETURNED_IN_PROGRESS.discard(function)


def _def_returned_kind(tree, resolve):
    """:func:`_returned_kind` of the function definition ``tree``."""
    if tree in _RETURNED_IN_PROGRESS:
        return None
    _RETURNED_IN_PROGRESS.add(tree)
    try:
        found = private_containers(tree, resolve)
    finally:
        _RETURNED_IN_PROGRESS.discard(tree)
    nodes = list(_own_nodes(tree))
    if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in nodes):
        return None
    kinds = {found.get(n.value.id) if isinstance(n.value, ast.Name) else None
             for n in nodes if isinstance(n, ast.Return)}
    return next(iter(kinds)) if len(kinds) == 1 else None


def _own_nodes(tree):
    """The nodes of ``tree``'s body outside nested functions and lambdas."""
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.Lambda, ast.AsyncFunctionDef)):
                stack.append(child)


def _bindings(target, value):
    """(name, value or None) pairs an assignment ``target = value`` binds."""
    if isinstance(target, ast.Name):
        return [(target.id, value)]
    if isinstance(target, (ast.Tuple, ast.List)):
        if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts):
            return [p for t, v in zip(target.elts, value.elts) for p in _bindings(t, v)]
        return [(name, None) for name in _names(target)]
    return []


def _names(target):
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)] if target else []


def _kind_of(value, resolve, defs=None):
    """"list" or "dict" when ``value`` certainly builds a new one, else None
    (``defs``: the nested defs of the function, by name)."""
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(value, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        obj = resolve(value.func)
        if obj is LOCAL and defs and value.func.id in defs:
            return _def_returned_kind(defs[value.func.id], resolve)
        if obj is not LOCAL and obj is not UNRESOLVED:
            if inspect.isfunction(obj) and registry.is_user_function(obj):
                return _returned_kind(obj)
            return next((kind for builder, kind in _BUILDERS.items() if obj is builder), None)
    return None


def _reads(tree):
    """(Name node, parent node) of every read in ``tree``'s own body."""
    for parent in _own_nodes(tree):
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                yield child, parent


#: builtins whose call in a ``for`` or comprehension iterates their arguments
_ITERATORS = (builtins.enumerate, builtins.zip, builtins.reversed)


def _keeps_no_reference(node, parent, resolve):
    if isinstance(parent, (ast.Subscript, ast.Attribute)) and parent.value is node:
        return True
    if isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node:
        return True
    if isinstance(parent, ast.Compare):
        return True
    if isinstance(parent, ast.AugAssign) and parent.target is node:
        return True
    if isinstance(parent, ast.Call) and node in parent.args:
        callee = resolve(parent.func) if isinstance(parent.func, (ast.Name, ast.Attribute)) \
            else UNRESOLVED
        return callee is not LOCAL and callee is not UNRESOLVED and (
            registry.lookup(callee) is not None or registry.is_nondifferentiable(callee))
    return False


def items_written_in_place(tree, kinds, resolve):
    """For each private container ``xs`` of ``tree`` (``kinds``) that the
    function writes into through an item (``xs[t][i] = v``, ``xs[t][i] +=
    v``, and ``xs[t] -= v``, which updates an array item in place): None when no other reference can see that write, else ``(node,
    reason)`` of the first use that could.

    The write changes the array the container holds in place, as Python
    does; it is differentiated when that array is reachable only through
    the container: every item stored into it is a fresh array (an
    allocating call such as ``np.zeros``/``np.copy``, an elementwise
    function, arithmetic), and every read of an item that could keep a
    reference to it (binding it to a name, iterating, passing the container
    or the item to a call that may keep it) comes after the last such write
    and outside any loop that writes.
    """
    writes = {}
    for node in _own_nodes(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AugAssign) else []
        for target in targets:
            base = target.value.value if isinstance(target, ast.Subscript) \
                and isinstance(target.value, ast.Subscript) else None
            if isinstance(base, ast.Name) and base.id in kinds:
                writes.setdefault(base.id, []).append((node, target.value))
            elif isinstance(node, ast.AugAssign) and isinstance(target, ast.Subscript) \
                    and isinstance(target.value, ast.Name) and target.value.id in kinds:
                # d[k] -= v: NumPy updates the array item itself
                writes.setdefault(target.value.id, []).append((node, target))
    if not writes:
        return {}
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    loops = [n for n in _own_nodes(tree) if isinstance(n, (ast.For, ast.While))]
    found = {}
    for name, sites in writes.items():
        last = max((s.lineno, s.col_offset) for s, _ in sites)
        writing_loops = [loop for loop in loops
                         if any(s in set(ast.walk(loop)) for s, _ in sites)]
        bases = {id(b) for _, b in sites}

        def settled(node):  # after the last write, in no loop that writes
            return (node.lineno, node.col_offset) > last and not any(
                node in set(ast.walk(loop)) for loop in writing_loops)

        found[name] = None
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Name) and node.id == name):
                continue
            if _inside_nested_function(node, parents, tree):
                found[name] = (node, f"a nested function reads {name!r}")
                break
            reason = _item_use_reason(node, parents, bases, resolve, kinds[name])
            if reason is not None and not settled(node):
                found[name] = (node, reason)
                break
    return found


def _inside_nested_function(node, parents, tree):
    while node is not tree:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.Lambda, ast.AsyncFunctionDef)) and node is not tree:
            return True
    return False


def _fresh(value, resolve):
    """``value`` certainly makes a new array nothing else refers to."""
    if isinstance(value, (ast.BinOp, ast.UnaryOp, ast.Constant)):
        return True  # (a constant is a number or text: nothing to write into)
    if isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute)) \
            and not any(k.arg == "out" for k in value.keywords):
        found = registry.record(resolve(value.func))
        return found is not None and (found.allocates or found.elementwise) \
            and found.view_of is None and not found.holds
    return False


def _item_use_reason(node, parents, bases, resolve, kind):
    """Why this use of a container with items written in place could keep a
    reference to an item, or None when it cannot."""
    parent = parents[node]
    name = node.id
    if kind == "dict" and (isinstance(parent, (ast.For, ast.comprehension)) and parent.iter is node
                           or isinstance(parent, ast.Attribute) and parent.attr == "keys"):
        return None  # the keys
    if isinstance(node.ctx, ast.Store):
        stmt = parents.get(node)
        while isinstance(stmt, (ast.Tuple, ast.List)):
            stmt = parents.get(stmt)
        value = dict(p for t in stmt.targets for p in _bindings(t, stmt.value)).get(name) \
            if isinstance(stmt, ast.Assign) else None
        if isinstance(value, (ast.Dict, ast.List)) and all(
                _fresh(v, resolve) for v in (value.values if isinstance(value, ast.Dict)
                                              else value.elts)):
            return None
        if isinstance(value, (ast.ListComp, ast.DictComp)) and _fresh(
                value.elt if isinstance(value, ast.ListComp) else value.value, resolve):
            return None
        return f"{name!r} is built from arrays other names may hold"
    if isinstance(parent, ast.Subscript) and parent.value is node:
        if id(parent) in bases:
            return None  # the write itself
        if isinstance(parent.ctx, ast.Store):
            stmt = parents[parent]
            if isinstance(stmt, ast.Assign) and _fresh(stmt.value, resolve):
                return None
            if isinstance(stmt, ast.AugAssign):
                return None  # d[k] += v on an array is refused when it runs
            return f"an array stored into {name!r} may be held by another name"
        return None if _transient(parent, parents, resolve) else \
            f"a reference to an item of {name!r} is kept (line {node.lineno})"
    if isinstance(parent, ast.Attribute) and parent.value is node \
            and isinstance(parents.get(parent), ast.Call) and parents[parent].func is parent:
        call = parents[parent]
        if parent.attr == "append" and len(call.args) == 1 and _fresh(call.args[0], resolve):
            return None
    if isinstance(parent, ast.Call) and node in parent.args and _transient(node, parents, resolve):
        return None
    return f"a reference to an item of {name!r} is kept (line {node.lineno})"


def _transient(node, parents, resolve):
    """The value of ``node`` is consumed where it is read: no name,
    container or call keeps a reference to it."""
    parent = parents[node]
    if isinstance(parent, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Expr)):
        return True
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return _transient(parent, parents, resolve)  # a view of it is consumed there
    if isinstance(parent, ast.Attribute) and parent.value is node:
        if parent.attr in ("shape", "ndim", "size", "dtype"):
            return True
        call = parents.get(parent)
        found = registry.method(parent.attr)
        return isinstance(call, ast.Call) and call.func is parent and found is not None \
            and found.view_of is None and not found.holds and not found.mutates
    if isinstance(parent, ast.Call) and node in parent.args \
            and isinstance(parent.func, (ast.Name, ast.Attribute)):
        callee = resolve(parent.func)
        if callee is LOCAL or callee is UNRESOLVED:
            return False
        found = registry.record(callee)
        if found is None:
            return registry.is_nondifferentiable(callee) or callee is builtins.len
        return found.view_of is None and not found.holds and not found.mutates
    return False


def write_item(normaliser, name, index, atom, origin):
    """``d[k] = v`` into a private list or dict: ``d = with_item(d, k, v)``."""
    base = normaliser.read(ast.Name(name, ast.Load()))
    normaliser.assign_value(name, helper_call(normaliser, containers.with_item, [
        base, index, atom]), origin)


# ------------------------------------------------------------ expressions
def expression(normaliser, e):
    """The rhs of one of :data:`EXPRESSIONS`."""
    if isinstance(e, ast.Dict):
        if any(k is None for k in e.keys):
            raise normaliser.parsed.error("dict display with ** unpacking", e, stage="normalise")
        return _dict_display(normaliser, e.keys, e.values)
    if isinstance(e, ast.JoinedStr):
        return _format(normaliser, e)
    return _comprehension(normaliser, e)


def _dict_display(normaliser, keys, values):
    key_atoms = [normaliser.atom(k) for k in keys]
    value_atoms = [normaliser.atom(v) for v in values]
    if all(isinstance(k, ast.Constant) for k in key_atoms):
        keys_atom = ast.Constant(tuple(k.value for k in key_atoms))
    else:
        keys_atom = normaliser.atom(ast.Tuple(key_atoms, ast.Load()))
    values_atom = normaliser.atom(ast.Tuple(value_atoms, ast.Load())) if value_atoms \
        else ast.Constant(())
    return helper_call(normaliser, containers.dict_display, [keys_atom, values_atom])


def _comprehension(normaliser, e):
    """``[elt for t in it if c]`` is a loop appending to a fresh list (a
    generator expression is read as the list it would produce; a dict
    comprehension writes a fresh dict). The loop variables get names of
    their own: they do not leak into the function, as in Python 3."""
    renames = {}
    for generator in e.generators:
        if generator.is_async:
            raise normaliser.parsed.error("async comprehension", e, stage="normalise")
        for name in _names(generator.target):
            renames.setdefault(name, normaliser.namer.fresh(name, exact_first=False))
    e = _Renamer(renames).visit(copy.deepcopy(e))
    acc = normaliser.namer.fresh("items" if not isinstance(e, ast.DictComp) else "entries")
    is_dict = isinstance(e, ast.DictComp)
    if is_dict:
        step = helper_call(normaliser, containers.with_item,
                            [ast.Name(acc, ast.Load()), e.key, e.value])
    else:
        step = helper_call(normaliser, containers.appended, [ast.Name(acc, ast.Load()), e.elt])
    body = [ast.Assign([ast.Name(acc, ast.Store())], step)]
    for generator in reversed(e.generators):
        for condition in reversed(generator.ifs):
            body = [ast.If(condition, body, [])]
        body = [ast.For(generator.target, generator.iter, body, [])]
    start = ast.Dict([], []) if is_dict else ast.List([], ast.Load())
    for s in [ast.Assign([ast.Name(acc, ast.Store())], start)] + body:
        normaliser.stmt(ast.fix_missing_locations(ast.copy_location(s, e)))
    return normaliser.read(ast.Name(acc, ast.Load()))


class _Renamer(ast.NodeTransformer):
    def __init__(self, renames):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            return ast.copy_location(ast.Name(self.renames[node.id], node.ctx), node)
        return node


def _format(normaliser, e):
    """An f-string: ``format_text(template, values...)`` (text, no derivative)."""
    template, values = [], []
    for part in e.values:
        if isinstance(part, ast.Constant):
            template.append(part.value.replace("{", "{{").replace("}", "}}"))
            continue
        spec = ""
        if part.format_spec is not None:
            if not all(isinstance(p, ast.Constant) for p in part.format_spec.values):
                raise normaliser.parsed.error("f-string with a computed format spec", e,
                                              stage="normalise")
            spec = ":" + "".join(p.value for p in part.format_spec.values)
        conversion = "" if part.conversion == -1 else "!" + chr(part.conversion)
        template.append("{" + conversion + spec + "}")
        values.append(normaliser.atom(part.value))
    return helper_call(normaliser, format_text, [ast.Constant("".join(template)), *values])


def format_text(template, *values):
    """The text of an f-string (its parts formatted as Python formats them)."""
    return template.format(*values)


registry.defnondiff(format_text)


# ------------------------------------------------------------------ calls
def call(normaliser, e):
    """The rhs of a call this module spells, or None for an ordinary call."""
    func = e.func
    callee = normaliser.resolve(func) if isinstance(func, (ast.Name, ast.Attribute)) \
        and not (isinstance(func, ast.Name) and func.id in normaliser.current) else UNRESOLVED
    if callee is builtins.dict and not e.args and all(k.arg for k in e.keywords):
        return _dict_display(normaliser, [ast.Constant(k.arg) for k in e.keywords],
                             [k.value for k in e.keywords])
    if callee is builtins.zip and not e.keywords:
        if len(e.args) == 1 and isinstance(e.args[0], ast.Starred):
            return helper_call(normaliser, containers.transposed, [normaliser.atom(e.args[0].value)])
        if 1 <= len(e.args) <= 4 and not any(isinstance(a, ast.Starred) for a in e.args):
            return helper_call(normaliser, containers.zipped,
                                [normaliser.atom(a) for a in e.args])
    if callee in (builtins.max, builtins.min) and len(e.args) > 2 and not e.keywords:
        inner = ast.copy_location(ast.Call(func, e.args[:-1], []), e)
        return normaliser.rhs(ast.copy_location(ast.Call(func, [inner, e.args[-1]], []), e))
    if any(isinstance(a, ast.Starred) for a in e.args) and not any(k.arg is None for k in e.keywords) \
            and callee is not LOCAL and callee is not UNRESOLVED \
            and registry.is_nondifferentiable(callee):
        return _unpacked_call(normaliser, func, e)
    if isinstance(callee, types.MethodType) and inspect.isfunction(callee.__func__) \
            and not isinstance(callee.__self__, type) and registry.lookup(callee) is None \
            and not registry.is_nondifferentiable(callee):
        # ``layer.forward(x)``: its class's function, given the object
        # (the object is read where the user reads it; the cache checks that
        # the expression still means a method of the same function)
        function = ast.Name(normaliser.env_helper(callee.__func__, callee.__func__.__name__),
                            ast.Load())
        normaliser.inlined[ast.unparse(func) + ".__func__"] = callee.__func__
        return normaliser.rhs(ast.copy_location(
            ast.Call(function, [func.value, *e.args], e.keywords), e))
    method = argument_method(normaliser, func)
    if method is not None:
        # ``model.forward(x)`` of an argument: its class's function, given the
        # argument (the class is part of the cache key; checked again as
        # ``model.forward`` of that class, ``model`` the differentiated
        # function's own parameter)
        obj, attr = (func, "__call__") if isinstance(func, ast.Name) else (func.value, func.attr)
        preferred = f"{method.__qualname__.split('.')[-2]}_call" if attr == "__call__" \
            else method.__name__
        function = ast.Name(normaliser.env_helper(method, preferred), ast.Load())
        root = normaliser.argument_roots.get(obj.id, obj.id)
        normaliser.inlined[f"{root}.{attr}"] = method
        return normaliser.rhs(ast.copy_location(ast.Call(function, [obj, *e.args], e.keywords), e))
    method = _call_method(callee)
    if method is not None:
        # ``layer(x)`` of an object whose class defines ``__call__``: that
        # function, given the object (checked again as ``layer.__class__.__call__``)
        cls = type(callee)
        function = ast.Name(normaliser.env_helper(method, f"{cls.__name__}_call"), ast.Load())
        normaliser.inlined[ast.unparse(func) + ".__class__.__call__"] = method
        return normaliser.rhs(ast.copy_location(ast.Call(function, [func, *e.args], e.keywords), e))
    return None


def argument_method(normaliser, func):
    """For ``func`` = ``p.name`` with ``p`` a parameter the function never
    rebinds and ``name`` no method of arrays or containers: the function
    ``name`` of the class of ``p``'s argument, when it is a plain function
    of the user's (None otherwise: the call is refused as a method call);
    for ``func`` = ``p`` (``model(x)``), its class's ``__call__``. Raises
    ArgumentClassNeeded when that class is not among the normaliser's
    ``argument_classes`` (the pipeline's caller then generates again once
    it knows it)."""
    if isinstance(func, ast.Name) and func.id not in normaliser.local_functions:
        param, attr = func.id, "__call__"
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.attr not in _METHODS and func.attr not in ARRAY_METHODS \
            and registry.method(func.attr) is None:
        param, attr = func.value.id, func.attr
    else:
        return None
    if param not in plain_parameters(normaliser.parsed.tree):
        return None
    if param not in normaliser.argument_classes:
        spelling = f"method call {param}.{attr}()" if attr != "__call__" else f"call {param}()"
        needed = normaliser.parsed.error(
            f"{spelling} of argument {param!r} where its class is not known", func,
            stage="normalise", kind=ArgumentClassNeeded,
            hint="call the gradient itself (sg.grad, sg.value_and_grad, sg.jvp), which "
                 "generates it for the class of the argument given")
        needed.names = (param,)
        raise needed
    cls = normaliser.argument_classes[param]
    member = inspect.getattr_static(cls, attr, None)
    if type(cls) is not type or not inspect.isfunction(member) \
            or not registry.is_user_function(member) or registry.lookup(member) is not None \
            or registry.is_nondifferentiable(member):
        return None
    return member


def _call_method(obj):
    """The user's ``__call__`` function of ``obj``'s class, if ``obj`` is an
    instance of a plain class of the user's with one (and no rule of its own)."""
    if not registry.is_user_object(obj):  # (LOCAL and UNRESOLVED are builtins' objects)
        return None
    method = getattr(type(obj), "__call__", None)
    return method if registry.is_user_function(method) else None


def _unpacked_call(normaliser, func, e):
    """``f(a, *s)`` of a callee with no derivative: ``call_unpacked(f, (a,), s)``."""
    parts = []
    for a in e.args:
        if isinstance(a, ast.Starred):
            parts.append(normaliser.atom(a.value))
        else:
            parts.append(normaliser.atom(ast.Tuple([a], ast.Load())))
    keywords = [ast.keyword(k.arg, normaliser.atom(k.value)) for k in e.keywords]
    callee = func if normaliser.is_global_ref(func) or isinstance(func, ast.Name) \
        else normaliser.atom(func)
    return helper_call(normaliser, call_unpacked, [callee, *parts], keywords)


def call_unpacked(function, *parts, **keywords):
    """``function(*parts[0], *parts[1], ..., **keywords)``."""
    return function(*(item for part in parts for item in part), **keywords)


registry.defnondiff(call_unpacked)


def method_call(normaliser, func, e):
    """The rhs of a container method call, or of ``x.item(...)`` and
    ``x.tolist()`` on an array, or None for another method."""
    method = func.attr
    if method in ARRAY_METHODS and not (isinstance(func.value, ast.Name)
                                         and func.value.id in normaliser.containers):
        if e.keywords or (method == "tolist" and e.args):
            raise normaliser.parsed.error(f".{method}() with these arguments", e,
                                          stage="normalise")
        args = [normaliser.atom(a) for a in e.args]
        if len(args) > 1:  # x.item(i, j) is x.item((i, j))
            args = [normaliser.atom(ast.Tuple(args, ast.Load()))]
        return helper_call(normaliser, ARRAY_METHODS[method], [normaliser.atom(func.value), *args])
    if method not in _METHODS or not isinstance(func.value, ast.Name) \
            or func.value.id not in normaliser.current or registry.method(method) is not None:
        return None
    name = func.value.id
    kind = _METHODS[method]
    mutating = method in ("append", "extend", "pop")
    if mutating and normaliser.containers.get(name) != kind:
        raise normaliser.parsed.error(
            f".{method}() on {name!r}, a {kind} other names may share", e, stage="normalise",
            hint=f"build a new {kind} instead (a function's parameter is the caller's, "
                 "and a copy or an enclosing container would change too)")
    base = normaliser.read(func.value)
    args = [normaliser.atom(a) for a in e.args]
    if e.keywords:
        raise normaliser.parsed.error(f".{method}() with keyword arguments", e, stage="normalise")
    if method == "append" and len(args) == 1:
        normaliser.assign_value(name, helper_call(normaliser, containers.appended, [base, *args]), e)
        return ast.Constant(None)
    if method == "extend" and len(args) == 1:
        normaliser.assign_value(name, helper_call(normaliser, containers.extended, [base, *args]), e)
        return ast.Constant(None)
    if method == "pop" and (not args or (isinstance(args[0], ast.Constant)
                                         and args[0].value in (0, -1))):
        last = not args or args[0].value == -1
        item = normaliser.atom(ast.Subscript(base, ast.Constant(-1 if last else 0), ast.Load()))
        rest = ast.Slice(None, ast.Constant(-1)) if last else ast.Slice(ast.Constant(1), None)
        normaliser.assign_value(name, ast.Subscript(base, rest, ast.Load()), e)
        return item
    helpers = {"get": containers.dict_get, "items": containers.dict_items,
               "values": containers.dict_values, "keys": containers.dict_keys}
    if method in helpers and (method == "get") == bool(args) and len(args) <= 2:
        return helper_call(normaliser, helpers[method], [base, *args])
    raise normaliser.parsed.error(f".{method}() with these arguments", e, stage="normalise")


def iterated(normaliser, it, atom):
    """What a ``for`` over ``it`` iterates: a private dict's keys, else ``atom``."""
    if isinstance(it, ast.Name) and normaliser.containers.get(it.id) == "dict":
        return normaliser.atom(helper_call(normaliser, containers.dict_keys, [atom]))
    return atom


def helper_call(normaliser, helper, args, keywords=()):
    name = normaliser.env_helper(helper, helper.__name__)
    return ast.Call(ast.Name(name, ast.Load()), list(args), list(keywords))


# ------------------------------------------------------------- statements
def without_try(stmts, handlers):
    """``stmts`` with each ``try`` replaced by its body, ``else`` and
    ``finally`` blocks, in order (nested blocks too); the ``except``
    clauses left out are appended to ``handlers``."""
    out = []
    for s in stmts:
        if isinstance(s, ast.Try) or type(s).__name__ == "TryStar":
            handlers.extend(s.handlers)
            out.extend(without_try(s.body + s.orelse + s.finalbody, handlers))
            continue
        if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for field in ("body", "orelse", "finalbody"):
                if isinstance(getattr(s, field, None), list):
                    setattr(s, field, without_try(getattr(s, field), handlers))
        out.append(s)
    return out


def caught(normaliser, handler):
    """``(classes, file, line)`` of an ``except`` clause: the exception
    classes it catches (``Exception`` for a bare ``except:`` or a type the
    normaliser cannot resolve to exception classes)."""
    types_ = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    classes = []
    for node in types_:
        found = normaliser.resolve(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if not (inspect.isclass(found) and issubclass(found, BaseException)):
            return (Exception,), normaliser.parsed.filename, handler.lineno
        classes.append(found)
    return tuple(classes), normaliser.parsed.filename, handler.lineno


def raise_statement(normaliser, s):
    """``raise E(...)`` (``from C``): ``raised(E(...), C)``, a check of the
    primal like ``assert`` (no derivative; nothing after it runs). A bare
    ``raise`` belongs in a handler, which the normal form has none of."""
    if s.exc is None:
        raise normaliser.parsed.error("bare raise outside an except handler", s, stage="normalise")
    args = [normaliser.atom(s.exc)] + ([normaliser.atom(s.cause)] if s.cause is not None else [])
    normaliser.emit(ast.Expr(helper_call(normaliser, raised, args)), s)


def raised(exception, cause=None):
    """``raise exception from cause`` (a cause of None: the context's)."""
    if cause is None:
        raise exception
    raise exception from cause


registry.defnondiff(raised)


def held_item(normaliser, item):
    """For ``xs[t]`` where ``xs`` is a private container, ``xs``, else None."""
    root = item.value
    if not (isinstance(root, ast.Name) and root.id in normaliser.containers):
        return None
    return root.id


def write_held_item(normaliser, item, index, value, origin):
    """``xs[t][i] = v`` into the array the private container ``xs`` holds:
    the item bound to a name of its own (the object itself, so the write is
    in place, as in Python), written, and stored back (``xs = with_item(xs,
    t, xs_item)``): reads after the write read the new version of ``xs``,
    whose cotangent reaches the write's adjoint. Refused where another
    reference could see the write (:func:`items_written_in_place`)."""
    root = item.value.id
    refusal = normaliser.item_writes.get(root)
    if refusal is not None:
        node, reason = refusal
        raise normaliser.parsed.error(
            f"writing into {ast.unparse(item)}[...] (an array {root!r} holds) while {reason}",
            origin, stage="normalise",
            hint=f"store a new array instead: {ast.unparse(item)} = np.copy(...) before the write, "
                 "and read items after it")
    key = normaliser.index(item.slice)
    name = normaliser.namer.fresh(root + "_item")
    normaliser.assign_value(name, ast.Subscript(normaliser.read(ast.Name(root, ast.Load())),
                                                 copy.deepcopy(key), ast.Load()), origin)
    version = normaliser.current[name]
    normaliser.facts.private_items[normaliser.out[-1]] = True
    normaliser.user_names[version] = ast.unparse(item)  # (how errors name it)
    normaliser.write_subscript(name, normaliser.index(index), normaliser.atom(value), origin)
    write_item(normaliser, root, key, ast.Name(version, ast.Load()), origin)


def item_updated_in_place(normaliser, read, s):
    """``d[k] += v`` on a private container: Python adds into the item
    itself, so an array item (which other names may hold: ``d = {"a": x}``
    holds the argument ``x``) would change everywhere, which the new item
    the normal form writes does not do. Returns the item's atom, after a
    run-time refusal of array items (numbers are new objects anyway) unless
    no other reference can reach the item (:func:`items_written_in_place`)."""
    item = normaliser.atom(read)
    if read.value.id in normaliser.item_writes and normaliser.item_writes[read.value.id] is None:
        return item  # only the container holds the item: nobody sees it change
    guard = normaliser.env_helper(runtime.refuse_shared_array, "refuse_shared_array")
    where = normaliser.env_helper(normaliser.parsed.filename, "source_file")
    text = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}.get(type(s.op), "op")
    normaliser.emit(ast.Expr(ast.Call(ast.Name(guard, ast.Load()), [
        item, ast.Constant(ast.unparse(read)), ast.Constant(text),
        ast.Name(where, ast.Load()), ast.Constant(s.lineno)], [])), s)
    return item


# ---------------------------------------------------------------- objects
def objects_as_locals(normaliser):
    """``layer = Layer(W, b)`` of a plain class of the function's own file,
    then ``layer.forward(x)``, ``layer.W``: the object becomes variables of
    the function, one per attribute (``layer_W``), as if written by hand.

    ``__init__``'s body runs in place (its names renamed apart, ``self.W =
    v`` assigning ``layer_W``); each method called becomes a nested def
    (``def layer_forward(x)``, ``self.W`` reading ``layer_W``), whose reads
    of the enclosing variables are passed at each call, so the gradient
    flows through the attributes into the arguments of the constructor.
    Applies where the object cannot escape: every use of it is an attribute
    read or write or a method call, and no method assigns to ``self`` or
    uses it otherwise (those are refused, naming the construct). Returns
    the rewritten FunctionDef, or None when there is no such object.
    """
    parsed = normaliser.parsed
    tree = parsed.tree
    constructed = {}
    for node in _own_nodes(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, (ast.Name, ast.Attribute)):
            cls = parsed.resolve(node.value.func)
            if inspect.isclass(cls) and _is_user_class(cls):
                if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                    raise parsed.error(f"an object of class {cls.__name__} unpacked or stored",
                                       node, stage="normalise",
                                       hint="bind it to a name: obj = Class(...)")
                constructed.setdefault(node.targets[0].id, []).append((cls, node))
    if not constructed:
        return None
    taken = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
        {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    rewriter = _ObjectRewriter(parsed, constructed, taken)
    return rewriter.rewrite(tree)


def _is_user_class(cls):
    init = cls.__dict__.get("__init__") or getattr(cls, "__init__", None)
    return inspect.isfunction(init) and registry.is_user_function(init) \
        and type(cls) is type and cls.__new__ is object.__new__


class _ObjectRewriter:
    """The rewriting of :func:`objects_as_locals`."""

    def __init__(self, parsed, constructed, taken):
        self.parsed = parsed
        self.taken = taken
        self.objects = {}  # object name -> its class
        for name, sites in constructed.items():
            classes = {cls for cls, _ in sites}
            if len(classes) != 1 or len(sites) != 1:
                raise parsed.error(f"{name!r} bound to an object more than once", sites[-1][1],
                                   stage="normalise", hint="give each object a name of its own")
            self.objects[name] = sites[0]

    def fresh(self, name):
        while name in self.taken or name in self.parsed.globals or hasattr(builtins, name):
            name += "_"
        self.taken.add(name)
        return name

    def error(self, construct, node, hint=None):
        return self.parsed.error(construct, node, stage="normalise", hint=hint)

    def rewrite(self, tree):
        self.attributes = {}  # (object, attribute) -> variable
        self.methods = {}  # (object, method) -> nested def name
        self.defs = {}  # object -> [nested defs of its methods]
        new = _calls_spelled_out(copy.deepcopy(tree), {
            name: cls for name, (cls, _) in self.objects.items()})
        for name, (cls, site) in self.objects.items():
            self.check_uses(new, name, cls)
        new.body = self.placed(self.statements(new.body))
        return ast.fix_missing_locations(new)

    def placed(self, body):
        """``body`` with each object's method defs where its marker is."""
        out = []
        for s in body:
            if isinstance(s, _MethodsHere):
                out += self.defs.get(s.object_name, [])
                continue
            for field in ("body", "orelse", "finalbody"):
                if isinstance(getattr(s, field, None), list):
                    setattr(s, field, self.placed(getattr(s, field)))
            out.append(s)
        return out

    def check_uses(self, tree, name, cls):
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Name) and node.id == name):
                continue
            parent = parents.get(node)
            if _inside_nested_function(node, parents, tree):
                raise self.error(f"object {name!r} read by a nested function", node,
                                 "pass the attributes it needs as arguments")
            if isinstance(node.ctx, ast.Store):
                if isinstance(parent, ast.Assign) and parent.targets == [node]:
                    continue
                raise self.error(f"object {name!r} rebound", node)
            if not (isinstance(parent, ast.Attribute) and parent.value is node):
                raise self.error(f"object {name!r} of class {cls.__name__} used as a value "
                                 "(passed, returned or stored)", node,
                                 "call its methods and read its attributes only")
            if parent.attr.startswith("__") and parent.attr != "__call__":
                raise self.error(f"attribute {parent.attr} of object {name!r}", node)
            member = inspect.getattr_static(cls, parent.attr, None)
            if inspect.isfunction(member):
                call = parents.get(parent)
                if not (isinstance(call, ast.Call) and call.func is parent):
                    raise self.error(f"method {name}.{parent.attr} used as a value", node,
                                     f"call it: {name}.{parent.attr}(...)")
            elif member is not None and not _plain_class_value(member):
                raise self.error(f"attribute {parent.attr!r} of class {cls.__name__} "
                                 "(a property or descriptor)", node)

    def statements(self, body):
        out = []
        for s in body:
            if isinstance(s, ast.Assign) and len(s.targets) == 1 \
                    and isinstance(s.targets[0], ast.Name) and s.targets[0].id in self.objects \
                    and self.objects[s.targets[0].id][1] is not None \
                    and ast.dump(s) == ast.dump(self.objects[s.targets[0].id][1]):
                name = s.targets[0].id
                out += [self.replace(part) for part in self.construction(name, s)]
                continue
            blocks = [f for f in ("body", "orelse", "finalbody")
                      if isinstance(getattr(s, f, None), list)]
            if not blocks or isinstance(s, ast.FunctionDef):
                out.append(self.replace(s))
                continue
            for field, value in ast.iter_fields(s):  # its own expressions first
                if field not in blocks and isinstance(value, ast.AST):
                    setattr(s, field, self.replace(value))
            for field in blocks:
                setattr(s, field, self.statements(getattr(s, field)))
            out.append(s)
        return out

    def attribute(self, name, attr):
        key = (name, attr)
        if key not in self.attributes:
            self.attributes[key] = self.fresh(f"{name}_{attr}")
        return self.attributes[key]

    def replace(self, node):
        """``obj.attr`` -> its variable, ``obj.method(...)`` -> its nested def."""
        rewriter = self

        class Replace(ast.NodeTransformer):
            def visit_Attribute(self, a):
                if isinstance(a.value, ast.Name) and a.value.id in rewriter.objects:
                    name = a.value.id
                    cls = rewriter.objects[name][0]
                    member = inspect.getattr_static(cls, a.attr, None)
                    if inspect.isfunction(member):
                        return ast.copy_location(ast.Name(rewriter.method(name, a.attr, a), a.ctx), a)
                    if isinstance(a.ctx, ast.Load) and (name, a.attr) not in rewriter.attributes:
                        if member is not None:  # a class attribute: read as the class's
                            site = rewriter.objects[name][1]
                            return ast.copy_location(ast.Attribute(
                                copy.deepcopy(site.value.func), a.attr, ast.Load()), a)
                        raise rewriter.error(f"attribute {a.attr!r} of {name!r}, which "
                                             f"{cls.__name__}.__init__ does not set", a)
                    return ast.copy_location(ast.Name(rewriter.attribute(name, a.attr), a.ctx), a)
                return self.generic_visit(a)

            def visit_FunctionDef(self, f):
                return f  # (nested defs reading an object are refused)

        return Replace().visit(node)

    def method(self, name, method, node):
        key = (name, method)
        if key in self.methods:
            return self.methods[key]
        cls = self.objects[name][0]
        function = inspect.getattr_static(cls, method)
        self.methods[key] = def_name = self.fresh(f"{name}_{method}")
        tree = self.member_tree(function, name, cls, node)
        params = tree.args.posonlyargs + tree.args.args
        if not params:
            raise self.error(f"method {cls.__name__}.{method} without self", node)
        if tree.args.posonlyargs:
            tree.args.posonlyargs = tree.args.posonlyargs[1:]
        else:
            tree.args.args = tree.args.args[1:]
        tree.name = def_name
        tree.decorator_list = []
        tree.body = [self.replace(st) for st in tree.body]
        self.defs.setdefault(name, []).append(tree)  # (after the methods it calls)
        return def_name

    def member_tree(self, function, name, cls, node):
        """``function``'s definition with ``self.attr`` read as the object's
        variables (refused: assigning to ``self``'s attributes, other uses of ``self``)."""
        if function.__code__.co_filename != self.parsed.filename or \
                function.__globals__ is not self.parsed.globals:
            raise self.error(f"method {cls.__name__}.{function.__name__} of another file", node,
                             "define the class in the file of the function differentiated")
        tree = copy.deepcopy(parse_function(function).tree)
        args = tree.args.posonlyargs + tree.args.args
        self_name = args[0].arg if args else None
        if self_name is not None:
            tree = _calls_spelled_out(tree, {self_name: cls})
        is_init = function.__name__ == "__init__"
        bases = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        for n in ast.walk(tree):
            if isinstance(n, ast.Name) and n.id == self_name and id(n) not in bases:
                raise self.error(f"{cls.__name__}.{function.__name__} using {self_name!r} "
                                 "other than through its attributes", n)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) \
                    and n.value.id == self_name:
                n.value = ast.copy_location(ast.Name(name, ast.Load()), n.value)
                if not is_init and not isinstance(n.ctx, ast.Load):
                    raise self.error(f"method {cls.__name__}.{function.__name__} assigning "
                                     f"{self_name}.{n.attr}", n,
                                     "return the new value instead")
            if isinstance(n, ast.Name) and n.id in ("super", "__class__"):
                raise self.error(f"{cls.__name__}.{function.__name__} using {n.id}", n)
            if isinstance(n, (ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)):
                raise self.error(f"{cls.__name__}.{function.__name__}: "
                                 f"{type(n).__name__.lower()}", n)
        return tree

    def construction(self, name, site):
        """``__init__``'s body in place of ``name = Class(args)``, then the
        nested defs of the methods (made when first called)."""
        cls = self.objects[name][0]
        init = cls.__init__
        tree = self.member_tree(init, name, cls, site)
        signature = inspect.signature(init)
        call = site.value
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            raise self.error(f"{cls.__name__}(...) with * or ** arguments", site)
        try:
            bound = signature.bind(None, *call.args, **{k.arg: k.value for k in call.keywords})
        except TypeError as exc:
            raise self.error(f"{cls.__name__}(...) with these arguments", site, str(exc)) from None
        bound.apply_defaults()
        renames = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                renames.setdefault(node.id, self.fresh(f"{name}_{node.id}_"))
        out = []
        for param, value in list(bound.arguments.items())[1:]:
            renames[param] = target = renames.get(param) or self.fresh(f"{name}_{param}_")
            if not isinstance(value, ast.AST):
                if not isinstance(value, (int, float, bool, str, type(None))):
                    raise self.error(f"{cls.__name__}(...) with a default that is not a literal",
                                     site)
                value = ast.Constant(value)
            out.append(ast.copy_location(ast.Assign([ast.Name(target, ast.Store())], value), site))
        body = _Renamer(renames).visit(tree).body
        # self.W = v inside __init__: the object's attribute, not an __init__ local
        for n in ast.walk(ast.Module(body, [])):
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) \
                    and n.value.id == name and isinstance(n.ctx, ast.Store):
                self.attribute(name, n.attr)
        if any(isinstance(n, ast.Return) and n.value is not None for s in body for n in ast.walk(s)):
            raise self.error(f"{cls.__name__}.__init__ returning a value", site)
        body = [s for s in body if not isinstance(s, ast.Return)]
        out += self.statements_of_init(body)
        out.append(_MethodsHere(name))
        return out

    def statements_of_init(self, body):
        return [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]


def _calls_spelled_out(tree, objects):
    """``tree`` with each call ``obj(...)`` of one of ``objects`` (name ->
    class) whose class defines ``__call__`` written ``obj.__call__(...)``."""
    callable_names = {name for name, cls in objects.items()
                      if inspect.isfunction(inspect.getattr_static(cls, "__call__", None))}
    if not callable_names:
        return tree

    class Spell(ast.NodeTransformer):
        def visit_Call(self, node):
            self.generic_visit(node)
            if isinstance(node.func, ast.Name) and node.func.id in callable_names:
                node.func = ast.copy_location(
                    ast.Attribute(node.func, "__call__", ast.Load()), node.func)
            return node

    return Spell().visit(tree)


class _MethodsHere(ast.Pass):
    """Where the nested defs of an object's methods go (after its __init__)."""

    def __init__(self, name):
        super().__init__()
        self.object_name = name


def _plain_class_value(member):
    return not (isinstance(member, (property, staticmethod, classmethod))
                or hasattr(member, "__get__") and not inspect.isfunction(member)
                and not isinstance(member, (int, float, complex, str, bytes, tuple)))
