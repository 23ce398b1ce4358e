"""Put a batch of clarifying questions to the user and wait (LangGraph ``interrupt``).

The resume value maps question ids to answers. This node re-runs from its first line when the
debate resumes, so everything before ``interrupt`` is computed from the state alone (the same
questions, the same ids) and nothing is emitted before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime

from dialectic.debate import clarifications
from dialectic.debate.context import DebateContext
from dialectic.debate.pauses import ClarificationPause, pause
from dialectic.debate.state import DebateState


def ask_user(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    ctx = runtime.context
    pending = clarifications.pending_questions(state, ctx.settings.agents)
    if not pending:  # no agent asked anything new: the phase is over
        return {}
    batch = clarifications.current_batch(state)
    value = pause(
        ClarificationPause(
            iteration=batch,
            maxIterations=ctx.settings.config.debate.clarificationsMaxIterations,
            questions=pending,
        )
    )
    answers: Mapping[str, object] = value if isinstance(value, Mapping) else {}
    groups, warnings = clarifications.answer_batch(state, pending, answers)
    for warning in warnings:
        runtime.stream_writer({"event": "warning", "message": f"clarification batch {batch}: {warning}"})
    ids = {q.id for q in pending}
    na = sum(1 for g in groups for item in g.items if item.id in ids and item.answer == clarifications.NA)
    runtime.stream_writer({"event": "answers", "iteration": batch, "questions": len(pending), "na": na})
    return {"clarifications": groups, "clarification_iterations": batch}
