"""The join after each phase: wait for every call of the phase, then check the quorum.

If failed calls leave fewer than ``minAgents`` agents taking part, the debate pauses here with
an interrupt (the CLI exits 3 and keeps everything); resuming it retries exactly the failed calls
(see ``routing.retry_sends``).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from dialectic.graphs import routing
from dialectic.graphs.context import DebateContext
from dialectic.graphs.state import DebateState

PROVIDER_FAILURE = "provider_failure"


def _check_quorum(state: DebateState, runtime: Runtime[DebateContext], phase: str) -> dict[str, Any]:
    ctx = runtime.context
    if routing.quorum_lost(state, ctx, phase):
        round_number = state["round"]
        failures = routing.outstanding_failures(state, [phase], round_number)
        interrupt(
            {
                "kind": PROVIDER_FAILURE,
                "phase": phase,
                "round": round_number,
                "needed": ctx.settings.min_agents,
                "taking_part": routing.participants(state, phase, round_number),
                "errors": [f.error for f in failures],
            }
        )
    runtime.stream_writer({"event": "phase_done", "phase": phase, "round": state["round"]})
    return {}


def proposals_done(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    return _check_quorum(state, runtime, "propose")


def critiques_done(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    return _check_quorum(state, runtime, "critique")


def round_done(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    return _check_quorum(state, runtime, "refine")
