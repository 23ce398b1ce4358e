"""The payload of every call a phase makes, built from the state: one ``AgentTask`` per call,
carrying all the material the call needs, so the calls run in parallel (one ``Send`` each) and a
crash loses only the calls still in flight.

What a task carries follows the phase's row in the phase table: its fan-out (who calls, about
whom) and its material. The agent's own history never repeats what the material holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dialectic.configs.settings import RunSettings
from dialectic.debate import history
from dialectic.debate.phases import JUDGE_SUMMARY, SUMMARIZE, Phase
from dialectic.debate.state import AgentTask, ClarifyTask, Contribution, DebateState
from dialectic.prompts import embed


def proposers(state: DebateState, round_number: int) -> list[Contribution]:
    """The round's proposals: the agents still in the debate."""
    return history.round_contributions(state, round_number, "proposal")


def critiques_received(state: DebateState, agent_id: str, round_number: int) -> list[Contribution]:
    """Critiques aimed at the agent, and batched critiques (aimed at every peer) by others."""
    return [
        c
        for c in history.round_contributions(state, round_number, "critique")
        if history.aimed_at(c, agent_id)
    ]


def phase_tasks(phase: Phase, state: DebateState, settings: RunSettings) -> list[AgentTask]:
    """Every call of a round phase, in a reproducible order."""
    round_number = state["round"]
    if phase.first_round_only and round_number > 1:
        return []
    if phase.writes == "proposal":  # the phase that brings the agents into the debate
        callers = [agent.id for agent in settings.agents]
    else:
        callers = [p.agent_id for p in proposers(state, round_number)]
    tasks: list[AgentTask] = []
    for agent_id in callers:
        for target, material, critiques, shown in _materials(phase, state, settings, agent_id):
            tasks.append(
                _task(
                    state,
                    kind=phase.node,
                    agent_id=agent_id,
                    round=round_number,
                    history=history.agent_history(
                        state,
                        agent_id,
                        round_number,
                        (round_number, phase.order),
                        exclude=[*shown, *_repeated(state, shown)],
                    ),
                    target_agent_id=target,
                    material=material,
                    critiques=critiques,
                )
            )
    return tasks


_Material = tuple[str | None, str, str, Sequence[Contribution]]  # target, material, critiques, shown


def _materials(phase: Phase, state: DebateState, settings: RunSettings, agent_id: str) -> list[_Material]:
    """What each of the agent's calls in this phase is about: one entry per call."""
    round_number = state["round"]
    if phase.material == "peer_proposal":
        peers = [p for p in proposers(state, round_number) if p.agent_id != agent_id]
        if settings.config.debate.critiqueMode == "batched":  # one call covering every peer
            return [(None, history.proposals_text([_embedded(p) for p in peers]), "", peers)] if peers else []
        return [(p.agent_id, embed(p.content), "", [p]) for p in peers]
    if phase.material == "proposal_and_critiques":
        own = [p for p in proposers(state, round_number) if p.agent_id == agent_id]
        received = critiques_received(state, agent_id, round_number)
        critiques = history.critiques_text([_embedded(c) for c in received])
        return [(None, embed(own[0].content) if own else "", critiques, [*own, *received])]
    return [(None, "", "", [])]


def _task(state: DebateState, *, agent_id: str, **fields: object) -> AgentTask:
    return AgentTask(
        problem=embed(state["problem"]),
        clarifications=history.clarifications_text(state.get("clarifications", [])),
        notes=history.notes_text(state, agent_id),
        agent_id=agent_id,
        **fields,
    )


def summary_tasks(state: DebateState, settings: RunSettings) -> list[AgentTask]:
    """Summaries of the agents' histories for the next round (none after the last round), for
    the agents whose history has grown past their threshold."""
    round_number = state["round"]
    if round_number >= settings.config.debate.rounds:
        return []
    tasks = []
    for proposal in proposers(state, round_number):
        agent_id = proposal.agent_id
        limits = settings.summarization(agent_id)
        if not limits.enabled:
            continue
        summary, entries = history.history_material(state, agent_id, round_number, (round_number, 2))
        full = history.history_text(summary, entries, agent_id)
        if len(full) <= limits.threshold or not entries:
            continue
        tasks.append(
            AgentTask(
                kind=SUMMARIZE.node,
                agent_id=agent_id,
                round=round_number,
                problem=embed(state["problem"]),
                previous_summary=summary.text if summary else "",
                material=embed(history.history_text(None, entries, agent_id)),
                covers_through=(round_number, 1),
                before_chars=len(full),
            )
        )
    return tasks


def judge_summary_task(state: DebateState, settings: RunSettings) -> AgentTask | None:
    """The judge's summary of the debate, when the judge reads the whole debate and its
    transcript is over the judge's threshold (once per round)."""
    round_number = state["round"]
    judge = settings.judge
    limits = settings.summarization(judge.id)
    if not limits.enabled or not settings.config.debate.includeFullHistory:
        return None
    if any(s.agent_id == judge.id and s.for_round == round_number + 1 for s in state.get("summaries", [])):
        return None
    full = history.transcript_text(state.get("contributions", []), (round_number, 2))
    if len(full) <= limits.threshold:
        return None
    return AgentTask(
        kind=JUDGE_SUMMARY.node,
        agent_id=judge.id,
        round=round_number,
        problem=embed(state["problem"]),
        material=embed(full),
        covers_through=(round_number, 1),
        before_chars=len(full),
    )


def clarify_tasks(state: DebateState, agent_ids: Iterable[str], iteration: int) -> list[ClarifyTask]:
    """One clarification call per agent; every agent sees all the Q&A so far."""
    qa = history.clarifications_text(state.get("clarifications", []))
    problem = embed(state["problem"])
    return [
        ClarifyTask(agent_id=agent_id, iteration=iteration, problem=problem, clarifications=qa)
        for agent_id in agent_ids
    ]


def _embedded(contribution: Contribution) -> Contribution:
    return contribution.model_copy(update={"content": embed(contribution.content)})


def _repeated(state: DebateState, shown: Sequence[Contribution]) -> list[Contribution]:
    """Earlier contributions a shown one repeats word for word: a round's carried-over proposal
    repeats the agent's refinement of the round before."""
    return [
        c
        for c in state.get("contributions", [])
        if not c.carried and any(c.agent_id == s.agent_id and c.content == s.content for s in shown)
    ]
