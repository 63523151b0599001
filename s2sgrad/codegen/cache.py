"""Cache stage: generated code kept in memory, keyed by what it depends on.

The key is the user function's code object, the transform's parameters
(wrt, order, mode) and the registry's generation (bumped by every
registration, so a rule added or replaced later is used by the next
lookup). An entry also remembers every name resolution the generation relied on (``np.sin`` -> the ufunc, a
closure variable -> the callee it held); a lookup re-checks those
identities, so a rebound global or a different closure never gets stale
code. Safe under threads: generation for one key happens once.
"""

import threading

from s2sgrad.primitives.registry import generation

_entries = {}
_lock = threading.RLock()
#: how many times code was generated (tests use it to prove cache hits)
stats = {"generated": 0, "hits": 0}


def cached(key, still_valid, generate):
    """The entry for ``key`` if ``still_valid(entry)``, else ``generate()``."""
    key = (generation(), *key)
    entry = _entries.get(key)
    if entry is not None and still_valid(entry):
        stats["hits"] += 1
        return entry
    with _lock:
        entry = _entries.get(key)
        if entry is not None and still_valid(entry):
            stats["hits"] += 1
            return entry
        entry = generate()
        stats["generated"] += 1
        _entries[key] = entry
        return entry


def clear():
    with _lock:
        _entries.clear()
