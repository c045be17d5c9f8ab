"""The command line: ``derive solve`` writes a checked solution; ``derive examples`` lists more."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from derive.documents import solve_default, solve_example, solve_file
from derive.errors import DeriveError
from derive.examples import EXAMPLES
from derive.grade import grade, load_submission
from derive.model import Solution
from derive.render import FORMATS, format_for_path, write_output
from derive.steps import NOTATIONS

DEFAULT_OUTPUT = "solution.pdf"


@click.group()
@click.version_option(package_name="derive", message="derive %(version)s")
def main() -> None:
    """Step-by-step, numerically checked derivations for deep-learning courses."""


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
def solve_command(
    file: Path | None,
    output: Path | None,
    fmt: str | None,
    notation: str | None,
    example: str | None,
    questions: bool,
    points: int,
) -> None:
    """Solve FILE (a network in YAML) and write the solution.

    With no FILE, solve the built-in example: the homework's two-layer sigmoid network with
    every quantity a scalar (and its skip variant), then in vector form.
    """
    if file is not None and example is not None:
        raise click.UsageError("give either FILE or --example, not both")
    target = _output_path(output, fmt)
    try:
        solution = _solve(file, example, notation, points)
        write_output(solution, target, fmt, questions=questions)
    except DeriveError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"Wrote {target.resolve()}")


def _output_path(output: Path | None, fmt: str | None) -> Path:
    if output is not None:
        if fmt is None:
            try:
                format_for_path(output)
            except DeriveError as error:
                raise click.UsageError(f"{error} (or pass --format)") from None
        return output
    if fmt is None or fmt == "pdf":
        return Path(DEFAULT_OUTPUT)
    return Path(f"solution.{fmt}")


def _solve(file: Path | None, example: str | None, notation: str | None, points: int) -> Solution:
    def progress(title: str) -> None:
        click.echo(f"Solving {title} ...", err=True)

    if file is not None:
        return solve_file(file, notation=notation, points=points, progress=progress)
    if example is not None:
        return solve_example(example, notation=notation, points=points, progress=progress)
    if notation is not None:
        raise click.UsageError("--notation needs FILE or --example (the default sets its own)")
    return solve_default(points=points, progress=progress)


@main.command("grade")
@click.argument("submission", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
def grade_command(submission: Path, as_json: bool) -> None:
    """Grade a student's answers (SUBMISSION, YAML) against the checked key.

    The file names the assignment (`network: FILE` or `example: NAME`) and gives, per part
    (`main` or a variant), an expression for each gradient in the network's own notation.
    """
    try:
        verdicts = grade(load_submission(submission))
    except DeriveError as error:
        raise click.ClickException(str(error)) from None
    score = sum(v.correct for v in verdicts)
    if as_json:
        report = {"score": score, "total": len(verdicts), "answers": [asdict(v) for v in verdicts]}
        click.echo(json.dumps(report, indent=2))
        return
    for verdict in verdicts:
        mark = "correct" if verdict.correct else "WRONG"
        click.echo(f"{verdict.part} {verdict.name}: {mark}")
        if not verdict.correct:
            click.echo(f"    {verdict.comment}")
    click.echo(f"Score: {score}/{len(verdicts)}")


@main.command("examples")
def examples_command() -> None:
    """List the built-in examples (solve one with `derive solve --example NAME`)."""
    width = max(len(name) for name in EXAMPLES)
    for name, example in EXAMPLES.items():
        click.echo(f"{name.ljust(width)}  {example.description}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
