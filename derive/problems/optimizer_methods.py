"""The optimisers of kind "update" as data: momentum, Nesterov, RMSprop and Adam.

A method is a row of ``METHODS``: its hyperparameters and state variables (field -> default
name) and a template, the textbook's updates in order as sympy over the values at step t, the
gradient g and the new values already computed (``Update.placeholder``). ``Entrywise`` builds
them for a scalar or, entry by entry, for a vector or matrix parameter. Adding an optimiser is
one template, one row here and one numpy reference in ``optimizer_check``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

from derive.functions import elementwise
from derive.model import MathItem, Tex
from derive.names import latex_name
from derive.printing import tex

FIELDS: dict[str, str] = {
    "method": "the optimiser: sgd (the default), momentum, nesterov, rmsprop or adam",
    "momentum": "momentum and nesterov: the momentum coefficient's name; default mu",
    "decay": "rmsprop: the decay rate of the squared-gradient average; default rho",
    "beta1": "adam: the decay rate of the first moment; default beta1",
    "beta2": "adam: the decay rate of the second moment; default beta2",
    "epsilon": "rmsprop and adam: the constant added to the square root; default epsilon",
    "step": "adam: the number of steps taken before this one; default t",
    "velocity": "momentum and nesterov: the velocity's name; default v",
    "square_average": "rmsprop: the squared-gradient average's name; default s",
    "first_moment": "adam: the first moment's name; default m",
    "second_moment": "adam: the second moment's name; default v",
}


@dataclass(frozen=True)
class Names:
    """The symbols of one update: the parameter, g, the rate, hyperparameters and states."""

    parameter: sp.Basic
    gradient: sp.Basic  # g, a stand-in of the parameter's shape for the earlier answer
    rate: sp.Symbol
    hyper: Mapping[str, sp.Symbol]  # field -> symbol: momentum -> mu
    state: Mapping[str, sp.Basic]  # field -> the state at step t: velocity -> v
    step: str  # the step count's name, in the superscripts: t

    @property
    def step_tex(self) -> str:
        return latex_name(self.step)


@dataclass(frozen=True)
class Update:
    """One line of an optimiser: ``key`` ← ``expr``; later lines use ``placeholder`` for it."""

    key: str  # a state's field, an intermediate (first_moment_hat) or "parameter"
    label: Tex  # the new value as printed: m^{(t+1)}
    placeholder: sp.Basic  # stands for the new value in later lines
    expr: sp.Basic  # over the values at step t, g and earlier placeholders
    stored: bool  # carried to the next step (boxed) or an intermediate of this one


class Entrywise:
    """Arithmetic on values of the parameter's shape; for a matrix, squares, roots and
    division act entry by entry (g ⊙ g, m ⊘ (√v + ε 1)), as the papers mean them."""

    def __init__(self, parameter: sp.Basic) -> None:
        self.shape = parameter.shape if isinstance(parameter, sp.MatrixExpr) else None
        self.sums: set[sp.Basic] = set()  # the sums built here, printed in their own order

    def symbol(self, name: str) -> sp.Basic:
        return sp.Symbol(name) if self.shape is None else sp.MatrixSymbol(name, *self.shape)

    def add(self, *terms: sp.Basic) -> sp.Basic:
        # unevaluated, so that the rules print their terms in the textbook's order
        total = sp.Add(*terms, evaluate=False) if self.shape is None else sp.MatAdd(*terms)
        self.sums.add(total)
        return total

    def scale(self, factor: sp.Expr, value: sp.Basic) -> sp.Basic:
        return factor * value if self.shape is None else sp.MatMul(factor, value)

    def square(self, value: sp.Basic) -> sp.Basic:
        return value**2 if self.shape is None else HadamardPower(value, 2)

    def over_root(self, value: sp.Basic, average: sp.Basic, epsilon: sp.Symbol) -> sp.Basic:
        """value ⊘ (√average + ε), entry by entry."""
        if self.shape is None:
            return value / (sp.sqrt(average) + epsilon)
        root = self.add(
            elementwise(sp.sqrt, average), sp.MatMul(epsilon, sp.OneMatrix(*self.shape))
        )
        entry = sp.Dummy("u")
        return HadamardProduct(value, elementwise(sp.Lambda(entry, 1 / entry), root))


@dataclass(frozen=True)
class Method:
    """An optimiser as a textbook writes it: where from, its names, its updates in order."""

    name: str  # as the field 'method' gives it: adam
    shown: str  # as a sentence names it: Adam
    title: str  # the rules step's title
    rule: str  # why the updates hold, plain text
    hyperparameters: Mapping[str, str]  # field -> default name
    states: Mapping[str, str]  # field -> default name of the state variable
    template: Callable[[Entrywise, Names], list[Update]]
    assumptions: Callable[[Names], list[MathItem]]  # the hyperparameters' ranges, the start
    rule_math: Callable[[Names], Tex] | None = None  # the rule as a formula, if it has one


def _next(
    ops: Entrywise, names: Names, key: str, label: str, expr: sp.Basic, *, stored: bool
) -> Update:
    """An update whose new value later lines refer to through a placeholder of its own."""
    placeholder = ops.symbol(f"{key}__next")
    return Update(key, Tex(rf"{label}^{{({names.step_tex}+1)}}"), placeholder, expr, stored)


def _momentum(ops: Entrywise, n: Names) -> list[Update]:
    # v ← μ v − α g;  θ ← θ + v  (Goodfellow et al., Algorithm 8.2)
    mu, v = n.hyper["momentum"], n.state["velocity"]
    velocity = _next(
        ops,
        n,
        "velocity",
        tex(v),
        ops.add(ops.scale(mu, v), ops.scale(-n.rate, n.gradient)),
        stored=True,
    )
    parameter = _next(
        ops,
        n,
        "parameter",
        tex(n.parameter),
        ops.add(n.parameter, velocity.placeholder),
        stored=True,
    )
    return [velocity, parameter]


def _nesterov(ops: Entrywise, n: Names) -> list[Update]:
    # v ← μ v − α g;  θ ← θ + μ v − α g, g at the stored (looked-ahead) parameters
    mu, v = n.hyper["momentum"], n.state["velocity"]
    velocity = _next(
        ops,
        n,
        "velocity",
        tex(v),
        ops.add(ops.scale(mu, v), ops.scale(-n.rate, n.gradient)),
        stored=True,
    )
    moved = ops.add(
        n.parameter, ops.scale(mu, velocity.placeholder), ops.scale(-n.rate, n.gradient)
    )
    return [velocity, _next(ops, n, "parameter", tex(n.parameter), moved, stored=True)]


def _average(ops: Entrywise, decay: sp.Symbol, old: sp.Basic, new: sp.Basic) -> sp.Basic:
    """decay · old + (1 − decay) · new: an exponential moving average."""
    return ops.add(ops.scale(decay, old), ops.scale(1 - decay, new))


def _rmsprop(ops: Entrywise, n: Names) -> list[Update]:
    # s ← ρ s + (1 − ρ) g ⊙ g;  θ ← θ − α g ⊘ (√s + ε)  (Hinton's lecture 6e, CS231n)
    s = n.state["square_average"]
    average = _next(
        ops,
        n,
        "square_average",
        tex(s),
        _average(ops, n.hyper["decay"], s, ops.square(n.gradient)),
        stored=True,
    )
    step = ops.over_root(n.gradient, average.placeholder, n.hyper["epsilon"])
    moved = ops.add(n.parameter, ops.scale(-n.rate, step))
    return [average, _next(ops, n, "parameter", tex(n.parameter), moved, stored=True)]


def _adam(ops: Entrywise, n: Names) -> list[Update]:
    # m ← β₁ m + (1 − β₁) g;  v ← β₂ v + (1 − β₂) g ⊙ g;  m̂ = m / (1 − β₁^{t+1});
    # v̂ = v / (1 − β₂^{t+1});  θ ← θ − α m̂ ⊘ (√v̂ + ε)  (Kingma & Ba 2015, Algorithm 1)
    beta1, beta2 = n.hyper["beta1"], n.hyper["beta2"]
    m, v = n.state["first_moment"], n.state["second_moment"]
    count = sp.Symbol(n.step, integer=True, nonnegative=True) + 1  # steps taken, this one too
    first = _next(ops, n, "first_moment", tex(m), _average(ops, beta1, m, n.gradient), stored=True)
    second = _next(
        ops,
        n,
        "second_moment",
        tex(v),
        _average(ops, beta2, v, ops.square(n.gradient)),
        stored=True,
    )
    first_hat = _next(
        ops,
        n,
        "first_moment_hat",
        rf"\hat{{{tex(m)}}}",
        ops.scale(1 / (1 - beta1**count), first.placeholder),
        stored=False,
    )
    second_hat = _next(
        ops,
        n,
        "second_moment_hat",
        rf"\hat{{{tex(v)}}}",
        ops.scale(1 / (1 - beta2**count), second.placeholder),
        stored=False,
    )
    step = ops.over_root(first_hat.placeholder, second_hat.placeholder, n.hyper["epsilon"])
    moved = ops.add(n.parameter, ops.scale(-n.rate, step))
    return [
        first,
        second,
        first_hat,
        second_hat,
        _next(ops, n, "parameter", tex(n.parameter), moved, stored=True),
    ]


def _momentum_assumptions(n: Names) -> list[MathItem]:
    return [
        Tex(rf"0 \le {tex(n.hyper['momentum'])} < 1"),
        Tex(rf"{tex(n.state['velocity'])}^{{(0)}} = 0"),
    ]


def _rmsprop_assumptions(n: Names) -> list[MathItem]:
    decay, epsilon = (tex(n.hyper[field]) for field in ("decay", "epsilon"))
    s = tex(n.state["square_average"])
    return [Tex(rf"0 < {decay} < 1,\ {epsilon} > 0"), Tex(rf"{s}^{{(0)}} = 0")]


def _adam_assumptions(n: Names) -> list[MathItem]:
    beta1, beta2, epsilon = (tex(n.hyper[field]) for field in ("beta1", "beta2", "epsilon"))
    m, v = (tex(n.state[field]) for field in ("first_moment", "second_moment"))
    return [
        Tex(rf"0 < {beta1}, {beta2} < 1,\ {epsilon} > 0"),
        Tex(rf"{m}^{{(0)}} = {v}^{{(0)}} = 0"),
        f"{n.step} steps have been taken before this one ({n.step} = 0, 1, 2, …).",
    ]


def _adam_bias(n: Names) -> Tex:
    """Kingma & Ba, section 3: what the moving average's expectation is, started at 0."""
    m, beta1, step = tex(n.state["first_moment"]), tex(n.hyper["beta1"]), n.step_tex
    return Tex(
        rf"\mathbb{{E}}\left[{m}^{{({step}+1)}}\right] "
        rf"= \left(1 - {beta1}^{{{step} + 1}}\right) \mathbb{{E}}\left[g\right]"
    )


METHODS: dict[str, Method | None] = {
    "sgd": None,  # plain gradient descent: derive.problems.update itself
    "momentum": Method(
        "momentum",
        "SGD with momentum",
        "The momentum update (Goodfellow et al. 2016, Algorithm 8.2)",
        "The velocity accumulates an exponentially decaying sum of past gradients, each "
        "scaled by the learning rate; the parameter moves by the new velocity.",
        {"momentum": "mu"},
        {"velocity": "v"},
        _momentum,
        _momentum_assumptions,
    ),
    "nesterov": Method(
        "nesterov",
        "Nesterov momentum",
        "Nesterov's momentum update (Sutskever et al. 2013; CS231n)",
        "Goodfellow's Algorithm 8.3 takes the gradient at the look-ahead point θ + μv. Stored "
        "as the looked-ahead parameters (Bengio et al. 2013, as CS231n and torch.optim write "
        "it), the gradient is the one at the stored parameters, and the step is the new "
        "velocity's momentum part plus a plain gradient step.",
        {"momentum": "mu"},
        {"velocity": "v"},
        _nesterov,
        _momentum_assumptions,
    ),
    "rmsprop": Method(
        "rmsprop",
        "RMSprop",
        "The RMSprop update (Hinton's lecture 6e; CS231n)",
        "A moving average of the squared gradient, entry by entry, scales each entry's step: "
        "the learning rate is divided by the root of the average (ε keeps it finite).",
        {"decay": "rho", "epsilon": "epsilon"},
        {"square_average": "s"},
        _rmsprop,
        _rmsprop_assumptions,
    ),
    "adam": Method(
        "adam",
        "Adam",
        "Adam's update (Kingma & Ba 2015, Algorithm 1)",
        "Moving averages of the gradient and of its square, entry by entry. Both start at 0, "
        "so they are biased towards 0: for a gradient whose distribution does not change, "
        "the first moment's expectation is the gradient's times a factor below 1, as written "
        "here (likewise the second moment's with β₂). Dividing by that factor corrects the "
        "bias. The step is the corrected first moment over the root of the corrected second.",
        {"beta1": "beta1", "beta2": "beta2", "epsilon": "epsilon"},
        {"first_moment": "m", "second_moment": "v"},
        _adam,
        _adam_assumptions,
        _adam_bias,
    ),
}

STEP_DEFAULT = {"adam": "t"}  # the methods whose updates use the step count
