"""The activation functions derive knows: one table, each entry with its derivative beside it.

Scalars use the sympy function directly (``sympy.diff`` calls ``fdiff``); vectors and matrices
use ``ElementwiseApplyFunction`` and the textbook elementwise derivative from ``ACTIVATIONS``.
Adding an activation means one entry here plus one test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import UndefinedFunction
from sympy.core.symbol import Str
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.model import Shape
from derive.softmax import Softmax, build_softmax


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


# One shared variable, so that two copies of σ(s) are the same sympy object and cancel.
ENTRY = sp.Dummy("d")


def elementwise(function: sp.FunctionClass | sp.Lambda, argument: sp.MatrixExpr) -> sp.MatrixExpr:
    """``function`` applied entry by entry to a vector or matrix expression."""
    if not isinstance(function, sp.Lambda):
        function = sp.Lambda(ENTRY, function(ENTRY))
    return ElementwiseApplyFunction(function, argument)


def _ones_like(argument: sp.MatrixExpr) -> sp.MatrixExpr:
    return sp.OneMatrix(*argument.shape)


def _sigmoid_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # σ'(X) = σ(X) ⊙ (1 − σ(X))
    return HadamardProduct(elementwise(sigmoid, x), _ones_like(x) - elementwise(sigmoid, x))


def _tanh_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # tanh'(X) = 1 − tanh(X) ⊙ tanh(X)
    return _ones_like(x) - HadamardProduct(elementwise(sp.tanh, x), elementwise(sp.tanh, x))


def _relu_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # relu'(X) = 1[X > 0]
    return elementwise(sp.Heaviside, x)


def _softplus_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # softplus'(X) = σ(X)
    return elementwise(sigmoid, x)


def _exp_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # exp'(X) = exp(X)
    return elementwise(sp.exp, x)


def _log_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # log'(X) = 1 ⊘ X
    return elementwise(sp.Lambda(ENTRY, 1 / ENTRY), x)


def _abs_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # |X|' = sign(X)
    return elementwise(signum, x)


def _sign_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # sign'(X) = 0 away from 0
    return sp.ZeroMatrix(*x.shape)


def _sqrt_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # √'(X) = 1 ⊘ (2 √X)
    return elementwise(sp.Lambda(ENTRY, 1 / (2 * sp.sqrt(ENTRY))), x)


def _sin_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # sin'(X) = cos(X)
    return elementwise(sp.cos, x)


def _cos_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # cos'(X) = −sin(X)
    return -elementwise(sp.sin, x)


def _scalar_prime(function: sp.FunctionClass) -> Callable[[sp.MatrixExpr], sp.MatrixExpr]:
    """The elementwise derivative of a class whose ``fdiff`` is already the textbook form."""

    def prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
        return elementwise(sp.Lambda(ENTRY, function(ENTRY).fdiff()), x)

    return prime


@dataclass(frozen=True)
class Activation:
    """A function usable in equations: its sympy function and its elementwise derivative."""

    name: str
    function: sp.FunctionClass
    elementwise_derivative: Callable[[sp.MatrixExpr], sp.MatrixExpr]
    textbook_derivative: str  # the rule as a solution key states it, in LaTeX


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", sigmoid, _sigmoid_prime, r"\sigma'(x) = \sigma(x)\,(1 - \sigma(x))"),
        Activation("tanh", sp.tanh, _tanh_prime, r"\tanh'(x) = 1 - \tanh^2(x)"),
        Activation("relu", relu, _relu_prime, r"\operatorname{relu}'(x) = \mathbb{I}[x > 0]"),
        Activation(
            "softplus", softplus, _softplus_prime, r"\operatorname{softplus}'(x) = \sigma(x)"
        ),
        Activation("exp", sp.exp, _exp_prime, r"\exp'(x) = \exp(x)"),
        Activation("log", sp.log, _log_prime, r"\log'(x) = 1/x"),
        Activation("abs", absolute, _abs_prime, r"|x|' = \operatorname{sign}(x)"),
        Activation("sign", signum, _sign_prime, r"\operatorname{sign}'(x) = 0 \ (x \neq 0)"),
        Activation("sqrt", sp.sqrt, _sqrt_prime, r"(\sqrt{x})' = \frac{1}{2 \sqrt{x}}"),
        Activation("sin", sp.sin, _sin_prime, r"\sin'(x) = \cos(x)"),
        Activation("cos", sp.cos, _cos_prime, r"\cos'(x) = -\sin(x)"),
        Activation(
            "elu",
            elu,
            _scalar_prime(elu),
            r"\operatorname{elu}'(x) = \mathbb{I}[x > 0] + (1 - \mathbb{I}[x > 0])\, e^{x}",
        ),
        Activation(
            "silu",
            silu,
            _scalar_prime(silu),
            r"\operatorname{silu}'(x) = \sigma(x)\,(1 + x\,(1 - \sigma(x)))",
        ),
        Activation(
            "swish",
            silu,
            _scalar_prime(silu),
            r"\operatorname{silu}'(x) = \sigma(x)\,(1 + x\,(1 - \sigma(x)))",
        ),
        Activation(
            "softsign",
            softsign,
            _scalar_prime(softsign),
            r"\operatorname{softsign}'(x) = \frac{1}{(1 + |x|)^2}",
        ),
    )
}

# Names a test or a JSON consumer needs to rebuild an answer from its srepr string.
SREPR_NAMESPACE: dict[str, object] = {
    "Str": Str,
    "ElementwiseApplyFunction": ElementwiseApplyFunction,
    "sigmoid": sigmoid,
    "relu": relu,
    "softplus": softplus,
    "absolute": absolute,
    "signum": signum,
    "elu": elu,
    "silu": silu,
    "softsign": softsign,
    "Softmax": Softmax,
}


def activation_for(function: object) -> Activation | None:
    """The table entry whose sympy function is ``function``, if any."""
    for activation in ACTIVATIONS.values():
        if activation.function is function:
            return activation
    return None


_GENERIC: dict[str, sp.FunctionClass] = {}


def _generic_fdiff(self: sp.Function, argindex: int = 1) -> sp.Expr:
    """The derivative of a declared generic f: the function f' at the same argument (module
    level, so a solved problem pickles for the worker process that solved it)."""
    return sp.Function(f"{type(self).__name__}'")(self.args[0])


def generic_function(name: str) -> sp.FunctionClass:
    """An arbitrary differentiable function ``name`` (a problem's "any nonlinearity σ").

    Its derivative is the function ``name'``, printed f'(x); numeric checks instantiate the
    pair as (sin, cos), see ``derive.evaluate``.
    """
    if name not in _GENERIC:
        # an undefined sympy function (srepr: Function('f')) that knows its derivative
        _GENERIC[name] = sp.Function(name, fdiff=_generic_fdiff)
    return _GENERIC[name]


def generic_role(function: object) -> str | None:
    """'function' for a declared generic f, 'derivative' for its f' (by name, so that an answer
    rebuilt from its srepr is recognised too), else None."""
    if not isinstance(function, UndefinedFunction):
        return None
    name = function.__name__
    if name in _GENERIC or getattr(function, "fdiff", None) is _generic_fdiff:
        return "function"
    if name.endswith("'") and "'" not in name[:-1]:  # no name in a file can hold a prime
        return "derivative"
    return None


def _sum_entries(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # sum(X) = 1ᵀ X 1, a 1×1 product kept as its trace so that it is a scalar
    rows, cols = shape
    if shape == (1, 1):
        return x, shape
    if cols == 1:
        total = sp.OneMatrix(1, rows) * x
    elif rows == 1:
        total = x * sp.OneMatrix(cols, 1)
    else:
        total = sp.OneMatrix(1, rows) * x * sp.OneMatrix(cols, 1)
    return sp.Trace(total), (sp.Integer(1), sp.Integer(1))


def _mean(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # mean(X) = 1ᵀ X 1 / (rows · cols)
    total, scalar = _sum_entries(x, shape)
    rows, cols = shape
    return total / (rows * cols), scalar


def _euclidean_norm(x: sp.Basic, shape: Shape) -> tuple[sp.Basic, Shape]:
    # ‖x‖ = √(xᵀx); for a matrix √tr(XᵀX) is the Frobenius norm; for a scalar |x|
    if shape == (1, 1):
        return absolute(x), shape
    return sp.sqrt(sp.Trace(x.T * x)), (sp.Integer(1), sp.Integer(1))


@dataclass(frozen=True)
class VectorFunction:
    """A function of a whole vector or matrix, not entry by entry (sum, norm, softmax).

    ``build`` takes the argument's sympy expression and shape and returns the result's; it
    raises ``derive.errors.ShapeError`` for an argument shape it does not accept.
    """

    name: str
    build: Callable[[sp.Basic, Shape], tuple[sp.Basic, Shape]]
    description: str  # plain text, what the function computes


VECTOR_FUNCTIONS: dict[str, VectorFunction] = {
    f.name: f
    for f in (
        VectorFunction("sum", _sum_entries, "the sum of the entries"),
        VectorFunction("mean", _mean, "the mean of the entries"),
        VectorFunction("norm", _euclidean_norm, "the Euclidean (for a matrix, Frobenius) norm"),
        VectorFunction("softmax", build_softmax, "e^{z_i} / Σ_k e^{z_k} of a column vector"),
    )
}
