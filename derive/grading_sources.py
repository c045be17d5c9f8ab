"""Where a grading key comes from: a network file, a problem set, or a JSON key.

A JSON key (``derive key``, schema v1) carries the variant's whole problem text; the key is
derived again from that text, once per run, and its stored answers are read (their LaTeX, by
the reader that checks derive's pages; a srepr is never evaluated) and compared with the
derived ones at the grading points: a key file that disagrees with its own problem is refused.
A problem file may carry a ``grading:`` section, which the solver does not see::

    grading:
      points: {main.W2: 2}        # or one number for every part (default 1)
      credit: {wrong_sign: 0.25}  # the fraction of the points a verdict earns
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from derive import bounded
from derive.errors import InputFileError, VerificationError
from derive.grading_feedback import CREDIT, judge
from derive.grading_key import GradingKey, KeyPart, free_parts, network_parts
from derive.load import YamlReader, read_input
from derive.model import Network
from derive.parse import TextSpan
from derive.problem_set import ProblemSetReader
from derive.solve import solve

KEY_SCHEMA = 1


def load_grading_key(path: str | Path) -> GradingKey:
    """The key at ``path``: a JSON key, a problem set or a network file."""
    file = Path(path)
    text = read_input(file, "a key")
    if file.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        return _json_key(text, file)
    return key_from_text(text, str(file), file.parent)


def key_from_text(text: str, source: str, directory: Path) -> GradingKey:
    """The key of a problem file's text (a network or a problem set)."""
    reader = _GradingReader(text, source, directory)
    root = reader.compose()
    entries = reader.mapping(root, "a problem file", "a mapping")
    points, credit = _grading(reader, reader.grading)
    if "problems" in entries:
        key = _problem_set_key(reader, entries)
    else:
        key = key_from_network(reader.network(root))
    key.credit = credit
    _assign_points(key, points, reader)
    return key


def key_from_network(network: Network) -> GradingKey:
    """The key of a network and its variants (solved in a bounded worker when bounds are set)."""
    solution = bounded.run(lambda: solve(network), what="the key")
    variants = {"main": network} | {v: network.with_variant(v) for v in network.variants}
    key = GradingKey(network.title, {}, dict(CREDIT))
    for part in network_parts(solution, variants):
        key.parts[part.id] = part
    return key


class _GradingReader(ProblemSetReader):
    """A problem file read with its ``grading:`` section set aside (the solver does not know
    it)."""

    def __init__(self, text: str, source: str, directory: Path) -> None:
        super().__init__(text, source, directory)
        self.grading: yaml.Node | None = None
        self._composed: yaml.Node | None = None

    def compose(self) -> yaml.Node:
        if self._composed is None:
            root = super().compose()
            if isinstance(root, yaml.MappingNode):
                kept = []
                for key, value in root.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == "grading":
                        self.grading = value
                    else:
                        kept.append((key, value))
                root.value = kept
            self._composed = root
        return self._composed


def _problem_set_key(
    reader: _GradingReader, entries: dict[str, tuple[yaml.ScalarNode, yaml.Node]]
) -> GradingKey:
    families: list[dict[str, Network]] = []  # a network problem's parts: main, then variants
    problems = entries["problems"][1]
    for node in problems.value if isinstance(problems, yaml.SequenceNode) else []:
        fields = reader.mapping(node, "a problem", "a mapping")
        if "network" in fields and "id" in fields and reader.plain(fields["kind"][1]) == "network":
            identifier = str(reader.plain(fields["id"][1]))
            network = reader._network(fields["network"][1])
            variants = {f"{identifier}-{v}": network.with_variant(v) for v in network.variants}
            families.append({identifier: network} | variants)
    solution = reader.solve(points=3, progress=None)
    key = GradingKey(solution.title, {}, {}, skipped=list(solution.failures))
    for family in families:
        for part in network_parts(solution, family):
            key.parts[part.id] = part
    network_names = {name for family in families for name in family}
    for solved in solution.parts:
        if solved.name not in network_names:
            for part in free_parts(solved.name, solved.answers, key.skipped):
                key.parts[part.id] = part
    order = [f"{p.name}.{n}" for p in solution.parts for n in p.answers]
    key.parts = {ident: key.parts[ident] for ident in order if ident in key.parts}
    return key


def _grading(reader: YamlReader, node: yaml.Node | None) -> tuple[object, dict[str, float]]:
    """The ``grading:`` section: points (a number or part -> number) and credit per verdict."""
    if node is None:
        return 1.0, dict(CREDIT)
    entries = reader.mapping(node, "'grading'", "a mapping with points and credit")
    credit = dict(CREDIT)
    for key, (key_node, _) in entries.items():
        if key not in ("points", "credit"):
            message = f"unknown key '{key}' in 'grading' (it has points, credit)"
            raise InputFileError(message, location=reader.location(key_node))
    if "credit" in entries:
        given = reader.mapping(entries["credit"][1], "'credit'", "verdict: fraction")
        for verdict, (key_node, value) in given.items():
            if verdict not in CREDIT:
                known = ", ".join(CREDIT)
                message = f"no verdict '{verdict}' (verdicts: {known})"
                raise InputFileError(message, location=reader.location(key_node))
            credit[verdict] = _number(reader, value, 0.0, 1.0, "a credit")
    points: object = 1.0
    if "points" in entries:
        value = entries["points"][1]
        if isinstance(value, yaml.MappingNode):
            points = {
                part: (_number(reader, node, 0.0, 1e6, "points"), reader.location(key_node))
                for part, (key_node, node) in reader.mapping(value, "'points'", "").items()
            }
        else:
            points = _number(reader, value, 0.0, 1e6, "points")
    return points, credit


def _number(reader: YamlReader, node: yaml.Node, low: float, high: float, what: str) -> float:
    value = reader.plain(node)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise InputFileError(
            f"{what} must be a number from {low:g} to {high:g}", location=reader.location(node)
        )
    return float(value)


def _assign_points(key: GradingKey, points: object, reader: YamlReader) -> None:
    if isinstance(points, dict):
        for ident, (value, location) in points.items():
            if ident not in key.parts:
                known = ", ".join(key.parts)
                raise InputFileError(f"no part '{ident}' (parts: {known})", location=location)
            key.parts[ident].max_points = value
    else:
        assert isinstance(points, float)
        for part in key.parts.values():
            part.max_points = points


def _json_key(text: str, file: Path) -> GradingKey:
    """A key written by ``derive key``: the problem derived again and checked against it."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise InputFileError(f"not a JSON key: {error}", location=None) from None
    if not isinstance(data, dict) or data.get("derive_key") != KEY_SCHEMA:
        raise InputFileError(f'{file}: not a derive key (expected "derive_key": {KEY_SCHEMA})')
    problem, parts = data.get("problem"), data.get("parts")
    if not isinstance(problem, str) or not isinstance(parts, list):
        raise InputFileError(f"{file}: a derive key needs 'problem' (text) and 'parts' (a list)")
    key = key_from_text(problem, f"{file} (problem)", file.parent)
    if isinstance(data.get("title"), str):
        key.title = data["title"]
    if "grading" in data:  # points and credit added to the key by the instructor
        reader = YamlReader(json.dumps(data["grading"]), f"{file} (grading)")
        points, key.credit = _grading(reader, reader.compose())
        _assign_points(key, points, reader)
    for stored in parts:
        if not isinstance(stored, dict) or not isinstance(stored.get("id"), str):
            raise InputFileError(f"{file}: each part of a key needs an 'id'")
        ident = stored["id"]
        if any(note.startswith(f"{ident}: not graded") for note in key.skipped):
            continue
        if ident not in key.parts:
            raise VerificationError(
                f"{file}: the key has a part '{ident}' that its problem does not give"
            )
        _check_stored(key.parts[ident], stored, file)
    return key


def _check_stored(part: KeyPart, stored: dict[str, object], file: Path) -> None:
    """The stored answer (its LaTeX) agrees with the derived one at the grading points."""
    answer = stored.get("answer")
    latex = answer.get("latex") if isinstance(answer, dict) else None
    if not isinstance(latex, str):
        return
    judgement = judge(part, latex, TextSpan(str(file)))
    if judgement.verdict != "correct":
        raise VerificationError(
            f"{file}: the stored answer of {part.id} disagrees with the answer derived from "
            f"the key's problem ({judgement.feedback})"
        )
