"""The inputs most likely to exhaust memory, each run as its own process: peak memory (of derive
and of its worker processes, measured with getrusage) stays under 1 GB, and each stops cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEAK_KB = 1024 * 1024  # 1 GB
SECONDS = 60

# Runs ``derive`` as a child and prints the child's peak resident memory (kB) and exit status.
MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(done.stdout + done.stderr)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode)\n"
)


def _network(body: str) -> str:
    return "given:\n  x: scalar\n" + body


def _alias_bomb(path: Path) -> list[str]:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 10)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["solve", str(path), "-o", str(path.with_suffix(".json"))]


def _huge_dims(path: Path) -> list[str]:
    path.write_text(
        "given:\n  x: vector 100000\n  W: matrix 100000 100000\nforward:\n  - h = W x\n"
        "loss: e = sum(h)\nwrt: [W]\n",
        encoding="utf-8",
    )
    return ["solve", str(path), "-o", str(path.with_suffix(".json"))]


def _dev_zero(path: Path) -> list[str]:
    return ["solve", "/dev/zero", "-o", str(path.with_suffix(".json"))]


def _big_file(path: Path) -> list[str]:
    path.write_text("title: " + "x" * 10_000_000 + "\n", encoding="utf-8")
    return ["solve", str(path), "-o", str(path.with_suffix(".json"))]


def _power_tower(path: Path) -> list[str]:
    path.write_text(
        _network("forward:\n  - h = x^(10^(10^10))\nloss: e = h\nwrt: [x]\n"), encoding="utf-8"
    )
    return ["solve", str(path), "-o", str(path.with_suffix(".json"))]


def _nested_sigmoids(path: Path) -> list[str]:
    body = "sigmoid(" * 300 + "x" + ")" * 300
    path.write_text(_network(f"forward:\n  - h = {body}\nloss: e = h\nwrt: [x]\n"), "utf-8")
    return ["solve", str(path), "-o", str(path.with_suffix(".json"))]


def _deep_yaml(path: Path) -> list[str]:
    path.write_text("given: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    return ["solve", str(path), "-o", str(path.with_suffix(".json"))]


def _big_batch(path: Path) -> list[str]:
    batch = ", ".join(str(i % 7) for i in range(1_000_000))
    path.write_text(
        f"problems:\n  - id: bn\n    kind: batchnorm_numbers\n    batch: [{batch}]\n",
        encoding="utf-8",
    )
    return ["solve", str(path), "-o", str(path.with_suffix(".json"))]


def _greedy_answer(path: Path) -> list[str]:
    path.write_text(
        "example: seed-problem-1\nanswers:\n  main:\n    W2: (h^999 + 1)^999 (x^999 + 1)^999\n"
        "    b2: (y - t) sigmoid(z) (1 - sigmoid(z))\n",
        encoding="utf-8",
    )
    return ["grade", str(path), "--time-limit", "5"]


CASES: dict[str, Callable[[Path], list[str]]] = {
    "alias-bomb": _alias_bomb,
    "huge-dimensions": _huge_dims,
    "dev-zero": _dev_zero,
    "10MB-file": _big_file,
    "power-tower": _power_tower,
    "300-nested-sigmoids": _nested_sigmoids,
    "500-deep-yaml": _deep_yaml,
    "million-value-batch": _big_batch,
    "expanding-answer": _greedy_answer,
}


@pytest.mark.parametrize("case", list(CASES))
def test_peak_memory_stays_under_a_gigabyte(case: str, tmp_path: Path) -> None:
    arguments = CASES[case](tmp_path / "input.yaml")
    command = [sys.executable, "-c", MEASURE, sys.executable, str(ROOT / "cli.py"), *arguments]
    start = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=SECONDS * 2, env={**os.environ}
    )
    seconds = time.monotonic() - start
    peak_kb, status = (int(v) for v in done.stdout.split())
    assert "Traceback" not in done.stderr, done.stderr
    assert status in (0, 1), done.stderr
    assert peak_kb < PEAK_KB, f"{case}: peak {peak_kb / 1024:.0f} MB"
    assert seconds < SECONDS, f"{case}: {seconds:.1f} s"
    if status == 1:
        assert "Error:" in done.stderr
