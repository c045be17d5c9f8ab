"""LaTeX output: the solution key, the problem sheet, and the answers alone for Jupyter."""

from __future__ import annotations

from derive.model import Solution
from derive.render.environment import latex_environment


def render_latex(solution: Solution) -> str:
    """The solution key as a complete LaTeX document (article class, compiles with pdflatex)."""
    return latex_environment().get_template("solution.tex.j2").render(solution=solution)


def render_questions_latex(solution: Solution) -> str:
    """The problem sheet (statements, setup and what to find, no answers) as LaTeX."""
    return latex_environment().get_template("questions.tex.j2").render(solution=solution)


def render_latex_fragment(solution: Solution) -> str:
    """The answers alone, as ``$$\\begin{aligned}...\\end{aligned}$$`` (Jupyter's _repr_latex_).

    With several parts, each answer is tagged with its part's heading.
    """
    rows = [(part, answer) for part in solution.parts for answer in part.answers.values()]
    template = latex_environment().get_template("answers.tex.j2")
    return template.render(rows=rows, tagged=len(solution.parts) > 1).strip()
