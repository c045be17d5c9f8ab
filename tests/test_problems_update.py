"""Kind "update": the gradient-descent step for a gradient derived by an earlier problem."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

from derive.errors import InputFileError, Location, VerificationError
from derive.evaluate import Evaluator
from derive.model import Part, Solution, Tex
from derive.problems import ProblemSpec, solver
from derive.problems.dropout import solve as solve_dropout
from derive.problems.update import check, read, solve
from derive.render import render_latex

HERE = Location("set.yaml", 30, 3)
k = sp.Symbol("k", integer=True, positive=True)
A, b = sp.MatrixSymbol("A", k, 1), sp.MatrixSymbol("b", k, 1)
C = sp.MatrixSymbol("C", 1, k)
x, d, y_pred, y_true = sp.symbols("x d y_pred y_true")
alpha = sp.Symbol("alpha", positive=True)
i = sp.Symbol("i", integer=True)
sigma_prime = sp.Function("sigma'")


def _spec(fields: dict[str, object], previous: dict[str, Part]) -> ProblemSpec:
    statement = "Write the update rule for b with learning rate alpha."
    return ProblemSpec("mt-1f", "Update", statement, fields, HERE, previous)


def _update(midterm: Part, **fields: object) -> Part:
    return solve(_spec({"gradient_of": "mt-1be", **fields}, {"mt-1be": midterm}))


def test_update_of_b_matches_the_rule_written_by_hand(midterm: Part) -> None:
    part = _update(midterm, parameter="b")
    answer = part.answers["b"]
    assert answer.label == Tex(r"b^{(t+1)}")
    assert answer.shape == ("k", 1)
    # by hand, σ = sin as derive evaluates an arbitrary σ: b − α 2(y_pred − y) Cᵀ ⊙ σ'(Ax + b)
    rng = np.random.default_rng(1)
    values = {A: rng.normal(size=(4, 1)), b: rng.normal(size=(4, 1)), C: rng.normal(size=(1, 4))}
    values.update({x: 0.7, d: -0.2, y_true: 0.4, alpha: 0.05})
    values[y_pred] = (values[C] @ np.sin(values[A] * 0.7 + values[b])).item() - 0.2
    by_hand = values[b] - 0.05 * 2 * (values[y_pred] - 0.4) * values[C].T * np.cos(
        values[A] * 0.7 + values[b]
    )
    got = Evaluator(values, {k: 4})(answer.value)
    np.testing.assert_allclose(got, by_hand, rtol=1e-12)


def test_entry_by_entry_form(midterm: Part) -> None:
    index_form = _update(midterm, parameter="b").answers["b"].index_form
    assert index_form is not None
    assert index_form.lhs == Tex(r"b_{i}^{(t+1)}")
    expected = b[i, 0] - alpha * 2 * (y_pred - y_true) * C[0, i] * sigma_prime(
        x * A[i, 0] + b[i, 0]
    )
    assert sp.simplify(index_form.rhs - expected) == 0


def test_scalar_parameter_and_learning_rate_name(midterm: Part) -> None:
    eta = sp.Symbol("eta", positive=True)
    answer = _update(midterm, parameter="d", learning_rate="eta").answers["d"]
    assert answer.shape == ()
    assert sp.simplify(answer.value - (d - 2 * eta * (y_pred - y_true))) == 0
    assert answer.index_form is None


def test_steps_write_the_rule_then_substitute(midterm: Part) -> None:
    rule, substituted = _update(midterm, parameter="b").steps
    assert rule.lines[0].rhs == Tex(r"b^{(t)} - \alpha\, \frac{\partial L}{\partial b}")
    assert substituted.title == "Substitute the gradient found in problem mt-1be"
    assert substituted.rule == "The answer for b of Midterm 1(b)-(e); the right side is at step t."
    assert str(substituted.lines[0].rhs).startswith(r"b - \alpha\, \left(2 (y_{pred} - y_{true})")


def test_the_update_descends_the_loss(midterm: Part) -> None:
    part = _update(midterm, parameter="A")
    assert part.verification is not None and part.verification.ok
    assert part.verification.points == 3 and part.verification.max_rel_error < 1e-6
    assert part.verification.method == "central differences of the loss along the update, float64"


def test_an_ascent_step_fails_the_check(midterm: Part) -> None:
    spec = _spec({"gradient_of": "mt-1be", "parameter": "b"}, {"mt-1be": midterm})
    source, gradient, rate = read(spec)
    ascent = b + rate * gradient.value
    with pytest.raises(VerificationError, match="the update does not descend the loss"):
        check(spec, source, b, gradient, ascent, rate)


def test_a_gradient_from_a_part_without_forward_equations_is_not_rechecked() -> None:
    dropout = solve_dropout(ProblemSpec("hw-2", "Dropout", "", {}))
    part = solve(_spec({"gradient_of": "hw-2", "parameter": "expectation"}, {"hw-2": dropout}))
    assert part.verification is None
    assert part.answers["expectation"].label == Tex(r"\mathit{expectation}^{(t+1)}")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"parameter": "b"}, "problem 'mt-1f' needs the field 'gradient_of'"),
        (
            {"gradient_of": "mt-9", "parameter": "b"},
            "'gradient_of' names problem 'mt-9', which is not solved before this one "
            "(earlier problems: mt-1be)",
        ),
        (
            {"gradient_of": "mt-1be", "parameter": "W"},
            "problem 'mt-1be' has no answer 'W' (its answers: d, C, b, A)",
        ),
        (
            {"gradient_of": "mt-1be", "parameter": "b", "learning_rate": "2a"},
            "'learning_rate' must be a name such as alpha, not '2a'",
        ),
        ({"gradient_of": "mt-1be", "parameter": 5}, "'parameter' must be text, not 5"),
    ],
    ids=["no-source", "unknown-problem", "unknown-answer", "rate", "parameter-type"],
)
def test_bad_fields(midterm: Part, fields: dict[str, object], message: str) -> None:
    with pytest.raises(InputFileError, match=re.escape(message)) as caught:
        solve(_spec(fields, {"mt-1be": midterm}))
    assert caught.value.location == HERE


def test_no_earlier_problems_at_all() -> None:
    with pytest.raises(InputFileError, match=r"\(earlier problems: none\)"):
        solve(_spec({"gradient_of": "mt-1be", "parameter": "b"}, {}))


def test_renders_to_latex(midterm: Part) -> None:
    part = solver("update")(_spec({"gradient_of": "mt-1be", "parameter": "b"}, {"mt-1be": midterm}))
    latex = render_latex(Solution("Key", [midterm, part]))
    assert r"b^{(t+1)} &= b^{(t)} - \alpha\, \frac{\partial L}{\partial b}" in latex
    assert r"b_{i}^{(t+1)}" in latex
