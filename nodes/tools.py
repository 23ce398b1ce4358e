"""Run the tools a model's turn called (LangGraph's prebuilt ``ToolNode`` runs them, in parallel,
turning any error into a message the model reads), record the answers, and send the call on to
its model with them. A node of its own, so that a debate stopped here resumes with the model's
turn kept and only the tools run again."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from langgraph.types import Command, Send

from dialectic.debate.context import DebateContext
from dialectic.debate.phases import of_call
from dialectic.debate.state import AgentTask

_NO_ANSWER = json.dumps({"status": "error", "error": "the tool gave no answer"})


def tools(task: AgentTask, runtime: Runtime[DebateContext]) -> Command[Any]:
    ctx = runtime.context
    step = task.turns[-1]
    request = AIMessage(
        content=step.text,
        tool_calls=[{"id": c.id, "name": c.name, "args": json.loads(c.arguments)} for c in step.calls],
    )
    phase = of_call(task.kind, task.agent_id, ctx.settings.judge.id)
    runtime.stream_writer(
        {
            "event": "tool_calls",
            "agent": task.agent_id,
            "phase": phase.name,
            "round": task.round,
            "target": task.target_agent_id,
            "calls": [{"name": c.name, "arguments": c.arguments} for c in step.calls],
        }
    )
    ran = ToolNode(ctx.tools_for(task.agent_id), handle_tool_errors=True).invoke({"messages": [request]})
    answers = {m.tool_call_id: m.text for m in ran["messages"] if isinstance(m, ToolMessage)}
    answered = step.model_copy(
        update={
            "calls": tuple(
                c.model_copy(update={"result": answers.get(c.id, _NO_ANSWER)}) for c in step.calls
            ),
            "answered": True,
        }
    )
    return Command(
        update={"tool_steps": [answered]},
        goto=Send(task.kind, task.model_copy(update={"turns": (*task.turns[:-1], answered)})),
    )
