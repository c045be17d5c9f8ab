"""The command line: ``derive solve`` writes a checked solution; ``derive examples`` lists more."""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

# Only light modules here: `derive --help`, `derive examples` and argument errors must not
# import SymPy or NumPy (0.1 s instead of 1 s); each command imports what it needs.
from derive import bounded, grading_pool
from derive.cache import recording_reads
from derive.command_line import (
    InternalFailure,
    bounds_of,
    input_limits,
    limit_options,
    reported,
)
from derive.document_cache import DocumentCache, request_for
from derive.errors import DeriveError, InternalError
from derive.escaping import inert
from derive.examples import DEFAULT, EXAMPLES
from derive.render import check_output, write_output
from derive.render.atomic import write_atomically

if TYPE_CHECKING:
    from derive.key import Outcome
    from derive.model import Solution

DEFAULT_OUTPUT = "solution.pdf"
# The choices of options, spelled here because the modules that define them import SymPy;
# tests/test_cli_imports.py checks that each is the same as its module's.
OUTPUT_FORMATS = ("json", "md", "pdf", "tex")  # sorted(derive.render.FORMATS)
NOTATIONS = ("matrix", "index", "scalar")  # derive.steps.NOTATIONS
GRADEBOOK_FORMATS = ("text", "json", "csv", "gradescope")  # derive.gradebook.FORMATS
KEY_FORMATS = ("pdf", "tex")  # derive.key.FORMATS


@click.group()
@click.version_option(package_name="derive", message="derive %(version)s")
@click.option(
    "--debug", is_flag=True, help="Show the traceback of an internal error (a bug in derive)."
)
def main(debug: bool) -> None:
    """Step-by-step, numerically checked derivations for deep-learning courses.

    Exit status: 0 done, 1 or 2 bad input or usage, 3 an internal error (please report it),
    143 stopped by SIGTERM (nothing half-written is left behind).
    """
    signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM as SystemExit, so every ``with`` and ``finally`` runs on the way out: the LaTeX
    scratch directory (it holds the whole key) and a half-written output are removed."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the cleanup
    click.echo("Error: stopped by SIGTERM; no output was written", err=True)
    raise SystemExit(128 + signum)


@main.command("solve")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Where to write the solution (default: {DEFAULT_OUTPUT}).",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(OUTPUT_FORMATS),
    default=None,
    help="Output format (default: from the output file's suffix).",
)
@click.option(
    "-n",
    "--notation",
    type=click.Choice(NOTATIONS),
    default=None,
    help="matrix (⊙, ᵀ), index (per entry) or scalar; default: scalar when every "
    "quantity is a scalar, else matrix.",
)
@click.option(
    "-e",
    "--example",
    type=click.Choice(sorted(EXAMPLES)),
    default=None,
    help="Solve a built-in example instead of FILE (see `derive examples`).",
)
@click.option("--questions", is_flag=True, help="Write the question sheet instead of the key.")
@click.option(
    "--points",
    type=click.IntRange(1, 100),
    default=3,
    show_default=True,
    help="Random points for the finite-difference check.",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Solve every problem again, neither reading nor writing the cache of solved problems.",
)
@limit_options
@input_limits
def solve_command(
    file: Path | None,
    output: Path | None,
    fmt: str | None,
    notation: str | None,
    example: str | None,
    questions: bool,
    points: int,
    no_cache: bool,
    time_limit: float,
    memory_limit: int,
) -> None:
    """Solve FILE (a network in YAML) and write the solution.

    With no FILE, solve the built-in example: the homework's two-layer sigmoid network with
    every quantity a scalar (and its skip variant), then in vector form.
    """
    if file is not None and example is not None:
        raise click.UsageError("give either FILE or --example, not both")
    target, name = _output_path(output, fmt, inputs=[file] if file is not None else [])
    subject = str(file) if file is not None else example or DEFAULT
    request = None if no_cache else request_for(file, subject, name, questions, notation, points)
    documents = DocumentCache.default()
    kept = None if request is None else documents.find(request)
    if kept is not None:  # the same input, options and derive: the document written last time
        for line in kept.progress:
            click.echo(line, err=True)
        with reported("writing", str(target)):
            write_atomically(target, kept.data)
        click.echo(f"Wrote {inert(str(target.resolve()))}")
        return
    lines: list[str] = []
    with (
        recording_reads() as reads,
        reported("solving", subject),
        bounded.bounded(bounds_of(time_limit, memory_limit)),
    ):
        solution = _solve(file, example, notation, points, cache=not no_cache, lines=lines)
    with reported("writing", str(target)):
        write_output(solution, target, fmt, questions=questions)
    click.echo(f"Wrote {inert(str(target.resolve()))}")
    for failure in solution.failures:  # the rest was written; these problems were not
        click.echo(f"Error: {failure}", err=True)
    if solution.failures:
        sys.exit(1)
    if request is not None:
        documents.keep_written(request, target, reads, lines)


def _output_path(output: Path | None, fmt: str | None, *, inputs: list[Path]) -> tuple[Path, str]:
    """Where to write, and the format: refused when it is an input file or its suffix says
    another format."""
    if output is not None:
        target = output
    else:
        target = Path(DEFAULT_OUTPUT if fmt is None or fmt == "pdf" else f"solution.{fmt}")
    try:
        name = check_output(target, fmt, inputs)
    except DeriveError as error:
        hint = " (or pass --format)" if fmt is None else ""
        raise click.UsageError(f"{error}{hint}") from None
    return target, name


def _solve(
    file: Path | None,
    example: str | None,
    notation: str | None,
    points: int,
    *,
    cache: bool,
    lines: list[str],
) -> Solution:
    """The solution asked for; each progress line is printed and added to ``lines``."""
    from derive.documents import solve_default, solve_example, solve_file

    def progress(title: str) -> None:
        line = f"Solving {inert(title)} ..."
        lines.append(line)
        click.echo(line, err=True)

    if file is not None:
        return solve_file(file, notation=notation, points=points, progress=progress, cache=cache)
    if example is not None:
        return solve_example(
            example, notation=notation, points=points, progress=progress, cache=cache
        )
    if notation is not None:
        raise click.UsageError("--notation needs FILE or --example (the default sets its own)")
    return solve_default(points=points, progress=progress, cache=cache)


@main.command("grade")
@click.argument("key", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("answers", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(GRADEBOOK_FORMATS),
    default=None,
    help="text, json, csv (one row per student) or gradescope (results.json); "
    "default: from the output's suffix, else text.",
)
@click.option("--json", "as_json", is_flag=True, help="The same as --format json.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the gradebook here (atomically) instead of printing it.",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 512),
    default=None,
    help="Worker processes grading answers (default: one per core; 0: in this process).",
)
@functools.partial(limit_options, seconds=grading_pool.SECONDS)
@input_limits
def grade_command(
    key: Path,
    answers: tuple[Path, ...],
    fmt: str | None,
    as_json: bool,
    output: Path | None,
    workers: int | None,
    time_limit: float,
    memory_limit: int,
) -> None:
    """Grade students' ANSWERS against KEY and print or write the gradebook.

    KEY is a network file, a problem set or a JSON key (`derive key`); each of ANSWERS is a
    YAML or JSON file mapping part ids (main.W2, hw-1.b1, mt-3.mean) to expressions in the
    network's notation or LaTeX, flat or nested, with an optional `student:`. The earlier form
    `derive grade SUBMISSION...`, each file naming its assignment (`example:` or `network:`)
    with `answers:`, still works. Every answer is graded in a worker under --time-limit and
    --memory-limit; a file that cannot be read is reported and the others are graded.
    """
    from derive.gradebook import render as render_gradebook
    from derive.grading_run import run_grading
    from derive.render.atomic import encoded, write_atomically

    fmt = "json" if as_json and fmt is None else fmt
    if fmt is None:
        suffix = output.suffix.lower() if output is not None else ""
        fmt = {".csv": "csv", ".json": "json"}.get(suffix, "text")
    if output is not None and output.resolve() in {p.resolve() for p in (key, *answers)}:
        raise click.UsageError(f"the output {inert(str(output))} is one of the input files")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with reported("grading", str(key)):
        run = run_grading(
            key,
            answers,
            workers=cores or 1 if workers is None else workers,
            answer_bounds=bounds_of(time_limit, memory_limit),
            key_bounds=bounds_of(max(time_limit, bounded.SECONDS), memory_limit),
        )
        if fmt == "gradescope" and sum(len(b.students) for b in run.books) != 1:
            raise click.UsageError("--format gradescope writes the results of one submission")
        texts = [render_gradebook(book, fmt) for book in run.books]
    if fmt == "json" and len(texts) > 1:
        text = json.dumps([json.loads(t) for t in texts], indent=2, ensure_ascii=False) + "\n"
    else:
        text = "".join(texts)
    for error in run.errors:
        click.echo(f"Error: {error}", err=True)
    if output is None:
        click.echo(text, nl=False)
    else:
        with reported("writing", str(output)):
            write_atomically(output, encoded(text, output))
        click.echo(f"Wrote {inert(str(output.resolve()))}", err=True)
    if run.errors:
        sys.exit(1)


@main.command("key")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("key"),
    show_default=True,
    help="The directory to write the keys into.",
)
@click.option(
    "--variants",
    type=click.IntRange(1, 10_000),
    default=None,
    help="How many variants to draw from the file's randomize: section (default: one).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=0,
    show_default=True,
    help="The same file and seed give the same variants, byte for byte.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(KEY_FORMATS),
    default="pdf",
    show_default=True,
    help="pdf, or tex to write the LaTeX of the sheets instead.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1, 256),
    default=None,
    help="Variants solved at once (default: one per core).",
)
@limit_options
@input_limits
def key_command(
    file: Path,
    directory: Path,
    variants: int | None,
    seed: int,
    fmt: str,
    jobs: int | None,
    time_limit: float,
    memory_limit: int,
) -> None:
    """Write keys for FILE (a network or a problem set) into a directory: for each variant
    the question sheet, the solution key and a JSON key for grading
    (variant-01-questions.pdf, variant-01-key.pdf, variant-01.json).

    Values are drawn from the file's randomize: section into its {{ name }} placeholders; a
    draw that makes a problem unsolvable is drawn again. See the README's Keys and variants.
    """
    from derive.key import write_keys
    from derive.variants import read_template

    with reported("reading", str(file)):
        template = read_template(file)
    if variants is not None and variants > 1 and not template.randomized:
        raise click.UsageError(
            f"{inert(str(file))} has no randomize: section, so every variant would be the same"
        )
    count = variants or 1
    outcomes: list[Outcome] = []
    bounds = bounds_of(time_limit, memory_limit)
    with (
        reported("writing keys into", str(directory)),
        click.progressbar(length=count, label="Solving variants", file=sys.stderr) as bar,
    ):
        for outcome in write_keys(
            template, directory, variants=count, seed=seed, fmt=fmt, workers=jobs, bounds=bounds
        ):
            outcomes.append(outcome)
            bar.update(1)
    failed = sorted((o for o in outcomes if o.error is not None), key=lambda o: o.index)
    for outcome in failed:
        click.echo(f"Error: {outcome.error}", err=True)
    written = count - len(failed)
    click.echo(f"Wrote {written} of {count} variants to {inert(str(directory.resolve()))}")
    if any(isinstance(outcome.error, InternalError) for outcome in failed):
        sys.exit(InternalFailure.exit_code)
    if failed:
        sys.exit(1)


@main.command("examples")
def examples_command() -> None:
    """List the built-in examples (solve one with `derive solve --example NAME`)."""
    width = max(len(name) for name in EXAMPLES)
    for name, example in EXAMPLES.items():
        click.echo(f"{name.ljust(width)}  {example.description}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
