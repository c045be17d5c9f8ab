"""What every command of the command line shares: errors as one ``Error: ...`` line with its
exit status, the --time-limit/--memory-limit and --limit/--allow-outside options.

Light on purpose, as ``cli`` is: no SymPy or NumPy here.
"""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from derive import bounded
from derive.errors import DeriveError, InternalError


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
        raise internal_failure(error) from None
    except DeriveError as error:
        raise click.ClickException(str(error)) from None
    except Exception as error:
        raise internal_failure(InternalError(subject, error, activity=activity)) from None


def internal_failure(error: InternalError) -> InternalFailure:
    if click.get_current_context().find_root().params.get("debug"):
        remote = error.remote_traceback or getattr(error.original, "remote_traceback", None)
        shown = remote or "".join(traceback.format_exception(error))
        click.echo(shown.rstrip(), err=True)
    return InternalFailure(str(error))


def limit_options(
    command: Callable[..., None], *, seconds: float = bounded.SECONDS
) -> Callable[..., None]:
    """--time-limit and --memory-limit: each problem, key and graded answer runs in a worker
    process under them (see derive.bounded; answers: derive.grading_pool)."""
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
        default=seconds,
        show_default=True,
        help="Seconds each problem or graded answer may take before derive gives up on it.",
    )(command)


def bounds_of(time_limit: float, memory_limit: int) -> bounded.Bounds:
    return bounded.Bounds(seconds=time_limit, memory=memory_limit * 1024**2)


def input_limits(command: Callable[..., None]) -> Callable[..., None]:
    """--limit NAME=VALUE (repeatable) and --allow-outside: derive.limits's input limits, in
    force while the command runs."""

    @functools.wraps(command)
    def run(*args: object, limit: tuple[str, ...], allow_outside: bool, **kwargs: object) -> None:
        from derive import limits

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
