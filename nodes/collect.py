"""The join after each phase: wait for every call of the phase, check the quorum, and check
that the budget covers the next phase.

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
from dialectic.nodes.budget import require_budget

PROVIDER_FAILURE = "provider_failure"


def _check_quorum(state: DebateState, runtime: Runtime[DebateContext], phase: str) -> None:
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


def _calls(route: Any) -> int:
    """How many LLM calls the router's decision starts (a node name: one call, or none)."""
    if isinstance(route, list):
        return len(route)
    return 1 if route in ("judge", "convergence") else 0


def proposals_done(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    _check_quorum(state, runtime, "propose")
    require_budget(state, runtime, lambda: ("critique", _calls(routing.after_proposals(state, runtime))))
    return {}


def critiques_done(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    _check_quorum(state, runtime, "critique")
    require_budget(state, runtime, lambda: ("refine", _calls(routing.after_critiques(state, runtime))))
    return {}


def round_done(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    _check_quorum(state, runtime, "refine")
    require_budget(state, runtime, lambda: _next_phase(routing.after_round(state, runtime)))
    return {}


def _next_phase(route: Any) -> tuple[str, int]:
    return ("synthesize" if route == "judge" else str(route)), _calls(route)
