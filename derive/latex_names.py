"""The names and functions of the LaTeX reader: one table for what a formula may call, and the
rule that turns a printed name into an identifier (W_{1} → W_1, \\hat{y} → y_hat).

A quantity is found by normalising its own ``latex_name`` the same way, so the printer and the
reader cannot drift apart on names.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import sympy as sp

from derive.functions import ACTIVATIONS, Activation, Parameter
from derive.functions_piecewise import is_equal, normal_cdf, normal_pdf

# Scalar functions a formula may call, by the name the reader normalises them to; applied to
# a vector or matrix they act entry by entry (abs, sign, sqrt, sin, cos are in the table).
READ_FUNCTIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    **{name: activation.function for name, activation in ACTIVATIONS.items()},
    "step": sp.Heaviside,
    "Phi": normal_cdf,  # GELU's normal distribution function Φ and density φ
    "phi": normal_pdf,
    "is_equal": is_equal,  # 𝕀[a = b], read from the indicator's brackets
}

# Calls with arguments after x, as the network language builds them, and 𝕀[a = b] (the
# derivative of a max over entries), which only a formula writes.
READ_CALLS: dict[str, Activation] = {
    **ACTIVATIONS,
    "is_equal": Activation(
        "is_equal",
        is_equal,
        lambda x: sp.ZeroMatrix(*x.shape),
        r"\mathbb{I}[a = b]",
        (Parameter("b"),),
    ),
}

# Other spellings of the same functions: σ is the sigmoid unless the problem declares a σ.
ALIASES: dict[str, str] = {
    "sigma": "sigmoid",
    "H": "step",
    "Heaviside": "step",
    "sgn": "sign",
    "mathbb_I": "step",
    "leakyrelu": "leaky_relu",
    "LeakyReLU": "leaky_relu",
    "GELU": "gelu",
    "varphi": "phi",
    "operatorname_Var": "Var",
}


_NAME_BASE = re.compile(
    r"\\(?P<accent>hat|bar|tilde|dot|widehat|widetilde)\s*\{\s*(?P<accented>(?:[^{}]|\{[^{}]*\})*)\}"
    r"|\\(?:mathit|mathrm|operatorname|text)\s*\{\s*(?P<grouped>[A-Za-z][A-Za-z0-9]*)\s*\}"
    r"|\\(?P<command>[A-Za-z]+)"
    r"|(?P<letters>[A-Za-z]+\d*)"
)


EULER = "mathrm_e"  # the name \mathrm{e} reads as

# Functions of a whole vector or matrix the reader knows besides the network language's.
KNOWN_FUNCTIONS = frozenset({"diag", "tr", "E", "Var"})

_SUBSCRIPTS = re.compile(r"_\s*(\{(?:[^{}]|\{[^{}]*\})*\}|[A-Za-z0-9])")
_WRAPPED = re.compile(
    r"\s*(?:\\left\s*\(|\(|\{)(?P<name>.*)(?:\\right\s*\)|\)|\})(?P<entry>\s*_.*)"
)


def normalize_name(text: str) -> str:
    """A LaTeX name as an identifier: W_{1} → W_1, \\delta_{W_{1}} → delta_W_1, \\hat{y} → y_hat,
    \\mathit{reg} → reg, \\sigma' → sigma'. Equal names print equal, so a quantity is found by
    normalising its own ``latex_name``."""
    wrapped = _WRAPPED.fullmatch(text)  # (W_{1})_{ij} and {x}_{k}: the name inside, then i j
    text = (wrapped["name"] + wrapped["entry"] if wrapped else text).strip()
    primes = len(text) - len(text.rstrip("'"))
    text = text.rstrip("'").strip()
    match = _NAME_BASE.match(text)
    if match is None:
        return text + "'" * primes
    if match["accent"]:
        accent = match["accent"].removeprefix("wide")
        base = f"{normalize_name(match['accented'])}_{accent}"
    elif match["grouped"] == "e" and text.startswith(r"\mathrm"):
        base = EULER  # upright e is Euler's number, never a quantity
    else:
        base = match["grouped"] or match["command"] or match["letters"]
    rest = text[match.end() :].strip()
    for subscript in _SUBSCRIPTS.findall(rest):  # W_{1}, and (W_{1})_{ij} once unwrapped
        subscript = subscript.strip()
        if subscript.startswith("{") and subscript.endswith("}"):
            subscript = subscript[1:-1]
        if re.fullmatch(r"[A-Za-z0-9 ]+", subscript):  # δ_{i j}: entry labels ij
            subscript = subscript.replace(" ", "")
        parts = [normalize_name(part) for part in _top_level_commas(subscript)]
        base = "_".join([base, *parts])
    return base + "'" * primes


def _top_level_commas(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]
