"""Reading a problem's numeric fields as exact sympy numbers.

YAML gives ints, floats or text; every one becomes an exact Rational (a float by its decimal
text, so 0.1 is 1/10; text such as "-5/3" through the project's own expression grammar).
Each error names the problem and the field.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from fractions import Fraction

import sympy as sp

from derive import limits
from derive.errors import DeriveError, InputFileError, LimitError
from derive.load import shorten
from derive.parse import TextSpan
from derive.problems import ProblemSpec
from derive.shapes import NAME_PATTERN, Scope, build_expression


def field_error(spec: ProblemSpec, message: str) -> InputFileError:
    """An InputFileError about one of ``spec``'s fields, placed at the field it quotes."""
    return InputFileError(f"problem '{spec.id}': {message}", location=spec.locate(message))


def reject_unknown(spec: ProblemSpec, fields: Mapping[str, str]) -> None:
    """An error for a field the kind does not have (a typo would otherwise fall back silently)."""
    for name in spec.fields:
        if name not in fields:
            close = difflib.get_close_matches(str(name), list(fields), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            known = ", ".join(fields)
            raise field_error(spec, f"unknown field '{name}' ({hint}this kind has {known})")


def exact_number(spec: ProblemSpec, value: object, *, what: str) -> sp.Rational:
    """``value`` as an exact Rational; ``what`` names it in errors ("'epsilon'", "entry 2 of …")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise field_error(spec, f"{what} must be a number, not {_shown(value)}")
    if isinstance(value, int):
        number: sp.Rational = sp.Integer(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise field_error(spec, f"{what} must be a finite number, not {value}")
        exact = Fraction(str(value))  # the decimal as written: 0.1 -> 1/10
        number = sp.Rational(exact.numerator, exact.denominator)
    else:
        number = _number_text(spec, value, what=what)
    limits.check_number(number, location=spec.locate(what) or spec.location)
    return number


def check_batch(spec: ProblemSpec, size: int, what: str, *, limit: str = "batch") -> None:
    """A LimitError if ``size`` (of ``what``: a batch's values, or a batch size) is over the
    limit named ``limit``."""
    if size > getattr(limits.current(), limit):
        message = f"problem '{spec.id}': {what} {size} is too large"
        raise limits.exceeded(limit, message, location=spec.locate(what) or spec.location)


def _number_text(spec: ProblemSpec, text: str, *, what: str) -> sp.Rational:
    source = spec.location.source if spec.location else f"problem '{spec.id}'"
    line = spec.location.line if spec.location else None
    try:
        built = build_expression(text, Scope({}), span=TextSpan(source, line))
    except LimitError as error:  # 1e999999: the limit's own message, placed at the field
        message = f"problem '{spec.id}': {what}: {error.message}"
        raise LimitError(message, limit=error.limit, location=spec.locate(what)) from None
    except DeriveError as error:
        reason = error.message
        shown = repr(shorten(text))
        raise field_error(spec, f"{what} must be a number, not {shown} ({reason})") from None
    if not isinstance(built.expr, sp.Rational):
        raise field_error(spec, f"{what} must be a rational number, not {shorten(text)!r}")
    return built.expr


def symbol_or_number(spec: ProblemSpec, value: object, *, what: str) -> sp.Expr:
    """A name (e.g. ``lambda``) as a positive Symbol, or anything else as an exact number."""
    if isinstance(value, str) and NAME_PATTERN.fullmatch(value.strip()):
        return sp.Symbol(value.strip(), positive=True)
    return exact_number(spec, value, what=what)


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "nothing"
    return repr(shorten(value)) if isinstance(value, str) else repr(value)
