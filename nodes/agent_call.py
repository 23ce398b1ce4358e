"""What every node that calls a model shares: the system prompt, the progress events, and the
render → call → record step of the round phases.

A call that fails raises (``llm.CallFailed``): the node's retry policy retries it if it may
help, and after the last attempt the node's error handler (``nodes/failed.py``) records the
failure, so a failed call never cancels the sibling calls of its phase.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime
from pydantic import BaseModel

from dialectic import prompts
from dialectic.configs.providers import PROVIDERS, ProviderSpec
from dialectic.debate import ceiling
from dialectic.debate.context import DebateContext
from dialectic.debate.history import section
from dialectic.debate.phases import Phase
from dialectic.debate.state import AgentTask, CallUsage, Contribution, LedgerEntry, ToolCallRecord, ToolStep
from dialectic.nodes import ledger_block, llm
from dialectic.prompts.requirements import requirements_list

T = TypeVar("T", bound=BaseModel)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def attempt(runtime: Runtime[Any]) -> int:
    """This run of the node: 1, then 2, 3… as its retry policy retries it."""
    info = runtime.execution_info
    return info.node_attempt if info is not None else 1


def system_prompt(ctx: DebateContext, agent_id: str, phase: Phase) -> str:
    """The member's system prompt; with its perspective when the phase's template has no place
    for it (a user's template written before perspectives moved out of the system prompt)."""
    member = ctx.member(agent_id)
    template = ctx.settings.template(agent_id, "system")
    system = prompts.render(template, {"agent_name": member.name, "role": member.role})
    perspective = ctx.settings.perspective(agent_id)
    if perspective and not prompts.places(ctx.settings.template(agent_id, phase.template), "perspective"):
        system = f"{system.rstrip()}\n\n{perspective}"
    return system


def perspective_section(ctx: DebateContext, agent_id: str) -> str:
    """The ``{perspective}`` of a member's prompts: a section, gone when the member's own system
    prompt says who it is."""
    return section("Your perspective", ctx.settings.perspective(agent_id))


def ask(
    runtime: Runtime[DebateContext],
    phase: Phase,
    agent_id: str,
    round_number: int,
    user: str,
    *,
    target: str | None = None,
    event: dict[str, Any] | None = None,
    turns: Sequence[ToolStep] = (),
    tools: Sequence[BaseTool] = (),
    closing: str | None = None,
    shared: int = 0,
) -> llm.Reply:
    """One text call by ``agent_id`` in ``phase``, with its progress events (``event`` adds
    fields to them). A call using tools goes on after its ``turns`` so far, may call ``tools``,
    and gets ``closing`` as a last message. ``shared``: the length of ``user``'s shared part
    (``prompts.shared_length``), marked for providers that cache only marked prefixes."""
    ctx = runtime.context
    call = llm.Call(agent_id, phase.name, round_number, target, phase.speaks_as)
    described = _describe(call, event)
    messages = [*_messages(ctx, call, phase, user, shared), *replay(turns)]
    if closing:
        messages.append(HumanMessage(content=closing))
    spec, model = _provider(ctx, agent_id)
    choice = spec.replay_tool_choice(model) if spec is not None and turns and not tools else None
    if choice is not None:
        # Its API refuses a request replaying tool calls that offers no tools: offered, not callable.
        tools = ctx.tools_for(agent_id)
    elif tools and spec is not None and spec.marks_cache(model):
        # Another turn may follow (the model may call the tools): it reads this one from the cache.
        messages = llm.marked_last(messages, tool_results=spec.tool_result_marks)
    _over_ceiling(runtime, call, messages)
    runtime.stream_writer({"event": "call_started", **described})
    reply = llm.complete(
        ctx.model(call.agent_id),
        ctx.member(call.agent_id),
        call,
        messages,
        attempt=attempt(runtime),
        gate=ctx.gate,
        tools=tools,
        tool_choice=choice,
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
    shared: int = 0,
) -> tuple[T, CallUsage]:
    """One structured call (a validated ``schema`` instance), with its progress events."""
    ctx = runtime.context
    call = llm.Call(agent_id, phase.name, round_number, None, phase.speaks_as)
    described = _describe(call, event)
    messages = _messages(ctx, call, phase, user, shared)
    _over_ceiling(runtime, call, messages)
    runtime.stream_writer({"event": "call_started", **described})
    value, usage = llm.complete_structured(
        ctx.model(call.agent_id),
        ctx.member(call.agent_id),
        call,
        messages,
        schema,
        attempt=attempt(runtime),
        gate=ctx.gate,
        on_repair=lambda why: runtime.stream_writer(  # where the TypeScript tool warns of a missing block
            {
                "event": "warning",
                "message": f"{call.agent_id} ({call.phase}): the reply had no valid {schema.__name__} "
                f"block ({why}); asked again",
            }
        ),
    )
    _finished(runtime, described, usage)
    return value, usage


def _messages(ctx: DebateContext, call: llm.Call, phase: Phase, user: str, shared: int) -> list[BaseMessage]:
    """The call's system and user messages; for a provider that caches only what a request marks,
    marked at the end of the system prompt and of the user message's shared part."""
    system = system_prompt(ctx, call.agent_id, phase)
    spec, model = _provider(ctx, call.agent_id)
    marks = spec is not None and spec.marks_cache(model)
    return llm.messages_for(system, user, shared=shared if marks else None)


def _provider(ctx: DebateContext, agent_id: str) -> tuple[ProviderSpec | None, str]:
    """The member's provider spec (None for one without: the offline model) and its model."""
    member = ctx.member(agent_id)
    return PROVIDERS.get(member.provider), member.model


def _over_ceiling(runtime: Runtime[DebateContext], call: llm.Call, messages: Sequence[BaseMessage]) -> None:
    """A warning when a prompt is larger than debate.maxPromptTokens after all: the material the
    ceiling cannot summarise away (the final designs, the critiques of one round) outgrew it."""
    limit = runtime.context.settings.config.debate.maxPromptTokens
    size = sum(ceiling.tokens(llm.text_of(m)) for m in messages)
    if size > limit:
        runtime.stream_writer(
            {
                "event": "warning",
                "message": f"{call.agent_id} ({call.phase}, round {call.round}): a prompt of about {size:,} "
                f"tokens, over debate.maxPromptTokens ({limit:,}): replies are long for this many agents",
            }
        )


def _describe(call: llm.Call, event: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "agent": call.agent_id,
        "phase": call.phase,
        "round": call.round,
        "target": call.target,
        **(event or {}),
    }


def _finished(runtime: Runtime[DebateContext], described: dict[str, Any], usage: CallUsage) -> None:
    runtime.stream_writer({"event": "call_finished", **described, **spent(usage)})


def spent(usage: CallUsage) -> dict[str, int]:
    """What a call's event says it cost (a failed call's too, for the replies it was billed)."""
    return {"tokens": usage.input_tokens + usage.output_tokens, "latency_ms": usage.latency_ms}


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
        "perspective": perspective_section(ctx, task.agent_id),
        "proposal": task.material,
        "proposals": task.material,
        "critiques": task.critiques,
        "target_proposal": task.material,
    }
    if task.target_agent_id:
        target = ctx.member(task.target_agent_id)
        values.update(target_name=target.name, target_role=target.role)
    return values


# The template of what a model is told once its turns with tools are spent (it is then asked
# once more, without tools).
TOOLS_SPENT = "tools_spent"
# How much of each tool result the debate JSON and the report keep (the model saw all of it).
RECORDED_RESULT_CHARS = 2000


def contribute(
    task: AgentTask, runtime: Runtime[DebateContext], phase: Phase, template: str | None = None
) -> dict[str, Any]:
    """A round phase's call: fill the agent's template for the phase, ask, record the
    contribution and its usage. An agent with tools may answer with tool calls instead: that
    turn is recorded (its tools run in the next step, see ``dialectic.debate.turns``) and the
    call goes on from it, at most ``toolCallLimit`` turns, then once more without tools."""
    ctx = runtime.context
    member = ctx.member(task.agent_id)
    text = ctx.settings.template(task.agent_id, template or phase.template)
    if phase.material == "proposal_and_critiques" and task.material and not prompts.places(text, "proposal"):
        # A task that carries the agent's current design apart (one stored by an earlier version,
        # retried on resume) while the template reads it from the history: shown apart all the same.
        text += "\n## Your current proposal\n\n{proposal}\n"
    values = template_values(task, ctx)
    user = prompts.render(text, values)
    shared = prompts.shared_length(text, values)
    with_block = ledger_block.wanted(task, phase)
    if with_block:
        user += ledger_block.prompt_part(ctx, task, phase)
    toolset = ctx.tools_for(task.agent_id)
    spent = bool(toolset) and len(task.turns) >= member.toolCallLimit

    def call(closing: str | None, tools: Sequence[BaseTool] = ()) -> llm.Reply:
        return ask(
            runtime,
            phase,
            task.agent_id,
            task.round,
            user,
            target=task.target_agent_id,
            turns=task.turns,
            tools=tools,
            closing=closing,
            shared=shared,
        )

    reply = call(
        ctx.settings.template(task.agent_id, TOOLS_SPENT).strip() if spent else None,
        () if spent else toolset,
    )
    usage = reply.usage
    tokens = usage.input_tokens + usage.output_tokens
    if reply.tool_calls:
        return {"tool_steps": [tool_step(task, reply, tokens)], "usage": [usage]}
    content = reply.text
    entries: list[LedgerEntry] = []
    repairs: list[CallUsage] = []
    if with_block:

        def repair(closing: str) -> tuple[str, CallUsage]:
            again = call(closing)  # no tools: only the block is asked for
            return again.text, again.usage

        content, entries, repairs = ledger_block.settle(runtime, task, phase, reply.text, repair)
        tokens += sum(r.input_tokens + r.output_tokens for r in repairs)
    contribution = Contribution(
        round=task.round,
        agent_id=task.agent_id,
        agent_role=member.role,
        type=phase.writes or phase.name,
        content=content,
        target_agent_id=task.target_agent_id,
        model=member.model,
        latency_ms=usage.latency_ms + sum(step.latency_ms for step in task.turns),
        tokens_used=tokens + sum(step.tokens for step in task.turns),
        tool_calls=tuple(
            call.model_copy(update={"result": recorded(call.result)})
            for step in task.turns
            for call in step.calls
        ),
        tool_turns=len(task.turns),
        timestamp=now_iso(),
    )
    return {"contributions": [contribution], "usage": [usage, *repairs], "ledger": entries}


def recorded(result: str) -> str:
    """A tool result as the debate JSON keeps it: whole if short, else still valid JSON, with its
    status and the start of what the model read."""
    if len(result) <= RECORDED_RESULT_CHARS:
        return result
    try:
        status = json.loads(result).get("status", "success")
    except (ValueError, AttributeError):
        status = "success"
    return json.dumps({"status": status, "truncated": True, "preview": result[:RECORDED_RESULT_CHARS]})


def tool_step(task: AgentTask, reply: llm.Reply, tokens: int) -> ToolStep:
    """A model turn that called tools, as the call's next step (its results still to come)."""
    turn = len(task.turns) + 1
    return ToolStep(
        kind=task.kind,
        agent_id=task.agent_id,
        target_agent_id=task.target_agent_id,
        round=task.round,
        turn=turn,
        text=reply.text,
        calls=tuple(
            # Some providers (Ollama) give no call ids: the turn and position make one.
            ToolCallRecord(
                id=call.get("id") or f"call-{turn}-{index}",
                name=call["name"],
                arguments=json.dumps(call["args"]),
            )
            for index, call in enumerate(reply.tool_calls, 1)
        ),
        tokens=tokens,
        latency_ms=reply.usage.latency_ms,
    )


def replay(turns: Sequence[ToolStep]) -> list[BaseMessage]:
    """A call's turns so far as messages: each model turn with its tool calls, then the answers."""
    messages: list[BaseMessage] = []
    for step in turns:
        messages.append(
            AIMessage(
                content=step.text,
                tool_calls=[
                    {"id": c.id, "name": c.name, "args": json.loads(c.arguments)} for c in step.calls
                ],
            )
        )
        messages += [ToolMessage(content=c.result, tool_call_id=c.id, name=c.name) for c in step.calls]
    return messages
