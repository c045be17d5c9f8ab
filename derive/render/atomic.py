"""Writing an output file whole or not at all.

The bytes go to a hidden temporary file beside the target and are renamed over it at the end
(``os.replace``: atomic on one file system), so an error, Ctrl-C or SIGTERM part-way leaves the
previous output as it was and no partial file behind.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from derive.errors import RenderError


def write_atomically(path: str | Path, data: bytes) -> None:
    """Replace the file at ``path`` with ``data``; RenderError (and the old file untouched) if
    that cannot be done."""
    target = Path(path)
    mode = _mode_for(target)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(
            dir=directory, prefix=f".{target.name}.", suffix=".part"
        )
    except OSError as error:
        raise RenderError(f"cannot write {target}: {error.strerror or error}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        _remove(temporary)
        raise RenderError(f"cannot write {target}: {error.strerror or error}") from None
    except BaseException:  # KeyboardInterrupt, SystemExit from SIGTERM: leave nothing behind
        _remove(temporary)
        raise


def encoded(text: str, path: str | Path) -> bytes:
    """``text`` as UTF-8, or a RenderError naming the first character UTF-8 cannot hold."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start]
        raise RenderError(
            f"cannot write {path}: the text holds U+{ord(bad):04X} (a lone surrogate), "
            "which UTF-8 cannot store; the input has an invalid \\u escape"
        ) from None


def _mode_for(target: Path) -> int:
    """The permissions the output gets: those of the file it replaces, else 0666 minus umask;
    a target that exists and is not a regular file (a directory, FIFO, device) is refused."""
    try:
        status = target.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
    except OSError as error:
        raise RenderError(f"cannot write {target}: {error.strerror or error}") from None
    if not stat.S_ISREG(status.st_mode):
        raise RenderError(f"cannot write {target}: it exists and is not a regular file")
    return stat.S_IMODE(status.st_mode)


def _remove(temporary: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(temporary)
