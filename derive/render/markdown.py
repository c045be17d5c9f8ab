"""Markdown output: the solution with math in ``$...$`` and ``$$...$$`` (GitHub, Jupyter)."""

from __future__ import annotations

from derive.model import Solution
from derive.render.environment import markdown_environment


def render_markdown(solution: Solution) -> str:
    """The solution as Markdown; formulas are LaTeX for MathJax or KaTeX."""
    return markdown_environment().get_template("solution.md.j2").render(solution=solution)
