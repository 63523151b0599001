"""Disk cache: generated source kept across processes.

One file per entry, named by the digest of its key, in the directory
``S2SGRAD_CACHE_DIR`` names, else the platform's user cache directory
(``$XDG_CACHE_HOME/s2sgrad`` or ``~/.cache/s2sgrad`` on Linux,
``~/Library/Caches/s2sgrad`` on macOS, ``%LOCALAPPDATA%\\s2sgrad\\Cache``
on Windows). ``S2SGRAD_CACHE=0`` turns it off.

The key is the caller's (the pipeline's: the code's and the source's
digests, ``wrt`` and the options) plus what the engine itself is: the
format, s2sgrad's, Python's and NumPy's versions, a digest of the engine's
sources (which fixes its own rules) and the modules declared
nondifferentiable since. Rules registered since (``sg.defgrad``) are not
part of the key: an entry lists what its generation looked up in the
primitive table and in which state (:func:`s2sgrad.codegen.portable.rules_used`),
and is used only while the table still holds that; a generation that used
a rule without a portable description (a lambda's) is kept in memory only.
An entry holds JSON only: the generated source, the code compiled from it (``marshal``, Python's own format for ``.pyc`` files:
loading it skips compiling) and portable descriptions of what it needs --
nothing is pickled, nothing imported, and nothing of an entry is used
before its header and content digest check out.

Safety: the directory is made owner-only (0o700) and a directory another
user owns or may write is not used; files are 0o600, written to a temporary
file in the same directory and renamed over the entry (``os.replace``), so
a reader sees a whole entry or none. Each entry starts with a header line
(format, versions, the full key digest, the digest of the rest); an entry
that is corrupt, truncated, foreign (another key) or of another version is
ignored, and rewritten by the next generation -- never executed, never an
error. A directory that cannot be used gives one S2SGradWarning and the
cache stays in memory.

Bounded: when the directory passes ``S2SGRAD_CACHE_MAX_MB`` megabytes
(default 64), the oldest entries (by modification time, which a hit
refreshes) are removed until the rest fit. A process counts the directory
on its first write and adds what it writes; it lists the directory again
only when that estimate passes the bound.

Output guarantees: :func:`load` returns an entry only when its header,
versions, engine digest, key and content digest all match (else None, never
an error); :func:`store` leaves a whole entry or none, owner-only.
"""

import base64
import contextlib
import hashlib
import json
import marshal
import os
import stat
import sys
import tempfile
import threading
import types
import warnings
from pathlib import Path

from s2sgrad.errors import S2SGradWarning
from s2sgrad.primitives import registry

#: bumped when the layout of an entry changes
FORMAT = 2
SUFFIX = ".s2sgrad-entry"
_TEMPORARY = ".s2sgrad-tmp-"
_MAGIC = "s2sgrad-cache"
DEFAULT_MAX_MB = 64

#: what the disk cache did in this process (tests read it)
stats = {"loaded": 0, "stored": 0, "rejected": 0, "stale": 0, "evicted": 0}
#: directories found unusable in this process (warned about once each)
_unusable = {}
_lock = threading.Lock()


def enabled():
    """False when ``S2SGRAD_CACHE=0`` turns the disk cache off."""
    return os.environ.get("S2SGRAD_CACHE", "1").strip() != "0"


def directory():
    """The cache directory (``S2SGRAD_CACHE_DIR``, else the platform's)."""
    given = os.environ.get("S2SGRAD_CACHE_DIR", "").strip()
    if given:
        return Path(given).expanduser()
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "s2sgrad"
    if os.name == "nt":
        local = os.environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(local) / "s2sgrad" / "Cache"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else home / ".cache") / "s2sgrad"


def limit_bytes():
    """The size bound (``S2SGRAD_CACHE_MAX_MB``, default 64 MB)."""
    text = os.environ.get("S2SGRAD_CACHE_MAX_MB", "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_MAX_MB
    except ValueError:
        megabytes = DEFAULT_MAX_MB
    return max(int(megabytes * 2**20), 0)


def _versions():
    """s2sgrad's, Python's and NumPy's versions, as an entry's header names them."""
    engine = sys.modules.get("s2sgrad")
    return {
        "s2sgrad": str(getattr(engine, "__version__", "?")),
        "python": f"{sys.implementation.cache_tag} {sys.version.split()[0]}",
        "numpy": str(getattr(sys.modules.get("numpy"), "__version__", "?")),
    }


_engine = {}


def engine_digest():
    """A digest of the engine's sources (path, size and modification time of
    every module of the package): another build never reads this one's entries."""
    if "digest" not in _engine:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        lines = []
        for folder, subfolders, files in os.walk(root):
            subfolders.sort()
            for name in sorted(files):
                if name.endswith(".py"):
                    info = os.stat(os.path.join(folder, name))
                    lines.append(f"{folder[len(root):]}/{name} {info.st_size} {info.st_mtime_ns}")
        _engine["digest"] = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return _engine["digest"]


def key_digest(key):
    """The full digest of ``key`` (a tuple of JSON values) with the engine's
    part (what the rules registered since depend on is checked per entry,
    see s2sgrad.codegen.portable.rules_used)."""
    whole = [FORMAT, _versions(), engine_digest(), registry.modules_since_seal(), list(key)]
    return hashlib.sha256(json.dumps(whole, sort_keys=True).encode()).hexdigest()


def _usable_directory(create):
    """The cache directory when it can be used (created owner-only if
    ``create``), else None (with one warning per directory and process)."""
    if not enabled():
        return None
    path = directory()
    if str(path) in _unusable:
        return None
    try:
        if create:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except FileNotFoundError:
        if create:
            return _give_up(path, "it does not exist")
        return None
    except OSError as error:
        return _give_up(path, error.strerror or str(error))
    if not stat.S_ISDIR(info.st_mode):
        return _give_up(path, "it is not a directory")
    if hasattr(os, "getuid") and (info.st_uid != os.getuid() or info.st_mode & 0o022):
        return _give_up(path, "another user owns it or may write to it")
    return path


def _give_up(path, reason):
    _unusable[str(path)] = reason
    warnings.warn(
        f"s2sgrad cannot use the cache directory {path} ({reason}): generated code is kept "
        "in memory only; set S2SGRAD_CACHE_DIR to a directory of your own, or "
        "S2SGRAD_CACHE=0 to turn the disk cache off", S2SGradWarning, stacklevel=4)
    return None


def load(key, make=None):
    """The payload stored under ``key`` -- or what ``make(payload)`` makes of
    it, when given -- or None: missing, disabled, an entry that does not
    check out (counted as rejected and left to be rewritten), or one
    ``make`` finds no longer holds (None: counted as stale)."""
    digest = key_digest(key) if enabled() else None
    path = _usable_directory(create=False) if digest else None
    if path is None:
        return None
    entry = path / f"{digest[:40]}{SUFFIX}"
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    payload = _checked(data, digest)
    if payload is None:
        stats["rejected"] += 1
        return None
    if make is not None:
        payload = make(payload)
        if payload is None:
            stats["stale"] += 1
            return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # (most recently used: the last to be evicted)
    stats["loaded"] += 1
    return payload


def _checked(data, digest):
    """The payload of an entry's bytes when its header matches this engine,
    ``digest`` and the rest of the bytes; else None."""
    head, newline, body = data.partition(b"\n")
    if not newline or not head.startswith(_MAGIC.encode() + b" "):
        return None
    try:
        header = json.loads(head[len(_MAGIC) + 1:])
        expected = {"format": FORMAT, **_versions(), "key": digest,
                    "content": hashlib.sha256(body).hexdigest()}
        if header != expected:
            return None
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def store(key, payload):
    """Write ``payload`` (a JSON-able dict) under ``key``; then evict the
    oldest entries past the size bound. Never raises: a directory that
    cannot be written is given up on (with one warning)."""
    digest = key_digest(key) if enabled() else None
    path = _usable_directory(create=True) if digest else None
    if path is None:
        return False
    body = json.dumps(payload, sort_keys=True).encode()
    header = {"format": FORMAT, **_versions(), "key": digest,
              "content": hashlib.sha256(body).hexdigest()}
    data = f"{_MAGIC} {json.dumps(header, sort_keys=True)}\n".encode() + body
    try:
        handle, temporary = tempfile.mkstemp(prefix=_TEMPORARY, dir=path)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path / f"{digest[:40]}{SUFFIX}")
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except FileNotFoundError:  # (``cache clear`` took the temporary file meanwhile)
        return False
    except OSError as error:
        _give_up(path, error.strerror or str(error))
        return False
    stats["stored"] += 1
    _evict(path, len(data))
    return True


def code_text(code):
    """``code`` (a module code object) as text an entry can hold: its
    ``marshal`` bytes (the format is Python's own, and entries of another
    Python version are never read), base64-encoded."""
    return base64.b64encode(marshal.dumps(code)).decode("ascii")


def code_of(text):
    """The module code object :func:`code_text` wrote (ValueError when it is
    not a code object defining a function); only called on an entry whose
    header and content digest checked out."""
    code = marshal.loads(base64.b64decode(text.encode("ascii"), validate=True))
    if not isinstance(code, types.CodeType) or not any(
            isinstance(c, types.CodeType) for c in code.co_consts):
        raise ValueError("not the code of a generated function")
    return code


def _entries(path):
    """``(mtime, size, file)`` of every entry in ``path``."""
    found = []
    with contextlib.suppress(OSError), os.scandir(path) as listing:
        for item in listing:
            if item.name.endswith(SUFFIX):
                with contextlib.suppress(OSError):
                    info = item.stat()
                    found.append((info.st_mtime_ns, info.st_size, item.path))
    return found


#: directory -> its size as this process last counted it plus what it wrote
#: since (the directory is listed again only when that passes the bound)
_estimated = {}


def _evict(path, written):
    """Remove the least recently used entries until the rest fit the bound.
    The directory is listed on a process's first write and when the size
    it estimates passes the bound, not on every write."""
    bound = limit_bytes()
    with _lock:
        key = str(path)
        if key in _estimated:
            _estimated[key] += written
            if _estimated[key] <= bound:
                return
        entries = sorted(_entries(path))
        total = sum(size for _, size, _ in entries)
        for _, size, file in entries:
            if total <= bound:
                break
            with contextlib.suppress(FileNotFoundError):
                os.unlink(file)
                stats["evicted"] += 1
            total -= size
        _estimated[key] = total


def info():
    """What ``s2sgrad cache info`` shows: directory, entries, bytes, limit, enabled."""
    path = directory()
    entries = _entries(path) if path.is_dir() else []
    return {"directory": str(path), "enabled": enabled(), "entries": len(entries),
            "bytes": sum(size for _, size, _ in entries), "limit": limit_bytes()}


def clear():
    """Remove every entry (and leftover temporary file); returns how many
    entries were removed. Files that are not the cache's are left alone."""
    path = directory()
    removed = 0
    _estimated.pop(str(path), None)
    with contextlib.suppress(OSError), os.scandir(path) as listing:
        for item in listing:
            ours = item.name.endswith(SUFFIX) or item.name.startswith(_TEMPORARY)
            if ours and item.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(item.path)
                    removed += item.name.endswith(SUFFIX)
    return removed
