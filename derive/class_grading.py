"""Grading a class: every student's answer files against one key, in a pool of workers.

The key is built once; each answer is one task (part id, text, where it is written), judged by
``derive.grading_feedback`` in a worker under the per-answer time and memory limits. Every
student gets a row for every part of the key, in the key's order: a part they did not answer
is "missing" (0 points), an answer for a part the key lacks is listed under ``ignored``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from derive.answer_files import AnswerFile
from derive.bounded import Bounds
from derive.grading_feedback import Judgement, credit, judge
from derive.grading_key import GradingKey
from derive.grading_pool import GradingPool
from derive.parse import TextSpan

MISTAKES_SHOWN = 5  # the most common mistakes listed per part
# mistakes the summary counts by their verdict: their feedback quotes each student's answer
BY_VERDICT = ("unreadable", "undefined_symbol", "rejected")


@dataclass(frozen=True)
class Row:
    """One student's grade on one part."""

    student: str
    part: str
    score: float
    max: float
    verdict: str
    feedback: str


@dataclass
class StudentGrade:
    """A student's total, and what in their file was not graded."""

    student: str
    file: str
    score: float
    max: float
    ignored: list[str] = field(default_factory=list)
    error: str = ""


@dataclass(frozen=True)
class PartSummary:
    """How the class did on one part: for the instructor."""

    part: str
    max: float
    answered: int
    correct: int
    mean: float
    mistakes: tuple[tuple[str, int], ...]  # feedback, how many students got it


@dataclass
class Gradebook:
    title: str
    parts: list[str]
    rows: list[Row]
    students: list[StudentGrade]
    summary: list[PartSummary]
    skipped: list[str] = field(default_factory=list)


Task = tuple[str, str, TextSpan]  # part id, answer text, where it is written


def grade_class(
    key: GradingKey, files: Sequence[AnswerFile], *, workers: int = 0, bounds: Bounds | None = None
) -> Gradebook:
    """Every file's answers against ``key`` (workers=0: in this process, unbounded)."""
    tasks: list[Task] = []
    for answers in files:
        for ident, (text, span) in answers.answers.items():
            if ident in key.parts:
                tasks.append((ident, text, span))

    def work(task: Task) -> Judgement:
        ident, text, span = task
        return judge(key.parts[ident], text, span)

    def overrun(task: Task, reason: str) -> Judgement:
        return Judgement("rejected", f"the answer {reason}")

    pool = GradingPool(work, overrun, workers=workers, bounds=bounds or Bounds(seconds=2.0))
    judged = iter(pool.map(tasks))
    rows: list[Row] = []
    students: list[StudentGrade] = []
    names: Counter[str] = Counter()
    for answers in files:
        names[answers.student] += 1
        student = answers.student
        if names[student] > 1:  # two files name the same student: keep both, told apart
            student = f"{student} ({answers.file})"
        graded = {ident: next(judged) for ident in answers.answers if ident in key.parts}
        mine = [_row(key, student, ident, graded.get(ident), answers.error) for ident in key.parts]
        rows.extend(mine)
        ignored = [f"{ident}: no such part in the key" for ident in answers.answers]
        students.append(
            StudentGrade(
                student=student,
                file=answers.file,
                score=_rounded(sum(r.score for r in mine)),
                max=_rounded(sum(r.max for r in mine)),
                ignored=[i for i in ignored if i.split(":")[0] not in key.parts],
                error=answers.error,
            )
        )
    return Gradebook(key.title, list(key.parts), rows, students, _summary(key, rows), key.skipped)


def _row(key: GradingKey, student: str, ident: str, judgement: Judgement | None, error: str) -> Row:
    points = key.parts[ident].max_points
    if judgement is None:
        said = "no answer (the file could not be read)" if error else "no answer"
        judgement = Judgement("missing", said)
    score = _rounded(points * credit(judgement.verdict, key.credit))
    return Row(student, ident, score, points, judgement.verdict, judgement.feedback)


def _summary(key: GradingKey, rows: Sequence[Row]) -> list[PartSummary]:
    found = []
    for ident, part in key.parts.items():
        mine = [r for r in rows if r.part == ident]
        mistakes = Counter(
            r.verdict.replace("_", " ") if r.verdict in BY_VERDICT else r.feedback
            for r in mine
            if r.verdict not in ("correct", "missing")
        )
        found.append(
            PartSummary(
                part=ident,
                max=part.max_points,
                answered=sum(r.verdict != "missing" for r in mine),
                correct=sum(r.verdict == "correct" for r in mine),
                mean=_rounded(sum(r.score for r in mine) / len(mine)) if mine else 0.0,
                mistakes=tuple(
                    sorted(mistakes.items(), key=lambda m: (-m[1], m[0]))[:MISTAKES_SHOWN]
                ),
            )
        )
    return found


def _rounded(value: float) -> float:
    return round(value, 4) + 0.0  # no -0.0
