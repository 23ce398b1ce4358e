"""What evaluator calls cost, and a scoring that failed after paying for calls: a reply that
never parsed into a score or a verdict was billed all the same, so its cost travels with the
failure, for whatever keeps the spend (the batch's ``--max-cost``) to count it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dialectic.errors import ProviderError

if TYPE_CHECKING:
    from dialectic.evaluation.state import EvaluationOutcome


def calls_cost(outcomes: Sequence[EvaluationOutcome]) -> float:
    """What the calls cost, priced as a debate's are, the unusable replies' too; a model without
    a known price counts 0."""
    return sum(o.usage.cost_usd or 0.0 for o in outcomes if o.usage is not None)


class EvaluationFailed(ProviderError):
    """No evaluator call gave a usable answer; ``cost_usd``: what the calls cost all the same."""

    def __init__(self, message: str, *, cost_usd: float) -> None:
        super().__init__(f"{message} (their calls cost ${cost_usd:.4f})" if cost_usd else message)
        self.cost_usd = cost_usd


def cost_of_failure(exc: BaseException) -> float:
    """What a failed evaluation spent: an ``EvaluationFailed``'s calls; any other failure made
    none that were billed (bad inputs, config, a provider that refused every call)."""
    return exc.cost_usd if isinstance(exc, EvaluationFailed) else 0.0
