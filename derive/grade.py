"""Grading: a student's answers, written in the network's own notation, against the checked key.

A submission names the assignment's network and gives, per part ("main" or a variant), an
expression for each gradient, in the network's notation or in LaTeX. Each is read by derive's
grammar (or its LaTeX reader) over the network's quantities,
then compared with the key at random points (the same points for both). A wrong answer gets a
hint when one is cheap and certain: a wrong sign, a constant factor, or, for scalars, the exact
factor by which the key differs (the homework sheet's missing (t − y)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sympy as sp

from derive import bounded, limits
from derive.bounded import GaveUpError
from derive.errors import DeriveError, InputFileError
from derive.evaluate import Evaluator
from derive.examples import example_path
from derive.functions import generic_function
from derive.latex_reader import read_latex
from derive.load import YamlReader, load_network, read_input, referenced_path
from derive.model import Network, Solution
from derive.parse import TextSpan
from derive.shapes import Scope, Shaped, build_expression
from derive.solve import solve
from derive.verify import concrete_dims, draw_point, forward

TOLERANCE = 1e-6
POINTS = 3


@dataclass(frozen=True)
class Verdict:
    """One graded answer."""

    part: str
    name: str
    submitted: str
    correct: bool
    comment: str  # plain text: "correct", or what is wrong


@dataclass(frozen=True)
class Submission:
    """A student's answers: part name -> gradient name -> (expression text, where it is)."""

    network: Network
    answers: Mapping[str, Mapping[str, tuple[str, TextSpan]]]


def load_submission(path: str | Path) -> Submission:
    """Read a submission file: ``network:`` (a path) or ``example:`` and ``answers:``."""
    file = Path(path)
    # a submission may be bigger than a network: one overlong answer is graded wrong, not the file
    text = read_input(file, "a submission", limit_name="submission_bytes")
    reader = YamlReader(text, str(file))
    root = reader.compose()
    entries = {k: v for k, (_, v) in reader.mapping(root, "a submission", "a mapping").items()}
    if ("network" in entries) == ("example" in entries):
        message = "a submission names either 'network' or 'example'"
        raise InputFileError(message, location=reader.location(root))
    if "network" in entries:
        name, _ = reader.string(entries["network"], "'network'", "a file name")
        where = reader.location(entries["network"])
        network = load_network(
            referenced_path(file.parent, name, location=where, what="the network file")
        )
    else:
        name, _ = reader.string(entries["example"], "'example'", "a built-in example's name")
        try:
            network = load_network(example_path(name))
        except DeriveError as error:  # no such example: say which file asked for it
            raise error.at(reader.location(entries["example"])) from None
    if "answers" not in entries:
        raise InputFileError("a submission needs 'answers'", location=reader.location(root))
    answers: dict[str, dict[str, tuple[str, TextSpan]]] = {}
    parts = reader.mapping(entries["answers"], "'answers'", "a mapping from part to answers")
    for part, (_, node) in parts.items():
        given = reader.mapping(node, f"the answers of part '{part}'", "a mapping of answers")
        answers[part] = {
            name: reader.string(value, f"the answer for {name}", "an expression")
            for name, (_, value) in given.items()
        }
    return Submission(network, answers)


def grade(submission: Submission, *, seed: int = 1) -> list[Verdict]:
    """Every submitted answer against the key derive computes and checks itself."""
    key = bounded.run(lambda: solve(submission.network), what="the key")
    networks = {"main": submission.network} | {
        name: submission.network.with_variant(name) for name in submission.network.variants
    }
    verdicts = []
    for part, answers in submission.answers.items():
        if part not in networks:
            known = ", ".join(networks)
            raise InputFileError(f"no part '{part}' in the assignment (parts: {known})")
        network = networks[part]
        for name, (text, span) in answers.items():
            verdicts.append(_bounded_grade(network, key, part, name, text, span, seed))
    return verdicts


def _bounded_grade(
    network: Network, key: Solution, part: str, name: str, text: str, span: TextSpan, seed: int
) -> Verdict:
    """One answer graded under the time and memory limits: an answer that overruns them
    (x^(10^(10^10))) is wrong, with the reason, and the others are graded as usual."""
    try:
        return bounded.run(
            lambda: _grade_one(network, key, part, name, text, span, seed),
            what=f"the answer for {name}",
        )
    except GaveUpError as error:
        return Verdict(part, name, text, False, error.message)


def _grade_one(
    network: Network, key: Solution, part: str, name: str, text: str, span: TextSpan, seed: int
) -> Verdict:
    answers = key.answers_of(part)
    if name not in answers:
        known = ", ".join(answers)
        return Verdict(part, name, text, False, f"the assignment asks for {known}, not {name}")
    expected = answers[name].value
    try:
        submitted = read_answer(text, _scope(network), span=span)
    except DeriveError as error:
        return Verdict(part, name, text, False, f"cannot read the answer: {error}")
    wanted = network.givens[name].shape
    if submitted.shape != wanted:
        return Verdict(
            part,
            name,
            text,
            False,
            f"the answer has shape {_shape(submitted.shape)}, not "
            f"{_shape(wanted)} (the shape of {name})",
        )
    pairs = _evaluate(network, expected, submitted.expr, seed)
    errors = [_relative(a, b) for a, b in pairs]
    if max(errors) <= TOLERANCE:
        return Verdict(part, name, text, True, "correct")
    return Verdict(part, name, text, False, _hint(expected, submitted.expr, pairs, max(errors)))


def read_answer(text: str, scope: Scope, *, span: TextSpan) -> Shaped:
    r"""An answer in the network's plain notation (W2^T d .* h) or in LaTeX, as students type
    it into a course site (W_2^{\top} \delta \odot h); LaTeX is read by the reader that
    reads derive's own pages back. Surrounding $…$ or \(…\) are dropped."""
    limits.check_length(text, name="answer_chars", what="answer", location=span.start)
    stripped = text.strip()
    for opening, closing in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if stripped.startswith(opening) and stripped.endswith(closing) and len(stripped) > 2:
            stripped = stripped[len(opening) : -len(closing)]
            break
    bound = limits.current()  # an answer may be as long as answers may be
    with limits.using(
        bound.raised(expression_chars=max(bound.expression_chars, bound.answer_chars))
    ):
        if "\\" in stripped or "{" in stripped:
            return read_latex(stripped, scope, span=span)
        return build_expression(stripped, scope, span=span)


def _scope(network: Network) -> Scope:
    generic = {
        type(f).__name__: type(f)
        for eq in network.equations
        for f in eq.rhs.atoms(sp.Function)
        if type(f) is generic_function(type(f).__name__)
    }
    return Scope(network.quantities, functions=generic)


def _evaluate(
    network: Network, expected: sp.Basic, submitted: sp.Basic, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    dims = concrete_dims(network)
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(POINTS):
        values = forward(network, draw_point(network, dims, rng), dims)
        evaluator = Evaluator(values, dims)
        pairs.append(
            (np.asarray(evaluator(expected), float), np.asarray(evaluator(submitted), float))
        )
    return pairs


def _relative(key: np.ndarray, answer: np.ndarray) -> float:
    scale = max(float(np.abs(key).max()), 1e-8)
    return float(np.abs(key - answer).max()) / scale


def _hint(
    expected: sp.Basic,
    submitted: sp.Basic,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    error: float,
) -> str:
    if all(_relative(key, -answer) <= TOLERANCE for key, answer in pairs):
        return "the sign is wrong"
    ratios = [float(np.sum(k * a) / np.sum(a * a)) for k, a in pairs if np.sum(a * a) > 0]
    constant = ratios and all(abs(r - ratios[0]) <= 1e-6 * abs(ratios[0]) for r in ratios)
    if constant and all(_relative(k, ratios[0] * a) <= TOLERANCE for k, a in pairs):
        return f"off by a constant factor: the key is {ratios[0]:.6g} times this answer"
    if not isinstance(expected, sp.MatrixExpr) and submitted != 0:
        factor = sp.factor(sp.simplify(expected / submitted))
        if factor.free_symbols and sp.count_ops(factor) <= 6:
            shown = f"({sp.sstr(factor)})" if isinstance(factor, sp.Add) else sp.sstr(factor)
            return f"the key is this answer times {shown}"
    return f"differs from the key (relative error {error:.2g} at a random point)"


def _shape(shape: tuple[sp.Basic, sp.Basic]) -> str:
    return "scalar" if shape == (1, 1) else f"{shape[0]}×{shape[1]}"
