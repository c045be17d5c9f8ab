"""The command line, through click's CliRunner: outputs, defaults and every error message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

HAS_TEX = shutil.which("latexmk") is not None and shutil.which("pdftotext") is not None
needs_tex = pytest.mark.skipif(
    not HAS_TEX and not os.environ.get("CI"), reason="TeX Live not installed (required under CI)"
)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
title: Tiny net
given:
  x: vector n
  t: scalar
  w: matrix 1 n
forward:
  - y = sigmoid(w x)
loss: e = (t - y)^2 / 2
wrt: [w]
"""


@needs_tex
def test_solve_with_no_arguments_writes_the_default_pdf(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["solve"])
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "solution.pdf"
    assert "Wrote" in result.output and str(pdf.resolve()) in result.output
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Solution key" in text
    assert "Backpropagate into" in text
    assert "complex-step derivatives" in text
    assert "Midterm 3: batch norm" in text


@pytest.mark.parametrize("fmt", ["json", "md", "tex"], ids=["json", "md", "tex"])
def test_format_follows_the_output_suffix(runner: CliRunner, tmp_path: Path, fmt: str) -> None:
    network = _write(tmp_path, "net.yaml", GOOD)
    out = tmp_path / f"key.{fmt}"
    result = runner.invoke(main, ["solve", str(network), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        document = json.loads(text)
        assert document["title"] == "Tiny net"
        assert document["parts"][0]["answers"]["w"]["shape"] == [1, "n"]
    elif fmt == "md":
        assert "Tiny net" in text and "\\delta" in text
    else:
        assert text.startswith("\\documentclass") and "Tiny net" in text


def test_example_option_and_notation(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "mid.json"
    result = runner.invoke(main, ["solve", "--example", "midterm", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert set(json.loads(out.read_text())["parts"][0]["answers"]) == {"d", "C", "b", "A"}


def test_examples_lists_the_builtins(runner: CliRunner) -> None:
    result = runner.invoke(main, ["examples"])
    assert result.exit_code == 0
    assert "seed-problem-1" in result.output and "midterm" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("given: [\n", "line"),
        (GOOD.replace("sigmoid(w x)", "sigmoid(q x)"), "unknown symbol 'q'"),
        (GOOD.replace("sigmoid(w x)", "sigmod(w x)"), "unknown function"),
        (GOOD.replace("sigmoid(w x)", "sigmoid(w w)"), "1×n"),
        (GOOD.replace("wrt: [w]", "wrt: [w]\nvariants:\n  bad: y = w x + x"), "cannot add"),
        (GOOD.replace("  - y = sigmoid(w x)", "  - y = sigmoid(w x)\n  - y = y"), "'y'"),
        (GOOD.replace("  - y = sigmoid(w x)", "  - y = sigmoid(w x) + q\n  - q = y"), "before"),
    ],
    ids=[
        "yaml-syntax",
        "unknown-symbol",
        "unknown-function",
        "shape",
        "variant-shape",
        "redefinition",
        "cycle",
    ],
)
def test_bad_input_is_one_error_line_naming_the_file(
    runner: CliRunner, tmp_path: Path, text: str, message: str
) -> None:
    network = _write(tmp_path, "bad.yaml", text)
    result = runner.invoke(main, ["solve", str(network), "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert "bad.yaml" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["solve", str(tmp_path / "none.yaml"), "-o", "x.json"])
    assert result.exit_code == 1
    assert "none.yaml" in result.output


def test_unknown_output_suffix_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    network = _write(tmp_path, "net.yaml", GOOD)
    result = runner.invoke(main, ["solve", str(network), "-o", str(tmp_path / "key.docx")])
    assert result.exit_code == 2
    assert "cannot tell the output format" in result.output


def test_scalar_notation_on_a_vector_network_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    network = _write(tmp_path, "net.yaml", GOOD)
    result = runner.invoke(
        main, ["solve", str(network), "-n", "scalar", "-o", str(tmp_path / "a.md")]
    )
    assert result.exit_code == 1
    assert "scalar notation needs every quantity to be a scalar" in result.output


def test_file_and_example_together_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    network = _write(tmp_path, "net.yaml", GOOD)
    result = runner.invoke(main, ["solve", str(network), "--example", "tanh"])
    assert result.exit_code == 2
    assert "either FILE or --example" in result.output


def test_question_sheet_of_the_default_set_has_no_answers(
    runner: CliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "sheet.md"
    result = runner.invoke(main, ["solve", "--questions", "-o", str(out)])
    assert result.exit_code == 0, result.output
    sheet = out.read_text(encoding="utf-8")
    assert "Midterm 3: batch norm" in sheet and "1, 7, 7, 9" in sheet
    assert "Checked numerically" not in sheet and "boxed" not in sheet
    assert "-5/3" not in sheet and "\\frac{5}{3}" not in sheet
