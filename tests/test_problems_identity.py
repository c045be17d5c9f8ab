"""Kind "identity": derivative identities proved step by step, and every way a claim can fail."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import pytest
import sympy as sp

from derive.errors import (
    InputFileError,
    Location,
    UnknownSymbolError,
    UnsupportedError,
    VerificationError,
)
from derive.functions import sigmoid
from derive.model import Part, Solution, Tex
from derive.problems import ProblemSpec, identity, solver
from derive.problems.derivative_rules import differentiate, divisors, over
from derive.problems.identity import FalseClaimError, solve
from derive.render import render_latex

z = sp.Symbol("z", real=True)
a = sp.Symbol("a", real=True)
HERE = Location("set.yaml", 12, 3)

SIGMOID = {
    "function": "sigma",
    "variable": "z",
    "definition": "1 / (1 + exp(-z))",
    "claim": "sigmoid(z) (1 - sigmoid(z))",
}
TANH = {
    "function": "tanh",
    "variable": "z",
    "definition": "(exp(z) - exp(-z)) / (exp(z) + exp(-z))",
    "claim": "1 - tanh(z)^2",
}
SOFTPLUS = {
    "function": "softplus",
    "variable": "z",
    "definition": "log(1 + exp(z))",
    "claim": "sigmoid(z)",
}
USER = {
    "function": "h",
    "variable": "z",
    "definition": "a z^2 exp(-z)",
    "claim": "2 a z exp(-z) - a z^2 exp(-z)",
    "constants": ["a"],
}


def _part(fields: dict[str, object], problem_id: str = "p") -> Part:
    return solve(ProblemSpec(problem_id, "Title", "Show it.", fields, location=HERE))


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# fields, the answer as sympy should hold it, its derivative written out by hand in floats
CASES: list[tuple[dict[str, object], sp.Expr, Callable[[float], float]]] = [
    (SIGMOID, sigmoid(z) * (1 - sigmoid(z)), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2),
    (TANH, 1 - sp.tanh(z) ** 2, lambda x: 1 / math.cosh(x) ** 2),
    (SOFTPLUS, sigmoid(z), lambda x: math.exp(x) / (1 + math.exp(x))),
    (
        USER,
        2 * a * z * sp.exp(-z) - a * z**2 * sp.exp(-z),
        lambda x: 1.5 * (2 * x - x * x) * math.exp(-x),
    ),
]


@pytest.mark.parametrize(
    ("fields", "expected", "by_hand"), CASES, ids=["sigmoid", "tanh", "softplus", "user"]
)
def test_answer_is_the_claim_and_the_derivative(
    fields: dict[str, object], expected: sp.Expr, by_hand: Callable[[float], float]
) -> None:
    part = _part(fields)
    answer = part.answers["derivative"]
    assert sp.simplify(answer.value - expected) == 0
    value = answer.value.rewrite(sp.exp).subs(a, 1.5)
    for x in (-1.7, 0.3, 2.2):
        assert float(value.subs(z, x)) == pytest.approx(by_hand(x), rel=1e-12)
    assert answer.shape == ()
    assert part.verification is not None and part.verification.ok
    assert part.verification.points == len(identity.POINTS)
    assert part.verification.max_rel_error < 1e-8


def test_sigmoid_steps_follow_the_official_solution() -> None:
    part = _part(SIGMOID)
    definition, derivative, recognition = part.steps
    assert definition.lines[1].rhs == Tex(r"(1 + \mathrm{e}^{- z})^{-1}")
    assert Tex(r"-(1 + \mathrm{e}^{- z})^{-2} \cdot (- \mathrm{e}^{- z})") in [
        line.rhs for line in derivative.lines
    ]
    assert derivative.lines[-1].rhs == sp.exp(-z) / (1 + sp.exp(-z)) ** 2
    split = Tex(
        r"\frac{1}{1 + \mathrm{e}^{- z}} \cdot \frac{\mathrm{e}^{- z}}{1 + \mathrm{e}^{- z}}"
    )
    assert [line.rhs for line in recognition.lines][-2:] == [split, sigmoid(z) * (1 - sigmoid(z))]
    assert recognition.lines[0].lhs == 1 - sigmoid(z)
    assert recognition.lines[1].rhs == sp.exp(-z) / (1 + sp.exp(-z))
    assert part.answers["derivative"].label == Tex(r"\sigma'(z)")


def test_tanh_uses_the_quotient_rule_and_meets_the_claim_at_4_over_cosh_form() -> None:
    part = _part(TANH)
    derivative, recognition = part.steps[1:]
    assert derivative.title == "Differentiate by the quotient rule"
    common = 4 / (sp.exp(z) + sp.exp(-z)) ** 2
    assert derivative.lines[-1].rhs == common
    assert recognition.lines[1].rhs == common  # 1 − tanh² over the same denominator


def test_every_sympy_line_of_the_derivative_step_equals_the_derivative() -> None:
    for fields in (SIGMOID, TANH, SOFTPLUS, USER):
        part = _part(fields)
        built = identity.read(ProblemSpec("p", "T", "", fields))
        derivative = sp.diff(built.definition, built.variable)
        for line in part.steps[1].lines[len(differentiate(built.definition, z).pieces) :]:
            if isinstance(line.rhs, sp.Basic):
                assert sp.simplify(line.rhs - derivative) == 0


@pytest.mark.parametrize(
    ("definition", "title"),
    [
        (1 / (1 + sp.exp(-z)), "Differentiate by the chain rule"),
        (3 / (z**2 + 1), "Differentiate by the chain rule"),
        ((sp.exp(z) - 1) / (sp.exp(z) + 1), "Differentiate by the quotient rule"),
        (sp.log(1 + sp.exp(z)), "Differentiate by the chain rule"),
        ((1 + z**2) ** 3, "Differentiate by the chain rule"),
        (z**2 * sp.exp(-z), "Differentiate by the product rule"),
        (z**3 + z, "Differentiate"),
    ],
    ids=["reciprocal", "scaled-reciprocal", "quotient", "log", "power", "product", "polynomial"],
)
def test_each_rule_agrees_with_sympy(definition: sp.Expr, title: str) -> None:
    rule = differentiate(definition, z)
    assert rule.title == title
    derivative = sp.diff(definition, z)
    assert sp.simplify(rule.value - derivative) == 0
    for x in (-0.8, 0.5, 1.9):
        assert float(rule.value.subs(z, x)) == pytest.approx(float(derivative.subs(z, x)))


def test_over_writes_a_common_denominator_without_turning_exp_minus_z_around() -> None:
    u = 1 + sp.exp(-z)
    assert divisors(sp.exp(-z) / u**2 + 1 / u) == u**2
    assert over(1 - 1 / u, u) == sp.exp(-z) / u


def test_sigmoid_in_the_claim_reads_as_a_user_named_function() -> None:
    fields = {**SIGMOID, "function": "g"}
    g = sp.Function("g")
    assert _part(fields).answers["derivative"].value == g(z) * (1 - g(z))
    fields = {**SIGMOID, "function": "g", "claim": "g(z) (1 - g(z))"}
    assert _part(fields).answers["derivative"].value == g(z) * (1 - g(z))


def test_softplus_keeps_sigma_as_the_logistic_function() -> None:
    assert _part(SOFTPLUS).answers["derivative"].value == sigmoid(z)
    assert _part({**SOFTPLUS, "function": "sp_"}).answers["derivative"].value == sigmoid(z)


def test_the_derivative_already_in_the_claimed_form_needs_no_recognition_step() -> None:
    part = _part({"function": "f", "variable": "x", "definition": "x^3", "claim": "3 x^2"})
    assert len(part.steps) == 2
    x = sp.Symbol("x", real=True)
    assert part.answers["derivative"].value == 3 * x**2


def test_a_false_claim_is_an_error_that_names_the_true_derivative() -> None:
    with pytest.raises(FalseClaimError) as caught:
        _part({**SIGMOID, "claim": "sigmoid(z) (1 + sigmoid(z))"}, "001-1a")
    assert str(caught.value) == (
        "set.yaml, line 12, column 3: problem '001-1a': the claim does not hold: the derivative "
        "of 1/(1 + exp(-z)) is exp(-z)/(1 + exp(-z))**2, not (sigmoid(z) + 1)*sigmoid(z)"
    )


def test_a_claim_off_by_a_factor_is_refused() -> None:
    with pytest.raises(FalseClaimError, match="derivative of tanh"):
        _part({**TANH, "definition": "tanh(z)", "claim": "2 (1 - tanh(z)^2)"})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({**SIGMOID, "function": "1x"}, "'function' must be a name such as z, not '1x'"),
        ({**SIGMOID, "variable": 3}, "'variable' must be a name such as z, not 3"),
        ({**USER, "constants": "a"}, "'constants' must be a list of names, e.g. [a, b]"),
        (
            {**SIGMOID, "function": "z"},
            "the function and a variable or constant are both named 'z'",
        ),
        (
            {**SIGMOID, "function": "tanh"},
            "'tanh' is a known function, and 1/(1 + exp(-z)) does not define it; "
            "give the function another name",
        ),
        ({**SIGMOID, "function": "relu"}, "'relu' is a known function"),
    ],
    ids=["function-name", "variable-name", "constants", "same-name", "tanh-misdefined", "relu"],
)
def test_bad_fields(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InputFileError, match=re.escape(f"problem 'p': {message}")) as caught:
        _part(fields)
    assert caught.value.location == HERE


def test_a_missing_field_is_named() -> None:
    fields = {key: value for key, value in SIGMOID.items() if key != "claim"}
    with pytest.raises(InputFileError, match="problem 'p' needs the field 'claim'"):
        _part(fields)


def test_an_unknown_name_in_the_claim_is_reported_with_the_claim() -> None:
    with pytest.raises(UnknownSymbolError, match="in 'sigmoid\\(y\\)': unknown symbol 'y'"):
        _part({**SIGMOID, "claim": "sigmoid(y)"})


def test_a_claim_sympy_cannot_prove_is_not_passed_off_as_a_proof(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(identity, "vanishes", lambda expr: expr == 0)  # a weaker prover
    with pytest.raises(UnsupportedError, match="agrees with the derivative numerically, but sympy"):
        _part({**USER, "claim": "a z exp(-z) (2 - z)"})


def test_a_proof_whose_numbers_cannot_be_checked_is_refused() -> None:
    with pytest.raises(VerificationError, match="numeric check failed at 1 of 6 points"):
        _part({"function": "f", "variable": "z", "definition": "log(z - 2)", "claim": "1/(z - 2)"})


def test_the_registry_finds_the_kind() -> None:
    part = solver("identity")(ProblemSpec("001-1a", "T", "", SIGMOID))
    assert part.name == "001-1a"


def test_renders_to_latex() -> None:
    part = _part(SIGMOID, "001-1a")
    latex = render_latex(Solution("Key", [part]))
    assert r"\sigma'(z) &= \sigma(z) (1 - \sigma(z))" in latex
    assert r"-(1 + \mathrm{e}^{- z})^{-2} \cdot (- \mathrm{e}^{- z})" in latex
    assert "Differentiate by the chain rule" in latex
