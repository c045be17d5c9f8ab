"""Activations with kinks or parameters: leaky_relu, gelu, hardtanh, clip, huber, max and min.

Each is a sympy function whose ``fdiff`` is the textbook derivative, argument by argument
(the parameter's too, so α in ``leaky_relu(x, alpha)`` can be differentiated). Piecewise
derivatives are indicators, ``sp.Heaviside(a - b)`` printed 𝕀[a > b]; Φ and φ are the standard
normal CDF and density that GELU is written with. The table rows are in ``derive.functions``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.printing.printer import Printer

from derive.errors import ShapeError
from derive.model import Shape

SCALAR: Shape = (sp.Integer(1), sp.Integer(1))
GELU_CUBIC = sp.Float("0.044715")  # the cubic coefficient of GELU's tanh approximation


def _step(x: sp.Expr) -> sp.Expr:
    """𝕀[x > 0]."""
    return sp.Heaviside(x)


class leaky_relu(sp.Function):  # noqa: N801 - sympy function classes are lower case
    """x for x > 0, α x otherwise."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, alpha = self.args
        if argindex == 1:
            # leaky_relu'(x) = 𝕀[x > 0] + α 𝕀[x ≤ 0]
            return _step(x) + alpha * _step(-x)
        # ∂/∂α = x 𝕀[x ≤ 0]
        return x * _step(-x)


class normal_cdf(sp.Function):  # noqa: N801
    """Φ(x) = (1 + erf(x / √2)) / 2, the standard normal distribution function."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # Φ'(x) = φ(x)
        (x,) = self.args
        return normal_pdf(x)

    def _eval_rewrite_as_erf(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return (1 + sp.erf(x / sp.sqrt(2))) / 2


class normal_pdf(sp.Function):  # noqa: N801
    """φ(x) = e^{−x²/2} / √(2π), the standard normal density."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # φ'(x) = −x φ(x)
        (x,) = self.args
        return -x * normal_pdf(x)

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)


class gelu(sp.Function):  # noqa: N801
    """The Gaussian error linear unit x Φ(x) (exact, with the normal CDF)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # gelu'(x) = Φ(x) + x φ(x)
        (x,) = self.args
        return normal_cdf(x) + x * normal_pdf(x)

    def _eval_rewrite_as_erf(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return x * normal_cdf(x).rewrite(sp.erf)


def gelu_tanh_inner(x: sp.Expr) -> sp.Expr:
    """u = √(2/π) (x + 0.044715 x³), the argument of tanh in GELU's approximation."""
    return sp.sqrt(2 / sp.pi) * (x + GELU_CUBIC * x**3)


class gelu_tanh(sp.Function):  # noqa: N801
    """GELU's tanh approximation ½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # gelu_tanh'(x) = ½ (1 + tanh u) + ½ x (1 − tanh² u) √(2/π) (1 + 3 · 0.044715 x²)
        (x,) = self.args
        t = sp.tanh(gelu_tanh_inner(x))
        slope = sp.sqrt(2 / sp.pi) * (1 + 3 * GELU_CUBIC * x**2)
        return (1 + t) / 2 + x * (1 - t**2) * slope / 2

    def _eval_rewrite_as_tanh(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return x * (1 + sp.tanh(gelu_tanh_inner(x))) / 2


class hardtanh(sp.Function):  # noqa: N801
    """x clipped to [−1, 1]."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # hardtanh'(x) = 𝕀[x > −1] 𝕀[x < 1]
        (x,) = self.args
        return _step(x + 1) * _step(1 - x)


class clip(sp.Function):  # noqa: N801
    """x clipped to [a, b]."""

    nargs = 3

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, low, high = self.args
        if argindex == 1:
            # clip'(x) = 𝕀[x > a] 𝕀[x < b]
            return _step(x - low) * _step(high - x)
        if argindex == 2:
            return _step(low - x)  # ∂/∂a = 𝕀[x < a]
        return _step(x - high)  # ∂/∂b = 𝕀[x > b]


class huber(sp.Function):  # noqa: N801
    """The Huber (smooth L1) function: x²/2 for |x| ≤ δ, else δ (|x| − δ/2)."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x, delta = self.args
        if argindex == 1:
            # huber'(x) = clip(x, −δ, δ)
            return clip(x, -delta, delta)
        # ∂/∂δ = |x| − δ where |x| > δ, else 0: 𝕀[x > δ] (x − δ) − 𝕀[−x > δ] (x + δ)
        return _step(x - delta) * (x - delta) - _step(-x - delta) * (x + delta)


class maximum(sp.Function):  # noqa: N801
    """max(a, b) of two scalars (entrywise for a matrix and a scalar); kept as written."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, b = self.args
        # ∂/∂a = 𝕀[a > b], ∂/∂b = 𝕀[a ≤ b]
        return _step(a - b) if argindex == 1 else _step(b - a)


class minimum(sp.Function):  # noqa: N801
    """min(a, b) of two scalars (entrywise for a matrix and a scalar); kept as written."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, b = self.args
        # ∂/∂a = 𝕀[a < b], ∂/∂b = 𝕀[a ≥ b]
        return _step(b - a) if argindex == 1 else _step(a - b)


class is_equal(sp.Function):  # noqa: N801
    """𝕀[a = b]: which entry a max or min over entries picked (its derivative, away from ties)."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class entry_max(sp.Function):  # noqa: N801
    """The largest entry of a vector or matrix (max pooling over a window)."""

    def _eval_is_commutative(self) -> bool:
        return True  # a scalar, although its argument is a matrix

    def fdiff(self, argindex: int = 1) -> sp.Basic:
        # δ_x = δ_z 𝕀[x = max(x)]: the arg-max entry takes the whole adjoint
        return _entrywise_indicator(self.args[0], self)


class entry_min(sp.Function):  # noqa: N801
    """The smallest entry of a vector or matrix."""

    def _eval_is_commutative(self) -> bool:
        return True  # a scalar, although its argument is a matrix

    def fdiff(self, argindex: int = 1) -> sp.Basic:
        # δ_x = δ_z 𝕀[x = min(x)]
        return _entrywise_indicator(self.args[0], self)


def _entrywise_indicator(argument: sp.Basic, extreme: sp.Expr) -> sp.Basic:
    return ExtremeIndicator(extreme.func, argument)


class ExtremeIndicator(ElementwiseApplyFunction):
    """𝕀[X = max(X)] (or min) entry by entry, applied to X: which entry a max over entries
    picked. The extreme is always taken over the very X it is applied to, however X is rebuilt.

    The indicator is evaluated by exact equality, so its two sides must be the same numbers.
    The backward pass and tidying rewrite X (transposed: (s W x)ᵀ = s xᵀ Wᵀ; distributed:
    c (A + B) = c A + c B); a max left over X as first written rounds differently and picks no
    entry. X is only ever rearranged (X or Xᵀ), and max(Xᵀ) = max(X), so the constructor takes
    the extreme over whatever X it is given. Printed and written to JSON as the plain
    entrywise function 𝕀[X = max(X)].
    """

    def __new__(
        cls, function: sp.Lambda | type[entry_max] | type[entry_min], argument: sp.Basic
    ) -> ExtremeIndicator:
        from derive.functions import ENTRY, rebound  # the table module imports this one

        extreme = function if isinstance(function, type) else function.expr.args[1].func
        if isinstance(function, sp.Lambda) and function.expr.args[1].args[0] is argument:
            return super().__new__(cls, function, argument)  # a rebuild that changed nothing
        indicator = rebound(sp.Lambda(ENTRY, is_equal(ENTRY, extreme(argument))))
        return super().__new__(cls, indicator, argument)

    def _sympyrepr(self, printer: Printer) -> str:
        function, argument = (printer._print(a) for a in self.args)
        return f"ElementwiseApplyFunction({function}, {argument})"


def _format(shape: Shape) -> str:
    rows, cols = shape
    return "1×1 (scalar)" if shape == SCALAR else f"{rows}×{cols}"


def build_extremum(
    name: str, arguments: Sequence[tuple[sp.Basic, Shape]]
) -> tuple[sp.Basic, Shape]:
    """max/min of the entries of one argument, or of two arguments entry by entry.

    Two matrices of one shape: max(A, B) = B + relu(A − B) and min(A, B) = A − relu(A − B)
    entrywise, so δ_A = δ ⊙ 𝕀[A > B]; a scalar beside a matrix is a parameter of an entrywise
    max (max(X, c)); max(0, x) and max(x, 0) are relu(x)."""
    from derive.functions import ENTRY, elementwise, relu  # the table module imports this one

    pick = maximum if name == "max" else minimum
    if len(arguments) == 1:
        ((x, shape),) = arguments
        if shape == SCALAR:
            return x, shape  # the largest entry of a single number is itself
        return (entry_max if name == "max" else entry_min)(x), SCALAR
    (a, a_shape), (b, b_shape) = arguments
    if a_shape == SCALAR and b_shape == SCALAR:
        if name == "max" and sp.S.Zero in (a, b):
            return relu(b if a == 0 else a), SCALAR
        return pick(a, b), SCALAR
    if a_shape == SCALAR or b_shape == SCALAR:
        (matrix, shape), (scalar, _) = (
            ((b, b_shape), (a, a_shape)) if a_shape == SCALAR else ((a, a_shape), (b, b_shape))
        )
        if name == "max" and scalar == 0:
            return elementwise(relu, matrix), shape
        return elementwise(sp.Lambda(ENTRY, pick(ENTRY, scalar)), matrix), shape
    if a_shape != b_shape:
        raise ShapeError(
            f"{name} of {_format(a_shape)} and {_format(b_shape)}: the two arguments have one "
            "shape, or one is a scalar"
        )
    gap = elementwise(relu, sp.MatAdd(a, -b))
    return (sp.MatAdd(b, gap) if name == "max" else sp.MatAdd(a, -gap)), a_shape
