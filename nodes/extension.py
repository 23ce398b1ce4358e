"""An extension's node: show the user's function a read-only view of the debate, check what it
returns, and record the run. A function that raises or returns something invalid becomes a
recorded failure of that run; the debate goes on."""

from __future__ import annotations

from typing import Any, Protocol

from langgraph.errors import GraphBubbleUp
from langgraph.runtime import Runtime

from dialectic.debate.context import DebateContext
from dialectic.debate.state import DebateState, ExtensionRun, Failure
from dialectic.extensions.api import Extension, ExtensionContext, coerce_update, data_json
from dialectic.extensions.view import debate_view
from dialectic.nodes.agent_call import now_iso


class ExtensionNode(Protocol):
    def __call__(self, state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]: ...


def extension_node(extension: Extension) -> ExtensionNode:
    def node(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
        return run_extension(extension, state, runtime)

    node.__name__ = extension.name
    return node


def run_extension(
    extension: Extension, state: DebateState, runtime: Runtime[DebateContext]
) -> dict[str, Any]:
    settings = runtime.context.settings
    round_number = state.get("round") or 1
    where = f"extension {extension.name!r} (after {extension.after}, round {round_number})"

    def log(message: str) -> None:
        runtime.stream_writer(
            {"event": "extension_message", "name": extension.name, "round": round_number, "message": message}
        )

    context = ExtensionContext(
        name=extension.name,
        position=extension.after,
        round=round_number,
        debate_id=runtime.execution_info.thread_id if runtime.execution_info else None,
        settings=settings,
        options=extension.options,
        log=log,
    )
    try:
        result = extension.function(debate_view(state, settings, extension.after), context)
    except GraphBubbleUp:
        raise  # an interrupt() inside the extension pauses the debate like any node's
    except Exception as exc:
        return _failed(extension, round_number, runtime, f"{where} raised {type(exc).__name__}: {exc}")
    try:
        update = coerce_update(result, [agent.id for agent in settings.agents])
        data = data_json(update.data)
    except ValueError as exc:
        return _failed(extension, round_number, runtime, f"{where} returned an invalid update: {exc}")
    run = ExtensionRun(
        name=extension.name,
        position=extension.after,
        round=round_number,
        timestamp=now_iso(),
        data=data,
        notes=update.notes,
        agent_notes=dict(update.agent_notes) if update.agent_notes is not None else None,
        report=update.report,
    )
    return {"extension_runs": [run]}


def _failed(
    extension: Extension, round_number: int, runtime: Runtime[DebateContext], error: str
) -> dict[str, Any]:
    runtime.stream_writer({"event": "extension_failed", "name": extension.name, "error": error})
    marker = ExtensionRun(
        name=extension.name, position=extension.after, round=round_number, timestamp=now_iso(), ok=False
    )
    failure = Failure(
        agent_id=extension.name, phase="extension", round=round_number, error=error, timestamp=now_iso()
    )
    return {"extension_runs": [marker], "failures": [failure]}
