"""Dimensions used as numbers (1/n, sqrt(d)) and mean(...): issue 10's batch averages."""

from __future__ import annotations

import importlib

import sympy as sp

from derive.load import parse_network_text
from derive.printing import tex

solve_module = importlib.import_module("derive.solve")

MSE = """given:
  x: vector n
  t: vector n
  W: matrix n n
forward:
  - y = W x / n
loss: L = mean((y - t) .* (y - t)) + 1/n sum(x)
wrt: [W, x]
"""


def test_a_dimension_is_a_number_in_an_expression() -> None:
    network = parse_network_text(MSE)
    n = sp.Symbol("n", integer=True, positive=True)
    assert network.equations[0].rhs.has(n)
    solution = solve_module.solve(network)
    part = solution.parts[0]
    assert part.verification is not None and part.verification.ok
    assert tex(part.answers["W"].value) == r"\frac{2}{n^{2}} (y - t) x^{\top}"


def test_mean_of_a_matrix_divides_by_every_entry() -> None:
    network = parse_network_text(
        "given:\n  X: matrix m k\n  W: matrix k k\nforward:\n  - Y = X W\n"
        "loss: L = mean(Y .* Y) / k^0.5\nwrt: [W]\n"
    )
    part = solve_module.solve(network).parts[0]
    assert part.verification is not None and part.verification.ok
    m, k = sp.symbols("m k", integer=True, positive=True)
    assert part.answers["W"].value.has(m) and part.answers["W"].value.has(k)
