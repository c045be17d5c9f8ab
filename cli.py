"""The command line: ``derive solve`` writes a checked solution; ``derive examples`` lists more."""

from __future__ import annotations

import functools
import json
import signal
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import click

from derive import bounded, limits
from derive.documents import solve_default, solve_example, solve_file
from derive.errors import DeriveError, InternalError
from derive.escaping import inert
from derive.examples import DEFAULT, EXAMPLES
from derive.grade import Verdict, grade, load_submission
from derive.model import Solution
from derive.render import FORMATS, check_output, write_output
from derive.steps import NOTATIONS

DEFAULT_OUTPUT = "solution.pdf"


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


class InternalFailure(click.ClickException):
    """An InternalError as click's ``Error: ...`` line, with its own exit status."""

    exit_code = 3


@contextmanager
def reported(activity: str, subject: str) -> Iterator[None]:
    """Turn errors into one ``Error: ...`` line: bad input exits 1, a bug in derive exits 3.

    An exception that is not a DeriveError becomes an InternalError about ``activity`` and
    ``subject`` (``writing``, ``key.pdf``) unless code nearer the failure already named the part.
    KeyboardInterrupt and click's own exceptions pass through.
    """
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except InternalError as error:
        raise _internal_failure(error) from None
    except DeriveError as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:
        raise _internal_failure(InternalError(subject, error, activity=activity)) from None


def _internal_failure(error: InternalError) -> InternalFailure:
    if click.get_current_context().find_root().params.get("debug"):
        remote = error.remote_traceback or getattr(error.original, "remote_traceback", None)
        shown = remote or "".join(traceback.format_exception(error))
        click.echo(shown.rstrip(), err=True)
    return InternalFailure(str(error))


def limit_options(command: Callable[..., None]) -> Callable[..., None]:
    """--time-limit and --memory-limit: each problem, key and graded answer runs in a worker
    process under them (see derive.bounded)."""
    command = click.option(
        "--memory-limit",
        type=click.IntRange(64, 1024 * 1024),
        default=bounded.MEMORY // 1024**2,
        show_default=True,
        help="Megabytes of memory each problem or graded answer may use.",
    )(command)
    return click.option(
        "--time-limit",
        type=click.FloatRange(0.1, 24 * 3600),
        default=bounded.SECONDS,
        show_default=True,
        help="Seconds each problem or graded answer may take before derive gives up on it.",
    )(command)


def _bounds(time_limit: float, memory_limit: int) -> bounded.Bounds:
    return bounded.Bounds(seconds=time_limit, memory=memory_limit * 1024**2)


def input_limits(command: Callable[..., None]) -> Callable[..., None]:
    """--limit NAME=VALUE (repeatable) and --allow-outside: derive.limits's input limits, in
    force while the command runs."""

    @functools.wraps(command)
    def run(*args: object, limit: tuple[str, ...], allow_outside: bool, **kwargs: object) -> None:
        try:
            chosen = limits.current().overridden(limit).raised(allow_outside=allow_outside)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="'--limit'") from None
        with limits.using(chosen):
            command(*args, **kwargs)

    run = click.option(
        "--allow-outside",
        is_flag=True,
        help="Let a file name files outside its own directory (network: ../x.yaml).",
    )(run)
    return click.option(
        "--limit",
        multiple=True,
        metavar="NAME=VALUE",
        help="Raise an input limit, e.g. input-bytes=5MB or equations=5000 (repeatable; "
        "see the README's Limits).",
    )(run)


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
    type=click.Choice(sorted(FORMATS)),
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
    time_limit: float,
    memory_limit: int,
) -> None:
    """Solve FILE (a network in YAML) and write the solution.

    With no FILE, solve the built-in example: the homework's two-layer sigmoid network with
    every quantity a scalar (and its skip variant), then in vector form.
    """
    if file is not None and example is not None:
        raise click.UsageError("give either FILE or --example, not both")
    target = _output_path(output, fmt, inputs=[file] if file is not None else [])
    subject = str(file) if file is not None else example or DEFAULT
    with reported("solving", subject), bounded.bounded(_bounds(time_limit, memory_limit)):
        solution = _solve(file, example, notation, points)
    with reported("writing", str(target)):
        write_output(solution, target, fmt, questions=questions)
    click.echo(f"Wrote {inert(str(target.resolve()))}")
    for failure in solution.failures:  # the rest was written; these problems were not
        click.echo(f"Error: {failure}", err=True)
    if solution.failures:
        sys.exit(1)


def _output_path(output: Path | None, fmt: str | None, *, inputs: list[Path]) -> Path:
    """Where to write: refused when it is an input file or its suffix says another format."""
    if output is not None:
        target = output
    else:
        target = Path(DEFAULT_OUTPUT if fmt is None or fmt == "pdf" else f"solution.{fmt}")
    try:
        check_output(target, fmt, inputs)
    except DeriveError as error:
        hint = " (or pass --format)" if fmt is None else ""
        raise click.UsageError(f"{error}{hint}") from None
    return target


def _solve(file: Path | None, example: str | None, notation: str | None, points: int) -> Solution:
    def progress(title: str) -> None:
        click.echo(f"Solving {inert(title)} ...", err=True)

    if file is not None:
        return solve_file(file, notation=notation, points=points, progress=progress)
    if example is not None:
        return solve_example(example, notation=notation, points=points, progress=progress)
    if notation is not None:
        raise click.UsageError("--notation needs FILE or --example (the default sets its own)")
    return solve_default(points=points, progress=progress)


@main.command("grade")
@click.argument(
    "submissions", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
@limit_options
@input_limits
def grade_command(
    submissions: tuple[Path, ...], as_json: bool, time_limit: float, memory_limit: int
) -> None:
    """Grade students' answers (SUBMISSIONS, YAML files) against the checked key.

    Each file names the assignment (`network: FILE` or `example: NAME`) and gives, per part
    (`main` or a variant), an expression for each gradient in the network's own notation or in
    LaTeX. A file that cannot be read is reported and the others are still graded.
    """
    reports: list[dict[str, object]] = []
    failed = False
    for submission in submissions:
        try:
            with (
                reported("grading", str(submission)),
                bounded.bounded(_bounds(time_limit, memory_limit)),
            ):
                verdicts = grade(load_submission(submission))
        except click.ClickException as error:
            if len(submissions) == 1:
                raise
            click.echo(f"Error: {error.format_message()}", err=True)
            failed = True
            continue
        reports.append(_graded(submission, verdicts, as_json, several=len(submissions) > 1))
    if as_json:
        click.echo(json.dumps(reports[0] if len(submissions) == 1 else reports, indent=2))
    if failed:
        sys.exit(1)


def _graded(
    submission: Path, verdicts: list[Verdict], as_json: bool, *, several: bool
) -> dict[str, object]:
    """The report of one submission; printed as text unless JSON was asked for."""
    score = sum(v.correct for v in verdicts)
    report: dict[str, object] = {
        "score": score,
        "total": len(verdicts),
        "answers": [asdict(v) for v in verdicts],
    }
    if several:
        report = {"submission": str(submission), **report}
    if as_json:
        return report
    if several:
        click.echo(f"== {inert(str(submission))}")
    for verdict in verdicts:  # names and comments quote the student: shown inert
        mark = "correct" if verdict.correct else "WRONG"
        click.echo(f"{inert(verdict.part)} {inert(verdict.name)}: {mark}")
        if not verdict.correct:
            click.echo(f"    {inert(verdict.comment)}")
    click.echo(f"Score: {score}/{len(verdicts)}")
    return report


@main.command("examples")
def examples_command() -> None:
    """List the built-in examples (solve one with `derive solve --example NAME`)."""
    width = max(len(name) for name in EXAMPLES)
    for name, example in EXAMPLES.items():
        click.echo(f"{name.ljust(width)}  {example.description}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
