"""Hostile inputs against every reader (issue 8, the input half).

Each case writes its files into a fresh directory (big inputs are generated here, never
committed), runs the command line in-process, and asserts: the exit status, the exact error
fragment (a limit names itself and the option that raises it), no traceback, a time bound, and
that nothing of /etc/passwd or of a secret file outside the input's directory is echoed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main

SECONDS = 10.0  # every case, solving included, ends well within this
SECRET = "SECRET-7f3a-token"
PASSWD = [line for line in Path("/etc/passwd").read_text().splitlines() if len(line) > 8]

FIFO = "<fifo>"  # a file entry that is made a named pipe
Files = dict[str, "str | bytes | Callable[[Path], None]"]


def net(
    forward: list[str] | None = None,
    *,
    given: str = "x: scalar\n  w: scalar",
    loss: str = "e = y^2 / 2",
    extra: str = "",
) -> str:
    """A network file; by default y = w x."""
    lines = "".join(f"  - {q(eq)}\n" for eq in forward or ["y = w x"])
    return f"given:\n  {given}\nforward:\n{lines}loss: {loss}\nwrt: [w]\n{extra}"


def q(text: str) -> str:
    """``text`` as a YAML single-quoted scalar."""
    return "'" + text.replace("'", "''") + "'"


def problem(kind: str, fields: str) -> str:
    return f"problems:\n  - id: p\n    kind: {kind}\n{fields}"


def submission(answer: str, *, network: str = "net.yaml") -> str:
    return f"network: {network}\nanswers:\n  main:\n    w: {q(answer)}\n"


def nested(inner: str, wrap: str, depth: int) -> str:
    """``wrap`` (with {} for the inside) applied ``depth`` times around ``inner``."""
    before, after = wrap.split("{}")
    return before * depth + inner + after * depth


def alias_bomb() -> str:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


def symlink(target: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.symlink_to(target.replace("{secret}", str(path.parent.parent / "secret.yaml")))

    return make


@dataclass
class Case:
    id: str
    files: Files
    args: list[str]
    code: int
    fragment: str
    extra: list[str] = field(default_factory=list)  # more fragments that must appear


NESTED = "nested too deeply"
TOO_LONG = "too long"
OUTSIDE = "is outside"
TAG = "is not allowed (derive reads plain YAML)"
ALIASES = "anchors and aliases (&name, *name) are not allowed"
BIG = "x" * 1_100_000
SOLVE = ["solve", "-f", "json", "-o", "out.json"]
NET = {"net.yaml": net()}


def network_case(
    id: str, forward: list[str], fragment: str, *, code: int = 1, args: tuple[str, ...] = ()
) -> Case:
    return Case(id, {"in.yaml": net(forward)}, [*SOLVE, *args, "in.yaml"], code, fragment)


def file_case(id: str, text: str | bytes, fragment: str, *, code: int = 1) -> Case:
    return Case(id, {"in.yaml": text}, [*SOLVE, "in.yaml"], code, fragment)


def set_case(id: str, text: str, fragment: str, *, extra: Files | None = None) -> Case:
    return Case(id, {"set.yaml": text, **(extra or {})}, [*SOLVE, "set.yaml"], 1, fragment)


def answer_case(id: str, answer: str, fragment: str) -> Case:
    """A submission whose one answer is graded wrong with ``fragment`` as the reason."""
    files: Files = {**NET, "sub.yaml": submission(answer)}
    return Case(id, files, ["grade", "sub.yaml"], 0, fragment, ["WRONG", "Score: 0/1"])


def grade_case(id: str, text: str, fragment: str, *, extra: Files | None = None) -> Case:
    return Case(id, {**NET, "sub.yaml": text, **(extra or {})}, ["grade", "sub.yaml"], 1, fragment)


NETWORK_CASES = [
    network_case("sigmoid-200", [f"y = {nested('w x', 'sigmoid({})', 200)}"], NESTED),
    network_case("sigmoid-1000", [f"y = {nested('w x', 'sigmoid({})', 1000)}"], TOO_LONG),
    network_case(
        "sigmoid-1000-raised-length",
        [f"y = {nested('w x', 'sigmoid({})', 1000)}"],
        "(limit 100; raise it with --limit nesting=N)",
        args=("--limit", "expression-chars=20000"),
    ),
    network_case("parentheses-500", [f"y = {nested('w x', '({})', 500)}"], "Wrote", code=0),
    network_case("right-sums-500", [f"y = {nested('w x', '(1 + {})', 500)}"], NESTED),
    network_case("signs-500", ["y = " + "- " * 500 + "w x"], NESTED),
    network_case("transposes-300", ["y = w x" + "^T" * 300], NESTED),
    network_case("power-chain-200", ["y = w x" + "^1" * 200], NESTED),
    network_case("exp-log-300", [f"y = {nested('w x', 'exp(log({}))', 150)}"], NESTED),
    network_case("sum-1000-terms", ["y = " + " + ".join(["w x"] * 1000)], TOO_LONG),
    network_case("literal-5000-digits", ["y = w x + " + "7" * 5000], TOO_LONG),
    network_case("literal-4000-digits", ["y = w x + " + "7" * 4000], "a number with 4000 digits"),
    network_case("literal-150-digits", ["y = w x + " + "9" * 150], "(limit 100; raise it with"),
    network_case("literal-1e999999", ["y = w x + 1e999999"], "a number with 1000000 digits"),
    network_case("literal-1e-500", ["y = w x + 1e-500"], "--limit digits=N"),
    network_case("literal-exponent-huge", ["y = w x * 1e99999999999999999999"], "--limit digits"),
    network_case("two-to-100000", ["y = w x + 2^100000"], "the exponent 100000 is too large"),
    network_case("x-to-10-to-8", ["y = (w x)^(10^8)"], "the exponent 100000000 is too large"),
    network_case("tower-2", ["y = w x + 2^2^2^2^2^2"], "--limit exponent=N"),
    network_case("tower-10", ["y = w x + 10^10^10^10"], "--limit exponent=N"),
    network_case("negative-tower", ["y = w x + 2^(-2^2^2^2^2)"], "the exponent 65536 is too"),
    network_case("power-digits", ["y = w x + (10^99)^99"], "a power with 9802 digits"),
    network_case("product-digits", ["y = w x + " + " * ".join(["10^90"] * 3)], "--limit digits"),
    network_case("negative-exponent", ["y = (w x)^(-5000)"], "the exponent -5000 is too large"),
    Case(
        "equations-1002",
        {"in.yaml": net([f"h{i} = w x" for i in range(1001)] + ["y = h0"])},
        [*SOLVE, "in.yaml"],
        1,
        "too many equations: 1 003 (limit 1 000; raise it with --limit equations=N)",
    ),
    Case(
        "variants-over-limit",
        {"in.yaml": net(extra="variants:\n" + "".join(f"  v{i}: y = w x\n" for i in range(1000)))},
        [*SOLVE, "in.yaml"],
        1,
        "--limit equations=N",
    ),
    Case(
        "variant-nested",
        {
            "in.yaml": net(
                extra=f"variants:\n  deep: {q('y = ' + nested('w x', '(1 + {})', 300))}\n"
            )
        },
        [*SOLVE, "in.yaml"],
        1,
        NESTED,
    ),
    Case(
        "loss-exponent",
        {"in.yaml": net(loss="e = y^(10^10)")},
        [*SOLVE, "in.yaml"],
        1,
        "the exponent 10000000000 is too large",
    ),
    Case(
        "matrix-100000",
        {"in.yaml": net(given="x: vector 100000\n  w: matrix 1 100000")},
        [*SOLVE, "in.yaml"],
        1,
        "the dimension 100000 is too large (limit 10 000; raise it with --limit dimension=N)",
    ),
    Case(
        "dimension-30-digits",
        {"in.yaml": net(given="x: vector " + "9" * 30 + "\n  w: scalar")},
        [*SOLVE, "in.yaml"],
        1,
        "a 30-digit number is too large",
    ),
    Case(
        "entries-25-million",
        {"in.yaml": net(given="x: vector 5000\n  w: matrix 5000 5000")},
        [*SOLVE, "in.yaml"],
        1,
        "a quantity of 25000000 entries (limit 1 000 000; raise it with --limit entries=N)",
    ),
]

FILE_CASES = [
    file_case("title-1mb", f"title: {BIG}\n" + net(), "a network file over the size limit"),
    file_case("comment-10mb", "#" * 10_000_000 + "\n" + net(), "(limit 1 MB; raise it with"),
    file_case("yaml-flow-500", "title: " + "[" * 500 + "]" * 500 + "\n", NESTED),
    file_case(
        "yaml-block-500",
        "".join("  " * i + f"k{i}:\n" for i in range(500)) + "  " * 500 + "v\n",
        "(limit 50; raise it with --limit yaml-depth=N)",
    ),
    file_case("billion-laughs", alias_bomb() + net(), ALIASES),
    file_case("alias-in-forward", "eq: &e 'y = w x'\n" + net().replace("'y = w x'", "*e"), ALIASES),
    file_case("python-apply", "title: !!python/object/apply:os.system ['id']\n" + net(), TAG),
    file_case(
        "python-name", net(["y = w x"]).replace("'y = w x'", "!!python/name:os.system ''"), TAG
    ),
    file_case("python-new", "title: !!python/object/new:subprocess.Popen [[id]]\n" + net(), TAG),
    file_case("custom-tag", "title: !shout hello\n" + net(), "the YAML tag '!shout'"),
    file_case("binary-tag", "title: !!binary aGVsbG8=\n" + net(), "'!!binary'"),
    file_case("set-tag", "title: !!set {a, b}\n" + net(), "'!!set'"),
    file_case("verbatim-tag", "title: !<tag:evil.com,2024:x> hi\n" + net(), TAG),
    file_case(
        "items-20000",
        net(extra="assumptions: [" + ", ".join(["a"] * 20_000) + "]\n"),
        "too many entries: 10 001 (limit 10 000; raise it with --limit yaml-items=N)",
    ),
    file_case("not-utf8", b"title: \xff\xfe\n" + net().encode(), "is not UTF-8 text"),
    file_case("nul-bytes", "title: a\x00b\n" + net(), "invalid YAML"),
    file_case("empty", "", "the file is empty"),
    file_case("top-level-scalar", SECRET, "not a single value"),
    file_case("top-level-list", "- " + SECRET + "\n", "a network file must be a mapping"),
    file_case("long-key", f"{'k' * 5000}: 1\n" + net(), "invalid YAML: mapping values"),
    Case("fifo", {"in.yaml": FIFO}, [*SOLVE, "in.yaml"], 1, "is a FIFO (named pipe)"),
    Case("dev-zero", {}, [*SOLVE, "/dev/zero"], 1, "'/dev/zero' is a character device"),
    Case("dev-null", {}, [*SOLVE, "/dev/null"], 1, "is a character device"),
    Case("dev-urandom", {}, [*SOLVE, "/dev/urandom"], 1, "is a character device"),
    Case("proc-self-mem", {}, [*SOLVE, "/proc/self/mem"], 1, "cannot read '/proc/self/mem'"),
    Case("missing-file", {}, [*SOLVE, "nothing.yaml"], 1, "no such file: 'nothing.yaml'"),
    Case("directory", {"dir.yaml": lambda p: p.mkdir()}, [*SOLVE, "dir.yaml"], 2, "is a directory"),
    Case(
        "symlink-to-passwd",
        {"in.yaml": symlink("/etc/passwd")},
        [*SOLVE, "in.yaml"],
        1,
        "not a single value",
    ),
    Case(
        "symlink-to-fifo",
        {"pipe": FIFO, "in.yaml": symlink("pipe")},
        [*SOLVE, "in.yaml"],
        1,
        "is a FIFO",
    ),
]

SET_CASES = [
    set_case(
        "set-passwd-relative",
        problem("network", "    network: ../../../../../../etc/passwd\n"),
        OUTSIDE,
    ),
    set_case("set-passwd-absolute", problem("network", "    network: /etc/passwd\n"), OUTSIDE),
    set_case("set-secret-parent", problem("network", "    network: ../secret.yaml\n"), OUTSIDE),
    set_case(
        "set-symlink-out",
        problem("network", "    network: link.yaml\n"),
        OUTSIDE,
        extra={"link.yaml": symlink("{secret}")},
    ),
    Case(
        "set-passwd-allowed",
        {"set.yaml": problem("network", "    network: /etc/passwd\n")},
        [*SOLVE, "--allow-outside", "set.yaml"],
        1,
        "a network file must be a mapping with the keys given, forward, …, not a single value",
    ),
    Case(
        "set-secret-allowed",
        {"set.yaml": problem("network", "    network: ../secret.yaml\n")},
        [*SOLVE, "--allow-outside", "set.yaml"],
        1,
        "not a single value",
    ),
    Case(
        "set-dev-zero-allowed",
        {"set.yaml": problem("network", "    network: /dev/zero\n")},
        [*SOLVE, "--allow-outside", "set.yaml"],
        1,
        "is a character device",
    ),
    set_case(
        "set-fifo",
        problem("network", "    network: pipe.yaml\n"),
        "is a FIFO",
        extra={"pipe.yaml": FIFO},
    ),
    set_case(
        "set-directory",
        problem("network", "    network: sub\n"),
        "is a directory",
        extra={"sub": lambda p: p.mkdir()},
    ),
    set_case(
        "set-missing", problem("network", "    network: gone.yaml\n"), "no such file: 'gone.yaml'"
    ),
    set_case(
        "set-big-network",
        problem("network", "    network: big.yaml\n"),
        "a network file over the size limit",
        extra={"big.yaml": f"title: {BIG}\n"},
    ),
    set_case(
        "set-inline-1002-equations",
        problem(
            "network",
            "    network:\n      "
            + net([f"h{i} = w x" for i in range(1001)] + ["y = h0"]).replace("\n", "\n      "),
        ),
        "--limit equations=N",
    ),
    set_case(
        "batch-10000",
        problem("batchnorm_numbers", f"    batch: [{', '.join(['1'] * 10_000)}]\n"),
        "the size of 'batch' 10000 is too large (limit 1 000; raise it with --limit batch=N)",
    ),
    set_case(
        "batch-100000",
        problem("batchnorm_numbers", f"    batch: [{', '.join(['1'] * 100_000)}]\n"),
        "--limit yaml-items=N",
    ),
    set_case(
        "batch-size-million",
        problem("bias_before_batchnorm", "    batch_size: 1000000\n"),
        "'batch_size' 1000000 is too large (limit 16; raise it with --limit batch-size=N)",
    ),
    set_case(
        "batch-size-digits",
        problem("bias_before_batchnorm", "    batch_size: " + "9" * 5000 + "\n"),
        "a number with 5000 digits",
    ),
    set_case(
        "epsilon-1e999999",
        problem("batchnorm_numbers", "    batch: [1, 2]\n    epsilon: 1e999999\n"),
        "'epsilon': a number with 1000000 digits (limit 100",
    ),
    set_case(
        "epsilon-float-inf",
        problem("batchnorm_numbers", "    batch: [1, 2]\n    epsilon: 1.0e999999\n"),
        "a number with 1000001 digits",
    ),
    set_case(
        "epsilon-dot-inf",
        problem("batchnorm_numbers", "    batch: [1, 2]\n    epsilon: .inf\n"),
        "must be a finite number",
    ),
    set_case(
        "gamma-4500-digits",
        problem("batchnorm_numbers", "    batch: [1, 2]\n    gamma: " + "3" * 4500 + "\n"),
        "a number with 4500 digits",
    ),
    set_case(
        "batch-entry-power",
        problem("batchnorm_numbers", "    batch: [1, '2^100000']\n"),
        "the exponent 100000 is too large",
    ),
    set_case(
        "batch-entry-tiny",
        problem("batchnorm_numbers", "    batch: [1, 1.5e-300]\n"),
        "--limit digits=N",
    ),
    set_case(
        "batch-entry-date",
        problem("batchnorm_numbers", "    batch: [1, 2024-01-01 10:00:00]\n"),
        "entry 2 of 'batch' must be a number",
    ),
    set_case(
        "kind-python-tag",
        problem("batchnorm_numbers", "    batch: !!python/object/apply:os.system ['id']\n"),
        TAG,
    ),
    set_case(
        "kind-python-tag-entry",
        problem("batchnorm_numbers", "    batch: [1, !!python/object/apply:os.system ['id']]\n"),
        TAG,
    ),
    set_case(
        "kind-custom-tag", problem("dropout", "    weight: !weight w\n"), "the YAML tag '!weight'"
    ),
    set_case(
        "kind-alias-bomb",
        alias_bomb()
        .replace("\n", "\n    ")
        .join(["problems:\n  - id: p\n    kind: batchnorm_numbers\n    ", "batch: *j\n"]),
        ALIASES,
    ),
    set_case(
        "kind-deep-nesting",
        problem("batchnorm_numbers", "    batch: " + "[" * 500 + "]" * 500 + "\n"),
        NESTED,
    ),
    set_case(
        "kind-list-key",
        problem("batchnorm_numbers", "    batch: {[1, 2]: 3}\n"),
        "must be a name or a number",
    ),
    set_case(
        "identity-nested",
        problem(
            "identity",
            "    function: f\n    variable: z\n"
            f"    definition: {q(nested('z', 'sigmoid({})', 300))}\n    claim: z\n",
        ),
        NESTED,
    ),
    set_case(
        "identity-exponent",
        problem(
            "identity", "    function: f\n    variable: z\n    definition: z^(10^8)\n    claim: z\n"
        ),
        "the exponent 100000000 is too large",
    ),
    set_case(
        "identity-long",
        problem(
            "identity",
            f"    function: f\n    variable: z\n    definition: {'z + ' * 3000}z\n    claim: z\n",
        ),
        TOO_LONG,
    ),
    set_case(
        "problems-20000",
        "problems:\n" + "  - {id: a, kind: dropout}\n" * 20_000,
        "--limit yaml-items=N",
    ),
]

GRADE_CASES = [
    grade_case(
        "sub-passwd-relative", submission("x", network="../../../../../../etc/passwd"), OUTSIDE
    ),
    grade_case("sub-passwd-absolute", submission("x", network="/etc/passwd"), OUTSIDE),
    grade_case("sub-secret-parent", submission("x", network="../secret.yaml"), OUTSIDE),
    Case(
        "sub-secret-allowed",
        {"sub.yaml": submission("x", network="../secret.yaml")},
        ["grade", "--allow-outside", "sub.yaml"],
        1,
        "not a single value",
    ),
    grade_case(
        "sub-fifo", submission("x", network="pipe.yaml"), "is a FIFO", extra={"pipe.yaml": FIFO}
    ),
    grade_case("sub-missing", submission("x", network="gone.yaml"), "no such file: 'gone.yaml'"),
    grade_case(
        "sub-python-tag", "network: !!python/object/apply:os.system ['id']\nanswers: {}\n", TAG
    ),
    grade_case("sub-alias", "network: &n net.yaml\nanswers: {main: {w: *n}}\n", ALIASES),
    grade_case(
        "sub-deep", "network: net.yaml\nanswers: " + "{a: " * 300 + "1" + "}" * 300 + "\n", NESTED
    ),
    Case(  # a submission may be bigger than a network: the overlong answer is graded wrong
        "sub-big-file",
        {**NET, "sub.yaml": submission("x" * 1_100_000)},
        ["grade", "sub.yaml"],
        0,
        "answer too long: 1 100 000 characters (limit 20 000",
    ),
    Case(
        "sub-over-submission-bytes",
        {**NET, "sub.yaml": submission("x" * 1_100_000)},
        ["grade", "--limit", "submission-bytes=1MB", "sub.yaml"],
        1,
        "a submission over the size limit (limit 1 MB; raise it with --limit submission-bytes=N)",
    ),
    Case(
        "sub-big-answer-raised",
        {**NET, "sub.yaml": submission("w " * 1_000_000)},
        ["grade", "sub.yaml"],
        0,
        "answer too long: 2 000 000 characters (limit 20 000; "
        "raise it with --limit answer-chars=N)",
    ),
    answer_case("answer-50k", "x " * 25_000, "answer too long: 50 000 characters"),
    answer_case("answer-exponent-tower", "x^(10^(10^10))", "--limit exponent=N"),
    answer_case("answer-x-10-8", "x^(10^8)", "the exponent 100000000 is too large"),
    answer_case("answer-2-100000", "2^100000 x", "the exponent 100000 is too large"),
    answer_case("answer-5000-digits", "1" * 5000 + " x", "a number with 5000 digits"),
    answer_case("answer-sigmoid-300", nested("x", "sigmoid({})", 300), NESTED),
    answer_case("answer-sums-900", nested("x", "(x + {})", 900), NESTED),
    answer_case("answer-latex-frac-200", "$" + nested("x", "\\frac{1}{{}}", 200) + "$", NESTED),
    answer_case("answer-latex-digits", "$" + "7" * 4500 + " x$", "a number with 4500 digits"),
    answer_case("answer-latex-power", "$x^{10^{8}}$", "the exponent 100000000 is too large"),
    answer_case("answer-latex-sqrt-300", "$" + nested("x", "\\sqrt{{}}", 300) + "$", NESTED),
]

CLI_CASES = [
    Case(
        "limit-unknown",
        NET,
        [*SOLVE, "--limit", "foo=1", "net.yaml"],
        2,
        "'foo=1' is not NAME=VALUE",
    ),
    Case("limit-no-value", NET, [*SOLVE, "--limit", "nesting", "net.yaml"], 2, "is not NAME=VALUE"),
    Case(
        "limit-text",
        NET,
        [*SOLVE, "--limit", "nesting=lots", "net.yaml"],
        2,
        "must be a whole number",
    ),
    Case("limit-zero", NET, [*SOLVE, "--limit", "nesting=0", "net.yaml"], 2, "must be at least 1"),
    Case(
        "limit-negative",
        NET,
        [*SOLVE, "--limit", "digits=-5", "net.yaml"],
        2,
        "must be a whole number",
    ),
    Case(
        "limit-huge",
        NET,
        [*SOLVE, "--limit", "digits=" + "9" * 5000, "net.yaml"],
        2,
        "must be a whole number",
    ),
    Case(
        "limit-bad-suffix",
        NET,
        [*SOLVE, "--limit", "input-bytes=5XB", "net.yaml"],
        2,
        "must be a whole number",
    ),
    Case(
        "limit-grade-unknown", NET, ["grade", "--limit", "x=1", "net.yaml"], 2, "is not NAME=VALUE"
    ),
    Case(
        "limit-input-bytes-10",
        NET,
        [*SOLVE, "--limit", "input-bytes=10", "net.yaml"],
        1,
        "(limit 10 bytes; raise it with --limit input-bytes=N)",
    ),
    Case(
        "limit-equations-1",
        NET,
        [*SOLVE, "--limit", "equations=1", "net.yaml"],
        1,
        "too many equations: 2 (limit 1;",
    ),
    Case(
        "limit-nesting-1",
        NET,
        [*SOLVE, "--limit", "nesting=1", "net.yaml"],
        1,
        "nested too deeply: 2 levels (limit 1;",
    ),
    Case(
        "limit-yaml-depth-1",
        NET,
        [*SOLVE, "--limit", "yaml-depth=1", "net.yaml"],
        1,
        "--limit yaml-depth=N",
    ),
    Case(
        "limit-digits-1",
        {"in.yaml": net(["y = 12 w x"])},
        [*SOLVE, "--limit", "digits=1", "in.yaml"],
        1,
        "a number with 2 digits (limit 1;",
    ),
    Case(
        "limit-expression-chars-3",
        NET,
        [*SOLVE, "--limit", "expression-chars=3", "net.yaml"],
        1,
        "equation too long: 7 characters",
    ),
    Case(
        "limit-underscore-name",
        NET,
        [*SOLVE, "--limit", "yaml_depth=1", "net.yaml"],
        1,
        "--limit yaml-depth=N",
    ),
    Case(
        "limit-raised-solves",
        NET,
        [*SOLVE, "--limit", "nesting=5k", "--limit", "input-bytes=2MB", "net.yaml"],
        0,
        "Wrote",
    ),
    Case(
        "grade-answer-chars-5",
        {**NET, "sub.yaml": submission("x w")},
        ["grade", "--limit", "answer-chars=2", "sub.yaml"],
        0,
        "answer too long: 3 characters (limit 2;",
    ),
]

CASES = NETWORK_CASES + FILE_CASES + SET_CASES + GRADE_CASES + CLI_CASES


def test_the_corpus_is_large_and_named_uniquely() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 80


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.yaml").write_text(f"{SECRET}\n", encoding="utf-8")
    work = tmp_path / "in"
    work.mkdir()
    for name, content in case.files.items():
        path = work / name
        if content == FIFO:
            os.mkfifo(path)
        elif callable(content):
            content(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    monkeypatch.chdir(work)

    started = time.monotonic()
    result = CliRunner().invoke(main, case.args)
    seconds = time.monotonic() - started

    output = result.output
    assert result.exit_code == case.code, output[-2000:]
    assert result.exception is None or isinstance(result.exception, SystemExit), output[-2000:]
    assert "Traceback" not in output
    assert case.fragment in output, output[-2000:]
    for fragment in case.extra:
        assert fragment in output, output[-2000:]
    assert seconds < SECONDS
    assert SECRET not in output
    assert not any(line in output for line in PASSWD)
    assert len(output) < 20_000  # no input is echoed whole


def test_a_500_equation_chain_solves_or_stops_at_a_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8: the chain either solves within its limit or stops with a limit's message (which
    one depends on how deep Python's stack already is: the engine composes 500 sigmoids)."""
    chain = ["h0 = w x", *(f"h{i} = sigmoid(h{i - 1})" for i in range(1, 500)), "y = h499"]
    (tmp_path / "in.yaml").write_text(net(chain), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    result = CliRunner().invoke(main, [*SOLVE, "in.yaml"])
    assert time.monotonic() - started < 90
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output[-2000:]
    if result.exit_code == 1:
        assert "composes too deeply for the symbolic engine" in result.output
    else:
        assert (tmp_path / "out.json").is_file()
