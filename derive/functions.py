"""The activation functions derive knows: one table, each entry with its derivative beside it.

Scalars use the sympy function directly (``sympy.diff`` calls ``fdiff``); vectors and matrices
use ``ElementwiseApplyFunction`` and the textbook elementwise derivative from ``ACTIVATIONS``.
Adding an activation means one entry here plus one test; the sympy classes of the scalar
activations are in ``derive.activations``, functions of a whole vector in
``derive.vector_functions``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import UndefinedFunction
from sympy.core.symbol import Str
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.activations import (
    absolute,
    elu,
    relu,
    sigmoid,
    signum,
    silu,
    softplus,
    softsign,
)
from derive.errors import ShapeError
from derive.functions_piecewise import (
    build_extremum,
    clip,
    entry_max,
    entry_min,
    gelu,
    gelu_tanh,
    hardtanh,
    huber,
    is_equal,
    leaky_relu,
    maximum,
    minimum,
    normal_cdf,
    normal_pdf,
)
from derive.model import Shape
from derive.softmax import Softmax
from derive.vector_functions import VECTOR_FUNCTIONS, VectorFunction  # noqa: F401

LEAKY_SLOPE = sp.Rational(1, 100)  # leaky_relu's α when the call leaves it out

# One shared variable, so that two copies of σ(s) are the same sympy object and cancel.
ENTRY = sp.Dummy("d")


def elementwise(function: sp.FunctionClass | sp.Lambda, argument: sp.MatrixExpr) -> sp.MatrixExpr:
    """``function`` applied entry by entry to a vector or matrix expression."""
    if not isinstance(function, sp.Lambda):
        function = sp.Lambda(ENTRY, function(ENTRY))
    return ElementwiseApplyFunction(rebound(function), argument)


# Bound variables for an entrywise function whose body holds another one (𝕀[x = max(f(x))]):
# applying the outer Lambda must not substitute into the inner one's signature.
NESTED_ENTRIES = tuple(sp.Dummy(f"d{depth}") for depth in range(1, 9))


def rebound(function: sp.Lambda) -> sp.Lambda:
    """``function`` with its variable renamed apart from every entrywise function inside it."""
    (variable,) = function.variables
    body = function.expr
    inner = {
        node for node in sp.preorder_traversal(body) if isinstance(node, ElementwiseApplyFunction)
    }
    bound = {v for node in inner for v in node.function.variables}
    if variable not in bound:
        return function
    fresh = next(d for d in (ENTRY, *NESTED_ENTRIES) if d not in bound)
    hidden = {
        node: sp.MatrixSymbol(f"_entrywise{index}", *node.shape) for index, node in enumerate(inner)
    }
    renamed = body.xreplace(hidden).xreplace({variable: fresh})
    return sp.Lambda(fresh, renamed.xreplace({v: k for k, v in hidden.items()}))


def _ones_minus(matrix: sp.MatrixExpr) -> sp.MatrixExpr:
    """𝟏 − ``matrix``, as sympy's ``-`` writes it but without its deep ``doit``, which walks
    the argument again for every layer."""
    ones = sp.OneMatrix(*matrix.shape)
    return sp.MatAdd(ones, sp.MatMul(sp.S.NegativeOne, matrix)).doit(deep=False)


def _sigmoid_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # σ'(X) = σ(X) ⊙ (1 − σ(X))
    return HadamardProduct(elementwise(sigmoid, x), _ones_minus(elementwise(sigmoid, x)))


def _tanh_prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
    # tanh'(X) = 1 − tanh(X) ⊙ tanh(X)
    return _ones_minus(HadamardProduct(elementwise(sp.tanh, x), elementwise(sp.tanh, x)))


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


def _parametric_prime(
    function: sp.FunctionClass, *parameters: sp.Expr
) -> Callable[[sp.MatrixExpr], sp.MatrixExpr]:
    """The elementwise derivative in x of f(x, *parameters), from the class's ``fdiff``."""

    def prime(x: sp.MatrixExpr) -> sp.MatrixExpr:
        return elementwise(sp.Lambda(ENTRY, function(ENTRY, *parameters).fdiff(1)), x)

    return prime


@dataclass(frozen=True)
class Parameter:
    """An argument after x: leaky_relu's alpha, huber's delta, clip's bounds."""

    name: str  # as the usage line writes it
    default: sp.Expr | None = None  # the value when it is left out; None: it must be written
    required: bool = True


_SCALAR: Shape = (sp.Integer(1), sp.Integer(1))


@dataclass(frozen=True)
class Activation:
    """A function usable in equations: its sympy function and its elementwise derivative.

    ``parameters`` are scalar arguments after x (a number or a scalar quantity), given to the
    sympy function after x and carried by the entrywise Lambda; ``build`` replaces the usual
    application where the arguments decide the form (max of two operands or of the entries).
    """

    name: str
    function: sp.FunctionClass
    elementwise_derivative: Callable[[sp.MatrixExpr], sp.MatrixExpr]
    textbook_derivative: str  # the rule as a solution key states it, in LaTeX
    parameters: tuple[Parameter, ...] = ()
    build: Callable[[str, Sequence[tuple[sp.Basic, Shape]]], tuple[sp.Basic, Shape]] | None = None
    arguments: str = ""  # the usage line's arguments, if not x and the parameters

    @property
    def arity(self) -> tuple[int, int]:
        """The fewest and the most arguments a call may have."""
        required = sum(parameter.required for parameter in self.parameters)
        return 1 + required, 1 + len(self.parameters)

    @property
    def usage(self) -> str:
        """What goes between the parentheses: ``x, alpha``."""
        return self.arguments or ", ".join(("x", *(p.name for p in self.parameters)))

    def apply(self, *arguments: tuple[sp.Basic, Shape]) -> tuple[sp.Basic, Shape]:
        """The function of ``(expr, shape)`` arguments, entry by entry for a vector or matrix;
        a parameter that is not a scalar is a ``ShapeError``."""
        if self.build is not None:
            return self.build(self.name, arguments)
        (x, shape), *given = arguments
        values = []
        for parameter, (value, value_shape) in zip(self.parameters, given, strict=False):
            if value_shape != _SCALAR:
                rows, cols = value_shape
                raise ShapeError(
                    f"{self.name}'s {parameter.name} must be a scalar, not {rows}×{cols}"
                )
            values.append(value)
        values += [p.default for p in self.parameters[len(given) :]]
        if shape == _SCALAR:
            return self.function(x, *values), shape
        if not values:
            return elementwise(self.function, x), shape
        return elementwise(sp.Lambda(ENTRY, self.function(ENTRY, *values)), x), shape


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
        Activation(
            "leaky_relu",
            leaky_relu,
            _parametric_prime(leaky_relu, LEAKY_SLOPE),
            r"\operatorname{leakyrelu}'(x) = \mathbb{I}[x > 0] + \alpha\, \mathbb{I}[x \leq 0]",
            (Parameter("alpha", LEAKY_SLOPE, required=False),),
        ),
        Activation(
            "gelu", gelu, _scalar_prime(gelu), r"\operatorname{gelu}'(x) = \Phi(x) + x\, \phi(x)"
        ),
        Activation(
            "gelu_tanh",
            gelu_tanh,
            _scalar_prime(gelu_tanh),
            r"\operatorname{gelu}_{\tanh}'(x) = \tfrac{1}{2} (1 + \tanh u) + \tfrac{1}{2} x "
            r"(1 - \tanh^2 u) \sqrt{2/\pi}\, (1 + 0.134145 x^2)",
        ),
        Activation(
            "hardtanh",
            hardtanh,
            _scalar_prime(hardtanh),
            r"\operatorname{hardtanh}'(x) = \mathbb{I}[x > -1]\, \mathbb{I}[x < 1]",
        ),
        Activation(
            "clip",
            clip,
            _parametric_prime(clip, sp.Integer(-1), sp.Integer(1)),
            r"\operatorname{clip}'(x) = \mathbb{I}[x > a]\, \mathbb{I}[b > x]",
            (Parameter("a"), Parameter("b")),
        ),
        Activation(
            "huber",
            huber,
            _parametric_prime(huber, sp.Integer(1)),
            r"\operatorname{huber}'(x) = \operatorname{clip}(x, -\delta, \delta)",
            (Parameter("delta", sp.Integer(1), required=False),),
        ),
        Activation(
            "max",
            maximum,
            _parametric_prime(maximum, sp.Integer(0)),
            r"\partial \max(a, b) / \partial a = \mathbb{I}[a > b]; "
            r"\partial \max(x) / \partial x = \mathbb{I}[x = \max(x)]",
            (Parameter("b", required=False),),
            build_extremum,
            "a, b",
        ),
        Activation(
            "min",
            minimum,
            _parametric_prime(minimum, sp.Integer(0)),
            r"\partial \min(a, b) / \partial a = \mathbb{I}[b > a]; "
            r"\partial \min(x) / \partial x = \mathbb{I}[x = \min(x)]",
            (Parameter("b", required=False),),
            build_extremum,
            "a, b",
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
    "leaky_relu": leaky_relu,
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
    "normal_cdf": normal_cdf,
    "normal_pdf": normal_pdf,
    "hardtanh": hardtanh,
    "clip": clip,
    "huber": huber,
    "maximum": maximum,
    "minimum": minimum,
    "entry_max": entry_max,
    "entry_min": entry_min,
    "is_equal": is_equal,
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
    pair as (sin, cos), see ``derive.numeric_functions``.
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
