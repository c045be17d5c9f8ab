# ruff: noqa: N803, N806 - matrices are capitals (A, U, Σ), as in the math
"""Kind "least_squares": the minimiser of ‖Ax − b‖² + λ‖x‖² by matrix calculus, and its SVD reading.

The objective is expanded, differentiated term by term with sympy's matrix derivative, set to
zero and solved; A = UΣVᵀ then shows each singular direction scaled by σ_i / (σ_i² + λ).
Every answer is checked with numpy (``least_squares_check``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from derive.errors import VerificationError
from derive.model import Answer, Line, MathItem, Part, Step, Tex
from derive.printing import tex
from derive.problems import ProblemSpec
from derive.problems.field_values import field_error, symbol_or_number
from derive.problems.least_squares_check import check

FIELDS: dict[str, str] = {
    "regularization": (
        "the ridge weight λ: a name (e.g. lambda, a positive symbol) or a number ≥ 0; "
        "0 or absent for plain least squares"
    ),
}

ENTRY = sp.Symbol("k", integer=True, positive=True)  # the entry x_k of the index form
STAR = Tex(r"x^{\star}")


@dataclass(frozen=True)
class Symbols:
    """The problem's matrices, dimensions, SVD factors and ridge weight."""

    m: sp.Symbol
    n: sp.Symbol
    A: sp.MatrixSymbol
    b: sp.MatrixSymbol
    x: sp.MatrixSymbol
    U: sp.MatrixSymbol
    S: sp.MatrixSymbol  # Σ, m×n with the singular values on its diagonal
    V: sp.MatrixSymbol
    lam: sp.Expr  # λ: a positive Symbol, a positive Rational, or 0

    @property
    def ridge(self) -> bool:
        return self.lam != 0

    @property
    def rank(self) -> sp.Expr:
        """How many singular values the SVD sum runs over (n when A has full column rank)."""
        return sp.Min(self.m, self.n) if self.ridge else self.n

    def shifted(self, M: sp.MatrixExpr, *, evaluate: bool = False) -> sp.MatrixExpr:
        """M + λI (M without a ridge); unevaluated, it prints in this order."""
        if not self.ridge:
            return M
        return sp.MatAdd(M, self.lam * sp.Identity(self.n), evaluate=evaluate)


def make_symbols(lam: sp.Expr) -> Symbols:
    m, n = sp.symbols("m n", integer=True, positive=True)
    return Symbols(
        m=m,
        n=n,
        A=sp.MatrixSymbol("A", m, n),
        b=sp.MatrixSymbol("b", m, 1),
        x=sp.MatrixSymbol("x", n, 1),
        U=sp.MatrixSymbol("U", m, m),
        S=sp.MatrixSymbol("Sigma", m, n),
        V=sp.MatrixSymbol("V", n, n),
        lam=lam,
    )


def solve(spec: ProblemSpec) -> Part:
    """The Part for one least-squares problem: expand, differentiate, solve, read the SVD."""
    s = make_symbols(_regularization(spec))
    A, b, x = s.A, s.b, s.x
    terms = [x.T * A.T * A * x, -2 * x.T * A.T * b, b.T * b]
    if s.ridge:
        terms.append(s.lam * x.T * x)
    gradient = sp.MatAdd(*terms).diff(x)
    # a term without x (bᵀb) is a constant; sympy would leave its derivative unevaluated
    pieces = [t.diff(x) if x in t.free_symbols else sp.ZeroMatrix(s.n, 1) for t in terms]
    collected = sp.MatMul(s.shifted(A.T * A), x, evaluate=False)
    # ∇f = Σ ∇(term), and ∇f / 2 = (AᵀA + λI)x − Aᵀb: the normal equations are the gradient
    for claim in (sp.MatAdd(*pieces) - gradient, gradient / 2 - collected + A.T * b):
        if claim.doit().expand().doit() != sp.ZeroMatrix(s.n, 1):
            raise VerificationError(f"least squares: the gradient steps disagree ({claim})")
    closed = sp.Inverse(s.shifted(A.T * A, evaluate=True)) * A.T * b
    svd_form = s.V * sp.Inverse(s.shifted(s.S.T * s.S, evaluate=True)) * s.S.T * s.U.T * b
    entry = Line(Tex(rf"{tex(x[ENTRY, 0])}^{{\star}}"), _split_fraction(_entry_sum(s, ENTRY)))
    answers = {
        "gradient": Answer("gradient", Tex(r"\nabla_{x} f"), gradient, shape=("n", 1)),
        "x": Answer("x", STAR, closed, shape=("n", 1)),
        "x_svd": Answer("x_svd", STAR, svd_form, shape=("n", 1), index_form=entry),
    }
    nonzero = [p for p in pieces if not isinstance(p, sp.ZeroMatrix)]
    ordered_gradient = _ordered(sp.MatAdd(*nonzero, evaluate=False))
    invertible = (
        "AᵀA + λI is invertible: its eigenvalues are the squared singular values plus λ > 0."
        if s.ridge
        else "AᵀA is invertible because A has full column rank."
    )
    steps = [
        _expand_step(s, terms),
        Step(
            "Take the gradient with respect to x",
            (
                *(
                    Line(Tex(rf"\nabla_{{x}}\left({tex(t)}\right)"), p)
                    for t, p in zip(terms, pieces, strict=True)
                ),
                Line(Tex(r"\nabla_{x} f"), ordered_gradient),
            ),
            rule="Term by term: AᵀA is symmetric, and bᵀb does not depend on x.",
            rule_math=Tex(
                r"\nabla_{x}(x^{\top} M x) = (M + M^{\top})\, x,\quad \nabla_{x}(x^{\top} c) = c"
            ),
        ),
        Step(
            "Set the gradient to zero",
            (Line(ordered_gradient, sp.ZeroMatrix(s.n, 1)), Line(_ordered(collected), A.T * b)),
            rule=(
                "f is convex (its Hessian is twice the matrix in front of x, positive definite), "
                "so the stationary point is the unique minimiser. Divide by 2 and collect x."
            ),
        ),
        Step("Solve for x", (Line(STAR, _ordered(_closed_display(s))),), rule=invertible),
        _svd_step(s, svd_form),
        _shrinkage_step(s),
    ]
    return Part(
        name=spec.id,
        heading=spec.title,
        statement=spec.statement,
        assumptions=_assumptions(s),
        setup=[Line(Tex("f(x)"), Tex(_norms(s)))],
        steps=steps,
        answers=answers,
        verification=check(s, answers, _entry_sum(s, ENTRY), ENTRY),
    )


def _regularization(spec: ProblemSpec) -> sp.Expr:
    value = spec.fields.get("regularization")
    if value is None:
        return sp.Integer(0)
    lam = symbol_or_number(spec, value, what="'regularization'")
    if lam.is_negative:
        raise field_error(spec, f"'regularization' must be ≥ 0, not {lam}")
    return lam


def _norms(s: Symbols) -> str:
    residual = rf"\lVert {tex(s.A * s.x - s.b)} \rVert^{{2}}"
    return rf"{residual} + {tex(s.lam)} \lVert x \rVert^{{2}}" if s.ridge else residual


def _ordered(expr: sp.Basic) -> Tex:
    """``expr`` printed with its terms in the order the derivation built them."""
    return Tex(tex(expr, order="none"))


def _split_fraction(expr: sp.Basic) -> Tex:
    """σ_i/(σ_i² + λ) V_ki Σ_j …: the coefficient as its own fraction, the rest beside it."""
    return Tex(tex(expr, long_frac_ratio=0.5))


def _closed_display(s: Symbols) -> sp.MatrixExpr:
    return sp.MatMul(sp.Inverse(s.shifted(s.A.T * s.A)), s.A.T, s.b, evaluate=False)


def _assumptions(s: Symbols) -> list[MathItem]:
    found: list[MathItem] = [
        Tex(r"A \in \mathbb{R}^{m \times n},\ b \in \mathbb{R}^{m},\ x \in \mathbb{R}^{n}")
    ]
    if s.ridge:
        found.append(Tex(rf"{tex(s.lam)} > 0"))
    else:
        found.append("A has full column rank (rank n ≤ m), so AᵀA is invertible.")
    found.append(
        Tex(
            r"A = U \Sigma V^{\top},\ U^{\top} U = I,\ V^{\top} V = V V^{\top} = I,"
            r"\ \sigma_i = \Sigma_{ii}"
        )
    )
    found.append(Tex(r"u_i, v_i:\ \text{the } i\text{-th columns of } U, V"))
    return found


def _expand_step(s: Symbols, terms: list[sp.MatrixExpr]) -> Step:
    A, b, x = s.A, s.b, s.x
    residual = sp.MatMul(sp.Transpose(A * x - b), A * x - b, evaluate=False)
    ridge = [s.lam * x.T * x] if s.ridge else []
    expanded = [x.T * A.T * A * x, -(x.T * A.T * b), -(b.T * A * x), b.T * b]
    lines = (
        Line(Tex("f(x)"), Tex(_norms(s))),
        Line(Tex(""), _ordered(sp.MatAdd(residual, *ridge, evaluate=False))),
        Line(Tex(""), _ordered(sp.MatAdd(*expanded, *ridge, evaluate=False))),
        Line(Tex(""), _ordered(sp.MatAdd(*terms, evaluate=False))),
    )
    return Step(
        "Expand the objective",
        lines,
        rule="A squared norm is vᵀv; bᵀAx is 1×1, so it equals its transpose.",
        rule_math=Tex(r"\lVert v \rVert^{2} = v^{\top} v,\quad b^{\top} A x = x^{\top} A^{\top} b"),
    )


def _coefficient(s: Symbols, i: sp.Symbol) -> sp.Expr:
    """σ_i / (σ_i² + λ): how much of u_iᵀb the minimiser keeps along v_i."""
    sigma = sp.IndexedBase("sigma")[i]
    return sigma / (sigma**2 + s.lam)


def _entry_sum(s: Symbols, k: sp.Symbol) -> sp.Expr:
    """x_k = Σ_i σ_i/(σ_i² + λ) V_ki Σ_j U_ji b_j (indices from 1)."""
    i, j = sp.symbols("i j", integer=True, positive=True)
    U, V, b = (sp.IndexedBase(matrix.name) for matrix in (s.U, s.V, s.b))
    projection = sp.Sum(U[j, i] * b[j], (j, 1, s.m))  # u_iᵀb
    return sp.Sum(_coefficient(s, i) * V[k, i] * projection, (i, 1, s.rank))


def _svd_step(s: Symbols, svd_form: sp.MatrixExpr) -> Step:
    i = sp.Symbol("i", integer=True, positive=True)
    middle = s.shifted(s.S.T * s.S)
    terms = rf"{tex(_coefficient(s, i))}\,\left(u_{{i}}^{{\top}} b\right) v_{{i}}"
    lines = (
        Line(s.A, s.U * s.S * s.V.T),
        Line(
            _ordered(s.shifted(s.A.T * s.A)),
            _ordered(sp.MatMul(s.V, middle, s.V.T, evaluate=False)),
        ),
        Line(STAR, _ordered(sp.MatMul(s.V, sp.Inverse(middle), s.S.T, s.U.T, s.b, evaluate=False))),
        Line(Tex(""), Tex(rf"\sum_{{i=1}}^{{{tex(s.rank)}}} {terms}")),
    )
    return Step(
        "Read the solution through the SVD",
        lines,
        rule=(
            "U and V are orthogonal, so inverting needs only the diagonal middle factor: each "
            "right singular vector gets its own factor times the component of b along the "
            "matching left singular vector."
        ),
    )


def _shrinkage_step(s: Symbols) -> Step:
    sigma = sp.Symbol("sigma", positive=True)
    factor = sigma / (sigma**2 + s.lam)
    blow_up = Line(
        Tex(rf"\lim_{{\sigma \to 0^{{+}}}} {tex(1 / sigma)}"), sp.limit(1 / sigma, sigma, 0)
    )
    if not s.ridge:
        return Step(
            "Interpret: small singular values blow up",
            (blow_up,),
            rule=(
                "Plain least squares divides the component of b along each direction by its "
                "singular value: noise in directions with tiny singular values is amplified "
                "without bound. A ridge term λxᵀx keeps the factor bounded."
            ),
        )
    slope = sp.factor(sp.diff(factor, sigma))
    (peak,) = sp.solve(slope, sigma)
    lines = (
        Line(Tex(rf"\frac{{d}}{{d\sigma}} {tex(factor)}"), slope),
        Line(Tex(rf"\max_{{\sigma > 0}} {tex(factor)}"), sp.simplify(factor.subs(sigma, peak))),
        Line(Tex(rf"\lim_{{\sigma \to 0^{{+}}}} {tex(factor)}"), sp.limit(factor, sigma, 0)),
        blow_up,
    )
    return Step(
        "Interpret: λ keeps small singular values from blowing up",
        lines,
        rule=(
            "Without λ each direction is scaled by 1/σ, unbounded as σ → 0. Adding λ shifts the "
            "singular values of AᵀA away from zero (σ² → σ² + λ) before inverting: no direction "
            "is amplified by more than the maximum, and tiny singular values are damped to zero."
        ),
        rule_math=Tex(rf"\text{{slope zero at }} \sigma = {tex(peak)}"),
    )
