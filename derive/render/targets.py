"""Where output goes: the formats, the suffixes that imply them, and the checks that refuse an
output path before any work is done (an input file, a suffix of another format).

Light on purpose (no SymPy, no Jinja): the command line checks its output path, and finds a
document in the cache of written documents, before it imports the solver.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from derive.errors import RenderError

# Output format names and the file suffixes that imply them.
FORMATS: dict[str, tuple[str, ...]] = {
    "tex": (".tex", ".latex"),
    "pdf": (".pdf",),
    "md": (".md", ".markdown"),
    "json": (".json",),
}
_ALIASES = {"latex": "tex", "markdown": "md"}
# Suffixes of the files derive reads (networks, problem sets, submissions): never an output.
INPUT_SUFFIXES = (".yaml", ".yml")


def format_for_path(path: str | Path) -> str:
    """The format a file name implies (``answers.pdf`` → ``"pdf"``); RenderError if none."""
    suffix = Path(path).suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    raise RenderError(
        f"cannot tell the output format from {str(path)!r}; use one of "
        + ", ".join(s for suffixes in FORMATS.values() for s in suffixes)
    )


def check_output(path: str | Path, fmt: str | None, inputs: Iterable[str | Path] = ()) -> str:
    """The format to write ``path`` in, after refusing an output that would clobber an input
    (the same file by any spelling or symlink) or whose suffix says another format."""
    target = Path(path)
    for source in inputs:
        if _same_file(target, Path(source)):
            raise RenderError(
                f"the output {str(target)!r} is the input file {str(source)!r}; "
                "derive does not overwrite its input (choose another -o)"
            )
    suffix = target.suffix.lower()
    if suffix in INPUT_SUFFIXES:
        raise RenderError(
            f"the output {str(target)!r} has the suffix {suffix} of the files derive reads; "
            "name it .pdf, .tex, .md or .json"
        )
    if fmt is None:
        return format_for_path(target)
    name = _ALIASES.get(fmt.lower(), fmt.lower())
    if name not in FORMATS:
        raise RenderError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
    implied = next((f for f, suffixes in FORMATS.items() if suffix in suffixes), None)
    if implied is not None and implied != name:
        raise RenderError(
            f"the output {str(target)!r} ends in {suffix} ({implied}) but the format is {name}; "
            f"name it {target.stem}{FORMATS[name][0]} or leave out the format"
        )
    return name


def _same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file: the same inode, or the same resolved path."""
    try:
        return os.path.samefile(first, second)
    except OSError:  # one does not exist yet
        return first.resolve() == second.resolve()
