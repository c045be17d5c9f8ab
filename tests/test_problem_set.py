"""Problem-set files: structure, network problems inline and by path, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive.errors import DeriveError, InputFileError
from derive.problem_set import is_problem_set, load_problem_set

INLINE = """\
title: Test set
problems:
  - id: tiny
    title: A tiny net
    statement: Find de/dw.
    kind: network
    notation: index
    network:
      given: {x: vector n, t: scalar, w: matrix 1 n}
      forward: [y = sigmoid(w x)]
      loss: e = (t - y)^2 / 2
      wrt: [w]
"""


def _write(tmp_path: Path, text: str, name: str = "set.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_inline_network_problem(tmp_path: Path) -> None:
    path = _write(tmp_path, INLINE)
    assert is_problem_set(path)
    solution = load_problem_set(path)
    (part,) = solution.parts
    assert solution.title == "Test set"
    assert (part.name, part.heading, part.statement) == ("tiny", "A tiny net", "Find de/dw.")
    assert part.answers["w"].index_form is not None


def test_network_by_path_with_variants_gives_one_part_each(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "given: {x: scalar, t: scalar, w: scalar}\nforward: [y = sigmoid(w x)]\n"
        "loss: e = (t - y)^2 / 2\nwrt: [w]\nvariants:\n  lin: y = w x\n",
        "net.yaml",
    )
    path = _write(tmp_path, "problems:\n  - id: p\n    kind: network\n    network: net.yaml\n")
    names = [part.name for part in load_problem_set(path).parts]
    assert names == ["p", "p-lin"]


def test_a_network_file_is_not_a_problem_set(tmp_path: Path) -> None:
    path = _write(tmp_path, "given: {x: scalar}\nforward: []\nloss: e = x\nwrt: [x]\n")
    assert not is_problem_set(path)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("problems:\n  - id: a\n    kind: magic\n", "unknown problem kind 'magic'", 3),
        ("problems:\n  - kind: network\n", "a problem needs 'id'", 2),
        ("problems: 3\n", "'problems' must be a list of problems", 1),
        ("problem: []\n", "unknown key 'problem'", 1),
        (
            "problems:\n  - id: a\n    kind: network\n    network: x.yaml\n"
            "  - id: a\n    kind: network\n    network: x.yaml\n",
            "no such file: 'x.yaml'",
            4,
        ),
        (
            INLINE.replace("notation: index", "notaton: index"),
            "unknown key 'notaton' for a network problem",
            7,
        ),
        (INLINE.replace("sigmoid(w x)", "sigmoid(v x)"), "unknown symbol 'v'", 10),
    ],
    ids=["kind", "id", "not-a-list", "top-key", "missing-file", "network-key", "inline-equation"],
)
def test_errors_name_the_line(tmp_path: Path, text: str, message: str, line: int) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(DeriveError, match=message) as caught:
        load_problem_set(path)
    assert caught.value.location is not None
    assert caught.value.location.line == line


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    problem = "  - id: a\n    kind: network\n    network:\n" + "\n".join(
        "      " + line for line in INLINE.split("network:\n", 1)[1].strip().splitlines()
    ).replace("      " * 2, "      ")
    text = "problems:\n" + problem + "\n" + problem + "\n"
    path = _write(tmp_path, text)
    with pytest.raises(InputFileError, match="duplicate problem id 'a'"):
        load_problem_set(path)


@pytest.mark.parametrize(
    ("body", "message", "line", "column"),
    [
        (
            "kind: identity\n    function: sigma\n    variable: z\n"
            "    definition: 1 / (1 + exp(-z)\n    claim: sigmoid(z)\n",
            "unexpected end of the expression",
            6,
            33,
        ),
        ("kind: batchnorm_numbers\n    batch: []\n", "'batch' is empty", 4, 12),
        ("kind: batchnorm_backward\n    variant: half\n", "unknown 'variant' 'half'", 4, 14),
    ],
    ids=["expression", "list", "choice"],
)
def test_field_errors_point_at_the_field(
    tmp_path: Path, body: str, message: str, line: int, column: int
) -> None:
    path = _write(tmp_path, "problems:\n  - id: p\n    " + body)
    with pytest.raises(DeriveError, match=message) as caught:
        load_problem_set(path)
    location = caught.value.location
    assert location is not None and (location.line, location.column) == (line, column)


def test_a_grading_section_is_for_the_grader(tmp_path: Path) -> None:
    """`derive solve` accepts the instructor's grading: section (read by `derive grade`)."""
    path = tmp_path / "set.yaml"
    path.write_text(
        "title: t\ngrading:\n  credit: {sign: 0.5}\nproblems:\n"
        "  - id: d\n    kind: identity\n    function: sigma\n    variable: z\n"
        "    definition: 1 / (1 + exp(-z))\n    claim: sigmoid(z) (1 - sigmoid(z))\n",
        encoding="utf-8",
    )
    assert load_problem_set(path).parts[0].name == "d"
