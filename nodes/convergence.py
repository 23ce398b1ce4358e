"""After a round (convergence/quality termination): the judge scores how far the panel agrees.

A score that fails for good (say an invalid reply) is recorded as a failure and the debate goes
on: a missing score never counts as consensus. A transient failure pauses the debate at the
round's join like any other call's (see ``dialectic.debate.failures``).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from dialectic import prompts
from dialectic.debate import history
from dialectic.debate.context import DebateContext
from dialectic.debate.history import proposals_text, round_contributions
from dialectic.debate.phases import CONVERGENCE
from dialectic.debate.state import ConsensusScore, DebateState
from dialectic.nodes.agent_call import ask_structured, perspective_section
from dialectic.prompts.requirements import requirements_list


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
        ctx.settings.template(judge.id, CONVERGENCE.template),
        {
            "problem": prompts.embed(state["problem"]),
            "proposals": proposals_text(
                [c.model_copy(update={"content": prompts.embed(c.content)}) for c in latest]
            ),
            "round": round_number,
            "agent_name": judge.name,
            "requirements": requirements_list(state["problem"]),
            "clarifications": history.clarifications_text(state.get("clarifications", [])),
            "notes": history.notes_text(state, None),
            "perspective": perspective_section(ctx, judge.id),
        },
    )
    assessment, usage = ask_structured(
        runtime, CONVERGENCE, judge.id, round_number, user, ConvergenceAssessment
    )
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
