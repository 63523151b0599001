"""Portable descriptions of objects: what the disk cache writes instead of them.

Generated code depends on objects (the ufunc ``np.sin``, a runtime helper,
the callee a global names, a rule); a process reading a cache entry must
tell whether the objects it has now are the ones the entry was made with,
without ever storing (pickling) or importing anything. Two kinds of
description, both plain JSON values:

* :func:`fingerprint` (one way): equal in two processes only for objects
  that make the same derivative -- a module or a named object (function,
  class, ufunc) by the place it is found at (``numpy.sin``), a Python
  function also by its code, defaults and closure contents, a code object by
  its bytecode and constants, plain numbers, strings and tuples of them by
  value. Anything else (an array, an instance...) has none (``None``):
  what depends on it is kept in memory only.
* :func:`reference` / :func:`rebuild` (both ways), for the helpers generated
  code is handed: modules and named objects looked up again in
  ``sys.modules`` (never imported), plain values rebuilt from their value.

What a generation relied on in the primitive table is described per entry
(:func:`rules_used`: each object looked up and each spelling, with the state
of the record found) and re-checked on load (:func:`rules_hold`), so a rule
one process registered never reaches another's entry, and a rule without a
portable description only keeps the generations that used it in memory.

Output guarantees: two equal fingerprints in two processes mean objects
that give the same derivative; :func:`rebuild` returns the object a
reference described, found again (never imported or unpickled), or
``MISSING``; :func:`rules_hold` is True only when every record an entry's
generation looked up is in the state it saw.
"""

import hashlib
import json
import re
import sys
import types

from s2sgrad.primitives import registry

#: the serial number in a generated file's name (``<s2sgrad f #12 a1b2...>``):
#: per process, so it is left out of what identifies the code
_SERIAL = re.compile(r" #\d+ ")
_PLAIN = (bool, int, float, str, type(None))


def code_digest(code):
    """A digest of everything of ``code`` that makes it run as it does
    (bytecode, names, constants, argument layout, file, lines, exception
    table), the same in every process for the same code: a generated file's
    per-process serial number is left out, and so is what ``marshal`` adds
    that depends on the process (its bytes differ for a code object compiled
    and the same one read from a ``.pyc``)."""
    return hashlib.sha1(repr(_code_parts(code)).encode()).hexdigest()


#: the fields of a code object that make what it does (those Python has)
_CODE_FIELDS = tuple(f for f in (
    "co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_nlocals", "co_stacksize",
    "co_flags", "co_code", "co_names", "co_varnames", "co_freevars", "co_cellvars",
    "co_filename", "co_name", "co_qualname", "co_firstlineno", "co_linetable", "co_lnotab",
    "co_exceptiontable") if hasattr(compile("", "", "exec"), f))


def _code_parts(code):
    parts = []
    for field in _CODE_FIELDS:
        if field == "co_lnotab" and "co_linetable" in _CODE_FIELDS:
            continue  # (derived from the line table; reading it warns on 3.12+)
        value = getattr(code, field)
        if field == "co_filename" and value.startswith("<s2sgrad "):
            value = _SERIAL.sub(" ", value)
        parts.append(value)
    parts.append(tuple(_constant(c) for c in code.co_consts))
    return tuple(parts)


def _constant(value):
    """A constant of a code object as a value whose ``repr`` is the same in
    every process (a frozenset's order is not)."""
    if isinstance(value, types.CodeType):
        return _code_parts(value)
    if isinstance(value, tuple):
        return tuple(_constant(v) for v in value)
    if isinstance(value, frozenset):
        return ("frozenset", tuple(sorted(repr(_constant(v)) for v in value)))
    return (type(value).__name__, repr(value))


def _named(obj):
    """``[module, qualname]`` when ``sys.modules[module]`` reaches ``obj`` by
    that dotted name (no module is imported), else None."""
    module = getattr(obj, "__module__", None)
    if module is None and isinstance(obj, type(sys.modules["numpy"].sin)):
        module = "numpy"  # (a ufunc names no module)
    if module is None and isinstance(getattr(obj, "__objclass__", None), type):
        module = obj.__objclass__.__module__  # (a method of a builtin type: list.append)
    qualname = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        return None
    found = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return [module, qualname] if found is obj else None


def fingerprint(obj, _seen=()):
    """A JSON value equal across processes only for equivalent objects, or None."""
    if type(obj) in _PLAIN:  # (by type too: True == 1 == 1.0)
        return ["value", type(obj).__name__, obj]
    if type(obj) is tuple:
        parts = [fingerprint(item, _seen) for item in obj]
        return None if None in parts else ["tuple", parts]
    if isinstance(obj, types.ModuleType):
        return ["module", obj.__name__] if sys.modules.get(obj.__name__) is obj else None
    if isinstance(obj, types.CodeType):
        return ["code", code_digest(obj)]
    if isinstance(obj, types.FunctionType):
        return _function_fingerprint(obj, _seen)
    named = _named(obj)
    if named is not None:
        return ["named", *named]
    dtype = sys.modules["numpy"].dtype
    if type(obj) is dtype or isinstance(obj, dtype):
        return ["dtype", obj.str]
    return None


def _function_fingerprint(function, seen):
    """A Python function by its name, code, defaults and closure contents
    (a function in its own closure is named, not followed)."""
    if id(function) in seen:
        return ["recursive", function.__qualname__]
    seen = (*seen, id(function))
    cells = []
    for cell in function.__closure__ or ():
        try:
            cells.append(fingerprint(cell.cell_contents, seen))
        except ValueError:  # an empty cell
            cells.append(["empty"])
    kwdefaults = sorted((function.__kwdefaults__ or {}).items())
    parts = [fingerprint(function.__defaults__, seen),
             fingerprint(tuple(v for _, v in kwdefaults), seen), *cells]
    if None in parts:
        return None
    return ["function", function.__module__, function.__qualname__,
            code_digest(function.__code__), [k for k, _ in kwdefaults], parts]


def reference(obj):
    """A JSON value :func:`rebuild` turns back into ``obj`` in another
    process, or None when there is none."""
    if type(obj) in _PLAIN:
        return ["value", obj]
    if type(obj) is tuple:
        parts = [reference(item) for item in obj]
        return None if None in parts else ["tuple", parts]
    if isinstance(obj, types.ModuleType):
        return ["module", obj.__name__] if sys.modules.get(obj.__name__) is obj else None
    named = _named(obj)
    return None if named is None else ["named", *named]


#: what :func:`rebuild` returns for a reference it cannot follow
MISSING = object()


def rebuild(ref):
    """The object ``ref`` (from :func:`reference`) denotes here, or MISSING."""
    try:
        kind, *rest = ref
        if kind == "value" and type(rest[0]) in _PLAIN:
            return rest[0]
        if kind == "tuple":
            parts = tuple(rebuild(item) for item in rest[0])
            return MISSING if any(p is MISSING for p in parts) else parts
        if kind == "module":
            return sys.modules.get(rest[0], MISSING)
        if kind == "named":
            module, qualname = rest
            found = sys.modules.get(module, MISSING)
            for part in qualname.split("."):
                found = getattr(found, part, MISSING)
            return found
    except (TypeError, ValueError, AttributeError, IndexError):
        pass
    return MISSING


def rules_used(log):
    """What a generation's output depends on in the primitive table, as
    JSON (see registry.lookups for ``log``): per object whose record was
    looked up, its fingerprint and the state of its record
    (:func:`_record_state`); per lookup by spelling, the spelling and what
    it found. None when one of them has no portable description (a rule
    of a lambda, a lookup of an object that has none): the generation is
    then kept in memory only."""
    objects, spellings = [], []
    for key, obj in log.items():
        if type(key) is tuple:
            found = registry.spelled(*key)
            spellings.append([*key, *_described(None if found is None else found.primitive)])
        else:
            objects.append(_described(obj))
    for entry in objects + spellings:
        if None in entry[-2:]:
            return None
    return {"objects": sorted(objects), "spellings": sorted(spellings)}


def rules_hold(used):
    """True when the primitive table holds now what :func:`rules_used`
    described (the objects' records and the spellings' targets unchanged)."""
    states = _changed_states()
    for identity, state in used["objects"]:
        if states.get(identity, _ENGINE) != state:
            return False
    for kind, name, identity, state in used["spellings"]:
        found = registry.spelled(kind, name)
        if _described(None if found is None else found.primitive) != [identity, state]:
            return False
    return True


#: the state of a record the engine's sources fix (not changed since the seal)
_ENGINE = "as the engine registers it"
_NOTHING = "nothing"


def _described(obj):
    """``[identity, state]`` of ``obj`` as a table lookup saw it (None parts
    when it has no portable description)."""
    if obj is None:
        return [_NOTHING, _ENGINE]
    identity = fingerprint(obj)
    return [None if identity is None else _canonical(identity), _record_state(obj)]


def _canonical(value):
    return json.dumps(value, sort_keys=True)


def _record_state(obj):
    """``_ENGINE`` for an object whose record (or its absence) the engine's
    sources fix; for one registered or changed since (``sg.defgrad``), a
    digest of its record's rules and facts (None when one has no
    fingerprint)."""
    found = registry.changed_record(obj)
    if found is None:
        return _ENGINE
    described = [_part_of_table(getattr(found, f)) for f in _RECORD_FIELDS]
    if None in described:
        return None
    return hashlib.sha256(repr(described).encode()).hexdigest()


_states = {"generation": None, "states": None}


def _changed_states():
    """Fingerprint -> record state of every record changed since the seal
    (computed once per registry generation)."""
    generation = registry.generation()
    if _states["generation"] != generation:
        changed, _ = registry.changed_since_seal()
        states = {}
        for r in changed:
            identity = fingerprint(r.primitive)
            if identity is not None:
                states[_canonical(identity)] = _record_state(r.primitive)
        _states["states"] = states
        _states["generation"] = generation
    return _states["states"]


def _part_of_table(obj):
    """The fingerprint of a record's field; the engine's own rules by name
    alone (their code is part of the engine's digest, see disk.engine_digest)."""
    if isinstance(obj, types.FunctionType) and (obj.__module__ or "").startswith("s2sgrad."):
        named = _named(obj)
        if named is not None:
            return ["engine", *named]
    return fingerprint(obj)


#: the fields of a record that make derivatives (not its registration order)
_RECORD_FIELDS = tuple(f for f in registry.Primitive.__dataclass_fields__ if f != "order")
