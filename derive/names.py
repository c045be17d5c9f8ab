"""How a name from a network file is set in LaTeX: one rule for every symbol, function and index.

A name is a base, then optional subscripts: ``W1`` → W_{1}, ``y_pred`` → y_{pred},
``h_2_out`` → h_{2,out}. Only the base can be Greek, and only when it is a whole Greek letter
(``gamma1`` → \\gamma_{1}, ``W_xi`` → W_{xi}, not W_ξ); a multi-letter base that is not Greek
is one name in ``\\mathit`` (``reg`` → \\mathit{reg}), never a product of letters. Subscripts
are labels and print as written. The adjoint prefix ``delta_`` gives δ of the rest.
"""

from __future__ import annotations

import re

from sympy.printing.latex import LatexPrinter

from derive.escaping import escape_latex

ADJOINT_PREFIX = "delta_"  # the engine names the adjoint of v "delta_v"

_GREEK_LETTERS = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
    "upsilon phi chi psi omega varepsilon vartheta varphi varrho varsigma "
    "Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
)
# Whole names that print as Greek letters; capitals only where the glyph differs from Latin.
GREEK: dict[str, str] = {
    **{letter: rf"\{letter}" for letter in _GREEK_LETTERS.split()},
    "lamda": r"\lambda",  # sympy's spelling, since lambda is a Python keyword
    "Lamda": r"\Lambda",
}

# Subscripts that are accents: y_hat → ŷ.
ACCENTS: dict[str, str] = {"hat": r"\hat", "bar": r"\bar", "tilde": r"\tilde", "dot": r"\dot"}

_LETTERS_THEN_DIGITS = re.compile(r"([A-Za-z]+?)(\d+)")
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(_[A-Za-z0-9]+)*")
# what sympy's super/subscript splitting may set as is (sigma^2, w', _softmax0): letters,
# digits and primes, each ^ or _ followed by one of them (so never TeX's ^^ character code)
_SUPER_SUB = re.compile(r"[A-Za-z0-9'_]*(\^[A-Za-z0-9'][A-Za-z0-9'_]*)*")


def is_adjoint(name: str) -> bool:
    """Whether ``name`` is an adjoint's name, ``delta_`` and the name of what it is δ of."""
    return name.startswith(ADJOINT_PREFIX) and len(name) > len(ADJOINT_PREFIX)


def latex_base(base: str) -> str:
    """One base name: a Greek letter, a single letter, or a multi-letter name as one word."""
    if base in GREEK:
        return GREEK[base]
    if len(base) == 1:
        return base
    return rf"\mathit{{{base}}}"  # reg, eps, var, logvar: one name, not r·e·g


def latex_name(name: str) -> str:
    """A name as a textbook writes it: W1 → W_{1}, y_pred → y_{pred}, delta_W1 → δ_{W_1}."""
    if is_adjoint(name):
        return rf"\delta_{{{latex_name(name[len(ADJOINT_PREFIX) :])}}}"
    if not _IDENTIFIER.fullmatch(name):
        if not _SUPER_SUB.fullmatch(name):  # any other text is shown, never run as TeX
            return rf"\text{{{escape_latex(name)}}}"
        return LatexPrinter()._deal_with_super_sub(name)  # e.g. sigma^2 from a problem kind
    base, *subscripts = name.split("_")
    split = _LETTERS_THEN_DIGITS.fullmatch(base)
    if split:
        base = split.group(1)
        subscripts.insert(0, split.group(2))
    base_tex = latex_base(base)
    if subscripts and subscripts[0] in ACCENTS:
        base_tex = rf"{ACCENTS[subscripts.pop(0)]}{{{base_tex}}}"
    if not subscripts:
        return base_tex
    return rf"{base_tex}_{{{','.join(subscripts)}}}"
