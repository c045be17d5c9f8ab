"""Problem sets: a YAML file listing problems of any kind, solved into one document.

    title: Solution key
    problems:
      - id: hw-1                      # unique; names the part(s) in the JSON
        title: Two-layer network      # the heading
        statement: Find ∂e/∂W1, ...   # the question as the course states it
        kind: network                 # or identity, update, dropout, least_squares, ...
        network: two_layer.yaml       # a network file (relative to this file) or inline mapping
        notation: matrix              # optional, for networks
      - id: mt-3
        kind: batchnorm_numbers
        batch: [1, 7, 7, 9]           # the kind's own fields

A network problem gives one part per network variant; every other kind gives one part.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import yaml

from derive import bounded
from derive.bounded import GaveUpError
from derive.errors import DeriveError, InputFileError, InternalError
from derive.load import RANDOMIZED, YamlReader, load_network, read_input, referenced_path, shorten
from derive.model import Network, Part, Solution
from derive.parse import TextSpan
from derive.problems import ProblemSpec, solver
from derive.solve import solve

COMMON_KEYS = ("id", "title", "statement", "kind")
NETWORK_KEYS = ("network", "notation")


def is_problem_set(path: str | os.PathLike[str]) -> bool:
    """Whether the YAML file at ``path`` is a problem set (has a top-level 'problems' key).

    A file that cannot be read or composed is not one; reading it as a network reports why.
    """
    try:
        root = YamlReader(read_input(path, "a problem set"), str(path)).compose()
    except DeriveError:
        return False
    return isinstance(root, yaml.MappingNode) and any(
        isinstance(k, yaml.ScalarNode) and k.value == "problems" for k, _ in root.value
    )


def load_problem_set(
    path: str | os.PathLike[str],
    *,
    points: int = 3,
    progress: Callable[[str], None] | None = None,
) -> Solution:
    """Solve every problem of the set at ``path``, in order, into one Solution."""
    file = Path(path)
    text = read_input(file, "a problem set")
    return ProblemSetReader(text, str(file), file.parent).solve(points=points, progress=progress)


class ProblemSetReader(YamlReader):
    """Reads a problem set; network problems reuse the network reader on their own node."""

    def __init__(self, text: str, source: str, directory: Path) -> None:
        super().__init__(text, source)
        self.directory = directory

    def solve(self, *, points: int, progress: Callable[[str], None] | None) -> Solution:
        root = self.compose()
        entries = self.mapping(root, "a problem set", "a mapping with title and problems")
        for key, (key_node, _) in entries.items():
            if key == "randomize":
                raise InputFileError(RANDOMIZED, location=self.location(key_node))
            if key not in ("title", "subtitle", "problems", "grading"):  # grading: for grade
                message = (
                    f"unknown key '{key}' (a problem set has title, subtitle, problems, grading)"
                )
                raise InputFileError(message, location=self.location(key_node))
        if "problems" not in entries or not isinstance(entries["problems"][1], yaml.SequenceNode):
            raise InputFileError(
                "'problems' must be a list of problems", location=self.location(root)
            )
        title = self._text(entries, "title") or Path(self.source).stem
        parts: list[Part] = []
        solved: dict[str, Part] = {}
        failures: list[str] = []
        problems = entries["problems"][1].value
        for number, node in enumerate(problems, start=1):
            counted = None if progress is None else _counting(progress, number, len(problems))
            try:
                found = self._problem(node, solved, points=points, progress=counted)
            except GaveUpError as error:  # the rest of the set still completes
                failures.append(str(error))
                found = [self._unsolved(node, error)]
            for part in found:
                parts.append(part)
                solved[part.name] = part
        subtitle = self._text(entries, "subtitle")
        return Solution(title=title, parts=parts, subtitle=subtitle, failures=failures)

    def _unsolved(self, node: yaml.Node, error: GaveUpError) -> Part:
        """What the document shows for a problem that gave up: its heading and why."""
        entries = self.mapping(node, "a problem", "a mapping")
        identifier = self._text(entries, "id")
        title = self._text(entries, "title") or identifier
        return Part(name=identifier, heading=title, statement=f"Not solved: {error.message}.")

    def _text(self, entries: dict[str, tuple[yaml.ScalarNode, yaml.Node]], key: str) -> str:
        if key not in entries:
            return ""
        return self.string(entries[key][1], f"'{key}'", "text")[0]

    def _problem(
        self,
        node: yaml.Node,
        solved: dict[str, Part],
        *,
        points: int,
        progress: Callable[[str], None] | None,
    ) -> list[Part]:
        entries = self.mapping(node, "a problem", "a mapping with id, kind and the kind's fields")
        where = self.location(node)
        for key in ("id", "kind"):
            if key not in entries:
                raise InputFileError(f"a problem needs '{key}'", location=where)
        identifier = self._text(entries, "id")
        if identifier in solved or any(name.startswith(f"{identifier}-") for name in solved):
            raise InputFileError(f"duplicate problem id '{identifier}'", location=where)
        kind = self._text(entries, "kind")
        title = self._text(entries, "title") or identifier
        statement = self._text(entries, "statement")
        if progress is not None:
            progress(title)
        try:
            if kind == "network":
                return bounded.run(
                    lambda: self._network_parts(entries, identifier, title, statement, points),
                    what=f"problem '{identifier}'",
                )
            solve_kind = solver(kind, location=self.location(entries["kind"][1]))
            fields = {
                key: self.plain(value)
                for key, (_, value) in entries.items()
                if key not in COMMON_KEYS
            }
            spans = {
                key: self.span(value) if isinstance(value, yaml.ScalarNode) else self.start(value)
                for key, (_, value) in entries.items()
                if key not in COMMON_KEYS
            }
            spec = ProblemSpec(identifier, title, statement, fields, where, dict(solved), spans)
            return [bounded.run(lambda: solve_kind(spec), what=f"problem '{identifier}'")]
        except InternalError as error:  # name the problem's part: hw-1, hw-1-skip
            part = identifier if error.part == "main" else f"{identifier}-{error.part}"
            raise InternalError(part, error.original) from error.original
        except DeriveError as error:
            raise error.at(where) from None
        except Exception as error:
            raise InternalError(identifier, error) from error

    def _network_parts(
        self,
        entries: dict[str, tuple[yaml.ScalarNode, yaml.Node]],
        identifier: str,
        title: str,
        statement: str,
        points: int,
    ) -> list[Part]:
        for key, (key_node, _) in entries.items():
            if key not in COMMON_KEYS + NETWORK_KEYS:
                known = ", ".join(COMMON_KEYS + NETWORK_KEYS)
                message = f"unknown key '{key}' for a network problem (it has {known})"
                raise InputFileError(message, location=self.location(key_node))
        if "network" not in entries:
            message = f"problem '{identifier}' needs 'network': a file name or a mapping"
            raise InputFileError(message, location=self.location(entries["id"][0]))
        network = self._network(entries["network"][1])
        notation = self._text(entries, "notation") or None
        solution = solve(network, notation=notation, points=points)
        parts = solution.parts
        for part in parts:
            variant = part.name
            part.name = identifier if variant == "main" else f"{identifier}-{variant}"
            part.heading = title if variant == "main" else f"{title}: {part.heading}"
            if variant == "main" and statement:
                part.statement = statement
        return parts

    def start(self, node: yaml.Node) -> TextSpan:
        """Where a list or mapping value starts (errors about it point there)."""
        mark = node.start_mark
        return TextSpan(self.source, mark.line + 1, mark.column + 1, exact=False)

    def _network(self, node: yaml.Node) -> Network:
        if isinstance(node, yaml.MappingNode):
            return self.network(node)
        name, _ = self.string(node, "'network'", "a file name or a mapping")
        where = self.location(node)
        path = referenced_path(self.directory, name, location=where, what="the network file")
        if not path.exists():
            message = f"no such file: '{shorten(name)}' (looked in {self.directory})"
            raise InputFileError(message, location=where)
        return load_network(path)


def _counting(progress: Callable[[str], None], number: int, total: int) -> Callable[[str], None]:
    """``progress`` with the problem's number in front: "[3/14] Dropout ..."."""

    def report(title: str) -> None:
        progress(f"[{number}/{total}] {title}")

    return report
