"""The pipeline: one table of named passes, and the driver that runs it.

``PASSES`` lists every pass in the order it runs. Each takes the program of
a :class:`Generation` from the grammar stage of the pass before it to the
stage it names (:mod:`s2sgrad.ir.grammar` states and checks each stage's
grammar), so a pass may rely on exactly what that stage guarantees.
:func:`run` is the one driver; the entry points say where they enter and
with which options:

* :func:`gradient_code` — a Python function, cached: enters at ``parse``.
  Generated code differentiated again (order >= 2) is such a function: its
  source is the generated source.
* :func:`generate` — a function its front end parsed itself (each tape block
  ``tf.function`` lifts, with the shapes of its inputs known): enters at
  ``normalise``.
* :func:`program_gradient` — a tape recording, a normal-form program
  already: enters at ``shapes``, its recorded values becoming parameters.

With ``S2SGRAD_CHECK=1`` in the environment (read once per generation) the
driver checks the program against its stage's grammar after every pass (and
the entry program before the first); the output is the same either way.
An exception raised inside a pass carries the pass's name as
``error.pass_name``; user-facing messages keep to the construct and the
user's file and line.
"""

import ast
import builtins
import contextlib
import hashlib
import inspect
import linecache
import numbers
import os
import sys
import threading
import weakref

import s2sgrad.primitives  # noqa: F401  (registers every rule)
from s2sgrad import runtime
from s2sgrad.errors import (ArgumentClassNeeded, InternalError, RecursionTooDeepError,
                            UnsupportedSyntaxError, user_location)
from s2sgrad.codegen import cache, disk, portable
from s2sgrad.codegen.compile import CompiledCode
from s2sgrad.codegen.emit import line_origins, to_source
from s2sgrad.frontend.names import Namer, bind as bind_name
from s2sgrad.frontend.inline import splice_calls
from s2sgrad.frontend.normalise import normalise
from s2sgrad.frontend.parse import LOCAL, UNRESOLVED, called_function, parse_function
from s2sgrad.ir import grammar
from s2sgrad.ir.nodes import walk
from s2sgrad.primitives import registry
from s2sgrad.transform.analyse import analyse_shapes
from s2sgrad.ir.facts import NormalFormFacts
from s2sgrad.transform.cse import eliminate_common_subexpressions
from s2sgrad.transform.dtypes import cast_outside_float_path
from s2sgrad.transform.optimise import (
    drop_copies_into_operators, eliminate_dead_code, free_dead_locals, inline_single_use,
    sink_into_guards)
from s2sgrad.transform.forward import ForwardMode
from s2sgrad.transform.reverse import ReverseMode
from s2sgrad.transform.shapes import shapes_by_running
from s2sgrad.transform.simplify import simplify_recorded

#: the environment variable that turns on checking after every pass
CHECK_VARIABLE = "S2SGRAD_CHECK"


#: the ``seed`` option of a callee's VJP: seeded, and its parameters are the
#: caller's values (an in-place update of one is refused, see normalise)
CALLEE_SEED = "callee"


#: (lock, [callee VJPs running in any thread, the recursion limit before])
_RECURSION = (threading.Lock(), [0, None])


@contextlib.contextmanager
def _room_for_recursion():
    """While callee VJPs run, Python's recursion limit is three times what
    it was (at most 15,000 frames): the gradient of a recursive function
    takes about two frames per call the function makes, and should recurse
    as deep as the function itself. Restored when the last one returns."""
    lock, state = _RECURSION
    with lock:
        if state[0] == 0:
            state[1] = sys.getrecursionlimit()
            sys.setrecursionlimit(max(state[1], 3 * min(state[1], 5000)))
        state[0] += 1
    try:
        yield
    finally:
        with lock:
            state[0] -= 1
            if state[0] == 0:
                sys.setrecursionlimit(state[1])


def call_vjp(function, wrt, seed, *args, **kwargs):
    """Gradients of ``function(*args, **kwargs)`` for parameters ``wrt``.

    Generated code calls this for the user's own functions (module level or
    nested) that were not inlined: the callee's VJP is generated once per
    code object (the pipeline's cache, which re-checks what the callee's
    names resolve to on every call) and bound to the callee on each call
    (a binding kept per function object would keep its globals alive).
    It lives here, not in the runtime, because it runs the pipeline.
    """
    function = called_function(function)
    with _room_for_recursion():
        try:
            generated = code_for_call(function, tuple(wrt), args, kwargs, seed=CALLEE_SEED)
            kwargs[generated.seed_name] = seed
            grads = bind(generated, function)(*args, **kwargs)
        except RecursionError as error:
            if isinstance(error, RecursionTooDeepError):
                raise
            raise RecursionTooDeepError(
                f"the gradient of {function.__qualname__} recursed deeper than Python's "
                f"recursion limit ({sys.getrecursionlimit()} frames; the gradient takes about "
                "two per recursive call): raise it with sys.setrecursionlimit") from None
    # (a list, tuple or dict argument's gradient sums entry by entry in the caller)
    return tuple(runtime.as_cotangent(g) for g in grads)


def callee_vjp(function, wrt):
    """The generated VJP that :func:`call_vjp` runs for ``function``, as a
    function of the callee's arguments and the seed (keyword): a second
    derivative through a call that is not inlined differentiates it again."""
    function = called_function(function)
    vjp = bind(gradient_code(function, tuple(wrt), seed=CALLEE_SEED), function)
    # (generated code reads its parameters: the function itself, not a check
    # of the callee's except clauses in front of it)
    return getattr(vjp, "__s2sgrad_generated__", vjp)


#: (code, wrt, batched) of the callees whose forward code is being generated
#: in this thread (a recursive callee's is checked once, by its outermost call)
_FORWARD_IN_PROGRESS = threading.local()


def callee_forward(function, wrt, batched):
    """Generate (cached) the forward code :func:`call_jvp` will run for
    ``function``, so a callee forward mode cannot follow is refused where the
    caller's forward code is built, not when it runs."""
    function = called_function(function)
    pending = _FORWARD_IN_PROGRESS.__dict__.setdefault("keys", set())
    key = (function.__code__, tuple(wrt), batched)
    if key in pending:
        return
    pending.add(key)
    try:
        gradient_code(function, tuple(wrt), seed=CALLEE_SEED, mode="forward", batched=batched,
                      tangent_only=True)
    except ArgumentClassNeeded:
        pass  # (generated when it runs, for its arguments' classes)
    finally:
        pending.discard(key)


def call_jvp(function, wrt, tangents, batched, *args, **kwargs):
    """The tangent of ``function(*args, **kwargs)`` along ``tangents`` of its
    parameters ``wrt`` (batched: each with a leading axis of directions):
    forward mode through a call of the user's that was not inlined, by the
    callee's own generated forward code (returning the tangent alone). A
    callee writing into its parameters is refused, as for :func:`call_vjp`."""
    function = called_function(function)
    with _room_for_recursion():
        generated = code_for_call(function, tuple(wrt), args, kwargs, seed=CALLEE_SEED,
                                  mode="forward", batched=batched, tangent_only=True)
        kwargs.update(zip(generated.seed_name, tangents))
        return bind(generated, function)(*args, **kwargs)


class Context:
    """What the transform stages share about one function being generated.

    It resolves names to objects (recording each resolution so the cache
    can check it later), hands out the names generated code uses for the
    objects rules need, and knows the user's source lines.
    """

    #: what generated code calls for the VJP of a user function it does not
    #: inline (handed to it through its environment, see :func:`call_vjp`)
    call_vjp = staticmethod(call_vjp)
    #: what a second derivative calls for that VJP as a function (see :func:`callee_vjp`)
    callee_vjp = staticmethod(callee_vjp)
    #: what forward code calls for the tangent of such a call (see :func:`call_jvp`)
    call_jvp = staticmethod(call_jvp)
    callee_forward = staticmethod(callee_forward)

    def __init__(self, parsed, normaliser, wrt_is_tuple=False):
        self.parsed = parsed
        self.namer = normaliser.namer
        self.filename = parsed.filename
        self.env = dict(normaliser.env)
        self.wrt_is_tuple = wrt_is_tuple
        #: dotted text -> object for every resolution the code relies on
        #: (including the functions the normaliser inlined, their code and
        #: defaults: the inlined body is theirs)
        self.dependencies = _with_inlined_bodies(normaliser.inlined)
        #: names the normaliser invented (defined before use in their block)
        self.temporaries = normaliser.namer.temporaries
        self.local_functions = normaliser.local_functions
        #: the user's except clauses the normal form left out (see :func:`bind`;
        #: a derivative's, those of the function it is the derivative of)
        self.handlers = tuple(normaliser.handlers) + getattr(
            getattr(parsed, "function", None), "__s2sgrad_handlers__", ())
        #: the normaliser's side tables (s2sgrad.ir.facts.NormalFormFacts)
        self.normal_facts = normaliser.facts
        self.user_names = normaliser.user_names
        #: the user's name of the function (of a derivative read again, of
        #: the function it differentiates): what errors name
        self.function_name = normaliser.function_name
        self.returns_name = normaliser.returns_name

    def resolve(self, node):
        """The object a function expression denotes (by identity)."""
        if isinstance(node, ast.Name) and node.id in self.env:
            return self.env[node.id]
        obj = self.parsed.resolve(node)
        if obj is not LOCAL and obj is not UNRESOLVED:
            self.dependencies[_dotted(node)] = obj
        return obj

    def env_name(self, obj, preferred):
        """A name for ``obj`` in generated code, preferring ``preferred``."""
        for name, value in self.env.items():
            if value is obj:
                return name
        if self.parsed.resolve(ast.Name(preferred)) is obj:
            self.dependencies[preferred] = obj
            return preferred
        name = self.namer.fresh(preferred)
        while name in self.parsed.globals or hasattr(builtins, name):
            name = self.namer.fresh(preferred, exact_first=False)
        self.env[name] = obj
        return name

    def is_pure_call(self, call):
        """True for calls to primitives with rules and to runtime helpers
        that write into nothing they are given (a stack's push and pop do)."""
        func = self.resolve(call.func)
        found = registry.record(func)
        if found is not None and found.mutates:
            return False
        if getattr(func, "__module__", None) in (runtime.__name__, "math"):
            return True
        return found is not None and found.vjp is not None

    def writes_argument(self, call):
        """The positions of the arguments ``call`` writes into (its record's
        ``mutates``: a stack's push and pop write the stack)."""
        found = registry.record(self.resolve(call.func))
        return () if found is None else found.mutates

    def literal(self, value):
        """An AST expression for a Python value (rule default, constant)."""
        if value is None or isinstance(value, (bool, str)) or (
            isinstance(value, numbers.Real) and type(value) in (int, float)
        ):
            return ast.Constant(value)
        if isinstance(value, tuple):
            return ast.Tuple([self.literal(v) for v in value], ast.Load())
        return ast.Name(self.env_name(value, "const"), ast.Load())

    def source_line(self, node):
        """The user's source text of ``node``'s statement, on one line."""
        lineno = getattr(node, "lineno", None)
        lines = self.parsed.source_lines
        if not lineno or lineno > len(lines):
            return None
        end = getattr(node, "end_lineno", lineno) or lineno
        text = " ".join(line.strip() for line in lines[lineno - 1:end])
        return text or None



def _dotted(node):
    """The text of a name or dotted name (``np.linalg.norm``), as
    ``ast.unparse`` writes it, without its cost (resolution runs for every
    call the passes look at); any other expression through ``ast.unparse``."""
    parts, base = [], node
    while isinstance(base, ast.Attribute):
        parts.append(base.attr)
        base = base.value
    if not isinstance(base, ast.Name):
        return ast.unparse(node)
    parts.append(base.id)
    return ".".join(reversed(parts))


def _with_inlined_bodies(inlined):
    """``inlined`` (dotted text -> function) plus each function's code and
    defaults: a callee whose ``__code__`` was replaced (as autoreload does)
    or whose defaults were reassigned has another body to inline."""
    resolved = {}
    for text, function in inlined.items():
        resolved[text] = function
        resolved[f"{text}.__code__"] = function.__code__
        resolved[f"{text}.__defaults__"] = function.__defaults__
    return resolved


class _Held:
    """A strong reference with the interface of a weak one (for objects
    that allow no weak reference: ufuncs, tuples, numbers)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __call__(self):
        return self.obj


def _reference(obj):
    try:
        return weakref.ref(obj)
    except TypeError:
        return _Held(obj)


def remember(resolved):
    """``resolved`` (dotted text -> object) in the form
    :func:`resolutions_hold` checks: weak references where the object allows
    one, so what remembers it keeps no user function, class or module alive."""
    return tuple((text, _reference(obj)) for text, obj in resolved.items())


def resolutions_hold(function, remembered, classes=()):
    """True when every dotted text of ``remembered`` (see :func:`remember`)
    still denotes its object in ``function``'s scope (globals, closure cells,
    builtins; a parameter of ``classes``, (name, class) pairs, its class):
    what a cache of code generated from ``function``'s source checks on a
    hit. An object that died no longer holds."""
    scope = _Scope.of(function, classes)
    for text, reference in remembered:
        obj = reference()
        if obj is None and type(reference) is weakref.ref:
            return False
        if scope.resolve_text(text) is not obj:
            return False
    return True


class _Scope:
    """Cheap re-resolution of dotted names for cache validation."""

    def __init__(self, globals_, closure, classes=()):
        self.globals = globals_
        #: name -> cell
        self.closure = closure
        #: parameter -> the class of its argument (``model.forward`` is that
        #: class's function: see idioms.argument_method)
        self.classes = dict(classes)

    @classmethod
    def of(cls, function, classes=()):
        return cls(function.__globals__,
                   dict(zip(function.__code__.co_freevars, function.__closure__ or ())), classes)

    def resolve_text(self, text):
        head, *rest = text.split(".")
        if head in self.classes:
            obj = self.classes[head]
        elif head in self.closure:
            try:
                obj = self.closure[head].cell_contents
            except ValueError:
                return UNRESOLVED
        elif head in self.globals:
            obj = self.globals[head]
        else:
            obj = getattr(builtins, head, UNRESOLVED)
        for part in rest:
            obj = getattr(obj, part, UNRESOLVED)
        return obj


class Generated:
    """One cache entry: the compiled code and what it was built from."""

    def __init__(self, source, code, dependencies, wrt_names, seed_name=None, unreached=(),
                 handlers=()):
        self.source = source
        self.code = code
        #: the resolutions the code relies on (dotted text -> object; the
        #: context is not kept: it holds the user's function, globals and closure)
        self.resolved = remember(dependencies)
        self.wrt_names = wrt_names
        #: keyword-only parameter carrying the output cotangent (seed mode)
        self.seed_name = seed_name
        #: wrt names the result does not depend on (their gradient is zero)
        self.unreached = frozenset(unreached)
        #: the except clauses of the user's left out of the code (see :func:`bind`)
        self.handlers = handlers


class ProgramContext(Context):
    """The context for a program that has no user source (a tape recording).

    Names resolve through ``env`` alone; comments quote the program's own
    statements.
    """

    def __init__(self, tree, env):
        self.parsed = None
        self.namer = Namer({n.id for n in walk(tree) if isinstance(n, ast.Name)} |
                           {a.arg for a in walk(tree) if isinstance(a, ast.arg)} |
                           set(env))
        self.filename = "<tape>"
        self.env = dict(env)
        self.wrt_is_tuple = True
        self.dependencies = {}
        self.temporaries = set()
        self.local_functions = {}
        self.handlers = ()
        self.normal_facts = NormalFormFacts()
        self.user_names = {}
        self.function_name = self.returns_name = tree.name
        self.lines = ast.unparse(tree).splitlines()[1:]

    def resolve(self, node):
        if isinstance(node, ast.Name):
            return self.env.get(node.id, getattr(builtins, node.id, UNRESOLVED))
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return UNRESOLVED if base is UNRESOLVED else getattr(base, node.attr, UNRESOLVED)
        return UNRESOLVED

    def env_name(self, obj, preferred):
        return bind_name(self.env, self.namer, obj, preferred)

    def source_line(self, node):
        lineno = getattr(node, "lineno", None)
        if not lineno or lineno > len(self.lines):
            return None
        return self.lines[lineno - 1].strip()


class ProgramGradient:
    """A compiled gradient of a sourceless program (see program_gradient)."""

    def __init__(self, function, unreached, source, residuals=()):
        self.function = function
        self.unreached = unreached
        self.source = source
        #: names of recorded values the function takes after its parameters
        self.residuals = list(residuals)


def program_gradient(tree, env, wrt, known_shapes=None, recorded=()):
    """Differentiate a normal-form ``tree`` whose free names are in ``env``.

    The entry of the tape: the program comes from a recording, not from
    source, so it enters at the ``shapes`` pass. Values listed in
    ``recorded`` are known already (the tape kept them): statements
    computing them are dropped and they become parameters, after the
    program's own; the seed is the last positional parameter; no argument
    checks, no ``del``, no casts (the tape gives each gradient its source's
    dtype itself). Returns the compiled vector-Jacobian product
    ``(*params, *recorded values, <seed>) -> grads``.
    """
    key = _program_key(tree, env, wrt, known_shapes, recorded)
    stored = _program_from_disk(key) if key is not None else None
    if stored is not None:
        return stored
    g = Generation(wrt, label="tape", is_tuple=True, seed=True, known_shapes=known_shapes,
                   positional_seed=True, recorded=recorded, checks=False, free_locals=False,
                   typed=False)
    g.context = ProgramContext(tree, env)
    g.program = tree
    run(g, "shapes")
    if key is not None:
        _store(key, g)
    return ProgramGradient(_bind_program(g.code), set(g.unreached), g.source, g.residuals)


def _bind_program(code):
    return code.bind({"__name__": "s2sgrad.tape", "__builtins__": builtins}, {})


def _program_key(tree, env, wrt, known_shapes, recorded):
    """The disk-cache key of a tape program: what determines its gradient
    (the program's statements, ``wrt``, the known shapes, the recorded names
    and what each name of ``env`` denotes, by fingerprint), or None when an
    object of ``env`` has no portable description (or the disk cache is off)."""
    if not disk.enabled():
        return None
    named = sorted((name, portable.fingerprint(obj)) for name, obj in env.items())
    if any(fp is None for _, fp in named):
        return None
    shapes = sorted((name, list(shape)) for name, shape in (known_shapes or {}).items())
    return ("tape program", _digest(ast.dump(tree).encode()), list(wrt), shapes,
            sorted(recorded), named)


def _program_from_disk(key):
    """The ProgramGradient the disk cache holds for ``key``, or None."""

    def make(stored):
        code = _compiled_from(stored)
        if code is None:
            return None
        return ProgramGradient(_bind_program(code), set(stored["unreached"]), stored["source"],
                               stored["residuals"])

    return disk.load(key, make)


# ---------------------------------------------------------------- the passes
class Generation:
    """One program on its way through the passes, with the options of the run.

    ``program`` is the pass's output while it is an AST (from ``parse`` to
    ``free``); ``source`` and ``code`` are what ``emit`` and ``compile``
    make. The options: ``names`` (the wrt parameters), ``is_tuple`` (a tuple
    of gradients), ``return_value`` (value and gradient), ``seed`` (a
    cotangent parameter: a VJP), ``known_shapes`` (parameter -> shape, from a
    front end that specialises on them), ``example_args`` (values of those
    shapes, to find every value's shape by running a straight-line program),
    ``positional_seed`` (the seed is the last positional parameter),
    ``recorded`` (names whose values a tape kept: they become parameters),
    ``checks`` (argument checks in generated code; default: unless shapes
    are known), ``free_locals`` (``del`` arrays after their last use),
    ``typed`` (each gradient returned in its argument's type, dtype and
    shape, see :mod:`s2sgrad.transform.dtypes`; off for the tape's front
    ends, which finish the gradients themselves), ``label`` (names the
    generated file), ``mode`` ("reverse": a
    gradient; "forward": a Jacobian-vector product, ``(value, tangent)``
    with one keyword-only tangent parameter per wrt argument) and
    ``batched`` (forward mode: each tangent carries a leading axis of
    directions) and ``tangent_only`` (forward mode: the tangent is returned
    alone, so what only the value needed is dropped).
    """

    def __init__(self, names, *, label, is_tuple=False, return_value=False, seed=None,
                 known_shapes=None, example_args=None, positional_seed=False, recorded=(),
                 checks=None, free_locals=True, mode="reverse", batched=False,
                 tangent_only=False, typed=True, classes=()):
        self.names = tuple(names)
        #: (parameter, class) of the arguments whose methods the function calls
        self.classes = classes
        self.typed = typed
        self.mode = mode
        self.batched = batched
        self.tangent_only = tangent_only
        self.label = label
        self.is_tuple = is_tuple
        self.return_value = return_value
        self.seed = seed
        self.known_shapes = known_shapes
        self.example_args = example_args
        self.positional_seed = positional_seed
        self.recorded = frozenset(recorded)
        self.checks = checks
        self.free_locals = free_locals
        self.function = None
        self.parsed = None
        self.context = None
        self.program = None
        #: the shapes pass's ShapeFacts
        self.facts = None
        #: the differentiate pass's GradientFacts (s2sgrad.ir.facts), for sink and free
        self.gradient_facts = None
        self.seed_name = None
        self.unreached = ()
        #: recorded names the gradient takes as parameters, after the program's own
        self.residuals = []
        #: what the passes looked up in the primitive table (registry.lookups)
        self.lookups = {}
        self.source = None
        #: the user's (file, line) of each line of ``source`` (see codegen.emit)
        self.origins = None
        self.code = None

    def output(self, stage):
        """What the last pass produced, for a pass of ``stage``."""
        return {"text": self.source, "code": self.code}.get(stage, self.program)


#: the side tables of facts a Generation carries: name -> its attribute
FACTS = {"shapes": "facts", "gradient": "gradient_facts"}


class Pass:
    """One named step of the pipeline: ``run(generation)`` brings its
    program to grammar ``stage``; a pass with a ``mode`` runs only in
    generations of that mode.

    A pass declares the side tables of facts (:data:`FACTS`) it ``makes``,
    ``reads`` and ``invalidates`` (it changes what they describe): the
    driver drops what a pass invalidates, refuses to run a pass whose facts
    are missing, and with checking on verifies that facts a pass kept still
    describe its output."""

    __slots__ = ("name", "run", "stage", "mode", "makes", "reads", "invalidates")

    def __init__(self, name, run, stage, mode=None, makes=(), reads=(), invalidates=()):
        self.name = name
        self.run = run
        self.stage = stage
        self.mode = mode
        self.makes = makes
        self.reads = reads
        self.invalidates = invalidates


def _parse(g):
    """Read the function's source; resolve every name it uses."""
    g.parsed = parse_function(g.function)
    g.program = g.parsed.tree


def _normalise(g):
    """One operation per statement; which calls to the user's functions to inline."""
    g.program, normaliser = normalise(g.parsed, params_outlive=g.seed == CALLEE_SEED,
                                      argument_classes=dict(g.classes))
    g.context = Context(g.parsed, normaliser, wrt_is_tuple=g.is_tuple)


def _inline(g):
    """Those calls replaced by the callee's normal form."""
    splice_calls(g.program, g.context.normal_facts)


def _cse(g):
    """Repeated pure operations computed once."""
    eliminate_common_subexpressions(g.program, g.context.resolve)


def _shapes(g):
    """Which values share a shape, which are scalars (known shapes if given)."""
    if g.example_args is not None:
        namespace = dict(g.parsed.globals)
        namespace.update((name, cell.cell_contents) for name, cell in g.parsed.closure.items())
        namespace.update(g.context.env)
        g.known_shapes = shapes_by_running(g.program, namespace, g.example_args) \
            or g.known_shapes
    g.facts = _shape_facts(g)


def _shape_facts(g):
    return analyse_shapes(g.program, g.context.resolve,
                          result_is_scalar=not g.seed and g.mode == "reverse",
                          known_shapes=g.known_shapes)


def _differentiate(g):
    """Reverse mode: the primal sweep, then the adjoint sweep."""
    checks = g.known_shapes is None if g.checks is None else g.checks
    like = None if g.function is None else _gradient_parameter.get(g.function.__code__)
    mode = ReverseMode(g.program, g.context, g.names, g.facts, seed=g.seed,
                       return_value=g.return_value, known_shapes=g.known_shapes, checks=checks,
                       result_like=like, typed=g.typed)
    g.program = mode.transform()
    g.seed_name = mode.seed_name
    g.unreached = mode.unreached
    g.gradient_facts = mode.gradient_facts


def _forward(g):
    """Forward mode: each primal statement followed by its tangent."""
    checks = g.known_shapes is None if g.checks is None else g.checks
    mode = ForwardMode(g.program, g.context, g.names, g.facts, checks=checks, batched=g.batched,
                       tangent_only=g.tangent_only, typed=g.typed)
    g.program = mode.transform()
    g.seed_name = mode.tangent_params
    g.unreached = mode.unreached
    g.gradient_facts = mode.gradient_facts


def _simplify(g):
    """The rule templates' constants folded, algebraic identities dropped."""
    simplify_recorded(g.program, g.gradient_facts.algebra, g.context)


def _dce(g):
    """Statements whose value nothing reads dropped; copies propagated."""
    eliminate_dead_code(g.program, g.context.writes_argument)


def _signature(g):
    """Recorded values become parameters; the seed may become positional."""
    tree = g.program
    if g.recorded:
        kept, dropped = [], []
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name) \
                    and stmt.targets[0].id in g.recorded:
                dropped.append(stmt.targets[0].id)
            else:
                kept.append(stmt)
        tree.body = kept
        read = {n.id for n in walk(tree)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        g.residuals = [name for name in dropped if name in read]
        tree.args.args += [ast.arg(name) for name in g.residuals]
    if g.positional_seed:
        tree.args.args.append(tree.args.kwonlyargs.pop())
        tree.args.kw_defaults.pop()
    if g.recorded:  # what only computed the recorded values is dead now
        eliminate_dead_code(tree, g.context.writes_argument)


def _sink(g):
    """Primal statements only a guard reads moved into the guard."""
    sink_into_guards(g.program, g.gradient_facts.float_guards)


def _fold(g):
    """Temporaries read once folded into the expression that reads them,
    a private copy that only an operator reads dropped, a cast the Python
    float path does not need moved into its guard."""
    inline_single_use(g.program, g.context.is_pure_call, g.context.writes_argument)
    resolve = g.context.resolve
    drop_copies_into_operators(g.program, lambda call: resolve(call.func) is runtime.owned_copy
                               and len(call.args) == 1 and not call.keywords)
    cast_outside_float_path(g.program, g.gradient_facts.float_guards, g.context.resolve)


def _free(g):
    """Arrays deleted after their last use."""
    if g.free_locals:
        free_dead_locals(g.program, keep=g.gradient_facts.small_values)


def _emit(g):
    """Python source, with ``# grad of:`` comments."""
    g.source = to_source(g.program)
    g.origins = [user_location(g.context.filename, line) if line else None
                 for line in line_origins(g.program, g.source)]


def _compile(g):
    """A code object, its source registered for tracebacks and getsource
    (and, for errors in it read again, the user's line of each line)."""
    closure = tuple(g.parsed.closure) if g.parsed is not None else ()
    g.code = CompiledCode(g.source, g.program.name, g.context.env, g.label,
                          closure_names=closure, origins=g.origins)


PASSES = (
    Pass("parse", _parse, "source"),
    Pass("normalise", _normalise, "normal"),
    Pass("inline", _inline, "inlined", invalidates=("shapes",)),
    Pass("cse", _cse, "inlined", invalidates=("shapes",)),
    Pass("shapes", _shapes, "inlined", makes=("shapes",)),
    Pass("differentiate", _differentiate, "adjoint", mode="reverse", reads=("shapes",),
         makes=("gradient",)),
    Pass("forward", _forward, "adjoint", mode="forward", reads=("shapes",),
         makes=("gradient",)),
    Pass("simplify", _simplify, "adjoint", reads=("gradient",)),
    Pass("dce", _dce, "adjoint"),
    Pass("signature", _signature, "adjoint"),
    Pass("sink", _sink, "adjoint", reads=("gradient",)),
    Pass("fold", _fold, "adjoint"),
    Pass("free", _free, "freed", reads=("gradient",)),
    Pass("emit", _emit, "text"),
    Pass("compile", _compile, "code"),
)
PASS_NAMES = tuple(p.name for p in PASSES)


def checking():
    """True when ``S2SGRAD_CHECK`` asks for the grammar check after every pass."""
    return os.environ.get(CHECK_VARIABLE, "") not in ("", "0")


def run(g, start, stop=None):
    """Run the passes from ``start`` through ``stop`` (default: the last) on ``g``."""
    with registry.lookups() as log:
        _run(g, start, stop)
    g.lookups.update(log)
    return g


def _run(g, start, stop):
    first = PASS_NAMES.index(start)
    check = checking()
    if check and first:
        previous = PASSES[first - 1]
        grammar.check(g.output(previous.stage), previous.stage, f"{start} (its input)")
    for p in PASSES[first:]:
        if p.mode is not None and p.mode != g.mode:
            if p.name == stop:
                raise ValueError(f"pass {stop!r} runs in {p.mode} mode only")
            continue
        missing = [fact for fact in p.reads if getattr(g, FACTS[fact]) is None]
        if missing:
            raise InternalError(f"internal error: pass {p.name!r} reads the {missing[0]} facts, "
                                "which no pass before it made (or one invalidated)")
        try:
            p.run(g)
        except Exception as error:
            if getattr(error, "pass_name", None) is None:
                with contextlib.suppress(AttributeError, TypeError):
                    error.pass_name = p.name
            raise
        for fact in p.invalidates:
            setattr(g, FACTS[fact], None)
        if check:
            grammar.check(g.output(p.stage), p.stage, p.name)
            _check_facts_hold(g, p)
        if p.name == stop:
            break


def _check_facts_hold(g, p):
    """With checking on: the shape facts a pass of the normal form kept (did
    not make, did not invalidate) are still those of its output program."""
    if g.facts is None or p.stage not in ("normal", "inlined") or "shapes" in p.makes:
        return
    if _shape_readings(_shape_facts(g)) != _shape_readings(g.facts):
        raise InternalError(f"internal error: pass {p.name!r} changed what the shape facts "
                            "describe without invalidating them")


def _shape_readings(facts):
    readings = (facts.proven, facts.assumed, facts.scalar_proof)
    return [None if r is None else r.partition() for r in readings], facts.scalar_params


def program_after(function, wrt, stop, mode="reverse"):
    """The Generation of ``function``'s derivative after pass ``stop`` (uncached:
    what ``s2sgrad show --stage`` prints)."""
    names, is_tuple = wrt_names(function, wrt)
    g = Generation(names, label=function.__qualname__, is_tuple=is_tuple, mode=mode)
    g.function = function
    return run(g, "parse", stop)


def listing(g, stop):
    """The program of ``g`` after pass ``stop``, readable."""
    stage = PASSES[PASS_NAMES.index(stop)].stage
    if stage == "text":
        return g.source
    if stage == "code":
        return f"# compiled as {g.code.filename}\n{g.code.source}"
    if stage in ("adjoint", "freed"):
        return to_source(g.program)
    text = ast.unparse(g.program) + "\n"
    if stop == "shapes":
        text += _shape_comments(g)
    return text


def _shape_comments(g):
    """``# same shape: a b c`` per class of two or more names, and the scalars."""
    classes = {}
    for name in sorted(g.facts.assumed.of_name):
        classes.setdefault(g.facts.assumed.of(name), []).append(name)
    lines = []
    scalars = classes.pop(0, [])
    if scalars:
        lines.append("# scalars: " + " ".join(scalars))
    for names in sorted(n for n in classes.values() if len(n) > 1):
        lines.append("# same shape: " + " ".join(names))
    return "".join(line + "\n" for line in lines)


def wrt_names(function, wrt):
    """Parameter names for ``wrt`` (int, str or tuple of them)."""
    code = function.__code__
    if code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        # (a decorator's wrapper that does more than pass them on is what
        # runs: its parameters say nothing of what to differentiate)
        what = "a decorator's wrapper" if hasattr(function, "__wrapped__") else "a function"
        raise UnsupportedSyntaxError(
            f"{what} with *args/**kwargs parameters ({function.__qualname__})",
            code.co_filename, code.co_firstlineno, "parse",
            "give it named parameters, or differentiate the undecorated function")
    params = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
    items = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    names = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise TypeError(f"wrt must name arguments by position or name, got {item!r}")
        if isinstance(item, int):
            positional = params[: code.co_argcount]
            if not -len(positional) <= item < len(positional):
                raise ValueError(
                    f"wrt={item} is out of range: {function.__qualname__} takes "
                    f"{len(positional)} positional argument(s) {positional}"
                )
            names.append(positional[item])
        elif item not in params:
            raise ValueError(f"wrt={item!r}: {function.__qualname__} has no argument {item!r} "
                             f"(its arguments are {params})")
        else:
            names.append(item)
    if not names:
        raise ValueError(f"wrt=() names no argument of {function.__qualname__}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"wrt names argument {repeated[0]!r} of {function.__qualname__} more than once")
    return tuple(names), isinstance(wrt, (tuple, list))


def gradient_code(function, wrt=0, *, return_value=False, seed=None, mode="reverse",
                  batched=False, tangent_only=False, classes=()):
    """The (cached) generated gradient of ``function``: a Generated entry.

    Keyed by the code object running now and the source it was read from
    (see :func:`code_key`), ``wrt`` and the options (the cache adds the
    registry's generation); a hit also re-checks every name resolution the
    code relies on (:func:`resolutions_hold`). A miss reads the disk cache
    (:func:`from_disk`) before it generates, and stores what it generates.
    ``classes`` ((parameter, class) pairs) are the classes of the arguments
    whose methods the function calls (see :func:`code_for_call`); code
    specialised to them is kept in memory only (a class of another process
    is not this one).
    """
    names, is_tuple = wrt_names(function, wrt)
    key = (*code_key(function.__code__), names, is_tuple, return_value, seed, mode)
    if batched or tangent_only:
        key += (("batched",) if batched else ()) + (("tangent only",) if tangent_only else ())
    if classes:
        key += (("classes", classes),)

    def make():
        if classes:
            return _generate(function, names, is_tuple, return_value, seed, mode, None, batched,
                             tangent_only, classes)
        return from_disk(function, key) or _generate(
            function, names, is_tuple, return_value, seed, mode, key, batched, tangent_only)

    entry = cache.cached(key, lambda entry: resolutions_hold(function, entry.resolved, classes),
                         make)
    if mode == "reverse" and not (is_tuple or return_value or seed or batched):
        _gradient_parameter[entry.code.code] = names[0]
    return entry


#: code object -> the parameters whose arguments' classes its derivatives
#: need (see :func:`code_for_call`)
_classes_needed = weakref.WeakKeyDictionary()


def code_for_call(function, wrt, args, kwargs, **options):
    """:func:`gradient_code` of ``function`` for the call ``function(*args,
    **kwargs)``: specialised to the classes of the arguments whose methods
    it calls (``model.forward(x)``, refused with ArgumentClassNeeded until
    they are given), which are remembered per code object."""
    needed = _classes_needed.get(function.__code__, ())
    while True:
        if needed:
            values = _argument_values(function, args, kwargs)
            for name in set(needed) & set(wrt_names(function, wrt)[0]):
                # (differentiating with respect to an object: a TypeError naming it)
                runtime.require_float(values[name], name, function.__qualname__)
        classes = classes_of_call(function, args, kwargs)
        try:
            return gradient_code(function, wrt, classes=classes, **options)
        except ArgumentClassNeeded as error:
            if set(error.names) <= set(needed):
                raise
            needed = tuple(sorted(set(needed) | set(error.names)))
            _classes_needed[function.__code__] = needed


def classes_of_call(function, args, kwargs):
    """``(parameter, class)`` of each argument of the call ``function(*args,
    **kwargs)`` whose class its derivatives were found to need (see
    :func:`code_for_call`; none until one was generated)."""
    needed = _classes_needed.get(function.__code__, ())
    if not needed:
        return ()
    values = _argument_values(function, args, kwargs)
    for name in needed:
        own = getattr(values[name], "__dict__", None)
        replaced = sorted(own.keys() & _class_functions(type(values[name]))) if own else ()
        if replaced:  # (the object's own attribute is called, not the class's function)
            raise UnsupportedSyntaxError(
                f"argument {name!r}, a {type(values[name]).__name__} whose method "
                f"{replaced[0]} is replaced on the object itself", function.__code__.co_filename,
                function.__code__.co_firstlineno, "differentiate",
                "assign the new method to the class, or call the function directly")
    return tuple((name, type(values[name])) for name in needed)


#: class -> the names of the plain functions it defines or inherits
_functions_of_class = weakref.WeakKeyDictionary()


def _class_functions(cls):
    """The names of ``cls``'s plain functions (its methods, not its attributes)."""
    try:
        return _functions_of_class[cls]
    except (KeyError, TypeError):
        pass
    names = frozenset(name for name in dir(cls)
                      if inspect.isfunction(inspect.getattr_static(cls, name, None)))
    try:
        _functions_of_class[cls] = names
    except TypeError:
        pass
    return names


def _argument_values(function, args, kwargs):
    """Parameter name -> argument in the call ``function(*args, **kwargs)``."""
    code = function.__code__
    values = dict(zip(code.co_varnames[:code.co_argcount], args))
    values.update(kwargs)
    if len(values) < code.co_argcount + code.co_kwonlyargcount:  # (defaults)
        bound = inspect.signature(function).bind_partial(*args, **kwargs)
        bound.apply_defaults()
        values.update(bound.arguments)
    return values


#: code of a generated gradient with respect to one parameter -> that
#: parameter's name: its result has that argument's shape, so the entry of
#: its own derivative checks the argument, not the result (the first
#: derivative's checks are not part of the program differentiated again)
_gradient_parameter = weakref.WeakKeyDictionary()


#: id(code) -> (weak reference to the code, its code_key)
_code_keys = {}


def code_key(code):
    """Digests of everything of ``code`` a derivative depends on: the code
    object itself (what ``marshal`` keeps: bytecode, names, constants,
    argument layout, file, first line, line table -- so a function whose
    ``__code__`` was replaced gets a new key; a generated file's per-process
    serial number left out) and the source text found for it. Computed once
    per code object; strings only, so a key can be serialised."""
    known = _code_keys.get(id(code))
    if known is not None and known[0]() is code:
        return known[1]
    key = (portable.code_digest(code), _digest("".join(_source_lines(code)).encode()))
    ident = id(code)

    def forget(reference):
        if _code_keys.get(ident, (None,))[0] is reference:
            del _code_keys[ident]

    _code_keys[ident] = (weakref.ref(code, forget), key)
    return key


def _source_lines(code):
    """The lines ``linecache`` holds from ``code``'s first line to its last
    (the text it was compiled from, as far as the lines it runs show)."""
    lines = linecache.getlines(code.co_filename)
    last = max((line for _, _, line in code.co_lines() if line), default=code.co_firstlineno)
    return lines[code.co_firstlineno - 1:last]


def _digest(data):
    return hashlib.sha1(data).hexdigest()


def _generate(function, names, is_tuple, return_value, seed, mode, key, batched=False,
              tangent_only=False, classes=()):
    g = Generation(names, label=function.__qualname__, is_tuple=is_tuple,
                   return_value=return_value, seed=seed, mode=mode, batched=batched,
                   tangent_only=tangent_only, classes=classes)
    g.function = function
    entry = _generated(run(g, "parse"))
    if key is not None:
        _store(key, g)
    return entry


def _store(key, g):
    """Keep generation ``g`` in the disk cache under ``key`` when it has a
    portable description."""
    stored = _portable_entry(g)
    if stored is not None:
        disk.store(key, stored)


def _portable_entry(g):
    """What the disk cache keeps of generation ``g`` (JSON: the source and
    portable descriptions of the helpers it is handed and of every
    resolution it relies on), or None when one of them has none."""
    closure = list(g.parsed.closure) if g.parsed is not None else []
    used = sorted(set(g.code.code.co_freevars) - set(closure))
    helpers = {name: portable.reference(g.code.helpers[name]) for name in used}
    resolved = [[text, portable.fingerprint(obj)] for text, obj in g.context.dependencies.items()]
    rules = portable.rules_used(g.lookups)
    if None in helpers.values() or any(fp is None for _, fp in resolved) or rules is None \
            or g.context.handlers:  # (exception classes: this process's objects)
        return None
    # (the helpers the code does not read stay parameters of the factory, so
    # that what is compiled again is the same text: see code_key)
    unused = sorted(set(g.code.helpers) - set(used) - set(closure))
    return {"source": g.source, "name": g.code.name, "label": g.label, "closure": closure,
            "unused": unused, "helpers": helpers, "resolved": resolved, "wrt_names": list(g.names),
            "seed_name": g.seed_name, "unreached": sorted(g.unreached), "origins": g.origins,
            "residuals": list(g.residuals), "rules": rules,
            "compiled": disk.code_text(g.code.factory)}


def from_disk(function, key):
    """The entry the disk cache holds for ``key``, compiled and bound to
    nothing yet, when every resolution it relies on still holds in
    ``function``'s scope (by fingerprint: another process's objects are not
    these); else None. No pass runs."""
    return _from_disk(_Scope.of(function), key)


def _from_disk(scope, key):
    """The entry the disk cache holds for ``key`` when every resolution it
    relies on denotes, in ``scope``, an object of the same fingerprint."""
    return disk.load(key, lambda stored: _entry_from(scope, stored))


def _entry_from(scope, stored):
    """The Generated entry of the disk-cache entry ``stored``, or None."""
    try:
        dependencies = {}
        for text, expected in stored["resolved"]:
            obj = scope.resolve_text(text)
            if portable.fingerprint(obj) != expected:
                return None
            dependencies[text] = obj
        code = _compiled_from(stored)
        if code is None:
            return None
        return Generated(stored["source"], code, dependencies, tuple(stored["wrt_names"]),
                         stored["seed_name"], stored["unreached"])
    except (KeyError, TypeError, ValueError, EOFError, SyntaxError):
        return None


def _compiled_from(stored):
    """The CompiledCode of a disk-cache entry (see :func:`_portable_entry`),
    its helpers found again in this process; None when one is missing or the
    entry is malformed."""
    try:
        if not portable.rules_hold(stored["rules"]):
            return None
        helpers = {name: portable.rebuild(ref) for name, ref in stored["helpers"].items()}
        if any(obj is portable.MISSING for obj in helpers.values()):
            return None
        return CompiledCode(stored["source"], stored["name"], helpers, stored["label"],
                            closure_names=[*stored["closure"], *stored["unused"]],
                            factory=disk.code_of(stored["compiled"]), origins=stored["origins"])
    except (KeyError, TypeError, ValueError, AttributeError, EOFError, SyntaxError):
        return None


def generate(parsed, names, is_tuple, return_value, seed, label, known_shapes=None,
             positional_seed=False, example_args=None):
    """Generate from a function its front end parsed itself: enters at ``normalise``.

    ``tf.function`` lifts each tape block into one; ``label`` names the
    generated file. Such a front end may specialise on the parameters'
    ``known_shapes`` (it then also checks their types itself: no argument
    checks are generated); with ``example_args`` (values of those shapes) the
    shapes of every value of a straight-line function are found by running
    it once. With ``positional_seed`` (for a function without
    defaults) the seed is the last positional parameter, saving its caller a
    keyword dict per call. The gradients are returned as computed (not
    cast to the inputs' types): the tape block finishes them itself. Not
    cached: the caller owns the cache.
    """
    key = None
    if disk.enabled():
        kinds = [[type(a).__name__, a.dtype.str if hasattr(a, "dtype") else None]
                 for a in example_args or ()]
        shapes = sorted((name, list(shape)) for name, shape in (known_shapes or {}).items())
        key = ("tape block", parsed.filename,
               _digest(ast.dump(parsed.tree, include_attributes=True).encode()),
               sorted(parsed.closure), list(names), is_tuple, return_value, seed, label,
               shapes, positional_seed, kinds)
        stored = _from_disk(_Scope(parsed.globals, parsed.closure), key)
        if stored is not None:
            return stored
    g = Generation(names, label=label, is_tuple=is_tuple, return_value=return_value,
                   seed=seed, known_shapes=known_shapes, example_args=example_args,
                   positional_seed=positional_seed, typed=False)
    g.parsed = parsed
    g.program = parsed.tree
    entry = _generated(run(g, "normalise"))
    if key is not None:
        _store(key, g)
    return entry


def _generated(g):
    return Generated(g.source, g.code, g.context.dependencies, g.names, g.seed_name,
                     g.unreached, g.context.handlers)


def bind(entry, function, qualname=None):
    """The generated function of ``entry`` bound to ``function``'s scope
    (behind :func:`_refusing_caught` when the user's code had except clauses).
    ``qualname`` (else the generated name) is what Python's errors of a call
    with wrong arguments name it by: ``grad(f)() missing 1 required ...``."""
    closure = dict(zip(function.__code__.co_freevars, function.__closure__ or ()))
    bound = entry.code.bind(
        function.__globals__, closure, function.__defaults__, function.__kwdefaults__,
        qualname=qualname or entry.code.name,
    )
    return _refusing_caught(bound, entry.handlers) if entry.handlers else bound


def _refusing_caught(generated, handlers):
    """``generated`` raising UnsupportedSyntaxError, at the except clause,
    from an exception one of ``handlers`` (``(classes, file, line)``) would
    catch: the derivative follows the ``try`` block as if it completed, so
    a handler that would run is refused, never differentiated as a
    different program. The generated function itself is its
    ``__s2sgrad_generated__`` (what a second derivative reads)."""
    classes = tuple(c for caught, _, _ in handlers for c in caught)
    generated.__s2sgrad_handlers__ = handlers  # (its derivatives check them too)

    def refusing_caught(*args, **kwargs):
        try:
            return generated(*args, **kwargs)
        except classes as error:
            _, filename, lineno = next(h for h in handlers if isinstance(error, h[0]))
            raise UnsupportedSyntaxError(
                f"an except clause that would run (it catches {type(error).__name__}: {error})",
                filename, lineno, "differentiate",
                "s2sgrad follows the try block as if it completes: test for the case with "
                "an if statement instead") from error

    refusing_caught.__name__, refusing_caught.__qualname__ = generated.__name__, generated.__qualname__
    refusing_caught.__signature__ = inspect.signature(generated)
    refusing_caught.__s2sgrad_generated__ = generated
    return refusing_caught
