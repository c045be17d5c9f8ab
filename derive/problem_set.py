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

Under time and memory bounds (the command line) each problem is solved in its own worker, and
problems are started ahead of their turn on free cores; they are still taken in order, so the
progress lines, the parts and the first error are those of solving one after another. A
problem that builds on an earlier one (``READS_EARLIER``) starts at its turn, after it. With a
``Cache`` a problem solved before is not solved again (see ``derive.cache``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from derive import bounded, limits
from derive.bounded import GaveUpError, Pending
from derive.cache import Cache, digest, note_read
from derive.errors import DeriveError, InputFileError, InternalError
from derive.load import RANDOMIZED, YamlReader, load_network, read_input, referenced_path, shorten
from derive.model import Network, Part, Solution
from derive.parse import TextSpan
from derive.problems import ProblemSpec, solver
from derive.solve import solve

COMMON_KEYS = ("id", "title", "statement", "kind")
NETWORK_KEYS = ("network", "notation")
# kinds whose solver reads an earlier problem's part (``spec.previous``) -> the field naming it
READS_EARLIER: dict[str, str] = {"update": "gradient_of"}


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
    workers: int | None = None,
    cache: Cache | None = None,
) -> Solution:
    """Solve every problem of the set at ``path`` into one Solution, in order; under bounds
    (``derive.bounded``) up to ``workers`` problems at once (default: one per core)."""
    file = Path(path)
    text = read_input(file, "a problem set")
    reader = ProblemSetReader(text, str(file), file.parent)
    chosen = bounded.cores() if workers is None else workers
    return reader.solve(points=points, progress=progress, workers=chosen, cache=cache)


class ProblemSetReader(YamlReader):
    """Reads a problem set; network problems reuse the network reader on their own node."""

    def __init__(self, text: str, source: str, directory: Path) -> None:
        super().__init__(text, source)
        self.directory = directory
        self._jobs = _Jobs([], {}, 3, 1, None)  # solve() sets the set's own

    def solve(
        self,
        *,
        points: int,
        progress: Callable[[str], None] | None,
        workers: int = 1,
        cache: Cache | None = None,
    ) -> Solution:
        """The set's Solution: its problems taken in order, each solved (or started ahead of
        its turn by up to ``workers`` bounded workers), or read from ``cache``."""
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
        self._jobs = _Jobs(problems, solved, points, workers, cache)
        try:
            for number, node in enumerate(problems, start=1):
                counted = None if progress is None else _counting(progress, number, len(problems))
                self._jobs.turn = number - 1
                self._start_ahead()
                try:
                    found = self._problem(node, solved, points=points, progress=counted)
                except GaveUpError as error:  # the rest of the set still completes
                    failures.append(str(error))
                    found = [self._unsolved(node, error)]
                for part in found:
                    parts.append(part)
                    solved[part.name] = part
        finally:
            self._jobs.cancel()
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
        if _repeated(identifier, solved):
            raise InputFileError(f"duplicate problem id '{identifier}'", location=where)
        kind = self._text(entries, "kind")
        title = self._text(entries, "title") or identifier
        statement = self._text(entries, "statement")
        if progress is not None:
            progress(title)
        header = _Header(node, entries, identifier, kind, title, statement)
        try:
            return self._outcome(header, solved, points)
        except InternalError as error:  # name the problem's part: hw-1, hw-1-skip
            part = identifier if error.part == "main" else f"{identifier}-{error.part}"
            raise InternalError(part, error.original) from error.original
        except DeriveError as error:
            raise error.at(where) from None
        except Exception as error:
            raise InternalError(identifier, error) from error

    def _outcome(self, header: _Header, solved: dict[str, Part], points: int) -> list[Part]:
        """The problem's parts: from the job started ahead of its turn, else started now."""
        jobs = self._jobs
        job = jobs.started.pop(id(header.node), None)
        if job is None:
            jobs.wait_for_a_core()
            job = self._start(header, solved, points)
            jobs.running.append(job)
        while not job.pending.done:
            bounded.wait_any(jobs.unfinished())
            self._start_ahead()
        found = job.pending.result()
        if job.key is not None and jobs.cache is not None and not job.cached:
            jobs.cache.store(job.key, found)
        jobs.keys.update({part.name: job.key for part in found})
        return list(found)

    def _start_ahead(self) -> None:
        """Start problems after the one whose turn it is on free cores (under bounds only):
        each parses, is no repeated id, and does not build on an earlier problem. Whatever
        cannot start ahead starts at its turn, where its error is reported in order."""
        jobs = self._jobs
        if jobs.workers <= 1 or bounded._current is None:
            return
        for index in range(jobs.turn, len(jobs.problems)):
            if not jobs.free():
                return
            node = jobs.problems[index]
            if id(node) in jobs.started or id(node) in jobs.tried:
                continue
            jobs.tried.add(id(node))
            try:
                entries = self.mapping(node, "a problem", "a mapping")
                identifier = self._text(entries, "id")
                kind = self._text(entries, "kind")
                if not identifier or kind in READS_EARLIER or _repeated(identifier, jobs.solved):
                    continue
                title = self._text(entries, "title") or identifier
                statement = self._text(entries, "statement")
                header = _Header(node, entries, identifier, kind, title, statement)
                job = self._start(header, jobs.solved, jobs.points)
            except Exception:  # raised again at its turn
                continue
            jobs.started[id(node)] = job
            jobs.running.append(job)

    def _start(self, header: _Header, solved: dict[str, Part], points: int) -> _Job:
        """Start solving one problem (or find it in the cache)."""
        node, entries, identifier = header.node, header.entries, header.identifier
        kind, title, statement = header.kind, header.title, header.statement
        what = f"problem '{identifier}'"
        work: Callable[[], list[Part]]
        if kind == "network":

            def work() -> list[Part]:
                return self._network_parts(entries, identifier, title, statement, points)

        else:
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
            where = self.location(node)
            spec = ProblemSpec(identifier, title, statement, fields, where, dict(solved), spans)

            def work() -> list[Part]:
                return [solve_kind(spec)]

        cache = self._jobs.cache
        key = None if cache is None else self._cache_key(cache, node, entries, kind, solved, points)
        if cache is not None and key is not None:
            found = cache.load(key)
            if isinstance(found, list) and found and all(isinstance(p, Part) for p in found):
                return _Job(Pending(what, outcome=("ok", found)), key, cached=True)
        return _Job(bounded.start(work, what=what), key)

    def _cache_key(
        self,
        cache: Cache,
        node: yaml.Node,
        entries: dict[str, tuple[yaml.ScalarNode, yaml.Node]],
        kind: str,
        solved: dict[str, Part],
        points: int,
    ) -> str | None:
        """The problem's key in the cache: everything its parts depend on; None (not cached)
        if something it reads cannot be read here (its worker then reports why)."""
        items: list[object] = [str(Path(self.source).resolve()), self.plain(node), points]
        items.append(limits.current())
        if kind == "network" and "network" in entries:
            value = entries["network"][1]
            if isinstance(value, yaml.ScalarNode):
                try:
                    name = self.string(value, "'network'", "a file name")[0]
                    where = self.location(value)
                    path = referenced_path(self.directory, name, location=where, what="")
                    if not path.is_file() or path.stat().st_size > limits.current().input_bytes:
                        return None
                    data = path.read_bytes()
                    note_read(path, data)
                    items += [str(path.resolve()), digest(data)]
                except (DeriveError, OSError):
                    return None
        if kind in READS_EARLIER:  # the earlier part it reads: by the key of what solved it
            field = READS_EARLIER[kind]
            named = self.plain(entries[field][1]) if field in entries else None
            earlier = self._jobs.keys.get(named) if isinstance(named, str) else None
            if earlier is None or named not in solved:  # not solved, or not by a cached problem
                return None
            items.append(earlier)
        return cache.key(*items)

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


def _repeated(identifier: str, solved: dict[str, Part]) -> bool:
    """Whether an earlier problem has this id (its parts are named id and id-variant)."""
    return identifier in solved or any(name.startswith(f"{identifier}-") for name in solved)


@dataclass(frozen=True)
class _Header:
    """A problem's node and the fields every kind has, read in the parent."""

    node: yaml.Node
    entries: dict[str, tuple[yaml.ScalarNode, yaml.Node]]
    identifier: str
    kind: str
    title: str
    statement: str


class _Job:
    """A problem started (or found in the cache): its outcome to come, and its cache key."""

    def __init__(self, pending: Pending[list[Part]], key: str | None, *, cached: bool = False):
        self.pending = pending
        self.key = key
        self.cached = cached


class _Jobs:
    """The problems of one set being solved: which started ahead of their turn, which run."""

    def __init__(
        self,
        problems: list[Any],
        solved: dict[str, Part],
        points: int,
        workers: int,
        cache: Cache | None,
    ) -> None:
        self.problems = problems
        self.solved = solved
        self.points = points
        self.workers = max(1, workers)
        self.cache = cache
        self.turn = 0  # the index of the problem being taken
        self.started: dict[int, _Job] = {}  # id(node) -> started ahead, not yet taken
        self.tried: set[int] = set()  # nodes considered for starting ahead
        self.running: list[_Job] = []
        self.keys: dict[str, str | None] = {}  # part name -> cache key of the problem solving it

    def unfinished(self) -> list[Pending[Any]]:
        self.running = [job for job in self.running if not job.pending.done]
        return [job.pending for job in self.running]

    def free(self) -> bool:
        return len(self.unfinished()) < self.workers

    def wait_for_a_core(self) -> None:
        """Block until fewer than ``workers`` problems run (time limits are wall-clock)."""
        while not self.free():
            bounded.wait_any(self.unfinished())

    def cancel(self) -> None:
        """Stop every worker still running (an earlier problem failed, or Ctrl-C)."""
        for job in self.running:
            job.pending.cancel()
        self.running = []
        self.started.clear()
