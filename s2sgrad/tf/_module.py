"""``tf.Module`` and ``tf.name_scope``: named containers that find their variables.

A module's ``variables``, ``trainable_variables`` and ``submodules`` are
found, as TensorFlow finds them, by walking the module's attributes
(``vars(module)``) sorted by name; each attribute is flattened as
``tf.nest`` flattens (lists and tuples in order, dicts by sorted key), every
leaf is yielded once, and a module's own leaves come before those of the
modules it holds (which are walked afterwards, in the order found). No
bookkeeping happens on assignment, so a subclass whose ``__init__`` does not
call ``super().__init__`` still tracks its variables (TensorFlow's guide
has one).
"""

import functools
import re

from s2sgrad.tf._types import ResourceVariable, scope_prefix, set_scope_prefix

_CAMEL_TO_SNAKE = re.compile(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))")
_VALID_IDENTIFIER = re.compile(r"^[a-zA-Z_]([a-zA-Z0-9_])*$")


def camel_to_snake(value):
    """``"MyModule"`` -> ``"my_module"``, TensorFlow's default module name."""
    return _CAMEL_TO_SNAKE.sub(r"_\1", value).lower()


class name_scope:  # noqa: N801  (TensorFlow's name)
    """``with tf.name_scope("dense"):`` prefixes the names of the variables
    created inside it (``dense/w:0``); entering gives the scope's path."""

    def __init__(self, name):
        if not isinstance(name, str):
            raise TypeError(f"name_scope's name must be a str, got {type(name).__name__}")
        self._name = name
        self._outer = []

    @property
    def name(self):
        return self._name

    def __enter__(self):
        outer = scope_prefix()
        self._outer.append(outer)
        if not self._name:
            inner = ""
        elif self._name.endswith("/"):
            inner = self._name  # an absolute path, as TensorFlow reads it
        else:
            inner = outer + self._name + "/"
        set_scope_prefix(inner)
        return inner

    def __exit__(self, *exc):
        set_scope_prefix(self._outer.pop())
        return False


def _is_variable(leaf):
    return isinstance(leaf, ResourceVariable)


def _is_trainable_variable(leaf):
    return isinstance(leaf, ResourceVariable) and leaf.trainable


def _is_module(leaf):
    return isinstance(leaf, Module)


def nest_leaves(value):
    """``tf.nest.flatten`` of an attribute: lists, tuples and dicts opened up."""
    if isinstance(value, dict):
        for key in sorted(value):
            yield from nest_leaves(value[key])
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from nest_leaves(item)
    else:
        yield value


def flatten_module(module, predicate, seen=None):
    """The leaves of ``module`` (and of its submodules) that ``predicate`` accepts."""
    if seen is None:
        seen = {id(module)}
    submodules = []
    attributes = vars(module)
    for key in sorted(attributes):
        for leaf in nest_leaves(attributes[key]):
            if id(leaf) in seen:
                continue
            seen.add(id(leaf))
            if predicate(leaf):
                yield leaf
            if _is_module(leaf):
                submodules.append(leaf)
    for submodule in submodules:
        yield from flatten_module(submodule, predicate, seen)


class Module:
    """``tf.Module``: a named container of variables and other modules.

    Any ``tf.Variable`` or ``tf.Module`` reachable from the attributes
    (also inside lists, tuples and dicts) is found by ``variables``,
    ``trainable_variables`` and ``submodules``.
    """

    def __init__(self, name=None):
        if name is None:
            name = camel_to_snake(type(self).__name__)
        elif not isinstance(name, str) or not _VALID_IDENTIFIER.match(name):
            raise ValueError(
                f"{name!r} is not a valid module name. Module names must be valid Python "
                "identifiers (e.g. a valid class name).")
        self._name = name
        with name_scope(name) as scope:
            self._scope_name = scope

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        pending = self.__dict__.get("_pending_restore")
        if pending and name in pending and isinstance(value, ResourceVariable):
            value.assign(pending.pop(name))  # (a checkpoint's deferred restoration)

    @property
    def name(self):
        """The name given to the constructor, or the class name in snake case."""
        return self.__dict__.get("_name") or camel_to_snake(type(self).__name__)

    @property
    def name_scope(self):
        """A ``tf.name_scope`` of this module's name (use ``with self.name_scope:``)."""
        return name_scope(self.__dict__.get("_scope_name") or scope_prefix() + self.name + "/")

    @property
    def variables(self):
        """The variables of this module and its submodules, as a tuple."""
        return tuple(self._flatten(predicate=_is_variable))

    @property
    def trainable_variables(self):
        """The trainable variables of this module and its submodules, as a tuple."""
        return tuple(self._flatten(predicate=_is_trainable_variable))

    @property
    def non_trainable_variables(self):
        return tuple(self._flatten(predicate=lambda v: _is_variable(v) and not v.trainable))

    @property
    def submodules(self):
        """Every module reachable from this one (direct ones first), as a tuple."""
        return tuple(self._flatten(predicate=_is_module))

    def _flatten(self, recursive=True, predicate=None):
        if predicate is None:
            predicate = lambda leaf: True  # noqa: E731
        if recursive:
            return flatten_module(self, predicate)
        attributes = vars(self)
        return [leaf for key in sorted(attributes) for leaf in nest_leaves(attributes[key])
                if predicate(leaf)]

    @classmethod
    def with_name_scope(cls, method):
        """Decorator: the method runs inside its module's ``name_scope``."""

        @functools.wraps(method)
        def method_with_name_scope(self, *args, **kwargs):
            with self.name_scope:
                return method(self, *args, **kwargs)

        return method_with_name_scope
