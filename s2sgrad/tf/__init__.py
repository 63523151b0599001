"""A TensorFlow-flavoured namespace over the s2sgrad tape: ``import s2sgrad.tf as tf``.

TensorFlow programs built from GradientTape, Variables, the common math
ops and the Keras optimizers/losses run here with only their import line
changed. As in TensorFlow, Python floats become float32 (ints int32) and
tensors print as ``tf.Tensor(-2.0, shape=(), dtype=float32)``; ``tf.print``
writes TensorFlow's formatting to stderr. Every op is a NumPy function or
an operator on tensors, recorded by the tape and differentiated by the same
rules as ``s2sgrad.grad``. As in TensorFlow, a NumPy function the user
applies to a tensor (``np.sin(t)``) gives a NumPy value outside the tape,
and the tape warns when such a value is combined with watched ones
(:mod:`s2sgrad.tape.escape`).

``tf.function`` runs the Python function with its tape blocks compiled
through the source-to-source path (:mod:`s2sgrad.tf.function`).

TensorFlow computes ``log(0)`` (``-inf``) or ``0 / 0`` (``nan``) silently: once
this namespace is imported, so do the tape's operations and gradients (NumPy's
floating-point RuntimeWarnings from them are filtered; NumPy called on
arrays by the program itself warns as usual).
"""

import warnings as _warnings

from s2sgrad.tf._core import *  # noqa: F401,F403  (the namespace's ops)
from s2sgrad.tf._ops import *  # noqa: F401,F403
from s2sgrad.tf.function import function  # noqa: F401
from s2sgrad.tf._module import Module, name_scope  # noqa: F401
from s2sgrad.tf import (  # noqa: F401
    config, data, errors, image, io, keras, linalg, math, nn, random, saved_model, strings,
    train)

_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"s2sgrad\.tape(\.tensor)?$")
