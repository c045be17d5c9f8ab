"""A cache of solved problems on disk: a problem is solved again only when it, a file it reads,
or derive itself has changed.

An entry's key is a SHA-256 of everything the problem's parts depend on (the problem as read
from the set, the bytes of a network file it names, the earlier part it builds on, the points
and the input limits) and of ``version()``: derive's version and a hash of its own source, so
any change to derive's code makes every earlier entry unreachable. The value is what the solver
returned, pickled, after a SHA-256 of the pickle: an entry that is unreadable, truncated or
fails its checksum is treated as missing, and written again once the problem is solved. Entries
are written to a temporary file renamed over the entry, so a run never reads half an entry.

The cache lives in ``$DERIVE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/derive`` or
``~/.cache/derive``; ``derive solve --no-cache`` neither reads nor writes it. Entries are
pickles, read only from this directory, which derive creates readable by its owner alone.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

ENVIRONMENT = "DERIVE_CACHE_DIR"
FORMAT = b"derive-cache 1\n"  # the first bytes of every entry; a new layout changes it
CHECKSUM = hashlib.sha256().digest_size


def directory() -> Path:
    """Where the cache lives: $DERIVE_CACHE_DIR, else the user's cache directory."""
    chosen = os.environ.get(ENVIRONMENT)
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "derive"


@functools.cache
def version() -> str:
    """derive's version and a hash of every file of its package (code, grammars, templates,
    examples), with the versions of Python, SymPy and NumPy, whose objects an entry pickles."""
    from importlib import metadata

    package = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    versions = [sys.version]
    for name in ("derive", "sympy", "numpy"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} unknown")
    return f"{'; '.join(versions)}; source {digest.hexdigest()}"


def digest(data: bytes) -> str:
    """The SHA-256 of ``data`` in hex (a file's content in a key)."""
    return hashlib.sha256(data).hexdigest()


class Cache:
    """Solved problems stored under ``root``, one file per key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> Cache:
        """The user's cache (see ``directory``)."""
        return cls(directory() / "problems")

    def key(self, *items: object) -> str:
        """The key of whatever ``items`` (plain values: text, numbers, lists, mappings, frozen
        dataclasses) describe, under this version of derive."""
        return digest(repr((version(), items)).encode("utf-8", "surrogatepass"))

    def load(self, key: str) -> object | None:
        """The value stored under ``key``, or None if there is none or it cannot be trusted."""
        try:
            data = (self.root / key).read_bytes()
        except OSError:
            return None
        if not data.startswith(FORMAT):
            return None
        start = len(FORMAT) + CHECKSUM
        payload = data[start:]
        if hashlib.sha256(payload).digest() != data[len(FORMAT) : start]:
            return None
        try:
            return pickle.loads(payload)
        except Exception:  # an entry written by another derive that still unpickles wrongly
            return None

    def store(self, key: str, value: object) -> None:
        """Store ``value`` under ``key``, whole or not at all; a cache that cannot be written
        is skipped (solving never fails because of it)."""
        try:
            payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a value that cannot be pickled is simply not cached
            return
        data = FORMAT + hashlib.sha256(payload).digest() + payload
        temporary = None
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            import tempfile

            handle, temporary = tempfile.mkstemp(dir=self.root, prefix=f".{key}.", suffix=".part")
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temporary, self.root / key)
            temporary = None
        except OSError:
            pass
        finally:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)


# The files read while a document is made (see derive.document_cache): path → SHA-256 of bytes.
_reads: ContextVar[dict[str, str] | None] = ContextVar("derive_reads", default=None)


@contextlib.contextmanager
def recording_reads() -> Iterator[dict[str, str]]:
    """Within the block, every input file derive reads (``note_read``) is recorded: its
    resolved path and the SHA-256 of the bytes read."""
    reads: dict[str, str] = {}
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


def note_read(path: str | os.PathLike[str], data: bytes) -> None:
    """Record that ``data`` was read from ``path`` (if reads are being recorded)."""
    reads = _reads.get()
    if reads is not None:
        reads[str(Path(path).resolve())] = digest(data)
