"""Kind "update" beyond plain gradient descent: momentum, Nesterov, RMSprop and Adam.

The method's template (``optimizer_methods``) gives, from one set of sympy updates, the rules
step (printed with step superscripts, m^{(t)}, m^{(t+1)}), the step with the earlier problem's
gradient put in for g, and the boxed answers, so the page cannot say something else than the
answers; ``optimizer_check`` compares every update with a numpy implementation of the same
optimiser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import sympy as sp

from derive.model import Answer, Line, Part, Step, Tex, as_dim
from derive.printing import DeriveLatexPrinter, tex
from derive.problems import ProblemSpec
from derive.problems.field_values import field_error
from derive.problems.optimizer_check import check
from derive.problems.optimizer_methods import (
    FIELDS,
    METHODS,
    STEP_DEFAULT,
    Entrywise,
    Method,
    Names,
    Update,
)
from derive.shapes import NAME_PATTERN
from derive.steps import entry_indices

__all__ = ["FIELDS", "METHODS", "Method", "Solved", "method_of", "solve"]


@dataclass(frozen=True)
class Solved:
    """An update with the placeholders written out: over g (``template``) and with the earlier
    problem's gradient put in for g (``value``)."""

    update: Update
    template: sp.Basic
    value: sp.Basic


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
    step = {"step"} if method.name in STEP_DEFAULT else set()
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
                rule=f"Problem {source.name}'s answer for {gradient.name} is g; each later line "
                "has the earlier ones written out.",
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
        **({"step": STEP_DEFAULT[method.name]} if method.name in STEP_DEFAULT else {}),
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
                    names |= {str(d) for dim in symbol.shape for d in as_dim(dim).free_symbols}
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
