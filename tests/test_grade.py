"""Grading student answers against the key: verdicts, hints, and bad submissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from derive.errors import DeriveError
from derive.examples import example_path
from derive.grade import grade, load_submission

SHEET = Path(example_path("seed-problem-1")).parent / "answer_sheet_000.yaml"


def _submit(tmp_path: Path, answers: str, header: str = "example: seed-problem-1") -> Path:
    path = tmp_path / "student.yaml"
    path.write_text(f"{header}\nanswers:\n{answers}", encoding="utf-8")
    return path


def test_the_homework_sheet_misses_t_minus_y_everywhere() -> None:
    verdicts = grade(load_submission(SHEET))
    assert len(verdicts) == 8
    assert not any(v.correct for v in verdicts)
    assert all(v.comment == "missing factor (t − y)" for v in verdicts)


@pytest.mark.parametrize(
    ("answer", "correct", "comment"),
    [
        ("(y - t) sigmoid(z) (1 - sigmoid(z)) h", True, "correct"),
        ("y (1 - y) (y - t) h", True, "correct"),  # y = σ(z): the same number everywhere
        ("(t - y) sigmoid(z) (1 - sigmoid(z)) h", False, "the sign is wrong"),
        ("2 (y - t) sigmoid(z) (1 - sigmoid(z)) h", False, "constant factor"),
        ("(y - t) h", False, "missing factor σ′(z)"),
        ("(y - t) sigmoid(z) (1 - sigmoid(z) h", False, "could not read the answer"),
        ("(y - t) q", False, "unknown symbol 'q'"),
    ],
    ids=["key-form", "other-form", "sign", "factor", "missing-factor", "syntax", "unknown"],
)
def test_verdicts_and_hints(tmp_path: Path, answer: str, correct: bool, comment: str) -> None:
    path = _submit(tmp_path, f"  main:\n    W2: {answer}\n")
    (verdict,) = grade(load_submission(path))
    assert verdict.correct is correct
    assert comment in verdict.comment


def test_vector_answers_are_graded_with_shapes(tmp_path: Path) -> None:
    header = "example: two-layer"
    path = _submit(
        tmp_path,
        "  main:\n"
        "    W2: (y - t) sigmoid(z) (1 - sigmoid(z)) h^T\n"
        "    b1: (y - t) sigmoid(z) (1 - sigmoid(z)) W2^T .* sigmoid(s) .* (1 - sigmoid(s))\n"
        "    W1: (y - t) sigmoid(z) (1 - sigmoid(z)) x^T\n",
        header,
    )
    w2, b1, w1 = grade(load_submission(path))
    assert w2.correct and b1.correct
    assert not w1.correct and "has shape 1×n, not k×n" in w1.comment


def test_bad_submissions(tmp_path: Path) -> None:
    with pytest.raises(DeriveError, match="either 'network' or 'example'"):
        load_submission(_submit(tmp_path, "  main: {}\n", header="title: x"))
    with pytest.raises(DeriveError, match="no part 'wide'"):
        grade(load_submission(_submit(tmp_path, "  wide:\n    W2: h\n")))


def test_grade_command(runner: CliRunner) -> None:
    result = runner.invoke(main, ["grade", str(SHEET)])
    assert result.exit_code == 0, result.output
    assert "main.W2: WRONG (0/1)" in result.output and "Score: 0/8" in result.output
    result = runner.invoke(main, ["grade", str(SHEET), "--json"])
    report = json.loads(result.output)
    assert report["students"][0]["score"] == 0 and report["students"][0]["max"] == 8


def test_grade_command_bad_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["grade", str(tmp_path / "none.yaml")])
    assert result.exit_code == 1 and "none.yaml" in result.output


@pytest.mark.parametrize(
    ("answer", "correct", "comment"),
    [
        (r"'$(y - t) \sigma(z) (1 - \sigma(z)) h$'", True, "correct"),
        (r"'(y - t)\,\sigma(z)\left(1 - \sigma(z)\right) h'", True, "correct"),
        (r"'\frac{1}{2} (y - t) \sigma(z) (1 - \sigma(z)) h'", False, "constant factor"),
        (r"'(t - y) \sigma(z) (1 - \sigma(z)) h'", False, "the sign is wrong"),
        (r"'(y - t) \sigma(z) \odot'", False, "could not read the answer"),
    ],
    ids=["dollars", "spacing", "factor", "sign", "syntax"],
)
def test_latex_answers(tmp_path: Path, answer: str, correct: bool, comment: str) -> None:
    """Answers typed in LaTeX, as on a course site, are read by the page's own reader."""
    path = _submit(tmp_path, f"  main:\n    W2: {answer}\n")
    (verdict,) = grade(load_submission(path))
    assert verdict.correct is correct
    assert comment in verdict.comment


def test_latex_vector_answer_with_transposes(tmp_path: Path) -> None:
    path = _submit(
        tmp_path,
        "  main:\n"
        r"    W1: '\left(W_{2}^{\top} (y - t) \sigma(z) (1 - \sigma(z))\right) \odot \sigma(s)"
        r" \odot (\mathbf{1} - \sigma(s)) x^{\top}'" + "\n",
        "example: two-layer",
    )
    (verdict,) = grade(load_submission(path))
    assert verdict.correct, verdict.comment


def test_a_class_is_graded_in_full(runner: CliRunner, tmp_path: Path) -> None:
    """An answer that is an exponent tower is wrong with the reason; a file that cannot be
    read is reported; every other answer and file is graded."""
    good = _submit(tmp_path, "  main:\n    W2: (y - t) sigmoid(z) (1 - sigmoid(z)) h\n")
    tower = tmp_path / "tower.yaml"
    tower.write_text(
        "example: seed-problem-1\nanswers:\n  main:\n    W1: x^(10^(10^10))\n"
        "    b2: (y - t) sigmoid(z) (1 - sigmoid(z))\n",
        encoding="utf-8",
    )
    huge = tmp_path / "huge.yaml"  # a 2 MB answer: over a network's size limit, graded wrong
    huge.write_text(
        "example: seed-problem-1\nanswers:\n  main:\n    W2: " + "x + " * 500_000 + "x\n"
        "    b2: (y - t) sigmoid(z) (1 - sigmoid(z))\n",
        encoding="utf-8",
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("example: nonesuch\n", encoding="utf-8")
    result = runner.invoke(main, ["grade", str(good), str(tower), str(huge), str(broken)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.count("Score:") == 3
    assert "answer too long: 2 000 001 characters (limit 20 000" in result.output
    assert "the exponent 10000000000 is too large" in result.output
    assert "main.b2: correct" in result.output
    assert "broken.yaml, line 1, column 10: no built-in example 'nonesuch'" in result.output
    as_json = runner.invoke(main, ["grade", "--json", str(good), str(tower)])
    students = json.loads(as_json.output)["students"]
    assert [s["score"] for s in students] == [1, 1] and students[1]["max"] == 8
