"""One evaluator call: send the rendered prompt, keep the JSON object of the reply.

The node runs under the LLM retry policy (``nodes/llm.py``): a failure worth retrying is raised
for LangGraph to retry the node; after the last attempt a failed call, or a reply with nothing
usable in it, becomes an outcome with an error, so one evaluator's outage never cancels its
siblings (the caller skips it with a warning).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic.evaluation.parsing import (
    SCORES_SCHEMA,
    VERDICT_SCHEMA,
    JsonObject,
    first_json_object,
    read_verdict,
    response_format,
)
from dialectic.evaluation.scores import has_any_score
from dialectic.evaluation.state import EvaluationContext, EvaluationOutcome, EvaluationTask
from dialectic.nodes import llm
from dialectic.nodes.agent_call import attempt, spent


def evaluate(task: EvaluationTask, runtime: Runtime[EvaluationContext]) -> dict[str, Any]:
    phase = "compare" if task.order else "evaluate"
    event = {"agent": task.evaluator_id, "phase": phase, "run": task.run, "order": task.order}
    runtime.stream_writer({"event": "call_started", **event})
    try:
        reply = _ask(task, runtime.context, phase, attempt(runtime))
    except llm.CallFailed as exc:
        if exc.retryable:
            raise
        runtime.stream_writer({"event": "call_failed", **event, "error": str(exc)})
        return {"outcomes": [EvaluationOutcome(**task.model_dump(), error=str(exc))]}
    parsed = first_json_object(reply.text)
    error = unusable(parsed, phase)
    runtime.stream_writer(
        {
            "event": "call_finished" if error is None else "call_failed",
            **event,
            "error": error,
            **spent(reply.usage),
        }
    )
    outcome = EvaluationOutcome(
        **task.model_dump(), reply=parsed, text=reply.text, error=error, usage=reply.usage
    )
    return {"outcomes": [outcome]}


_SHAPES = {"evaluate": ("evaluation", SCORES_SCHEMA), "compare": ("verdict", VERDICT_SCHEMA)}


def _ask(task: EvaluationTask, ctx: EvaluationContext, phase: str, attempt: int) -> llm.Reply:
    """The call, with the reply's shape as response format. A server that rejects response
    formats (HTTP 400) gets the same prompt without one: the prompt itself asks for JSON."""
    prompt = ctx.prompt(task)
    model, member = ctx.model(task.evaluator_id), ctx.members[task.evaluator_id]
    call = llm.Call(task.evaluator_id, phase, task.run, task.order)
    messages = llm.messages_for(prompt.system, prompt.user)
    try:
        return llm.complete(
            model,
            member,
            call,
            messages,
            attempt=attempt,
            gate=ctx.gate,
            response_format=response_format(*_SHAPES[phase]),
        )
    except llm.CallFailed as exc:
        if exc.transient or llm.status_code(exc.__cause__ or exc) != 400:
            raise
        return llm.complete(model, member, call, messages, attempt=attempt, gate=ctx.gate)


def unusable(reply: JsonObject | None, phase: str) -> str | None:
    """Why a reply cannot be used, or None when it can."""
    if reply is None:
        return "the reply held no JSON object"
    if phase == "evaluate" and not has_any_score(reply):
        return "the reply held no score for any metric"
    if phase == "compare" and read_verdict(reply) is None:
        return 'the reply held no "winner" of 1, 2 or tie'
    return None
