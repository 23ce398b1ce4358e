"""The joins: a phase's join waits for every call of the phase (and of the phases that run
beside it), then settles their failures and checks that the budget covers what comes next.

Failures that pause the debate (see ``dialectic.debate.failures``: an outage, too few agents
left, a call the debate cannot do without) pause it here with a ``ProviderPause``: the CLI exits
3 with everything kept, and resuming retries exactly the failed calls (the join's router sends
them again). Failures that stand are left for the report; the debate goes on.
"""

from __future__ import annotations

from typing import Any, Protocol

from langgraph.runtime import Runtime

from dialectic.configs.settings import RunSettings
from dialectic.debate import course, failures
from dialectic.debate.context import DebateContext
from dialectic.debate.pauses import ProviderPause, pause
from dialectic.debate.phases import ROUND, SETTLED_AT, Phase
from dialectic.debate.state import DebateState
from dialectic.nodes.budget import require_budget


class JoinNode(Protocol):
    def __call__(self, state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]: ...


def join(name: str) -> JoinNode:
    """The node called ``name`` that joins the round phase it ends."""
    settled = SETTLED_AT[name]
    finished = next(phase for phase in ROUND if phase.join == name)

    def node(state: DebateState, runtime: Runtime[DebateContext]) -> dict[str, Any]:
        settings = runtime.context.settings
        # While calls still take turns with tools the phase is not over: nothing to settle yet.
        if not course.loops_pending(name, state, settings):
            _settle(state, settings, settled)
            runtime.stream_writer({"event": "phase_done", "phase": finished.name, "round": state["round"]})
        require_budget(state, runtime, lambda: course.next_calls(name, state, settings).counted())
        return {}

    node.__name__ = name
    return node


def _settle(state: DebateState, settings: RunSettings, settled: tuple[Phase, ...]) -> None:
    """Pause if failed calls of these phases call for it (one pause names them all)."""
    verdicts = [(p, v) for p in settled if (v := failures.pausing(state, settings, p)) is not None]
    if not verdicts:
        return
    first, (reason, _) = verdicts[0]
    calls = [failure for _, (_, found) in verdicts for failure in found]
    pause(
        ProviderPause(
            phase=first.name,
            round=state.get("round", 0),
            reason=reason,
            needed=settings.min_agents,
            taking_part=failures.participants(state, first, state.get("round", 0)),
            errors=[failure.error for failure in calls],
        )
    )
