"""derive's two LALR parsers built from their grammar files (grammar.lark for networks,
latex.lark for the formulas a page prints), with what makes them cheap to build again: their
tables kept in derive's cache directory, and every lexer state compiled ahead for workers.
"""

from __future__ import annotations

from importlib import resources

import lark

from derive import cache


def lalr_parser(
    grammar_file: str, start: str | list[str], transformer: lark.Transformer
) -> lark.Lark:
    """An LALR parser for derive's grammar file ``grammar_file``, its tables kept in derive's
    cache directory (lark checks a hash of the grammar, its options and versions before using
    them; a cache that cannot be read or written is skipped): building them takes 30–50 ms,
    reading them a few."""
    grammar = resources.files("derive").joinpath(grammar_file).read_text(encoding="utf-8")
    folder = cache.directory() / "parsers"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        stored: str | bool = str(folder / f"{grammar_file}.tables")
    except OSError:
        stored = False
    return lark.Lark(grammar, start=start, parser="lalr", transformer=transformer, cache=stored)


def build_scanners(built: lark.Lark) -> None:
    """Compile the regular expressions of every lexer state of ``built`` now: lark compiles a
    state's on its first token there (tens of milliseconds for a page of formulas), which a
    forked worker would otherwise do again. A lark without per-state lexers is left as it is."""
    lexers = getattr(getattr(built.parser, "lexer", None), "lexers", None)
    for state_lexer in (lexers or {}).values():
        getattr(state_lexer, "scanner", None)
