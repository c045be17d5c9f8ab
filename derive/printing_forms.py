"""The forms derive's printer works with: how tightly a printed operand holds together, which
entrywise functions are calls or reciprocals, decimals from the input, and plain-text passes
over printed LaTeX (a sign taken off the front, ``\\left( … \\right)`` softened)."""

from __future__ import annotations

from enum import IntEnum

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

# Parenthesised content containing any of these is tall: keep \left( … \right) around it.
_TALL = (r"\frac", r"\sum", r"\prod", r"\int", r"\begin", r"\binom", r"\sqrt", r"\left")

# A rational whose denominator has no prime but 2 and 5 and exceeds this came from a decimal
# in the input (0.7978845608, 0.044715): print it as that decimal, not as a huge fraction.
DECIMAL_DENOMINATOR = 1000


class Binding(IntEnum):
    """How tightly a printed operand holds together, loosest first."""

    SUM = 1  # a + b: bracketed in any product
    PRODUCT = 2  # a b, a ⊙ b, 2 s, 1 ⊘ x: bracketed beside another factor of ⊙, under a postfix
    POSTFIX = 3  # a^{⊤}, s^{∘2}, e^{s}: a factor anywhere, bracketed under another postfix
    ATOM = 4  # a name, a call σ(s), diag(s), 1


def decimal(number: sp.Rational) -> str | None:
    """``number`` as the decimal it was written as, when it plainly was one (see above)."""
    q = int(number.q)
    twos = fives = 0
    while q % 2 == 0:
        q, twos = q // 2, twos + 1
    while q % 5 == 0:
        q, fives = q // 5, fives + 1
    if q != 1 or number.q <= DECIMAL_DENOMINATOR:
        return None
    places = max(twos, fives)
    digits = str(abs(int(number.p)) * 10**places // int(number.q)).rjust(places + 1, "0")
    sign = "- " if number.p < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def without_sign(text: str) -> tuple[bool, str]:
    """(whether ``text`` starts with a minus, ``text`` without it): - x → (True, x)."""
    if text.startswith("-"):
        return True, text[1:].lstrip()
    return False, text


def soften_parens(latex: str) -> str:
    r"""Replace ``\left( … \right)`` by plain parentheses unless the content is tall.

    sympy writes ``\left(`` everywhere; around a single line of symbols it only adds space.
    """
    out: list[str] = []
    stack: list[int] = []  # indices in ``out`` of the pending "\left(" pieces
    i = 0
    while i < len(latex):
        if latex.startswith(r"\left(", i):
            stack.append(len(out))
            out.append(r"\left(")
            i += len(r"\left(")
        elif latex.startswith(r"\right)", i) and stack:
            opened = stack.pop()
            inner = "".join(out[opened + 1 :])
            if not any(mark in inner for mark in _TALL):
                out[opened] = "("
                out.append(")")
            else:
                out.append(r"\right)")
            i += len(r"\right)")
        else:
            out.append(latex[i])
            i += 1
    return "".join(out)


def entrywise_parts(expr: ElementwiseApplyFunction) -> tuple[sp.Symbol, sp.Basic]:
    """The variable and body of the function an ``ElementwiseApplyFunction`` applies."""
    function = expr.function
    if isinstance(function, sp.Lambda):
        (variable,), body = function.args
        return variable, body
    variable = sp.Dummy("d")
    return variable, function(variable)


def reciprocal_of(expr: sp.Basic) -> sp.Basic | None:
    """X for the entrywise reciprocal 1 ⊘ X (an elementwise function d ↦ 1/d), else None."""
    if not isinstance(expr, ElementwiseApplyFunction):
        return None
    variable, body = entrywise_parts(expr)
    return expr.expr if body == 1 / variable else None


def is_call(body: sp.Basic, variable: sp.Symbol) -> bool:
    """Whether an entrywise body is one call of the variable: σ(d), f'(d), 𝕀[d > 0]."""
    if isinstance(body, sp.Derivative):
        return body.expr.args == (variable,)
    return (
        isinstance(body, sp.Function)
        and not isinstance(body, sp.exp)
        and body.args[0] == variable
        and all(arg.is_number for arg in body.args[1:])  # Heaviside(d, 1/2)
    )


def is_scalar_trace(expr: sp.Basic) -> bool:
    return isinstance(expr, sp.Trace) and expr.arg.shape == (1, 1)


def mul_factors(expr: sp.Mul) -> list[sp.Basic]:
    """The factors of a product, nested unevaluated products flattened."""
    factors: list[sp.Basic] = []
    for factor in expr.args:
        factors.extend(mul_factors(factor) if isinstance(factor, sp.Mul) else [factor])
    return factors


def is_zero(term: sp.Basic) -> bool:
    return term is sp.S.Zero or isinstance(term, sp.ZeroMatrix)
