"""Rendering a Solution: LaTeX, a LaTeX fragment for Jupyter, Markdown, JSON and PDF.

Document layout lives in ``templates/`` (installed as ``derive.templates``); expressions are
typeset by ``derive.printing.tex``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from derive.errors import RenderError
from derive.model import Solution
from derive.render.atomic import encoded, write_atomically
from derive.render.json_output import render_json
from derive.render.latex import render_latex, render_latex_fragment, render_questions_latex
from derive.render.markdown import render_markdown, render_questions_markdown
from derive.render.pdf import write_pdf

__all__ = [
    "FORMATS",
    "check_output",
    "format_for_path",
    "render_json",
    "render_latex",
    "render_latex_fragment",
    "render_markdown",
    "render_questions_latex",
    "render_questions_markdown",
    "write_output",
    "write_pdf",
]

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

_TEXT_RENDERERS = {"tex": render_latex, "md": render_markdown, "json": render_json}
_QUESTION_RENDERERS = {"tex": render_questions_latex, "md": render_questions_markdown}


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


def write_output(
    solution: Solution, path: str | Path, fmt: str | None = None, *, questions: bool = False
) -> None:
    """Write ``solution`` to ``path`` as ``fmt`` (tex, pdf, md, json; None: from the suffix).

    With ``questions``, write the problem sheet instead of the key (tex, pdf and md only).
    The file is written whole or not at all (``derive.render.atomic``).
    """
    name = check_output(path, fmt)
    if name == "pdf":
        write_pdf(solution, path, questions=questions)
        return
    renderers = _QUESTION_RENDERERS if questions else _TEXT_RENDERERS
    if name not in renderers:
        raise RenderError(f"the problem sheet can be written as tex, md or pdf, not {name}")
    write_atomically(path, encoded(renderers[name](solution), path))
