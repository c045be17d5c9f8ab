"""The parsers' tables kept in derive's cache directory: read when valid, rebuilt otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from derive import cache
from derive.grammars import lalr_parser
from derive.parse import ToSyntaxTree

START = ["equation", "expression"]


def _parses() -> str:
    built = lalr_parser("grammar.lark", START, ToSyntaxTree())
    return repr(built.parse("y = a + b", start="equation"))


def test_the_tables_are_kept_and_read_back_with_the_same_parse() -> None:
    tables = cache.directory() / "parsers" / "grammar.lark.tables"
    first = _parses()
    assert tables.is_file() and tables.stat().st_size > 1000
    assert (tables.parent.stat().st_mode & 0o777) == 0o700
    assert _parses() == first  # from the tables this time


def test_damaged_tables_are_rebuilt() -> None:
    tables = cache.directory() / "parsers" / "grammar.lark.tables"
    good = _parses()
    tables.write_bytes(tables.read_bytes()[:200])  # cut short
    assert _parses() == good
    tables.write_bytes(b"not the tables\n")
    assert _parses() == good
    assert tables.stat().st_size > 1000  # written again


def test_a_cache_directory_that_cannot_be_made_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv(cache.ENVIRONMENT, str(blocker / "cache"))
    assert "Binary(op='+'" in _parses()
