"""Lazy imports (issue 11): help, the list of examples and argument errors answer without
importing SymPy or NumPy, which is most of a second before any output."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("sympy", "numpy")


def _imported(*python_args: str) -> tuple[int, set[str]]:
    """Run ``python -X importtime ARGS`` in the repository; its exit status and the top-level
    names of the modules it imported (read from the import-time report on stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONWARNINGS", "PYTHONPATH")}
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", *python_args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    names = set()
    for line in completed.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return completed.returncode, names


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--help"], 0),
        (["solve", "--help"], 0),
        (["grade", "--help"], 0),
        (["key", "--help"], 0),
        (["examples"], 0),
        (["--version"], 0),
        (["solve", "--no-such-option"], 2),
        (["solve", "--format", "docx"], 2),
        (["grade"], 2),
        (["key"], 2),
    ],
    ids=[
        "help",
        "solve-help",
        "grade-help",
        "key-help",
        "examples",
        "version",
        "unknown-option",
        "bad-choice",
        "grade-without-key",
        "key-without-file",
    ],
)
def test_command_line_answers_without_sympy_or_numpy(args: list[str], code: int) -> None:
    returncode, imported = _imported("cli.py", *args)
    assert returncode == code
    assert "click" in imported  # the report was read
    assert not imported & set(HEAVY), f"derive {' '.join(args)} imported {imported & set(HEAVY)}"


def test_the_import_report_sees_sympy_when_a_command_needs_it() -> None:
    """The check above can fail: importing what ``derive solve`` uses shows SymPy and NumPy."""
    returncode, imported = _imported("-c", "import cli, derive.documents")
    assert returncode == 0
    assert set(HEAVY) <= imported


def test_import_derive_is_light_and_its_names_still_work() -> None:
    """``import derive`` loads nothing heavy; ``derive.solve`` and ``derive.load`` stay the
    functions even after the submodules of the same names are imported (the import system
    binds each on the package)."""
    script = (
        "import importlib, sys\n"
        "import derive\n"
        "assert not {'sympy', 'numpy'} & set(sys.modules), 'import derive is heavy'\n"
        "module = importlib.import_module('derive.solve')\n"
        "assert derive.solve is module.solve, derive.solve\n"
        "importlib.import_module('derive.load')\n"
        "assert callable(derive.load), derive.load\n"
        "from derive import Network, Solution, load, network, solve\n"
        "assert solve is module.solve\n"
        "assert network is importlib.import_module('derive.build').build_network\n"
        "assert load is importlib.import_module('derive.load').load_network\n"
        "assert Network.__module__ == Solution.__module__ == 'derive.model'\n"
        "assert set(derive.__all__) <= set(dir(derive))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr


def test_an_unknown_name_of_derive_is_an_attribute_error() -> None:
    import derive

    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        derive.nonesuch  # noqa: B018


@pytest.mark.parametrize(
    ("spelled", "module", "name"),
    [
        (cli.OUTPUT_FORMATS, "derive.render", "FORMATS"),
        (cli.NOTATIONS, "derive.steps", "NOTATIONS"),
        (cli.GRADEBOOK_FORMATS, "derive.gradebook", "FORMATS"),
        (cli.KEY_FORMATS, "derive.key", "FORMATS"),
    ],
    ids=["output-formats", "notations", "gradebook-formats", "key-formats"],
)
def test_the_choices_spelled_in_cli_are_the_modules_own(
    spelled: tuple[str, ...], module: str, name: str
) -> None:
    """cli.py spells the option choices to stay light; they must not drift from the source."""
    defined = getattr(importlib.import_module(module), name)
    expected = tuple(sorted(defined)) if isinstance(defined, dict) else tuple(defined)
    assert spelled == expected
