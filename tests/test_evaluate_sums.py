"""The numeric evaluator on finite sums over indexed entries (a batch's mean and variance)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from derive import limits
from derive.errors import UnsupportedError
from derive.evaluate import Evaluator

a = sp.IndexedBase("a")
k, j, i = sp.symbols("k j i", integer=True)
m = sp.Symbol("m", integer=True, positive=True)
BATCH = np.array([1.0, 7.0, 7.0, 9.0])
VALUES = {m: 4.0} | {a[n + 1]: BATCH[n] for n in range(4)}


def test_a_batchs_mean_and_variance_from_its_sums() -> None:
    mean = sp.Sum(a[k], (k, 1, m)) / m
    variance = sp.Sum((a[k] - mean.xreplace({k: j})) ** 2, (k, 1, m)) / m
    normalised = [(a[n] - mean) / sp.sqrt(variance) for n in range(1, 5)]
    evaluate = Evaluator(VALUES, {})
    assert evaluate(mean) == pytest.approx(BATCH.mean())
    assert evaluate(variance) == pytest.approx(BATCH.var())
    got = [evaluate(entry) for entry in normalised]
    assert got == pytest.approx((BATCH - BATCH.mean()) / BATCH.std())


def test_a_double_sum_and_a_term_without_the_index() -> None:
    double = sp.Sum(a[k] * a[j], (k, 1, 2), (j, 1, m))
    assert Evaluator(VALUES, {})(double) == pytest.approx(BATCH[:2].sum() * BATCH.sum())
    assert Evaluator(VALUES, {})(sp.Sum(a[i], (k, 1, m)).xreplace({i: 2})) == 28.0
    assert Evaluator(VALUES, {})(sp.Sum(a[k], (k, 3, 2))) == 0.0  # empty


def test_a_bound_that_is_not_whole_is_refused() -> None:
    with pytest.raises(UnsupportedError, match=r"a sum's bound is not a whole number: 2\.5"):
        Evaluator({m: 2.5}, {})(sp.Sum(a[k], (k, 1, m)))


def test_a_sum_beyond_the_entries_limit_is_refused() -> None:
    with (
        limits.using(limits.current().raised(entries=10)),
        pytest.raises(UnsupportedError, match="a sum of more than 10 terms"),
    ):
        Evaluator({m: 11.0}, {})(sp.Sum(a[k], (k, 1, m)))
