"""Draws: the values a ``randomize:`` section declares, and which of them a seed picks.

A problem file (a network file or a problem set, and each problem of a set) may declare::

    randomize:
      lr: {from: 0.1, to: 0.9, step: 0.1}    # 0.1, 0.2, ..., 0.9 (exact decimals)
      n: {int: [2, 6]}                        # 2, 3, 4, 5, 6
      act: [sigmoid, tanh, relu]              # one item of a list, as written
      skip: ["z = W2 h + b2 + s", "z = W2 h + b2 + x"]

Every value is text, as the file would have written it (``0.3``, never ``0.30000000000000004``).
Each name is drawn on its own from the seed (a SHA-256 of seed and name), so the same seed gives
the same values on every machine and Python version, and declaring one more name does not change
the others. ``derive.variants`` puts the values into the file's ``{{ name }}`` placeholders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import yaml

from derive import limits
from derive.errors import InputFileError, Location
from derive.load import YamlReader, shorten

EXPECTED = (
    "a list of values ([sigmoid, tanh]), a range ({from: 0.1, to: 0.9, step: 0.1}) "
    "or whole numbers ({int: [2, 6]})"
)


@dataclass(frozen=True)
class Draw:
    """The values one name may take: ``count`` of them, the ``k``-th given by ``value(k)``."""

    name: str  # qualified: "lr" at the top level, "mt-3.lr" in problem mt-3
    items: tuple[str, ...] = ()  # a list's items, as written
    start: Decimal = Decimal(0)  # a range: start + k * step for k < count
    step: Decimal = Decimal(1)
    steps: int = 0  # values in the range (0 for a list)
    location: Location | None = None

    @property
    def count(self) -> int:
        return len(self.items) if self.items else self.steps

    def value(self, k: int) -> str:
        if self.items:
            return self.items[k]
        return decimal_text(self.start + k * self.step)


def decimal_text(number: Decimal) -> str:
    """A decimal as a file writes it: ``0.3``, ``2``, ``-1.25`` (no exponent, no trailing 0)."""
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def draw_values(draws: Mapping[str, Draw], seed: int) -> dict[str, str]:
    """Each name's value for ``seed``, in the order declared."""
    return {name: draw.value(_index(seed, name, draw.count)) for name, draw in draws.items()}


def _index(seed: int, name: str, count: int) -> int:
    digest = hashlib.sha256(f"derive-randomize/{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:16], "big") % count


def attempt_seed(seed: int, variant: int, attempt: int) -> int:
    """The seed of draw ``attempt`` (0, 1, … on redraws) for variant ``variant`` of a run
    started with ``seed``: a 48-bit number, the same everywhere."""
    digest = hashlib.sha256(f"derive-key/{seed}/{variant}/{attempt}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def read_draws(reader: YamlReader, node: yaml.Node, scope: str) -> dict[str, Draw]:
    """The draws a ``randomize:`` mapping declares; names are qualified with ``scope`` (a
    problem's id, or "" at the top level)."""
    entries = reader.mapping(node, "'randomize'", "a mapping from each name to its values")
    draws: dict[str, Draw] = {}
    for name, (key, value) in entries.items():
        where = reader.location(key)
        if not name.isidentifier() or not name.isascii():
            message = f"'randomize': '{shorten(name)}' is not a name (letters, digits, _)"
            raise InputFileError(message, location=where)
        qualified = f"{scope}.{name}" if scope else name
        draws[qualified] = _draw(reader, qualified, value, reader.location(value))
    return draws


def _draw(reader: YamlReader, name: str, node: yaml.Node, where: Location) -> Draw:
    if isinstance(node, yaml.SequenceNode):
        items = tuple(_item(reader, name, item) for item in node.value)
        if not items:
            raise InputFileError(f"'randomize: {name}' is an empty list", location=where)
        return Draw(name, items=items, location=where)
    if isinstance(node, yaml.MappingNode):
        fields = {k: v for k, (_, v) in reader.mapping(node, f"'randomize: {name}'", "").items()}
        if set(fields) == {"int"}:
            return _whole_numbers(reader, name, fields["int"], where)
        if set(fields) == {"from", "to", "step"}:
            start, end, step = (_number(reader, name, fields[k]) for k in ("from", "to", "step"))
            if step <= 0 or end < start:
                message = f"'randomize: {name}' needs step > 0 and from ≤ to"
                raise InputFileError(message, location=where)
            steps = int((end - start) // step) + 1
            return Draw(name, start=start, step=step, steps=steps, location=where)
    raise reader.wrong(f"'randomize: {name}'", node, EXPECTED)


def _whole_numbers(reader: YamlReader, name: str, node: yaml.Node, where: Location) -> Draw:
    if not isinstance(node, yaml.SequenceNode) or len(node.value) != 2:
        raise reader.wrong(f"'randomize: {name}: int'", node, "[lowest, highest], e.g. [2, 6]")
    low, high = (_number(reader, name, item) for item in node.value)
    if low != low.to_integral_value() or high != high.to_integral_value() or high < low:
        message = f"'randomize: {name}: int' needs whole numbers, lowest first"
        raise InputFileError(message, location=where)
    return Draw(name, start=low, steps=int(high - low) + 1, location=where)


def _item(reader: YamlReader, name: str, node: yaml.Node) -> str:
    """A list item as written: a scalar, not empty, no longer than an expression may be."""
    text, _ = reader.string(node, f"each item of 'randomize: {name}'", "a value")
    limits.check_length(text, what="a value to draw", location=reader.location(node))
    if "{{" in text or "}}" in text:
        message = f"'randomize: {name}': a value cannot hold '{{{{' or '}}}}'"
        raise InputFileError(message, location=reader.location(node))
    return text


def _number(reader: YamlReader, name: str, node: yaml.Node) -> Decimal:
    text, _ = reader.string(node, f"a bound of 'randomize: {name}'", "a number")
    where = reader.location(node)
    if sum(c.isdigit() for c in text) > limits.current().digits:
        raise limits.exceeded("digits", f"a number with {len(text)} characters", location=where)
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or abs(number.adjusted()) > limits.current().digits:
        raise reader.wrong(f"a bound of 'randomize: {name}'", node, "a number such as 0.1 or 6")
    return number
