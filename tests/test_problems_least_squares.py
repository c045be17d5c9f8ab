# ruff: noqa: N806 - matrices are capitals, as in the math
"""Kind least_squares: answers against hand-written forms and numpy, errors, rendering."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from derive.errors import InputFileError, Location, VerificationError
from derive.evaluate import Evaluator
from derive.functions import SREPR_NAMESPACE
from derive.model import Answer, Part, Solution
from derive.problems import ProblemSpec, kind_module, solver
from derive.problems.least_squares import FIELDS, make_symbols, solve
from derive.problems.least_squares_check import check

m, n = sp.symbols("m n", integer=True, positive=True)
A = sp.MatrixSymbol("A", m, n)
b = sp.MatrixSymbol("b", m, 1)
x = sp.MatrixSymbol("x", n, 1)
U = sp.MatrixSymbol("U", m, m)
S = sp.MatrixSymbol("Sigma", m, n)
V = sp.MatrixSymbol("V", n, n)
lam = sp.Symbol("lambda", positive=True)
I_n = sp.Identity(n)


def spec(fields: dict[str, object], *, location: Location | None = None) -> ProblemSpec:
    statement = "Find the minimiser of the regularized objective."
    return ProblemSpec("001-2", "Problem 2", statement, fields, location=location)


@pytest.fixture(scope="module")
def ridge() -> Part:
    return solve(spec({"regularization": "lambda"}))


@pytest.fixture(scope="module")
def plain() -> Part:
    return solve(spec({}))


def test_registered_under_its_kind() -> None:
    assert kind_module("least_squares").solve is solve
    assert set(FIELDS) == {"regularization", "matrix", "unknown", "target", "half", "dims"}


def test_ridge_answers_are_the_official_forms(ridge: Part) -> None:
    # 001, problem 2: ∇f = 2AᵀAx − 2Aᵀb + 2λx, x = (AᵀA + λI)⁻¹Aᵀb
    assert ridge.answers["gradient"].value == 2 * A.T * A * x - 2 * A.T * b + 2 * lam * x
    assert ridge.answers["x"].value == sp.Inverse(A.T * A + lam * I_n) * A.T * b
    assert ridge.answers["x_svd"].value == V * sp.Inverse(S.T * S + lam * I_n) * S.T * U.T * b
    assert all(answer.shape == ("n", 1) for answer in ridge.answers.values())


def test_plain_answers_are_the_normal_equations(plain: Part) -> None:
    assert plain.answers["gradient"].value == 2 * A.T * A * x - 2 * A.T * b
    assert plain.answers["x"].value == sp.Inverse(A.T * A) * A.T * b
    assert plain.answers["x_svd"].value == V * sp.Inverse(S.T * S) * S.T * U.T * b


def _numeric(expr: sp.Basic, values: dict[sp.Basic, object], rows: int, cols: int) -> np.ndarray:
    return np.asarray(Evaluator(values, {m: rows, n: cols})(expr), dtype=float)


@pytest.mark.parametrize(
    ("regularization", "weight"),
    [("lambda", 0.7), (0, 0.0), (0.25, 0.25), ("1/4", 0.25), (3, 3.0)],
    ids=["symbol", "zero", "float", "fraction-text", "integer"],
)
def test_closed_form_matches_numpy(regularization: object, weight: float) -> None:
    part = solve(spec({"regularization": regularization}))
    rng = np.random.default_rng(7)
    An, bn = rng.normal(size=(8, 3)), rng.normal(size=(8, 1))
    values = {A: An, b: bn, x: np.zeros((3, 1)), lam: weight}
    derived = _numeric(part.answers["x"].value, values, 8, 3)
    expected = np.linalg.solve(An.T @ An + weight * np.eye(3), An.T @ bn)
    assert np.allclose(derived, expected, rtol=1e-10, atol=1e-12)
    if weight == 0:
        assert np.allclose(derived, np.linalg.lstsq(An, bn, rcond=None)[0])
    gradient_there = _numeric(part.answers["gradient"].value, {**values, x: derived}, 8, 3)
    assert np.abs(gradient_there).max() < 1e-10


def test_svd_form_matches_numpy_for_a_wide_matrix(ridge: Part) -> None:
    rng = np.random.default_rng(3)
    An, bn = rng.normal(size=(2, 4)), rng.normal(size=(2, 1))
    Un, singular, Vt = np.linalg.svd(An)
    Sn = np.zeros((2, 4))
    Sn[:2, :2] = np.diag(singular)
    values = {U: Un, S: Sn, V: Vt.T, b: bn, lam: 0.3}
    derived = _numeric(ridge.answers["x_svd"].value, values, 2, 4)
    assert np.allclose(derived, np.linalg.solve(An.T @ An + 0.3 * np.eye(4), An.T @ bn))


def test_index_form_is_the_singular_value_sum(ridge: Part, plain: Part) -> None:
    ridge_entry = ridge.answers["x_svd"].index_form
    plain_entry = plain.answers["x_svd"].index_form
    assert ridge_entry is not None and plain_entry is not None
    assert str(ridge_entry.rhs).startswith(r"\sum_{i=1}^{\min(m, n)} \frac{{\sigma}_{i}}")
    assert r"\lambda + {\sigma}_{i}^{2}" in str(ridge_entry.rhs)
    assert str(plain_entry.rhs).startswith(r"\sum_{i=1}^{n} \frac{1}{{\sigma}_{i}}")


def _line(part: Part, title_start: str, label: str) -> sp.Basic:
    step = next(s for s in part.steps if s.title.startswith(title_start))
    return next(line.rhs for line in step.lines if str(line.lhs).startswith(label))


def test_singular_value_reading(ridge: Part, plain: Part) -> None:
    s = sp.Symbol("sigma", positive=True)
    # σ/(σ² + λ) peaks at σ = √λ with value 1/(2√λ) and vanishes as σ → 0; 1/σ blows up
    assert _line(ridge, "Interpret", r"\max") == 1 / (2 * sp.sqrt(lam))
    limit = r"\lim_{\sigma \to 0^{+}}"
    assert _line(ridge, "Interpret", r"\frac{d}{d\sigma}") == (lam - s**2) / (lam + s**2) ** 2
    assert _line(ridge, "Interpret", rf"{limit} \frac{{\sigma}}") == 0
    assert _line(ridge, "Interpret", rf"{limit} \frac{{1}}{{\sigma}}") == sp.oo
    assert _line(plain, "Interpret", limit) == sp.oo


def test_steps_follow_the_official_solution(ridge: Part) -> None:
    titles = [step.title for step in ridge.steps]
    assert titles == [
        "Expand the objective",
        "Take the gradient with respect to x",
        "Set the gradient to zero",
        "Solve for x",
        "Read the solution through the SVD",
        "Interpret: λ keeps small singular values from blowing up",
    ]
    expand = ridge.steps[0].lines[-1].rhs
    assert str(expand) == (
        r"x^{\top} A^{\top} A x - 2 x^{\top} A^{\top} b + b^{\top} b + \lambda x^{\top} x"
    )
    gradient_lines = ridge.steps[1].lines
    assert [line.rhs for line in gradient_lines[:4]] == [
        2 * A.T * A * x,
        -2 * A.T * b,
        sp.ZeroMatrix(n, 1),
        2 * lam * x,
    ]
    assert str(ridge.steps[2].lines[1].lhs) == r"(A^{\top} A + \lambda I) x"


def test_verification_passes_and_refuses_a_wrong_answer(ridge: Part) -> None:
    check_ = ridge.verification
    assert check_ is not None and check_.ok and check_.points == 3
    assert check_.max_rel_error < 1e-6
    symbols = make_symbols(lam)
    wrong = dict(ridge.answers)
    wrong["x"] = replace(ridge.answers["x"], value=sp.Inverse(A.T * A + 2 * lam * I_n) * A.T * b)
    k = sp.Symbol("k", integer=True, positive=True)
    with pytest.raises(VerificationError, match="the closed form and numpy's solver disagree"):
        check(symbols, wrong, sp.Integer(0), k)
    halved = dict(ridge.answers)
    halved["gradient"] = Answer("gradient", "g", A.T * A * x - A.T * b + lam * x, ("n", 1))
    with pytest.raises(VerificationError, match="the gradient and central finite differences"):
        check(symbols, halved, sp.Integer(0), k)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "problem '001-2': 'regularization' must be ≥ 0, not -1"),
        ("-0.5", "problem '001-2': 'regularization' must be ≥ 0, not -1/2"),
        ([1, 2], "problem '001-2': 'regularization' must be a number, not a list"),
        (True, "problem '001-2': 'regularization' must be a number, not True"),
        ("2 lambda", "'regularization' must be a number, not '2 lambda' (in '2 lambda': unknown"),
        ("1/0", "'regularization' must be a number, not '1/0' (in '1/0': division by zero)"),
        ("1 +", "'regularization' must be a number, not '1 +'"),
        (float("inf"), "'regularization' must be a finite number, not inf"),
    ],
    ids=[
        "negative",
        "negative-text",
        "list",
        "bool",
        "expression",
        "zero-division",
        "syntax",
        "inf",
    ],
)
def test_bad_regularization(value: object, message: str) -> None:
    where = Location("set.yaml", 12, 3)
    with pytest.raises(InputFileError) as raised:
        solve(spec({"regularization": value}, location=where))
    assert message in raised.value.message
    assert raised.value.location == where


def test_unknown_field() -> None:
    with pytest.raises(
        InputFileError, match="unknown field 'lambda' \\(this kind has regularization, matrix"
    ):
        solver("least_squares")(spec({"lambda": 0.1}))


def test_renders_to_latex_markdown_and_json(ridge: Part, plain: Part) -> None:
    solution = Solution("Midterm review", parts=[ridge, plain])
    latex = solution.to_latex()
    assert r"\section*{Problem 2}" in latex
    assert r"x^{\star} &= (A^{\top} A + \lambda I)^{-1} A^{\top} b" in latex
    assert r"\frac{\sigma_{i}}" in latex or r"\frac{{\sigma}_{i}}" in latex
    assert "Step 6. Interpret" in latex
    markdown = solution.to_markdown()
    assert "Read the solution through the SVD" in markdown
    document = json.loads(solution.to_json())
    answers = document["parts"][0]["answers"]
    assert set(answers) == {"gradient", "x", "x_svd"}
    namespace = {**{name: getattr(sp, name) for name in dir(sp)}, **SREPR_NAMESPACE}
    for name, answer in ridge.answers.items():
        restored = eval(answers[name]["sympy"], namespace)  # the JSON contract's round trip
        assert restored.doit() == answer.value.doit()
