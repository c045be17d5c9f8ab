"""Every limit on what derive reads, declared in one place.

derive runs on course servers over files students wrote, so nothing it reads may grow without
bound: a file, an expression, its nesting, a number's digits, a dimension, a batch. The defaults
are far beyond any course problem; the rare big job raises one with ``--limit NAME=VALUE``
(repeatable, on ``derive solve`` and ``derive grade``) or, from Python::

    with derive.limits.using(derive.limits.current().raised(equations=5000)):
        derive.solve(derive.load("huge.yaml"))

A limit that is hit is a ``LimitError`` naming the limit, its value and how to raise it.
Time and memory are bounded separately (``derive.bounded``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from derive.errors import LimitError, Location

if TYPE_CHECKING:  # SymPy is imported by the check that needs it: reading limits needs none
    import sympy as sp


@dataclass(frozen=True)
class Limits:
    """The limits in force. Each field's comment says what it bounds; its name, with ``_``
    written ``-``, is the NAME of ``--limit NAME=VALUE``."""

    input_bytes: int = 1_000_000  # size of any file derive reads (network, set, submission)
    expression_chars: int = 5_000  # characters of one equation, expression or field value
    answer_chars: int = 20_000  # characters of one graded answer
    submission_bytes: int = 16_000_000  # size of a submission (an overlong answer is graded wrong)
    nesting: int = 100  # brackets, calls, signs and powers nested in one expression
    yaml_depth: int = 50  # lists and mappings nested in a YAML file
    yaml_items: int = 10_000  # entries of one YAML list or mapping (problems, givens, answers)
    equations: int = 1_000  # forward equations and variants of one network
    digits: int = 100  # decimal digits of a number, written or computed (2^100 has 31)
    exponent: int = 1_000  # size of a numeric exponent (x^1000 is allowed, x^(10^8) is not)
    dimension: int = 10_000  # an integer dimension of a given (matrix 10 784)
    entries: int = 1_000_000  # rows × columns of one quantity in the numeric check
    batch: int = 1_000  # values in a batch of numbers (batchnorm_numbers)
    batch_size: int = 16  # a whole-number batch size worked symbolically (bias_before_batchnorm)
    allow_outside: bool = False  # files may name files outside their own directory

    def raised(self, **changes: Any) -> Limits:
        """These limits with some changed: ``limits.raised(equations=5000)``."""
        return dataclasses.replace(self, **changes)

    def overridden(self, settings: Sequence[str]) -> Limits:
        """These limits with ``NAME=VALUE`` settings applied (``input-bytes=5MB``); a
        ValueError names a setting that is not one."""
        changes: dict[str, int] = {}
        known = {
            field.name.replace("_", "-")
            for field in dataclasses.fields(self)
            if field.name != "allow_outside"
        }
        for setting in settings:
            name, equals, value = setting.partition("=")
            key = name.strip().replace("_", "-")
            if not equals or key not in known:
                raise ValueError(
                    f"'{setting}' is not NAME=VALUE with NAME one of {', '.join(sorted(known))}"
                )
            changes[key.replace("-", "_")] = _count(value, setting)
        return self.raised(**changes)


_SUFFIXES = {"": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}


def _count(text: str, setting: str) -> int:
    """A positive whole number, written 5000, 5_000, 5k or 5MB."""
    found = re.fullmatch(r"\s*([0-9][0-9_]{0,17})\s*([A-Za-z]*)\s*", text)
    if not found or found.group(2).lower() not in _SUFFIXES:
        raise ValueError(f"'{setting}': the value must be a whole number such as 5000 or 5MB")
    value = int(found.group(1).replace("_", "")) * _SUFFIXES[found.group(2).lower()]
    if value < 1:
        raise ValueError(f"'{setting}': the value must be at least 1")
    return value


DEFAULTS = Limits()
_CURRENT: ContextVar[Limits | None] = ContextVar("derive_limits", default=None)


def current() -> Limits:
    """The limits in force (the defaults unless ``using`` or the command line changed them)."""
    return _CURRENT.get() or DEFAULTS


@contextlib.contextmanager
def using(limits: Limits) -> Iterator[Limits]:
    """Apply ``limits`` to everything read inside the block."""
    token = _CURRENT.set(limits)
    try:
        yield limits
    finally:
        _CURRENT.reset(token)


def own_output() -> contextlib.AbstractContextManager[Limits]:
    """The limits for reading derive's own printed formulas back (``derive.roundtrip``): a key
    of a big network prints long formulas and large exact numbers, and it is not user input."""
    unbounded = 10**12
    return using(
        current().raised(
            expression_chars=unbounded,
            answer_chars=unbounded,
            nesting=unbounded,
            digits=unbounded,
            exponent=unbounded,
        )
    )


def exceeded(name: str, what: str, *, location: Location | None = None) -> LimitError:
    """The error for limit ``name`` (a Limits field): '<what> (limit 1 MB; raise it with
    --limit input-bytes=N)'."""
    value = getattr(current(), name)
    option = name.replace("_", "-")
    shown = _megabytes(value) if name.endswith("_bytes") else f"{value:,}".replace(",", " ")
    message = f"{what} (limit {shown}; raise it with --limit {option}=N)"
    return LimitError(message, limit=option, location=location)


def _megabytes(count: int) -> str:
    if count % 1_000_000 == 0:
        return f"{count // 1_000_000} MB"
    return f"{count:,} bytes".replace(",", " ")


def check_count(name: str, count: int, what: str, *, location: Location | None = None) -> None:
    """A LimitError if ``count`` (of ``what``: "equations") is over limit ``name``."""
    if count > getattr(current(), name):
        raise exceeded(name, f"too many {what}: {count:,}".replace(",", " "), location=location)


def check_length(
    text: str,
    *,
    name: str = "expression_chars",
    what: str = "expression",
    location: Location | None = None,
) -> None:
    """A LimitError if ``text`` is longer than limit ``name`` (never quoting the text)."""
    if len(text) > getattr(current(), name):
        count = f"{len(text):,}".replace(",", " ")
        raise exceeded(name, f"{what} too long: {count} characters", location=location)


def digits_of(number: sp.Rational) -> int:
    """How many decimal digits the larger of a rational's numerator and denominator has,
    estimated from its bits (exact to ±1) so that no huge number is ever converted to text."""
    bits = max(abs(int(number.p)).bit_length(), int(number.q).bit_length())
    return int(bits * 0.30103) + 1


def check_number(number: sp.Basic, *, location: Location | None = None) -> None:
    """A LimitError if ``number`` is an exact rational with more digits than allowed."""
    from sympy import Rational

    if isinstance(number, Rational) and digits_of(number) > current().digits:
        raise exceeded(
            "digits", f"a number with about {digits_of(number)} digits", location=location
        )
