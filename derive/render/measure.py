"""How wide a printed formula is on the page, in em of the document's 11pt font.

An estimate from Computer Modern's metrics (measured with pdflatex, see tests/test_pdf_layout.py),
close enough to decide where a long formula breaks: letters, digits and symbols at their own
widths, commands by what they draw, sub- and superscripts at script size, fractions as the wider
of their two lines, and the spaces TeX puts around binary operators and relations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

# The page of templates/document.tex.j2 (11pt article, 2.5cm margins), in em of 10.95pt.
LINE_WIDTH_EM = 472.03 / 10.95
# A boxed answer: \fbox adds \fboxsep (3pt) and \fboxrule (0.4pt) on each side.
BOX_WIDTH_EM = LINE_WIDTH_EM - 2 * (3.0 + 0.4) / 10.95

SCRIPT = 8 / 10.95  # \scriptsize at 11pt
SCRIPTSCRIPT = 6 / 10.95
SCRIPT_SPACE = 0.05
BINARY_SPACE = 2 * 4 / 18  # a medium space (4mu) each side of + − ⊙ ·
RELATION_SPACE = 2 * 5 / 18  # a thick space (5mu) each side of = ≈ <

# Math italic (cmmi) and upright (cmr) letters: the usual width and the exceptions.
_ITALIC = {"lower": 0.51, "upper": 0.80}
_ITALIC_EXCEPTIONS = {
    **dict.fromkeys("ilt", 0.34),
    "j": 0.47,
    "m": 0.88,
    "w": 0.74,
    **dict.fromkeys("MW", 1.08),
    "I": 0.52,
}
_UPRIGHT = {"lower": 0.50, "upper": 0.73}
_UPRIGHT_EXCEPTIONS = {**dict.fromkeys("ijl", 0.28), "m": 0.83, "w": 0.74, "W": 1.04, "I": 0.36}

# What a command draws, in em at full size (Greek letters not listed are 0.6).
SYMBOLS: dict[str, float] = {
    r"\partial": 0.59,
    r"\top": 0.78,
    r"\infty": 1.0,
    r"\nabla": 0.83,
    r"\circ": 0.5,
    r"\ldots": 1.17,
    r"\cdots": 1.17,
    r"\dots": 1.17,
    r"\|": 0.5,
    r"\{": 0.5,
    r"\}": 0.5,
    r"\prime": 0.28,
    r"\emptyset": 0.5,
    r"\epsilon": 0.41,
    r"\Sigma": 0.72,
    r"\Delta": 0.83,
    r"\Gamma": 0.63,
    r"\Lambda": 0.69,
    r"\Omega": 0.72,
    r"\Phi": 0.72,
    r"\Pi": 0.75,
    r"\Psi": 0.78,
    r"\Theta": 0.78,
}
BINARY: dict[str, float] = {
    "+": 0.78,
    "-": 0.78,
    r"\odot": 0.78,
    r"\oslash": 0.78,
    r"\otimes": 0.78,
    r"\cdot": 0.28,
    r"\times": 0.78,
    r"\pm": 0.78,
}
RELATIONS = frozenset(
    {"=", "<", ">", r"\le", r"\ge", r"\leq", r"\geq", r"\approx", r"\ne", r"\in", r"\to"}
)
SPACES: dict[str, float] = {
    r"\,": 1 / 6,
    r"\:": 2 / 9,
    r"\;": 5 / 18,
    r"\ ": 1 / 3,
    "~": 1 / 3,
    r"\!": -1 / 6,
    r"\quad": 1.0,
    r"\qquad": 2.0,
}
BIG_OPERATORS: dict[str, tuple[float, float]] = {  # (display, text)
    r"\sum": (1.44, 1.06),
    r"\prod": (1.28, 0.94),
    r"\int": (0.97, 0.56),
}
# Commands whose argument is set as upright (or bold, blackboard) text.
TEXT_COMMANDS = frozenset(
    {r"\operatorname", r"\mathrm", r"\text", r"\textrm", r"\mathbf", r"\mathbb", r"\textbf"}
)
ITALIC_COMMANDS = frozenset({r"\mathit", r"\textit", r"\boldsymbol"})
NAMED_OPERATORS = frozenset(
    {r"\tanh", r"\log", r"\exp", r"\sin", r"\cos", r"\max", r"\min", r"\det", r"\ln", r"\tr"}
)
ACCENTS = frozenset({r"\hat", r"\bar", r"\tilde", r"\dot", r"\vec", r"\widehat", r"\overline"})
IGNORED = frozenset({r"\displaystyle", r"\left", r"\right", r"\limits", r"\nolimits"})
DELIMITERS: dict[str, float] = {"(": 0.39, ")": 0.39, "[": 0.28, "]": 0.28, "|": 0.28, ".": 0.0}
_OPENING = frozenset({"(", "[", "{", r"\left"})


def tokens(latex: str) -> list[str]:
    """TeX's tokens: a control word (``\\alpha``), a control symbol (``\\,``), or a character."""
    found: list[str] = []
    index = 0
    while index < len(latex):
        if latex[index] == "\\" and index + 1 < len(latex):
            end = index + 1
            while end < len(latex) and latex[end].isalpha():
                end += 1
            end = max(end, index + 2)
            found.append(latex[index:end])
            index = end
        else:
            found.append(latex[index])
            index += 1
    return found


def formula_width(latex: str, *, display: bool = True) -> float:
    """The estimated width of math-mode ``latex`` in em (display style, or inline)."""
    return _width(latex, display)


@functools.lru_cache(maxsize=8192)
def _width(latex: str, display: bool) -> float:
    # remembered: line breaking measures a nested group again at each level it looks into
    return _Measure(tokens(latex)).span(1.0, display, italic=True)


@dataclass
class _Measure:
    """A reader of one formula's tokens that adds up their widths."""

    tokens: list[str]
    position: int = 0

    def span(self, scale: float, display: bool, *, italic: bool, upright: bool = False) -> float:
        """The width of the tokens up to the end of the current group."""
        total = 0.0
        previous = ""  # the last token that drew something (for binary operator spacing)
        while self.position < len(self.tokens):
            token = self.tokens[self.position]
            if token == "}":
                self.position += 1
                break
            if token in "^_":
                self.position += 1
                total += self._scripts(token, scale, display)
                continue
            if token in BINARY and not upright:
                self.position += 1
                unary = previous in ("", "=", *_OPENING, *BINARY) or previous in RELATIONS
                spaced = scale == 1.0 and not unary
                total += BINARY[token] * scale + (BINARY_SPACE if spaced else 0.0)
                previous = token
                continue
            if token in RELATIONS and not upright:
                self.position += 1
                total += 0.78 * scale + (RELATION_SPACE if scale == 1.0 else 0.0)
                previous = token
                continue
            total += self._atom(scale, display, italic=italic, upright=upright)
            if token != " ":
                previous = token
        return total

    def _scripts(self, first: str, scale: float, display: bool) -> float:
        """A subscript and/or superscript: the wider of the two, at script size."""
        smaller = SCRIPT if scale == 1.0 else SCRIPTSCRIPT
        widths = [self._atom(smaller, False, italic=True)]
        if self._peek() in "^_" and self._peek() != first:
            self.position += 1
            widths.append(self._atom(smaller, False, italic=True))
        return max(widths) + SCRIPT_SPACE

    def _peek(self) -> str:
        return self.tokens[self.position] if self.position < len(self.tokens) else "\x00"

    def _atom(self, scale: float, display: bool, *, italic: bool, upright: bool = False) -> float:
        """The width of the next token, or of the group or command it opens."""
        if self.position >= len(self.tokens):
            return 0.0
        token = self.tokens[self.position]
        self.position += 1
        if token == "{":
            return self.span(scale, display, italic=italic, upright=upright)
        if token in (r"\left", r"\right", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr"):
            delimiter = self.tokens[self.position] if self.position < len(self.tokens) else "."
            self.position += 1
            return DELIMITERS.get(delimiter, 0.5) * scale
        if token in (r"\begin", r"\end"):
            self._atom(scale, display, italic=italic)  # the environment's name draws nothing
            return 0.0
        if token in (r"\frac", r"\dfrac", r"\tfrac"):
            inner = scale if display else (SCRIPT if scale == 1.0 else SCRIPTSCRIPT)
            numerator = self._atom(inner, False, italic=italic)
            denominator = self._atom(inner, False, italic=italic)
            return max(numerator, denominator) + 0.22
        if token == r"\sqrt":
            return self._atom(scale, display, italic=italic) + 0.83 * scale  # the radical sign
        if token in TEXT_COMMANDS:
            return self._atom(scale, display, italic=False, upright=True)
        if token in ITALIC_COMMANDS:
            return self._atom(scale, display, italic=True, upright=True)
        if token in ACCENTS or token in (r"\mathrel", r"\mathbin", r"\mathop", r"\ensuremath"):
            return self._atom(scale, display, italic=italic, upright=upright)
        if token in BIG_OPERATORS:
            return self._big_operator(token, scale, display)
        return self._glyph(token, scale, italic=italic and not upright)

    def _big_operator(self, token: str, scale: float, display: bool) -> float:
        """Σ and friends; in display style their limits sit above and below, not beside."""
        shown, inline = BIG_OPERATORS[token]
        width = (shown if display else inline) * scale
        if not display:
            return width
        limits = [0.0]
        while self._peek() in ("^", "_"):
            self.position += 1
            limits.append(self._atom(SCRIPT, False, italic=True))
        return max(width, *limits)

    def _glyph(self, token: str, scale: float, *, italic: bool) -> float:
        if token in IGNORED or token in ("{", "}", "&") or token.isspace():
            return 0.0
        if token in SPACES:
            return SPACES[token] * scale
        if token in SYMBOLS:
            return SYMBOLS[token] * scale
        if token in NAMED_OPERATORS:
            return sum(_letter(c, italic=False) for c in token[1:]) * scale
        if token.startswith("\\"):
            return (0.72 if token[1:2].isupper() else 0.6) * scale  # Greek and the rest
        if token in BINARY:
            return BINARY[token] * scale
        if token in DELIMITERS:
            return DELIMITERS[token] * scale
        if token in ",;":
            return (0.28 + 1 / 6) * scale
        if token in "'.":
            return 0.28 * scale
        if token.isdigit():
            return 0.5 * scale
        if token.isalpha():
            return _letter(token, italic=italic) * scale
        return 0.5 * scale


def _letter(letter: str, *, italic: bool) -> float:
    usual, exceptions = (_ITALIC, _ITALIC_EXCEPTIONS) if italic else (_UPRIGHT, _UPRIGHT_EXCEPTIONS)
    if letter in exceptions:
        return exceptions[letter]
    return usual["upper" if letter.isupper() else "lower"]
