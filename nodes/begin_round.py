"""Start a round. From round 2 on, each agent's proposal is its previous refinement: no call."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic.debate.context import DebateContext
from dialectic.debate.history import round_contributions
from dialectic.debate.phases import ROUND, expected_calls
from dialectic.debate.state import Contribution, DebateState
from dialectic.nodes.agent_call import now_iso
from dialectic.nodes.budget import require_budget


def begin_round(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    settings = runtime.context.settings
    round_number = state.get("round", 0) + 1
    carried = [
        Contribution(
            round=round_number,
            agent_id=refinement.agent_id,
            agent_role=refinement.agent_role,
            type="proposal",
            content=refinement.content,
            model=refinement.model,
            timestamp=now_iso(),
            carried=True,
        )
        for refinement in round_contributions(state, round_number - 1, "refinement")
    ]
    # The round's first calls: every agent's proposal in round 1, later the critiques.
    first = next(phase for phase in ROUND if round_number == 1 or not phase.first_round_only)
    agents = len(settings.agents) if round_number == 1 else len(carried)
    batched = settings.config.debate.critiqueMode == "batched"
    require_budget(state, runtime, lambda: (first.name, expected_calls(first, agents, batched=batched)))
    runtime.stream_writer({"event": "round_started", "round": round_number})
    return {"round": round_number, "contributions": carried} if carried else {"round": round_number}
