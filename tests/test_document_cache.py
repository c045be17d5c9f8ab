"""The cache of written documents: a warm `derive solve` copies the document it wrote last time,
without SymPy; any change to an input file, an option or derive writes a new one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from derive import cache, document_cache
from derive.cache import ENVIRONMENT
from derive.document_cache import Document, DocumentCache, Request
from tests.conftest import write_course

NETWORK = "given: {x: scalar, t: scalar, w: scalar}\nforward: [y = sigmoid(w x)]\n"
NETWORK += "loss: e = (t - y)^2 / 2\nwrt: [w]\n"
SET = "title: Cached set\nproblems:\n  - id: net\n    kind: network\n    network: net.yaml\n"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return write_course(tmp_path, NETWORK, SET)


def _documents() -> list[Path]:
    root = cache.directory() / "documents"
    return sorted(root.iterdir()) if root.exists() else []


def _solve(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(main, ["solve", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_second_run_copies_the_document_and_its_progress_lines(
    runner: CliRunner, course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "key.md"
    first = _solve(runner, str(course), "-o", str(output))
    written = output.read_bytes()
    assert len(_documents()) == 1
    output.unlink()

    def no_solving(*args: object, **kwargs: object) -> None:
        raise AssertionError("solved although the document was kept")

    monkeypatch.setattr("cli._solve", no_solving)
    second = _solve(runner, str(course), "-o", str(output))
    assert output.read_bytes() == written
    assert second == first  # "Solving [1/1] ..." and "Wrote ..." as before


def test_editing_a_network_the_set_names_writes_a_new_document(
    runner: CliRunner, course: Path, tmp_path: Path
) -> None:
    output = tmp_path / "key.json"
    _solve(runner, str(course), "-o", str(output))
    assert "sigmoid" in output.read_text(encoding="utf-8")
    (tmp_path / "net.yaml").write_text(NETWORK.replace("sigmoid", "tanh"), encoding="utf-8")
    _solve(runner, str(course), "-o", str(output))
    text = output.read_text(encoding="utf-8")
    assert "tanh" in text and "sigmoid" not in text


def test_each_format_and_option_is_a_document_of_its_own(
    runner: CliRunner, course: Path, tmp_path: Path
) -> None:
    markdown = tmp_path / "key.md"
    _solve(runner, str(course), "-o", str(markdown))
    _solve(runner, str(course), "-o", str(tmp_path / "key.json"))
    _solve(runner, str(course), "-o", str(tmp_path / "sheet.md"), "--questions")
    _solve(runner, str(course), "-o", str(markdown), "--points", "4")
    assert len(_documents()) == 4
    assert (tmp_path / "sheet.md").read_text(encoding="utf-8") != markdown.read_text("utf-8")


def test_no_cache_neither_reads_nor_writes_documents(
    runner: CliRunner, course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "key.md"
    _solve(runner, str(course), "-o", str(output), "--no-cache")
    assert _documents() == []
    _solve(runner, str(course), "-o", str(output))
    calls: list[object] = []
    real = document_cache.DocumentCache.find
    monkeypatch.setattr(
        document_cache.DocumentCache, "find", lambda self, r: calls.append(r) or real(self, r)
    )
    _solve(runner, str(course), "-o", str(output), "--no-cache")
    assert calls == []


def test_a_document_with_failures_is_not_kept(runner: CliRunner, tmp_path: Path) -> None:
    problems = tmp_path / "set.yaml"
    problems.write_text(SET, encoding="utf-8")  # net.yaml is missing: the problem fails
    result = runner.invoke(main, ["solve", str(problems), "-o", str(tmp_path / "key.md")])
    assert result.exit_code != 0
    assert _documents() == []


def test_a_kept_document_whose_file_changed_or_vanished_is_not_served(tmp_path: Path) -> None:
    store = DocumentCache(cache.Cache(tmp_path / "documents"))
    source = tmp_path / "net.yaml"
    source.write_text(NETWORK, encoding="utf-8")
    request = Request("net.yaml", str(source), "md", False, None, 3)
    reads = ((str(source), cache.digest(source.read_bytes())),)
    store.keep(request, Document(reads, ("Solving net ...",), b"the key"))
    assert store.find(request) == Document(reads, ("Solving net ...",), b"the key")
    assert store.find(Request("net.yaml", str(source), "md", False, None, 4)) is None
    source.write_text(NETWORK + "# edited\n", encoding="utf-8")
    assert store.find(request) is None
    source.unlink()
    assert store.find(request) is None


def test_a_warm_run_imports_neither_sympy_nor_numpy(tmp_path: Path, course: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "PYTHONPATH")}
    env[ENVIRONMENT] = str(tmp_path / "cache")
    command = [sys.executable, "-X", "importtime", "-c", "import cli; cli.main()"]
    command += ["solve", str(course), "-o", str(tmp_path / "key.md")]

    def run() -> set[str]:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return {
            line.rsplit("|", 1)[1].strip().split(".")[0]
            for line in done.stderr.splitlines()
            if line.startswith("import time:") and line.count("|") == 2
        }

    assert "sympy" in run()  # the first run solves
    warm = run()
    assert "sympy" not in warm and "numpy" not in warm and "jinja2" not in warm
