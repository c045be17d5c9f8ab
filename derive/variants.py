"""Variants of a problem file: its ``{{ name }}`` placeholders filled with drawn values.

A placeholder stands for a whole YAML value or for part of one, anywhere a value may be written
(never in a key or a problem's ``id``)::

    randomize:
      lr: {from: 0.1, to: 0.9, step: 0.1}
      act: [sigmoid, tanh, relu]
    ...
      forward:
        - h = {{act}}(s)              # part of an equation
      learning_rate: {{ lr }}         # a whole value
      batch: [{{a}}, {{b}}, 7, 9]     # items of a list

The file is composed into YAML nodes first; each value that holds a placeholder is then
rewritten as a whole: a number as a plain number, anything else as a double-quoted YAML string
written by PyYAML's emitter. A drawn value therefore cannot add a key, end a list, start a
comment, an alias or a tag: it can only become the text of the value it was drawn for (and
values are checked again by the reader, as if the file had been written that way).

The variant's text keeps every line of the file where it was (a rewritten value that spanned
several lines is followed by blank lines), so an error in a variant names a line of the file.
The ``randomize`` sections are blanked out, and a network file a problem set names
(``network: two_layer.yaml``) is written into the variant inline: a variant's text is complete
on its own, and a grader can solve it again without any other file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from derive.errors import InputFileError, Location
from derive.load import YamlReader, read_input, referenced_path, shorten
from derive.randomize import Draw, draw_values, read_draws

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_RESOLVER = yaml.resolver.Resolver()


@dataclass(frozen=True)
class Edit:
    """One span of the file's text that a variant rewrites."""

    start: int
    end: int
    value: str = ""  # a value with placeholders (written as a YAML scalar) ...
    names: Mapping[str, str] = field(default_factory=dict)  # ... placeholder -> qualified name
    scope: str = ""  # the problem whose value it is ("" at the top level)

    def filled(self, values: Mapping[str, str]) -> str:
        """The value with each placeholder replaced by its drawn value."""
        return PLACEHOLDER.sub(lambda found: values[self.names[found.group(1)]], self.value)

    replacement: str | None = None  # ... or text written as is (an inlined network, a blank)


@dataclass(frozen=True)
class Template:
    """A problem file read for variants: its draws and the spans its variants rewrite."""

    source: str  # the path as given, for error locations
    text: str
    is_problem_set: bool
    draws: Mapping[str, Draw]
    edits: tuple[Edit, ...]

    @property
    def randomized(self) -> bool:
        return bool(self.draws)

    def values(self, seed: int) -> dict[str, str]:
        """The value of every drawn name for ``seed``."""
        return draw_values(self.draws, seed)

    def text_for(self, values: Mapping[str, str]) -> str:
        """The variant's text: placeholders filled with ``values``, lines kept in place."""
        if not self.edits:
            return self.text
        pieces: list[str] = []
        last = 0
        for edit in self.edits:
            pieces.append(self.text[last : edit.start])
            if edit.replacement is not None:
                written = edit.replacement
            else:
                written = scalar_text(edit.filled(values))
            lines = self.text.count("\n", edit.start, edit.end) - written.count("\n")
            pieces.append(written + "\n" * max(lines, 0))
            last = edit.end
        pieces.append(self.text[last:])
        return "".join(pieces)


def scalar_text(value: str) -> str:
    """``value`` written as one YAML scalar that reads back as exactly ``value``: a plain
    number when it is one (so a field gets a number), else a double-quoted string."""
    if _PLAIN_NUMBER.fullmatch(value) and _resolved(value) in _NUMBER_TAGS:
        return value
    emitted = yaml.dump(value, default_style='"', allow_unicode=True, width=1 << 30)
    return emitted.removesuffix("\n").removesuffix("\n...").rstrip("\n")


def _resolved(value: str) -> str:
    return str(_RESOLVER.resolve(yaml.ScalarNode, value, (True, False)))


def read_template(path: str | os.PathLike[str]) -> Template:
    """The file at ``path`` (a network file or a problem set) as a Template."""
    file = Path(path)
    text = read_input(file, "a problem file")
    return template_of(text, str(file), file.parent)


def template_of(text: str, source: str, directory: Path) -> Template:
    """The Template of a problem file's ``text``; ``directory`` holds the files it names."""
    return _Scanner(text, source, directory).template()


class _Scanner(YamlReader):
    """Finds the draws, the placeholders and the named network files of one file."""

    def __init__(self, text: str, source: str, directory: Path) -> None:
        super().__init__(text, source)
        self.directory = directory
        self.draws: dict[str, Draw] = {}
        self.edits: list[Edit] = []
        self.uses: list[tuple[str, str, Location]] = []  # (scope, name, where)

    def template(self) -> Template:
        root = self.compose()
        entries = self.mapping(root, "a problem file", "a mapping (a network or a problem set)")
        is_set = "problems" in entries
        for key, (key_node, value) in entries.items():
            if key == "randomize":
                self.draws.update(read_draws(self, value, ""))
                self._blank(key_node, value)
            elif key == "problems" and isinstance(value, yaml.SequenceNode):
                for problem in value.value:
                    self._problem(problem)
            else:
                self._value(value, "")
        self._resolve()
        edits = tuple(sorted(self.edits, key=lambda edit: edit.start))
        return Template(self.source, self.text, is_set, dict(self.draws), edits)

    def _problem(self, node: yaml.Node) -> None:
        if not isinstance(node, yaml.MappingNode):
            self._value(node, "")  # the problem-set reader says what is wrong with it
            return
        entries = self.mapping(node, "a problem", "a mapping with id, kind and the kind's fields")
        scope = ""
        if "id" in entries:
            scope, _ = self.string(entries["id"][1], "'id'", "text")
            if "{{" in scope:
                message = "a problem's id cannot be drawn (ids name the parts of the key)"
                raise InputFileError(message, location=self.location(entries["id"][1]))
        for key, (key_node, value) in entries.items():
            if key == "randomize":
                if not scope:
                    message = "a problem with 'randomize' needs an 'id' (it names its values)"
                    raise InputFileError(message, location=self.location(key_node))
                for name, draw in read_draws(self, value, scope).items():
                    self.draws[name] = draw
                self._blank(key_node, value)
            elif key == "network" and isinstance(value, yaml.ScalarNode) and value.value:
                self._inline(value)
            elif key != "id":
                self._value(value, scope)

    def _value(self, node: yaml.Node, scope: str) -> None:
        """Record every placeholder in ``node`` (a value of ``scope``: a problem id or "")."""
        whole = _placeholder_mapping(node)
        if whole is not None:  # {{name}} unquoted: YAML reads it as a mapping in a mapping
            self._slot(node, "{{" + whole + "}}", scope)
        elif isinstance(node, yaml.ScalarNode):
            if PLACEHOLDER.search(node.value):
                self._slot(node, node.value, scope)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                self._value(item, scope)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or PLACEHOLDER.search(key.value):
                    message = "a placeholder can stand for a value, not for a key"
                    raise InputFileError(message, location=self.location(key))
                self._value(value, scope)

    def _slot(self, node: yaml.Node, value: str, scope: str) -> None:
        where = self.location(node)
        names = {}
        for name in PLACEHOLDER.findall(value):
            self.uses.append((scope, name, where))
            names[name] = name  # qualified in _resolve
        end = self._end(node)
        self.edits.append(Edit(node.start_mark.index, end, value=value, names=names, scope=scope))

    def _end(self, node: yaml.Node) -> int:
        """Where ``node``'s text ends: a block collection's end mark lies past the indentation
        of the line after it, which belongs to the next key."""
        end = node.end_mark.index
        line_start = self.text.rfind("\n", node.start_mark.index, end) + 1
        if line_start and not self.text[line_start:end].strip(" "):
            return line_start
        return end

    def _blank(self, key: yaml.Node, value: yaml.Node) -> None:
        """Leave a ``randomize`` entry out of every variant (its lines blank)."""
        self.edits.append(Edit(key.start_mark.index, self._end(value), replacement=""))

    def _inline(self, node: yaml.ScalarNode) -> None:
        """Write the network file a problem names into the variant, as a one-line mapping."""
        where = self.location(node)
        if PLACEHOLDER.search(node.value):
            message = "a network file's name cannot be drawn; write the network inline instead"
            raise InputFileError(message, location=where)
        path = referenced_path(self.directory, node.value, location=where, what="the network file")
        if not path.exists():
            message = f"no such file: '{shorten(node.value)}' (looked in {self.directory})"
            raise InputFileError(message, location=where)
        network = YamlReader(read_input(path, "a network file"), str(path))
        root = network.compose()
        entries = network.mapping(root, "a network file", "a mapping with the keys given, …")
        if "randomize" in entries:
            message = "a named network file cannot draw values; declare them in the problem set"
            raise InputFileError(message, location=network.location(entries["randomize"][0]))
        data = _as_text(root)
        if isinstance(data, dict) and "title" not in data:
            data = {"title": path.stem, **data}  # the title load_network would give it
        text = json.dumps(data, ensure_ascii=True)
        self.edits.append(Edit(node.start_mark.index, node.end_mark.index, replacement=text))

    def _resolve(self) -> None:
        """Qualify every placeholder's name; refuse an unknown name or an unused draw."""
        for name in self.draws:
            scope, dot, local = name.rpartition(".")
            if dot and local in self.draws:
                message = f"'{local}' is drawn both at the top level and in problem '{scope}'"
                raise InputFileError(message, location=self.draws[name].location)
        used: set[str] = set()
        qualified: dict[tuple[str, str], str] = {}
        for scope, name, where in self.uses:
            local = f"{scope}.{name}" if scope else name
            found = local if local in self.draws else name if name in self.draws else None
            if found is None:
                declared = ", ".join(sorted(self.draws)) or "none"
                message = f"'{{{{{name}}}}}' is not drawn under 'randomize' (drawn: {declared})"
                raise InputFileError(message, location=where)
            qualified[(scope, name)] = found
            used.add(found)
        for name, draw in self.draws.items():
            if name not in used:
                message = f"'randomize: {name}' is declared but no '{{{{ … }}}}' uses it"
                raise InputFileError(message, location=draw.location)
        self.edits = [_qualified(edit, qualified) for edit in self.edits]


def _qualified(edit: Edit, qualified: Mapping[tuple[str, str], str]) -> Edit:
    if edit.replacement is not None:
        return edit
    names = {name: qualified[(edit.scope, name)] for name in edit.names}
    return Edit(edit.start, edit.end, value=edit.value, names=names, scope=edit.scope)


def _placeholder_mapping(node: yaml.Node) -> str | None:
    """The name of ``{{name}}`` written unquoted (a flow mapping whose one key is ``{name}``)."""
    if not isinstance(node, yaml.MappingNode) or len(node.value) != 1:
        return None
    key, value = node.value[0]
    if not isinstance(key, yaml.MappingNode) or len(key.value) != 1 or not _empty(value):
        return None
    name, inner = key.value[0]
    if isinstance(name, yaml.ScalarNode) and _empty(inner) and name.value.isidentifier():
        return str(name.value)
    return None


def _empty(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.value == "" and node.style is None


def _key(node: yaml.Node) -> str:
    if not isinstance(node, yaml.ScalarNode):
        mark = node.start_mark
        where = Location(mark.name, mark.line + 1, mark.column + 1)
        raise InputFileError("a key in a network file must be a name", location=where)
    return str(node.value)


def _as_text(node: yaml.Node) -> object:
    """A composed network file as JSON data, every scalar as the text it was written as."""
    if isinstance(node, yaml.MappingNode):
        return {_key(key): _as_text(value) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_as_text(item) for item in node.value]
    if node.tag == "tag:yaml.org,2002:null":
        return None
    return str(node.value)
