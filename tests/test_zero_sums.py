"""Sums the forward pass makes zero are dropped; sums that only look zero in floating point stay."""

from __future__ import annotations

import importlib
from pathlib import Path

import sympy as sp

from derive.load import load_network
from derive.printing import tex

solve_module = importlib.import_module("derive.solve")
DATA = Path(__file__).parent / "data"


def test_the_sum_of_centred_values_is_dropped() -> None:
    """With μ the mean of x₁, x₂, x₃, the term x₁ + x₂ + x₃ − 3μ is zero and is not printed."""
    solution = solve_module.solve(load_network(DATA / "roundtrip" / "layer_norm_three.yaml"))
    part = solution.parts[0]
    mu = sp.Symbol("mu")
    for answer in part.answers.values():
        printed = tex(answer.value)
        assert r"- 3 \mu" not in printed and "3 mu" not in sp.sstr(answer.value)
        assert answer.value.has(mu)  # the answer is still written with μ, not inlined
    assert part.verification is not None and part.verification.ok


def test_a_saturated_tanh_is_not_dropped() -> None:
    path = DATA.parent / "property" / "regressions" / "saturated_tanh_is_not_a_zero_sum.yaml"
    solution = solve_module.solve(load_network(path))
    answer = solution.parts[0].answers["x"].value
    assert answer.has(sp.tanh)
    assert solution.parts[0].verification is not None and solution.parts[0].verification.ok
