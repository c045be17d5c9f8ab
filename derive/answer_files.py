"""Students' answer files: YAML or JSON mapping part ids to expressions.

    student: ada                     # optional; else the file's name
    main.W2: (y - t) σ(z) (1 - σ(z)) h     # flat ids ...
    hw-1:                            # ... or nested under the problem (or part)
      b2: '(y - t) \\sigma(z) (1 - \\sigma(z))'

The earlier submission format (``example:`` or ``network:`` naming the assignment, and
``answers:`` with one mapping per part) is read too; it names its own key. A file that cannot be
read becomes a student whose every part is "unreadable", with the reason: nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from derive.errors import DeriveError, InputFileError, Location
from derive.load import YamlReader, read_input
from derive.parse import TextSpan

RESERVED = ("student", "example", "network")


@dataclass
class AnswerFile:
    """One student's answers, by part id, each with where it is written."""

    student: str
    file: str
    answers: dict[str, tuple[str, TextSpan]] = field(default_factory=dict)
    assignment: tuple[str, str] | None = None  # ("example" | "network", name): the old format
    assignment_at: Location | None = None  # where the file names it
    error: str = ""  # why the file could not be read ("" if it was)


def read_answer_file(path: str | Path) -> AnswerFile:
    """The answers in the file at ``path``; a file that cannot be read has ``error`` set."""
    file = Path(path)
    found = AnswerFile(student=file.stem, file=str(file))
    try:
        _read(file, found)
    except DeriveError as error:
        found.error = str(error)
        found.answers = {}
    return found


def _read(file: Path, found: AnswerFile) -> None:
    # a submission may be bigger than a network: an overlong answer is graded wrong, not the file
    text = read_input(file, "a submission", limit_name="submission_bytes")
    reader = YamlReader(text, str(file))
    root = reader.compose()
    entries = reader.mapping(root, "an answer file", "a mapping from part ids to answers")
    if "student" in entries:
        found.student = str(reader.plain(entries["student"][1]))
    for kind in ("example", "network"):
        if kind in entries:
            name, _ = reader.string(entries[kind][1], f"'{kind}'", "a name")
            found.assignment = (kind, name)
            found.assignment_at = reader.location(entries[kind][1])
    for key, (_, node) in entries.items():
        if key in RESERVED:
            continue
        if key == "answers" and isinstance(node, yaml.MappingNode):
            for part, (_, inner) in reader.mapping(node, "'answers'", "a mapping").items():
                _add(reader, found, part, inner)
        else:
            _add(reader, found, key, node)


def _add(reader: YamlReader, found: AnswerFile, prefix: str, node: yaml.Node) -> None:
    """A part's answer, or a mapping of answers under ``prefix``."""
    if isinstance(node, yaml.MappingNode):
        for name, (_, value) in reader.mapping(node, f"'{prefix}'", "a mapping").items():
            _add(reader, found, f"{prefix}.{name}", value)
        return
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":str"):
            found.answers[prefix] = reader.string(node, f"the answer for {prefix}", "an expression")
        else:  # a number written bare: 6, 1.5
            found.answers[prefix] = (node.value, reader.span(node))
        return
    if isinstance(node, yaml.SequenceNode) and all(
        isinstance(item, yaml.ScalarNode) for item in node.value
    ):  # a list of values: [-5/3, 1/3, 1/3, 1]
        text = ", ".join(item.value for item in node.value)
        found.answers[prefix] = (
            f"[{text}]",
            reader.span(node.value[0]) if node.value else _at(reader, node),
        )
        return
    raise InputFileError(
        f"the answer for {prefix} must be an expression or a list of values",
        location=reader.location(node),
    )


def _at(reader: YamlReader, node: yaml.Node) -> TextSpan:
    mark = node.start_mark
    return TextSpan(reader.source, mark.line + 1, mark.column + 1, exact=False)


def names_assignment(path: str | Path) -> bool:
    """Whether the file is a submission in the earlier format (it names its own assignment
    with ``example:`` or ``network:`` beside ``answers:``), not a key."""
    try:
        reader = YamlReader(read_input(path, "a submission", limit_name="submission_bytes"), "")
        root = reader.compose()
    except DeriveError:
        return False
    if not isinstance(root, yaml.MappingNode):
        return False
    keys = {k.value for k, _ in root.value if isinstance(k, yaml.ScalarNode)}
    return "answers" in keys and bool(keys & {"example", "network"})
