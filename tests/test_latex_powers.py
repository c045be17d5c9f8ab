"""A power after a quantity's power and its parentheses belongs to the parentheses:
w^{2} (1 - p)^{2} is w² (1 − p)², not (w² (1 − p))² (found reading back Adam's update of the
dropout problem's answer)."""

from __future__ import annotations

import pytest
import sympy as sp

from derive.latex_reader import read_latex
from derive.shapes import Scope, quantity

ONE = sp.Integer(1)
SCOPE = Scope({name: quantity(name, (ONE, ONE)) for name in ("w", "p")})
w, p = sp.symbols("w p")


@pytest.mark.parametrize(
    ("latex", "expected"),
    [
        ("w^{2} (1 - p)^{2}", w**2 * (1 - p) ** 2),
        ("(w^{2}(1 - p))^{2}", w**4 * (1 - p) ** 2),
        ("w^{2}(1-p)", w**2 * (1 - p)),
        (r"\tanh^{2}(w)", sp.tanh(w) ** 2),
        (r"\tanh^{2}(w)^{2}", sp.tanh(w) ** 4),
    ],
)
def test_where_a_power_belongs(latex: str, expected: sp.Expr) -> None:
    assert sp.expand(read_latex(latex, SCOPE).expr - expected) == 0
