"""Start a round. From round 2 on, each agent's proposal is its previous refinement: no call."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic.graphs.context import DebateContext
from dialectic.graphs.history import round_contributions
from dialectic.graphs.state import Contribution, DebateState
from dialectic.nodes.agent_call import now_iso
from dialectic.nodes.budget import require_budget


def begin_round(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    round_number = state.get("round", 0) + 1
    if round_number == 1:
        require_budget(state, runtime, lambda: ("propose", len(runtime.context.settings.agents)))
        runtime.stream_writer({"event": "round_started", "round": 1})
        return {"round": 1}
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
    batched = runtime.context.settings.config.debate.critiqueMode == "batched"
    critics = len(carried)
    require_budget(state, runtime, lambda: ("critique", critics if batched else critics * (critics - 1)))
    runtime.stream_writer({"event": "round_started", "round": round_number})
    return {"round": round_number, "contributions": carried}
