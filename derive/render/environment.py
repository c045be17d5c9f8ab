"""The Jinja environments and filters shared by every output format.

Two environments: one for LaTeX (delimiters ``<< >>``, ``<% %>``, ``<# #>`` so that TeX's braces
and ``{#`` never clash) and one for Markdown (Jinja's usual delimiters). Both are strict
(``StrictUndefined``) and never autoescape: every piece of user text goes through the one
``escape`` filter of its format, and every formula side through ``math``.

Filters (both environments):
    escape   user text → safe text (LaTeX: ``\\ { } $ & # ^ _ % ~ < > |``; Markdown: punctuation)
    math     MathItem → math-mode LaTeX (sympy → ``tex``; Tex as is; str → ``\\text{...}``)
    inline   MathItem → running text (str → escaped text; anything else → ``$math$``)
    relation a Line's relation → LaTeX (``=``, ``\\approx``; ``≈`` and ``<=`` are translated)
    shape    an Answer's shape → "scalar" or ``$k \\times n$``
    aligned  Lines → rows for an aligned block, long right sides broken (derive.render.breaking)
    sci      a float → ``3.1e-10``
    phrase   "central finite differences, float64" → "central finite differences (float64)"
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import jinja2
import sympy as sp

from derive.escaping import escape_latex, escape_markdown
from derive.model import Line, MathItem, Tex
from derive.printing import latex_name, tex
from derive.render.breaking import Row, break_rows
from derive.render.measure import BOX_WIDTH_EM, LINE_WIDTH_EM

# The room an aligned block has: a display on the page, or the inside of an answer's box.
ROOMS: dict[str, float] = {"line": LINE_WIDTH_EM, "box": BOX_WIDTH_EM}

RELATIONS: dict[str, str] = {"≈": r"\approx", "<=": r"\le", ">=": r"\ge", "≤": r"\le", "≥": r"\ge"}


def math(item: MathItem | None) -> str:
    """A formula side as math-mode LaTeX: sympy → tex, Tex as is, plain text → \\text{...}."""
    if item is None:
        return ""
    if isinstance(item, Tex):
        return str(item)
    if isinstance(item, str):
        return rf"\text{{{escape_latex(item)}}}" if item else ""
    if isinstance(item, sp.Basic):
        return tex(item)
    raise TypeError(f"cannot typeset {type(item).__name__} as math: {item!r}")


def _inline(escape: Callable[[str], str]) -> Callable[[MathItem], str]:
    def inline(item: MathItem) -> str:
        """Running text: plain text escaped, anything else as inline math."""
        if isinstance(item, str) and not isinstance(item, Tex):
            return escape(item)
        return f"${math(item)}$"

    return inline


def relation(symbol: str) -> str:
    return RELATIONS.get(symbol, symbol)


def aligned(items: Sequence[Line], room: str = "line") -> list[Row]:
    """Lines as the rows of an aligned block ("line": on the page, "box": in an answer's box):
    each right side broken at its outer + and − (or between factors) where it is too long.

    A Line without a right side is a continuation: its text goes in the right column.
    """
    rows: list[tuple[str, str, sp.Basic | str]] = []
    for line in items:
        if line.rhs is None:
            rows.append(("", "", _breakable(line.lhs)))
        else:
            rows.append((math(line.lhs), relation(line.relation), _breakable(line.rhs)))
    return break_rows(rows, width=ROOMS[room])


def _breakable(item: MathItem) -> sp.Basic | str:
    """A formula side as break_rows takes it: a sympy expression, or its LaTeX."""
    return item if isinstance(item, sp.Basic) else math(item)


def shape(dims: Sequence[int | str]) -> str:
    """() → "scalar"; (k, n) → "$k \\times n$" (string dims are symbol names)."""
    if not dims:
        return "scalar"
    printed = [str(d) if isinstance(d, int) else latex_name(str(d)) for d in dims]
    return "$" + r" \times ".join(printed) + "$"


def sci(value: float) -> str:
    return f"{value:.1e}"


def phrase(method: str) -> str:
    """ "central finite differences, float64" → "central finite differences (float64)"."""
    head, _, tail = method.partition(", ")
    return f"{head} ({tail})" if tail else head


def _filters(escape: Callable[[str], str]) -> dict[str, Callable[..., object]]:
    return {
        "escape": escape,
        "math": math,
        "inline": _inline(escape),
        "relation": relation,
        "aligned": aligned,
        "shape": shape,
        "sci": sci,
        "phrase": lambda method: escape(phrase(method)),
    }


def _template_source(name: str) -> str:
    """A template's text from the installed package ``derive.templates`` (or the source tree)."""
    try:
        return (resources.files("derive.templates") / name).read_text(encoding="utf-8")
    except ModuleNotFoundError:  # running from a checkout that is not installed
        return (Path(__file__).resolve().parents[2] / "templates" / name).read_text("utf-8")


def _loader() -> jinja2.FunctionLoader:
    def load(name: str) -> tuple[str, str, Callable[[], bool]]:
        try:
            return _template_source(name), f"templates/{name}", lambda: True
        except FileNotFoundError as missing:
            raise jinja2.TemplateNotFound(name) from missing

    return jinja2.FunctionLoader(load)


@functools.cache
def latex_environment() -> jinja2.Environment:
    """Jinja for .tex templates: << var >>, <% block %>, <# comment #>."""
    env = jinja2.Environment(
        loader=_loader(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        block_start_string="<%",
        block_end_string="%>",
        variable_start_string="<<",
        variable_end_string=">>",
        comment_start_string="<#",
        comment_end_string="#>",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_filters(escape_latex))
    env.globals["Line"] = Line  # a template builds the Line of a boxed answer
    return env


@functools.cache
def markdown_environment() -> jinja2.Environment:
    """Jinja for .md templates, with the usual delimiters."""
    env = jinja2.Environment(
        loader=_loader(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_filters(escape_markdown))
    return env
