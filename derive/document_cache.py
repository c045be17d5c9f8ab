"""Written documents kept on disk: ``derive solve`` run again on unchanged input writes the same
file without solving, rendering or typesetting anything, and without importing SymPy.

The cache of solved problems (``derive.cache``) saves the solving; this one saves the rest of a
warm run (SymPy's import, unpickling the parts, the templates, TeX). An entry is found by a key
of everything known before the input is read: derive's version (which hashes derive's code),
the templates, for a PDF the TeX programs, the command's options (format, problem sheet or key,
notation, points, input limits) and the input as named and as resolved. It holds every file read
while the document was made, each with the SHA-256 of the bytes read (the input, the network
files a problem set names: whatever went through ``derive.load.read_input`` or
``derive.cache.note_read``), the progress lines, and the document's bytes. It is used only while
each of those files still has those bytes; a document with failures is never kept.

Entries live beside the solved problems (``derive.cache.directory()/documents``) and are
bypassed with them by ``derive solve --no-cache``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from derive import limits
from derive.cache import Cache, digest, directory

# The programs a PDF is typeset with (derive.render.pdf): a new TeX makes new documents.
_TEX_PROGRAMS = ("pdflatex", "latexmk")


@dataclass(frozen=True)
class Request:
    """What a ``derive solve`` command asks for, as far as it decides the document's bytes."""

    source: str  # the input as the command named it: a file, or an example's name
    resolved: str  # the file read first (the input, or the example's file), resolved
    fmt: str  # tex, md, json or pdf
    questions: bool  # the problem sheet instead of the key
    notation: str | None
    points: int


@dataclass(frozen=True)
class Document:
    """A kept document: the files it was made from, its progress lines, and its bytes."""

    reads: tuple[tuple[str, str], ...]  # (resolved path, SHA-256 of its bytes)
    progress: tuple[str, ...]
    data: bytes

    def current(self) -> bool:
        """Whether every file the document was made from still has the bytes it had."""
        for path, expected in self.reads:
            try:
                if digest(Path(path).read_bytes()) != expected:
                    return False
            except OSError:
                return False
        return True


class DocumentCache:
    """Documents stored under ``root`` by the key of their Request."""

    def __init__(self, store: Cache) -> None:
        self.store = store

    @classmethod
    def default(cls) -> DocumentCache:
        """The user's cache of documents (see ``derive.cache.directory``)."""
        return cls(Cache(directory() / "documents"))

    def key(self, request: Request) -> str:
        tex = _tex_programs() if request.fmt == "pdf" else ()
        return self.store.key("document", request, limits.current(), _templates(), tex)

    def find(self, request: Request) -> Document | None:
        """The kept document for ``request`` if its input files are unchanged, else None."""
        found = self.store.load(self.key(request))
        if isinstance(found, Document) and found.current():
            return found
        return None

    def keep(self, request: Request, document: Document) -> None:
        self.store.store(self.key(request), document)

    def keep_written(
        self, request: Request, target: Path, reads: dict[str, str], progress: list[str]
    ) -> None:
        """Keep the document just written at ``target``, made from the files ``reads``
        (path → SHA-256) with the progress lines ``progress``."""
        try:
            data = target.read_bytes()
        except OSError:  # written somewhere that cannot be read back: nothing to keep
            return
        self.keep(request, Document(tuple(sorted(reads.items())), tuple(progress), data))


def request_for(
    file: Path | None, subject: str, fmt: str, questions: bool, notation: str | None, points: int
) -> Request:
    """What ``derive solve`` asks for: ``file``, or the example named ``subject``, as ``fmt``."""
    from derive.examples import example_path

    read_first = file if file is not None else example_path(subject)
    return Request(subject, str(Path(read_first).resolve()), fmt, questions, notation, points)


def _templates() -> str:
    """A SHA-256 of the templates' names and text, where the renderer finds them."""
    from importlib import resources

    try:
        folder: Any = resources.files("derive.templates")
    except ModuleNotFoundError:  # a checkout that is not installed (derive.render.environment)
        folder = Path(__file__).resolve().parents[1] / "templates"
    hashed = hashlib.sha256()
    for item in sorted(folder.iterdir(), key=lambda item: item.name):
        if item.is_file():
            hashed.update(item.name.encode() + b"\0" + item.read_bytes() + b"\0")
    return hashed.hexdigest()


def _tex_programs() -> tuple[tuple[str, str, int, int], ...]:
    """Each TeX program on the PATH: where it is, its size and modification time."""
    found = []
    for name in _TEX_PROGRAMS:
        path = shutil.which(name)
        if path is not None:
            info = os.stat(path)
            found.append((name, os.path.realpath(path), info.st_size, info.st_mtime_ns))
    return tuple(found)
