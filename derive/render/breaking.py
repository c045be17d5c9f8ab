"""Long formulas broken across lines, at the places a textbook breaks them.

A formula wider than the room it has is split at the + and − of its outermost sum, each term
kept whole where it fits; a term still too wide is split between the factors of its matrix
product or ⊙ product, or at the + and − of a sum inside them, one level deeper each time. The
pieces are what ``derive.printing.tex`` prints, in its order and with its signs: the printer
itself marks where each sum and product and each of their members starts and ends
(``_MarkingPrinter``), so joining the pieces gives back exactly the printed formula. Templates
lay the pieces out as the lines of an aligned environment, continuation lines indented.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import sympy as sp
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.printing import DeriveLatexPrinter, tex
from derive.render.measure import BINARY_SPACE, SPACES, formula_width, tokens

# Expressions whose members a line break may separate: the terms of a sum, the factors of a
# matrix or Hadamard product. (A scalar product's factors are not broken apart: sympy's printer
# reads its factors' text back to place \cdot between numbers.)
BREAKABLE: tuple[type, ...] = (sp.Add, sp.MatAdd, sp.MatMul, HadamardProduct)

# How far each level of continuation line is indented; templates set it as \quad, \qquad.
INDENTS: dict[int, str] = {1: r"\quad", 2: r"\qquad"}
DEEPEST = max(INDENTS)

# Widths are estimates (within a few percent of TeX's on the examples): fill at most this much
# of the room. An aligned block adds a thin space on each side.
FILL = 0.96
ALIGNED_PADDING = 2 / 6

# A last line narrower than this (in em), a lone xᵀ, is avoided when the lines can be refilled.
WIDOW_EM = 4.0

# Where a sum or product and each member of it start and end in the marked printer's output.
# A scalar member of a matrix product is marked apart: a coefficient stays with what it scales.
_GROUP, _END_GROUP, _MEMBER, _SCALAR, _END_MEMBER = "\x01", "\x02", "\x03", "\x05", "\x04"
_MARKERS = str.maketrans("", "", _GROUP + _END_GROUP + _MEMBER + _SCALAR + _END_MEMBER)

# What a continuation line may start with; a \left. goes after it, so that it stays binary.
_OPERATORS = ("+", "-", r"\odot", r"\oslash")

# What closes a member before the operator that follows it: its parentheses.
_CLOSING = (r"\right)", ")")


@dataclass(frozen=True)
class Piece:
    """One line of a broken formula: its LaTeX and how deep a continuation it is (0: first)."""

    text: str
    depth: int = 0

    @property
    def indent(self) -> str:
        """The space a continuation line starts with (none for the first line)."""
        return INDENTS.get(min(self.depth, DEEPEST), "")


@dataclass(frozen=True)
class _Group:
    """A sum or product as printed: the text before, between and after its members."""

    texts: tuple[str, ...]  # one more than members: prefix, separators, suffix
    members: tuple[_Span, ...]
    scalars: tuple[bool, ...]  # whether each member is a scalar
    text: str = field(default="", compare=False)  # the whole group printed, found once

    def __post_init__(self) -> None:
        pieces = [self.texts[0]]
        for member, separator in zip(self.members, self.texts[1:], strict=True):
            pieces += [_flat(member), separator]
        object.__setattr__(self, "text", "".join(pieces))


_Span: TypeAlias = "tuple[str | _Group, ...]"


class _MarkingPrinter(DeriveLatexPrinter):
    """derive's printer, marking where each breakable expression and its members are printed."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        super().__init__(settings)
        self._breakable_parent: list[bool] = [False]

    def _print(self, expr: Any, **kwargs: Any) -> str:
        breakable = isinstance(expr, BREAKABLE)
        self._breakable_parent.append(breakable)
        try:
            text = super()._print(expr, **kwargs)
        finally:
            self._breakable_parent.pop()
        # a leading minus stays in front, where the printer looks for it to move it
        body = text[1:].lstrip() if text.startswith("-") else text
        sign = text[: len(text) - len(body)]
        if breakable:
            body = _GROUP + body + _END_GROUP
        if self._breakable_parent[-1]:
            scalar = isinstance(expr, sp.Basic) and not getattr(expr, "is_Matrix", False)
            body = (_SCALAR if scalar else _MEMBER) + body + _END_MEMBER
        return sign + body


def break_formula(expr: sp.Basic, *, first: float, width: float) -> list[Piece]:
    """``expr`` printed as lines: the first at most ``first`` em wide, the continuation lines
    indented (``Piece.indent``) in a column ``width`` em wide.

    A formula that fits, or that has no place to break, is one piece (``tex(expr)``).
    """
    printed = tex(expr)
    if formula_width(printed) <= first:
        return [Piece(printed)]
    marked = _MarkingPrinter().doprint(expr)
    if marked.translate(_MARKERS) != printed:  # the marks changed what the printer wrote
        return [Piece(printed)]
    span = _parse(marked)
    pieces = _lay_out(span, first, width, 0)
    for narrower in (0.9, 0.8):  # a last line of one short factor: fill the lines less
        if formula_width(pieces[-1].text) >= WIDOW_EM:
            break
        tighter = _lay_out(span, first * narrower, width * narrower, 0)
        if len(tighter) == len(pieces) and formula_width(tighter[-1].text) >= WIDOW_EM:
            pieces = tighter
    return [Piece(_balanced(piece.text), piece.depth) for piece in pieces if piece.text]


@dataclass(frozen=True)
class Row:
    """One row of an aligned block: ``lhs relation`` then the right side's lines."""

    lhs: str
    relation: str
    pieces: tuple[Piece, ...]


def break_rows(rows: Sequence[tuple[str, str, sp.Basic | str]], *, width: float) -> list[Row]:
    """Rows (printed left side, printed relation, right side) aligned at their relation in a
    block ``width`` em wide, each right side broken to fit beside the widest left side.

    A right side given as text (trusted LaTeX) is kept whole.
    """
    left = max((formula_width(lhs) for lhs, _, _ in rows), default=0.0)
    column = width * FILL - ALIGNED_PADDING - left
    laid_out = []
    for lhs, relation, rhs in rows:
        first = column - formula_width(relation)
        if isinstance(rhs, str):
            pieces = [Piece(rhs)]
        else:
            pieces = break_formula(rhs, first=first, width=column) or [Piece("")]
        laid_out.append(Row(lhs, relation, tuple(pieces)))
    return laid_out


def joined(pieces: Iterable[Piece]) -> str:
    """The formula the pieces were cut from (up to spaces at the cuts)."""
    return " ".join(piece.text for piece in pieces)


def indent_width(depth: int) -> float:
    """How far a continuation line of ``depth`` is indented, in em, with the space its leading
    operator gets (in an aligned column, + after the indent is binary, not a sign)."""
    return SPACES[INDENTS[min(depth, DEEPEST)]] + BINARY_SPACE if depth else 0.0


# --- the marked text as a tree -------------------------------------------------------------------


def _parse(marked: str) -> _Span:
    """The marked printer's output as text and groups, each group's members spans again."""
    span, end = _parse_span(marked, 0, stop="")
    assert end == len(marked), "unbalanced marks"
    return span


def _parse_span(marked: str, index: int, *, stop: str) -> tuple[_Span, int]:
    items: list[str | _Group] = []
    text: list[str] = []
    while index < len(marked) and marked[index] != stop:
        character = marked[index]
        if character == _GROUP:
            items.append("".join(text))
            text = []
            group, index = _parse_group(marked, index + 1)
            if len(group.members) == 1:  # a product of one factor, a sum of one term: its text
                items.extend((group.texts[0], *group.members[0], group.texts[1]))
            else:
                items.append(group)
            continue
        text.append(character)
        index += 1
    items.append("".join(text))
    found = tuple(item for item in items if item != "")
    return found, index + 1 if stop else index


def _parse_group(marked: str, index: int) -> tuple[_Group, int]:
    texts: list[str] = []
    members: list[_Span] = []
    scalars: list[bool] = []
    text: list[str] = []
    while marked[index] != _END_GROUP:
        if marked[index] in (_MEMBER, _SCALAR):
            texts.append("".join(text))
            text = []
            scalars.append(marked[index] == _SCALAR)
            member, index = _parse_span(marked, index + 1, stop=_END_MEMBER)
            members.append(member)
            continue
        text.append(marked[index])
        index += 1
    texts.append("".join(text))
    return _Group(tuple(texts), tuple(members), tuple(scalars)), index + 1


def _flat(span: _Span) -> str:
    return "".join(item if isinstance(item, str) else item.text for item in span)


# --- where a span may break ----------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _brace_balance(text: str) -> int:
    """How many brace groups ``text`` leaves open (\\frac{, _{, \\sqrt{), less those it closes."""
    depth = 0
    for token in tokens(text):
        depth += {"{": 1, "}": -1}.get(token, 0)
    return depth


def _balanced(text: str) -> str:
    """A line with its \\left … \\right pairs completed by the null delimiters \\left. and
    \\right., as each line of an aligned block must be: ``\\left( a + b`` → ``… \\right.``."""
    unopened = 0
    depth = 0
    for token in tokens(text):
        if token == r"\left":
            depth += 1
        elif token == r"\right":
            if depth:
                depth -= 1
            else:
                unopened += 1
    closed = text + r" \right." * depth
    if not unopened:
        return closed
    opened = r"\left. " * unopened
    operator = next((op for op in _OPERATORS if closed.startswith(op + " ")), "")
    return f"{operator} {opened}{closed[len(operator) :].lstrip()}".lstrip()


def _breakable_group(span: _Span) -> int | None:
    """The index in ``span`` of its widest group that a line may break inside, if any."""
    best: tuple[float, int] | None = None
    depth = 0  # brace groups open before the item: no line ends inside one
    for index, item in enumerate(span):
        text = item if isinstance(item, str) else item.text
        if not isinstance(item, str) and depth == 0:
            width = formula_width(text)
            if best is None or width > best[0]:
                best = (width, index)
        depth += _brace_balance(text)
    return None if best is None else best[1]


def _units(span: _Span, at: int) -> tuple[list[_Span], bool]:
    """The group at ``at`` cut before each member's operator, the span's text around it kept
    with the first and last member, and each member's closing parentheses with the member;
    and whether the group is a sum."""
    group = span[at]
    assert isinstance(group, _Group)
    leads = list(group.texts[:-1])
    trails = ["" for _ in group.members]
    for index in range(1, len(group.members)):
        closing, leads[index] = _split_closing(leads[index])
        trails[index - 1] = closing
    trails[-1] += group.texts[-1]
    units: list[_Span] = [
        (lead, *member, trail)
        for lead, member, trail in zip(leads, group.members, trails, strict=True)
    ]
    units[0] = (*span[:at], *units[0])
    units[-1] = (*units[-1], *span[at + 1 :])
    if any(lead.lstrip().startswith(("+", "-")) for lead in leads[1:]):
        return units, True
    # a product: a scalar coefficient stays on the line of the factor it scales
    glued = units[:1]
    for unit, after_scalar in zip(units[1:], group.scalars[:-1], strict=True):
        if after_scalar:
            glued[-1] = (*glued[-1], *unit)
        else:
            glued.append(unit)
    return glued, False


def _split_closing(separator: str) -> tuple[str, str]:
    """A separator's leading closing parentheses (they end the member before) and the rest."""
    closing = ""
    rest = separator
    while True:
        stripped = rest.lstrip()
        for mark in _CLOSING:
            if stripped.startswith(mark):
                closing += rest[: len(rest) - len(stripped)] + mark
                rest = stripped[len(mark) :]
                break
        else:
            return closing, rest


# --- line breaking -------------------------------------------------------------------------------


def _lay_out(span: _Span, first: float, width: float, depth: int) -> list[Piece]:
    """Lines for ``span``, the first ``first`` em wide at ``depth``, the next ones one level
    deeper in a column ``width`` em wide: greedily as many whole members per line as fit; a
    member that fits on no line is broken inside, its own continuations deeper again."""
    text = _flat(span)
    at = _breakable_group(span)
    if formula_width(text) <= first or at is None:
        return [Piece(text.strip(), depth)]
    below = min(depth + 1, DEEPEST)
    lines: list[Piece] = []
    current, current_depth, room = "", depth, first
    units, summed = _units(span, at)
    for unit in units:
        unit_text = _flat(unit)
        if formula_width(current + unit_text) <= room:
            current += unit_text
            continue
        if current.strip():
            lines.append(Piece(current.strip(), current_depth))
            current, current_depth, room = "", below, width - indent_width(below)
        if formula_width(unit_text) <= room or not _breaks(unit):
            current = unit_text
            continue
        broken = _lay_out(unit, room, width, current_depth)
        if summed:  # the next term starts a line of its own, not the broken term's last line
            lines.extend(broken)
            current, current_depth, room = "", below, width - indent_width(below)
            continue
        lines.extend(broken[:-1])
        current, current_depth = broken[-1].text, broken[-1].depth
        room = width - indent_width(current_depth)
    lines.append(Piece(current.strip(), current_depth))
    return lines


def _breaks(span: _Span) -> bool:
    return _breakable_group(span) is not None
