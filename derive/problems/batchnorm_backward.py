"""Kind "batchnorm_backward": ∂L/∂x_i through batch norm for a general batch size m.

Everything is a sympy expression over indexed symbols (x_k, g_j = ∂L/∂y_j, x̂_j) and Sums with
a symbolic m; sympy differentiates the Sums (giving Kronecker deltas) and sums the deltas out.
Symbolic-m sums are where sympy is weakest, so ``batchnorm_check`` confirms every answer twice:
exactly against the explicit Jacobian for concrete m, and by finite differences.
"""

from __future__ import annotations

import sympy as sp
from sympy.simplify.simplify import factor_sum

from derive.errors import UnsupportedError
from derive.model import Answer, Line, MathItem, Part, Step, Tex
from derive.printing import tex
from derive.problems import ProblemSpec
from derive.problems.batchnorm_check import BN, check
from derive.problems.field_values import field_error

FIELDS: dict[str, str] = {
    "variant": (
        "'full' (default): y_i = γ(x_i − μ)/√(σ² + ε) + β, or 'demeaned': y_i = γ(x_i − μ), "
        "batch norm without the division (001, problem 4)"
    ),
}

VARIANTS = ("full", "demeaned")
CONTINUE = Tex("")
m, i, j, k = BN.m, BN.i, BN.j, BN.k
x, y, g, xhat = BN.x, BN.y, BN.g, BN.xhat
gamma, beta, epsilon, mu, var = BN.gamma, BN.beta, BN.epsilon, BN.mu, BN.var
ROOT = sp.sqrt(var + epsilon)
MEAN = sp.Sum(x[k], (k, 1, m)) / m
VARIANCE = sp.Sum((x[k] - mu) ** 2, (k, 1, m)) / m
DX = Tex(rf"\frac{{\partial L}}{{\partial {tex(x[i])}}}")


def solve(spec: ProblemSpec) -> Part:
    """The Part for one backward pass: the chain rule through the batch statistics."""
    variant = spec.fields.get("variant", "full")
    if variant not in VARIANTS:
        known = ", ".join(f"'{v}'" for v in VARIANTS)
        raise field_error(spec, f"unknown 'variant' {variant!r}; use one of {known}")
    steps, answers = _demeaned() if variant == "demeaned" else _full()
    return Part(
        name=spec.id,
        heading=spec.title,
        statement=spec.statement,
        assumptions=_assumptions(variant),
        setup=_setup(variant),
        steps=steps,
        answers=answers,
        verification=check(variant, {name: a.value for name, a in answers.items()}),
    )


def partial(top: sp.Basic | str, bottom: sp.Basic) -> str:
    """∂top/∂bottom in LaTeX."""
    top_tex = top if isinstance(top, str) else tex(top)
    return rf"\frac{{\partial {top_tex}}}{{\partial {tex(bottom)}}}"


def paths(wrt: sp.Basic, *via: sp.Basic, summed: bool = False) -> Tex:
    """The chain rule's sum over paths, ∂L/∂v ∂v/∂wrt + …, optionally summed over j."""
    chain = " + ".join(rf"{partial('L', v)} {partial(v, wrt)}" for v in via)
    return Tex(rf"\sum_{{j=1}}^{{m}} {chain}" if summed else chain)


def inside(expr: sp.Basic) -> sp.Basic:
    """Drop sympy's "if i ≤ m" Piecewise from a summed-out delta: i is a batch index."""

    def branch(piecewise: sp.Piecewise) -> sp.Basic:
        value, condition = piecewise.args[0]
        if not condition.free_symbols <= {i, j, k, m}:
            raise UnsupportedError(f"unexpected case split in the derivation: {piecewise}")
        return value

    return expr.replace(lambda e: isinstance(e, sp.Piecewise), branch)


def pulled(expr: sp.Basic) -> sp.Basic:
    """Constant factors moved out of every Sum: Σ −γ g_j / m → −(γ/m) Σ g_j."""
    return expr.replace(lambda e: isinstance(e, sp.Sum), factor_sum)


def combined(expr: sp.Expr) -> sp.Expr:
    """``expr`` over one denominator with its common factors pulled out: γ(g_i − Σ g_j / m),
    γ (m g_i − Σ g_j − x̂_i Σ g_j x̂_j) / (m √(σ² + ε)) (what sp.simplify gave, for far less)."""
    return sp.factor_terms(sp.together(expr))


def by_term(expr: sp.Expr) -> sp.Expr:
    """Each term of a sum combined on its own, so the terms stay apart."""
    return sp.Add(*[combined(term) for term in sp.Add.make_args(expr)])


def _assumptions(variant: str) -> list[MathItem]:
    upstream = rf"{tex(g[j])} = {partial('L', y[j])}"
    found: list[MathItem] = [
        "The batch size m is symbolic; every index (i, j, k) runs from 1 to m.",
        Tex(rf"{upstream}\ \text{{: the upstream gradient of any loss }} L"),
    ]
    if variant == "demeaned":
        found.append("De-meaned batch norm: no division by the standard deviation (ε = 0), no β.")
    else:
        found.append("σ² is the biased batch variance (dividing by m), as batch norm computes it.")
    return found


def _setup(variant: str) -> list[Line]:
    lines = [Line(mu, MEAN)]
    if variant == "demeaned":
        lines += [Line(xhat[i], x[i] - mu), Line(y[i], gamma * xhat[i])]
    else:
        lines += [Line(var, VARIANCE), Line(xhat[i], (x[i] - mu) / ROOT)]
        lines.append(Line(y[i], gamma * xhat[i] + beta))
    return lines


def _demeaned() -> tuple[list[Step], dict[str, Answer]]:
    y_j = gamma * (x[j] - MEAN)
    raw = sp.diff(y_j, x[i])  # γ(δ_ij − (1/m) Σ_k δ_ik)
    local = inside(raw.doit())  # γ(δ_ij − 1/m)
    same, other = local.subs(sp.KroneckerDelta(i, j), 1), local.subs(sp.KroneckerDelta(i, j), 0)
    summed = sp.Sum(g[j] * local, (j, 1, m))
    result = inside(combined(summed.doit()))
    split = rf"\sum_{{j \ne i}} {tex(other * g[j])} + {tex(same * g[i])}"
    per_output = Tex(rf"\sum_{{j=1}}^{{m}} {tex(g[j])} {partial(y[j], x[i])}")
    steps = [
        Step(
            "Sum over every output",
            (Line(DX, paths(x[i], y[j], summed=True)), Line(CONTINUE, per_output)),
            rule="Each input enters every output through the mean, so the chain rule sums over j.",
        ),
        Step(
            "Write the output in terms of the inputs",
            (Line(y[j], y_j),),
            rule="Substitute the definition of the mean.",
        ),
        Step(
            "Differentiate one output with respect to one input",
            (
                Line(Tex(partial(y[j], x[i])), raw),
                Line(CONTINUE, local),
                Line(CONTINUE, sp.Piecewise((same, sp.Eq(i, j)), (other, sp.Ne(i, j)))),
            ),
            rule="Only the k = i term of the mean's sum depends on the input; the cases i = j "
            "and i ≠ j differ by the direct term.",
            rule_math=Tex(rf"{partial(x[k], x[i])} = \delta_{{ik}}"),
        ),
        Step(
            "Combine the sum",
            (Line(DX, summed), Line(CONTINUE, Tex(split)), Line(CONTINUE, result)),
            rule="Split off the j = i term; the remaining terms and the 1/m part of it "
            "together make the sum over all j.",
        ),
    ]
    return steps, {"dL/dx_i": Answer("dL/dx_i", DX, result)}


def _full() -> tuple[list[Step], dict[str, Answer]]:
    xhat_of = (x[j] - mu) / ROOT  # x̂_j before it is named
    output = gamma * xhat[j] + beta
    d_xhat = inside(sp.Sum(g[j] * sp.diff(output, xhat[i]), (j, 1, m)).doit())
    d_xhat_j = d_xhat.subs(i, j)
    d_var = pulled(sp.Sum(d_xhat_j * sp.diff(xhat_of, var), (j, 1, m)))
    var_by_mu = sp.diff(VARIANCE, mu)  # (1/m) Σ (2μ − 2x_k)
    var_by_mu_sum = pulled(sp.expand(var_by_mu).doit())
    if var_by_mu_sum.subs(sp.Sum(x[k], (k, 1, m)), m * mu) != 0:
        raise UnsupportedError(f"∂σ²/∂μ did not vanish: {var_by_mu_sum}")
    d_mu = pulled(sp.Sum(d_xhat_j * sp.diff(xhat_of, mu), (j, 1, m)))
    local = {  # ∂x̂_i/∂x_i, ∂σ²/∂x_i (μ held), ∂μ/∂x_i
        xhat[i]: sp.diff((x[i] - mu) / ROOT, x[i]),
        var: inside(sp.diff(VARIANCE, x[i]).doit()),
        mu: inside(sp.diff(MEAN, x[i]).doit()),
    }
    upstream = {xhat[i]: d_xhat, var: d_var, mu: d_mu}
    d_x = sp.Add(*[upstream[v] * local[v] for v in local])
    in_xhat = d_x.replace(
        lambda e: isinstance(e, sp.Indexed) and e.base == x,
        lambda e: mu + xhat[e.indices[0]] * ROOT,
    )
    result = combined(in_xhat)
    d_gamma = inside(sp.Sum(g[j] * sp.diff(output, gamma), (j, 1, m)).doit())
    d_beta = inside(sp.Sum(g[j] * sp.diff(output, beta), (j, 1, m)).doit())
    steps = [
        Step(
            "Backpropagate into the standardised values",
            (
                Line(Tex(partial("L", xhat[i])), paths(xhat[i], y[j], summed=True)),
                Line(CONTINUE, d_xhat),
            ),
            rule="Each output depends on its own standardised value only, with slope γ.",
            rule_math=Tex(rf"{partial(y[j], xhat[i])} = \gamma\, \delta_{{ij}}"),
        ),
        Step(
            "Backpropagate into the variance",
            (Line(Tex(partial("L", var)), paths(var, xhat[j], summed=True)), Line(CONTINUE, d_var)),
            rule="Every standardised value divides by the same square root of σ² + ε.",
            rule_math=Tex(rf"{partial(xhat[j], var)} = {tex(sp.diff(xhat_of, var))}"),
        ),
        Step(
            "Backpropagate into the mean",
            (
                Line(Tex(partial(var, mu)), var_by_mu),
                Line(CONTINUE, var_by_mu_sum),
                Line(CONTINUE, sp.Integer(0)),
                Line(
                    Tex(partial("L", mu)),
                    Tex(f"{paths(mu, var)} + {paths(mu, xhat[j], summed=True)}"),
                ),
                Line(CONTINUE, d_mu),
            ),
            rule="The deviations from the mean sum to zero, so the path through σ² vanishes and "
            "the mean reaches L only through the standardised values.",
            rule_math=Tex(rf"\sum_{{k=1}}^{{m}} {tex(x[k])} = m \mu"),
        ),
        Step(
            "Backpropagate into the inputs",
            (
                *(Line(Tex(partial(v, x[i])), derivative) for v, derivative in local.items()),
                Line(DX, paths(x[i], *local)),
                Line(CONTINUE, d_x),
            ),
            rule="An input reaches L three ways: through its own standardised value, through the "
            "variance and through the mean; add the three paths.",
        ),
        Step(
            "Write the result in the standardised values",
            (Line(DX, by_term(pulled(sp.expand(in_xhat)))), Line(CONTINUE, result)),
            rule="Replace each deviation by its standardised value, then put everything over "
            "one denominator.",
            rule_math=Tex(rf"{tex(x[j])} - \mu = {tex(xhat[j] * ROOT)}"),
        ),
        Step(
            "Gradients of the scale and the shift",
            (Line(Tex(partial("L", gamma)), d_gamma), Line(Tex(partial("L", beta)), d_beta)),
            rule="γ and β are shared by every output, so their gradients sum over j.",
            rule_math=Tex(
                rf"{partial(y[j], gamma)} = {tex(xhat[j])},\quad {partial(y[j], beta)} = 1"
            ),
        ),
    ]
    answers = {
        "dL/dx_i": Answer("dL/dx_i", DX, result),
        "dL/dgamma": Answer("dL/dgamma", Tex(partial("L", gamma)), d_gamma),
        "dL/dbeta": Answer("dL/dbeta", Tex(partial("L", beta)), d_beta),
    }
    return steps, answers
