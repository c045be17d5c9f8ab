"""The entrywise functions beyond the first six (abs, sign, sqrt, sin, cos, elu, silu/swish,
softsign): each solves in a network, passes the numeric check, prints its derivative in the
textbook form and reads back from every printed formula."""

from __future__ import annotations

import importlib

import pytest

from derive.load import parse_network_text
from derive.printing import tex
from derive.roundtrip import check_printed

solve = importlib.import_module("derive.solve").solve  # derive.solve is also a function

# function, the vector argument, the scalar argument, δ_c as printed (δ_y = y)
CASES = [
    ("abs", "s", "c", r"y \operatorname{sign}(c)"),
    ("sign", "s", "c", "0"),
    ("sqrt", "1 + s .* s", "c^2 + 1", r"\frac{c y}{\sqrt{c^{2} + 1}}"),
    ("sin", "s", "c", r"y \cos(c)"),
    ("cos", "s", "c", r"- y \sin(c)"),
    ("elu", "s", "c", r"y ((1 - \mathbb{I}[c > 0]) \mathrm{e}^{c} + \mathbb{I}[c > 0])"),
    ("silu", "s", "c", r"y \sigma(c) (1 + c (1 - \sigma(c)))"),
    ("swish", "s", "c", r"y \sigma(c) (1 + c (1 - \sigma(c)))"),
    ("softsign", "s", "c", r"\frac{y}{\left(\left|c\right| + 1\right)^{2}}"),
]


def network(function: str, vector_argument: str, scalar_argument: str) -> str:
    return f"""title: {function}
given:
  x: vector n
  W1: matrix k n
  b1: vector k
  w: vector k
  c: scalar
forward:
  - s = W1 x + b1
  - h = {function}({vector_argument})
  - y = w^T h + {function}({scalar_argument})
loss: L = y^2 / 2
wrt: [W1, b1, c]
"""


@pytest.mark.parametrize(
    ("function", "vector", "scalar", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_a_network_using_the_function_solves_checks_and_reads_back(
    function: str, vector: str, scalar: str, expected: str
) -> None:
    solution = solve(parse_network_text(network(function, vector, scalar)))
    (part,) = solution.parts
    assert part.verification is not None
    assert part.verification.ok
    assert tex(part.answers["c"].value) == expected
    assert check_printed(part) > 0  # every printed formula read back as what it was printed from


@pytest.mark.parametrize(
    ("function", "derivative"),
    [
        ("abs", r"\operatorname{sign}(s)"),
        ("sin", r"\cos(s)"),
        ("cos", r"\sin(s)"),
        ("elu", r"\mathbb{I}[s > 0]"),
        ("silu", r"\sigma(s)"),
        ("softsign", r"\left|s\right| + 1"),
    ],
)
def test_the_entrywise_derivative_is_the_textbook_one(function: str, derivative: str) -> None:
    (part,) = solve(parse_network_text(network(function, "s", "c"))).parts
    assert derivative in tex(part.answers["b1"].value)
