"""One answer against one key part: a verdict and feedback that names the mistake.

Equivalence is decided numerically at the key's points (``derive.grading_key``): the answer
agrees at every point within a relative tolerance, or, where the key is zero, an absolute one.
A wrong answer is then tested against the mistakes students make, each a few numpy
comparisons (never a symbolic simplification, which can run for minutes on
(h + 2)^60 (t − y)^60): the sign, a constant factor, a missing or extra factor named from the
key's own factors and the forward equations' local derivatives, a missing, doubled or
sign-flipped path term, a transpose.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from derive import limits
from derive.errors import (
    DeriveError,
    ExpressionSyntaxError,
    LimitError,
    UnknownFunctionError,
    UnknownSymbolError,
)
from derive.grade import read_answer
from derive.grading_key import KeyPart
from derive.parse import TextSpan
from derive.shapes import Scope, Shaped

RELATIVE = 1e-7  # of the key's size at the point
ABSOLUTE = 1e-9  # of the key's largest size over all points: where the key is 0 at a point

# credit each verdict earns by default (a key file's ``grading: credit:`` overrides any)
CREDIT: dict[str, float] = {
    "correct": 1.0,
    "transposed": 0.5,
    "wrong_sign": 0.5,
    "constant_factor": 0.5,
    "sign_in_term": 0.5,
    "missing_term": 0.25,
    "extra_term": 0.25,
    "missing_factor": 0.0,
    "extra_factor": 0.0,
    "wrong": 0.0,
    "wrong_shape": 0.0,
    "undefined_symbol": 0.0,
    "unreadable": 0.0,
    "rejected": 0.0,  # over a limit: too long, too deep, an exponent too large, out of time
    "missing": 0.0,
}

Arrays = Sequence[np.ndarray]


@dataclass(frozen=True)
class Judgement:
    """What an answer earned: a verdict from CREDIT and feedback for the student."""

    verdict: str
    feedback: str


def judge(part: KeyPart, text: str, span: TextSpan) -> Judgement:
    """Read ``text`` in the part's scope and compare it with the key."""
    try:
        if isinstance(part.expected, sp.Tuple):
            submitted = _read_list(text, part.scope, span)
        else:
            submitted = read_answer(text, part.scope, span=span)
    except LimitError as error:
        return Judgement("rejected", error.message)
    except (UnknownSymbolError, UnknownFunctionError) as error:
        return Judgement("undefined_symbol", error.message)
    except DeriveError as error:
        return Judgement("unreadable", f"could not read the answer: {error.message}")
    except RecursionError:
        return Judgement("rejected", "the answer is nested too deeply")
    try:
        with np.errstate(all="ignore"):
            answer = part.evaluate(submitted.expr)
    except (DeriveError, TypeError, ValueError, ArithmeticError, np.linalg.LinAlgError) as error:
        return Judgement("wrong", f"cannot evaluate the answer at the key's points ({error})")
    if not all(np.isfinite(a).all() for a in answer):
        return Judgement("wrong", "the answer is not a finite real number at the key's points")
    if submitted.shape != part.shape:
        if submitted.shape == part.shape[::-1] and _agree(part.values, [a.T for a in answer]):
            return Judgement("transposed", "transposed: the key is the transpose of this answer")
        return Judgement(
            "wrong_shape",
            f"the answer has shape {_shape(submitted.shape)}, not {_shape(part.shape)} "
            f"(the shape of {part.asked})",
        )
    if _agree(part.values, answer):
        return Judgement("correct", "correct")
    return _mistake(part, answer)


def _read_list(text: str, scope: Scope, span: TextSpan) -> Shaped:
    """A list of values, ``[-5/3, 1/3, 1/3, 1]`` (or a YAML list), as a column of entries."""
    limits.check_length(text, name="answer_chars", what="answer", location=span.start)
    stripped = text.strip()
    if stripped[:1] not in "[(" or stripped[-1:] not in "])":
        raise ExpressionSyntaxError("expected a list of values, [a, b, c]")
    entries, depth, start = [], 0, 1
    for position, character in enumerate(stripped[1:-1], start=1):
        depth += character in "([{"
        depth -= character in ")]}"
        if character == "," and depth == 0:
            entries.append(stripped[start:position])
            start = position + 1
    entries.append(stripped[start:-1])
    values = [read_answer(entry, scope, span=span).expr for entry in entries]
    return Shaped(sp.Tuple(*values), (sp.Integer(len(values)), sp.Integer(1)))


def _mistake(part: KeyPart, answer: Arrays) -> Judgement:
    """The first recognised mistake, else how far the answer is from the key."""
    key = part.values
    if _agree(key, [-a for a in answer]):
        return Judgement("wrong_sign", "the sign is wrong")
    ratio = None if _constant(key) and _constant(answer) else _constant_ratio(key, answer)
    if ratio is not None:
        return Judgement(
            "constant_factor", f"off by a constant factor: the key is {ratio} times this answer"
        )
    for factor in part.factors:
        if _agree(key, _times(answer, factor.values)):
            return Judgement("missing_factor", f"missing factor {factor.label}")
        if _agree(answer, _times(key, factor.values)):
            return Judgement("extra_factor", f"extra factor {factor.label}")
    for term in part.terms:
        if term.absent:
            if _agree(answer, [k + t for k, t in zip(key, term.values, strict=True)]):
                return Judgement("extra_term", f"extra term: {term.label}, not in this part")
            continue
        for verdict, scale, said in TERM_MISTAKES:
            if _agree(answer, [k - scale * t for k, t in zip(key, term.values, strict=True)]):
                return Judgement(verdict, said(term.label))
    square = key[0].shape[0] == key[0].shape[1] > 1
    if square and _agree(key, [a.T for a in answer]):
        return Judgement("transposed", "transposed: the key is the transpose of this answer")
    return Judgement("wrong", _distance(key, answer))


def _path(label: str) -> str:
    return label if label.startswith("the path") else f"the term {label}"


# (verdict, s, feedback): the answer is key − s·term
TERM_MISTAKES: tuple[tuple[str, float, Callable[[str], str]], ...] = (
    ("missing_term", 1.0, lambda label: f"missing {_path(label)}"),
    ("extra_term", -1.0, lambda label: f"{_path(label)} is counted twice"),
    ("sign_in_term", 2.0, lambda label: f"the sign of {_path(label)} is wrong"),
)


def _agree(key: Arrays, answer: Arrays) -> bool:
    """Equal at every point: within RELATIVE of the key's size there, and within ABSOLUTE of
    the key's largest size where the key is 0."""
    scale = max(max(float(np.abs(k).max(initial=0.0)) for k in key), 1e-300)
    floor = ABSOLUTE * (scale if scale > 1e-12 else 1.0)
    for k, a in zip(key, answer, strict=True):
        try:
            difference = float(np.abs(k - a).max(initial=0.0))
        except ValueError:  # shapes that do not broadcast
            return False
        if not difference <= RELATIVE * float(np.abs(k).max(initial=0.0)) + floor:
            return False
    return True


def _constant(values: Arrays) -> bool:
    """The same at every point: a number, not a function of the givens."""
    return all(np.array_equal(v, values[0]) for v in values)


def _times(values: Arrays, factor: Arrays) -> list[np.ndarray]:
    try:
        return [v * f for v, f in zip(values, factor, strict=True)]
    except ValueError:
        return [np.full_like(v, np.nan) for v in values]


def _constant_ratio(key: Arrays, answer: Arrays) -> str | None:
    """The constant c with key = c · answer (c ≠ ±1), shown as a fraction when it is one."""
    flat_key = np.concatenate([k.ravel() for k in key])
    flat_answer = np.concatenate([a.ravel() for a in answer])
    norm = float(flat_answer @ flat_answer)
    if norm == 0:
        return None
    ratio = float(flat_key @ flat_answer) / norm
    if ratio == 0 or not _agree(key, [ratio * a for a in answer]):
        return None
    fraction = Fraction(ratio).limit_denominator(1000)
    shown = str(fraction) if abs(float(fraction) - ratio) <= 1e-9 * abs(ratio) else f"{ratio:.6g}"
    return shown


def _distance(key: Arrays, answer: Arrays) -> str:
    """How a wrong answer differs, at the first point where it does."""
    scale = max(max(float(np.abs(k).max(initial=0.0)) for k in key), 1e-300)
    for k, a in zip(key, answer, strict=True):
        size = float(np.abs(k).max(initial=0.0))
        difference = float(np.abs(k - a).max(initial=0.0))
        if size <= 1e-9 * scale:
            return f"differs from the key: it is 0 at a point where this answer is {difference:.3g}"
        if difference > RELATIVE * size:
            return (
                f"differs from the key (relative error {difference / size:.2g} at a random point)"
            )
    return "differs from the key"


def _shape(shape: Sequence[object]) -> str:
    return "scalar" if tuple(shape) == (1, 1) else f"{shape[0]}×{shape[1]}"


def credit(verdict: str, table: dict[str, float]) -> float:
    """The fraction of a part's points ``verdict`` earns."""
    return table.get(verdict, CREDIT.get(verdict, 0.0))
