"""derive's numeric check is sharp: a correct answer, slightly corrupted, must be refused.

derive's own answers for a generated network (``backward(network).adjoints[w].resolved``)
are corrupted one at a time (scaled by 1.001, negated, transposed, one term of the sum nearest
the root dropped) and ``verify`` must raise VerificationError. A corruption the check cannot see by
design is skipped: one that changes the answer at verify's first point by less than ten times
its tolerance (relative to the same floor of 1e-2 the check uses), such as a zero gradient
negated or a symmetric matrix transposed.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from derive.engine import backward
from derive.errors import VerificationError
from derive.evaluate import Evaluator
from derive.load import parse_network_text
from derive.model import Network
from derive.verify import TOLERANCE, concrete_dims, draw_point, forward, verify
from tests.property.networks import GeneratedNetwork, networks

pytestmark = pytest.mark.property

CORRUPTIONS = ("scaled by 1.001", "negated", "transposed", "one term dropped")


@pytest.mark.parametrize("corruption", CORRUPTIONS)
@settings(
    max_examples=max(5, settings.default.max_examples // 20),  # 15 each, 60 in all, under ci
    suppress_health_check=[*settings.default.suppress_health_check, HealthCheck.filter_too_much],
)
@given(generated=networks(), data=st.data())
def test_a_corrupted_answer_fails_the_check(
    corruption: str, generated: GeneratedNetwork, data: st.DataObject
) -> None:
    network = parse_network_text(generated.yaml, source="generated.yaml")
    answers = correct_answers(network)
    assume(answers is not None)  # the random-network test reports derive's own failures
    assert answers is not None
    name = data.draw(st.sampled_from(network.wrt), label="corrupted answer")
    corrupted = corrupt(answers[name], corruption, data)
    assume(corrupted is not None)
    assert corrupted is not None
    assume(visible(network, answers[name], corrupted))
    with pytest.raises(VerificationError):
        verify(network, {**answers, name: corrupted})


def correct_answers(network: Network) -> dict[str, sp.Basic] | None:
    """derive's answers, if derive solves the network and its check accepts them."""
    try:
        result = backward(network)
        answers = {name: result.adjoints[name].resolved for name in network.wrt}
        verify(network, answers)
    except Exception as error:  # any failure here is the random-network test's to report
        event(f"derive fails before corruption: {type(error).__name__}")
        return None
    return answers


def corrupt(answer: sp.Basic, corruption: str, data: st.DataObject) -> sp.Basic | None:
    """``answer`` corrupted, or None where the corruption does not apply."""
    if corruption == "scaled by 1.001":
        return sp.Rational(1001, 1000) * answer
    if corruption == "negated":
        return -answer
    if corruption == "transposed":
        return answer.T if isinstance(answer, sp.MatrixExpr) else None
    total = outermost_sum(answer)
    if total is None:
        return None
    dropped = data.draw(st.integers(0, len(total.args) - 1), label="dropped term")
    rest = [term for i, term in enumerate(total.args) if i != dropped]
    return answer.xreplace({total: rest[0] if len(rest) == 1 else total.func(*rest)})


def outermost_sum(answer: sp.Basic) -> sp.Basic | None:
    """The sum nearest the root of ``answer`` (the sum of its paths, as in δ_s xᵀ = (a + b) xᵀ)."""
    level = [answer]
    while level:
        for node in level:
            if isinstance(node, sp.Add | sp.MatAdd):
                return node
        level = [arg for node in level for arg in node.args]
    return None


def visible(network: Network, answer: sp.Basic, corrupted: sp.Basic) -> bool:
    """Whether the corruption changes the answer noticeably at verify's first point."""
    dims = concrete_dims(network)
    givens = draw_point(network, dims, np.random.default_rng(0))  # as verify(seed=0) draws
    point = forward(network, givens, dims)
    before = np.asarray(Evaluator(point, dims)(answer), dtype=float)
    after = np.asarray(Evaluator(point, dims)(corrupted), dtype=float)
    if before.size != after.size or (
        before.ndim == after.ndim == 2 and before.shape != after.shape
    ):
        return True  # a wrong shape: the check must refuse it
    change = float(np.abs(after.reshape(before.shape) - before).max())
    return change / max(float(np.abs(before).max()), 1e-2) > 10 * TOLERANCE
