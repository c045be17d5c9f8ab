"""The cache of solved problems: what invalidates an entry, and entries that cannot be trusted."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import main
from derive import bounded, cache
from derive.cache import Cache
from derive.model import Part
from derive.problem_set import load_problem_set
from tests.conftest import write_course

NETWORK = "given: {x: scalar, t: scalar, w: scalar}\nforward: [y = sigmoid(w x)]\n"
NETWORK += "loss: e = (t - y)^2 / 2\nwrt: [w]\n"

SET = """\
title: Cached set
problems:
  - id: net
    kind: network
    network: net.yaml
  - id: step
    kind: update
    gradient_of: net
    parameter: w
  - id: tanh
    kind: identity
    function: tanh
    variable: z
    definition: (exp(z) - exp(-z)) / (exp(z) + exp(-z))
    claim: 1 - tanh(z)^2
"""


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return write_course(tmp_path, NETWORK, SET)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The problems actually solved (not read from the cache), in order."""
    names: list[str] = []
    real = bounded.start

    def start(work: Callable[[], object], *, what: str) -> bounded.Pending[object]:
        names.append(what.split("'")[1])
        return real(work, what=what)

    monkeypatch.setattr(bounded, "start", start)
    return names


def _texts(path: Path, store: Cache | None) -> list[str]:
    """Every part of the set, shown whole (repr), solved in this process."""
    solution = load_problem_set(path, cache=store)
    return [repr(part) for part in solution.parts]


def _entries(store: Cache) -> list[Path]:
    return sorted(store.root.iterdir()) if store.root.exists() else []


def test_a_second_run_solves_nothing_and_gives_the_same_parts(
    course: Path, started: list[str], tmp_path: Path
) -> None:
    store = Cache(tmp_path / "cache")
    first = _texts(course, store)
    assert started == ["net", "step", "tanh"]
    assert len(_entries(store)) == 3
    started.clear()
    assert _texts(course, store) == first
    assert started == []


def test_editing_one_problem_solves_only_it(
    course: Path, started: list[str], tmp_path: Path
) -> None:
    store = Cache(tmp_path / "cache")
    _texts(course, store)
    started.clear()
    course.write_text(SET.replace("claim: 1 - tanh(z)^2", "claim: 1 - (tanh(z))^2"), "utf-8")
    _texts(course, store)
    assert started == ["tanh"]


def test_editing_the_network_file_solves_it_and_the_update_built_on_it(
    course: Path, started: list[str], tmp_path: Path
) -> None:
    store = Cache(tmp_path / "cache")
    before = _texts(course, store)
    started.clear()
    (course.parent / "net.yaml").write_text(NETWORK.replace("sigmoid", "tanh"), "utf-8")
    after = _texts(course, store)
    assert started == ["net", "step"]
    assert after[2] == before[2] and after[:2] != before[:2]
    assert "tanh" in after[0]


def test_a_change_to_derive_invalidates_every_entry(
    course: Path, started: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Cache(tmp_path / "cache")
    _texts(course, store)
    started.clear()
    monkeypatch.setattr(cache, "version", lambda: "derive 0.0.0; source changed")
    _texts(course, store)
    assert started == ["net", "step", "tanh"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: b"",
        lambda data: data[: len(data) // 2],
        lambda data: data[:-1] + bytes([data[-1] ^ 1]),  # one bit of the pickle
        lambda data: b"not an entry at all",
        lambda data: data[: len(cache.FORMAT)] + b"\0" * 32 + pickle.dumps(["wrong"]),
    ],
    ids=["empty", "truncated", "bit-flipped", "garbage", "bad-checksum"],
)
def test_a_damaged_entry_is_ignored_and_written_again(
    course: Path,
    started: list[str],
    tmp_path: Path,
    damage: Callable[[bytes], bytes],
) -> None:
    store = Cache(tmp_path / "cache")
    first = _texts(course, store)
    for entry in _entries(store):
        entry.write_bytes(damage(entry.read_bytes()))
    started.clear()
    assert _texts(course, store) == first
    assert started == ["net", "step", "tanh"]
    started.clear()
    assert _texts(course, store) == first  # the entries were written again, whole
    assert started == []


def test_an_entry_that_unpickles_to_something_else_is_not_served(
    course: Path, started: list[str], tmp_path: Path
) -> None:
    store = Cache(tmp_path / "cache")
    first = _texts(course, store)
    for entry in _entries(store):
        name = entry.name
        store.store(name, ["not a part"])
    started.clear()
    assert _texts(course, store) == first
    assert len(started) == 3


def test_an_unwritable_cache_does_not_stop_solving(course: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory would be", "utf-8")
    parts = load_problem_set(course, cache=Cache(blocker / "cache")).parts
    assert [part.name for part in parts] == ["net", "step", "tanh"]


def test_the_cache_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.ENVIRONMENT, "/somewhere/derive-cache")
    assert cache.directory() == Path("/somewhere/derive-cache")
    monkeypatch.delenv(cache.ENVIRONMENT)
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert cache.directory() == Path("/xdg/derive")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.directory() == Path.home() / ".cache" / "derive"


def test_the_suite_never_uses_the_users_cache() -> None:
    chosen = Path(os.environ[cache.ENVIRONMENT])
    assert chosen != Path.home() / ".cache" / "derive"
    assert not any(chosen.iterdir())  # each test starts with an empty cache


def test_solve_fills_the_cache_and_no_cache_leaves_it_alone(
    runner: CliRunner, course: Path, tmp_path: Path
) -> None:
    store = Cache.default()
    output = tmp_path / "key.md"
    result = runner.invoke(main, ["solve", str(course), "-o", str(output), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert _entries(store) == []
    uncached = output.read_text(encoding="utf-8")
    result = runner.invoke(main, ["solve", str(course), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert len(_entries(store)) == 3
    assert output.read_text(encoding="utf-8") == uncached
    result = runner.invoke(main, ["solve", str(course), "-o", str(output)])  # from the cache
    assert result.exit_code == 0, result.output
    assert output.read_text(encoding="utf-8") == uncached
    assert result.output.count("Solving [") == 3  # the progress lines as before


def test_a_cached_part_is_a_part(course: Path, tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache")
    load_problem_set(course, cache=store)
    for entry in _entries(store):
        found = store.load(entry.name)
        assert isinstance(found, list) and all(isinstance(part, Part) for part in found)
