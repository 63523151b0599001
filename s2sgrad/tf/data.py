"""``tf.data``: the ``Dataset`` pipelines of input loops, evaluated eagerly.

A dataset is a re-iterable sequence of elements (a tensor, or a tuple or dict
of them); each transformation returns a new dataset and runs when it is
iterated, as in TensorFlow: ``from_tensor_slices``, ``from_tensors``,
``range``, ``zip``, ``batch``, ``unbatch``, ``shuffle``, ``repeat``, ``take``,
``skip``, ``map``, ``filter``, ``enumerate``, ``prefetch`` and ``cache``
(accepted; nothing is precomputed), ``reduce``, ``as_numpy_iterator``,
``cardinality`` and ``len``. Elements are constants, as TensorFlow's input
pipelines give: a tape records what the loop does with them.
"""

import itertools as _itertools

import numpy as _np

from s2sgrad.tf._types import tf_constant as _tf_constant
from s2sgrad.tf._types import tf_value as _tf_value

AUTOTUNE = -1
INFINITE_CARDINALITY = -1
UNKNOWN_CARDINALITY = -2


def _value(x):
    return x.numpy() if hasattr(x, "numpy") else x


def _structure(element, leaf):
    """``element`` (a value, tuple, list or dict of values) with ``leaf`` applied to each value."""
    if isinstance(element, dict):
        return {k: _structure(v, leaf) for k, v in element.items()}
    if isinstance(element, tuple):
        return tuple(_structure(v, leaf) for v in element)
    return leaf(element)


def _leaves(element):
    if isinstance(element, dict):
        return [x for v in element.values() for x in _leaves(v)]
    if isinstance(element, tuple):
        return [x for v in element for x in _leaves(v)]
    return [element]


def _as_element_structure(tensors):
    """A list given to from_tensor_slices is one array (as TensorFlow reads it), a tuple a structure."""
    if isinstance(tensors, dict):
        return {k: _as_element_structure(v) for k, v in tensors.items()}
    if isinstance(tensors, tuple):
        return tuple(_as_element_structure(v) for v in tensors)
    return _np.asarray(_tf_value(tensors))


def _numpy(x):
    """An element's value as TensorFlow's ``as_numpy_iterator`` gives it (a scalar for rank 0)."""
    value = _np.asarray(_value(x))
    return value[()] if value.ndim == 0 else value


def _call(fn, element):
    return fn(*element) if isinstance(element, tuple) else fn(element)


class Dataset:
    """A re-iterable sequence of elements; see the module's docstring."""

    def __init__(self, make, cardinality):
        self._make = make
        self._cardinality = cardinality

    # -- sources ---------------------------------------------------------------------

    @staticmethod
    def from_tensor_slices(tensors, name=None):
        data = _as_element_structure(tensors)
        sizes = {len(x) if _np.ndim(x) else None for x in _leaves(data)}
        if None in sizes:
            raise ValueError("Unbatching a tensor is only supported for rank >= 1: "
                             "from_tensor_slices needs arrays with a first axis")
        if len(sizes) != 1:
            raise ValueError("Dimensions of the components given to from_tensor_slices do "
                             f"not match: first axes {sorted(sizes)}")
        (n,) = sizes

        def make():
            for i in range(n):
                yield _structure(data, lambda x: _tf_constant(x[i]))

        return Dataset(make, n)

    @staticmethod
    def from_tensors(tensors, name=None):
        data = _as_element_structure(tensors)
        return Dataset(lambda: iter([_structure(data, _tf_constant)]), 1)

    @staticmethod
    def range(*args, output_type=None, name=None):  # noqa: A003  (TensorFlow's name)
        numbers = range(*args)
        dtype = _np.int64 if output_type is None else _np.dtype(output_type)

        def make():
            for i in numbers:
                yield _tf_constant(_np.asarray(i, dtype))

        return Dataset(make, len(numbers))

    @staticmethod
    def zip(*datasets, name=None):
        if len(datasets) == 1 and isinstance(datasets[0], (tuple, list)):
            datasets = tuple(datasets[0])
        return Dataset(lambda: zip(*datasets), _shortest([d._cardinality for d in datasets]))

    # -- transformations -------------------------------------------------------------------

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None,
              deterministic=None, name=None):
        batch_size = int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")

        def make():
            it = iter(self)
            while True:
                chunk = list(_itertools.islice(it, batch_size))
                if not chunk or (drop_remainder and len(chunk) < batch_size):
                    return
                yield _stack(chunk)

        n = self._cardinality
        if n < 0:
            count = n
        else:
            count = n // batch_size if drop_remainder else -(-n // batch_size)
        return Dataset(make, count)

    def unbatch(self, name=None):
        def make():
            for element in self:
                leaves = _leaves(element)
                for i in range(len(_value(leaves[0]))):
                    yield _structure(element, lambda x: _tf_constant(_np.asarray(_value(x))[i]))

        return Dataset(make, UNKNOWN_CARDINALITY)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True, name=None):
        """TensorFlow's buffer shuffle: each element drawn at random from the
        next ``buffer_size`` elements."""
        buffer_size = int(buffer_size)
        if buffer_size < 1 and buffer_size != AUTOTUNE:
            raise ValueError(f"buffer_size must be positive, got {buffer_size}")
        state = {"rng": _np.random.default_rng(seed)}

        def make():
            rng = state["rng"] if reshuffle_each_iteration else _np.random.default_rng(seed)
            buffer = []
            for element in self:
                buffer.append(element)
                if len(buffer) >= buffer_size > 0:
                    yield buffer.pop(int(rng.integers(len(buffer))))
            while buffer:
                yield buffer.pop(int(rng.integers(len(buffer))))

        return Dataset(make, self._cardinality)

    def repeat(self, count=None, name=None):
        def make():
            if count is None or count < 0:
                while True:
                    yield from self
            for _ in range(count):
                yield from self

        n = self._cardinality
        total = INFINITE_CARDINALITY if count is None or count < 0 else (
            n * count if n >= 0 else n)
        return Dataset(make, total)

    def take(self, count, name=None):
        count = int(count)
        if count < 0:
            return self
        n = self._cardinality
        size = count if n == INFINITE_CARDINALITY else min(count, n) if n >= 0 else n
        return Dataset(lambda: _itertools.islice(iter(self), count), size)

    def skip(self, count, name=None):
        count = int(count)
        n = self._cardinality
        return Dataset(lambda: _itertools.islice(iter(self), count, None),
                       max(n - count, 0) if n >= 0 else n)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        return Dataset(lambda: (_call(map_func, e) for e in self), self._cardinality)

    def filter(self, predicate, name=None):
        return Dataset(lambda: (e for e in self if bool(_value(_call(predicate, e)))),
                       UNKNOWN_CARDINALITY)

    def enumerate(self, start=0, name=None):
        return Dataset(lambda: ((_tf_constant(_np.int64(i)), e)
                                for i, e in enumerate(self, start)), self._cardinality)

    def prefetch(self, buffer_size, name=None):
        return self

    def cache(self, filename="", name=None):
        return self

    # -- consuming ---------------------------------------------------------------------

    def __iter__(self):
        return iter(self._make())

    def as_numpy_iterator(self):
        return (_structure(e, _numpy) for e in self)

    def reduce(self, initial_state, reduce_func, name=None):
        state = initial_state
        for element in self:
            state = reduce_func(state, element)
        return state

    def cardinality(self):
        return _tf_constant(_np.int64(self._cardinality))

    def __len__(self):
        if self._cardinality == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if self._cardinality < 0:
            raise TypeError("The dataset length is unknown.")
        return self._cardinality

    def __repr__(self):
        return f"<Dataset of {self._cardinality} elements>" if self._cardinality >= 0 else \
            "<Dataset>"


def _shortest(cardinalities):
    """The cardinality of datasets zipped: the shortest (unknown if one is)."""
    if UNKNOWN_CARDINALITY in cardinalities:
        return UNKNOWN_CARDINALITY
    finite = [n for n in cardinalities if n >= 0]
    return min(finite) if finite else INFINITE_CARDINALITY


def _stack(chunk):
    first = chunk[0]
    if isinstance(first, dict):
        return {k: _stack([c[k] for c in chunk]) for k in first}
    if isinstance(first, tuple):
        return tuple(_stack([c[i] for c in chunk]) for i in range(len(first)))
    return _tf_constant(_np.stack([_np.asarray(_value(c)) for c in chunk]))


class experimental:  # noqa: N801  (TensorFlow's namespace)
    AUTOTUNE = AUTOTUNE
    INFINITE_CARDINALITY = INFINITE_CARDINALITY
    UNKNOWN_CARDINALITY = UNKNOWN_CARDINALITY
