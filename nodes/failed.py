"""The error handler of every node that calls a model (LangGraph's node ``error_handler``).

It runs once a call has failed after its retries: it records the failure (with its task, so a
resume can retry exactly that call, and whether it was transient) and goes on to the phase's
join, which decides whether the debate pauses or goes on without the call. It returns a
``Command`` with ``goto``: measured on langgraph 1.2.24, a handler that returns a plain update
does not follow the failed node's edges, so if every call of a phase failed no join would run
and the debate would end silently. Anything but a provider failure is a bug: it is raised again
and the run fails (exit 1), its state kept.
"""

from __future__ import annotations

from typing import Any

from langgraph.errors import NodeError
from langgraph.runtime import Runtime
from langgraph.types import Command

from dialectic.debate.context import DebateContext
from dialectic.debate.phases import Phase, of_call
from dialectic.debate.state import AgentTask, ClarifyTask, Failure
from dialectic.nodes.agent_call import now_iso, spent
from dialectic.nodes.clarify import ROUND as CLARIFY_ROUND
from dialectic.nodes.llm import CallFailed


def record_failure(payload: Any, error: NodeError, runtime: Runtime[DebateContext]) -> Command[str]:
    failed = error.error
    if not isinstance(failed, CallFailed):
        raise failed
    settings = runtime.context.settings
    phase, agent_id, round_number = _call_of(error.node, payload, settings.judge.id)
    task = payload if isinstance(payload, AgentTask) else None
    runtime.stream_writer(
        {
            "event": "call_failed",
            "agent": agent_id,
            "phase": phase.name,
            "round": round_number,
            "target": task.target_agent_id if task else None,
            "error": str(failed),
            "transient": failed.transient,
            **(spent(failed.usage) if failed.usage is not None else {}),  # replies it was billed
        }
    )
    failure = Failure(
        agent_id=agent_id,
        phase=phase.name,
        round=round_number,
        error=str(failed),
        timestamp=now_iso(),
        task=task,
        transient=failed.transient,
    )
    update: dict[str, Any] = {"failures": [failure]}
    if failed.usage is not None:  # replies that were billed, if unusable
        update["usage"] = [failed.usage]
    return Command(update=update, goto=phase.join)


def _call_of(node: str, payload: Any, judge_id: str) -> tuple[Phase, str, int]:
    """The phase, agent and round of the call a node made: a task's, or the judge's (a node
    that reads the state)."""
    if isinstance(payload, ClarifyTask):
        return of_call(node, payload.agent_id, judge_id), payload.agent_id, CLARIFY_ROUND
    if isinstance(payload, AgentTask):
        return of_call(node, payload.agent_id, judge_id), payload.agent_id, payload.round
    return of_call(node, judge_id, judge_id), judge_id, int(payload.get("round") or 0)
