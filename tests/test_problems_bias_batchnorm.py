"""Kind "bias_before_batchnorm": BN(a + b) = BN(a) for a batch of any size, with and without ε."""

from __future__ import annotations

import re

import pytest
import sympy as sp

from derive.errors import InputFileError, Location, VerificationError
from derive.model import Part, Solution
from derive.problems import ProblemSpec, solver
from derive.problems.bias_batchnorm import (
    a,
    b,
    batchnorm,
    beta,
    check,
    gamma,
    i,
    k,
    linear_sums,
    mean,
    mu_a,
    read,
    sigma_a,
    solve,
)
from derive.render import render_latex

HERE = Location("set.yaml", 9, 3)
m = sp.Symbol("m", integer=True, positive=True)
epsilon = sp.Symbol("epsilon", positive=True)


def _spec(fields: dict[str, object]) -> ProblemSpec:
    return ProblemSpec("000-3", "Bias before batch norm", "Prove it.", fields, location=HERE)


def _part(fields: dict[str, object]) -> Part:
    return solve(_spec(fields))


@pytest.mark.parametrize(
    "fields",
    [{}, {"epsilon": False}, {"batch_size": 4}, {"batch_size": 3, "epsilon": False}],
    ids=["symbolic-m", "symbolic-m-no-eps", "m4", "m3-no-eps"],
)
def test_the_bias_cancels_and_gets_no_gradient(fields: dict[str, object]) -> None:
    part = _part(fields)
    assert part.answers["difference"].value == 0
    assert part.answers["bias_gradient"].value == 0
    assert part.verification is not None and part.verification.ok
    assert part.verification.max_rel_error < 1e-12
    assert part.verification.points == (1 if "batch_size" in fields else 4)


def test_steps_show_the_shifted_mean_and_the_unchanged_variance() -> None:
    part = _part({})
    mean_step, centring, variance = part.steps[:3]
    assert sp.expand(mean_step.lines[-1].rhs - (mu_a + b)) == 0
    assert centring.lines[-1].rhs == a[i] - mu_a
    assert variance.lines[-1].rhs == sigma_a**2
    output = part.steps[3]
    assert output.lines[1].rhs == gamma * (a[i] - mu_a) / sp.sqrt(sigma_a**2 + epsilon) + beta


def test_without_epsilon_the_denominator_is_the_standard_deviation() -> None:
    part = _part({"epsilon": False})
    assert part.setup[-1].rhs == gamma * (a[i] - mu_a) / sigma_a + beta


def test_batchnorm_expression_on_the_seed_batch() -> None:
    # 001 problem 3: {1, 7, 7, 9} with γ = 1, β = 0 standardises to {-5/3, 1/3, 1/3, 1};
    # adding a bias of 10 first changes nothing
    batch = {a[n + 1]: value for n, value in enumerate([1, 7, 7, 9])}
    for entry, row in ((a[i], a[k]), (a[i] + b, a[k] + b)):
        normalised = batchnorm(entry, row, sp.Integer(4), sp.Integer(0)).subs({gamma: 1, beta: 0})
        values = [normalised.doit().subs({i: n, b: 10}).subs(batch) for n in range(1, 5)]
        assert values == [sp.Rational(-5, 3), sp.Rational(1, 3), sp.Rational(1, 3), 1]


def test_linear_sums_pulls_constants_out_of_batch_sums() -> None:
    assert linear_sums(sp.Sum(a[k] + b, (k, 1, m))) == sp.Sum(a[k], (k, 1, m)) + m * b
    j = sp.Symbol("j", integer=True, positive=True)
    renamed = linear_sums(sp.Sum(3 * a[j] ** 2, (j, 1, m)))
    assert renamed == 3 * sp.Sum(a[k] ** 2, (k, 1, m))
    assert sp.expand(linear_sums(mean(a[k] + b, k, m)) - (b + sp.Sum(a[k], (k, 1, m)) / m)) == 0


def test_a_real_difference_is_caught_numerically() -> None:
    spec = _spec({})
    size, eps = read(spec)
    shifted = batchnorm(a[i] + b, a[k] + b, size, eps)
    plain = batchnorm(a[i], a[k], size, eps)
    with pytest.raises(VerificationError, match="with and without b differ numerically"):
        check(spec, size, eps, shifted + b / 100, plain)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"batch_size": 1},
            "'batch_size' must be m (symbolic) or a whole number of at least 2, not 1",
        ),
        ({"batch_size": "four"}, "not 'four'"),
        ({"batch_size": 2.5}, "not 2.5"),
        ({"batch_size": True}, "not True"),
        ({"epsilon": "yes"}, "'epsilon' must be true or false, not 'yes'"),
    ],
    ids=["one", "text", "fraction", "bool", "epsilon"],
)
def test_bad_fields(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InputFileError, match=re.escape(message)) as caught:
        _part(fields)
    assert str(caught.value).startswith("set.yaml, line 9, column 3: problem '000-3': ")


def test_renders_to_latex() -> None:
    latex = render_latex(Solution("Key", [_part({})]))
    assert r"\mathrm{BN}(a + b)_{i} - \mathrm{BN}(a)_{i} &= 0" in latex
    assert r"\mu_{a+b}" in latex
    assert "bias=False" in latex


def test_the_registry_finds_the_kind() -> None:
    assert solver("bias_before_batchnorm")(_spec({"batch_size": 2})).name == "000-3"
