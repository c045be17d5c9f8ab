"""Kinds batchnorm_numbers and batchnorm_backward: 001 problems 3 and 4, errors, rendering."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from derive.errors import InputFileError, Location, VerificationError
from derive.model import Part, Solution
from derive.problems import (
    ProblemSpec,
    batchnorm_backward,
    batchnorm_numbers,
    kind_module,
    solver,
)
from derive.problems.batchnorm_check import BN
from derive.problems.batchnorm_check import check as check_backward

WHERE = Location("set.yaml", 30, 5)


def spec(fields: dict[str, object], ident: str = "001-3") -> ProblemSpec:
    return ProblemSpec(ident, "Problem", "Normalise the batch.", fields, location=WHERE)


# --- batchnorm_numbers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed3() -> Part:
    return batchnorm_numbers.solve(spec({"batch": [1, 7, 7, 9]}))


def test_numbers_registered() -> None:
    assert kind_module("batchnorm_numbers") is batchnorm_numbers
    assert set(batchnorm_numbers.FIELDS) == {"batch", "gamma", "beta", "epsilon"}


def test_seed_problem_3_exactly(seed3: Part) -> None:
    answers = {name: answer.value for name, answer in seed3.answers.items()}
    assert answers["mean"] == 6 and answers["variance"] == 9 and answers["std"] == 3
    third = sp.Rational(1, 3)
    assert answers["normalized"] == sp.Tuple(-5 * third, third, third, 1)
    assert answers["output"] == answers["normalized"]  # γ = 1, β = 0
    assert all(isinstance(v, sp.Rational) for v in answers["normalized"])
    assert seed3.answers["normalized"].shape == (4,)
    assert seed3.answers["mean"].shape == ()


def _step_text(part: Part, title: str) -> str:
    step = next(s for s in part.steps if s.title == title)
    return " | ".join(f"{line.lhs} = {line.rhs}" for line in step.lines)


def test_seed_problem_3_steps_read_like_the_official_solution(seed3: Part) -> None:
    mean = _step_text(seed3, "Mean of the batch")
    assert r"\frac{1 + 7 + 7 + 9}{4}" in mean and r"\frac{24}{4}" in mean
    variance = _step_text(seed3, "Variance of the batch")
    assert r"\left(1 - 6\right)^{2} + \left(7 - 6\right)^{2}" in variance
    assert r"\left(-5\right)^{2} + 1^{2} + 1^{2} + 3^{2}" in variance
    assert r"\frac{36}{4}" in variance
    assert r"\sqrt{9}" in _step_text(seed3, "Standard deviation")
    assert r"\frac{1 - 6}{3}" in _step_text(seed3, "Standardise each value")
    check = seed3.steps[4]
    assert check.title == "Check: mean 0 and variance 1"
    assert [check.lines[2].rhs, check.lines[-1].rhs] == [0, 1]
    assert any("biased" in str(a) for a in seed3.assumptions)


@pytest.mark.parametrize(
    ("fields", "batch"),
    [
        ({"batch": [-2, "1/2", 3]}, [Fraction(-2), Fraction(1, 2), Fraction(3)]),
        ({"batch": [0.1, 0.2, 0.4], "gamma": 2, "beta": "-1/2"}, ["0.1", "0.2", "0.4"]),
        ({"batch": [5, 1], "gamma": "3/2", "beta": 4}, [5, 1]),
    ],
    ids=["fractions", "decimals-affine", "two-values"],
)
def test_numbers_against_fractions_and_numpy(fields: dict[str, object], batch: list) -> None:
    part = batchnorm_numbers.solve(spec(fields))
    values = [Fraction(v) for v in batch]
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)  # biased, as batch norm
    answers = {name: answer.value for name, answer in part.answers.items()}
    assert answers["mean"] == sp.Rational(mean.numerator, mean.denominator)
    assert answers["variance"] == sp.Rational(variance.numerator, variance.denominator)
    floats = np.array([float(v) for v in values])
    normalized = (floats - floats.mean()) / floats.std()
    gamma = float(Fraction(str(fields.get("gamma", 1))))
    beta = float(Fraction(str(fields.get("beta", 0))))
    assert np.allclose([float(v) for v in answers["normalized"]], normalized, rtol=1e-14)
    assert np.allclose([float(v) for v in answers["output"]], gamma * normalized + beta)
    assert sp.Add(*answers["normalized"]) == 0


def test_epsilon_keeps_the_square_root_exact() -> None:
    part = batchnorm_numbers.solve(spec({"batch": [1, 7, 7, 9], "epsilon": 0.001}))
    std = part.answers["std"].value
    assert std == sp.sqrt(sp.Rational(9001, 1000))
    assert str(part.answers["std"].label) == r"\sqrt{\sigma^{2} + \epsilon}"
    first = part.answers["normalized"].value[0]
    assert sp.simplify(first - (-5) / sp.sqrt(sp.Rational(9001, 1000))) == 0
    assert abs(float(first) - (-5 / np.sqrt(9.001))) < 1e-15
    assert part.verification is not None and part.verification.ok


def test_a_single_value_needs_epsilon() -> None:
    part = batchnorm_numbers.solve(spec({"batch": [5], "epsilon": 1}))
    assert part.answers["normalized"].value == sp.Tuple(0)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "problem '001-3' needs the field 'batch'"),
        ({"batch": []}, "'batch' is empty; give at least one number, e.g. [1, 7, 7, 9]"),
        ({"batch": "1, 7, 7, 9"}, "'batch' must be a list of numbers, e.g. [1, 7, 7, 9], not text"),
        ({"batch": 4}, "'batch' must be a list of numbers, e.g. [1, 7, 7, 9], not int"),
        ({"batch": [1, "x"]}, "entry 2 of 'batch' must be a number, not 'x' (in 'x': unknown"),
        ({"batch": [1, True]}, "entry 2 of 'batch' must be a number, not True"),
        ({"batch": [None, 1]}, "entry 1 of 'batch' must be a number, not nothing"),
        ({"batch": [1, [2]]}, "entry 2 of 'batch' must be a number, not a list"),
        ({"batch": [1, "2^(1/2)"]}, "entry 2 of 'batch' must be a rational number, not '2^(1/2)'"),
        ({"batch": [5, 5]}, "every entry of 'batch' equals 5, so the variance is 0"),
        ({"batch": [1, 2], "epsilon": -1}, "'epsilon' must be ≥ 0, not -1"),
        ({"batch": [1, 2], "gamma": "g"}, "'gamma' must be a number, not 'g'"),
        ({"batch": [1, 2], "beta": {"a": 1}}, "'beta' must be a number, not a mapping"),
        (
            {"batch": [1, 2], "gama": 2},
            "unknown field 'gama' (did you mean 'gamma'? this kind has batch, gamma, beta, "
            "epsilon)",
        ),
    ],
    ids=[
        "missing",
        "empty",
        "text",
        "number",
        "name-entry",
        "bool-entry",
        "null-entry",
        "nested",
        "irrational",
        "constant",
        "negative-epsilon",
        "symbolic-gamma",
        "mapping-beta",
        "typo",
    ],
)
def test_numbers_errors(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InputFileError) as raised:
        solver("batchnorm_numbers")(spec(fields))
    assert message in raised.value.message
    assert raised.value.location == WHERE


def test_numbers_check_refuses_a_wrong_answer(seed3: Part) -> None:
    answers = dict(seed3.answers)
    answers["std"] = replace(answers["std"], value=sp.sqrt(12))  # the unbiased (m − 1) std
    batch = [sp.Integer(v) for v in (1, 7, 7, 9)]
    with pytest.raises(VerificationError, match="the std disagrees with numpy"):
        batchnorm_numbers.check(batch, sp.Integer(1), sp.Integer(0), sp.Integer(0), answers)
    shifted = dict(seed3.answers)
    shifted["normalized"] = replace(shifted["normalized"], value=sp.Tuple(-2, 0, 0, 1))
    with pytest.raises(VerificationError, match="mean and variance"):
        batchnorm_numbers.check(batch, sp.Integer(1), sp.Integer(0), sp.Integer(0), shifted)


# --- batchnorm_backward --------------------------------------------------------------------

m, i, j = BN.m, BN.i, BN.j
g, xhat = BN.g, BN.xhat
gamma, epsilon, var = BN.gamma, BN.epsilon, BN.var


@pytest.fixture(scope="module")
def demeaned() -> Part:
    return batchnorm_backward.solve(spec({"variant": "demeaned"}, "001-4"))


@pytest.fixture(scope="module")
def full() -> Part:
    return batchnorm_backward.solve(spec({}, "bn-full"))


def test_backward_registered() -> None:
    assert kind_module("batchnorm_backward") is batchnorm_backward
    assert set(batchnorm_backward.FIELDS) == {"variant"}


def test_seed_problem_4_answer(demeaned: Part) -> None:
    # 001, problem 4: ∂L/∂x_i = γ [∂L/∂y_i − (1/m) Σ_j ∂L/∂y_j]
    expected = gamma * (g[i] - sp.Sum(g[j], (j, 1, m)) / m)
    assert set(demeaned.answers) == {"dL/dx_i"}
    assert sp.simplify(demeaned.answers["dL/dx_i"].value - expected) == 0


def test_seed_problem_4_cases(demeaned: Part) -> None:
    step = next(s for s in demeaned.steps if s.title.startswith("Differentiate"))
    cases = step.lines[-1].rhs
    assert isinstance(cases, sp.Piecewise)
    (same, when_same), (other, _) = cases.args
    assert when_same == sp.Eq(i, j)
    assert sp.simplify(same - gamma * (1 - 1 / m)) == 0
    assert sp.simplify(other + gamma / m) == 0
    assert step.lines[1].rhs == gamma * (sp.KroneckerDelta(i, j) - 1 / m)


def test_full_batch_norm_answers(full: Part) -> None:
    root = sp.sqrt(var + epsilon)
    dg, dgx = sp.Sum(g[j], (j, 1, m)), sp.Sum(g[j] * xhat[j], (j, 1, m))
    expected = gamma / (m * root) * (m * g[i] - dg - xhat[i] * dgx)
    assert sp.simplify(full.answers["dL/dx_i"].value - expected) == 0
    assert full.answers["dL/dgamma"].value == dgx
    assert full.answers["dL/dbeta"].value == dg
    mean_step = next(s for s in full.steps if s.title == "Backpropagate into the mean")
    assert mean_step.lines[2].rhs == 0  # ∂σ²/∂μ = 0


def _evaluate(answer: sp.Expr, size: int, index: int, arrays: dict, scalars: dict) -> float:
    """The answer at m = size and i = index, from numbers: my own substitution, not the module's."""
    concrete = answer.subs({m: size, i: index}).doit()
    for indexed in concrete.atoms(sp.Indexed):
        concrete = concrete.subs(indexed, arrays[indexed.base][int(indexed.indices[0]) - 1])
    return float(concrete.subs(scalars))


@pytest.mark.parametrize("size", [2, 6], ids=["m2", "m6"])
def test_full_backward_against_finite_differences(full: Part, size: int) -> None:
    rng = np.random.default_rng(size)
    xs, weights = rng.normal(size=size), rng.normal(size=size)
    scale, shift, eps = 1.3, -0.4, 0.05

    def outputs(values: np.ndarray) -> np.ndarray:
        return scale * (values - values.mean()) / np.sqrt(values.var() + eps) + shift

    def loss(values: np.ndarray) -> float:  # a nonlinear loss: L = Σ w_j sin(y_j)
        return float(weights @ np.sin(outputs(values)))

    upstream = weights * np.cos(outputs(xs))
    standardised = (xs - xs.mean()) / np.sqrt(xs.var() + eps)
    arrays = {g: upstream, xhat: standardised}
    scalars = {gamma: scale, epsilon: eps, var: xs.var()}
    h = 1e-6
    for index in range(1, size + 1):
        e = np.eye(size)[index - 1]
        numeric = (loss(xs + h * e) - loss(xs - h * e)) / (2 * h)
        derived = _evaluate(full.answers["dL/dx_i"].value, size, index, arrays, scalars)
        assert derived == pytest.approx(numeric, rel=1e-6, abs=1e-8)
    d_gamma = _evaluate(full.answers["dL/dgamma"].value, size, 1, arrays, scalars)
    assert d_gamma == pytest.approx(float(upstream @ standardised), rel=1e-12)


def test_demeaned_backward_against_finite_differences(demeaned: Part) -> None:
    rng = np.random.default_rng(11)
    xs, weights = rng.normal(size=5), rng.normal(size=5)

    def loss(values: np.ndarray) -> float:  # L = Σ w_j y_j²
        return float(weights @ (0.7 * (values - values.mean())) ** 2)

    upstream = 2 * weights * 0.7 * (xs - xs.mean())
    for index in range(1, 6):
        e = np.eye(5)[index - 1]
        numeric = (loss(xs + 1e-6 * e) - loss(xs - 1e-6 * e)) / 2e-6
        derived = _evaluate(
            demeaned.answers["dL/dx_i"].value, 5, index, {g: upstream}, {gamma: 0.7}
        )
        assert derived == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_backward_verification(full: Part, demeaned: Part) -> None:
    for part in (full, demeaned):
        assert part.verification is not None and part.verification.ok
        assert part.verification.max_rel_error < 1e-6
        assert "exact rational Jacobians" in part.verification.method


def test_backward_check_refuses_wrong_answers() -> None:
    forgot_mean = gamma * g[i]  # the classic mistake: ignoring the path through μ
    with pytest.raises(VerificationError, match="explicit Jacobian for m = 3"):
        check_backward("demeaned", {"dL/dx_i": forgot_mean})
    no_xhat_term = gamma / (m * sp.sqrt(var + epsilon)) * (m * g[i] - sp.Sum(g[j], (j, 1, m)))
    with pytest.raises(VerificationError, match="dL/dx_1 disagrees"):
        check_backward("full", {"dL/dx_i": no_xhat_term})


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ("half", "problem '001-4': unknown 'variant' 'half'; use one of 'full', 'demeaned'"),
        (3, "unknown 'variant' 3; use one of 'full', 'demeaned'"),
    ],
    ids=["name", "number"],
)
def test_unknown_variant(variant: object, message: str) -> None:
    with pytest.raises(InputFileError) as raised:
        batchnorm_backward.solve(spec({"variant": variant}, "001-4"))
    assert message in raised.value.message
    assert raised.value.location == WHERE


def test_backward_rejects_unknown_fields() -> None:
    message = "unknown field 'varient' (did you mean 'variant'? this kind has variant)"
    with pytest.raises(InputFileError) as raised:
        solver("batchnorm_backward")(spec({"varient": "demeaned"}, "001-4"))
    assert message in raised.value.message
    assert raised.value.location == WHERE


# --- rendering -----------------------------------------------------------------------------


def test_each_part_renders_to_latex(seed3: Part, demeaned: Part, full: Part) -> None:
    for part, expected in [
        (seed3, r"&= \left( - \frac{5}{3}, \  \frac{1}{3}, \  \frac{1}{3}, \  1\right)"),
        (demeaned, r"\frac{\partial L}{\partial {x}_{i}}"),
        (full, r"\sum_{j=1}^{m} {g}_{j} {\hat{x}}_{j}"),
    ]:
        latex = Solution("Batch norm", parts=[part]).to_latex()
        assert expected in latex
        assert r"\section*{Problem}" in latex
        assert "Numerical check FAILED" not in latex


@pytest.mark.slow
def test_pdf_reads_back(tmp_path: Path, seed3: Part, demeaned: Part) -> None:
    if shutil.which("latexmk") is None or shutil.which("pdftotext") is None:
        pytest.skip("needs latexmk and pdftotext")
    pdf = tmp_path / "batchnorm.pdf"
    Solution("Batch norm key", parts=[seed3, demeaned]).to_pdf(str(pdf))
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Batch norm key" in text
    assert "Variance of the batch" in text and "Combine the sum" in text
    assert "biased" in text


def test_the_finite_difference_check_alone_refuses_a_wrong_answer() -> None:
    """The float check (after the exact one) catches the classic mistake on its own too."""
    from derive.problems.batchnorm_check import _numeric

    forgot_mean = gamma * g[i]
    rng = np.random.default_rng(0)
    with pytest.raises(VerificationError, match="dL/dx_1 disagrees with finite differences"):
        _numeric("demeaned", {"dL/dx_i": forgot_mean}, 4, rng)
    right = gamma * (g[i] - sp.Sum(g[j], (j, 1, m)) / m)
    assert _numeric("demeaned", {"dL/dx_i": right}, 4, np.random.default_rng(0)) < 1e-6
