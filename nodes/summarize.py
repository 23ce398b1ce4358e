"""An incremental summary of one agent's history (or of the debate, for the judge): the previous
summary plus the material since, cut to ``maxLength`` at a sentence boundary."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic import prompts
from dialectic.debate.context import DebateContext
from dialectic.debate.history import section
from dialectic.debate.phases import SUMMARIZE, of_call
from dialectic.debate.state import AgentTask, Summary
from dialectic.nodes.agent_call import ask, now_iso, perspective_section
from dialectic.prompts.requirements import requirements_list


def summarize(task: AgentTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    ctx = runtime.context
    member = ctx.member(task.agent_id)
    limits = ctx.settings.summarization(task.agent_id)
    phase = of_call(SUMMARIZE.node, task.agent_id, ctx.settings.judge.id)
    template = ctx.settings.template(task.agent_id, phase.template)
    if task.material and not prompts.places(template, "material"):
        # A task whose material the template has no place for (one stored by an earlier version,
        # retried on resume): the material goes after the template all the same.
        template = prompts.with_material(template)
    values = {
        "problem": task.problem,
        "requirements": requirements_list(task.problem),
        "clarifications": task.clarifications,
        "notes": task.notes,
        "perspective": perspective_section(ctx, task.agent_id),
        "history": task.history,
        "previous_summary": section("Your previous summary", task.previous_summary),
        "material": task.material,
        "critiques": task.critiques,
        "max_length": limits.maxLength,
        "agent_name": member.name,
        "role": member.role,
    }
    user = prompts.render(template, values)
    reply = ask(
        runtime, phase, task.agent_id, task.round, user, shared=prompts.shared_length(template, values)
    )
    text = prompts.cap_at_sentence(reply.text, limits.maxLength)
    summary = Summary(
        agent_id=task.agent_id,
        agent_role=member.role,
        for_round=task.round + 1,
        covers_through=task.covers_through,
        text=text,
        before_chars=task.before_chars,
        after_chars=len(text),
        method=limits.method,
        part=task.part,
        parts=task.parts,
        model=member.model,
        latency_ms=reply.usage.latency_ms,
        tokens_used=reply.usage.input_tokens + reply.usage.output_tokens,
        timestamp=now_iso(),
    )
    return {"summaries": [summary], "usage": [reply.usage]}
