"""Before round 1: one agent asks the problem's owner its questions (structured output, one
Send per agent, so all agents ask at once). A failed call is recorded and ends the phase for
that agent only: clarifications are optional, the debate goes on without them."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from dialectic import prompts
from dialectic.graphs.context import DebateContext
from dialectic.graphs.state import AgentQuestions, ClarifyTask, Failure
from dialectic.nodes import llm
from dialectic.nodes.agent_call import now_iso, system_prompt

PHASE = "clarify"
ROUND = 0  # the phase comes before round 1


class ClarifyingQuestion(BaseModel):
    question: str = Field(description="one question, answerable in a sentence or two")


class ClarifyingQuestions(BaseModel):
    """Questions for the problem's owner; an empty list when nothing that matters is open.

    The class name is what the offline model recognizes (see providers/offline.py)."""

    questions: list[ClarifyingQuestion] = Field(default_factory=list)


def clarify(task: ClarifyTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    ctx = runtime.context
    member = ctx.member(task.agent_id)
    limit = ctx.settings.config.debate.clarificationsMaxPerAgent
    user = prompts.render(
        ctx.settings.template(task.agent_id, "clarify"),
        {
            "problem": task.problem,
            "clarifications": task.clarifications,
            "max_questions": limit,
            "role": member.role,
            "agent_name": member.name,
        },
    )
    event = {"agent": task.agent_id, "phase": PHASE, "round": ROUND, "iteration": task.iteration}
    runtime.stream_writer({"event": "call_started", **event})
    try:
        reply, usage = llm.complete_structured(
            ctx.model(task.agent_id),
            member,
            llm.Call(task.agent_id, PHASE, ROUND),
            llm.messages_for(system_prompt(ctx, task.agent_id), user),
            ClarifyingQuestions,
        )
    except llm.CallFailed as exc:
        runtime.stream_writer({"event": "call_failed", **event, "error": str(exc)})
        failure = Failure(
            agent_id=task.agent_id, phase=PHASE, round=ROUND, error=str(exc), timestamp=now_iso()
        )
        return {"failures": [failure]}
    # The prompt states the limit; a model that asks more gets its first ``limit`` questions.
    asked = tuple(q.question.strip() for q in reply.questions if q.question.strip())[:limit]
    runtime.stream_writer(
        {
            "event": "call_finished",
            **event,
            "tokens": usage.input_tokens + usage.output_tokens,
            "latency_ms": usage.latency_ms,
        }
    )
    return {
        "agent_questions": [
            AgentQuestions(agent_id=task.agent_id, iteration=task.iteration, questions=asked)
        ],
        "usage": [usage],
    }
