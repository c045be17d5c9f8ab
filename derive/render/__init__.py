"""Rendering a Solution: LaTeX, a LaTeX fragment for Jupyter, Markdown, JSON and PDF.

Document layout lives in ``templates/`` (installed as ``derive.templates``); expressions are
typeset by ``derive.printing.tex``.
"""

from __future__ import annotations

from pathlib import Path

from derive.errors import RenderError
from derive.model import Solution
from derive.render.json_output import render_json
from derive.render.latex import render_latex, render_latex_fragment, render_questions_latex
from derive.render.markdown import render_markdown, render_questions_markdown
from derive.render.pdf import write_pdf

__all__ = [
    "FORMATS",
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


def write_output(
    solution: Solution, path: str | Path, fmt: str | None = None, *, questions: bool = False
) -> None:
    """Write ``solution`` to ``path`` as ``fmt`` (tex, pdf, md, json; None: from the suffix).

    With ``questions``, write the problem sheet instead of the key (tex, pdf and md only).
    """
    name = format_for_path(path) if fmt is None else _ALIASES.get(fmt.lower(), fmt.lower())
    if name not in FORMATS:
        raise RenderError(f"unknown output format {fmt!r}; use one of {', '.join(FORMATS)}")
    if name == "pdf":
        write_pdf(solution, path, questions=questions)
        return
    renderers = _QUESTION_RENDERERS if questions else _TEXT_RENDERERS
    if name not in renderers:
        raise RenderError(f"the problem sheet can be written as tex, md or pdf, not {name}")
    text = renderers[name](solution)
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise RenderError(f"cannot write {path}: {error.strerror or error}") from None
