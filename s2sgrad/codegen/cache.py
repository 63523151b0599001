"""Cache stage: generated code kept in memory, keyed by what it depends on.

A key is a tuple of strings, integers and digests (so a disk cache can
serialise it later): the registry's generation (bumped by every
registration, so a rule added or replaced later is used by the next
lookup), then what the caller puts in -- the pipeline puts the digest of
the running code object and of the source it was read from, ``wrt``, and
the transform's options. What cannot be a key part -- the objects the
user's names resolved to (``np.sin`` -> the ufunc, a global or closure
variable -> the callee it held) -- the entry remembers, and ``still_valid``
re-checks on every hit, so a rebound global or a different closure never
gets stale code.

Bounded: a least-recently-used table of at most :data:`max_entries`
entries (``S2SGRAD_CACHE_SIZE``, default 1000). Entries hold no strong
reference to the user's function or its globals. Safe under threads:
generation for one key happens once (under a lock); hits take no lock.

Output guarantees: a hit returns an entry made for an equal key whose
remembered resolutions still hold (else it generates again); at most
:data:`max_entries` entries are kept, and an evicted entry's ``linecache``
registration goes with it.
"""

import collections
import os
import threading

from s2sgrad.primitives.registry import generation

#: the bound on entries kept; evicting one lets its generated code (and the
#: ``linecache`` lines of its source, see codegen.compile) go once nothing
#: else uses it
max_entries = int(os.environ.get("S2SGRAD_CACHE_SIZE", "1000"))

_entries = collections.OrderedDict()
_lock = threading.RLock()
#: how many times code was generated (tests use it to prove cache hits)
stats = {"generated": 0, "hits": 0}


def cached(key, still_valid, generate):
    """The entry for ``key`` if ``still_valid(entry)``, else ``generate()``."""
    key = (generation(), *key)
    entry = _entries.get(key)
    if entry is not None and still_valid(entry):
        _touch(key)
        return entry
    with _lock:
        entry = _entries.get(key)
        if entry is not None and still_valid(entry):
            _touch(key)
            return entry
        entry = generate()
        stats["generated"] += 1
        _entries[key] = entry
        _entries.move_to_end(key)
        while len(_entries) > max(max_entries, 1):
            _entries.popitem(last=False)
        return entry


def _touch(key):
    """Mark ``key`` most recently used (lock-free: a concurrent eviction may
    have removed it, and then there is nothing to mark)."""
    stats["hits"] += 1
    try:
        _entries.move_to_end(key)
    except KeyError:
        pass


def size():
    """How many entries the cache holds."""
    return len(_entries)


def clear():
    with _lock:
        _entries.clear()
