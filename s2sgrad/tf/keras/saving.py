"""Saving Keras models and weights: ``model.save("x.keras")`` /
``tf.keras.models.load_model``, ``model.save_weights("x.weights.h5")`` /
``model.load_weights``.

The files are s2sgrad's own, not Keras's (which TensorFlow cannot read, nor
s2sgrad Keras's):

- ``.weights.h5``: not HDF5 (s2sgrad has no h5py) but a NumPy ``.npz``
  archive under the name Keras asks for, one array per weight in
  ``model.weights`` order, named ``<index>:<layer path>/<weight>``;
  ``load_weights`` assigns them in that order to a model of the same
  architecture, checking their number and shapes;
- ``.keras``: a zip archive holding ``metadata.json`` and ``model.pkl``, the
  model pickled with its weights, its compiled loss, metrics and optimizer
  state. As with Python's pickle, classes the model uses (custom layers,
  models, functions) are stored by name and must be importable where the
  file is loaded, and a file must come from a trusted source: loading runs
  the code it names.
"""

import json
import os
import pickle
import zipfile

import numpy as _np

_WEIGHTS_SUFFIX = ".weights.h5"
_FORMAT = "s2sgrad.tf.keras 1"


def _weight_names(model):
    names = []
    for i, variable in enumerate(model.weights):
        name = getattr(variable, "path", None) or getattr(variable, "name", "") or ""
        names.append(f"{i}:{name.split(':')[0]}")
    return names


def save_weights(model, filepath, overwrite=True):
    filepath = str(filepath)
    if not filepath.endswith(_WEIGHTS_SUFFIX):
        raise ValueError("The filename must end in `.weights.h5`. "
                         f"Received: filepath={filepath}")
    _check_overwrite(filepath, overwrite)
    arrays = {name: _np.asarray(v.numpy()) for name, v in zip(_weight_names(model),
                                                              model.weights)}
    with open(filepath, "wb") as handle:
        _np.savez(handle, **arrays)


def load_weights(model, filepath, skip_mismatch=False, **kwargs):
    filepath = str(filepath)
    if not filepath.endswith(_WEIGHTS_SUFFIX):
        raise ValueError("The filename must end in `.weights.h5` (s2sgrad.tf reads the weights "
                         f"files that it writes). Received: filepath={filepath}")
    with open(filepath, "rb") as handle, _np.load(handle) as archive:
        saved = sorted(archive.files, key=lambda name: int(name.split(":", 1)[0]))
        values = [archive[name] for name in saved]
    weights = model.weights
    if not weights and values:
        raise ValueError(f"The model {model.name!r} has no weights yet: build it (call it on "
                         "data, or give it an Input) before load_weights")
    if len(values) != len(weights):
        raise ValueError(f"The file {filepath!r} holds {len(values)} weights but the model "
                         f"{model.name!r} has {len(weights)}: it was saved from a model of "
                         "another architecture")
    for name, variable, value in zip(saved, weights, values):
        if tuple(variable.shape) != value.shape:
            if skip_mismatch:
                continue
            raise ValueError(f"The weight {name.split(':', 1)[1]!r} in {filepath!r} has shape "
                             f"{value.shape}, but the model's has {tuple(variable.shape)}")
        variable.assign(value)


def _check_overwrite(filepath, overwrite):
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False")


def save_model(model, filepath, overwrite=True, **kwargs):
    filepath = str(filepath)
    if not filepath.endswith(".keras"):
        raise ValueError(
            "Invalid filepath extension for saving. Please add a `.keras` extension for the "
            f"native Keras format (s2sgrad.tf writes no `.h5` models). Received: "
            f"filepath={filepath}")
    _check_overwrite(filepath, overwrite)
    try:
        payload = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ValueError(
            f"Cannot save the model {model.name!r}: {error}. Everything a saved model holds "
            "(layers, activations, losses) must be importable by name: a lambda or a local "
            "function cannot be saved; define it at module level") from None
    metadata = {"format": _FORMAT, "class_name": type(model).__name__, "name": model.name}
    with zipfile.ZipFile(filepath, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("model.pkl", payload)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    filepath = str(filepath)
    try:
        with zipfile.ZipFile(filepath) as archive:
            metadata = json.loads(archive.read("metadata.json"))
            payload = archive.read("model.pkl")
    except (zipfile.BadZipFile, KeyError):
        raise ValueError(f"File format not supported: filepath={filepath}. s2sgrad.tf loads the "
                         ".keras files that its Model.save writes") from None
    if metadata.get("format") != _FORMAT:
        raise ValueError(f"{filepath} was not written by s2sgrad.tf's Model.save")
    model = pickle.loads(payload)
    if not compile:
        model.__dict__.pop("_compiled", None)
        model.__dict__.pop("optimizer", None)
    return model
