"""After a round (convergence/quality termination): the judge scores how far the panel agrees.

A failed or invalid score is recorded as a failure and the debate simply goes on: a missing
score never counts as consensus.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from dialectic import prompts
from dialectic.graphs.context import DebateContext
from dialectic.graphs.history import proposals_text, round_contributions
from dialectic.graphs.state import ConsensusScore, DebateState, Failure
from dialectic.nodes import llm
from dialectic.nodes.agent_call import now_iso, system_prompt


class ConvergenceAssessment(BaseModel):
    """How far the panel's current proposals agree."""

    score: int = Field(ge=0, le=100, description="0 = fundamentally different designs, 100 = the same design")
    reason: str = Field(description="the main agreements and the remaining disagreements")


def convergence(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    ctx = runtime.context
    judge = ctx.settings.judge
    round_number = state["round"]
    latest = round_contributions(state, round_number, "refinement") or round_contributions(
        state, round_number, "proposal"
    )
    user = prompts.render(
        ctx.settings.template(judge.id, "convergence"),
        {
            "problem": prompts.embed(state["problem"]),
            "proposals": proposals_text(
                [c.model_copy(update={"content": prompts.embed(c.content)}) for c in latest]
            ),
            "round": round_number,
            "agent_name": judge.name,
        },
    )
    call = llm.Call(judge.id, "convergence", round_number)
    runtime.stream_writer(
        {"event": "call_started", "agent": judge.id, "phase": "convergence", "round": round_number}
    )
    try:
        assessment, usage = llm.complete_structured(
            ctx.model(judge.id),
            judge,
            call,
            llm.messages_for(system_prompt(ctx, judge.id), user),
            ConvergenceAssessment,
            gate=ctx.gate,
        )
    except llm.CallFailed as exc:
        failure = Failure(
            agent_id=judge.id, phase="convergence", round=round_number, error=str(exc), timestamp=now_iso()
        )
        return {"failures": [failure]}
    score = ConsensusScore(round=round_number, score=assessment.score, reason=assessment.reason)
    runtime.stream_writer(
        {
            "event": "consensus",
            "round": round_number,
            "score": score.score,
            "threshold": ctx.settings.config.debate.terminationCondition.threshold,
        }
    )
    return {"consensus": [score], "usage": [usage]}
