"""A graded class written out: text for the terminal, JSON, a CSV gradebook, Gradescope.

Every format is built whole in memory and written atomically by the caller
(``derive.render.atomic``), so an interrupted run leaves no half-written gradebook. Text shown
in a terminal passes through ``inert``; CSV cells that a spreadsheet would run as a formula
(=, +, -, @ first) are quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict

from derive.class_grading import Gradebook
from derive.escaping import inert

FORMATS = ("text", "json", "csv", "gradescope")


def render(book: Gradebook, fmt: str) -> str:
    """``book`` in the format ``fmt`` (one of FORMATS)."""
    return {"text": as_text, "json": as_json, "csv": as_csv, "gradescope": as_gradescope}[fmt](book)


def as_text(book: Gradebook) -> str:
    lines: list[str] = []
    several = len(book.students) > 1
    for student in book.students:
        if several:
            lines.append(f"== {inert(student.student)} ({inert(student.file)})")
        if student.error:
            lines.append(f"    could not read the file: {inert(student.error)}")
        for row in (r for r in book.rows if r.student == student.student):
            mark = row.verdict if row.verdict in ("correct", "missing") else "WRONG"
            lines.append(f"{inert(row.part)}: {mark} ({_number(row.score)}/{_number(row.max)})")
            if row.verdict not in ("correct", "missing"):
                lines.append(f"    {row.verdict}: {inert(row.feedback)}")
        for ignored in student.ignored:
            lines.append(f"    ignored {inert(ignored)}")
        lines.append(f"Score: {_number(student.score)}/{_number(student.max)}")
    if several:
        lines.append("== Summary")
        for part in book.summary:
            lines.append(
                f"{inert(part.part)}: {part.correct}/{len(book.students)} correct, "
                f"{part.answered} answered, mean {_number(part.mean)}/{_number(part.max)}"
            )
            for feedback, count in part.mistakes[:3]:
                lines.append(f"    {count}× {inert(feedback)}")
    for skipped in book.skipped:
        lines.append(f"not graded: {inert(skipped)}")
    return "\n".join(lines) + "\n"


def as_json(book: Gradebook) -> str:
    data = {
        "title": book.title,
        "parts": book.parts,
        "rows": [asdict(row) for row in book.rows],
        "students": [asdict(student) for student in book.students],
        "summary": [
            {
                **{k: v for k, v in asdict(part).items() if k != "mistakes"},
                "mistakes": [{"feedback": f, "count": n} for f, n in part.mistakes],
            }
            for part in book.summary
        ],
        "not_graded": book.skipped,
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def as_csv(book: Gradebook) -> str:
    """One row per student, a column per part, then the total and the maximum."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", "file", *book.parts, "total", "max"])
    scores = {(r.student, r.part): r.score for r in book.rows}
    for student in book.students:
        writer.writerow(
            [
                _cell(student.student),
                _cell(student.file),
                *(_number(scores[(student.student, part)]) for part in book.parts),
                _number(student.score),
                _number(student.max),
            ]
        )
    return buffer.getvalue()


def as_gradescope(book: Gradebook) -> str:
    """Gradescope's autograder ``results.json`` for the one student graded."""
    if len(book.students) != 1:
        raise ValueError("a Gradescope results.json holds one submission")
    (student,) = book.students
    tests = [
        {
            "name": row.part,
            "score": row.score,
            "max_score": row.max,
            "status": "passed" if row.verdict == "correct" else "failed",
            "output": row.feedback
            if row.verdict == "correct"
            else f"{row.verdict}: {row.feedback}",
        }
        for row in book.rows
    ]
    notes = [f"Not graded: {note}" for note in student.ignored]
    if student.error:
        notes.insert(0, f"The file could not be read: {student.error}")
    results = {
        "score": student.score,
        "output": "\n".join(
            [f"{book.title}: {_number(student.score)}/{_number(student.max)}", *notes]
        ),
        "tests": tests,
    }
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"


def _number(value: float) -> str:
    return f"{value:g}"


def _cell(text: str) -> str:
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
