"""How many TeX passes a PDF takes (issue 11): one, unless TeX's log asks for a rerun."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from derive.render import pdf as pdf_module
from derive.render.pdf import MAX_PASSES, compile_pdf

REFERENCES = r"""\documentclass{article}
\begin{document}
See equation~\ref{eq:one} on page~\pageref{eq:one}.
\begin{equation}\label{eq:one} a = b \end{equation}
\end{document}
"""
PLAIN = r"""\documentclass{article}
\begin{document}
No references here.
\end{document}
"""


def _fake_pdflatex(directory: Path, monkeypatch: pytest.MonkeyPatch, first_log: str) -> Path:
    """A pdflatex on the PATH that counts its runs and writes a PDF, and a log that is
    ``first_log`` on its first run and a quiet one after."""
    runs = directory / "runs"
    script = directory / "pdflatex"
    script.write_text(
        "#!/bin/sh\n"
        f"echo run >> '{runs}'\n"
        f"if [ \"$(wc -l < '{runs}')\" -eq 1 ]; then printf '%s\\n' '{first_log}' > solution.log\n"
        f"else echo '{QUIET}' > solution.log; fi\n"
        "printf '%%PDF-1.4 fake' > solution.pdf\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    return runs


QUIET = "Output written on solution.pdf (1 page)."


@pytest.mark.parametrize(
    ("first_log", "passes"),
    [
        (QUIET, 1),
        ("LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right.", 2),
        ("LaTeX Warning: There were undefined references.", 1),
        ("(rerunfilecheck) Rerun to get outlines right", 2),
    ],
    ids=["quiet", "labels-changed", "undefined-references", "rerun-to-get"],
)
def test_pdflatex_runs_again_only_when_the_log_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_log: str, passes: int
) -> None:
    runs = _fake_pdflatex(tmp_path, monkeypatch, first_log)
    returned = compile_pdf(PLAIN, tmp_path / "out.pdf")
    assert runs.read_text().count("run") == passes
    assert returned.strip() == (first_log if passes == 1 else QUIET)  # the last pass's log
    assert (tmp_path / "out.pdf").read_bytes() == b"%PDF-1.4 fake"


def test_a_log_that_keeps_asking_stops_at_max_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = _fake_pdflatex(tmp_path, monkeypatch, "Rerun to get cross-references right.")
    # every log the fake writes asks for another pass (a document that never settles)
    monkeypatch.setattr(pdf_module, "_RERUN", re.compile("Rerun|Output written"))
    compile_pdf(PLAIN, tmp_path / "out.pdf")
    assert runs.read_text().count("run") == MAX_PASSES


def _require(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing and os.environ.get("CI"):
        pytest.fail(f"CI needs {', '.join(missing)}")
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def _text(path: Path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.slow
def test_a_document_with_references_gets_its_second_pass(tmp_path: Path) -> None:
    """Real pdflatex: the first pass leaves '??'; the log asks for a rerun, which fills it."""
    _require("pdflatex", "pdftotext")
    log = compile_pdf(REFERENCES, tmp_path / "refs.pdf")
    text = _text(tmp_path / "refs.pdf")
    assert "??" not in text and "See equation 1 on page 1" in text
    assert "Rerun to get" not in log  # the returned log is the last pass's


@pytest.mark.slow
def test_a_document_without_references_takes_one_pass(tmp_path: Path) -> None:
    _require("pdflatex", "pdftotext")
    log = compile_pdf(PLAIN, tmp_path / "plain.pdf")
    assert "No references here." in _text(tmp_path / "plain.pdf")
    assert "Rerun" not in log


@pytest.mark.slow
def test_latexmk_where_pdflatex_is_not_on_the_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _require("latexmk", "pdftotext")
    real_which = shutil.which
    monkeypatch.setattr(
        pdf_module.shutil, "which", lambda name: None if name == "pdflatex" else real_which(name)
    )
    seen: list[str] = []
    real_run = subprocess.run

    def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        seen.append(command[0])
        return real_run(command, **kwargs)  # type: ignore[call-overload, no-any-return]

    monkeypatch.setattr(pdf_module.subprocess, "run", run)
    compile_pdf(REFERENCES, tmp_path / "refs.pdf")
    assert seen == ["latexmk"]
    assert "See equation 1 on page 1" in _text(tmp_path / "refs.pdf")
