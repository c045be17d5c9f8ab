"""Every built-in example in every output format, the PDF compiled by real TeX and read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from derive.documents import solve_example
from derive.examples import EXAMPLES
from derive.render import write_output

HAS_TEX = shutil.which("latexmk") is not None and shutil.which("pdftotext") is not None


@pytest.mark.parametrize("name", sorted(EXAMPLES), ids=sorted(EXAMPLES))
def test_example_in_every_format(name: str, tmp_path: Path) -> None:
    solution = solve_example(name)
    for fmt in ("tex", "md", "json"):
        path = tmp_path / f"key.{fmt}"
        write_output(solution, path)
        text = path.read_text(encoding="utf-8")
        assert text.strip()
    document = json.loads((tmp_path / "key.json").read_text(encoding="utf-8"))
    assert [p["name"] for p in document["parts"]] == [p.name for p in solution.parts]
    assert all(p["verification"]["ok"] for p in document["parts"])
    markdown = (tmp_path / "key.md").read_text(encoding="utf-8")
    assert "Backpropagate into" in markdown and "complex-step derivatives" in markdown
    if not HAS_TEX:
        if os.environ.get("CI"):
            pytest.fail("TeX Live is required under CI")
        pytest.skip("TeX Live not installed")
    pdf = tmp_path / "key.pdf"
    write_output(solution, pdf)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Answers" in text and "complex-step derivatives" in text
    for answer in solution.parts[0].answers:
        assert answer[0] in text
