"""``tf.errors``: the exception classes TensorFlow's ops raise.

``OpError`` carries TensorFlow's ``message``, ``op`` and ``error_code``;
``InvalidArgumentError`` is what a bad argument to an op raises (a
``tf.reshape`` to a shape of a different size, ...).
"""

OK = 0
INVALID_ARGUMENT = 3
UNIMPLEMENTED = 12


class OpError(Exception):
    """An op failed: ``message`` says why, ``op`` names the op."""

    error_code = None

    def __init__(self, node_def, op, message, *args):
        super().__init__(message)
        self.node_def = node_def
        self.op = op
        self.message = message


class InvalidArgumentError(OpError):
    """An op received an invalid argument."""

    error_code = INVALID_ARGUMENT


class UnimplementedError(OpError):
    """An op is not implemented (for these arguments)."""

    error_code = UNIMPLEMENTED
