"""Grading a class: verdicts and feedback, hostile answers, exports, scale, atomic output."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sympy as sp
from click.testing import CliRunner

from cli import main
from derive.answer_files import read_answer_file
from derive.bounded import Bounds
from derive.class_grading import grade_class
from derive.errors import VerificationError
from derive.examples import example_path
from derive.gradebook import as_csv, as_gradescope, as_json
from derive.grading_feedback import judge
from derive.grading_key import GradingKey, free_parts
from derive.grading_pool import GradingPool
from derive.grading_sources import load_grading_key
from derive.model import Answer
from derive.parse import TextSpan
from tests.grading_class_data import write_class

SCALAR = Path(example_path("seed-problem-1"))
VECTOR = Path(example_path("two-layer"))
SHEET = SCALAR.parent / "answer_sheet_000.yaml"
DELTA = "(y - t) sigmoid(z) (1 - sigmoid(z))"


@pytest.fixture(scope="module")
def scalar_key() -> GradingKey:
    return load_grading_key(SCALAR)


@pytest.fixture(scope="module")
def vector_key() -> GradingKey:
    return load_grading_key(VECTOR)


def _judged(key: GradingKey, part: str, answer: str) -> tuple[str, str]:
    judgement = judge(key.parts[part], answer, TextSpan("answer.yaml"))
    return judgement.verdict, judgement.feedback


@pytest.mark.parametrize(
    ("part", "answer", "verdict", "feedback"),
    [
        ("main.W2", f"{DELTA} h", "correct", "correct"),
        ("main.W2", "y (1 - y) (y - t) h", "correct", "correct"),
        (
            "main.W2",
            r"$\left(y - t\right) \sigma(z)\,(1 - \sigma(z)) \cdot h$",
            "correct",
            "correct",
        ),
        ("main.W2", f"-{DELTA} h", "wrong_sign", "the sign is wrong"),
        ("main.W2", f"1/2 {DELTA} h", "constant_factor", "the key is 2 times this answer"),
        ("main.W2", "-sigmoid(z) (1 - sigmoid(z)) h", "missing_factor", "missing factor (t − y)"),
        ("main.W2", "(y - t) h", "missing_factor", "missing factor σ′(z)"),
        ("main.W2", f"{DELTA} h (t - y)", "extra_factor", "extra factor (t − y)"),
        (
            "main.W1",
            f"{DELTA} W2 sigmoid(s) (1 - sigmoid(s)) x sigmoid(s) (1 - sigmoid(s))",
            "extra_factor",
            "extra factor σ′(s)",
        ),
        (
            "skip.W1",
            f"{DELTA} W2 sigmoid(s) (1 - sigmoid(s)) x",
            "missing_term",
            "missing the path through z = W2 h + b2 + s",
        ),
        (
            "main.W1",
            f"{DELTA} (W2 sigmoid(s) (1 - sigmoid(s)) + 1) x",
            "extra_term",
            "extra term: the path through z = W2 h + b2 + s, not in this part",
        ),
        (
            "skip.W1",
            f"{DELTA} (W2 sigmoid(s) (1 - sigmoid(s)) - 1) x",
            "sign_in_term",
            "the sign of the path through z = W2 h + b2 + s is wrong",
        ),
        (
            "skip.W1",
            f"{DELTA} (W2 sigmoid(s) (1 - sigmoid(s)) + 2) x",
            "extra_term",
            "the path through z = W2 h + b2 + s is counted twice",
        ),
        ("main.W2", "q h", "undefined_symbol", "unknown symbol 'q'"),
        ("main.W2", r"\frac{(y - t}{\sigma(z)", "unreadable", "could not read the answer"),
        ("main.W2", "x^(10^(10^10))", "rejected", "the exponent 10000000000 is too large"),
        ("main.W2", "x + " * 12_500 + "x", "rejected", "answer too long: 50 001 characters"),
        ("main.W2", "log(-1) h", "wrong", "cannot evaluate ImaginaryUnit"),
        ("main.W2", "log(-x) h", "wrong", "not a finite real number"),
        ("main.W2", f"{DELTA} x", "wrong", "differs from the key (relative error"),
    ],
    ids=[
        "plain",
        "other-form",
        "latex",
        "sign",
        "constant",
        "missing-t-minus-y",
        "missing-sigma-prime",
        "extra-factor",
        "extra-sigma-prime",
        "missing-path",
        "extra-path",
        "sign-in-term",
        "doubled-path",
        "undefined",
        "bad-latex",
        "tower",
        "50k-chars",
        "complex",
        "nan",
        "wrong",
    ],
)
def test_verdicts_and_feedback(
    scalar_key: GradingKey, part: str, answer: str, verdict: str, feedback: str
) -> None:
    found = _judged(scalar_key, part, answer)
    assert found[0] == verdict and feedback in found[1], found


@pytest.mark.parametrize(
    ("part", "answer", "verdict", "feedback"),
    [
        ("main.W2", f"{DELTA} h^T", "correct", "correct"),
        ("main.W2", f"{DELTA} h", "transposed", "the key is the transpose of this answer"),
        ("main.W1", f"{DELTA} x^T", "wrong_shape", "has shape 1×n, not k×n (the shape of W1)"),
        (
            "main.b1",
            r"W_2^{\top} (y - t) \sigma(z)(1 - \sigma(z)) \odot \sigma(s) \odot (1 - \sigma(s))",
            "correct",
            "correct",
        ),
        ("main.b1", f"{DELTA} W2^T", "missing_factor", "missing factor σ′(s)"),
    ],
    ids=["vector", "transposed", "wrong-shape", "latex-hadamard", "missing-elementwise"],
)
def test_vector_verdicts(
    vector_key: GradingKey, part: str, answer: str, verdict: str, feedback: str
) -> None:
    found = _judged(vector_key, part, answer)
    assert found[0] == verdict and feedback in found[1], found


def test_feedback_on_a_large_power_is_immediate(scalar_key: GradingKey) -> None:
    """The earlier hint ran sp.factor(sp.simplify(key / answer)): minutes on this answer."""
    start = time.monotonic()
    verdict, feedback = _judged(scalar_key, "main.W2", "(h + 2)^60 (t - y)^60")
    assert time.monotonic() - start < 1.0
    assert verdict == "wrong" and feedback.startswith("differs from the key")


def test_where_the_key_is_zero_the_tolerance_is_absolute() -> None:
    skipped: list[str] = []
    (part,) = free_parts("p", {"d": Answer("d", "d", sp.Integer(0))}, skipped)
    assert judge(part, "0", TextSpan("a")).verdict == "correct"
    assert judge(part, "1e-12", TextSpan("a")).verdict == "correct"
    wrong = judge(part, "0.37", TextSpan("a"))
    assert wrong.verdict == "wrong"
    assert wrong.feedback == "differs from the key: it is 0 at a point where this answer is 0.37"


def test_the_homework_sheet_misses_t_minus_y_in_every_gradient(runner: CliRunner) -> None:
    result = runner.invoke(main, ["grade", str(SCALAR), str(SHEET), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["rows"]
    assert len(rows) == 8
    assert all(r["feedback"] == "missing factor (t − y)" for r in rows), rows
    assert {r["verdict"] for r in rows} == {"missing_factor"}


def _answers(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_flat_nested_and_json_answers_and_the_key_s_maximum(
    runner: CliRunner, tmp_path: Path
) -> None:
    flat = _answers(tmp_path, "flat.yaml", f"student: ada\nmain.W2: {DELTA} h\nmain.W9: h\n")
    nested = _answers(tmp_path, "nested.yaml", f"main:\n  W2: {DELTA} h\n  b2: '{DELTA}'\n")
    as_json_file = _answers(tmp_path, "bo.json", json.dumps({"main": {"W2": "x", "b2": "1"}}))
    result = runner.invoke(
        main, ["grade", str(SCALAR), str(flat), str(nested), str(as_json_file), "--json"]
    )
    assert result.exit_code == 0, result.output
    book = json.loads(result.output)
    assert [s["student"] for s in book["students"]] == ["ada", "nested", "bo"]
    assert [(s["score"], s["max"]) for s in book["students"]] == [(1, 8), (2, 8), (0, 8)]
    assert book["students"][0]["ignored"] == ["main.W9: no such part in the key"]
    assert len(book["rows"]) == 24
    assert set(book["rows"][0]) == {"student", "part", "score", "max", "verdict", "feedback"}
    missing = [r for r in book["rows"] if r["student"] == "ada" and r["part"] != "main.W2"]
    assert {(r["verdict"], r["score"]) for r in missing} == {("missing", 0)}
    summary = {p["part"]: p for p in book["summary"]}
    assert summary["main.W2"]["correct"] == 2 and summary["main.W2"]["answered"] == 3


def test_a_file_that_cannot_be_read_costs_only_its_own_rows(
    runner: CliRunner, tmp_path: Path
) -> None:
    good = _answers(tmp_path, "good.yaml", f"main.W2: {DELTA} h\n")
    broken = _answers(tmp_path, "broken.yaml", "main: [unclosed\n")
    result = runner.invoke(main, ["grade", str(SCALAR), str(good), str(broken), "--json"])
    assert result.exit_code == 1
    book = json.loads(result.stdout)
    assert [s["score"] for s in book["students"]] == [1, 0]
    assert "invalid YAML" in book["students"][1]["error"]
    assert "Error: " in result.stderr and "broken.yaml, line 2" in result.stderr


def test_partial_credit_and_points_come_from_the_key_file(tmp_path: Path) -> None:
    text = SCALAR.read_text(encoding="utf-8") + (
        "grading:\n  points: {main.W2: 4}\n  credit: {wrong_sign: 0.25, missing_factor: 0.5}\n"
    )
    key = load_grading_key(_answers(tmp_path, "net.yaml", text))
    answers = _answers(
        tmp_path, "a.yaml", f"main.W2: -{DELTA} h\nmain.b2: -sigmoid(z) (1 - sigmoid(z))\n"
    )
    book = grade_class(key, [read_answer_file(answers)])
    scores = {r.part: (r.score, r.max) for r in book.rows}
    assert scores["main.W2"] == (1.0, 4.0) and scores["main.b2"] == (0.5, 1.0)
    assert book.students[0].max == 11


def test_a_problem_set_is_graded_every_kind_with_an_answer(
    runner: CliRunner, tmp_path: Path
) -> None:
    key = _answers(
        tmp_path,
        "set.yaml",
        "title: quiz\nproblems:\n"
        "  - {id: d, kind: dropout, drop_probability: p, weight: w}\n"
        "  - {id: bn, kind: batchnorm_numbers, batch: [1, 7, 7, 9]}\n",
    )
    answers = _answers(
        tmp_path,
        "a.yaml",
        "d:\n  expectation: (1 - p) w\n  variance: p (1 - p) w^2\n  inference_scale: -(1 - p)\n"
        "bn.mean: 6\nbn.variance: 8\nbn.std: '\\sqrt{9}'\n"
        "bn.normalized: [-5/3, 1/3, 1/3, 1]\nbn.output: '[-\\frac{5}{3}, 1/3, 1/3]'\n",
    )
    result = runner.invoke(main, ["grade", str(key), str(answers), "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["part"]: r for r in json.loads(result.output)["rows"]}
    assert rows["d.expectation"]["verdict"] == "correct"
    assert rows["d.variance"]["verdict"] == "correct"
    assert rows["d.inference_scale"]["verdict"] == "wrong_sign"
    assert rows["bn.mean"]["verdict"] == rows["bn.std"]["verdict"] == "correct"
    assert rows["bn.variance"]["verdict"] == "wrong"
    assert rows["bn.normalized"]["verdict"] == "correct"  # a list of values
    assert rows["bn.output"]["verdict"] == "wrong_shape"


def _json_key(tmp_path: Path, latex: str) -> Path:
    data = {
        "derive_key": 1,
        "title": "Problem 1, variant 3",
        "source": "seed_problem1.yaml",
        "variant": {"index": 3, "seed": 11},
        "problem": SCALAR.read_text(encoding="utf-8"),
        "parts": [
            {
                "id": "main.W2",
                "shape": [],
                "answer": {"sympy": "Mul(Symbol('h'))", "latex": latex},
                "givens": {},
                "dims": {},
            }
        ],
    }
    return _answers(tmp_path, "variant-03.json", json.dumps(data))


def test_a_json_key_takes_points_and_credit(tmp_path: Path) -> None:
    path = _json_key(tmp_path, r"(y - t) \sigma(z) (1 - \sigma(z)) h")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["grading"] = {"points": {"main.W2": 3}, "credit": {"wrong_sign": 1}}
    path.write_text(json.dumps(data), encoding="utf-8")
    key = load_grading_key(path)
    assert key.parts["main.W2"].max_points == 3 and key.credit["wrong_sign"] == 1


def test_a_json_key_is_derived_again_and_checked(tmp_path: Path) -> None:
    key = load_grading_key(_json_key(tmp_path, r"(y - t) \sigma(z) (1 - \sigma(z)) h"))
    assert key.title == "Problem 1, variant 3" and "skip.b2" in key.parts
    assert judge(key.parts["main.W2"], f"{DELTA} h", TextSpan("a")).verdict == "correct"
    with pytest.raises(VerificationError, match="disagrees with the answer derived"):
        load_grading_key(_json_key(tmp_path, r"(t - y) \sigma(z) (1 - \sigma(z)) h"))


def test_exports_csv_json_and_gradescope(tmp_path: Path, scalar_key: GradingKey) -> None:
    files = [read_answer_file(SHEET), read_answer_file(_answers(tmp_path, "=x.yaml", "{}\n"))]
    book = grade_class(scalar_key, files)
    table = list(csv.reader(io.StringIO(as_csv(book))))
    assert table[0] == ["student", "file", *scalar_key.parts, "total", "max"]
    assert len(table) == 3 and table[2][0] == "'=x"  # no formula in a spreadsheet
    assert table[1][-2:] == ["0", "8"]
    assert len(json.loads(as_json(book))["rows"]) == 16
    with pytest.raises(ValueError, match="one submission"):
        as_gradescope(book)


# Gradescope's autograder results.json, as documented in "Autograder Specifications"
# (gradescope-autograders.readthedocs.io/en/latest/specs/, "Output format")
GRADESCOPE_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "stdout_visibility": {"enum": ["hidden", "after_due_date", "after_published", "visible"]},
        "extra_data": {"type": "object"},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "score": {"type": "number"},
                    "max_score": {"type": "number"},
                    "status": {"enum": ["passed", "failed"]},
                    "name": {"type": "string"},
                    "number": {"type": "string"},
                    "output": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "visibility": {
                        "enum": ["hidden", "after_due_date", "after_published", "visible"]
                    },
                },
                "required": ["score", "max_score", "name"],
                "additionalProperties": False,
            },
        },
    },
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
    "additionalProperties": False,
}


def test_gradescope_results_validate(runner: CliRunner, tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    out = tmp_path / "results" / "results.json"
    out.parent.mkdir()
    result = runner.invoke(
        main, ["grade", str(SCALAR), str(SHEET), "--format", "gradescope", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    results = json.loads(out.read_text(encoding="utf-8"))
    jsonschema.validate(results, GRADESCOPE_SCHEMA)
    assert results["score"] == sum(t["score"] for t in results["tests"]) == 0
    assert [t["name"] for t in results["tests"]][:2] == ["main.W1", "main.b1"]
    assert results["tests"][0]["output"] == "missing_factor: missing factor (t − y)"
    several = runner.invoke(
        main, ["grade", str(SCALAR), str(SHEET), str(SHEET), "--format", "gradescope"]
    )
    assert several.exit_code == 2 and "one submission" in several.output


def test_the_pool_replaces_a_worker_that_overruns() -> None:
    def work(task: int) -> str:
        if task == 3:
            time.sleep(30)
        if task == 5:
            bytearray(4 * 1024**3)
        return f"done {task}"

    pool = GradingPool(work, lambda task, why: f"{task}: {why}", workers=2, bounds=Bounds(1.0))
    start = time.monotonic()
    results = pool.map(list(range(8)))
    assert time.monotonic() - start < 10
    assert results[3] == "3: gave up after 1 s (limit --time-limit)"
    assert results[5] == "5: ran out of memory (limit --memory-limit)"
    assert [r for i, r in enumerate(results) if i not in (3, 5)] == [
        f"done {i}" for i in (0, 1, 2, 4, 6, 7)
    ]


def test_a_class_with_hostile_answers_is_graded_whole_and_the_same_twice(
    runner: CliRunner, tmp_path: Path
) -> None:
    """200 students × 8 answers, 5 % hostile, on two workers (1 000 students are measured by
    hand: see the README)."""
    key = write_class(tmp_path / "class", 200)
    answers = sorted((tmp_path / "class" / "answers").glob("*.yaml"))
    out = tmp_path / "book.json"
    args = ["grade", str(key), *map(str, answers), "--workers", "2", "-o", str(out)]
    start = time.monotonic()
    result = runner.invoke(main, args)
    elapsed = time.monotonic() - start
    assert result.exit_code == 0, result.output
    assert elapsed < 40, elapsed
    book = json.loads(out.read_text(encoding="utf-8"))
    assert len(book["students"]) == 200 and len(book["rows"]) == 200 * 12
    verdicts = {r["verdict"] for r in book["rows"]}
    assert {"correct", "rejected", "unreadable", "wrong_shape", "missing_term"} <= verdicts
    again = tmp_path / "again.json"
    assert runner.invoke(main, [*args[:-1], str(again)]).exit_code == 0
    assert again.read_bytes() == out.read_bytes()


def test_an_interrupted_run_leaves_no_partial_gradebook(tmp_path: Path) -> None:
    key = write_class(tmp_path / "class", 600)
    answers = sorted(str(p) for p in (tmp_path / "class" / "answers").glob("*.yaml"))
    out = tmp_path / "book.csv"
    out.write_text("the previous gradebook\n", encoding="utf-8")
    command = [sys.executable, "-m", "cli", "grade", str(key), *answers, "-o", str(out)]
    process = subprocess.Popen(
        command, cwd=Path(__file__).parents[1], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    time.sleep(2.5)  # the key is built and the class is being graded
    assert process.poll() is None
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143, stderr
    assert out.read_text(encoding="utf-8") == "the previous gradebook\n"
    assert sorted(os.listdir(tmp_path)) == ["book.csv", "class"]
