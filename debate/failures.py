"""What failed calls mean for a debate, as pure functions of its state.

A failure is *resolved* once a later retry of the same call succeeded. An unresolved failure
either *pauses* the debate at its phase's join — a transient failure (the provider was down,
timed out, rate-limited us), a call the debate cannot do without, or too few agents left — so
that resuming retries exactly those calls and the debate completes whole; or it *stands*: the
debate goes on without that call and finishes ``degraded``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from dialectic.configs.settings import RunSettings
from dialectic.debate import turns
from dialectic.debate.history import round_contributions
from dialectic.debate.phases import PHASES, Phase
from dialectic.debate.state import AgentTask, DebateState, Failure

PauseReason = Literal["outage", "quorum", "required"]


def task_done(state: DebateState, task: AgentTask) -> bool:
    """Whether the call described by ``task`` has its result in the state."""
    writes = PHASES[task.kind].writes
    if writes is None:  # a summary (or a part of one), used from the next round on
        return any(
            s.agent_id == task.agent_id and s.for_round == task.round + 1 and s.part == task.part
            for s in state.get("summaries", [])
        )
    return any(
        c.round == task.round
        and c.type == writes
        and c.agent_id == task.agent_id
        and c.target_agent_id == task.target_agent_id
        for c in state.get("contributions", [])
    )


def resolved(state: DebateState, failure: Failure) -> bool:
    """A later attempt made the call good (or, for a call using tools, got further than the
    turn that failed)."""
    if failure.task is not None:
        return task_done(state, failure.task) or turns.progressed(state, failure)
    if failure.phase == "convergence":
        return any(score.round == failure.round for score in state.get("consensus", []))
    if failure.phase == "synthesize":
        return state.get("final_solution") is not None
    return False  # clarifying questions and extensions are never retried


def outstanding(state: DebateState, phases: Iterable[str], round_number: int) -> list[Failure]:
    """The unresolved failures of these phases in this round, the latest per call."""
    wanted = set(phases)
    found: dict[tuple[str, str, str | None, int], Failure] = {}
    for failure in state.get("failures", []):
        if failure.phase in wanted and failure.round == round_number and not resolved(state, failure):
            target = failure.task.target_agent_id if failure.task else None
            part = failure.task.part if failure.task else 1
            found[(failure.phase, failure.agent_id, target, part)] = failure
    return list(found.values())


def unrecovered(state: DebateState) -> list[Failure]:
    """Every failure no retry made good: a debate that finishes with any is ``degraded``."""
    return [f for f in state.get("failures", []) if not resolved(state, f)]


def participants(state: DebateState, phase: Phase, round_number: int) -> list[str]:
    """Agents that took part in a phase this round (a proposal, a critique, a refinement). With
    fewer than two proposals nobody can critique: then every proposer counts as taking part."""
    proposers = round_contributions(state, round_number, "proposal")
    if phase.fanout == "peers" and len(proposers) < 2:
        return [p.agent_id for p in proposers]
    made = round_contributions(state, round_number, phase.writes or "")
    return list(dict.fromkeys(c.agent_id for c in made))


def pausing(
    state: DebateState, settings: RunSettings, phase: Phase
) -> tuple[PauseReason, list[Failure]] | None:
    """Why this phase's failures in the current round pause the debate, and which calls a resume
    retries; None when the debate goes on (possibly degraded)."""
    round_number = state.get("round", 0)
    failures = outstanding(state, [phase.name], round_number)
    if not failures or phase.optional:
        return None
    if phase.required:
        return "required", failures
    if settings.config.debate.onTransientFailure == "pause":
        transient = [f for f in failures if f.transient]
        if transient:
            return "outage", transient
    if phase.quorum and len(participants(state, phase, round_number)) < settings.min_agents:
        return "quorum", failures
    return None


def pausing_failures(state: DebateState, settings: RunSettings, phases: Sequence[Phase]) -> list[Failure]:
    """The calls a resume retries among these phases (those whose failures paused the debate)."""
    found: list[Failure] = []
    for phase in phases:
        verdict = pausing(state, settings, phase)
        if verdict is not None:
            found += verdict[1]
    return found
