"""PDF output: the LaTeX document compiled by pdflatex in a scratch directory.

One pass suffices: the templates make no cross-references (no \\label, \\ref, contents), so a
second pass would write the same PDF. pdflatex runs again only when its log asks for it
("Rerun to get ...", "Label(s) may have changed"), as latexmk would; latexmk itself (a Perl
driver that always ran pdflatex twice on a fresh directory) is used only when pdflatex is not
on the PATH.

TeX runs without shell escape and with kpathsea's paranoid file access (``openin_any=p``,
``openout_any=p``): even text that got into the document unescaped could not read or write a
file outside the scratch directory. The scratch directory holds the whole key; it is removed
on every way out (an error, Ctrl-C, SIGTERM turned into SystemExit by the command line).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from derive.errors import RenderError, ToolMissingError
from derive.model import Solution
from derive.render.atomic import write_atomically
from derive.render.latex import render_latex, render_questions_latex

TIMEOUT_SECONDS = 120
TEX_PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk"
_JOB = "solution"
# kpathsea settings (environment variables override texmf.cnf): no shell commands at all, and
# no file opened by TeX outside the working directory, by absolute path or through "..".
TEX_ENVIRONMENT = {"shell_escape": "f", "openin_any": "p", "openout_any": "p"}
# What LaTeX and its packages write to the log when a further pass would change the output,
# and the most passes compile_pdf makes (latexmk's default limit is 5 runs).
_RERUN = re.compile(r"Rerun to get|Label\(s\) may have changed")
MAX_PASSES = 5


def write_pdf(solution: Solution, path: str | Path, *, questions: bool = False) -> str:
    """Compile the solution key (or, with ``questions``, the problem sheet) to PDF at ``path``;
    return TeX's log (its warnings: see ``overfull_boxes``).

    Raises ToolMissingError when neither latexmk nor pdflatex is installed, and RenderError
    (holding the error lines of LaTeX's log) when the compilation fails or times out.
    """
    document = render_questions_latex(solution) if questions else render_latex(solution)
    return compile_pdf(document, path)


def compile_pdf(document: str, path: str | Path) -> str:
    """Compile a complete LaTeX ``document`` to PDF at ``path`` (no shell escape); return the
    log of the last TeX run."""
    command = _command()
    environment = {k: v for k, v in os.environ.items() if k != "TEXMFOUTPUT"} | TEX_ENVIRONMENT
    with tempfile.TemporaryDirectory(prefix="derive-") as scratch:
        workdir = Path(scratch)
        (workdir / f"{_JOB}.tex").write_text(document, encoding="utf-8")
        for passes in range(1, MAX_PASSES + 1):
            _run(command, workdir, environment)
            log = _read_log(workdir)
            if command[0] != "pdflatex" or not _RERUN.search(log) or passes == MAX_PASSES:
                break
        built = workdir / f"{_JOB}.pdf"
        if not built.is_file():
            raise RenderError(f"{command[0]} finished but wrote no PDF")
        write_atomically(path, built.read_bytes())
        return log


def _run(command: list[str], workdir: Path, environment: dict[str, str]) -> None:
    """One run of TeX (or latexmk); RenderError with the log's error lines when it fails."""
    try:
        completed = subprocess.run(
            command,
            cwd=workdir,
            env=environment,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"LaTeX did not finish within {TIMEOUT_SECONDS} s ({command[0]})"
        ) from None
    if completed.returncode != 0:
        details = _failure_lines(workdir, completed.stdout)
        raise RenderError(f"LaTeX failed ({command[0]}):", details=details)


def _read_log(workdir: Path) -> str:
    log = workdir / f"{_JOB}.log"
    return log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""


def _command() -> list[str]:
    """How to compile: pdflatex (run again by compile_pdf when its log asks), or latexmk where
    only it is on the PATH."""
    if shutil.which("pdflatex"):
        return [
            "pdflatex",
            "-no-shell-escape",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-no-file-line-error",  # errors as "! ..." lines, which log_errors picks out
            f"{_JOB}.tex",
        ]
    if shutil.which("latexmk"):
        return [
            "latexmk",
            "-pdf",
            "-no-shell-escape",
            "-interaction=nonstopmode",
            "-halt-on-error",
            "-no-file-line-error",
            f"{_JOB}.tex",
        ]
    raise ToolMissingError(
        "making a PDF needs latexmk or pdflatex; install the Debian packages "
        f"{TEX_PACKAGES} (e.g. sudo apt-get install {TEX_PACKAGES})"
    )


def _failure_lines(workdir: Path, output: str) -> list[str]:
    log = workdir / f"{_JOB}.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else output
    lines = log_errors(text)
    return lines or [line for line in output.splitlines() if line.strip()][-5:]


def log_errors(log: str) -> list[str]:
    """The lines of a TeX log that say what went wrong: each "!" line and the 2 after it,
    and the "l.NN" lines that show where."""
    lines = log.splitlines()
    wanted: list[int] = []
    for number, line in enumerate(lines):
        if line.startswith("!"):
            wanted.extend(range(number, min(number + 3, len(lines))))
        elif line.startswith("l.") and line[2:3].isdigit():
            wanted.append(number)
    return [lines[n] for n in sorted(set(wanted))]


_OVERFULL = re.compile(r"^Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide\)", re.MULTILINE)


def overfull_boxes(log: str) -> list[float]:
    """How far each overfull line of a TeX log runs past its margin, in points."""
    return [float(width) for width in _OVERFULL.findall(log)]
