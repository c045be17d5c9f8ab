"""Grading: a student's answers, written in the network's own notation, against the checked key.

A submission names the assignment's network and gives, per part ("main" or a variant), an
expression for each gradient, in the network's notation or in LaTeX. Each is read by derive's
grammar (or its LaTeX reader) over the network's quantities,
then compared with the key at random points (derive.grading_key, derive.grading_feedback). A
wrong answer gets feedback naming the mistake: a wrong sign, a constant factor, a missing or
extra factor (the homework sheet's missing (t − y)), a missing path, a transpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from derive import limits
from derive.errors import DeriveError, InputFileError
from derive.examples import example_path
from derive.latex_reader import read_latex
from derive.load import YamlReader, load_network, read_input, referenced_path
from derive.model import Network
from derive.parse import TextSpan
from derive.shapes import Scope, Shaped, build_expression

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


def grade(submission: Submission) -> list[Verdict]:
    """Every submitted answer against the key derive computes and checks itself (the Python
    API; ``derive grade`` grades a class in a pool of workers, derive.class_grading)."""
    from derive.grading_feedback import judge
    from derive.grading_sources import key_from_network

    key = key_from_network(submission.network)
    parts = {ident.split(".")[0] for ident in key.parts} | {"main"}
    verdicts = []
    for part, answers in submission.answers.items():
        if part not in parts:
            known = ", ".join(sorted(parts))
            raise InputFileError(f"no part '{part}' in the assignment (parts: {known})")
        for name, (text, span) in answers.items():
            if f"{part}.{name}" not in key.parts:
                asked = ", ".join(i.split(".")[1] for i in key.parts if i.startswith(f"{part}."))
                comment = f"the assignment asks for {asked}, not {name}"
                verdicts.append(Verdict(part, name, text, False, comment))
                continue
            judged = judge(key.parts[f"{part}.{name}"], text, span)
            correct = judged.verdict == "correct"
            verdicts.append(Verdict(part, name, text, correct, judged.feedback))
    return verdicts


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
        if "\\" in stripped or "{" in stripped or "[" in stripped:  # 1[z > 0] is LaTeX's
            return read_latex(stripped, scope, span=span)
        return build_expression(stripped, scope, span=span)
