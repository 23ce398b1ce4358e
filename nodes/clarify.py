"""Before round 1: one agent asks the problem's owner its questions (structured output, one
Send per agent, so all agents ask at once). A failed call is recorded and ends the phase for
that agent only: clarifications are optional, the debate goes on without them, whatever the
failure (the phase table's ``optional``)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from dialectic import prompts
from dialectic.debate.context import DebateContext
from dialectic.debate.phases import CLARIFY
from dialectic.debate.state import AgentQuestions, ClarifyTask
from dialectic.nodes.agent_call import ask_structured, perspective_section

ROUND = 0  # the phase comes before round 1


class ClarifyingQuestion(BaseModel):
    question: str = Field(description="one question, answerable in a sentence or two")


class ClarifyingQuestions(BaseModel):
    """Questions for the problem's owner; an empty list when nothing that matters is open."""

    questions: list[ClarifyingQuestion] = Field(default_factory=list)


def clarify(task: ClarifyTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    ctx = runtime.context
    member = ctx.member(task.agent_id)
    limit = ctx.settings.config.debate.clarificationsMaxPerAgent
    user = prompts.render(
        ctx.settings.template(task.agent_id, CLARIFY.template),
        {
            "problem": task.problem,
            "clarifications": task.clarifications,
            "max_questions": limit,
            "role": member.role,
            "agent_name": member.name,
            "perspective": perspective_section(ctx, task.agent_id),
        },
    )
    reply, usage = ask_structured(
        runtime, CLARIFY, task.agent_id, ROUND, user, ClarifyingQuestions, event={"iteration": task.iteration}
    )
    # The prompt states the limit; a model that asks more gets its first ``limit`` questions.
    every = tuple(q.question.strip() for q in reply.questions if q.question.strip())
    asked = every[:limit]
    if len(every) > limit:  # said, as the TypeScript tool says it
        runtime.stream_writer(
            {
                "event": "warning",
                "message": f"{member.name} ({member.id}) asked {len(every)} clarifying questions; "
                f"kept the first {limit} (debate.clarificationsMaxPerAgent)",
            }
        )
    return {
        "agent_questions": [
            AgentQuestions(agent_id=task.agent_id, iteration=task.iteration, questions=asked)
        ],
        "usage": [usage],
    }
