"""Lifted tape blocks at run time: the generated gradient, or the tape.

:mod:`s2sgrad.frontend.tape_blocks` replaces ``with GradientTape() as t:
...; grads = t.gradient(y, sources)`` by a call to a :class:`LiftedBlock`
with the values the block reads. The call returns what the two statements
would have bound -- the target Tensor and the gradients in the structure
of ``sources`` -- computing both with the block's generated
value-and-gradient on the raw NumPy values: no Tensor per operation, no
recording, no rewinding.

The generated code is used only when it computes exactly what the tape
would: every value read is a floating-point Tensor or Variable (Python
numbers and NumPy arrays would follow NumPy's type promotion, not
TensorFlow's), they share one Tensor flavour, and no outer tape is
recording (it must see the operations). Otherwise -- and on the first
call, which also learns the target's shape for the seed -- the block runs
as written on the tape (its "eager" function). Which sources get a
gradient follows the tape: Variables the tape watches (trainable ones,
when it watches accessed variables) and tensors passed to ``watch``;
sources the target does not depend on get None.
"""

import types

import numpy as np

from s2sgrad.errors import S2SGradError
from s2sgrad.tape import tensor as _tensor
from s2sgrad.tape.tape import _finish, _seed
from s2sgrad.tape.tensor import Tensor, _new

_ndarray = np.ndarray

#: NumPy scalar type -> True for real floating point (cached by type)
_REAL_SCALAR = {}


def _is_real(value):
    kind = _REAL_SCALAR.get(type(value))
    if kind is None:
        kind = value.dtype.kind == "f"
        if type(value) is not _ndarray:
            _REAL_SCALAR[type(value)] = kind
    return kind


class BlockCode:
    """What every runtime block of one lifted block shares: the spec and the
    generated code per set of differentiated inputs."""

    def __init__(self, spec, parsed):
        self.spec = spec
        self.parsed = parsed
        #: (wrt input indices, input shapes) -> pipeline.Generated, or the
        #: S2SGradError refusing it
        self.generated = {}
        inputs = spec.inputs
        self.source_indices = tuple(inputs.index(name) for name in spec.source_names)
        self.watched_indices = frozenset(inputs.index(name) for name in spec.watched)
        self.helper_cells = {name: types.CellType(obj) for name, obj in spec.helpers.items()}
        self.pack = _packer(spec)

    def generate(self, wrt, shapes):
        """The block's value-and-gradient for inputs ``wrt``, specialised on
        the inputs' ``shapes`` (so broadcasting is resolved when generating)."""
        key = (wrt, shapes)
        entry = self.generated.get(key)
        if entry is None:
            from s2sgrad import pipeline

            inputs = self.spec.inputs
            block = self.parsed.derived(self.spec.function, self.spec.helpers)
            try:
                entry = pipeline.generate(
                    block, tuple(inputs[i] for i in wrt), True, True, True,
                    f"tape block line {self.spec.lineno}", known_shapes=dict(zip(inputs, shapes)),
                    positional_seed=True)
            except S2SGradError as error:
                entry = error
            self.generated[key] = entry
        return entry


def _one_tensor_class(kinds):
    """The one result class of Tensors of types ``kinds``, or False."""
    classes = {kind._result_type if issubclass(kind, Tensor) else None for kind in kinds}
    return classes.pop() if len(classes) == 1 and None not in classes else False


def _packer(spec):
    """flat gradients -> the structure of the block's ``sources``."""
    import ast

    sources = spec.sources
    if isinstance(sources, ast.Name):
        return lambda flat: flat[0]
    if all(isinstance(e, ast.Name) for e in sources.elts):
        return list if isinstance(sources, ast.List) else tuple
    return spec.pack


class LiftedBlock:
    """One lifted block bound to one function object's scope."""

    def __init__(self, code, globals_, closure_cells):
        self.code = code
        self.globals = globals_
        self.closure_cells = dict(closure_cells)
        self.closure_cells.update(code.helper_cells)
        #: the block as written (with the tape), set once the function is compiled
        self.eager = None
        #: (wrt, shapes) -> see _compile
        self._compiled = {}
        #: the target's cotangent seed, learnt from the last eager run
        self._seed = None
        #: the types of the values read -> their one Tensor flavour, or False
        self._tensor_kinds = {}

    def __call__(self, *values):
        if _tensor._active or self._seed is None:
            return self._run_eager(values)
        kinds = tuple(map(type, values))
        cls = self._tensor_kinds.get(kinds)
        if cls is None:
            cls = self._tensor_kinds[kinds] = _one_tensor_class(kinds)
        if cls is False:
            return self._run_eager(values)
        args = [value._value for value in values]
        types_ = tuple(map(type, args))
        if _ndarray in types_:
            types_ += tuple((a.shape, a.dtype) for a in args if type(a) is _ndarray)
        code = self.code
        watch_variables = code.spec.watch_accessed_variables
        watched = code.watched_indices
        wrt = []
        for i in code.source_indices:
            source = values[i]
            if (i in watched or (watch_variables and source._is_variable and source._trainable)) \
                    and i not in wrt:
                wrt.append(i)
        key = (tuple(wrt), types_)
        compiled = self._compiled.get(key, False)
        if compiled is False:
            compiled = self._compiled[key] = self._compile(tuple(wrt), args)
        if compiled is None:
            return self._run_eager(values)
        function, gather = compiled
        seed = self._seed
        args.append(seed)
        try:
            value, grads = function(*args)
        except Exception:  # the tape raises the user's error as the block would
            return self._run_eager(values)
        if type(value) is _ndarray:
            if not value.shape:
                value = value[()]
            elif value.shape != seed.shape or value.dtype != seed.dtype:
                return self._run_eager(values)
        if type(value) is not type(seed):
            return self._run_eager(values)
        target = _new(cls)
        target._value = value
        flat = []
        for i, k in gather:
            flat.append(None if k is None else _finish(values[i], grads[k], False))
        return target, code.pack(flat)

    def _compile(self, wrt, args):
        """(generated function, ((source index, gradient position or None), ...))
        for inputs like ``args``; None when they are not all real floating
        point or the block cannot be generated."""
        if not wrt or not all(_is_real(a) for a in args):
            return None
        shapes = tuple(a.shape if type(a) is _ndarray else () for a in args)
        entry = self.code.generate(wrt, shapes)
        if isinstance(entry, S2SGradError):
            return None
        function = entry.code.bind(self.globals, self.closure_cells)
        inputs = self.code.spec.inputs
        position = {i: k for k, i in enumerate(wrt) if inputs[i] not in entry.unreached}
        return function, tuple((i, position.get(i)) for i in self.code.source_indices)

    def _run_eager(self, values):
        target, grads = self.eager(*values)
        if isinstance(target, Tensor) and not _tensor._active:
            raw = target._value
            if _is_real(raw):
                self._seed = _seed(target, None, False)
        return target, grads
