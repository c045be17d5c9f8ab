"""Rendering a Solution: LaTeX, a LaTeX fragment for Jupyter, Markdown, JSON and PDF.

Document layout lives in ``templates/`` (installed as ``derive.templates``); expressions are
typeset by ``derive.printing.tex``.

Importing this package is light: the renderers (which import SymPy and Jinja) load on first
use, so the command line can check an output path, or copy a cached document, without them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from derive.errors import RenderError
from derive.render.atomic import encoded, write_atomically
from derive.render.targets import FORMATS, INPUT_SUFFIXES, check_output, format_for_path

if TYPE_CHECKING:
    from derive.model import Solution
    from derive.render.json_output import render_json
    from derive.render.latex import render_latex, render_latex_fragment, render_questions_latex
    from derive.render.markdown import render_markdown, render_questions_markdown
    from derive.render.pdf import write_pdf

__all__ = [
    "FORMATS",
    "INPUT_SUFFIXES",
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

# Each renderer by the module that defines it, imported when first asked for.
_LAZY = {
    "render_json": "derive.render.json_output",
    "render_latex": "derive.render.latex",
    "render_latex_fragment": "derive.render.latex",
    "render_questions_latex": "derive.render.latex",
    "render_markdown": "derive.render.markdown",
    "render_questions_markdown": "derive.render.markdown",
    "write_pdf": "derive.render.pdf",
}


def __getattr__(name: str) -> Any:
    """A renderer (or table of them), imported on first use and kept as a module attribute."""
    if name in globals():  # called by name from this module after the first use
        return globals()[name]
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name == "_TEXT_RENDERERS":
        value = {"tex": __getattr__("render_latex"), "md": __getattr__("render_markdown")}
        value["json"] = __getattr__("render_json")
    elif name == "_QUESTION_RENDERERS":
        value = {
            "tex": __getattr__("render_questions_latex"),
            "md": __getattr__("render_questions_markdown"),
        }
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # found directly from now on
    return value


def write_output(
    solution: Solution, path: str | Path, fmt: str | None = None, *, questions: bool = False
) -> None:
    """Write ``solution`` to ``path`` as ``fmt`` (tex, pdf, md, json; None: from the suffix).

    With ``questions``, write the problem sheet instead of the key (tex, pdf and md only).
    The file is written whole or not at all (``derive.render.atomic``).
    """
    name = check_output(path, fmt)
    if name == "pdf":
        __getattr__("write_pdf")(solution, path, questions=questions)
        return
    renderers = __getattr__("_QUESTION_RENDERERS" if questions else "_TEXT_RENDERERS")
    if name not in renderers:
        raise RenderError(f"the problem sheet can be written as tex, md or pdf, not {name}")
    write_atomically(path, encoded(renderers[name](solution), path))
