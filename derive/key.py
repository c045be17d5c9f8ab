"""Keys for variants of a problem file: ``derive key FILE [-o DIR] [--variants N] [--seed S]``.

For each variant: draw its values (``derive.variants``), solve it (redrawing a draw that makes
the problem degenerate), and write its question sheet, its solution key and its JSON key
(``derive.render.key_json``) into DIR::

    variant-01-questions.pdf   variant-01-key.pdf   variant-01.json

Variants are solved in parallel, one worker process per core; each problem of a variant still
runs under the time and memory limits (``derive.bounded``), and TeX runs in the workers, so
several at once. The same file and seed give the same bytes: the draws depend only on the seed
(``derive.randomize``), and TeX is run with ``SOURCE_DATE_EPOCH`` and ``FORCE_SOURCE_DATE``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from derive import bounded, limits
from derive.bounded import GaveUpError
from derive.errors import DeriveError, InternalError, RenderError, VariantError
from derive.load import parse_network_text
from derive.model import Part, Solution
from derive.problem_set import ProblemSetReader
from derive.randomize import attempt_seed
from derive.render import write_output
from derive.render.atomic import encoded, write_atomically
from derive.render.key_json import render_key_json
from derive.solve import solve
from derive.variants import Template

DRAWS = 20  # draws tried for one variant before it is reported as impossible
SOURCE_DATE_EPOCH = "0"  # the date TeX writes into a PDF, unless the environment sets one
FORMATS = ("pdf", "tex")


@dataclass(frozen=True)
class Job:
    """One variant to write, with everything a worker process needs."""

    template: Template
    index: int  # 1-based
    seed: int  # the run's --seed
    directory: Path
    stem: str  # "variant-01"
    fmt: str  # "pdf" or "tex"
    points: int
    bounds: bounded.Bounds | None
    limits: limits.Limits


@dataclass(frozen=True)
class Outcome:
    """A variant written (``files``) or not (``error``)."""

    index: int
    seed: int
    values: Mapping[str, str]
    files: tuple[Path, ...] = ()
    error: DeriveError | None = None


@dataclass(frozen=True)
class Solved:
    """A variant's drawn values, its text and its solution."""

    seed: int
    values: Mapping[str, str]
    text: str
    solution: Solution


def write_keys(
    template: Template,
    directory: Path,
    *,
    variants: int = 1,
    seed: int = 0,
    fmt: str = "pdf",
    points: int = 3,
    workers: int | None = None,
    bounds: bounded.Bounds | None = None,
) -> Iterator[Outcome]:
    """Write ``variants`` variants of ``template`` into ``directory``; yield each outcome as it
    is done (not in order). Each problem runs under ``bounds`` (None: in-process), and the
    input limits in force here apply in the workers too."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        message = f"cannot create the directory {directory}: {error.strerror or error}"
        raise RenderError(message) from None
    width = max(2, len(str(variants)))
    jobs = [
        Job(
            template,
            index,
            seed,
            directory,
            f"variant-{index:0{width}d}",
            fmt,
            points,
            bounds,
            limits.current(),
        )
        for index in range(1, variants + 1)
    ]
    count = min(workers or available_cores(), len(jobs) - 1)
    # the first variant here: the problems it shares with every other variant are then solved
    # once, and the workers, forked after it, start with them (see _ReusingReader)
    yield write_variant(jobs[0])
    if count <= 1:
        yield from (write_variant(job) for job in jobs[1:])
        return
    context = multiprocessing.get_context("fork")
    pool = concurrent.futures.ProcessPoolExecutor(count, context, initializer=_worker_started)
    try:
        futures = [pool.submit(write_variant, job) for job in jobs[1:]]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def available_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _worker_started() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent cleans up and reports
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def write_variant(job: Job) -> Outcome:
    """Solve one variant and write its three files; an error is returned, not raised."""
    with limits.using(job.limits), bounded.bounded(job.bounds):
        try:
            solved = solve_variant(job.template, job.index, job.seed, points=job.points)
        except DeriveError as error:
            return Outcome(job.index, job.seed, {}, error=error)
        try:
            files = _write(job, solved)
        except DeriveError as error:
            return Outcome(job.index, solved.seed, solved.values, error=error)
        except Exception as error:  # a bug: reported with the variant's files named
            what = f"{job.stem} of {job.template.source}"
            failure = InternalError(what, error, activity="writing")
            return Outcome(job.index, solved.seed, solved.values, error=failure)
    return Outcome(job.index, solved.seed, solved.values, files=files)


def solve_variant(template: Template, index: int, seed: int, *, points: int = 3) -> Solved:
    """Variant ``index``'s values drawn from ``seed``, redrawn while the problem they make
    cannot be solved (a zero-variance batch, a singular matrix, a check that fails: any
    DeriveError), at most ``DRAWS`` times. Running out of time or memory is not redrawn."""
    if not template.randomized:
        text = template.text_for({})
        return Solved(seed, {}, text, _solved(template, text, points))
    failures: list[tuple[dict[str, str], DeriveError]] = []
    for attempt in range(DRAWS):
        drawn = attempt_seed(seed, index, attempt)
        values = template.values(drawn)
        text = template.text_for(values)
        try:
            return Solved(drawn, values, text, _solved(template, text, points))
        except (GaveUpError, InternalError):
            raise
        except DeriveError as error:
            failures.append((values, error))
    values, last = failures[-1]
    shown = ", ".join(f"{name} = {value}" for name, value in values.items())
    message = (
        f"variant {index}: none of {DRAWS} draws gave a problem derive can solve; "
        f"the last ({shown}): {last}"
    )
    raise VariantError(message)


def _solved(template: Template, text: str, points: int) -> Solution:
    if template.is_problem_set:
        directory = Path(template.source).parent
        solution = _ReusingReader(text, template.source, directory).solve(
            points=points, progress=None
        )
        if solution.failures:  # a problem ran out of time or memory: no key with a hole
            raise GaveUpError(solution.failures[0])
        return solution
    network = parse_network_text(text, template.source)
    return bounded.run(lambda: solve(network, points=points), what=template.source)


def _write(job: Job, solved: Solved) -> tuple[Path, ...]:
    solution = solved.solution
    if job.template.randomized:
        label = f"Variant {job.index} (seed {solved.seed})"
        subtitle = f"{solution.subtitle} · {label}" if solution.subtitle else label
        solution = replace(solution, subtitle=subtitle)
    key = render_key_json(
        solution,
        source=Path(job.template.source).name,
        problem=solved.text,
        index=job.index,
        seed=solved.seed,
        values=solved.values,
        is_problem_set=job.template.is_problem_set,
    )
    questions = job.directory / f"{job.stem}-questions.{job.fmt}"
    answers = job.directory / f"{job.stem}-key.{job.fmt}"
    json_key = job.directory / f"{job.stem}.json"
    with _reproducible_tex():
        write_output(solution, questions, job.fmt, questions=True)
        write_output(solution, answers, job.fmt)
    write_atomically(json_key, encoded(key, json_key))
    return (questions, answers, json_key)


@contextlib.contextmanager
def _reproducible_tex() -> Iterator[None]:
    """Make pdfTeX write the same date and document id on every run."""
    saved = {name: os.environ.get(name) for name in ("SOURCE_DATE_EPOCH", "FORCE_SOURCE_DATE")}
    os.environ.setdefault("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
    os.environ["FORCE_SOURCE_DATE"] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Problems already solved in this process, by their text (see _ReusingReader).
_SOLVED: dict[tuple[object, ...], list[Part]] = {}
_SOLVED_MOST = 4096


class _ReusingReader(ProblemSetReader):
    """The problem-set reader, solving each problem once per process: variants mostly differ in
    a few problems, and a problem's parts depend only on its own text, the texts of the earlier
    problems it names (``gradient_of: mt-1be``), the points and the limits."""

    def _problem(
        self,
        node: yaml.Node,
        solved: dict[str, Part],
        *,
        points: int,
        progress: Callable[[str], None] | None,
    ) -> list[Part]:
        texts: dict[str, str] = self.__dict__.setdefault("_texts", {})
        text = self.text[node.start_mark.index : node.end_mark.index]
        named = tuple(sorted((i, t) for i, t in texts.items() if i in _scalars(node)))
        key = (text, named, points, limits.current())
        parts = _SOLVED.get(key)
        if parts is None:
            parts = super()._problem(node, solved, points=points, progress=progress)
            if len(_SOLVED) >= _SOLVED_MOST:
                _SOLVED.clear()
            _SOLVED[key] = parts
        identifier = _identifier(node)
        if identifier is not None:
            texts[identifier] = text
        return list(parts)


def _scalars(node: yaml.Node) -> set[str]:
    """Every scalar value in ``node`` (where an earlier problem's id would be named)."""
    if isinstance(node, yaml.ScalarNode):
        return {str(node.value)}
    if isinstance(node, yaml.SequenceNode):
        return set().union(*(_scalars(item) for item in node.value))
    if isinstance(node, yaml.MappingNode):
        return set().union(*(_scalars(value) for _, value in node.value))
    return set()


def _identifier(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if getattr(key, "value", None) == "id" and isinstance(value, yaml.ScalarNode):
                return str(value.value)
    return None
