"""Index notation: equations written entry by entry, expanded into scalar equations before the
network is built.

A network file's ``indices:`` section declares each index and its range; an equation whose
target carries indices stands for one scalar equation per value of them, and an entry of a
given vector or matrix of explicit size is a scalar given of its own::

    indices: {i: 1..4, k: 1..3}
    given: {x: vector 6, w: vector 3, b: scalar}
    forward:
      - z_i = sum_k(w_k x_{i+k-1}) + b     # z_1 = (w_1 x_1 + w_2 x_2 + w_3 x_3) + b, …, z_4

Expansion is textual, as sequences' unrolling is: x becomes the givens x_1 … x_6 (printed
x₁ …; a matrix entry X_{1,2} is X_1_2), ``sum_k(…)``, ``max_{a,b}(…)`` and ``min_k(…)`` are
written out over their indices, and ``wrt: [x]`` names every entry of x. An upstream gradient
``out: dout`` of an indexed ``out_{i,j}`` pairs the entries (∂L/∂out_{1,1} = dout_{1,1}, …).
The builder, the engine and the printers then see scalars, so every answer is one entry's:
∂L/∂w_k for each k. Expanded equations keep the YAML position of the equation they come from.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import yaml

from derive import limits
from derive.errors import InputFileError, RedefinitionError
from derive.index_expansion import Expander, Indexed, IndexRange, subscript_parts

if TYPE_CHECKING:
    from derive.load import YamlReader

Entries = dict[str, tuple[yaml.ScalarNode, yaml.Node]]
_Node = TypeVar("_Node", bound=yaml.Node)

_RANGE = re.compile(r"\s*(?P<first>[0-9]{1,9})\s*\.\.\s*(?P<last>[0-9]{1,9})\s*")
_SHAPE = re.compile(r"\s*(?P<kind>vector|row|matrix)((?:\s+[0-9]{1,9}){1,2})\s*")
_TARGET = re.compile(
    r"\s*(?P<base>[A-Za-z][A-Za-z0-9_]*?)_(?:(?P<plain>[A-Za-z])|\{(?P<braced>[^{}]*)\})\s*="
)
_NAME = re.compile(r"\s*(?P<name>[A-Za-z][A-Za-z0-9_]*)\s*=")
_SECTION = "a mapping from each index to its range, e.g. '{i: 1..4, k: 1..3}'"


def expanded(reader: YamlReader, entries: Entries) -> Entries:
    """A network file's entries with index notation written out: split givens in ``given``,
    one equation per entry in ``forward``, reductions expanded in loss and variants, every
    entry in ``wrt`` and ``upstream``."""
    indices = read_section(reader, entries["indices"][1])
    result = {key: value for key, value in entries.items() if key != "indices"}
    given = _node(result, "given", yaml.MappingNode)
    forward = _node(result, "forward", yaml.SequenceNode)
    upstream = _node(result, "upstream", yaml.MappingNode)
    equations = _text_nodes(forward.value if forward is not None else [])
    targets = {item: found for item in equations if (found := _target(reader, item, indices))}
    indexed = {free.quantity.base: free.quantity for free in targets.values()}
    shapes = _given_shapes(given)
    texts = equations + _text_nodes(_others(result))
    indexed |= _split_givens(reader, texts, upstream, shapes, indexed, indices)
    _check_names(reader, indices, indexed, given, equations)
    _check_whole(reader, texts, indexed)
    _check_sizes(reader, equations, targets, len(shapes), indexed, shapes, result)
    names = {m.group("name") for item in equations if (m := _NAME.match(item.value))}
    names |= set(shapes) | {name for quantity in indexed.values() for name in quantity.names()}
    expander = Expander(indices, indexed, frozenset(names))

    def rewrite(key: str, node: yaml.Node) -> None:
        result[key] = (result[key][0], node)

    if given is not None:
        rewrite("given", _mapping(given, _split(given.value, indexed)))
    if forward is not None:
        items: list[yaml.Node] = []
        for item in forward.value:
            free = targets[item].indices if item in targets else []
            if not isinstance(item, yaml.ScalarNode) or _text(item) is None:
                items.append(item)
                continue
            for assignment in itertools.product(*(index.values for index in free)):
                values = {index.name: v for index, v in zip(free, assignment, strict=True)}
                items.append(_scalar(item, expander.text(item.value, values, reader.span(item))))
        rewrite("forward", _sequence(forward, items))
    loss = result.get("loss", (None, None))[1]
    if isinstance(loss, yaml.ScalarNode) and _text(loss) is not None:
        _unindexed(reader, loss, indices, "the loss")
        rewrite("loss", _scalar(loss, expander.text(loss.value, {}, reader.span(loss))))
    variants = _node(result, "variants", yaml.MappingNode)
    if variants is not None:
        pairs = []
        for label, value in variants.value:
            if isinstance(value, yaml.ScalarNode) and _text(value) is not None:
                _unindexed(reader, value, indices, "a variant")
                value = _scalar(value, expander.text(value.value, {}, reader.span(value)))
            pairs.append((label, value))
        rewrite("variants", _mapping(variants, pairs))
    wrt = _node(result, "wrt", yaml.SequenceNode)
    if wrt is not None:
        rewrite("wrt", _sequence(wrt, [key for key, _ in _split(_pairs(wrt), indexed)]))
    if upstream is not None:
        rewrite("upstream", _upstream(reader, upstream, indexed))
    return result


@dataclass(frozen=True)
class _Free:
    """An indexed equation's quantity (z for z_i = …) and its free indices (i)."""

    quantity: Indexed
    indices: list[IndexRange]


def _split(
    pairs: list[tuple[yaml.Node, yaml.Node]], indexed: Mapping[str, Indexed]
) -> list[tuple[yaml.Node, yaml.Node]]:
    """Each pair whose key is written entry by entry as one scalar pair per entry (x: vector 6
    becomes x_1: scalar, …, x_6: scalar; the wrt item x becomes x_1, …, x_6)."""
    found: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in pairs:
        if isinstance(key, yaml.ScalarNode) and key.value in indexed:
            scalar = _scalar(value, "scalar") if isinstance(value, yaml.ScalarNode) else value
            found += [(_scalar(key, name), scalar) for name in indexed[key.value].names()]
        else:
            found.append((key, value))
    return found


def read_section(reader: YamlReader, node: yaml.Node) -> dict[str, IndexRange]:
    """The ``indices:`` mapping read and checked: one-letter names, ranges a..b."""
    found: dict[str, IndexRange] = {}
    for name, (key, value) in reader.mapping(node, "'indices'", _SECTION).items():
        if not re.fullmatch(r"[A-Za-z]", name):
            message = f"indices: an index is one letter (i, j, k), not '{name}'"
            raise InputFileError(message, location=reader.location(key))
        written = value.value if isinstance(value, yaml.ScalarNode) else ""
        bounds = _RANGE.fullmatch(written)
        if bounds is None:
            expected = "a range first..last of whole numbers, e.g. 1..4"
            raise reader.wrong(f"'indices: {name}'", value, expected)
        first, last = int(bounds.group("first")), int(bounds.group("last"))
        if first > last:
            message = (
                f"indices: the range of {name} is empty ({first} > {last}); write {last}..{first}"
            )
            raise InputFileError(message, location=reader.location(value))
        if last - first + 1 > limits.current().dimension:
            what = f"indices: {name} takes {last - first + 1} values"
            raise limits.exceeded("dimension", what, location=reader.location(value))
        found[name] = IndexRange(name, first, last)
    return found


def _target(
    reader: YamlReader, item: yaml.ScalarNode, indices: Mapping[str, IndexRange]
) -> _Free | None:
    """The quantity and the free indices of an indexed equation (``z_i = …``);
    None for an equation that defines one name."""
    found = _TARGET.match(item.value)
    if found is None or (found.group("plain") and found.group("plain") not in indices):
        return None
    span = reader.span(item)
    where = span.location(found.start("base"))
    written = found.group("plain") or found.group("braced")
    parts = subscript_parts(written, indices)
    target = item.value[found.start("base") : found.end() - 1].strip()
    for part in parts:
        if not re.fullmatch(r"[A-Za-z]", part):
            message = (
                f"in '{target} = …': an equation defines its entries for plain indices "
                f"('{found.group('base')}_{{i,j}}'), not '{part}'"
            )
            raise InputFileError(message, location=where)
        if part not in indices:
            declared = ", ".join(str(index) for index in indices.values())
            message = f"'{target}': '{part}' is not a declared index (indices: {declared})"
            raise InputFileError(message, location=where)
    if len(set(parts)) < len(parts):
        message = f"'{target}': each index of the target appears once"
        raise InputFileError(message, location=where)
    free = [indices[part] for part in parts]
    ranges = ", ".join(str(index) for index in free)
    quantity = Indexed(found.group("base"), tuple(i.values for i in free), f"defined for {ranges}")
    return _Free(quantity, free)


def _given_shapes(given: yaml.MappingNode | None) -> dict[str, tuple[Indexed | None, str]]:
    """Each given's name → its entries if it has an explicit size (x: vector 6), and its spec."""
    found: dict[str, tuple[Indexed | None, str]] = {}
    for key, spec in given.value if given is not None else []:
        if not isinstance(key, yaml.ScalarNode):
            continue  # the reader reports it
        text = spec.value if isinstance(spec, yaml.ScalarNode) else ""
        shape = _SHAPE.fullmatch(text)
        quantity = None
        if shape is not None:
            sizes = tuple(int(size) for size in shape.group(2).split())
            kind = shape.group("kind")
            if len(sizes) == (2 if kind == "matrix" else 1) and 0 not in sizes:
                described = (
                    f"a {sizes[0]}×{sizes[1]} matrix"
                    if kind == "matrix"
                    else f"a {'row' if kind == 'row' else 'vector'} of {sizes[0]} entries"
                )
                quantity = Indexed(key.value, tuple(range(1, n + 1) for n in sizes), described)
        found[key.value] = (quantity, " ".join(text.split()))
    return found


def _split_givens(
    reader: YamlReader,
    texts: list[yaml.ScalarNode],
    upstream: yaml.MappingNode | None,
    shapes: Mapping[str, tuple[Indexed | None, str]],
    indexed: Mapping[str, Indexed],
    indices: Mapping[str, IndexRange],
) -> dict[str, Indexed]:
    """The givens written entry by entry (x_{i+k}, w_k, X_{2i,2j}, w_1 unless w_1 is a given
    of its own, or the gradient of an indexed quantity in upstream), each of explicit size."""
    letters = "".join(indices)
    found: dict[str, Indexed] = {}
    for item in texts:
        for name, (quantity, spec) in shapes.items():
            pattern = (
                rf"(?<![A-Za-z0-9_]){re.escape(name)}_"
                rf"(?:\{{|[{letters}](?![A-Za-z0-9_])|(?P<fixed>[0-9]+(?:_[0-9]+)*)(?![A-Za-z0-9_]))"
            )
            for reference in re.finditer(pattern, item.value):
                if reference.group("fixed") and (quantity is None or reference.group() in shapes):
                    continue  # a name of its own, such as W_1 beside W
                if quantity is None:
                    need = "a vector or matrix of explicit size, e.g. 'vector 6' or 'matrix 4 4'"
                    message = (
                        f"'{name}' is written entry by entry, so it must be {need}, not '{spec}'"
                    )
                    location = reader.span(item).location(reference.start())
                    raise InputFileError(message, location=location)
                found[name] = quantity
                break
    for key, value in upstream.value if upstream is not None else []:
        gradient = shapes.get(value.value, (None, ""))[0] if _text(value) is not None else None
        if isinstance(key, yaml.ScalarNode) and key.value in indexed and gradient is not None:
            found[gradient.base] = gradient
    return found


def _check_names(
    reader: YamlReader,
    indices: Mapping[str, IndexRange],
    indexed: Mapping[str, Indexed],
    given: yaml.MappingNode | None,
    equations: list[yaml.ScalarNode],
) -> None:
    """No entry's name is also a given or a target, and no index is named like one."""
    declared: dict[str, yaml.Node] = {}
    for key, _ in given.value if given is not None else []:
        if isinstance(key, yaml.ScalarNode):
            declared[key.value] = key
    for item in equations:
        target = _NAME.match(item.value)
        if target is not None:
            declared.setdefault(target.group("name"), item)
    for quantity in indexed.values():
        for entry in quantity.names():
            if entry in declared:
                line = declared[entry].start_mark.line + 1
                message = (
                    f"'{entry}' is an entry of {quantity.base} written in index notation, "
                    f"and also a name of its own (line {line})"
                )
                raise RedefinitionError(message, location=reader.location(declared[entry]))
    for name in indices:
        if name in declared:
            message = f"indices: '{name}' is an index and also a given or a quantity"
            raise RedefinitionError(message, location=reader.location(declared[name]))


def _check_whole(
    reader: YamlReader, texts: list[yaml.ScalarNode], indexed: Mapping[str, Indexed]
) -> None:
    """A quantity written entry by entry is never used whole (its entries are its names)."""
    for item in texts:
        for base, quantity in indexed.items():
            whole = re.search(rf"(?<![A-Za-z0-9_]){re.escape(base)}(?![A-Za-z0-9_])", item.value)
            if whole is not None:
                message = (
                    f"'{base}' is written entry by entry ({quantity.first_and_last()}), so an "
                    f"equation names its entries ({base}_{{…}}), not the whole {base}"
                )
                raise InputFileError(message, location=reader.span(item).location(whole.start()))


def _check_sizes(
    reader: YamlReader,
    equations: list[yaml.ScalarNode],
    targets: Mapping[yaml.ScalarNode, _Free],
    givens: int,
    indexed: Mapping[str, Indexed],
    shapes: Mapping[str, object],
    entries: Entries,
) -> None:
    """The expanded equations and givens stay within their limits."""
    variants = _node(entries, "variants", yaml.MappingNode)
    total = 1 + (len(variants.value) if variants is not None else 0)
    for item in equations:
        free = targets[item].indices if item in targets else []
        total += math.prod(len(index.values) for index in free)
        if total > limits.current().equations:
            target = item.value.split("=", 1)[0].strip()
            what = f"indices: written out to '{target}', the network has {total} equations"
            raise limits.exceeded("equations", what, location=reader.location(item))
    split = [quantity for base, quantity in indexed.items() if base in shapes]
    count = givens + sum(len(quantity.names()) - 1 for quantity in split)
    if count > limits.current().yaml_items:
        given = entries["given"][1]
        what = f"indices: the givens written entry by entry are {count} givens"
        raise limits.exceeded("yaml_items", what, location=reader.location(given))


def _unindexed(
    reader: YamlReader, item: yaml.ScalarNode, indices: Mapping[str, IndexRange], what: str
) -> None:
    """The loss and a variant define one name, never one per entry."""
    found = _TARGET.match(item.value)
    if found is not None and (found.group("braced") or found.group("plain") in indices):
        message = f"{what} defines one scalar; write its entries' equations under forward"
        raise InputFileError(message, location=reader.location(item))


def _upstream(
    reader: YamlReader, upstream: yaml.MappingNode, indexed: Mapping[str, Indexed]
) -> yaml.MappingNode:
    """``out: dout`` for an indexed out: each entry's given gradient, entry by entry."""
    pairs: list[tuple[yaml.Node, yaml.Node]] = []
    for key, value in upstream.value:
        quantity = indexed.get(key.value) if isinstance(key, yaml.ScalarNode) else None
        if quantity is None or not isinstance(value, yaml.ScalarNode):
            pairs.append((key, value))
            continue
        gradient = indexed.get(value.value)
        sizes = [len(axis) for axis in quantity.axes]
        if gradient is None or [len(axis) for axis in gradient.axes] != sizes:
            shape = "×".join(map(str, sizes))
            message = (
                f"upstream: '{key.value}' is {quantity.described}, so its gradient is a given "
                f"of {shape} entries of explicit size, not '{value.value}'"
            )
            raise InputFileError(message, location=reader.location(value))
        for entry, gradient_entry in zip(quantity.names(), gradient.names(), strict=True):
            pairs.append((_scalar(key, entry), _scalar(value, gradient_entry)))
    return _mapping(upstream, pairs)


def _others(entries: Entries) -> list[yaml.Node]:
    """The equations of the file besides forward: the loss and the variants."""
    variants = _node(entries, "variants", yaml.MappingNode)
    loss = entries.get("loss", (None, None))[1]
    return [
        *([loss] if loss is not None else []),
        *(value for _, value in (variants.value if variants is not None else [])),
    ]


def _text_nodes(items: list[yaml.Node]) -> list[yaml.ScalarNode]:
    """The items that are text (the reader reports any other)."""
    return [item for item in items if isinstance(item, yaml.ScalarNode) and _text(item)]


def _pairs(items: yaml.SequenceNode) -> list[tuple[yaml.Node, yaml.Node]]:
    return [(item, item) for item in items.value]


def _node(entries: Entries, key: str, kind: type[_Node]) -> _Node | None:
    value = entries.get(key, (None, None))[1]
    return value if isinstance(value, kind) else None


def _text(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        return node.value
    return None


def _scalar(like: yaml.ScalarNode, value: str) -> yaml.ScalarNode:
    """A scalar holding ``value`` at the position of ``like``."""
    if value == like.value:
        return like
    return yaml.ScalarNode(like.tag, value, like.start_mark, like.end_mark, style=like.style)


def _sequence(like: yaml.SequenceNode, items: list[yaml.Node]) -> yaml.SequenceNode:
    return yaml.SequenceNode(like.tag, items, like.start_mark, like.end_mark)


def _mapping(like: yaml.MappingNode, pairs: list[tuple[yaml.Node, yaml.Node]]) -> yaml.MappingNode:
    return yaml.MappingNode(like.tag, pairs, like.start_mark, like.end_mark)
