"""Every problem kind refuses a field it does not have, naming the field and the ones it has."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from derive.errors import InputFileError
from derive.problem_set import load_problem_set
from derive.problems import KINDS, ProblemSpec, solver
from tests.conftest import write_sigmoid_update_set


@pytest.mark.parametrize("kind", sorted(KINDS), ids=sorted(KINDS))
def test_an_unknown_field_is_an_error_naming_the_accepted_ones(kind: str) -> None:
    spec = ProblemSpec("p1", "a problem", "", {"bogus_field": 1})
    with pytest.raises(InputFileError) as raised:
        solver(kind)(spec)
    message = str(raised.value)
    assert "problem 'p1': unknown field 'bogus_field'" in message
    accepted = importlib.import_module(KINDS[kind]).FIELDS
    assert f"this kind has {', '.join(accepted)}" in message


def test_momentum_for_a_plain_update_is_refused_at_its_line(tmp_path: Path) -> None:
    # learning_rate at line 13, momentum at line 14
    path = write_sigmoid_update_set(tmp_path, "learning_rate: alpha", "momentum: mu")
    with pytest.raises(InputFileError) as raised:
        load_problem_set(path, points=1)
    message = str(raised.value)
    assert "line 14" in message
    assert "'momentum' is a field of methods momentum, nesterov, not of sgd" in message
