"""What every node that calls a model shares: the system prompt, the progress events, and the
render → call → record step of the round phases.

A call that fails raises (``llm.CallFailed``): the node's retry policy retries it if it may
help, and after the last attempt the node's error handler (``nodes/failed.py``) records the
failure, so a failed call never cancels the sibling calls of its phase.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from langgraph.runtime import Runtime
from pydantic import BaseModel

from dialectic import prompts
from dialectic.debate.context import DebateContext
from dialectic.debate.phases import Phase
from dialectic.debate.state import AgentTask, CallUsage, Contribution
from dialectic.nodes import llm
from dialectic.prompts.requirements import requirements_list

T = TypeVar("T", bound=BaseModel)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def attempt(runtime: Runtime[Any]) -> int:
    """This run of the node: 1, then 2, 3… as its retry policy retries it."""
    info = runtime.execution_info
    return info.node_attempt if info is not None else 1


def system_prompt(ctx: DebateContext, agent_id: str) -> str:
    member = ctx.member(agent_id)
    template = ctx.settings.template(agent_id, "system")
    return prompts.render(template, {"agent_name": member.name, "role": member.role})


def ask(
    runtime: Runtime[DebateContext],
    phase: Phase,
    agent_id: str,
    round_number: int,
    user: str,
    *,
    target: str | None = None,
    event: dict[str, Any] | None = None,
) -> llm.Reply:
    """One text call by ``agent_id`` in ``phase``, with its progress events (``event`` adds
    fields to them)."""
    ctx = runtime.context
    call = llm.Call(agent_id, phase.name, round_number, target, phase.speaks_as)
    described = _describe(call, event)
    runtime.stream_writer({"event": "call_started", **described})
    reply = llm.complete(
        ctx.model(call.agent_id),
        ctx.member(call.agent_id),
        call,
        llm.messages_for(system_prompt(ctx, call.agent_id), user),
        attempt=attempt(runtime),
        gate=ctx.gate,
    )
    _finished(runtime, described, reply.usage)
    return reply


def ask_structured(
    runtime: Runtime[DebateContext],
    phase: Phase,
    agent_id: str,
    round_number: int,
    user: str,
    schema: type[T],
    *,
    event: dict[str, Any] | None = None,
) -> tuple[T, CallUsage]:
    """One structured call (a validated ``schema`` instance), with its progress events."""
    ctx = runtime.context
    call = llm.Call(agent_id, phase.name, round_number, None, phase.speaks_as)
    described = _describe(call, event)
    runtime.stream_writer({"event": "call_started", **described})
    value, usage = llm.complete_structured(
        ctx.model(call.agent_id),
        ctx.member(call.agent_id),
        call,
        llm.messages_for(system_prompt(ctx, call.agent_id), user),
        schema,
        attempt=attempt(runtime),
        gate=ctx.gate,
    )
    _finished(runtime, described, usage)
    return value, usage


def _describe(call: llm.Call, event: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "agent": call.agent_id,
        "phase": call.phase,
        "round": call.round,
        "target": call.target,
        **(event or {}),
    }


def _finished(runtime: Runtime[DebateContext], described: dict[str, Any], usage: CallUsage) -> None:
    runtime.stream_writer(
        {
            "event": "call_finished",
            **described,
            "tokens": usage.input_tokens + usage.output_tokens,
            "latency_ms": usage.latency_ms,
        }
    )


def template_values(task: AgentTask, ctx: DebateContext) -> dict[str, object]:
    member = ctx.member(task.agent_id)
    values: dict[str, object] = {
        "problem": task.problem,
        "clarifications": task.clarifications,
        "notes": task.notes,
        "history": task.history,
        "requirements": requirements_list(task.problem),
        "role": member.role,
        "agent_name": member.name,
        "proposal": task.material,
        "proposals": task.material,
        "critiques": task.critiques,
        "target_proposal": task.material,
    }
    if task.target_agent_id:
        target = ctx.member(task.target_agent_id)
        values.update(target_name=target.name, target_role=target.role)
    return values


def contribute(
    task: AgentTask, runtime: Runtime[DebateContext], phase: Phase, template: str | None = None
) -> dict[str, Any]:
    """A round phase's call: fill the agent's template for the phase, ask, record the
    contribution and its usage."""
    ctx = runtime.context
    member = ctx.member(task.agent_id)
    user = prompts.render(
        ctx.settings.template(task.agent_id, template or phase.template), template_values(task, ctx)
    )
    reply = ask(runtime, phase, task.agent_id, task.round, user, target=task.target_agent_id)
    contribution = Contribution(
        round=task.round,
        agent_id=task.agent_id,
        agent_role=member.role,
        type=phase.writes or phase.name,
        content=reply.text,
        target_agent_id=task.target_agent_id,
        model=member.model,
        latency_ms=reply.usage.latency_ms,
        tokens_used=reply.usage.input_tokens + reply.usage.output_tokens,
        timestamp=now_iso(),
    )
    return {"contributions": [contribution], "usage": [reply.usage]}
