"""``tf.function``: the Python function with its tape blocks compiled.

TensorFlow traces a ``tf.function`` into a graph; here the function runs as
Python, but on its first call its source is read and every liftable tape
block (``with tf.GradientTape() as tape:`` over straight-line arithmetic,
then ``tape.gradient``) is replaced by a call to the block's generated
value-and-gradient (see :mod:`s2sgrad.frontend.tape_blocks` and
:mod:`s2sgrad.tape.blocks`). The rest of the function -- optimizer steps,
loops over ``tf.range``, printing -- runs as written. A function whose
source cannot be read, or with no liftable block, runs unchanged; a block
runs on the tape whenever its generated code would not compute exactly
what the tape computes.

TensorFlow runs a function's Python code only when it traces it: once per
input signature (each tensor's shape and dtype, each Python value), so a
Python ``print`` in it prints on the first call with a new signature and
not on the others (``tf.print`` prints every time). Here the function runs
every time, and its calls of the builtin ``print`` are rewritten to print
only on the calls that TensorFlow would trace (the functions it calls are
not rewritten). ``experimental_get_tracing_count()`` counts the signatures
seen; with ``input_signature`` there is one, and arguments must fit it.

The rewritten function is compiled from the user's own syntax tree with the
user's file name, so tracebacks point at the user's lines; conversions are
cached by code object and re-checked against the names they resolved.
"""

import ast
import copy
import functools
import threading
import types

import numpy as np

from s2sgrad import backend
from s2sgrad.errors import S2SGradError
from s2sgrad.frontend.parse import parse_function
from s2sgrad.frontend.tape_blocks import NotLiftable, lift_tape_blocks
from s2sgrad.ir.nodes import function_def
from s2sgrad.pipeline import remember, resolutions_hold
from s2sgrad.primitives import registry
from s2sgrad.tape.blocks import BlockCode, LiftedBlock
from s2sgrad.tape.tape import GradientTape
from s2sgrad.tape.tensor import Tensor
from s2sgrad.tape.variable import Variable
from s2sgrad.tf._types import TensorSpec

_tracing = threading.local()
#: the name calls of the builtin print are rewritten to
_PRINT = "__s2sgrad_print__"


def print_when_tracing(*args, **kwargs):
    """The builtin ``print``, on the calls TensorFlow would trace only."""
    if getattr(_tracing, "active", True):
        print(*args, **kwargs)


#: tf.config.run_functions_eagerly's switch (process-wide, as in TensorFlow)
_eagerly = {"on": False}


def set_run_eagerly(on):
    _eagerly["on"] = bool(on)


def run_eagerly():
    return _eagerly["on"]


class Function:
    """A ``tf.function``: calls the function with its tape blocks compiled."""

    def __init__(self, fn, autograph=True, input_signature=None, **options):
        self.python_function = fn
        self._options = options
        self._run = None if autograph else fn
        self.input_signature = None if input_signature is None else tuple(input_signature)
        self._traces = set()
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self._call(args, kwargs)

    def _call(self, args, kwargs, bound=()):
        """Run on ``args`` (``bound``: the instance of a method, outside the signature)."""
        if _eagerly["on"]:
            return self.python_function(*bound, *args, **kwargs)
        run = self._run
        if run is None:
            run = self._run = convert(self.python_function)
        key = self._trace_key(args, kwargs)
        tracing = key not in self._traces
        if tracing:
            self._traces.add(key)
        outer = getattr(_tracing, "active", True)
        _tracing.active = tracing
        try:
            return _outputs(run(*bound, *args, **kwargs))
        finally:
            _tracing.active = outer

    def _trace_key(self, args, kwargs):
        if self.input_signature is None:
            return trace_key((args, kwargs))
        specs = self.input_signature
        if kwargs or len(args) != len(specs) or not all(
                spec.is_compatible_with(arg) for spec, arg in zip(specs, args)
                if isinstance(spec, TensorSpec)):
            raise TypeError(
                f"Binding inputs to tf.function {self.python_function.__name__!r} failed: "
                f"the arguments {args!r} do not fit its input_signature {specs!r}")
        return "input_signature"

    def experimental_get_tracing_count(self):
        """How many times TensorFlow would have traced the function so far."""
        return len(self._traces)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self

        def method(*args, **kwargs):
            return self._call(args, kwargs, (obj,))

        functools.update_wrapper(method, self.python_function)
        method.experimental_get_tracing_count = self.experimental_get_tracing_count
        method.input_signature = self.input_signature
        method.python_function = self.python_function
        method.get_concrete_function = lambda *a, **k: ConcreteFunction(self, a, k, (obj,))
        return method

    def get_concrete_function(self, *args, **kwargs):
        return ConcreteFunction(self, args, kwargs)


def _outputs(result):
    """What a ``tf.function`` returns: as in TensorFlow, a variable in the result
    (``return self.v``, ``return v.assign_add(1)``) is returned as a tensor of its
    value, read as a tape reads it; containers keep their type."""
    if isinstance(result, Variable):
        return result.read_value()
    if type(result) in (list, tuple):
        return type(result)(_outputs(r) for r in result)
    if type(result) is dict:
        return {k: _outputs(r) for k, r in result.items()}
    return result


def _takes_tensors(value):
    """True for the arguments a ConcreteFunction takes: tensors, variables, arrays,
    ``tf.TensorSpec``s, and containers holding any."""
    if isinstance(value, (Tensor, TensorSpec, np.ndarray)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_takes_tensors(v) for v in value)
    if isinstance(value, dict):
        return any(_takes_tensors(v) for v in value.values())
    return False


class ConcreteFunction:
    """``get_concrete_function(*args, **kwargs)``: the function for arguments like
    these. As TensorFlow's, its parameters are the tensor arguments only (tensors,
    variables, arrays, ``tf.TensorSpec``s and containers of them), in their
    order; the others (Python numbers, objects such as an optimizer) are bound
    to the values given here. A tensor argument must fit the spec of the one it
    stands for (its dtype and shape; a ``TensorSpec``'s, or the given tensor's)."""

    def __init__(self, function, args, kwargs, bound=()):
        self._function = function
        self._args = args
        self._kwargs = kwargs
        self._bound = bound
        self._positions = [i for i, a in enumerate(args) if _takes_tensors(a)]
        self._keywords = [k for k, a in kwargs.items() if _takes_tensors(a)]

    def __call__(self, *args, **kwargs):
        name = self._function.python_function.__name__
        if len(args) != len(self._positions) or sorted(kwargs) != sorted(self._keywords):
            raise TypeError(
                f"{name}(...) as a concrete function takes its tensor arguments only: "
                f"{len(self._positions)} positional and {sorted(self._keywords) or 'no'} keyword "
                f"(the others are bound); got {len(args)} positional and {sorted(kwargs) or 'no'} keyword")
        full = list(self._args)
        for i, value in zip(self._positions, args):
            _check_fits(self._args[i], value, name)
            full[i] = value
        keywords = dict(self._kwargs)
        for k, value in kwargs.items():
            _check_fits(self._kwargs[k], value, name)
            keywords[k] = value
        return self._function._call(tuple(full), keywords, self._bound)


def _check_fits(template, value, name):
    """TypeError unless the tensor ``value`` fits the spec of ``template`` (a
    ``TensorSpec``, or a tensor or array standing for its dtype and shape)."""
    if isinstance(template, (Tensor, np.ndarray)):
        given = np.asarray(template._value if isinstance(template, Tensor) else template)
        template = TensorSpec(given.shape, given.dtype)
    if isinstance(template, TensorSpec) and isinstance(value, (Tensor, np.ndarray)) \
            and not template.is_compatible_with(value):
        raise TypeError(f"{name}(...): the argument {value!r} does not fit {template!r}")


def trace_key(value):
    """What TensorFlow traces a function anew for: tensors and arrays by shape
    and dtype, Python numbers and strings by value, containers entry by entry,
    other objects by identity."""
    if isinstance(value, Tensor):
        v = value._value
        return ("tensor", np.shape(v), np.asarray(v).dtype)
    if isinstance(value, (np.ndarray, np.generic)):
        return ("tensor", value.shape, value.dtype)
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return (type(value), value)
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(trace_key(v) for v in value))
    if isinstance(value, dict):
        return (dict, tuple(sorted((repr(k), trace_key(v)) for k, v in value.items())))
    return ("object", id(value))


def function(func=None, input_signature=None, autograph=True, jit_compile=None,
             reduce_retracing=False, **options):
    """Decorator (with or without arguments) marking a function for ``tf.function``."""
    if func is None:
        return functools.partial(function, input_signature=input_signature, autograph=autograph)
    return Function(func, autograph=autograph, input_signature=input_signature)


# -- conversion ----------------------------------------------------------------------


class Conversion:
    """A function's rewritten code and its lifted blocks (shared by every
    function object with the same code)."""

    def __init__(self, code, blocks, resolved):
        self.code = code
        self.blocks = blocks
        #: every resolution the lifting relied on (see pipeline.remember)
        self.resolved = remember(resolved)

    def still_valid(self, fn):
        return resolutions_hold(fn, self.resolved)

    def bind(self, fn):
        """The converted function for ``fn``'s globals, closure and defaults."""
        closure = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        lifted = [LiftedBlock(block, fn.__globals__, closure) for block in self.blocks]
        cells = dict(closure)
        cells[_PRINT] = types.CellType(print_when_tracing)
        for block, runtime in zip(self.blocks, lifted):
            runtime.cell = cells[block.spec.helper] = types.CellType(runtime)
        outer, *eagers = self.code
        for runtime, eager in zip(lifted, eagers):
            runtime.eager = _function(eager, fn.__globals__, cells)
        converted = _function(outer, fn.__globals__, cells, fn.__defaults__, fn.__kwdefaults__)
        converted.__qualname__ = fn.__qualname__
        converted.__wrapped__ = fn
        converted.__s2sgrad_blocks__ = lifted
        return converted


_conversions = {}
_lock = threading.Lock()


def convert(fn):
    """``fn`` with its liftable tape blocks compiled, or ``fn`` itself."""
    if not isinstance(fn, types.FunctionType):
        return fn
    key = (fn.__code__, fn.__code__.co_filename)
    with _lock:
        conversion = _conversions.get(key)
        if conversion is None or (conversion is not False and not conversion.still_valid(fn)):
            conversion = _conversions[key] = _convert(fn)
    if conversion is False:
        return fn
    return conversion.bind(fn)


def _convert(fn):
    if hasattr(fn, "__wrapped__"):
        return False  # a decorator's wrapper: its source is not what it runs
    try:
        parsed = parse_function(fn)
    except (S2SGradError, OSError, SyntaxError):
        return False
    if parsed.tree.name != fn.__code__.co_name:
        return False
    tree, specs, resolved = lift_tape_blocks(
        parsed, lambda obj: isinstance(obj, type) and issubclass(obj, GradientTape), lower_call)
    prints = _rewrite_prints(tree, fn)
    if not specs and not prints:
        return False
    code = _compile(tree, specs, parsed.filename, fn.__code__.co_freevars, prints)
    return Conversion(code, [BlockCode(spec, parsed) for spec in specs], resolved)


def _rewrite_prints(tree, fn):
    """Rename the function's uses of the builtin ``print`` to :data:`_PRINT`;
    whether there were any (a ``print`` of the user's own is left alone)."""
    if "print" in fn.__globals__ or "print" in fn.__code__.co_freevars:
        return False
    for node in ast.walk(tree):
        if (isinstance(node, ast.Name) and node.id == "print" and not isinstance(node.ctx, ast.Load)
                or isinstance(node, ast.arg) and node.arg == "print"
                or isinstance(node, (ast.Global, ast.Nonlocal)) and "print" in node.names):
            return False
    uses = [node for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == "print"]
    for node in uses:
        node.id = _PRINT
    return bool(uses)


def _compile(tree, specs, filename, freevars, prints=False):
    """Code objects of the rewritten function and of each block's eager form.

    They are compiled inside a factory whose parameters are the user's
    closure names and the blocks' helper names, so each becomes a free
    variable bound to a cell of our choosing (as :mod:`s2sgrad.codegen.compile`
    does); the user's file name and line numbers are kept.
    """

    functions = [tree]
    for spec in specs:
        spec.eager.name = f"{spec.helper}_eager"
        functions.append(spec.eager)
    params = sorted(set(freevars) | {spec.helper for spec in specs} | ({_PRINT} if prints else set()))
    arguments = ast.arguments(posonlyargs=[], args=[ast.arg(p) for p in params], vararg=None,
                              kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    factory = function_def("__s2sgrad_factory__", arguments, functions, tree.lineno)
    factory.end_lineno = max(getattr(n, "end_lineno", 0) or 0 for n in ast.walk(tree))
    compiled = compile(ast.fix_missing_locations(ast.Module([factory], [])), filename, "exec")
    (factory_code,) = [c for c in compiled.co_consts if isinstance(c, types.CodeType)]
    by_name = {c.co_name: c for c in factory_code.co_consts if isinstance(c, types.CodeType)}
    return [by_name[function.name] for function in functions]


def _function(code, globals_, cells, defaults=None, kwdefaults=None):
    closure = tuple(cells[name] for name in code.co_freevars)
    fn = types.FunctionType(code, globals_, code.co_name, defaults, closure)
    if kwdefaults:
        fn.__kwdefaults__ = dict(kwdefaults)
    return fn


# -- lowering tf calls to NumPy ------------------------------------------------------------


def lower_call(obj, args, keywords, refer):
    """The NumPy expression for a call to a marked ``tf`` function, or None.

    How the marked primitive is written follows its record: an operator's
    syntax (``x ** y``), a reduction with constant options, or a call.
    """
    marker = getattr(obj, "__s2sgrad_lowering__", None)
    if marker is None:
        if isinstance(obj, np.ufunc) or (getattr(obj, "__module__", None) or "").startswith("numpy"):
            # on a tf tensor, a NumPy function computes outside the tape (as in
            # TensorFlow): the block runs on the tape, which knows the tensors
            raise NotLiftable(f"the NumPy function {getattr(obj, '__name__', obj)}")
        return None
    keywords = {k: v for k, v in keywords.items() if k != "name"}
    if isinstance(marker, str):
        return _template(marker, args, keywords, refer)
    found = registry.record(marker)
    node = None if found is None else found.operator_node
    if node is not None:
        if issubclass(node, ast.unaryop) and len(args) == 1 and not keywords:
            return ast.UnaryOp(node(), args[0])
        if issubclass(node, ast.operator) and len(args) == 2 and not keywords:
            return ast.BinOp(args[0], node(), args[1])
        raise NotLiftable(f"{getattr(obj, '__name__', obj)} with these arguments")
    if found is not None and found.reduction:
        return _reduction(marker, args, keywords, refer)
    if keywords:
        raise NotLiftable(f"{marker.__name__} with keywords")
    return ast.Call(_numpy_function(marker, refer), args, [])


def _template(template, args, keywords, refer):
    """The template's expression with ``{i}`` the i-th argument, ``np`` the array namespace."""
    names = [f"__s2sgrad_argument_{i}" for i in range(len(args))]
    try:
        expr = ast.parse(template.format(*names), mode="eval").body
    except IndexError:
        raise NotLiftable("fewer arguments than the operation takes") from None
    for node in ast.walk(expr):  # the template's own positions mean nothing in the user's file
        for attribute in ("lineno", "end_lineno", "col_offset", "end_col_offset"):
            if hasattr(node, attribute):
                delattr(node, attribute)
    if keywords or any(template.count("{%d}" % i) == 0 for i in range(len(args))):
        raise NotLiftable("arguments the operation does not take as they are")
    by_name = dict(zip(names, args))

    class Fill(ast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in by_name:
                return copy.deepcopy(by_name[node.id])
            if node.id == "np":
                return refer(backend.xp, "np")
            return node

    return Fill().visit(expr)


def _reduction(primitive, args, keywords, refer):
    """``np.<reduction>(x, axis=..., keepdims=...)`` with constant options."""
    names = ["axis", "keepdims"]
    if len(args) > 3 or not args:
        raise NotLiftable("a reduction's arguments")
    options = dict(zip(names, args[1:]))
    for key, value in keywords.items():
        if key not in names or key in options:
            raise NotLiftable(f"the reduction keyword {key}")
        options[key] = value
    out = []
    for key, value in options.items():
        try:
            constant = ast.literal_eval(value)
        except ValueError:
            raise NotLiftable(f"a {key} that is not a constant") from None
        if isinstance(constant, list):
            constant = tuple(constant)
        if key == "axis" and not (constant is None or type(constant) is int or (
                isinstance(constant, tuple) and all(type(a) is int for a in constant))):
            raise NotLiftable("an axis that is not an int or a tuple of ints")
        if key == "keepdims" and type(constant) is not bool:
            raise NotLiftable("keepdims that is not True or False")
        if constant is not None and constant is not False:  # (0 == False)
            out.append(ast.keyword(key, ast.parse(repr(constant), mode="eval").body))
    return ast.Call(_numpy_function(primitive, refer), [args[0]], out)


def _numpy_function(primitive, refer):
    """``np.<name>`` for a NumPy function (readable generated code)."""
    name = backend.spelling(primitive)
    if name is not None:
        return ast.Attribute(refer(backend.xp, "np"), name, ast.Load())
    return refer(primitive, primitive.__name__)
