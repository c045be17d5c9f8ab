"""Reading a network file (YAML) into a Network, keeping where each item stands in the file.

The YAML is composed into nodes (never constructed into Python objects), so every value
keeps its line and column; an error inside an equation points at the offending token.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

from derive import indices, limits, sequences
from derive.build import InputLocations, build_network
from derive.cache import note_read
from derive.errors import InputFileError, Location
from derive.model import Network
from derive.parse import TextSpan

REQUIRED_KEYS = ("given", "forward", "loss", "wrt")
OPTIONAL_KEYS: tuple[str, ...] = ("title", "variants", "functions", "onehot", "assumptions")
OPTIONAL_KEYS += ("grading", "sequence", "upstream", "indices")

# What each key holds, as an error message says it: "'wrt' must be <this>, not ...".
_EXPECTED = {
    "title": "text",
    "given": "a mapping from each name to its shape, e.g. 'x: vector n'",
    "forward": "a list of equations, e.g. '- s = W1 x + b1'",
    "loss": "one equation, e.g. 'e = (t - y)^2 / 2'",
    "upstream": "a mapping from an output to its given gradient, e.g. 'out: dout'",
    "wrt": "a list of names, e.g. [W1, b1]",
    "variants": "a mapping from each variant's name to one equation, e.g. 'skip: z = W2 h + s'",
    "functions": "a list of names, e.g. [f]",
    "onehot": "a list of names, e.g. [t]",
    "assumptions": "a list of sentences",
    "grading": "points and credit for `derive grade` (see the README's Grading section)",
}

# Said of a file that draws values: solving it needs the draws, which `derive key` makes.
RANDOMIZED = "the file draws values (randomize:); write its variants with `derive key FILE`"
_NULL_TAG = "tag:yaml.org,2002:null"


def load_network(path: str | os.PathLike[str]) -> Network:
    """The Network described by the YAML file at ``path``; its title defaults to the file stem."""
    return parse_network_text(read_input(path, "a network file"), source=str(path))


def read_input(path: str | os.PathLike[str], what: str, *, limit_name: str = "input_bytes") -> str:
    """The text of an input file, or an InputFileError that says why it cannot be read.

    Only a regular file is read (a FIFO, a device such as /dev/zero, a directory or a socket
    is refused before it is opened for reading), and at most ``limits.input_bytes`` + 1 bytes
    of it: a bigger file is a LimitError, never read whole.
    """
    file = Path(path)
    where = Location(str(file))
    limit = getattr(limits.current(), limit_name)
    try:
        _check_regular(file, os.stat(file), what)
        descriptor = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | _NO_TERMINAL)
        with os.fdopen(descriptor, "rb") as stream:
            info = os.fstat(stream.fileno())
            _check_regular(file, info, what)  # the same file, now that it is open
            if info.st_size > limit:
                raise limits.exceeded(limit_name, f"{what} over the size limit", location=where)
            data = stream.read(limit + 1)
    except FileNotFoundError:
        raise InputFileError(f"no such file: '{file}'", location=where) from None
    except IsADirectoryError:
        raise InputFileError(f"'{file}' is a directory, not {what}", location=where) from None
    except OSError as error:
        raise InputFileError(f"cannot read '{file}': {error.strerror}", location=where) from None
    if len(data) > limit:
        raise limits.exceeded(limit_name, f"{what} over the size limit", location=where)
    note_read(file, data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputFileError(f"'{file}' is not UTF-8 text", location=where) from None


_NO_TERMINAL = getattr(os, "O_NOCTTY", 0)
_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(file: Path, info: os.stat_result, what: str) -> None:
    """An InputFileError unless ``info`` is a regular file's."""
    if stat.S_ISREG(info.st_mode):
        return
    kind = next((name for test, name in _NOT_REGULAR if test(info.st_mode)), "not a regular file")
    message = f"'{file}' is {kind}, not {what} (derive reads only regular files)"
    raise InputFileError(message, location=Location(str(file)))


def referenced_path(
    directory: Path, name: str, *, location: Location, what: str = "a file"
) -> Path:
    """The file ``name`` that a file in ``directory`` refers to, relative to that directory.

    It must stay inside ``directory`` (after following symbolic links) unless
    ``limits.allow_outside`` is set (``--allow-outside``): a student's submission cannot make
    derive read /etc/passwd or another student's work.
    """
    path = directory / name
    if limits.current().allow_outside:
        return path
    inside = directory.resolve()
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a symbolic link loop
        resolved = path
    if resolved != inside and not resolved.is_relative_to(inside):
        message = (
            f"{what} '{shorten(name)}' is outside '{inside}', the directory of the file "
            "that names it (pass --allow-outside to allow it)"
        )
        raise InputFileError(message, location=location)
    return path


QUOTED = 60  # a value an error quotes is at most this many characters, on one line


def shorten(text: str, limit: int = QUOTED) -> str:
    """``text`` as a message quotes a value from the file being read: short, on one line."""
    line = " ".join(text.split())
    return line if len(line) <= limit else f"{line[: limit - 1]}…"


def parse_network_text(text: str, source: str = "<string>") -> Network:
    """The Network described by YAML ``text``; ``source`` names it in error locations."""
    return YamlReader(text, source).network()


class YamlReader:
    """Reads one YAML text into build_network's arguments and their locations."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self.root: yaml.Node | None = None

    def network(self, root: yaml.Node | None = None) -> Network:
        """The network the whole text describes, or the mapping ``root`` inside it."""
        root = self.compose() if root is None else root
        entries = self.mapping(root, "a network file", "a mapping with the keys given, forward, …")
        for key, (key_node, _) in entries.items():
            if key == "randomize":
                raise InputFileError(RANDOMIZED, location=self.location(key_node))
            if key not in REQUIRED_KEYS + OPTIONAL_KEYS:
                known = ", ".join(REQUIRED_KEYS + OPTIONAL_KEYS)
                message = f"unknown key '{key}' (a network file has {known})"
                raise InputFileError(message, location=self.location(key_node))
        if "sequence" in entries:  # one step of a recurrence, unrolled into the other keys
            entries = sequences.unrolled(self, entries)
        if "indices" in entries:  # equations entry by entry, z_i = sum_k(w_k x_{i+k-1}) + b
            entries = indices.expanded(self, entries)
        values = {key: value for key, (_, value) in entries.items() if not _is_null(value)}
        for key in REQUIRED_KEYS:
            if key == "loss" and "upstream" in entries and "loss" not in entries:
                continue  # the upstream gradient stands for the loss
            if key not in entries:
                raise InputFileError(f"missing required key '{key}'", location=self.location(root))
            if key not in values:
                raise self.wrong(key, entries[key][1])

        given = self.string_mapping(
            values["given"], "given", "'scalar', 'vector n' or 'matrix k n'"
        )
        variants = self.string_mapping(values.get("variants"), "variants", "one equation")
        forward = self.string_list(values["forward"], "forward", "an equation")
        wrt = self.string_list(values["wrt"], "wrt", "a name")
        functions = self.string_list(values.get("functions"), "functions", "a name")
        onehot = self.string_list(values.get("onehot"), "onehot", "a name")
        assumptions = self.string_list(values.get("assumptions"), "assumptions", "a sentence")
        upstream = self.string_mapping(values.get("upstream"), "upstream", "a given's name")
        loss, loss_span = (
            self.string(values["loss"], "'loss'", _EXPECTED["loss"])
            if "loss" in values
            else (None, None)
        )
        title = self.string(values["title"], "'title'", "text")[0] if "title" in values else None

        return build_network(
            title=title or _default_title(self.source),
            given={name: spec for name, (_, spec, _) in given.items()},
            forward=[text for text, _ in forward],
            loss=loss,
            wrt=[name for name, _ in wrt],
            variants={label: text for label, (_, text, _) in variants.items()},
            upstream={name: gradient for name, (_, gradient, _) in upstream.items()},
            functions=[name for name, _ in functions],
            onehot=[name for name, _ in onehot],
            assumptions=[sentence for sentence, _ in assumptions],
            source=self.source,
            locations=InputLocations(
                given_names={name: key for name, (key, _, _) in given.items()},
                given_specs={name: span for name, (_, _, span) in given.items()},
                forward=[span for _, span in forward],
                loss=loss_span,
                wrt=[span for _, span in wrt],
                variants={label: span for label, (_, _, span) in variants.items()},
                upstream={name: key for name, (key, _, _) in upstream.items()},
                functions=[span for _, span in functions],
                onehot=[span for _, span in onehot],
            ),
        )

    def compose(self) -> yaml.Node:
        """The file's YAML as nodes: no aliases, anchors or tags other than YAML's own, and
        nested no deeper than ``limits.yaml_depth``."""
        try:
            loader = _Composer(self.text, self.source)
            try:
                root = loader.get_single_node()
            finally:
                loader.dispose()
        except RecursionError:  # a limit raised so high that PyYAML's own recursion gives out
            message = "nested too deeply for the YAML reader"
            raise limits.exceeded("yaml_depth", message, location=Location(self.source)) from None
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            message = f"invalid YAML: {error.problem or error.context}"
            if "block" in message:  # PyYAML's words for a line indented wrongly
                message += " (check the indentation)"
            location = Location(self.source, mark.line + 1, mark.column + 1) if mark else None
            raise InputFileError(message, location=location or Location(self.source)) from None
        except yaml.YAMLError as error:
            raise InputFileError(f"invalid YAML: {error}", location=Location(self.source)) from None
        if root is None:
            message = (
                "the file is empty; a network file is a mapping with given, forward, loss, wrt"
            )
            raise InputFileError(message, location=Location(self.source, 1, 1))
        self.root = root
        return root

    def location(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.source, mark.line + 1, mark.column + 1)

    def span(self, node: yaml.ScalarNode) -> TextSpan:
        """Where the text of ``node`` starts; exact if the file holds it character for character."""
        start, end = node.start_mark, node.end_mark
        quote = node.style if node.style in ("'", '"') else ""
        written = self.text[start.index : end.index]
        if node.style in (None, "'", '"') and written == f"{quote}{node.value}{quote}":
            return TextSpan(self.source, start.line + 1, start.column + 1 + len(quote))
        return TextSpan(self.source, start.line + 1, start.column + 1, exact=False)

    def wrong(self, what: str, node: yaml.Node, expected: str | None = None) -> InputFileError:
        """'<what>' must be <expected>, not <what the node is>."""
        if _is_null(node):
            found = "empty"
        elif isinstance(node, yaml.ScalarNode) and node is self.root:
            found = "a single value"  # a whole file's text is never quoted (it may not be ours)
        elif isinstance(node, yaml.ScalarNode):
            found = f"the value '{shorten(node.value)}'"
        else:
            found = "a mapping" if isinstance(node, yaml.MappingNode) else "a list"
        subject = f"'{what}'" if what in _EXPECTED else what
        message = f"{subject} must be {expected or _EXPECTED[what]}, not {found}"
        return InputFileError(message, location=self.location(node))

    def string(self, node: yaml.Node, what: str, expected: str) -> tuple[str, TextSpan]:
        if not isinstance(node, yaml.ScalarNode) or _is_null(node):
            raise self.wrong(what, node, expected)
        return node.value, self.span(node)

    def mapping(
        self, node: yaml.Node, what: str, expected: str
    ) -> dict[str, tuple[yaml.ScalarNode, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.wrong(what, node, expected)
        entries: dict[str, tuple[yaml.ScalarNode, yaml.Node]] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or _is_null(key):
                raise self.wrong(f"a key in {what}", key, "a name")
            if key.value in entries:
                message = f"duplicate key '{key.value}' in {what}"
                raise InputFileError(message, location=self.location(key))
            entries[key.value] = (key, value)
        return entries

    def string_mapping(
        self, node: yaml.Node | None, key: str, expected: str
    ) -> dict[str, tuple[TextSpan, str, TextSpan]]:
        """name -> (where the name is, its value, where the value is); {} when absent."""
        if node is None:
            return {}
        found = {}
        for name, (key_node, value) in self.mapping(node, key, _EXPECTED[key]).items():
            text, span = self.string(value, f"'{key}: {name}'", expected)
            found[name] = (self.span(key_node), text, span)
        return found

    def string_list(
        self, node: yaml.Node | None, key: str, expected: str
    ) -> list[tuple[str, TextSpan]]:
        """Each item and where it is; [] when absent."""
        if node is None:
            return []
        if not isinstance(node, yaml.SequenceNode):
            raise self.wrong(key, node)
        return [self.string(item, f"each item of '{key}'", expected) for item in node.value]

    def plain(self, node: yaml.Node) -> object:
        """A node as plain Python values (str, int, float, bool, None, list, dict), as a
        problem kind's fields are read; no YAML constructor runs on user input."""
        if isinstance(node, yaml.SequenceNode):
            return [self.plain(item) for item in node.value]
        if isinstance(node, yaml.MappingNode):
            found: dict[str, object] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    raise self.wrong("a key", key, "a name or a number")
                found[key.value] = self.plain(value)
            return found
        assert isinstance(node, yaml.ScalarNode)
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> object:
        """A scalar by its resolved tag; an integer over ``limits.digits`` is a LimitError."""
        kind = node.tag.rpartition(":")[2]
        if kind == "null":
            return None
        if kind == "bool":
            return node.value.lower() in ("yes", "true", "on")
        if kind in ("int", "float"):
            if sum(c.isdigit() for c in node.value) > limits.current().digits:
                message = f"a number with {sum(c.isdigit() for c in node.value)} digits"
                raise limits.exceeded("digits", message, location=self.location(node))
            constructor = yaml.SafeLoader.construct_yaml_int
            if kind == "float":
                constructor = yaml.SafeLoader.construct_yaml_float  # type: ignore[assignment]
            try:
                return constructor(_CONSTRUCTOR, node)
            except ValueError:
                return node.value
        return node.value  # text, and dates as written


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _default_title(source: str) -> str:
    return "Network" if source.startswith("<") else Path(source).stem


# YAML's own tags: a value may say !!str or !!int; nothing else (!!python/object, !custom).
_STANDARD_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("null", "bool", "int", "float", "str", "seq", "map", "timestamp", "merge")
)
_CONSTRUCTOR = yaml.SafeLoader("")  # only its int and float readers are used


class _Composer(yaml.SafeLoader):
    """PyYAML's composer with derive's rules: an alias, an anchor or a foreign tag is an
    error at its line and column, and nesting deeper than ``limits.yaml_depth`` is a
    LimitError (a "billion laughs" bomb needs aliases, so it never expands)."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self.depth = 0
        self.bounds = limits.current()

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        event = self.peek_event()
        mark = event.start_mark
        where = Location(self.source, mark.line + 1, mark.column + 1)
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            message = "YAML anchors and aliases (&name, *name) are not allowed; write the value out"
            raise InputFileError(message, location=where)
        tag = getattr(event, "tag", None)
        if tag not in (None, "!") and tag not in _STANDARD_TAGS:
            shown = shorten(str(tag).replace("tag:yaml.org,2002:", "!!"))
            message = f"the YAML tag '{shown}' is not allowed (derive reads plain YAML)"
            raise InputFileError(message, location=where)
        if parent is not None and len(parent.value) >= self.bounds.yaml_items:
            # checked as each entry starts, so a list of a million entries stops at the limit
            count = len(parent.value) + 1
            limits.check_count("yaml_items", count, "entries", location=where)
        self.depth += 1
        if self.depth > self.bounds.yaml_depth:
            raise limits.exceeded("yaml_depth", "nested too deeply", location=where)
        try:
            node = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        return node
