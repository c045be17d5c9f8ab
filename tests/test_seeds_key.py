"""The default document, the key to both seed documents: every answer against values written
independently from the official solutions (001) and the corrected answer sheet (000)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from derive.documents import solve_default
from derive.evaluate import Evaluator
from derive.functions import sigmoid
from derive.model import Part, Solution


@pytest.fixture(scope="module")
def key() -> Solution:
    return solve_default()


def _part(key: Solution, name: str) -> Part:
    return next(p for p in key.parts if p.name == name)


def _symbol(
    expr: sp.Basic, name: str, kinds: tuple[type, ...] = (sp.Symbol, sp.MatrixSymbol)
) -> sp.Basic:
    """The symbol called ``name`` inside ``expr`` (whatever assumptions it carries)."""
    found = {s for s in expr.atoms(*kinds) if str(s) == name}
    assert len(found) == 1, (name, expr)
    return found.pop()


def test_the_key_covers_every_seed_problem(key: Solution) -> None:
    names = [part.name for part in key.parts]
    for wanted in ["hw-1", "hw-1-skip", "hw-1-vector", "hw-2", "hw-3"]:
        assert wanted in names
    for wanted in ["mt-1a", "mt-1be", "mt-1f", "mt-2", "mt-3", "mt-4"]:
        assert wanted in names
    assert all(p.verification is None or p.verification.ok for p in key.parts)


def test_homework_1_keeps_the_factor_t_minus_y(key: Solution) -> None:
    part = _part(key, "hw-1")
    value = part.answers["W2"].value
    t, y, z, h = (_symbol(value, n) for n in ["t", "y", "z", "h"])
    expected = (y - t) * sigmoid(z) * (1 - sigmoid(z)) * h
    assert sp.simplify(value - expected) == 0
    skip = _part(key, "hw-1-skip").answers["b1"].value
    w2, s = _symbol(skip, "W2"), _symbol(skip, "s")
    expected_skip = (
        (y - t) * sigmoid(z) * (1 - sigmoid(z)) * (w2 * sigmoid(s) * (1 - sigmoid(s)) + 1)
    )
    assert sp.simplify(skip - expected_skip) == 0


def test_homework_2_dropout(key: Solution) -> None:
    answers = _part(key, "hw-2").answers
    p, w = _symbol(answers["variance"].value, "p"), _symbol(answers["variance"].value, "w")
    assert sp.simplify(answers["expectation"].value - (1 - p) * w) == 0
    assert sp.simplify(answers["variance"].value - p * (1 - p) * w**2) == 0
    assert sp.simplify(answers["inference_scale"].value - (1 - p)) == 0
    assert sp.simplify(answers["inverted_scale"].value - 1 / (1 - p)) == 0


def test_homework_3_bias_before_batch_norm_changes_nothing(key: Solution) -> None:
    answers = _part(key, "hw-3").answers
    assert answers["difference"].value == 0


def test_midterm_1a_sigmoid_derivative(key: Solution) -> None:
    value = _part(key, "mt-1a").answers["derivative"].value
    z = _symbol(value, "z")
    logistic = 1 / (1 + sp.exp(-z))
    assert sp.simplify(value.subs(sigmoid(z), logistic) - sp.diff(logistic, z)) == 0


def test_midterm_1b_to_1e_match_the_official_solution(key: Solution) -> None:
    answers = _part(key, "mt-1be").answers
    d_answer = answers["d"].value
    y_pred, y_true = _symbol(d_answer, "y_pred"), _symbol(d_answer, "y_true")
    assert sp.simplify(d_answer - 2 * (y_pred - y_true)) == 0  # 1(b)
    for name in ("C", "b", "A"):
        entry = answers[name].index_form.rhs
        assert entry.has(y_pred) and entry.has(y_true)
        if name == "A":
            assert entry.has(_symbol(entry, "x"))  # 1(e): the extra factor x
    entry_b = answers["b"].index_form.rhs
    assert any(str(f.func) == "sigma'" for f in entry_b.atoms(sp.Function))  # σ' stays general


def test_midterm_1f_update_rule(key: Solution) -> None:
    value = _part(key, "mt-1f").answers["b"].value
    gradient = _part(key, "mt-1be").answers["b"].value
    b, alpha = _symbol(value, "b"), _symbol(value, "alpha")
    assert sp.MatAdd(value, -b, alpha * gradient).doit() == sp.ZeroMatrix(*b.shape)


def test_midterm_2_ridge_closed_form_numerically(key: Solution) -> None:
    value = _part(key, "mt-2").answers["x"].value
    big_a, b, lam = (_symbol(value, n) for n in ("A", "b", "lambda"))
    m, n = big_a.shape
    rng = np.random.default_rng(5)
    a_value, b_value = rng.normal(size=(5, 3)), rng.normal(size=(5, 1))
    dims = {m: 5, n: 3}
    got = Evaluator({big_a: a_value, b: b_value, lam: 0.7}, dims)(value)
    expected = np.linalg.solve(a_value.T @ a_value + 0.7 * np.eye(3), a_value.T @ b_value)
    assert np.allclose(got, expected)


def test_midterm_3_batch_norm_numbers(key: Solution) -> None:
    answers = _part(key, "mt-3").answers
    assert answers["mean"].value == 6
    assert answers["variance"].value == 9
    assert answers["std"].value == 3
    third = sp.Rational(1, 3)
    assert tuple(answers["normalized"].value) == (sp.Rational(-5, 3), third, third, 1)


def test_midterm_4_demeaned_batch_norm_backward(key: Solution) -> None:
    value = _part(key, "mt-4").answers["dL/dx_i"].value
    gamma, m, i = (_symbol(value, n) for n in ("gamma", "m", "i"))
    g = _symbol(value, "g", (sp.IndexedBase,))
    j = sp.Symbol("j", integer=True, positive=True)
    expected = gamma * (g[i] - sp.Sum(g[j], (j, 1, m)) / m)
    concrete = {m: 4, i: 2}
    values = dict(zip([g[k] for k in range(1, 5)], [0.3, -1.2, 2.0, 0.5], strict=True))
    got = value.subs(concrete).doit().subs(values).subs(gamma, 1.7)
    want = expected.subs(concrete).doit().subs(values).subs(gamma, 1.7)
    assert float(got) == pytest.approx(float(want))
    assert float(want) == pytest.approx(1.7 * (-1.2 - 1.6 / 4))


def test_json_holds_every_answer_exactly(key: Solution) -> None:
    document = json.loads(key.to_json())
    mt3 = next(p for p in document["parts"] if p["name"] == "mt-3")["answers"]
    assert mt3["mean"]["value"] == "6" and mt3["variance"]["value"] == "9"
    assert mt3["normalized"]["value"] == ["-5/3", "1/3", "1/3", "1"]
    for part in document["parts"]:
        for answer in part["answers"].values():
            assert answer["sympy"] and answer["latex"]
