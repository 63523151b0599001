"""``tf.train``: ``Checkpoint`` (save and restore the variables of modules,
layers and optimizers by their attribute paths), ``CheckpointManager``,
``list_variables``, ``latest_checkpoint``.

A checkpoint names each variable by the path of attributes that leads to it
from the objects given to ``Checkpoint(...)``, as TensorFlow's object-based
checkpoints do (``model/dense_1/w/.ATTRIBUTES/VARIABLE_VALUE``). The files
are s2sgrad's own (``PREFIX.index``, a JSON table of names, shapes and
dtypes, and ``PREFIX.data-00000-of-00001``, a NumPy archive): TensorFlow
cannot read them, nor s2sgrad TensorFlow's. ``restore`` assigns each saved
value to the variable at the same path; a variable that does not exist yet
(a layer built on its first call) gets its value when it is created, as
TensorFlow's deferred restoration does.
"""

import json
import os

import numpy as np

from s2sgrad.tf._module import Module
from s2sgrad.tf._types import ResourceVariable

_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
_GRAPH = "_CHECKPOINTABLE_OBJECT_GRAPH"


def _children(obj):
    """The (name, child) pairs a checkpoint follows from ``obj``."""
    if isinstance(obj, dict):
        return [(str(k), v) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        return [(str(i), v) for i, v in enumerate(obj)]
    if isinstance(obj, ResourceVariable):
        return []
    attributes = getattr(obj, "__dict__", None)
    if attributes is None:
        return []
    found = []
    for key in sorted(attributes, key=lambda k: (k.startswith("_"), k)):  # public names first
        if key.startswith("__"):
            continue
        value = attributes[key]
        if _holds_variables(value):  # (an optimizer's step count is TF's "iter")
            found.append(("iter" if key == "_iterations" else key.lstrip("_"), value))
    return found


def _holds_variables(value, depth=0):
    if isinstance(value, (ResourceVariable, Module)):
        return True
    if depth > 3:
        return False
    if isinstance(value, dict):
        return any(_holds_variables(v, depth + 1) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_variables(v, depth + 1) for v in value)
    return hasattr(value, "_iterations") or hasattr(value, "_made_weights")


def _variables_by_path(roots):
    """Every variable reachable from ``roots`` by the first path that reaches it."""
    found, seen = {}, set()

    def walk(path, obj):
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, ResourceVariable):
            found[path + _SUFFIX] = obj
            return
        for name, child in _children(obj):
            walk(f"{path}/{name}", child)

    for name, root in roots.items():
        walk(name, root)
    return found


def _paths(prefix):
    return prefix + ".index", prefix + ".data-00000-of-00001"


class CheckpointLoadStatus:
    """What ``restore`` returns: checks of what the restore matched."""

    def __init__(self, unmatched, missing):
        self._unmatched, self._missing = unmatched, missing

    def assert_consumed(self):
        if self._unmatched or self._missing:
            raise AssertionError(
                "Unresolved object in checkpoint or unrestored variables: "
                f"{sorted(self._unmatched) + sorted(self._missing)}")
        return self

    def assert_existing_objects_matched(self):
        if self._missing:
            raise AssertionError(f"Variables not found in the checkpoint: {sorted(self._missing)}")
        return self

    def expect_partial(self):
        return self

    def assert_nontrivial_match(self):
        return self


class Checkpoint:
    """``tf.train.Checkpoint(model=..., optimizer=...)``: ``write``/``save`` and ``read``/``restore``."""

    def __init__(self, root=None, **kwargs):
        self._roots = dict(kwargs)
        if root is not None:
            self._roots.update({name: child for name, child in _children(root)})
        self.save_counter = ResourceVariable(np.int64(0), trainable=False, name="save_counter")

    def write(self, file_prefix, options=None):
        file_prefix = os.fspath(file_prefix)
        variables = _variables_by_path(self._roots)
        index, data = _paths(file_prefix)
        directory = os.path.dirname(file_prefix)
        if directory:
            os.makedirs(directory, exist_ok=True)
        values = {f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(variables.values())}
        with open(data, "wb") as stream:
            np.savez(stream, **values)
        table = [{"name": name, "key": f"v{i}", "shape": list(np.shape(v.numpy())),
                  "dtype": np.asarray(v.numpy()).dtype.str}
                 for i, (name, v) in enumerate(variables.items())]
        with open(index, "w") as stream:
            json.dump({"format": "s2sgrad checkpoint 1", "variables": table}, stream)
        return file_prefix

    def save(self, file_prefix, options=None):
        self.save_counter.assign_add(1)
        path = self.write(f"{os.fspath(file_prefix)}-{int(self.save_counter.numpy())}")
        _record_latest(path)
        return path

    def read(self, save_path, options=None):
        save_path = os.fspath(save_path)
        saved = _read(save_path)
        variables = _variables_by_path(self._roots)
        unmatched = set()
        for name, value in saved.items():
            variable = variables.get(name)
            if variable is not None:
                variable.assign(value.astype(np.asarray(variable.numpy()).dtype))
            elif not _defer(self._roots, name, value):
                unmatched.add(name)
        missing = set(variables) - set(saved)
        return CheckpointLoadStatus(unmatched, missing)

    def restore(self, save_path, options=None):
        if save_path is None:
            return CheckpointLoadStatus(set(), set())
        return self.read(save_path, options)


def _read(save_path):
    index, data = _paths(save_path)
    if not os.path.exists(index):
        raise ValueError(f"Unsuccessful TensorSliceReader constructor: Failed to find any "
                         f"matching files for {save_path}")
    with open(index) as stream:
        table = json.load(stream)
    if table.get("format") != "s2sgrad checkpoint 1":
        raise ValueError(f"{save_path} is not a checkpoint written by s2sgrad.tf")
    with np.load(data) as archive:
        return {entry["name"]: archive[entry["key"]] for entry in table["variables"]}


def _defer(roots, name, value):
    """Keep ``value`` for the variable at ``name`` that its owner has not made yet."""
    parts = name[: -len(_SUFFIX)].split("/")
    obj = roots.get(parts[0])
    for part in parts[1:-1]:
        children = dict(_children(obj)) if obj is not None else {}
        obj = children.get(part, getattr(obj, part, None))
        if obj is None:
            return False
    if not isinstance(obj, Module):
        return False
    pending = obj.__dict__.setdefault("_pending_restore", {})
    pending[parts[-1]] = value
    return True


def list_variables(ckpt_dir_or_file):
    """``(name, shape)`` of each saved variable, sorted by name (and the object graph's entry)."""
    path = os.fspath(ckpt_dir_or_file)
    if os.path.isdir(path):
        path = latest_checkpoint(path)
    saved = _read(path)
    return sorted([(_GRAPH, [])] + [(name, list(v.shape)) for name, v in saved.items()])


def load_variable(ckpt_dir_or_file, name):
    return _read(os.fspath(ckpt_dir_or_file))[name]


def _record_latest(path):
    directory = os.path.dirname(path) or "."
    with open(os.path.join(directory, "checkpoint"), "w") as stream:
        stream.write(f'model_checkpoint_path: "{os.path.basename(path)}"\n')


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The newest checkpoint saved in ``checkpoint_dir``, or None."""
    record = os.path.join(os.fspath(checkpoint_dir), latest_filename or "checkpoint")
    if not os.path.exists(record):
        return None
    with open(record) as stream:
        line = stream.readline()
    return os.path.join(os.fspath(checkpoint_dir), line.split('"')[1])


class CheckpointManager:
    """Keeps the newest ``max_to_keep`` checkpoints of ``checkpoint`` in ``directory``."""

    def __init__(self, checkpoint, directory, max_to_keep, checkpoint_name="ckpt", **kwargs):
        self._checkpoint, self.directory = checkpoint, os.fspath(directory)
        self.max_to_keep, self._name = max_to_keep, checkpoint_name
        self.checkpoints = []

    @property
    def latest_checkpoint(self):
        return latest_checkpoint(self.directory)

    def save(self, checkpoint_number=None):
        prefix = os.path.join(self.directory, self._name)
        if checkpoint_number is None:
            path = self._checkpoint.save(prefix)
        else:
            path = self._checkpoint.write(f"{prefix}-{checkpoint_number}")
            _record_latest(path)
        self.checkpoints.append(path)
        while self.max_to_keep is not None and len(self.checkpoints) > self.max_to_keep:
            for file in _paths(self.checkpoints.pop(0)):
                if os.path.exists(file):
                    os.remove(file)
        return path

