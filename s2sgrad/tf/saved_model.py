"""``tf.saved_model.save`` / ``tf.saved_model.load`` for ``tf.Module`` objects.

``save(obj, export_dir)`` writes the module to the directory ``export_dir``
(created if needed) in s2sgrad's own format, which TensorFlow cannot read
(nor s2sgrad TensorFlow's SavedModels): ``saved_model.pkl``, the module
pickled with its variables and its ``tf.function`` methods. ``load``
returns the module: its variables hold the saved values and its
functions (``input_signature`` or not) can be called as before. Unlike
TensorFlow, which stores the traced graphs, the module's class and
functions are stored by name, so they must be importable where the
directory is loaded (in the program that saved it they are); and, as
with any pickle, load only what you trust.
"""

import os
import pickle

from s2sgrad.tf._types import missing_names as _missing_names

_FILE = "saved_model.pkl"
_FORMAT = "s2sgrad.tf.saved_model 1"


class SaveOptions:
    """``tf.saved_model.SaveOptions``: accepted, its options kept as attributes.
    None changes what is written: the module's functions, custom gradients
    included, are always stored (by name), as with
    ``experimental_custom_gradients=True``, TensorFlow's default."""

    def __init__(self, namespace_whitelist=None, save_debug_info=False, function_aliases=None,
                 experimental_debug_stripper=False, experimental_io_device=None,
                 experimental_variable_policy=None, experimental_custom_gradients=True,
                 experimental_image_format=False, experimental_skip_saver=False,
                 experimental_sharding_callback=None, extra_tags=None):
        self.namespace_whitelist = namespace_whitelist
        self.save_debug_info = save_debug_info
        self.function_aliases = function_aliases
        self.experimental_debug_stripper = experimental_debug_stripper
        self.experimental_io_device = experimental_io_device
        self.experimental_variable_policy = experimental_variable_policy
        self.experimental_custom_gradients = experimental_custom_gradients
        self.experimental_image_format = experimental_image_format
        self.experimental_skip_saver = experimental_skip_saver
        self.experimental_sharding_callback = experimental_sharding_callback
        self.extra_tags = extra_tags


def save(obj, export_dir, signatures=None, options=None):
    """Write ``obj`` (a ``tf.Module``, a Keras model or layer) to ``export_dir``."""
    os.makedirs(export_dir, exist_ok=True)
    try:
        payload = pickle.dumps((_FORMAT, obj, signatures), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, AttributeError, TypeError) as error:
        raise ValueError(f"Cannot save {type(obj).__name__}: {error}. What a saved module holds "
                         "must be importable by name (no lambdas or local classes)") from None
    with open(os.path.join(export_dir, _FILE), "wb") as handle:
        handle.write(payload)


def load(export_dir, tags=None, options=None):
    """The object ``save`` wrote to ``export_dir``."""
    path = os.path.join(export_dir, _FILE)
    if not os.path.exists(path):
        raise OSError(f"SavedModel file does not exist at: {export_dir}{os.sep}"
                      "{saved_model.pbtxt|saved_model.pb} (s2sgrad.tf loads the directories "
                      "that its tf.saved_model.save writes)")
    with open(path, "rb") as handle:
        found = pickle.load(handle)
    if not (isinstance(found, tuple) and found and found[0] == _FORMAT):
        raise ValueError(f"{export_dir} was not written by s2sgrad.tf's tf.saved_model.save")
    return found[1]


__getattr__ = _missing_names("s2sgrad.tf.saved_model", "names", ("SaveOptions", "load", "save"))
