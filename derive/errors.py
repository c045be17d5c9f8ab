"""Every error derive raises: bad input, and (InternalError) a bug in derive itself.

The command line turns each of these into click's ``Error: ...`` line (exit status 1; 3 for an
InternalError); no traceback reaches the user unless ``derive --debug`` asks for it.
``location`` (file, line, column) is filled in where the input has one. What an error shows
is untrusted (file names, quoted input): ``str(error)`` makes it inert (``derive.escaping``),
so a newline or an escape sequence in it can neither forge a line nor move the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from derive.escaping import inert


@dataclass(frozen=True)
class Location:
    """Where in the user's input something is: a file (or ``<string>``), 1-based line and column."""

    source: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [inert(self.source)]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


class DeriveError(Exception):
    """Base class: something about the user's input or environment that derive cannot handle.

    ``message`` is one line; ``details`` are lines shown under it, indented (LaTeX's log lines,
    a formula as printed and as read back). Every control character in either, a newline
    included, is shown as its escape (``\\n``): only ``details`` start new lines.
    """

    def __init__(
        self, message: str, *, location: Location | None = None, details: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.details = tuple(details)

    def __str__(self) -> str:
        head = inert(self.message if self.location is None else f"{self.location}: {self.message}")
        return "".join([head, *(f"\n  {inert(line)}" for line in self.details)])

    def __reduce__(self) -> tuple[object, ...]:
        # pickled whole (a worker process sends its error back): every subclass's fields
        return (_rebuilt, (type(self), self.args, dict(self.__dict__)))

    def at(self, location: Location) -> DeriveError:
        """Return the same error placed at ``location`` unless it already has one."""
        if self.location is None:
            self.location = location
        return self


class InputFileError(DeriveError):
    """The file cannot be read, is not valid YAML, or lacks a required key or has a wrong type."""


class ExpressionSyntaxError(DeriveError):
    """An equation or expression string does not follow the grammar (shows the offending column)."""


class UnknownSymbolError(DeriveError):
    """An expression uses a name that is neither given nor defined by an earlier equation."""


class UnknownFunctionError(DeriveError):
    """An expression calls a function derive does not know (the message lists the known ones)."""


class RedefinitionError(DeriveError):
    """An equation defines a name that is already given or already defined."""


class CycleError(DeriveError):
    """An equation uses its own result, directly or through a later equation."""


class ShapeError(DeriveError):
    """Operands' shapes do not fit (the message names the equation and both shapes)."""


class UnsupportedError(DeriveError):
    """The input is well formed but uses something the engine cannot differentiate or render."""


class VerificationError(DeriveError):
    """A derived answer disagrees with the numeric check: derive refuses to write a wrong key."""


class RenderError(DeriveError):
    """A document could not be produced (LaTeX failed: the message holds the log's error lines)."""


class ToolMissingError(DeriveError):
    """An external program (latexmk, pdflatex) is needed but not installed."""


class LimitError(DeriveError):
    """The input is over one of derive's limits (``derive.limits``): a file over 1 MB, an
    expression nested or written too long, too many equations, a number with too many digits,
    a dimension or batch too large. The message names the limit, its value and the option that
    raises it: ``too many equations: 5 000 (limit 1 000; raise it with --limit equations=N)``.
    ``limit`` is that NAME."""

    def __init__(self, message: str, *, limit: str, location: Location | None = None) -> None:
        super().__init__(message, location=location)
        self.limit = limit


class VariantError(DeriveError):
    """No draw of a variant's values (``derive key``) gave a problem derive can solve in the
    number of tries allowed; the message shows the last draw's values and its error."""


class InternalError(DeriveError):
    """A bug in derive, not in the input: an unexpected exception while solving, grading or writing.

    Raised (``from`` the original exception) by the narrowest code that knows what was being
    worked on: ``part`` is the network's part (``main`` or a variant), a problem set's problem id,
    or the file when nothing finer is known. The user sees one line, ``Error: internal error
    while solving <part>: <ExceptionType: message> — please report it``, and exit status 3; the
    traceback is shown only under ``derive --debug``. KeyboardInterrupt is never wrapped.
    """

    def __init__(self, part: str, original: Exception, *, activity: str = "solving") -> None:
        self.part = part
        self.original = original
        self.activity = activity
        super().__init__(
            f"internal error while {activity} {part}: {_one_line(original)} — please report it"
        )
        self.__cause__ = original  # the traceback under --debug shows where it really failed
        self.remote_traceback: str | None = None  # the same, from a worker process

    def at(self, location: Location) -> DeriveError:
        """Unchanged: the part already says where, and the line stays the same everywhere."""
        return self


def _one_line(error: BaseException, limit: int = 200) -> str:
    """``ZeroDivisionError: boom``: the type and the first line of the message, shortened."""
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    text = lines[0] if len(lines[0]) <= limit else lines[0][: limit - 1] + "…"
    return f"{type(error).__name__}: {text}"


def _rebuilt(
    cls: type[DeriveError], args: tuple[object, ...], state: dict[str, object]
) -> DeriveError:
    """A DeriveError as it was pickled, without calling its (subclass-specific) __init__."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error
