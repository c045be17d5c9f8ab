"""The pipeline for networks: backward pass → steps and answers → numeric check → Solution."""

from __future__ import annotations

from derive.engine import backward
from derive.errors import DeriveError, InternalError, LimitError
from derive.model import MathItem, Network, Part, Solution, Tex, as_dim
from derive.printing import tex
from derive.roundtrip import check_printed
from derive.source_tex import setup_line
from derive.steps import adjoint_steps, answer_for, check_notation, default_notation
from derive.verify import verify
from derive.zero_sums import drop_zero_sums


def solve(network: Network, *, notation: str | None = None, points: int = 3) -> Solution:
    """Derive, check and lay out the gradients of ``network`` and of each of its variants."""
    chosen = notation or default_notation(network)
    check_notation(network, chosen)
    parts = [_reported_part(network, "main", chosen, points=points)]
    for name, equation in network.variants.items():
        variant = network.with_variant(name)
        part = _reported_part(variant, name, chosen, points=points)
        part.heading = f"Variant {name}: {equation.text}"
        part.statement = (
            f"The same network with the equation for {equation.target.name} replaced by "
            f"{equation.text}."
        )
        parts.append(part)
    return Solution(title=network.title, parts=parts)


def _reported_part(network: Network, name: str, notation: str, *, points: int) -> Part:
    """``network_part``, with an unexpected exception reported as a bug in solving part ``name``."""
    try:
        return network_part(network, name, notation, points=points)
    except DeriveError:
        raise
    except RecursionError:  # a forward pass composed too deeply (200 nested sigmoids)
        message = (
            f"part '{name}': the forward pass composes too deeply for the symbolic engine "
            "(Python's recursion limit); split the chain into shorter networks"
        )
        raise LimitError(message, limit="nesting") from None
    except Exception as error:
        raise InternalError(name, error) from error


def network_part(network: Network, name: str, notation: str, *, points: int = 3) -> Part:
    """One part: the network, one step per adjoint, one per answer, and the check."""
    result = backward(network)
    drop_zero_sums(result)  # x₁ + x₂ + x₃ − 3μ with μ their mean is 0
    steps = adjoint_steps(result, notation)
    answers = {}
    for wrt in network.wrt:
        answer, step = answer_for(network, result.adjoints[wrt], notation)
        answers[wrt] = answer
        steps.append(step)
    verification = verify(network, {k: a.value for k, a in answers.items()}, points=points)
    part = Part(
        name=name,
        heading="Gradients" if name == "main" else name,
        statement=_statement(network),
        assumptions=assumptions(network, notation),
        setup=[setup_line(eq, quantities=network.quantities) for eq in network.equations],
        steps=steps,
        answers=answers,
        verification=verification,
        adjoints=[
            (a.symbol, a.definition)
            for name, a in result.adjoints.items()
            if name not in network.givens
        ],
    )
    check_printed(part, quantities=network.quantities)  # the page says what the answer says
    return part


def _statement(network: Network) -> str:
    wanted = ", ".join(network.wrt)
    return f"Find the gradient of the loss {network.loss.target.name} with respect to {wanted}."


def assumptions(network: Network, notation: str) -> list[MathItem]:
    """What the solution takes for granted: shapes, layout, notation, one-hot targets."""
    found: list[MathItem] = []
    shapes = []
    for quantity in network.quantities.values():
        if quantity.is_scalar:
            shapes.append(rf"{tex(quantity.symbol)} \in \mathbb{{R}}")
        else:
            rows, cols = (tex(as_dim(d)) for d in quantity.shape)
            space = rows if quantity.shape[1] == 1 else rf"{rows} \times {cols}"
            shapes.append(rf"{tex(quantity.symbol)} \in \mathbb{{R}}^{{{space}}}")
    found.append(Tex(r",\ ".join(shapes)))
    loss = tex(network.loss.target.symbol)
    if notation == "scalar":
        found.append(
            Tex(rf"\delta_v = \partial {loss} / \partial v \text{{ for every quantity }} v")
        )
    else:
        found.append(Tex(rf"\delta_v = \partial {loss} / \partial v \text{{ has the shape of }} v"))
        # running text, not one formula: a line of text may break, a formula may not
        found.append("Denominator layout: vectors are columns, and 1 × 1 results are scalars.")
    for name in sorted(network.onehot):
        found.append(f"{name} is a one-hot target: its entries are 0 or 1 and sum to 1.")
    found.extend(network.assumptions)
    return found
