"""The routers of the debate graph: where each join goes next.

Pure functions of the state and the run's settings. What comes next is decided in
``dialectic.debate.course`` (the same answers the joins check the budget against); a router
turns it into ``Send``s (one per call) or a node name, and fits in the extension nodes, which
run once per round at their position before the debate goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from langgraph.types import Send

from dialectic.configs.settings import RunSettings
from dialectic.debate import clarifications, course, tasks
from dialectic.debate.phases import (
    BESIDE,
    CLARIFY,
    CONVERGENCE,
    JUDGE_SUMMARY,
    ROUND,
    SETTLED_AT,
    SYNTHESIZE,
    Phase,
    next_in_round,
)
from dialectic.debate.state import DebateState

Route: TypeAlias = str | list[Send | str]
TOOLS_NODE = "tools"  # runs the tools a model's turn called (nodes/tools.py)


@dataclass(frozen=True)
class ExtensionPoints:
    """The first extension node at each position that has extensions (see graphs/extensions.py)."""

    heads: Mapping[str, str] = field(default_factory=dict)

    def due(self, position: str, state: DebateState) -> str | None:
        """The node to go to, if this position's extensions have not run in this round."""
        head = self.heads.get(position)
        round_number = state["round"]
        if head is None or any(
            run.name == head and run.round == round_number for run in state.get("extension_runs", [])
        ):
            return None
        return head


NO_EXTENSIONS = ExtensionPoints()


def calls_route(calls: course.Calls) -> list[Send | str]:
    """One ``Send`` per task (each call gets its own payload), and the judge's node if any."""
    route: list[Send | str] = [Send(task.kind, task) for task in calls.tasks]
    return [*route, calls.node] if calls.node else route


def retry(state: DebateState, settings: RunSettings, join: str) -> list[Send | str]:
    """After a pause for failed calls, resuming the debate retries exactly those calls."""
    return calls_route(course.retry_calls(state, settings, join))


def enter(phase: Phase, state: DebateState, settings: RunSettings, points: ExtensionPoints) -> Route:
    """Start a round phase's calls. A phase with none goes to its join all the same (so its
    extensions run), except a first-round-only phase in later rounds: then the debate goes on
    as if it had just finished."""
    calls = course.phase_calls(phase, state, settings)
    if calls.count:
        return calls_route(calls)
    if phase.first_round_only and state["round"] > 1:
        return points.due(phase.name, state) or continue_after(phase, state, settings, points)
    return phase.join


def after_join(phase: Phase, state: DebateState, settings: RunSettings, points: ExtensionPoints) -> Route:
    """After a round phase's join: retries after a pause, then the next step of the calls still
    taking turns with tools, then the extensions at this position, then on."""
    return (
        retry(state, settings, phase.join)
        or tool_turns(phase, state, settings)
        or points.due(phase.name, state)
        or continue_after(phase, state, settings, points)
    )


def tool_turns(phase: Phase, state: DebateState, settings: RunSettings) -> list[Send | str]:
    """Every call of the phase that uses tools moves one step: its tools run, or its model goes
    on with their answers. (All move together, so the join stays a barrier.)"""
    run_tools, go_on = course.loops(phase, state, settings)
    return [*(Send(TOOLS_NODE, task) for task in run_tools), *(Send(task.kind, task) for task in go_on)]


def continue_after(phase: Phase, state: DebateState, settings: RunSettings, points: ExtensionPoints) -> Route:
    """Where the debate goes once a round phase and its extensions are done."""
    following = next_in_round(phase)
    if following is None:
        return refinements_ready(state, settings, points)
    return enter(following, state, settings, points)


def refinements_ready(state: DebateState, settings: RunSettings, points: ExtensionPoints) -> Route:
    """After the refinements: the judge's summary or the convergence check if due, then the
    end-of-round extensions, then the next round or the judge."""
    calls = course.after_refinements(state, settings)
    if calls.count:
        return calls_route(calls)
    return points.due("round", state) or round_ready(state, settings)


def round_ready(state: DebateState, settings: RunSettings) -> str:
    """At the end of a round: the judge after the last round or on consensus, else the next
    round (through the pause for the user's note when steering)."""
    if course.debate_ends(state, settings):
        return SYNTHESIZE.node
    return "steer" if settings.steer else "begin_round"


def after_begin_round(state: DebateState, settings: RunSettings, points: ExtensionPoints) -> Route:
    return enter(ROUND[0], state, settings, points)


# --- where each router may go (the path maps that draw the graph) ----------------------------


def entering(phase: Phase, points: ExtensionPoints, next_round: str) -> list[str]:
    """Where starting a round phase may lead (see ``enter``)."""
    found = [phase.node, *(p.node for p in BESIDE.get(phase.name, ()))]
    if phase.first_round_only:
        found += [*_head(points, phase.name), *continuing(phase, points, next_round)]
    else:
        found.append(phase.join)
    return list(dict.fromkeys(found))


def continuing(phase: Phase, points: ExtensionPoints, next_round: str) -> list[str]:
    """Where the debate may go once a round phase and its extensions are done."""
    following = next_in_round(phase)
    if following is not None:
        return entering(following, points, next_round)
    return [JUDGE_SUMMARY.node, CONVERGENCE.node, *_head(points, "round"), *ending(next_round)]


def ending(next_round: str) -> list[str]:
    """Where the end of a round may lead (see ``round_ready``)."""
    return [next_round, SYNTHESIZE.node]


def after_joining(phase: Phase, points: ExtensionPoints, next_round: str) -> list[str]:
    """Where a round phase's join may lead (see ``after_join``): retries first."""
    retried = [p.node for p in SETTLED_AT[phase.join]] + [TOOLS_NODE]
    found = [*retried, *_head(points, phase.name), *continuing(phase, points, next_round)]
    return list(dict.fromkeys(found))


def _head(points: ExtensionPoints, position: str) -> list[str]:
    head = points.heads.get(position)
    return [head] if head else []


def clarify_sends(state: DebateState, agent_ids: list[str], iteration: int) -> list[Send]:
    return [Send(CLARIFY.node, task) for task in tasks.clarify_tasks(state, agent_ids, iteration)]


def start_clarifying(state: DebateState, settings: RunSettings) -> Route:
    agents = [agent.id for agent in settings.agents]
    return list(clarify_sends(state, agents, 1)) or "begin_round"


def after_answers(state: DebateState, settings: RunSettings) -> Route:
    """Follow-up questions from the agents that asked in the batch just answered, if any."""
    cap = settings.config.debate.clarificationsMaxIterations
    askers = clarifications.follow_up_askers(state, cap)
    return list(clarify_sends(state, askers, clarifications.current_batch(state))) or "begin_round"
