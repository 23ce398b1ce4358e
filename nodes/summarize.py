"""An incremental summary of one agent's history (or of the debate, for the judge): the previous
summary plus the material since, cut to ``maxLength`` at a sentence boundary."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic import prompts
from dialectic.graphs.context import DebateContext
from dialectic.graphs.history import section
from dialectic.graphs.state import AgentTask, Summary
from dialectic.nodes import llm
from dialectic.nodes.agent_call import emit, failure_update, now_iso, system_prompt


def summarize(task: AgentTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    ctx = runtime.context
    member = ctx.member(task.agent_id)
    settings = ctx.settings.summarization(task.agent_id)
    phase = "judge_summary" if task.agent_id == ctx.settings.judge.id else "summarize"
    user = prompts.render(
        ctx.settings.template(task.agent_id, "summarize"),
        {
            "problem": task.problem,
            "previous_summary": section("Your previous summary", task.previous_summary),
            "material": task.material,
            "max_length": settings.maxLength,
            "agent_name": member.name,
            "role": member.role,
        },
    )
    emit(runtime, "call_started", task, phase)
    try:
        reply = llm.complete(
            ctx.model(task.agent_id),
            member,
            llm.Call(task.agent_id, phase, task.round),
            llm.messages_for(system_prompt(ctx, task.agent_id), user),
            gate=ctx.gate,
        )
    except llm.CallFailed as exc:
        emit(runtime, "call_failed", task, phase, error=str(exc))
        return failure_update(task, phase, exc)
    text = prompts.cap_at_sentence(reply.text, settings.maxLength)
    summary = Summary(
        agent_id=task.agent_id,
        agent_role=member.role,
        for_round=task.round + 1,
        covers_through=task.covers_through,
        text=text,
        before_chars=task.before_chars,
        after_chars=len(text),
        method=settings.method,
        model=member.model,
        latency_ms=reply.usage.latency_ms,
        tokens_used=reply.usage.input_tokens + reply.usage.output_tokens,
        timestamp=now_iso(),
    )
    emit(runtime, "call_finished", task, phase, tokens=summary.tokens_used, latency_ms=summary.latency_ms)
    return {"summaries": [summary], "usage": [reply.usage]}
