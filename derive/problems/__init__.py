"""Problems of other kinds than network gradients, each solved into a Part with steps.

A problem set (YAML) lists problems; each names a ``kind`` from ``KINDS`` and carries the
kind's own fields. A kind's module exposes ``solve(spec: ProblemSpec) -> Part`` and
``FIELDS`` (field name -> one-line description, for the README and error messages).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType

from derive.errors import InputFileError, Location
from derive.model import Part
from derive.parse import TextSpan


@dataclass(frozen=True)
class ProblemSpec:
    """One problem as the problem-set file states it."""

    id: str  # unique within the set, e.g. "001-1a"; becomes Part.name
    title: str  # the heading, e.g. "Problem 1(a): the derivative of the sigmoid"
    statement: str  # the question as the course states it (plain text)
    fields: Mapping[str, object]  # the kind's own fields, as read from YAML
    location: Location | None = None  # where the problem starts in its file
    previous: Mapping[str, Part] = field(default_factory=dict)  # parts solved before this one
    field_spans: Mapping[str, TextSpan] = field(default_factory=dict)  # where each value starts

    def span_of(self, name: str) -> TextSpan | None:
        """Where the value of field ``name`` starts (for errors inside an expression)."""
        return self.field_spans.get(name)

    def locate(self, message: str) -> Location | None:
        """The location of the first field the message quotes ('batch'), else the problem's."""
        for quoted in re.findall(r"'([A-Za-z_][A-Za-z0-9_]*)'", message):
            if quoted in self.field_spans:
                return self.field_spans[quoted].start
        return self.location

    def require(self, name: str) -> object:
        """A required field, or an InputFileError naming the problem and the field."""
        if name not in self.fields:
            message = f"problem '{self.id}' needs the field '{name}'"
            raise InputFileError(message, location=self.location)
        return self.fields[name]


# kind -> module implementing it (imported on first use)
KINDS: dict[str, str] = {
    "identity": "derive.problems.identity",
    "update": "derive.problems.update",
    "dropout": "derive.problems.dropout",
    "bias_before_batchnorm": "derive.problems.bias_batchnorm",
    "least_squares": "derive.problems.least_squares",
    "batchnorm_numbers": "derive.problems.batchnorm_numbers",
    "batchnorm_backward": "derive.problems.batchnorm_backward",
}


def kind_module(kind: str, *, location: Location | None = None) -> ModuleType:
    """The module that solves ``kind``, or an error listing the known kinds."""
    if kind not in KINDS:
        known = ", ".join(["network", *KINDS])
        raise InputFileError(
            f"unknown problem kind '{kind}'; known kinds: {known}", location=location
        )
    return importlib.import_module(KINDS[kind])


def solver(kind: str, *, location: Location | None = None) -> Callable[[ProblemSpec], Part]:
    """The kind's solve, refusing any field the kind does not have (a misspelled or unsupported
    field, such as ``momentum`` for ``update``, would otherwise be ignored without a word)."""
    module = kind_module(kind, location=location)
    fields: Mapping[str, str] = module.FIELDS
    kind_solve: Callable[[ProblemSpec], Part] = module.solve

    def solve(spec: ProblemSpec) -> Part:
        from derive.problems.field_values import reject_unknown  # it imports this module
        from derive.roundtrip import check_printed

        reject_unknown(spec, fields)
        part = kind_solve(spec)
        check_printed(part)  # the page says what the checked answer says
        return part

    return solve
