"""Markdown output: the solution with math in ``$...$`` and ``$$...$$`` (GitHub, Jupyter)."""

from __future__ import annotations

import re

from derive.model import Solution
from derive.render.environment import markdown_environment

_BLANK_RUN = re.compile(r"\n{3,}")


def render_markdown(solution: Solution) -> str:
    """The solution key as Markdown; formulas are LaTeX for MathJax or KaTeX."""
    return _render("solution.md.j2", solution)


def render_questions_markdown(solution: Solution) -> str:
    """The problem sheet (statements, setup and what to find, no answers) as Markdown."""
    return _render("questions.md.j2", solution)


def _render(template: str, solution: Solution) -> str:
    text = markdown_environment().get_template(template).render(solution=solution)
    # Blocks are separated by one blank line, however the template's conditionals fell.
    return _BLANK_RUN.sub("\n\n", text).strip() + "\n"
