"""What propose, critique and refine share: fill the agent's templates, make one call, and turn
the reply (or the failure) into a state update. A failed call is recorded with its task so a
resumed run can retry exactly it; it never cancels the sibling calls of its phase."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langgraph.runtime import Runtime

from dialectic import prompts
from dialectic.graphs.context import DebateContext
from dialectic.graphs.state import AgentTask, Contribution, ContributionType, Failure
from dialectic.nodes import llm
from dialectic.prompts.requirements import requirements_list


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def system_prompt(ctx: DebateContext, agent_id: str) -> str:
    member = ctx.member(agent_id)
    template = ctx.settings.template(agent_id, "system")
    return prompts.render(template, {"agent_name": member.name, "role": member.role})


def emit(runtime: Runtime[DebateContext], event: str, task: AgentTask, phase: str, **extra: Any) -> None:
    runtime.stream_writer(
        {
            "event": event,
            "agent": task.agent_id,
            "phase": phase,
            "round": task.round,
            "target": task.target_agent_id,
            **extra,
        }
    )


def failure_update(task: AgentTask, phase: str, error: BaseException) -> dict[str, Any]:
    failure = Failure(
        agent_id=task.agent_id,
        phase=phase,
        round=task.round,
        error=str(error),
        timestamp=now_iso(),
        task=task,
    )
    return {"failures": [failure]}


def run_agent_call(
    task: AgentTask, runtime: Runtime[DebateContext], *, phase: str, template: str, kind: ContributionType
) -> dict[str, Any]:
    ctx = runtime.context
    member = ctx.member(task.agent_id)
    user = prompts.render(ctx.settings.template(task.agent_id, template), template_values(task, ctx))
    emit(runtime, "call_started", task, phase)
    try:
        reply = llm.complete(
            ctx.model(task.agent_id),
            member,
            llm.Call(task.agent_id, phase, task.round, task.target_agent_id),
            llm.messages_for(system_prompt(ctx, task.agent_id), user),
            gate=ctx.gate,
        )
    except llm.CallFailed as exc:
        emit(runtime, "call_failed", task, phase, error=str(exc))
        return failure_update(task, phase, exc)
    contribution = Contribution(
        round=task.round,
        agent_id=task.agent_id,
        agent_role=member.role,
        type=kind,
        content=reply.text,
        target_agent_id=task.target_agent_id,
        model=member.model,
        latency_ms=reply.usage.latency_ms,
        tokens_used=reply.usage.input_tokens + reply.usage.output_tokens,
        timestamp=now_iso(),
    )
    emit(
        runtime,
        "call_finished",
        task,
        phase,
        tokens=contribution.tokens_used,
        latency_ms=reply.usage.latency_ms,
    )
    return {"contributions": [contribution], "usage": [reply.usage]}
