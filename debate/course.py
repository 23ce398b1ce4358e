"""The course of a debate: which calls come next, as pure functions of the state and settings.

The graph's routers turn these answers into edges (adding the extension nodes, which make no
LLM calls); the joins ask the same questions to check that the budget covers what comes next.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialectic.configs.settings import RunSettings
from dialectic.debate import failures, history, ledger, tasks, turns
from dialectic.debate.phases import (
    BESIDE,
    CONVERGENCE,
    CRITIQUE,
    JUDGE_SUMMARY,
    PHASES,
    REFINE,
    ROUND,
    SETTLED_AT,
    SUMMARIZE,
    SYNTHESIZE,
    Phase,
    next_in_round,
)
from dialectic.debate.state import AgentTask, DebateState


@dataclass(frozen=True)
class Calls:
    """The next calls: ``tasks`` to send (one call each), or one call by the ``node`` (a judge
    phase); empty when the next step makes no LLM call."""

    phase: Phase | None = None
    tasks: tuple[AgentTask, ...] = ()
    node: str | None = None

    @property
    def count(self) -> int:
        return len(self.tasks) + (1 if self.node else 0)

    def counted(self) -> tuple[str, int]:
        """The phase and the number of calls, as a budget projection takes them."""
        return (self.phase.name if self.phase else "", self.count)


NONE = Calls()


def retry_calls(state: DebateState, settings: RunSettings, join: str) -> Calls:
    """After a pause for failed calls (see ``failures.pausing``), the calls a resume retries."""
    found = failures.pausing_failures(state, settings, SETTLED_AT[join])
    if not found:
        return NONE
    task_list = tuple(f.task for f in found if f.task is not None)
    nodes = [PHASES[f.phase].node for f in found if f.task is None]
    return Calls(PHASES[found[0].phase], task_list, nodes[0] if nodes else None)


def loops(phase: Phase, state: DebateState, settings: RunSettings) -> tuple[list[AgentTask], list[AgentTask]]:
    """The phase's calls whose model <-> tools loop goes on: (tools to run, models to go on)."""
    round_number = state["round"]
    # Most phases use no tools: then there is no loop, and no need to build the phase's tasks
    # (every join and router asks).
    if not any(s.kind == phase.node and s.round == round_number for s in state.get("tool_steps", [])):
        return [], []
    failed = [f for f in state.get("failures", []) if f.phase == phase.name and f.round == round_number]
    return turns.looping(tasks.phase_tasks(phase, state, settings), state, failed)


def loops_pending(join: str, state: DebateState, settings: RunSettings) -> bool:
    """Whether calls of the round phase this join ends are still taking turns with tools."""
    run_tools, go_on = loops(_finished_at(join), state, settings)
    return bool(run_tools or go_on)


def phase_calls(phase: Phase, state: DebateState, settings: RunSettings) -> Calls:
    """The calls of a round phase, with what runs beside it: the summaries for the next round
    run beside the refinements, and the judge's summary of the debate when it is due."""
    found = tasks.phase_tasks(phase, state, settings)
    beside = BESIDE.get(phase.name, ())
    if SUMMARIZE in beside:
        found += tasks.summary_tasks(state, settings)
    if JUDGE_SUMMARY in beside:
        found += _judge_summary(state, settings, ending=is_last_round(state, settings))
    return Calls(phase, tuple(found)) if found else NONE


def after_phase(phase: Phase, state: DebateState, settings: RunSettings) -> Calls:
    """The calls that follow a round phase (before the end of the round)."""
    following = next_in_round(phase)
    return phase_calls(following, state, settings) if following else after_refinements(state, settings)


def after_refinements(state: DebateState, settings: RunSettings) -> Calls:
    """After the refinements: the judge's summary of the debate if it is due (the debate ends
    after this round), or the convergence check if the termination condition asks for one; no
    call otherwise (the round ends)."""
    if is_last_round(state, settings) or consensus_reached(state, settings):
        summary = _judge_summary(state, settings, ending=True)
        return Calls(JUDGE_SUMMARY, tuple(summary)) if summary else NONE
    if convergence_due(state, settings):
        return Calls(CONVERGENCE, node=CONVERGENCE.node)
    return NONE


def debate_ends(state: DebateState, settings: RunSettings) -> bool:
    """At the end of a round: whether the judge synthesizes now (else the next round starts)."""
    return is_last_round(state, settings) or consensus_reached(state, settings)


def decided_otherwise(state: DebateState, before: RunSettings, after: RunSettings) -> bool:
    """Whether other settings (a fork's: more rounds, say) end the debate at the end of this
    round where these did not, or the reverse."""
    return debate_ends(state, before) != debate_ends(state, after)


def synthesis() -> Calls:
    return Calls(SYNTHESIZE, node=SYNTHESIZE.node)


def is_last_round(state: DebateState, settings: RunSettings) -> bool:
    return state["round"] >= settings.config.debate.rounds


def issues_settled(state: DebateState, settings: RunSettings) -> bool:
    """With ``issues`` termination, at the end of a round: no ledger item of the condition's
    severity or worse is still in dispute (see ``ledger.Item.unresolved``), and every critique of
    the round reported its items."""
    condition = settings.config.debate.terminationCondition
    if condition.type != "issues":
        return False
    round_number = state["round"]
    if not history.round_contributions(state, round_number, REFINE.writes or ""):
        return False
    # A critique whose block was lost (or a debate from before the ledger) says nothing about
    # what is open.
    critiques = history.round_contributions(state, round_number, CRITIQUE.writes or "")
    reported = [e for e in state.get("ledger", []) if e.kind == "reported" and e.round == round_number]
    if not critiques or len(reported) < len(critiques):
        return False
    found = ledger.of_state(state, [agent.id for agent in settings.agents])
    return not any(
        item.unresolved(round_number) and ledger.at_least(item.severity, condition.severity) for item in found
    )


def early_stop(state: DebateState, settings: RunSettings) -> str | None:
    """Why the debate ends before its last round, if it does: ``issues`` (no serious ledger item
    is in dispute) or ``consensus`` (the judge scored the panel's agreement at the threshold)."""
    if issues_settled(state, settings):
        return "issues"
    condition = settings.config.debate.terminationCondition
    scored = any(
        score.round == state["round"] and score.score >= condition.threshold
        for score in state.get("consensus", [])
    )
    return "consensus" if scored else None


def consensus_reached(state: DebateState, settings: RunSettings) -> bool:
    """The debate may end before its last round (see ``early_stop``)."""
    return early_stop(state, settings) is not None


def convergence_due(state: DebateState, settings: RunSettings) -> bool:
    """The termination condition scores agreement after each round but the last, once: not again
    after a score or a failure that stands (a failure that paused the debate is retried instead)."""
    if settings.config.debate.terminationCondition.type in ("fixed", "issues") or is_last_round(
        state, settings
    ):
        return False
    round_number = state["round"]
    return not any(s.round == round_number for s in state.get("consensus", [])) and not any(
        f.phase == CONVERGENCE.name and f.round == round_number for f in state.get("failures", [])
    )


def _judge_summary(state: DebateState, settings: RunSettings, *, ending: bool) -> list[AgentTask]:
    judged = any(
        f.agent_id == settings.judge.id and f.phase == JUDGE_SUMMARY.name and f.round == state["round"]
        for f in state.get("failures", [])
    )
    return [] if judged else tasks.judge_summary_tasks(state, settings, ending=ending)


def next_calls(join: str, state: DebateState, settings: RunSettings) -> Calls:
    """What a join leads to (extensions aside, which make no calls): the retries after a pause,
    else the next turns of calls using tools (running the tools makes no LLM call), else the
    next phase's calls; at the end of the last round, the synthesis."""
    retried = retry_calls(state, settings, join)
    if retried.count:
        return retried
    finished = _finished_at(join)
    run_tools, go_on = loops(finished, state, settings)
    if run_tools or go_on:
        return Calls(finished, tuple(go_on))
    calls = after_phase(finished, state, settings)
    if not calls.count and next_in_round(finished) is None and debate_ends(state, settings):
        return synthesis()
    return calls


def _finished_at(join: str) -> Phase:
    """The round phase a join ends."""
    return next(phase for phase in ROUND if phase.join == join)
