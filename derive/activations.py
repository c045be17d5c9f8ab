"""The sympy function classes of the scalar activations, each with its derivative (``fdiff``)
beside it; ``derive.functions`` puts them in the table of functions a network may use."""

from __future__ import annotations

import sympy as sp


class sigmoid(sp.Function):  # noqa: N801 - sympy function classes are lower case
    """The logistic function σ(x) = 1 / (1 + e^{-x})."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # σ'(x) = σ(x)(1 − σ(x))
        (x,) = self.args
        return sigmoid(x) * (1 - sigmoid(x))

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))


class relu(sp.Function):  # noqa: N801
    """The rectifier max(0, x); its derivative is the indicator of x > 0 (Heaviside)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        (x,) = self.args
        return sp.Heaviside(x)

    def _eval_rewrite_as_Max(self, x: sp.Expr, **kwargs: object) -> sp.Expr:  # noqa: N802
        return sp.Max(0, x)


class softplus(sp.Function):  # noqa: N801
    """softplus(x) = log(1 + e^x); its derivative is σ(x)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        (x,) = self.args
        return sigmoid(x)

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return sp.log(1 + sp.exp(x))


class absolute(sp.Function):  # noqa: N801
    """|x| as written: sympy's Abs would rewrite |e^a| as e^{re(a)}, which is not analytic in a
    and so has no complex-step derivative. Its derivative is sign(x)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        (x,) = self.args
        return signum(x)


class signum(sp.Function):  # noqa: N801
    """sign(x), the derivative of |x| (0 at 0), kept as written like ``absolute``."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero


class elu(sp.Function):  # noqa: N801
    """The exponential linear unit: x for x > 0, e^x − 1 otherwise (α = 1)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # elu'(x) = 𝕀[x > 0] + (1 − 𝕀[x > 0]) e^x
        (x,) = self.args
        return sp.Heaviside(x) + (1 - sp.Heaviside(x)) * sp.exp(x)


class silu(sp.Function):  # noqa: N801
    """The sigmoid-weighted linear unit (swish) silu(x) = x σ(x)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # silu'(x) = σ(x) (1 + x (1 − σ(x)))
        (x,) = self.args
        return sigmoid(x) * (1 + x * (1 - sigmoid(x)))

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: object) -> sp.Expr:
        return x / (1 + sp.exp(-x))


class softsign(sp.Function):  # noqa: N801
    """softsign(x) = x / (1 + |x|)."""

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        # softsign'(x) = 1 / (1 + |x|)²
        (x,) = self.args
        return 1 / (1 + absolute(x)) ** 2
