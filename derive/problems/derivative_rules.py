"""Differentiation rules applied by hand, the way a solution key shows them.

Each rule sits beside the shape of expression it applies to (c/u, u/v, g(u), u v) and returns
the rule's pieces (u = …, u' = …), the rule applied with those pieces in place, and the same as
sympy evaluates it. ``over`` writes an expression over a chosen denominator, so that a
derivative and a claimed form can be brought to one common form without sympy's rational
simplifiers, which turn e^{-z} into 1/e^{z}.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from derive.model import Line, Tex
from derive.printing import tex


@dataclass(frozen=True)
class RuleApplication:
    """One differentiation rule applied to the definition, each piece computed by sympy."""

    title: str
    rule: str
    rule_math: Tex | None
    power_form: Tex | None  # the definition rewritten so that the rule applies
    pieces: tuple[Line, ...]  # u = …, u' = …
    applied: Tex  # the rule's right-hand side with the pieces in place
    value: sp.Expr  # the same, as sympy evaluates it


def _reciprocal(f: sp.Expr, z: sp.Symbol) -> RuleApplication | None:
    """c / u = c u^{-1}, so (c u^{-1})' = -c u^{-2} u' by the chain rule."""
    c, u = sp.fraction(f, exact=True)
    if u == 1 or c.has(z):
        return None
    du = sp.diff(u, z)
    return RuleApplication(
        title="Differentiate by the chain rule",
        rule="Power rule for the exponent −1, times the derivative of the inside u.",
        rule_math=Tex(r"\left(u^{-1}\right)' = -u^{-2}\,u'"),
        power_form=Tex(rf"{_scale(c)}{group(u)}^{{-1}}"),
        pieces=(Line(sp.Symbol("u"), u), Line(Tex("u'"), du)),
        applied=Tex(rf"{_scale(-c)}{group(u)}^{{-2}} \cdot {group(du)}"),
        value=-c * u**-2 * du,
    )


def _two_factors(u: sp.Expr, du: sp.Expr, v: sp.Expr, dv: sp.Expr) -> tuple[Line, ...]:
    """u, u', v, v' as the quotient and product rules name them."""
    return (
        Line(sp.Symbol("u"), u),
        Line(Tex("u'"), du),
        Line(sp.Symbol("v"), v),
        Line(Tex("v'"), dv),
    )


def _quotient(f: sp.Expr, z: sp.Symbol) -> RuleApplication | None:
    """(u / v)' = (u' v - u v') / v²."""
    u, v = sp.fraction(f, exact=True)
    if v == 1:
        return None
    du, dv = sp.diff(u, z), sp.diff(v, z)
    top = rf"{group(du)}{group(v)} - {group(u)}{group(dv)}"
    return RuleApplication(
        title="Differentiate by the quotient rule",
        rule="Quotient rule with u the numerator and v the denominator.",
        rule_math=Tex(r"\left(\frac{u}{v}\right)' = \frac{u'v - uv'}{v^{2}}"),
        power_form=None,
        pieces=_two_factors(u, du, v, dv),
        applied=Tex(rf"\frac{{{top}}}{{{group(v)}^{{2}}}}"),
        value=(du * v - u * dv) * v**-2,
    )


def _composition(f: sp.Expr, z: sp.Symbol) -> RuleApplication | None:
    """(g(u))' = g'(u) u' for a function g of one inner expression u, and for u^n."""
    if isinstance(f, sp.Function) and len(f.args) == 1:
        (u,) = f.args
        outer, outer_tex = sp.Lambda(_X, f.func(_X)), r"g'(u)\,u'"
    elif isinstance(f, sp.Pow) and not f.exp.has(z):
        u = f.base
        outer, outer_tex = sp.Lambda(_X, _X**f.exp), r"n\,u^{n-1}\,u'"
    else:
        return None
    if u == z:
        return None
    du = sp.diff(u, z)
    outer_prime = sp.diff(outer(_X), _X).subs(_X, u)
    return RuleApplication(
        title="Differentiate by the chain rule",
        rule="Chain rule: the outer function's derivative at the inside u, times u'.",
        rule_math=Tex(rf"\frac{{d}}{{d{tex(z)}}}\,g(u) = {outer_tex}"),
        power_form=None,
        pieces=(Line(sp.Symbol("u"), u), Line(Tex("u'"), du)),
        applied=Tex(rf"{group(outer_prime)} \cdot {group(du)}"),
        value=outer_prime * du,
    )


def _product(f: sp.Expr, z: sp.Symbol) -> RuleApplication | None:
    """(u v)' = u' v + u v' for a product of two factors that depend on z."""
    coefficient, rest = f.as_independent(z, as_Add=False)
    varying = sp.Mul.make_args(rest)
    if len(varying) < 2:
        return None
    u, v = varying[0], sp.Mul(*varying[1:])
    du, dv = sp.diff(u, z), sp.diff(v, z)
    scale = "" if coefficient == 1 else group(coefficient)
    applied = rf"{group(du)} \cdot {group(v)} + {group(u)} \cdot {group(dv)}"
    return RuleApplication(
        title="Differentiate by the product rule",
        rule="Product rule with u and v the two factors.",
        rule_math=Tex(r"(uv)' = u'v + uv'"),
        power_form=None,
        pieces=_two_factors(u, du, v, dv),
        applied=Tex(rf"{scale}\left({applied}\right)" if scale else applied),
        value=coefficient * (du * v + u * dv),
    )


_X = sp.Dummy("x")
RULES: tuple[Callable[[sp.Expr, sp.Symbol], RuleApplication | None], ...] = (
    _reciprocal,
    _quotient,
    _composition,
    _product,
)


def differentiate(f: sp.Expr, z: sp.Symbol) -> RuleApplication:
    """The first rule of RULES that fits ``f``; else sympy's derivative term by term."""
    for rule in RULES:
        found = rule(f, z)
        if found is not None:
            return found
    derivative = sp.diff(f, z)
    return RuleApplication(
        title="Differentiate",
        rule="Sum, product, chain and elementary rules, term by term.",
        rule_math=None,
        power_form=None,
        pieces=(),
        applied=Tex(tex(derivative)),
        value=derivative,
    )


def group(expr: sp.Expr) -> str:
    """``expr`` printed as one factor: a sum or a negative term in parentheses."""
    printed = tex(expr)
    if isinstance(expr, sp.Add) or expr.could_extract_minus_sign():
        return rf"\left({printed}\right)" if r"\frac" in printed else rf"({printed})"
    return printed


def _scale(c: sp.Expr) -> str:
    """A coefficient in front of a power: nothing for 1, a minus sign for −1."""
    if c == 1:
        return ""
    if c == -1:
        return "-"
    return group(c)


# --- a common form for the derivative and the claim ----------------------------------------


def divisors(expr: sp.Expr) -> sp.Expr:
    """The product of ``expr``'s divisors: each base of a negative power, to its highest power."""
    highest: dict[sp.Expr, int] = {}
    for power in expr.atoms(sp.Pow):
        if power.exp.is_Integer and power.exp < 0 and not power.base.is_number:
            highest[power.base] = max(highest.get(power.base, 0), int(-power.exp))
    return sp.Mul(*[base**n for base, n in highest.items()])


def over(expr: sp.Expr, denominator: sp.Expr) -> sp.Expr:
    """``expr`` as one fraction over ``denominator`` (each term times it, expanded), if clean."""
    if denominator == 1:
        return expr
    numerator = []
    for term in sp.Add.make_args(expr):
        product = term * denominator
        product = sp.expand(product) if divisors(product) == 1 else sp.cancel(product)
        if divisors(product) != 1:
            return expr  # no clean numerator: leave the expression as it is
        numerator.append(product)
    return sp.Mul(sp.Add(*numerator), sp.Pow(denominator, -1))
