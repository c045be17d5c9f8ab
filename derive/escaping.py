"""Untrusted text made inert: the one place where user text is escaped for each output.

Every string a user wrote (titles, statements, assumptions, names, ids, file names, answers)
reaches a document or a terminal through one of these functions:

    escape_latex     LaTeX running text: TeX's specials, Unicode through a table, every other
                     character pdflatex cannot set as a visible ``?``; no sequence of the
                     result can start a control sequence, a ``^^`` code or a comment
    escape_markdown  Markdown running text: the punctuation Markdown acts on
    inert            a terminal line or a log line: control characters, bidi overrides and
                     lone surrogates as Python escapes (``\\n``, ``\\x1b``, ``\\u202e``)

``derive.model.Tex`` is the other side: LaTeX written by derive's own code, trusted as is.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that mean something to TeX in running text, and what prints them.
LATEX_SPECIALS: dict[str, str] = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "^": r"\textasciicircum{}",
    "_": r"\_",
    "%": r"\%",
    "~": r"\textasciitilde{}",
    "<": r"\textless{}",  # in OT1 text, < and > print as ¡ and ¿
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "[": "{[}",  # braced, so that text after \item or \\ is never read as an optional argument
    "]": "{]}",
    "/": r"\slash{}",  # a line may break after it: a long path must not run off the page
}


def _greek(letter: str) -> str:
    """α → alpha, Γ → Gamma, from the Unicode name (which spells lambda "LAMDA")."""
    *_, case, _, name = unicodedata.name(letter).split()  # GREEK SMALL LETTER ALPHA
    name = name.lower().replace("lamda", "lambda")
    return name if case == "SMALL" else name.capitalize()


# Unicode that course text uses and pdflatex's utf8 input cannot set without help.
UNICODE_TEXT: dict[str, str] = {
    **{g: rf"\ensuremath{{\{_greek(g)}}}" for g in "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΦΨΩ"},
    "×": r"\ensuremath{\times}",
    "·": r"\ensuremath{\cdot}",
    "−": r"\ensuremath{-}",
    "≤": r"\ensuremath{\le}",
    "≥": r"\ensuremath{\ge}",
    "≠": r"\ensuremath{\ne}",
    "≈": r"\ensuremath{\approx}",
    "→": r"\ensuremath{\to}",
    "∂": r"\ensuremath{\partial}",
    "∇": r"\ensuremath{\nabla}",
    "∑": r"\ensuremath{\sum}",
    "∈": r"\ensuremath{\in}",
    "∞": r"\ensuremath{\infty}",
    "⊙": r"\ensuremath{\odot}",
    "⊘": r"\ensuremath{\oslash}",
    "ᵀ": r"\ensuremath{^{\top}}",
    "²": r"\ensuremath{^{2}}",
    "³": r"\ensuremath{^{3}}",
    "′": r"\ensuremath{'}",
    "″": r"\ensuremath{''}",
    "‖": r"\ensuremath{\|}",
    "√": r"\ensuremath{\surd}",
    "…": r"\ldots{}",
    "±": r"\ensuremath{\pm}",
    "∘": r"\ensuremath{\circ}",
    "⊤": r"\ensuremath{\top}",
    "∀": r"\ensuremath{\forall}",
    "∃": r"\ensuremath{\exists}",
    "≡": r"\ensuremath{\equiv}",
    "∝": r"\ensuremath{\propto}",
    "⋆": r"\ensuremath{\star}",
    "–": "--",
    "—": "---",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    **{
        c: rf"\ensuremath{{_{{{d}}}}}"
        for c, d in zip("₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₘₙₜ", "0123456789ijkmnt", strict=True)
    },
    **{
        c: rf"\ensuremath{{^{{{d}}}}}"
        for c, d in zip("⁰¹⁴⁵⁶⁷⁸⁹⁻ⁿ", "0145678 9-n".replace(" ", ""), strict=True)
    },
}

# x̂ (x and a combining circumflex) and the like: the accent goes on the character before it
_COMBINING = {"\u0302": "hat", "\u0304": "bar", "\u0303": "tilde", "\u0307": "dot"}
# One pass, one match per piece: an accented character, a special, a table entry, or any
# character outside printable ASCII and Latin-1 (controls, C1 controls, the rest of Unicode).
_LATEX_TEXT = re.compile(
    "(.)(["
    + "".join(_COMBINING)
    + "])|"
    + "|".join(re.escape(c) for c in [*LATEX_SPECIALS, *UNICODE_TEXT])
    + r"|[^\x20-\x7e\xa0-\xff]",
    re.DOTALL,
)
# what stands for a character pdflatex cannot set and the table does not know
UNKNOWN_CHARACTER = r"\textbf{?}"
# line and paragraph breaks, tabs and the like: a space in running text (a blank line would
# end the paragraph, and a heading's argument cannot hold one)
_SPACES = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")

# Markdown: backslash-escape punctuation that starts emphasis, links, code, math or HTML, and
# the characters that make a line a heading, list item or quote.
_MARKDOWN_ANYWHERE = re.compile(r"([\\`*_{}\[\]<>#|$~!&])")
_MARKDOWN_LINE_START = re.compile(r"^(\s*)(?:([-+=])|(\d+)([.)]))", re.MULTILINE)


def escape_latex(text: str) -> str:
    """User text made safe for LaTeX running text (titles, statements, names, rules)."""
    # ŷ beyond Latin-1 → y and a combining circumflex, set as \hat{y}
    split = "".join(unicodedata.normalize("NFD", c) if ord(c) > 0xFF else c for c in str(text))
    return _LATEX_TEXT.sub(_replacement, split)


def _replacement(match: re.Match[str]) -> str:
    if match[2] is not None:  # a character and its combining accent
        return rf"\ensuremath{{\{_COMBINING[match[2]]}{{\text{{{_character(match[1])}}}}}}}"
    return _character(match[0])


def _character(character: str) -> str:
    if character in LATEX_SPECIALS:
        return LATEX_SPECIALS[character]
    if character in UNICODE_TEXT:
        return UNICODE_TEXT[character]
    if character in _SPACES:
        return " "
    if " " <= character <= "~" or "\xa0" <= character <= "\xff":
        return character
    return UNKNOWN_CHARACTER


def escape_markdown(text: str) -> str:
    """User text made safe for Markdown running text."""
    plain = "".join(" " if c in _SPACES else c for c in str(text))
    escaped = _MARKDOWN_ANYWHERE.sub(r"\\\1", inert(plain))
    return _MARKDOWN_LINE_START.sub(_escape_line_start, escaped)


def _escape_line_start(match: re.Match[str]) -> str:
    indent, marker, number, period = match.groups()
    if marker:
        return rf"{indent}\{marker}"  # "- x" would be a list item
    return rf"{indent}{number}\{period}"  # "1. x" would be a numbered list item


def inert(text: str) -> str:
    """``text`` safe on a terminal line: what does not print (newlines, ESC, bidi controls,
    lone surrogates) as its Python escape, so it can neither start a line nor move the cursor."""
    return "".join(c if c.isprintable() else _escaped(c) for c in str(text))


def _escaped(character: str) -> str:
    code = ord(character)
    named = {"\n": r"\n", "\r": r"\r", "\t": r"\t"}
    if character in named:
        return named[character]
    if code <= 0xFF:
        return rf"\x{code:02x}"
    if code <= 0xFFFF:
        return rf"\u{code:04x}"
    return rf"\U{code:08x}"
