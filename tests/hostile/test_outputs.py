"""Hostile text and hostile output paths against every output (issue 8, the output half).

Each case runs the real command line in a child process, with TMPDIR pointing into the test's
own directory, and asserts: the exit status, a fragment of the message, no traceback, a time
bound, nothing leaked (no line of /etc/passwd anywhere, no file made by ``\\write18``), and
nothing left behind (TMPDIR empty, no stray or half-written file beside the output).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

TIME_LIMIT = 60.0  # seconds for a case that solves or refuses (a few seconds when idle)
PDF_TIME_LIMIT = 120.0  # a case that compiles a PDF
PEAK_MEMORY_KB = 1024 * 1024  # every child of this test run stays under 1 GB
PASSWD = [line for line in Path("/etc/passwd").read_text().splitlines() if len(line) > 8]
HAS_TEX = shutil.which("pdftotext") is not None and bool(
    shutil.which("latexmk") or shutil.which("pdflatex")
)
needs_tex = pytest.mark.skipif(not HAS_TEX, reason="needs pdflatex and pdftotext")

NETWORK = """\
given:
  x: scalar
  t: scalar
  W1: scalar
  b1: scalar
  W2: scalar
  b2: scalar
forward:
  - s = W1 x + b1
  - h = sigmoid(s)
  - z = W2 h + b2
  - y = sigmoid(z)
loss: e = (t - y)^2 / 2
wrt: [W1, b1, W2, b2]
"""


def q(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text)


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("Error:")]


@dataclass
class Sandbox:
    """A working directory for one case, its TMPDIR, and where a \\write18 would leave a mark."""

    work: Path
    tmp: Path
    pwned: Path
    bin: Path

    def payloads(self) -> dict[str, str]:
        """Every kind of TeX attack, by name: each must print as text and do nothing."""
        return {
            "input": r"\input{/etc/passwd}",
            "write18": rf"\immediate\write18{{touch {self.pwned}}} \write18{{touch /tmp/x}}",
            "caret-code": r"^^5cinput{/etc/passwd} ^^5c",
            "catcode": r"\catcode`\^^M=13 \catcode 92=12",
            "braces": r"}{ \end{document} {",
            "comment": r"% \input{/etc/passwd}",
            "math": r"$\input{/etc/passwd}$ & # _ ~",
        }

    def payload(self) -> str:
        return " ".join(self.payloads().values())

    def write(self, name: str, text: str) -> Path:
        path = self.work / name
        path.write_text(text, encoding="utf-8")
        return path

    def derive(
        self,
        *args: str | Path,
        timeout: float = TIME_LIMIT,
        fake_tex: str | None = None,
        wait: bool = True,
    ) -> Run:
        """``derive ARGS`` in the working directory (with ``fake_tex``: a pdflatex script)."""
        env = {**os.environ, "TMPDIR": str(self.tmp), "PYTHONPATH": str(ROOT)}
        env.pop("PYTHONWARNINGS", None)
        if fake_tex is not None:
            script = self.bin / "pdflatex"
            script.write_text(f"#!/bin/sh\n{fake_tex}\n", encoding="utf-8")
            script.chmod(0o755)
            env["PATH"] = f"{self.bin}{os.pathsep}{env['PATH']}"
            env["DERIVE_TEST_STARTED"] = str(self.bin / "started")
        command = [sys.executable, "-m", "cli", *map(str, args)]
        start = time.monotonic()
        completed = subprocess.run(
            command, cwd=self.work, env=env, capture_output=True, timeout=timeout, check=False
        )
        return Run(
            completed.returncode,
            completed.stdout.decode("utf-8", "backslashreplace"),
            completed.stderr.decode("utf-8", "backslashreplace"),
            time.monotonic() - start,
        )

    def assert_clean(self, run: Run, *, expected: Sequence[str], limit: float = TIME_LIMIT) -> None:
        """No traceback, within the time limit, no leak, nothing left in TMPDIR or beside
        the outputs but the ``expected`` files."""
        assert "Traceback" not in run.output, run.output
        assert run.seconds < limit, f"took {run.seconds:.1f} s"
        for raw in ("\x1b", "\r", "\x00"):
            assert raw not in run.output, f"raw {raw!r} in the output: {run.output!r}"
        assert not self.pwned.exists(), "\\write18 ran a shell command"
        assert sorted(p.name for p in self.tmp.iterdir()) == [], "left behind in TMPDIR"
        assert sorted(p.name for p in self.work.iterdir()) == sorted(expected)
        texts = [run.output] + [
            (self.work / name).read_bytes().decode("utf-8", "replace")
            for name in expected
            if (self.work / name).is_file()
        ]
        for line in PASSWD:
            assert all(line not in text for text in texts), "a line of /etc/passwd leaked"
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        assert peak < PEAK_MEMORY_KB, f"a child used {peak} kB"


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    # the \write18 mark on a short path: a long unbreakable path runs off the PDF's page
    marks = Path(tempfile.mkdtemp(prefix="d8-"))
    sandbox = Sandbox(tmp_path / "work", tmp_path / "tmp", marks / "pwned", tmp_path / "bin")
    for directory in (sandbox.work, sandbox.tmp, sandbox.bin):
        directory.mkdir()
    yield sandbox
    shutil.rmtree(marks)


def pdf_text(path: Path) -> str:
    """The PDF's text, ``squeezed``, with TeX's glyphs for ^ ~ ` ' mapped back; the area read
    is larger than the page, so that a line that runs past the margin is read whole."""
    area = ["-x", "0", "-y", "0", "-W", "3000", "-H", "3000"]
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", *area, str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for glyph, char in {"ˆ": "^", "˜": "~", "‘": "`", "’": "'"}.items():
        text = text.replace(glyph, char)
    return squeezed(text)


def squeezed(text: str) -> str:
    """``text`` without spacing, hyphens and underscores: TeX wraps and hyphenates where it
    likes, and OT1 draws \\_ as a rule that has no text."""
    return "".join(text.split()).replace("-", "").replace("_", "")


# --- 1. every text field of every problem kind and of network files, compiled to PDF --------

# each kind with its smallest fields; "{P}" is where the hostile text could go (never in a
# name or number field: those are refused, see the next table)
KINDS: dict[str, str] = {
    "identity": "function: f\n    variable: z\n    definition: a z^2\n    claim: 2 a z\n"
    "    constants: [a]",
    "update": "gradient_of: net\n    parameter: W2",
    "dropout": "weight: w",
    "bias_before_batchnorm": "batch_size: 3",
    "least_squares": "regularization: lambda",
    "batchnorm_numbers": "batch: [1, 7, 7, 9]",
    "batchnorm_backward": "variant: demeaned",
    "network": "network: net.yaml",
}


def problem_set(box: Sandbox, kind: str, *, titled: bool = True) -> str:
    """A problem set with the hostile text in its title, subtitle and the problem's id, title
    and statement; an update problem comes after the network problem it steps along."""
    payload = box.payload()
    lines = [
        f"title: {q('[settitle] ' + payload)}",
        f"subtitle: {q('[subtitle] ' + payload)}",
        "problems:",
    ]
    if kind == "update":
        lines += ["  - id: net", "    kind: network", "    network: net.yaml"]
    lines += [f"  - id: {q('[id] ' + payload)}", f"    kind: {kind}"]
    if titled:
        lines += [f"    title: {q('[heading] ' + payload)}"]
    lines += [f"    statement: {q('[statement] ' + payload)}", f"    {KINDS[kind]}"]
    return "\n".join(lines) + "\n"


@needs_tex
@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "titled"),
    [(kind, True) for kind in KINDS] + [("dropout", False)],
    ids=[f"pdf-{kind}" for kind in KINDS] + ["pdf-id-as-heading"],
)
def test_problem_set_text_is_printed_not_run(box: Sandbox, kind: str, titled: bool) -> None:
    box.write("net.yaml", NETWORK)
    box.write("set.yaml", problem_set(box, kind, titled=titled))
    run = box.derive("solve", "set.yaml", "-o", "key.pdf", timeout=PDF_TIME_LIMIT)
    assert run.code == 0, run.output
    assert "Wrote" in run.stdout
    box.assert_clean(run, expected=["net.yaml", "set.yaml", "key.pdf"], limit=PDF_TIME_LIMIT)
    text = pdf_text(box.work / "key.pdf")
    assert not any(squeezed(line) in text for line in PASSWD)
    fields = ["settitle", "subtitle", "statement", "heading" if titled else "id"]
    for field in fields:
        assert squeezed(f"[{field}] {box.payload()}") in text, field


@needs_tex
@pytest.mark.slow
@pytest.mark.parametrize(
    "layout", ["title", "file-name-as-title"], ids=["pdf-network-file", "pdf-network-file-name"]
)
def test_network_file_text_is_printed_not_run(box: Sandbox, layout: str) -> None:
    payload = box.payload()
    title = f"title: {q('[title] ' + payload)}\n" if layout == "title" else ""
    extra = f"assumptions: [{q('[assumption] ' + payload)}]\nvariants:\n  skip: z = W2 h + b2 + s\n"
    # a file name cannot hold "/", so the file-name case uses the other payloads
    name = "net.yaml" if layout == "title" else r"\input{passwd} ^^5c }{ % $ & #.yaml"
    box.write(name, title + NETWORK + extra)
    run = box.derive("solve", name, "-o", "key.pdf", timeout=PDF_TIME_LIMIT)
    assert run.code == 0, run.output
    box.assert_clean(run, expected=[name, "key.pdf"], limit=PDF_TIME_LIMIT)
    text = pdf_text(box.work / "key.pdf")
    assert not any(squeezed(line) in text for line in PASSWD)
    if layout == "title":
        assert squeezed(f"[title] {payload}") in text
    else:
        assert squeezed(name.removesuffix(".yaml")) in text
    assert squeezed(f"[assumption] {payload}") in text


# --- 2. each attack alone, in the .tex and .json outputs -----------------------------------

PAYLOAD_NAMES = ["input", "write18", "caret-code", "catcode", "braces", "comment", "math"]
# What must never appear in the LaTeX derive writes, whatever the title says.
LIVE_TEX = [r"\input", r"\write", "^^", r"\catcode", r"\end{document} {"]


@pytest.mark.parametrize("attack", PAYLOAD_NAMES, ids=[f"tex-{a}" for a in PAYLOAD_NAMES])
def test_attack_in_title_and_assumption_is_escaped_in_tex(box: Sandbox, attack: str) -> None:
    payload = box.payloads()[attack]
    box.write("net.yaml", f"title: {q(payload)}\nassumptions: [{q(payload)}]\n" + NETWORK)
    run = box.derive("solve", "net.yaml", "-o", "key.tex")
    assert run.code == 0, run.output
    box.assert_clean(run, expected=["net.yaml", "key.tex"])
    document = (box.work / "key.tex").read_text(encoding="utf-8")
    for live in LIVE_TEX:
        assert live not in document, live
    assert document.count(r"\begin{document}") == document.count(r"\end{document}") == 1


@pytest.mark.parametrize("attack", PAYLOAD_NAMES, ids=[f"json-{a}" for a in PAYLOAD_NAMES])
def test_attack_in_title_round_trips_through_json(box: Sandbox, attack: str) -> None:
    payload = box.payloads()[attack] + " \x1b[2J\n\u202e"
    box.write("net.yaml", f"title: {q(payload)}\n" + NETWORK)
    run = box.derive("solve", "net.yaml", "-o", "key.json")
    assert run.code == 0, run.output
    box.assert_clean(run, expected=["net.yaml", "key.json"])
    assert json.loads((box.work / "key.json").read_text(encoding="utf-8"))["title"] == payload
    assert r"\x1b[2J\n\u202e" in run.stderr  # the progress line shows the title inert


@pytest.mark.parametrize("fmt", ["md", "tex"], ids=["md-controls", "tex-controls"])
def test_control_characters_in_text_outputs_are_inert(box: Sandbox, fmt: str) -> None:
    title = "T\x1b[31m red\x07 \x00\x0b\u202e\ud800 \n# Forged heading\n\n- item"
    box.write("net.yaml", f"title: {q(title)}\n" + NETWORK)
    run = box.derive("solve", "net.yaml", "-o", f"key.{fmt}")
    assert run.code == 0, run.output
    box.assert_clean(run, expected=["net.yaml", f"key.{fmt}"])
    document = (box.work / f"key.{fmt}").read_text(encoding="utf-8")
    assert not any(c in document for c in "\x1b\x07\x00\x0b\u202e")
    assert "\n# Forged" not in document and "\n- item" not in document


# --- 3. name and number fields: the hostile text is refused, naming the field ---------------

P = r"\input{/etc/passwd} ^^5c }{ % $"
FIELD_CASES: list[tuple[str, str, str, str]] = [
    ("identity-function", "identity", "function: {P}\n    variable: z\n    definition: z\n"
     "    claim: '1'", "'function' must be a name"),
    ("identity-variable", "identity", "function: f\n    variable: {P}\n    definition: z\n"
     "    claim: '1'", "'variable' must be a name"),
    ("identity-definition", "identity", "function: f\n    variable: z\n    definition: {P}\n"
     "    claim: '1'", "unexpected character"),
    ("identity-claim", "identity", "function: f\n    variable: z\n    definition: z\n"
     "    claim: {P}", "unexpected character"),
    ("identity-constants", "identity", "function: f\n    variable: z\n    definition: z\n"
     "    claim: '1'\n    constants: [{P}]", "'constants' must be a list of names"),
    ("update-parameter", "update", "gradient_of: net\n    parameter: {P}", "has no answer"),
    ("update-learning-rate", "update", "gradient_of: net\n    parameter: W1\n"
     "    learning_rate: {P}", "'learning_rate' must be a name"),
    ("update-gradient-of", "update", "gradient_of: {P}\n    parameter: W1",
     "which is not solved before this one"),
    ("dropout-weight", "dropout", "weight: {P}", "'weight' must be a name"),
    ("dropout-drop", "dropout", "drop_probability: {P}", "'drop_probability' must be a name"),
    ("dropout-keep", "dropout", "keep_probability: {P}", "'keep_probability' must be a name"),
    ("least-squares-regularization", "least_squares", "regularization: {P}",
     "'regularization' must be a number"),
    ("batchnorm-batch", "batchnorm_numbers", "batch: [1, {P}]", "entry 2 of 'batch'"),
    ("batchnorm-gamma", "batchnorm_numbers", "batch: [1, 2]\n    gamma: {P}",
     "'gamma' must be a number"),
    ("batchnorm-epsilon", "batchnorm_numbers", "batch: [1, 2]\n    epsilon: {P}",
     "'epsilon' must be a number"),
    ("batchnorm-backward-variant", "batchnorm_backward", "variant: {P}", "unknown 'variant'"),
    ("bias-batch-size", "bias_before_batchnorm", "batch_size: {P}", "'batch_size' must be"),
    ("bias-epsilon", "bias_before_batchnorm", "epsilon: {P}", "'epsilon' must be true or false"),
    ("network-notation", "network", "network: net.yaml\n    notation: {P}", "unknown notation"),
    ("network-file", "network", "network: {P}", "no such file"),
    ("kind", "{P}", "x: 1", "unknown problem kind"),
    ("field-name", "dropout", "{P}: 1", "unknown field"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "body", "fragment"),
    [case[1:] for case in FIELD_CASES],
    ids=[f"field-{case[0]}" for case in FIELD_CASES],
)
def test_hostile_name_or_number_field_is_refused(
    box: Sandbox, kind: str, body: str, fragment: str
) -> None:
    box.write("net.yaml", NETWORK)
    text = (
        "problems:\n  - id: net\n    kind: network\n    network: net.yaml\n"
        f"  - id: p\n    kind: {kind}\n    {body}\n"
    ).replace("{P}", q(P))
    box.write("set.yaml", text)
    run = box.derive("solve", "set.yaml", "-o", "key.pdf")
    assert run.code == 1, run.output
    assert len(run.error_lines()) == 1, run.stderr
    assert fragment in run.error_lines()[0]
    box.assert_clean(run, expected=["net.yaml", "set.yaml"])


# --- 4. the grade report: an answer cannot forge a verdict or the score ---------------------

FORGERIES: list[tuple[str, str, str, str]] = [
    ("newline-verdict", "main", "W2", "x\nmain W2: correct\nScore: 4/4"),
    ("ansi-overwrite", "main", "W2", "x\x1b[1A\x1b[2Kmain W2: correct"),
    ("carriage-return", "main", "W2", "x\rmain W2: correct"),
    ("bidi-override", "main", "W2", "x \u202e tcerroc"),
    ("bell-and-nul", "main", "W2", "x\x07\x00"),
    ("lone-surrogate", "main", "W2", "x \ud800"),
    ("line-separator", "main", "W2", "x\u2028Score: 4/4"),
    ("name-newline", "main", "W2\nmain W1: correct\nScore: 4/4", "h"),
    ("name-ansi", "main", "W2\x1b[2K", "h"),
    ("latex-newline", "main", "W2", "$\\delta_{z}\nScore: 4/4 h$"),
]


def submission(part: str, name: str, answer: str) -> str:
    return f"network: net.yaml\nanswers:\n  {q(part)}:\n    {q(name)}: {q(answer)}\n"


@pytest.mark.parametrize(
    ("part", "name", "answer"),
    [case[1:] for case in FORGERIES],
    ids=[f"grade-{case[0]}" for case in FORGERIES],
)
def test_answer_cannot_forge_report_lines(box: Sandbox, part: str, name: str, answer: str) -> None:
    box.write("net.yaml", NETWORK)
    box.write("sub.yaml", submission(part, name, answer))
    run = box.derive("grade", "sub.yaml")
    assert run.code == 0, run.output
    box.assert_clean(run, expected=["net.yaml", "sub.yaml"])
    lines = run.stdout.splitlines()
    assert lines[-1] == "Score: 0/4"  # the key's four parts, three of them not answered
    assert sum(line.startswith("Score:") for line in lines) == 1
    # a line per part, one indented line (the feedback or the ignored part), the score
    unindented = [line for line in lines if not line.startswith("    ")]
    assert not any(": correct" in line for line in unindented)
    parts = ["main.W1", "main.b1", "main.W2", "main.b2"]
    assert [line.split(": ")[0] for line in unindented[:-1]] == parts and len(lines) == 6


@pytest.mark.parametrize(
    ("part", "name", "answer"),
    [FORGERIES[0][1:], FORGERIES[1][1:], FORGERIES[7][1:]],
    ids=["grade-json-newline", "grade-json-ansi", "grade-json-name"],
)
def test_json_grade_report_is_valid_and_exact(
    box: Sandbox, part: str, name: str, answer: str
) -> None:
    box.write("net.yaml", NETWORK)
    box.write("sub.yaml", submission(part, name, answer))
    run = box.derive("grade", "sub.yaml", "--json")
    assert run.code == 0, run.output
    box.assert_clean(run, expected=["net.yaml", "sub.yaml"])
    report = json.loads(run.stdout)
    (student,) = report["students"]
    assert student["score"] == 0 and len(report["rows"]) == 4
    assert [r["verdict"] for r in report["rows"]].count("missing") == (4 if name != "W2" else 3)
    if name != "W2":  # a part the key lacks: ignored, its id exactly as written
        assert student["ignored"] == [f"main.{name}: no such part in the key"]


# --- 5. Error lines: a file name or quoted input cannot forge a second one -----------------

FORGED = "\nError: forged\x1b[2K"


@pytest.mark.parametrize(
    ("files", "args", "fragment"),
    [
        ({}, ["solve", f"missing{FORGED}.yaml"], "missing\\nError: forged\\x1b[2K.yaml"),
        ({f"bad{FORGED}.yaml": "given: [\n"}, ["solve", f"bad{FORGED}.yaml"], "invalid YAML"),
        ({}, ["grade", f"sub{FORGED}.yaml"], "sub\\nError: forged"),
        (
            {"set.yaml": f"problems:\n  - id: {q('a' + FORGED)}\n    kind: {q('k' + FORGED)}\n"},
            ["solve", "set.yaml"],
            "unknown problem kind 'k\\nError: forged\\x1b[2K'",
        ),
        (
            {"net.yaml": f"{q('key' + FORGED)}: 1\n" + NETWORK},
            ["solve", "net.yaml"],
            "unknown key 'key\\nError: forged",
        ),
        (
            {"sub.yaml": f"example: {q('nope' + FORGED)}\nanswers: {{}}\n"},
            ["grade", "sub.yaml"],
            "no built-in example 'nope\\nError: forged",
        ),
        (
            {"sub.yaml": f"network: {q('net' + FORGED)}\nanswers: {{}}\n"},
            ["grade", "sub.yaml"],
            "net\\nError: forged",
        ),
    ],
    ids=[
        "error-missing-file-name",
        "error-bad-file-name",
        "error-missing-submission",
        "error-problem-kind",
        "error-yaml-key",
        "error-grade-example",
        "error-referenced-file-name",
    ],
)
def test_error_is_one_inert_line(
    box: Sandbox, files: dict[str, str], args: list[str], fragment: str
) -> None:
    for name, text in files.items():
        box.write(name, text)
    run = box.derive(*args, "-o", "key.json") if args[0] == "solve" else box.derive(*args)
    assert run.code == 1, run.output
    assert len(run.error_lines()) == 1 and run.stderr.count("\n") <= 2, run.stderr
    assert fragment in run.error_lines()[0]
    box.assert_clean(run, expected=list(files))


def test_output_file_name_is_shown_inert(box: Sandbox) -> None:
    box.write("net.yaml", NETWORK)
    name = f"key{FORGED}.json"
    run = box.derive("solve", "net.yaml", "-o", name)
    assert run.code == 0, run.output
    assert len(run.stdout.splitlines()) == 1 and "key\\nError: forged" in run.stdout
    box.assert_clean(run, expected=["net.yaml", name])


# --- 6. output paths: never an input, never a format the suffix contradicts -----------------


def _link(box: Sandbox, kind: str) -> str:
    if kind == "symlink":
        (box.work / "link.json").symlink_to("net.yaml")
        return "link.json"
    os.link(box.work / "net.yaml", box.work / "hard.json")
    return "hard.json"


OUTPUT_CASES: list[tuple[str, list[str], str, int]] = [
    ("same-as-input", ["-f", "json", "-o", "net.yaml"], "is the input file", 2),
    ("same-dot-slash", ["-f", "json", "-o", "./net.yaml"], "is the input file", 2),
    ("same-via-dotdot", ["-f", "json", "-o", "../work/net.yaml"], "is the input file", 2),
    ("same-absolute", ["-f", "tex", "-o", "{work}/net.yaml"], "is the input file", 2),
    ("same-symlink", ["-f", "json", "-o", "{symlink}"], "is the input file", 2),
    ("same-hardlink", ["-f", "json", "-o", "{hardlink}"], "is the input file", 2),
    ("pdf-as-json", ["-f", "pdf", "-o", "x.json"], "ends in .json (json) but the format is pdf", 2),
    ("json-as-md", ["-f", "json", "-o", "x.md"], "ends in .md (md) but the format is json", 2),
    ("md-as-tex", ["-f", "md", "-o", "x.TEX"], "ends in .tex (tex) but the format is md", 2),
    ("json-as-yaml", ["-f", "json", "-o", "x.yaml"], "suffix .yaml of the files derive reads", 2),
    ("yml-no-format", ["-o", "other.yml"], "suffix .yml of the files derive reads", 2),
    ("no-suffix", ["-o", "key"], "cannot tell the output format", 2),
    ("missing-dir", ["-o", "nowhere/key.json"], "cannot write nowhere/key.json", 1),
    ("fifo", ["-o", "pipe.json"], "is not a regular file", 1),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "fragment", "code"),
    [case[1:] for case in OUTPUT_CASES],
    ids=[f"output-{case[0]}" for case in OUTPUT_CASES],
)
def test_output_path_is_refused(box: Sandbox, args: list[str], fragment: str, code: int) -> None:
    original = box.write("net.yaml", NETWORK).read_bytes()
    expected = ["net.yaml"]
    args = [a.replace("{work}", str(box.work)) for a in args]
    for kind in ("symlink", "hardlink"):
        if f"{{{kind}}}" in args:
            name = _link(box, kind)
            args = [name if a == f"{{{kind}}}" else a for a in args]
            expected.append(name)
    if "pipe.json" in args:
        os.mkfifo(box.work / "pipe.json")
        expected.append("pipe.json")
    run = box.derive("solve", "net.yaml", *args)
    assert run.code == code, run.output
    assert fragment in run.stderr
    assert (box.work / "net.yaml").read_bytes() == original
    box.assert_clean(run, expected=expected)


# --- 7. interrupted and failed writes leave the previous output and nothing else -----------

GOOD = b"the previous good output\n"


def test_failed_json_write_keeps_the_previous_output(box: Sandbox) -> None:
    box.write("net.yaml", "title: " + q("lone \ud800 surrogate") + "\n" + NETWORK)
    (box.work / "key.json").write_bytes(GOOD)
    run = box.derive("solve", "net.yaml", "-o", "key.json")
    assert run.code == 1, run.output
    assert "lone surrogate" in run.error_lines()[0]
    assert (box.work / "key.json").read_bytes() == GOOD
    box.assert_clean(run, expected=["net.yaml", "key.json"])


@needs_tex
def test_failed_latex_keeps_the_previous_pdf(box: Sandbox) -> None:
    box.write("net.yaml", NETWORK)
    (box.work / "key.pdf").write_bytes(GOOD)
    run = box.derive("solve", "net.yaml", "-o", "key.pdf", fake_tex="echo '! broken'; exit 1")
    assert run.code == 1, run.output
    assert "LaTeX failed (pdflatex):" in run.error_lines()[0]
    assert "\n  ! broken" in run.stderr  # the log's lines, indented under the Error: line
    assert (box.work / "key.pdf").read_bytes() == GOOD
    box.assert_clean(run, expected=["net.yaml", "key.pdf"])


SLOW_TEX = 'touch "$DERIVE_TEST_STARTED"; exec sleep 60'


@pytest.mark.parametrize(
    ("signum", "code", "fragment", "previous"),
    [
        (signal.SIGTERM, 143, "stopped by SIGTERM", False),
        (signal.SIGTERM, 143, "stopped by SIGTERM", True),
        (signal.SIGINT, 1, "Aborted", True),
    ],
    ids=["sigterm-during-latex", "sigterm-keeps-previous", "sigint-during-latex"],
)
def test_signal_during_latex_leaves_nothing_behind(
    box: Sandbox, signum: int, code: int, fragment: str, previous: bool
) -> None:
    box.write("net.yaml", NETWORK)
    expected = ["net.yaml"]
    if previous:
        (box.work / "key.pdf").write_bytes(GOOD)
        expected.append("key.pdf")
    script = box.bin / "pdflatex"
    script.write_text(f"#!/bin/sh\n{SLOW_TEX}\n", encoding="utf-8")
    script.chmod(0o755)
    env = {
        **os.environ,
        "TMPDIR": str(box.tmp),
        "PATH": f"{box.bin}{os.pathsep}{os.environ['PATH']}",
        "DERIVE_TEST_STARTED": str(box.bin / "started"),
    }
    start = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "cli", "solve", "net.yaml", "-o", "key.pdf"],
        cwd=box.work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        while not (box.bin / "started").exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() - start < TIME_LIMIT, "LaTeX never started"
            time.sleep(0.05)
        assert [p.name.startswith("derive-") for p in box.tmp.iterdir()] == [True]
        child.send_signal(signum)
        stdout, stderr = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    run = Run(child.returncode, stdout.decode(), stderr.decode(), time.monotonic() - start)
    assert run.code == code, run.output
    assert fragment in run.stderr
    if previous:
        assert (box.work / "key.pdf").read_bytes() == GOOD
    box.assert_clean(run, expected=expected)
