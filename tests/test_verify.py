"""The numeric check: it passes right answers and, above all, refuses wrong ones."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive.engine import backward
from derive.errors import VerificationError
from derive.evaluate import Evaluator
from derive.examples import example_path
from derive.load import load_network
from derive.verify import concrete_dims, verify


def _answers(name: str) -> tuple[object, dict[str, sp.Basic]]:
    network = load_network(example_path(name))
    result = backward(network)
    return network, {w: result.adjoints[w].resolved for w in network.wrt}


def test_right_answers_pass() -> None:
    network, answers = _answers("two-layer")
    check = verify(network, answers, points=2)
    assert check.ok and check.points == 2 and check.max_rel_error < 1e-6


def test_answer_without_the_factor_t_minus_y_is_refused() -> None:
    # the homework sheet's mistake: dropping ∂e/∂y = −(t − y)
    network, answers = _answers("seed-problem-1")
    t, y = sp.symbols("t y")
    wrong = dict(answers, W2=sp.simplify(answers["W2"] / (y - t)))
    with pytest.raises(VerificationError, match="gradient for W2 disagrees"):
        verify(network, wrong)


def test_missing_transpose_is_refused() -> None:
    network, answers = _answers("vector-output")
    wrong = dict(answers)
    wrong["W2"] = answers["W2"].T.T * 1.0001  # off by a small factor still fails
    with pytest.raises(VerificationError, match="W2"):
        verify(network, wrong)


def test_dimensions_get_distinct_sizes() -> None:
    network = load_network(example_path("vector-output"))
    sizes = list(concrete_dims(network).values())
    assert len(sizes) == len(set(sizes)) == 3


def test_evaluator_shares_work_on_repeated_subexpressions() -> None:
    x = sp.MatrixSymbol("x", 3, 1)
    expr = x
    for _ in range(60):  # 2^60 leaves as a tree, 60 nodes as a graph
        expr = sp.MatAdd(expr, expr, evaluate=False)
    value = Evaluator({x: np.ones((3, 1))}, {})(expr)
    assert np.allclose(value, 2.0**60)


def test_answer_with_the_wrong_shape_is_refused() -> None:
    network, answers = _answers("two-layer")
    wrong = dict(answers, W1=answers["W1"].T)  # n×k instead of k×n
    with pytest.raises(VerificationError, match="gradient for W1 has shape"):
        verify(network, wrong)


def test_a_loss_defined_only_for_positive_givens_is_still_checked() -> None:
    from tests.conftest import network_from

    network = network_from(
        "given: {x: vector n, w: vector n}\nforward: [y = log(x) .* w]\n"
        "loss: e = sum(y .* y)\nwrt: [w]\n"
    )
    answers = {"w": backward(network).adjoints["w"].resolved}
    assert verify(network, answers).ok


def test_a_loss_that_is_never_finite_is_an_error() -> None:
    from tests.conftest import network_from

    network = network_from("given: {w: scalar}\nforward: []\nloss: e = log(-w^2)\nwrt: [w]\n")
    with pytest.raises(VerificationError, match="no random point found"):
        verify(network, {"w": sp.Integer(0)})
