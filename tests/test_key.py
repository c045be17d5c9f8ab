"""derive key: variants drawn from a randomize: section, their JSON keys and sheets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import sympy as sp
import yaml
from click.testing import CliRunner

from cli import main
from derive.errors import InputFileError, VariantError
from derive.functions import SREPR_NAMESPACE
from derive.key import DRAWS, solve_variant, write_keys
from derive.randomize import attempt_seed
from derive.render.key_json import render_key_json
from derive.variants import read_template, template_of

DATA = Path(__file__).parent / "data"
SEEDS = DATA / "seeds_random.yaml"
NETWORK = """\
title: a randomised network
randomize:
  act: [sigmoid, tanh]
  lam: {from: 0.1, to: 0.9, step: 0.1}
given: {x: scalar, t: scalar, W1: scalar, b1: scalar, W2: scalar, b2: scalar}
forward:
  - s = W1 x + b1
  - h = {{act}}(s)
  - z = W2 h + b2
  - y = sigmoid(z)
loss: e = (t - y)^2 / 2 + {{ lam }} W2^2
wrt: [W1, b1, W2, b2]
variants:
  skip: z = W2 h + b2 + s
"""
BATCH = """\
title: batch norm on a drawn batch
problems:
  - id: mt-3
    randomize:
      a: {int: [1, 2]}
      b: {int: [1, 2]}
    kind: batchnorm_numbers
    batch: [{{a}}, {{b}}]
"""


def _key(tmp_path: Path, text: str, *, index: int = 1, seed: int = 0) -> dict:
    template = template_of(text, str(tmp_path / "problem.yaml"), tmp_path)
    solved = solve_variant(template, index, seed)
    return json.loads(
        render_key_json(
            solved.solution,
            source="problem.yaml",
            problem=solved.text,
            index=index,
            seed=solved.seed,
            values=solved.values,
            is_problem_set=template.is_problem_set,
        )
    )


def test_a_network_files_parts_are_named_part_dot_wrt(tmp_path: Path) -> None:
    key = _key(tmp_path, NETWORK)
    ids = [part["id"] for part in key["parts"]]
    assert ids == [f"{p}.{w}" for p in ("main", "skip") for w in ("W1", "b1", "W2", "b2")]


def test_a_problem_sets_parts_are_named_problem_dot_part() -> None:
    template = read_template(SEEDS)
    solved = solve_variant(template, 1, 0)
    key = json.loads(
        render_key_json(
            solved.solution,
            source=SEEDS.name,
            problem=solved.text,
            index=1,
            seed=solved.seed,
            values=solved.values,
            is_problem_set=True,
        )
    )
    ids = [part["id"] for part in key["parts"]]
    for expected in ("hw-1.W2", "hw-1-skip.W2", "hw-1-vector.W1", "mt-3.mean", "mt-1f.b"):
        assert expected in ids
    assert len(ids) == len(set(ids))
    vector = next(p for p in key["parts"] if p["id"] == "hw-1-vector.W1")
    n, k = int(solved.values["n"]), int(solved.values["k"])
    assert vector["shape"] == [k, n]  # drawn dimensions are numbers in the key
    assert vector["givens"]["W1"] == [k, n] and vector["givens"]["t"] == []
    ridge = next(p for p in key["parts"] if p["id"] == "mt-2.x")
    assert ridge["givens"]["A"] == ["m", "n"] and set(ridge["dims"]) == {"m", "n"}


def test_the_json_key_has_the_documented_schema(tmp_path: Path) -> None:
    key = _key(tmp_path, NETWORK, index=3, seed=5)
    assert list(key) == ["derive_key", "title", "source", "variant", "problem", "parts"]
    assert key["derive_key"] == 1 and key["title"] == "a randomised network"
    assert key["source"] == "problem.yaml"
    assert key["variant"]["index"] == 3 and isinstance(key["variant"]["seed"], int)
    assert set(key["variant"]["values"]) == {"act", "lam"}
    for part in key["parts"]:
        assert list(part) == ["id", "shape", "answer", "givens", "dims"]
        assert list(part["answer"]) == ["sympy", "latex"]
        assert part["shape"] == [] and part["givens"]["W2"] == [] and part["dims"] == {}


def test_the_keys_answers_are_the_variants_checked_answers(tmp_path: Path) -> None:
    key = _key(tmp_path, NETWORK, seed=11)
    values = key["variant"]["values"]
    problem = yaml.safe_load(key["problem"])  # the variant alone, values in place
    assert "randomize" not in problem
    assert problem["forward"][1] == f"h = {values['act']}(s)"
    assert problem["loss"] == f"e = (t - y)^2 / 2 + {values['lam']} W2^2"
    namespace = {**vars(sp), **SREPR_NAMESPACE}
    main_w2 = next(p for p in key["parts"] if p["id"] == "main.W2")
    answer = eval(main_w2["answer"]["sympy"], namespace)  # derive's own output, not user text
    lam = sp.Rational(values["lam"])
    assert sp.expand(answer).coeff(sp.Symbol("W2"), 1) == 2 * lam  # from the drawn λ W2²
    # solving the variant's text alone gives the same key
    again = _key(tmp_path, key["problem"])
    assert [p["answer"] for p in again["parts"]] == [p["answer"] for p in key["parts"]]


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_values(
    tmp_path: Path,
) -> None:
    template = read_template(SEEDS)

    def written(directory: Path, seed: int) -> dict[str, bytes]:
        for outcome in write_keys(template, directory, variants=3, seed=seed, fmt="tex"):
            assert outcome.error is None
        return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}

    first, second = written(tmp_path / "a", 7), written(tmp_path / "b", 7)
    assert sorted(first) == [
        f"variant-0{i}{suffix}"
        for i in (1, 2, 3)
        for suffix in ("-key.tex", "-questions.tex", ".json")
    ]
    assert first == second
    other = written(tmp_path / "c", 8)
    values = [json.loads(files["variant-01.json"])["variant"]["values"] for files in (first, other)]
    assert values[0] != values[1]
    assert b"Variant 1 (seed" in first["variant-01-key.tex"]


def test_a_degenerate_draw_is_drawn_again(tmp_path: Path) -> None:
    template = template_of(BATCH, str(tmp_path / "batch.yaml"), tmp_path)
    seed = next(  # a seed whose first draw is a batch of two equal values (variance 0)
        s for s in range(1000) if len(set(template.values(attempt_seed(s, 1, 0)).values())) == 1
    )
    solved = solve_variant(template, 1, seed)
    assert solved.values["mt-3.a"] != solved.values["mt-3.b"]
    assert solved.seed != attempt_seed(seed, 1, 0)
    assert solved.seed in [attempt_seed(seed, 1, k) for k in range(DRAWS)]
    assert template.values(solved.seed) == solved.values  # the key's seed reproduces its values


def test_a_problem_no_draw_can_solve_is_an_error_naming_the_line(tmp_path: Path) -> None:
    text = BATCH.replace("{int: [1, 2]}", "[3]")
    template = template_of(text, "batch.yaml", tmp_path)
    with pytest.raises(VariantError) as raised:
        solve_variant(template, 2, 0)
    message = str(raised.value)
    assert f"variant 2: none of {DRAWS} draws" in message
    assert "mt-3.a = 3, mt-3.b = 3" in message
    assert "batch.yaml, line 8" in message  # the variant keeps the file's lines
    assert "variance is 0" in message


@pytest.mark.parametrize(
    "value",
    [
        "a: b",
        "*alias",
        "&anchor x",
        "!!python/object:os.system",
        "]",
        "}, extra: 1",
        "x\n- y",
        "# c",
    ],
    ids=["colon", "alias", "anchor", "tag", "bracket", "brace", "newline", "comment"],
)
def test_a_drawn_value_is_only_ever_text_of_its_own_value(tmp_path: Path, value: str) -> None:
    text = f"""\
title: t
randomize:
  v: [{json.dumps(value)}]
problems:
  - id: p
    statement: "before {{{{v}}}} after"
    items: [{{{{v}}}}, 2]
    kind: dropout
"""
    template = template_of(text, "t.yaml", tmp_path)
    variant = yaml.safe_load(template.text_for(template.values(0)))
    assert variant == {
        "title": "t",
        "problems": [
            {
                "id": "p",
                "statement": f"before {value} after",
                "items": [value, 2],
                "kind": "dropout",
            }
        ],
    }


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("randomize: {a: [1]}\nx: {{b}}\n", "'{{b}}' is not drawn under 'randomize'", 2),
        ("randomize: {a: [1], b: [2]}\nx: {{a}}\n", "'randomize: b' is declared but no", 1),
        ("randomize: {a: [1]}\nx:\n  '{{a}}': 1\n", "not for a key", 3),
        ("randomize: {a: []}\nx: {{a}}\n", "is an empty list", 1),
        ("randomize: {a: {from: 1, to: 0, step: 1}}\nx: {{a}}\n", "from ≤ to", 1),
        ("randomize: {a: {int: [1.5, 3]}}\nx: {{a}}\n", "whole numbers", 1),
        ("randomize: {a: {size: 3}}\nx: {{a}}\n", "a list of values", 1),
        ("problems:\n  - id: '{{a}}'\n    randomize: {a: [1]}\n", "id cannot be drawn", 2),
        (
            "randomize: {a: [1]}\nproblems:\n  - id: p\n    randomize: {a: [2]}\n    x: {{a}}\n",
            "drawn both at the top level and in problem 'p'",
            4,
        ),
    ],
    ids=["unknown", "unused", "key", "empty", "backwards", "fractional", "shape", "id", "twice"],
)
def test_a_bad_template_is_refused_before_anything_is_solved(
    tmp_path: Path, text: str, message: str, line: int
) -> None:
    with pytest.raises(InputFileError) as raised:
        template_of(text, "t.yaml", tmp_path)
    assert message in str(raised.value)
    assert f"t.yaml, line {line}" in str(raised.value)


def test_a_range_gives_exact_decimals_and_whole_numbers(tmp_path: Path) -> None:
    text = (
        "randomize:\n  r: {from: 0.1, to: 0.9, step: 0.2}\n  n: {int: [2, 4]}\nx: '{{r}} {{n}}'\n"
    )
    template = template_of(text, "t.yaml", tmp_path)
    drawn = {tuple(template.values(seed).values()) for seed in range(200)}
    assert {r for r, _ in drawn} == {"0.1", "0.3", "0.5", "0.7", "0.9"}
    assert {n for _, n in drawn} == {"2", "3", "4"}


def test_a_named_network_file_is_written_into_the_variant(tmp_path: Path) -> None:
    (tmp_path / "net.yaml").write_text((DATA / "two_layer_scalar.yaml").read_text())
    text = "title: set\nproblems:\n  - id: hw\n    kind: network\n    network: net.yaml\n"
    template = template_of(text, str(tmp_path / "set.yaml"), tmp_path)
    variant = yaml.safe_load(template.text_for({}))
    assert variant["problems"][0]["network"]["forward"][0] == "s = W1 x + b1"
    assert variant["problems"][0]["network"]["title"] == "net"


def test_fifty_variants_of_the_seed_set(tmp_path: Path) -> None:
    """50 keys of the seed problem set (as .tex and JSON) in parallel, each variant distinct
    in its drawn values, every answer present."""
    template = read_template(SEEDS)
    started = time.monotonic()
    outcomes = list(write_keys(template, tmp_path, variants=50, seed=2024, fmt="tex", workers=2))
    elapsed = time.monotonic() - started
    assert [o.error for o in outcomes] == [None] * 50
    assert sorted(o.index for o in outcomes) == list(range(1, 51))
    keys = [json.loads((tmp_path / f"variant-{i:02d}.json").read_text()) for i in range(1, 51)]
    assert len({json.dumps(k["variant"]["values"], sort_keys=True) for k in keys}) > 45
    assert all(len(k["parts"]) == len(keys[0]["parts"]) for k in keys)
    for key in keys:  # no variant with a zero-variance batch was emitted
        batch = [key["variant"]["values"][f"mt-3.{name}"] for name in "abcd"]
        assert len(set(batch)) > 1
    assert elapsed < 120, elapsed


def test_the_command_writes_pdfs_the_same_bytes_every_time(
    runner: CliRunner, tmp_path: Path
) -> None:
    problem = tmp_path / "net.yaml"
    problem.write_text(NETWORK)
    runs = []
    for name in ("a", "b"):
        result = runner.invoke(
            main,
            ["key", str(problem), "-o", str(tmp_path / name), "--variants", "2", "--seed", "3"],
        )
        assert result.exit_code == 0, result.output
        assert "Wrote 2 of 2 variants" in result.output
        runs.append({p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())})
    assert sorted(runs[0]) == [
        f"variant-0{i}{suffix}"
        for i in (1, 2)
        for suffix in ("-key.pdf", "-questions.pdf", ".json")
    ]
    assert runs[0]["variant-01-key.pdf"].startswith(b"%PDF")
    assert runs[0] == runs[1]


def test_the_command_refuses_variants_of_a_file_with_nothing_to_draw(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = runner.invoke(
        main, ["key", str(DATA / "two_layer.yaml"), "-o", str(tmp_path), "--variants", "3"]
    )
    assert result.exit_code == 2
    assert "has no randomize: section" in result.output


def test_the_command_reports_a_variant_it_cannot_draw(runner: CliRunner, tmp_path: Path) -> None:
    problem = tmp_path / "batch.yaml"
    problem.write_text(BATCH.replace("{int: [1, 2]}", "[3]"))
    result = runner.invoke(main, ["key", str(problem), "-o", str(tmp_path / "out"), "-f", "tex"])
    assert result.exit_code == 1
    assert "Error: variant 1: none of 20 draws" in result.output
    assert "Wrote 0 of 1 variants" in result.output
    assert not (tmp_path / "out" / "variant-01.json").exists()
