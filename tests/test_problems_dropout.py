"""Kind "dropout": mean and variance of a Bernoulli-masked weight, and the two scalings."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from derive.errors import InputFileError, Location, VerificationError
from derive.model import Answer, Part, Solution
from derive.problems import ProblemSpec, solver
from derive.problems.dropout import check, read, solve
from derive.render import render_latex

HERE = Location("set.yaml", 4, 3)
p = sp.Symbol("p", nonnegative=True)
q = sp.Symbol("q", nonnegative=True)
w = sp.Symbol("w", real=True)
v = sp.Symbol("v", real=True)


def _spec(fields: dict[str, object]) -> ProblemSpec:
    return ProblemSpec("000-2", "Dropout", "Find E[w'].", fields, location=HERE)


def _part(fields: dict[str, object]) -> Part:
    return solve(_spec(fields))


def _values(part: Part) -> dict[str, sp.Expr]:
    return {name: answer.value for name, answer in part.answers.items()}


def test_drop_probability_p_by_default() -> None:
    values = _values(_part({}))
    expected = {
        "expectation": (1 - p) * w,
        "variance": p * (1 - p) * w**2,
        "inference_scale": 1 - p,
        "inverted_scale": 1 / (1 - p),
    }
    for name, value in expected.items():
        assert sp.simplify(values[name] - value) == 0, name
    # by hand at p = 0.3, w = 2: E = 0.7·2, Var = 0.7·2² − 1.4², scales 0.7 and 1/0.7
    at = {p: sp.Rational(3, 10), w: 2}
    numbers = {name: float(value.subs(at)) for name, value in values.items()}
    assert numbers == pytest.approx(
        {
            "expectation": 1.4,
            "variance": 2.8 - 1.96,
            "inference_scale": 0.7,
            "inverted_scale": 1 / 0.7,
        }
    )


def test_answers_print_with_sums_leading_with_a_plus() -> None:
    part = _part({})
    latex = render_latex(Solution("Key", [part]))
    assert r"\operatorname{E}[w'] &= (1 - p) w" in latex
    assert r"\operatorname{Var}(w') &= (1 - p) p w^{2}" in latex
    assert r"\frac{1}{1 - p}" in latex
    assert "exact enumeration of B = 0 and B = 1 (float64)" in latex


def test_keep_probability_and_weight_name() -> None:
    values = _values(_part({"keep_probability": "q", "weight": "v"}))
    assert sp.simplify(values["expectation"] - q * v) == 0
    assert sp.simplify(values["variance"] - q * (1 - q) * v**2) == 0
    assert values["inference_scale"] == q
    assert values["inverted_scale"] == 1 / q


@pytest.mark.parametrize(
    ("fields", "expectation", "variance", "inverted"),
    [
        ({"drop_probability": 0.5}, w / 2, w**2 / 4, 2),
        ({"drop_probability": 0.25}, 3 * w / 4, 3 * w**2 / 16, sp.Rational(4, 3)),
        ({"keep_probability": 0.8}, 4 * w / 5, 4 * w**2 / 25, sp.Rational(5, 4)),
        ({"drop_probability": 0}, w, 0, 1),
    ],
    ids=["half", "quarter", "keep-0.8", "no-dropout"],
)
def test_numeric_probabilities_give_exact_answers(
    fields: dict[str, object], expectation: sp.Expr, variance: sp.Expr, inverted: sp.Expr
) -> None:
    part = _part(fields)
    values = _values(part)
    assert values["expectation"] == expectation
    assert values["variance"] == variance
    assert values["inverted_scale"] == inverted
    assert part.verification is not None and part.verification.ok
    assert part.verification.points == 3  # one probability, three weights


def test_the_steps_show_the_moments_of_the_mask_and_the_inverted_scale() -> None:
    part = _part({})
    mask = part.steps[0]
    assert [line.rhs for line in mask.lines][1] == 1 - p
    inverted = part.steps[-1]
    assert any(line.rhs == 1 / (1 - p) for line in inverted.lines)
    assert part.verification is not None
    assert part.verification.points == 9 and part.verification.max_rel_error < 1e-12


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"drop_probability": "p", "keep_probability": "q"},
            "give drop_probability or keep_probability, not both",
        ),
        ({"weight": "2w"}, "'weight' must be a name such as w, not '2w'"),
        (
            {"drop_probability": 1},
            "'drop_probability' must be below 1: every weight would be dropped",
        ),
        ({"keep_probability": 0}, "'keep_probability' must be above 0: nothing would be kept"),
        (
            {"drop_probability": 1.5},
            "'drop_probability' must be a name or a number from 0 to 1, not 1.5",
        ),
        ({"drop_probability": "1 - q"}, "not '1 - q'"),
        ({"keep_probability": True}, "not True"),
    ],
    ids=["both", "weight", "drop-1", "keep-0", "above-1", "expression", "bool"],
)
def test_bad_fields(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InputFileError, match=re.escape(message)) as caught:
        _part(fields)
    assert str(caught.value).startswith("set.yaml, line 4, column 3: problem '000-2': ")


def test_a_wrong_answer_fails_the_enumeration() -> None:
    spec = _spec({})
    drop, keep, weight = read(spec)
    answers = dict(_part({}).answers)
    answers["variance"] = Answer("variance", "Var", p * w**2)  # forgot the (1 − p)
    with pytest.raises(VerificationError, match="the dropout answers fail their check"):
        check(spec, drop, keep, weight, answers)


def test_the_registry_finds_the_kind() -> None:
    assert solver("dropout")(_spec({})).name == "000-2"
