"""Token and cost budgets: before a phase starts, project what it will spend from what calls
have spent so far; if it would cross the budget, pause (a ``BudgetPause``).

Resuming with a larger budget re-runs the check against it; resuming without one pauses again,
so a budget is never silently exceeded by a whole phase.
"""

from __future__ import annotations

from collections.abc import Callable

from langgraph.runtime import Runtime

from dialectic.debate.context import DebateContext
from dialectic.debate.pauses import BudgetPause, pause
from dialectic.debate.state import DebateState

# Per-call guess before any call has been made (a proposal prompt and its answer).
_FIRST_CALL_TOKENS = 2500


def overrun(state: DebateState, ctx: DebateContext, phase: str, calls: int) -> BudgetPause | None:
    """The pause if ``calls`` more calls of ``phase`` would cross a budget, else None."""
    settings = ctx.settings.config.debate
    if calls <= 0 or (settings.maxTokens is None and settings.maxCostUsd is None):
        return None
    usage = state.get("usage", [])
    spent_tokens = sum(u.input_tokens + u.output_tokens for u in usage)
    same_phase = [u for u in usage if u.phase == phase] or usage
    per_call = (
        sum(u.input_tokens + u.output_tokens for u in same_phase) / len(same_phase)
        if same_phase
        else _FIRST_CALL_TOKENS
    )
    projected_tokens = spent_tokens + int(per_call * calls)
    costs = [u.cost_usd for u in usage]
    known = all(c is not None for c in costs)
    spent_cost = sum(c for c in costs if c is not None)
    phase_costs = [u.cost_usd for u in same_phase if u.cost_usd is not None]
    projected_cost = spent_cost + (sum(phase_costs) / len(phase_costs) * calls if phase_costs else 0.0)
    over_tokens = settings.maxTokens is not None and projected_tokens > settings.maxTokens
    over_cost = settings.maxCostUsd is not None and known and projected_cost > settings.maxCostUsd
    if not (over_tokens or over_cost):
        return None
    return BudgetPause(
        phase=phase,
        round=state.get("round", 0),
        calls=calls,
        spent_tokens=spent_tokens,
        projected_tokens=projected_tokens,
        max_tokens=settings.maxTokens,
        spent_usd=round(spent_cost, 6) if known else None,
        projected_usd=round(projected_cost, 6) if known else None,
        max_usd=settings.maxCostUsd,
    )


def require_budget(
    state: DebateState, runtime: Runtime[DebateContext], upcoming: Callable[[], tuple[str, int]]
) -> None:
    """Pause here until the budget (as the resumed run's settings give it) covers the next
    calls. ``upcoming`` gives their phase and number; it is only worked out (which can mean
    building the next phase's tasks) when a budget is set."""
    settings = runtime.context.settings.config.debate
    if settings.maxTokens is None and settings.maxCostUsd is None:
        return
    phase, calls = upcoming()
    while (payload := overrun(state, runtime.context, phase, calls)) is not None:
        pause(payload)
