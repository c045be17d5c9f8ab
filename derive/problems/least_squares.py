# ruff: noqa: N803, N806 - matrices are capitals (A, U, Σ), as in the math
"""Kind "least_squares": the minimiser of ‖Ax − b‖² + λ‖x‖² by matrix calculus, and its SVD reading.

The objective is expanded, differentiated term by term with sympy's matrix derivative, set to
zero and solved; A = UΣVᵀ then shows each singular direction scaled by σ_i / (σ_i² + λ).
The names are the problem's own (``least_squares_notation``: X, θ, y, with or without ½).
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
from derive.problems.least_squares_notation import FIELDS as NOTATION_FIELDS
from derive.problems.least_squares_notation import Notation, plain, read_notation

FIELDS: dict[str, str] = {
    "regularization": (
        "the ridge weight λ: a name (e.g. lambda, a positive symbol) or a number ≥ 0; "
        "0 or absent for plain least squares"
    ),
    **NOTATION_FIELDS,
}

ENTRY = sp.Symbol("k", integer=True, positive=True)  # the entry x_k of the index form


@dataclass(frozen=True)
class Symbols:
    """The problem's matrices, dimensions, SVD factors and ridge weight, in its notation."""

    m: sp.Symbol
    n: sp.Symbol
    A: sp.MatrixSymbol
    b: sp.MatrixSymbol
    x: sp.MatrixSymbol
    U: sp.MatrixSymbol
    S: sp.MatrixSymbol  # Σ, m×n with the singular values on its diagonal
    V: sp.MatrixSymbol
    lam: sp.Expr  # λ: a positive Symbol, a positive Rational, or 0
    half: bool = False  # ½‖Ax − b‖² + (λ/2)‖x‖² (CS229) instead of ‖Ax − b‖² + λ‖x‖²

    @property
    def ridge(self) -> bool:
        return self.lam != 0

    @property
    def scale(self) -> sp.Rational:
        """The factor in front of the whole objective: ½ or 1."""
        return sp.Rational(1, 2) if self.half else sp.Integer(1)

    @property
    def rank(self) -> sp.Expr:
        """How many singular values the SVD sum runs over (n when A has full column rank)."""
        return sp.Min(self.m, self.n) if self.ridge else self.n

    @property
    def star(self) -> Tex:
        """x⋆, the minimiser's label."""
        return Tex(rf"{tex(self.x)}^{{\star}}")

    def words(self, text: str) -> str:
        """Running text with {A}, {x}, {b}, {m}, {n} in the problem's names ({A}ᵀ{A} → XᵀX)."""
        names = {"A": self.A, "x": self.x, "b": self.b, "m": self.m, "n": self.n}
        return text.format(**{key: plain(symbol.name) for key, symbol in names.items()})

    def shifted(self, M: sp.MatrixExpr, *, evaluate: bool = False) -> sp.MatrixExpr:
        """M + λI (M without a ridge); unevaluated, it prints in this order."""
        if not self.ridge:
            return M
        return sp.MatAdd(M, self.lam * sp.Identity(self.n), evaluate=evaluate)


def make_symbols(lam: sp.Expr, notation: Notation | None = None) -> Symbols:
    names = notation or Notation()
    m, n = (sp.Symbol(name, integer=True, positive=True) for name in (names.rows, names.cols))
    return Symbols(
        m=m,
        n=n,
        A=sp.MatrixSymbol(names.matrix, m, n),
        b=sp.MatrixSymbol(names.target, m, 1),
        x=sp.MatrixSymbol(names.unknown, n, 1),
        U=sp.MatrixSymbol("U", m, m),
        S=sp.MatrixSymbol("Sigma", m, n),
        V=sp.MatrixSymbol("V", n, n),
        lam=lam,
        half=names.half,
    )


def solve(spec: ProblemSpec) -> Part:
    """The Part for one least-squares problem: expand, differentiate, solve, read the SVD."""
    lam = _regularization(spec)
    weight = str(lam) if isinstance(lam, sp.Symbol) else None
    s = make_symbols(lam, read_notation(spec, weight=weight))
    A, b, x, c = s.A, s.b, s.x, s.scale
    terms = [c * x.T * A.T * A * x, -2 * c * x.T * A.T * b, c * b.T * b]
    if s.ridge:
        terms.append(c * s.lam * x.T * x)
    # ∇f = Σ ∇(term), each term differentiated once (a term without x, bᵀb, is a constant:
    # sympy would leave its derivative unevaluated)
    pieces = [t.diff(x) if x in t.free_symbols else sp.ZeroMatrix(s.n, 1) for t in terms]
    gradient = sp.MatAdd(*pieces).doit()
    collected = sp.MatMul(s.shifted(A.T * A), x, evaluate=False)
    # ∇f / (2c) = (AᵀA + λI)x − Aᵀb: the normal equations are the gradient
    claim = gradient / (2 * c) - collected + A.T * b
    if claim.doit().expand().doit() != sp.ZeroMatrix(s.n, 1):
        raise VerificationError(f"least squares: the gradient steps disagree ({claim})")
    closed = sp.Inverse(s.shifted(A.T * A, evaluate=True)) * A.T * b
    svd_form = s.V * sp.Inverse(s.shifted(s.S.T * s.S, evaluate=True)) * s.S.T * s.U.T * b
    entry = Line(Tex(rf"{tex(x[ENTRY, 0])}^{{\star}}"), _split_fraction(_entry_sum(s, ENTRY)))
    shape = (s.n.name, 1)
    nabla = Tex(rf"\nabla_{{{tex(x)}}} f")
    answers = {
        "gradient": Answer("gradient", nabla, gradient, shape=shape),
        x.name: Answer(x.name, s.star, closed, shape=shape),
        f"{x.name}_svd": Answer(f"{x.name}_svd", s.star, svd_form, shape=shape, index_form=entry),
    }
    nonzero = [p for p in pieces if not isinstance(p, sp.ZeroMatrix)]
    ordered_gradient = _ordered(sp.MatAdd(*nonzero, evaluate=False))
    invertible = (
        "{A}ᵀ{A} + λI is invertible: its eigenvalues are the squared singular values plus λ > 0."
        if s.ridge
        else "{A}ᵀ{A} is invertible because {A} has full column rank."
    )
    steps = [
        _expand_step(s, terms),
        Step(
            s.words("Take the gradient with respect to {x}"),
            (
                *(
                    Line(Tex(rf"\nabla_{{{tex(x)}}}\left({tex(t)}\right)"), p)
                    for t, p in zip(terms, pieces, strict=True)
                ),
                Line(nabla, ordered_gradient),
            ),
            rule=s.words("Term by term: {A}ᵀ{A} is symmetric, and {b}ᵀ{b} does not depend on {x}."),
            rule_math=Tex(
                r"\nabla_{v}(v^{\top} M v) = (M + M^{\top})\, v,"
                r"\quad \nabla_{v}(v^{\top} c) = c"
            ),
        ),
        Step(
            "Set the gradient to zero",
            (Line(ordered_gradient, sp.ZeroMatrix(s.n, 1)), Line(_ordered(collected), A.T * b)),
            rule=_stationary_rule(s),
        ),
        Step(
            s.words("Solve for {x}"),
            (Line(s.star, _ordered(_closed_display(s))),),
            rule=s.words(invertible),
        ),
        _svd_step(s, svd_form),
        _shrinkage_step(s),
    ]
    objective = Tex(rf"f({tex(x)})")
    return Part(
        name=spec.id,
        heading=spec.title,
        statement=spec.statement,
        assumptions=_assumptions(s),
        setup=[Line(objective, Tex(_norms(s)))],
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


def _stationary_rule(s: Symbols) -> str:
    """Why the stationary point is the minimiser, and what the ½ does (and does not) change."""
    if not s.half:
        return s.words(
            "f is convex (its Hessian is twice the matrix in front of {x}, positive definite), "
            "so the stationary point is the unique minimiser. Divide by 2 and collect {x}."
        )
    unhalved = "‖{A}{x} − {b}‖² + λ‖{x}‖² with the same λ" if s.ridge else "‖{A}{x} − {b}‖²"
    return s.words(
        "f is convex (its Hessian is the matrix in front of {x}, positive definite), so the "
        "stationary point is the unique minimiser; collect {x}. The ½ scales f and its "
        "gradient by the same positive constant: it removes the 2 from the gradient but does "
        "not move the point where the gradient vanishes, so the minimiser is that of "
        f"{unhalved}."
    )


def _norms(s: Symbols) -> str:
    residual = rf"\lVert {tex(s.A * s.x - s.b)} \rVert^{{2}}"
    ridge = rf"\lVert {tex(s.x)} \rVert^{{2}}"
    if s.half:
        half = r"\frac{1}{2} "
        return rf"{half}{residual} + {tex(s.lam / 2)} {ridge}" if s.ridge else half + residual
    return rf"{residual} + {tex(s.lam)} {ridge}" if s.ridge else residual


def _ordered(expr: sp.Basic) -> Tex:
    """``expr`` printed with its terms in the order the derivation built them."""
    return Tex(tex(expr, order="none"))


def _split_fraction(expr: sp.Basic) -> Tex:
    """σ_i/(σ_i² + λ) V_ki Σ_j …: the coefficient as its own fraction, the rest beside it."""
    return Tex(tex(expr, long_frac_ratio=0.5))


def _closed_display(s: Symbols) -> sp.MatrixExpr:
    return sp.MatMul(sp.Inverse(s.shifted(s.A.T * s.A)), s.A.T, s.b, evaluate=False)


def _assumptions(s: Symbols) -> list[MathItem]:
    A, b, x, m, n = (tex(item) for item in (s.A, s.b, s.x, s.m, s.n))
    reals = r"\in \mathbb{R}"
    found: list[MathItem] = [
        Tex(rf"{A} {reals}^{{{m} \times {n}}},\ {b} {reals}^{{{m}}},\ {x} {reals}^{{{n}}}")
    ]
    if s.ridge:
        found.append(Tex(rf"{tex(s.lam)} > 0"))
    else:
        found.append(
            s.words("{A} has full column rank (rank {n} ≤ {m}), so {A}ᵀ{A} is invertible.")
        )
    found.append(
        Tex(
            rf"{A} = U \Sigma V^{{\top}},\ U^{{\top}} U = I,\ V^{{\top}} V = V V^{{\top}} = I,"
            r"\ \sigma_i = \Sigma_{ii}"
        )
    )
    found.append(Tex(r"u_i, v_i:\ \text{the } i\text{-th columns of } U, V"))
    return found


def _expand_step(s: Symbols, terms: list[sp.MatrixExpr]) -> Step:
    A, b, x, c = s.A, s.b, s.x, s.scale
    residual = sp.MatMul(sp.Transpose(A * x - b), A * x - b, evaluate=False)
    ridge = [c * s.lam * x.T * x] if s.ridge else []
    expanded = sp.MatAdd(x.T * A.T * A * x, -(x.T * A.T * b), -(b.T * A * x), b.T * b)
    if s.half:
        residual = sp.MatMul(c, residual, evaluate=False)
        expanded = sp.MatMul(c, expanded, evaluate=False)
    lines = (
        Line(Tex(rf"f({tex(x)})"), Tex(_norms(s))),
        Line(Tex(""), _ordered(sp.MatAdd(residual, *ridge, evaluate=False))),
        Line(Tex(""), _ordered(sp.MatAdd(expanded, *ridge, evaluate=False))),
        Line(Tex(""), _ordered(sp.MatAdd(*terms, evaluate=False))),
    )
    return Step(
        "Expand the objective",
        lines,
        rule=s.words("A squared norm is vᵀv; {b}ᵀ{A}{x} is 1×1, so it equals its transpose."),
        rule_math=Tex(
            rf"\lVert v \rVert^{{2}} = v^{{\top}} v,\quad {tex(b.T * A * x)} = {tex(x.T * A.T * b)}"
        ),
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
    terms = rf"{tex(_coefficient(s, i))}\,\left(u_{{i}}^{{\top}} {tex(s.b)}\right) v_{{i}}"
    lines = (
        Line(s.A, s.U * s.S * s.V.T),
        Line(
            _ordered(s.shifted(s.A.T * s.A)),
            _ordered(sp.MatMul(s.V, middle, s.V.T, evaluate=False)),
        ),
        Line(
            s.star,
            _ordered(sp.MatMul(s.V, sp.Inverse(middle), s.S.T, s.U.T, s.b, evaluate=False)),
        ),
        Line(Tex(""), Tex(rf"\sum_{{i=1}}^{{{tex(s.rank)}}} {terms}")),
    )
    return Step(
        "Read the solution through the SVD",
        lines,
        rule=s.words(
            "U and V are orthogonal, so inverting needs only the diagonal middle factor: each "
            "right singular vector gets its own factor times the component of {b} along the "
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
            rule=s.words(
                "Plain least squares divides the component of {b} along each direction by its "
                "singular value: noise in directions with tiny singular values is amplified "
                "without bound. A ridge term λ{x}ᵀ{x} keeps the factor bounded."
            ),
        )
    slope = sp.factor(sp.diff(factor, sigma))
    (peak,) = [root for root in sp.roots(sp.numer(sp.together(slope)), sigma) if root.is_positive]
    lines = (
        Line(Tex(rf"\frac{{d}}{{d\sigma}} {tex(factor)}"), slope),
        Line(Tex(rf"\max_{{\sigma > 0}} {tex(factor)}"), sp.cancel(factor.subs(sigma, peak))),
        Line(Tex(rf"\lim_{{\sigma \to 0^{{+}}}} {tex(factor)}"), sp.limit(factor, sigma, 0)),
        blow_up,
    )
    return Step(
        "Interpret: λ keeps small singular values from blowing up",
        lines,
        rule=s.words(
            "Without λ each direction is scaled by 1/σ, unbounded as σ → 0. Adding λ shifts the "
            "singular values of {A}ᵀ{A} away from zero (σ² → σ² + λ) before inverting: no "
            "direction is amplified by more than the maximum, and tiny singular values are "
            "damped to zero."
        ),
        rule_math=Tex(rf"\text{{slope zero at }} \sigma = {tex(peak)}"),
    )
