"""Kind "update" beyond plain gradient descent: momentum, Nesterov, RMSprop and Adam.

A method is a row of ``METHODS``: its hyperparameters and state variables (field -> default
name) and a template, the textbook's updates in order as sympy over the values at step t, the
gradient g and the new values already computed. One template gives the rules step (printed
with step superscripts), the step with the earlier problem's gradient put in for g, and the
boxed answers, so the page cannot say something else than the answers; ``optimizer_check``
compares every update with a numpy implementation of the same optimiser.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

from derive.functions import elementwise
from derive.model import Answer, Line, MathItem, Part, Step, Tex
from derive.names import latex_name
from derive.printing import DeriveLatexPrinter, tex
from derive.problems import ProblemSpec
from derive.problems.field_values import field_error
from derive.problems.optimizer_check import check
from derive.shapes import NAME_PATTERN
from derive.steps import entry_indices

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


@dataclass(frozen=True)
class Solved:
    """An update with the placeholders written out: over g (``template``) and with the earlier
    problem's gradient put in for g (``value``)."""

    update: Update
    template: sp.Basic
    value: sp.Basic


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
        "the expectation is the gradient's times a factor below 1 (below, and likewise for "
        "the second moment with β₂). Dividing by that factor corrects the bias. The step is "
        "the corrected first moment over the root of the corrected second.",
        {"beta1": "beta1", "beta2": "beta2", "epsilon": "epsilon"},
        {"first_moment": "m", "second_moment": "v"},
        _adam,
        _adam_assumptions,
        _adam_bias,
    ),
}

_STEP_DEFAULT = {"adam": "t"}  # the methods whose updates use the step count


def method_of(spec: ProblemSpec) -> Method | None:
    """The problem's method (None for plain gradient descent), refusing a field of another."""
    name = spec.fields.get("method", "sgd")
    if not isinstance(name, str) or name not in METHODS:
        raise field_error(spec, f"'method' must be one of {', '.join(METHODS)}, not {name!r}")
    method = METHODS[name]
    own = _fields(method)
    for field in spec.fields:
        if field in FIELDS and field != "method" and field not in own:
            having = [m for m, row in METHODS.items() if row is not None and field in _fields(row)]
            which = f"method {having[0]}" if len(having) == 1 else f"methods {', '.join(having)}"
            raise field_error(spec, f"'{field}' is a field of {which}, not of {name}")
    return method


def _fields(method: Method | None) -> set[str]:
    if method is None:
        return set()
    step = {"step"} if method.name in _STEP_DEFAULT else set()
    return {*method.hyperparameters, *method.states, *step}


def solve(
    spec: ProblemSpec,
    method: Method,
    *,
    source: Part,
    gradient: Answer,
    parameter: sp.Basic,
    rate: sp.Symbol,
) -> Part:
    """Every update of ``method`` for the earlier problem's gradient, each checked numerically."""
    ops = Entrywise(parameter)
    names = _names(
        spec, method, ops, source=source, gradient=gradient, parameter=parameter, rate=rate
    )
    solved = _solve(method.template(ops, names), names.gradient, gradient.value)
    step = names.step_tex
    rules = [Line(Tex(rf"g^{{({step})}}"), Tex(_math(gradient.label)))]
    rules += [
        Line(s.update.label, Tex(_rule(s.update.expr, names, solved, ops.sums))) for s in solved
    ]
    substituted = [Line(Tex(rf"g^{{({step})}}"), gradient.value)]
    substituted += [Line(s.update.label, s.value) for s in solved]
    answers = {}
    for item in solved:
        if not item.update.stored:
            continue
        key = item.update.key
        name = gradient.name if key == "parameter" else str(names.state[key])
        index_form = _index_form(method, names, gradient) if key == "parameter" else None
        if index_form is not None:
            substituted.append(index_form)
        answers[name] = Answer(
            name, item.update.label, item.value, gradient.shape, index_form=index_form
        )
    return Part(
        name=spec.id,
        heading=spec.title,
        statement=spec.statement,
        assumptions=[
            Tex(rf"{tex(rate)} > 0"),
            *method.assumptions(names),
            f"Every quantity on the right-hand side is at step {names.step}, including "
            f"{gradient.name} itself.",
        ],
        steps=[
            Step(
                method.title,
                tuple(rules),
                rule=method.rule,
                rule_math=None if method.rule_math is None else method.rule_math(names),
            ),
            Step(
                f"Substitute the gradient found in problem {source.name}",
                tuple(substituted),
                rule=f"The answer for {gradient.name} of {source.heading}; each later line has "
                "the earlier ones written out.",
            ),
        ],
        answers=answers,
        verification=check(spec, method, solved, names, source=source, gradient=gradient),
    )


def _solve(updates: list[Update], g: sp.Basic, gradient: sp.Basic) -> list[Solved]:
    """Each update over g and over the gradient, the earlier new values written out."""
    written: dict[sp.Basic, sp.Basic] = {}
    solved = []
    for update in updates:
        template = update.expr.xreplace(written)
        written[update.placeholder] = template
        solved.append(Solved(update, template, template.xreplace({g: gradient})))
    return solved


def _index_form(method: Method, names: Names, gradient: Answer) -> Line | None:
    """The parameter's update entry by entry, when the earlier problem gives an index form:
    the same template over the entries θ_i, v_i and a scalar g_i."""
    if gradient.index_form is None or not isinstance(names.parameter, sp.MatrixExpr):
        return None
    entry = entry_indices(names.parameter)
    scalar = Entrywise(names.parameter[entry])
    entries = Names(
        parameter=names.parameter[entry],
        gradient=sp.Symbol("g__entry"),
        rate=names.rate,
        hyper=names.hyper,
        state={field: state[entry] for field, state in names.state.items()},
        step=names.step,
    )
    solved = _solve(method.template(scalar, entries), entries.gradient, gradient.index_form.rhs)
    label = Tex(rf"{tex(names.parameter[entry])}^{{({names.step_tex}+1)}}")
    return Line(label, solved[-1].value)


def _names(
    spec: ProblemSpec,
    method: Method,
    ops: Entrywise,
    *,
    source: Part,
    gradient: Answer,
    parameter: sp.Basic,
    rate: sp.Symbol,
) -> Names:
    """The fields' names as symbols, each distinct and none a quantity of the earlier problem."""
    chosen: dict[str, str] = {}
    defaults = {
        **method.hyperparameters,
        **method.states,
        **({"step": _STEP_DEFAULT[method.name]} if method.name in _STEP_DEFAULT else {}),
    }
    for field, default in defaults.items():
        value = spec.fields.get(field, default)
        if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
            raise field_error(spec, f"'{field}' must be a name such as {default}, not {value!r}")
        for other, taken in chosen.items():
            if taken == value:
                raise field_error(
                    spec, f"'{field}' names {value}, as '{other}' does; each name must differ"
                )
        chosen[field] = value
    used = _used_names(source, gradient) | {str(rate)}
    for field, value in chosen.items():
        if value in used or value == gradient.name:
            raise field_error(
                spec,
                f"'{field}' names {value}, which problem '{source.name}' already uses; "
                f"choose another name with '{field}'",
            )
    return Names(
        parameter=parameter,
        gradient=ops.symbol("g__gradient"),
        rate=rate,
        hyper={field: sp.Symbol(chosen[field], positive=True) for field in method.hyperparameters},
        state={field: ops.symbol(chosen[field]) for field in method.states},
        step=chosen.get("step", "t"),
    )


def _used_names(source: Part, gradient: Answer) -> set[str]:
    """Every name the earlier problem's gradient and setup mention, dimensions included."""
    expressions = [
        gradient.value,
        *(side for line in source.setup for side in (line.lhs, line.rhs, line.value)),
    ]
    names: set[str] = set()
    for expr in expressions:
        if isinstance(expr, sp.Basic):
            for symbol in expr.atoms(sp.Symbol, sp.MatrixSymbol):
                names.add(str(symbol.name))
                if isinstance(symbol, sp.MatrixSymbol):
                    names |= {str(d) for dim in symbol.shape for d in sp.sympify(dim).free_symbols}
    return names


def _math(item: object) -> str:
    return str(item) if isinstance(item, str) else tex(item)


class _RulePrinter(DeriveLatexPrinter):
    """The template as a textbook writes it: every value with its step, m^{(t)}, m^{(t+1)};
    a value under a postfix (a power, a root as ∘½) in brackets, (g^{(t)})^{∘2}."""

    _default_settings: ClassVar[dict[str, Any]] = {
        **DeriveLatexPrinter._default_settings,
        "kept_order": frozenset(),
    }

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:  # noqa: N802 - sympy's name
        named = self._settings["symbol_names"].get(expr)
        return str(named) if named is not None else str(super()._print_MatrixSymbol(expr))

    def _as_ordered_terms(self, expr: sp.Basic, order: str | None = None) -> list[sp.Basic]:
        """A sum the template built in its own order, θ + μ v − α g; any other as sympy's."""
        if expr in self._settings["kept_order"]:
            return list(expr.args)
        return list(super()._as_ordered_terms(expr, order=order))

    def _atom(self, expr: sp.Basic) -> str:
        if expr in self._settings["symbol_names"]:
            return rf"\left({self._print(expr)}\right)"
        return str(super()._atom(expr))


def _rule(expr: sp.Basic, names: Names, solved: list[Solved], kept: set[sp.Basic]) -> str:
    """An update as the rules step prints it, every value with its step."""
    step = names.step_tex
    printed: dict[Any, str] = {
        names.gradient: rf"g^{{({step})}}",
        names.parameter: rf"{tex(names.parameter)}^{{({step})}}",
    }
    printed |= {symbol: rf"{tex(symbol)}^{{({step})}}" for symbol in names.state.values()}
    printed |= {s.update.placeholder: str(s.update.label) for s in solved}
    return str(_RulePrinter({"symbol_names": printed, "kept_order": kept}).doprint(expr))
