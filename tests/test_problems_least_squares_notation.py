# ruff: noqa: N806 - matrices are capitals, as in the math
"""Kind least_squares in the course's notation: X, θ, y, dims, with or without ½ and λ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from derive.errors import InputFileError, VerificationError
from derive.evaluate import Evaluator
from derive.model import Answer, Part, Solution
from derive.problem_set import load_problem_set
from derive.problems import ProblemSpec, solver
from derive.problems.least_squares import make_symbols
from derive.problems.least_squares_check import check
from derive.problems.least_squares_notation import Notation, plain

N, d = sp.symbols("N d", integer=True, positive=True)
X = sp.MatrixSymbol("X", N, d)
y = sp.MatrixSymbol("y", N, 1)
theta = sp.MatrixSymbol("theta", d, 1)
lam = sp.Symbol("lambda", positive=True)
CS229 = {"matrix": "X", "unknown": "theta", "target": "y", "dims": ["N", "d"]}


def solve(fields: dict[str, object]) -> Part:
    spec = ProblemSpec("cs229", "Ridge", "Minimise the objective.", fields)
    return solver("least_squares")(spec)  # with the page's read-back check


CASES = [(half, weight) for half in (True, False) for weight in ("lambda", 0)]
IDS = ["half-ridge", "half-plain", "ridge", "plain"]


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def case(request: pytest.FixtureRequest) -> tuple[bool, sp.Expr, Part]:
    half, weight = request.param
    part = solve({**CS229, "half": half, "regularization": weight})
    return half, lam if weight else sp.Integer(0), part


def test_answers_are_in_the_chosen_names(case: tuple[bool, sp.Expr, Part]) -> None:
    half, weight, part = case
    assert set(part.answers) == {"gradient", "theta", "theta_svd"}
    shift = [weight * sp.Identity(d)] if weight else []
    assert part.answers["theta"].value == sp.Inverse(sp.MatAdd(X.T * X, *shift)) * X.T * y
    gradient = X.T * X * theta - X.T * y + weight * theta
    assert part.answers["gradient"].value == (gradient if half else 2 * gradient)
    assert all(answer.shape == ("d", 1) for answer in part.answers.values())
    names = {str(s) for answer in part.answers.values() for s in answer.value.free_symbols}
    assert names.isdisjoint({"A", "b", "x", "m", "n"})


def test_printed_answer_is_theta_star(case: tuple[bool, sp.Expr, Part]) -> None:
    half, weight, part = case
    latex = Solution("Key", parts=[part]).to_latex()
    shifted = r"X^{\top} X + \lambda I" if weight else r"X^{\top} X"
    assert rf"\theta^{{\star}} &= ({shifted})^{{-1}} X^{{\top}} y" in latex
    assert r"\nabla_{\theta} f" in latex
    assert r"X \in \mathbb{R}^{N \times d}" in latex
    objective = str(part.setup[0].rhs)
    assert objective.startswith(r"\frac{1}{2} \lVert X \theta - y \rVert^{2}") == half
    if weight:
        ridge = r"\frac{\lambda}{2}" if half else r"\lambda"
        assert objective.endswith(rf"+ {ridge} \lVert \theta \rVert^{{2}}")
    titles = [step.title for step in part.steps]
    assert "Take the gradient with respect to θ" in titles and "Solve for θ" in titles
    said = " ".join(step.rule for step in part.steps)
    assert "XᵀX" in said and "AᵀA" not in said
    assert ("does not move the point where the gradient vanishes" in said) == half


def test_numeric_check_passes_and_agrees_with_numpy(case: tuple[bool, sp.Expr, Part]) -> None:
    half, weight, part = case
    assert part.verification is not None and part.verification.ok
    assert part.verification.max_rel_error < 1e-6
    rng = np.random.default_rng(11)
    Xn, yn, tn = rng.normal(size=(7, 3)), rng.normal(size=(7, 1)), rng.normal(size=(3, 1))
    w, c = (0.4 if weight else 0.0), (0.5 if half else 1.0)
    values = {X: Xn, y: yn, theta: tn, lam: w}

    def at(expr: sp.Basic) -> np.ndarray:
        return np.asarray(Evaluator(values, {N: 7, d: 3})(expr), dtype=float)

    def f(t: np.ndarray) -> float:
        return c * float(np.sum((Xn @ t - yn) ** 2) + w * np.sum(t**2))

    h = 1e-6
    numeric = [(f(tn + h * e) - f(tn - h * e)) / (2 * h) for e in np.eye(3)[:, :, None]]
    assert np.allclose(at(part.answers["gradient"].value).ravel(), numeric, atol=1e-6)
    # the ½ does not move the minimiser: the same solve either way
    expected = np.linalg.solve(Xn.T @ Xn + w * np.eye(3), Xn.T @ yn)
    assert np.allclose(at(part.answers["theta"].value), expected, rtol=1e-10)


def test_the_check_uses_the_halved_objective() -> None:
    """An unhalved gradient passed off as the ½ problem's is refused, and vice versa."""
    k = sp.Symbol("k", integer=True, positive=True)
    names = Notation("X", "theta", "y", "N", "d", half=True)
    for half, wrong in ((True, 2), (False, sp.Rational(1, 2))):
        part = solve({**CS229, "half": half, "regularization": "lambda"})
        answers = dict(part.answers)
        gradient = wrong * part.answers["gradient"].value
        answers["gradient"] = Answer("gradient", "g", gradient, ("d", 1))
        symbols = make_symbols(lam, Notation(**{**names.__dict__, "half": half}))
        with pytest.raises(VerificationError, match="the gradient and central finite differences"):
            check(symbols, answers, sp.Integer(0), k)


def test_index_form_and_svd_use_the_target() -> None:
    part = solve({**CS229, "half": True, "regularization": "lambda"})
    entry = part.answers["theta_svd"].index_form
    assert entry is not None
    assert str(entry.lhs) == r"\theta_{k}^{\star}"
    assert r"{y}_{j}" in str(entry.rhs) and r"\sum_{j=1}^{N}" in str(entry.rhs)
    svd = next(step for step in part.steps if step.title.startswith("Read"))
    assert svd.lines[0].lhs == X
    assert r"u_{i}^{\top} y" in str(svd.lines[-1].rhs)


def test_defaults_are_unchanged() -> None:
    part = solve({"regularization": "lambda"})
    assert set(part.answers) == {"gradient", "x", "x_svd"}
    assert str(part.setup[0].lhs) == "f(x)"


@pytest.mark.parametrize(
    ("name", "shown"),
    [("theta", "θ"), ("Theta", "Θ"), ("beta", "β"), ("X", "X"), ("X_train", "X_train")],
    ids=["theta", "capital", "beta", "latin", "subscripted"],
)
def test_plain_names(name: str, shown: str) -> None:
    assert plain(name) == shown


def _write(tmp_path: Path, fields: str) -> Path:
    path = tmp_path / "set.yaml"
    path.write_text("problems:\n  - id: p\n    kind: least_squares\n" + fields)
    return path


@pytest.mark.parametrize(
    ("fields", "message", "line", "column"),
    [
        ("    matrix: 3\n", "'matrix' must be a name such as X, not 3", 4, 13),
        ("    unknown: x y\n", "'unknown' must be a name such as theta, not 'x y'", 4, 14),
        ("    target: [y]\n", "'target' must be a name such as y, not ['y']", 4, 13),
        ("    matrix: U\n", "'matrix' names U, which is the SVD's U in the derivation", 4, 13),
        ("    target: Sigma\n", "'target' names Sigma, which is the SVD's Σ", 4, 13),
        ("    unknown: V\n", "'unknown' names V, which is the SVD's V", 4, 14),
        ("    unknown: lambda\n", "'unknown' names lambda, which is the ridge weight λ", 4, 14),
        ("    matrix: tr\n", "'matrix' names tr, which is a function in the derivation", 4, 13),
        (
            "    regularization: mu\n    unknown: mu\n",
            "'unknown' names mu, which is the ridge weight ('regularization')",
            5,
            14,
        ),
        (
            "    matrix: X\n    target: X\n",
            "'target' names X, as 'matrix' does; each must differ",
            5,
            13,
        ),
        ("    dims: [m]\n", "'dims' must be two names [rows, columns], not 1 entries", 4, 11),
        ("    dims: 3\n", "'dims' must be two names [rows, columns], not 3", 4, 11),
        ("    dims: [m, 2]\n", "'dims' (columns) must be a name such as m, not 2", 4, 11),
        (
            "    unknown: theta\n    dims: [m, theta]\n",
            "'dims' (columns) names theta, as 'unknown' does; each must differ",
            5,
            11,
        ),
        ("    dims: [k, n]\n", "'dims' (rows) names k, which is an index of the SVD sum", 4, 11),
        ("    half: 1\n", "'half' must be true or false, not 1", 4, 11),
        ("    half: yes please\n", "'half' must be true or false, not 'yes please'", 4, 11),
    ],
    ids=[
        "number",
        "two-words",
        "list",
        "svd-U",
        "svd-Sigma",
        "svd-V",
        "lambda",
        "function",
        "ridge-weight",
        "repeated",
        "dims-one",
        "dims-number",
        "dims-entry",
        "dims-repeats",
        "dims-index",
        "half-number",
        "half-text",
    ],
)
def test_bad_names_point_at_the_field(
    tmp_path: Path, fields: str, message: str, line: int, column: int
) -> None:
    with pytest.raises(InputFileError) as caught:
        load_problem_set(_write(tmp_path, fields))
    assert f"problem 'p': {message}" in caught.value.message
    location = caught.value.location
    assert location is not None and (location.line, location.column) == (line, column)
