"""``derive grade``'s work, apart from the command line: keys built, files read, classes graded.

``derive grade KEY ANSWERS...`` grades every answer file against one key. The earlier form,
``derive grade SUBMISSION...``, in which each file names its assignment (``example:`` or
``network:``), is recognised by that field: files naming the same assignment share one key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from derive import bounded
from derive.answer_files import AnswerFile, names_assignment, read_answer_file
from derive.class_grading import Gradebook, grade_class
from derive.errors import DeriveError, InternalError, Location
from derive.examples import example_path
from derive.grading_key import GradingKey
from derive.grading_sources import load_grading_key
from derive.load import referenced_path


@dataclass
class GradingRun:
    """What a run produced: a gradebook per key, and the files that could not be graded."""

    books: list[Gradebook] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def run_grading(
    key: Path,
    answers: Sequence[Path],
    *,
    workers: int,
    answer_bounds: bounded.Bounds,
    key_bounds: bounded.Bounds,
) -> GradingRun:
    """Grade ``answers`` against ``key``, or, in the earlier form, each file against the
    assignment it names (then ``key`` is the first submission)."""
    run = GradingRun()
    if answers and not names_assignment(key):  # one file alone is a submission
        with bounded.bounded(key_bounds):
            grading_key = load_grading_key(key)
        files = [read_answer_file(path) for path in answers]
        run.errors += [f.error for f in files if f.error]
        run.books.append(grade_class(grading_key, files, workers=workers, bounds=answer_bounds))
        return run
    groups: dict[Path, tuple[GradingKey, list[AnswerFile]]] = {}
    for path in [key, *answers]:
        found = read_answer_file(path)
        if found.error or found.assignment is None:
            run.errors.append(found.error or f"{path}: names no assignment")
            continue
        try:
            source = _assignment(path, found)
            if source not in groups:
                with bounded.bounded(key_bounds):
                    groups[source] = (load_grading_key(source), [])
        except InternalError:
            raise
        except DeriveError as error:
            run.errors.append(str(error))
            continue
        groups[source][1].append(found)
    for grading_key, files in groups.values():
        run.books.append(grade_class(grading_key, files, workers=workers, bounds=answer_bounds))
    return run


def _assignment(path: Path, found: AnswerFile) -> Path:
    """The problem file a submission in the earlier format names."""
    assert found.assignment is not None
    kind, name = found.assignment
    where = found.assignment_at or Location(str(path))
    try:
        if kind == "example":
            return Path(example_path(name))
        return referenced_path(path.parent, name, location=where, what="the network file")
    except DeriveError as error:
        raise error.at(where) from None
