"""The payload of every call a phase makes, built from the state: one ``AgentTask`` per call,
carrying all the material the call needs, so the calls run in parallel (one ``Send`` each) and a
crash loses only the calls still in flight.

What a task carries follows the phase's row in the phase table: its fan-out (who calls, about
whom) and its material. The agent's own history never repeats what the material holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dialectic.configs.settings import RunSettings
from dialectic.debate import ceiling, history, ledger
from dialectic.debate.phases import CRITIQUE, JUDGE_SUMMARY, SUMMARIZE, SYNTHESIZE, Phase
from dialectic.debate.state import AgentTask, ClarifyTask, Contribution, DebateState, Summary
from dialectic.prompts import embed, places
from dialectic.prompts.requirements import requirements_list


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
    found = ledger.of_state(state, [agent.id for agent in settings.agents]) if phase.block else []
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
                        (round_number, min(phase.order, CRITIQUE.order)),
                        exclude=[*shown, *_repeated(state, shown)],
                    ),
                    target_agent_id=target,
                    material=material,
                    critiques=critiques,
                    ledger=_ledger_text(phase, found, agent_id, target),
                )
            )
    return tasks


def _ledger_text(phase: Phase, found: list[ledger.Item], agent_id: str, target: str | None) -> str:
    """The ledger items a call answers (a refinement: the open items against its author) or
    rules on (a critique: the critic's items whose answer awaits its verdict)."""
    if phase.block == "responses":
        return history.section(
            "Open items against your design", ledger.open_items_text(ledger.open_against(found, agent_id))
        )
    if phase.block == "findings":
        due = ledger.verdicts_due_text(ledger.awaiting_verdict(found, agent_id, target))
        return history.section(
            "Your items against this design" if target else "Your items against these designs", due
        )
    return ""


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
        # The agent's current design is the newest in its history, unless the template shows it
        # apart (a user's template with {proposal}): then the history leaves it out.
        own = [p for p in proposers(state, round_number) if p.agent_id == agent_id]
        if not uses(settings, agent_id, phase, "proposal"):
            own = []
        received = critiques_received(state, agent_id, round_number)
        critiques = history.critiques_text([_embedded(c) for c in received])
        return [(None, embed(own[0].content) if own else "", critiques, [*own, *received])]
    return [(None, "", "", [])]


def uses(settings: RunSettings, agent_id: str, phase: Phase, placeholder: str) -> bool:
    """Whether the agent's template for the phase places this value."""
    return places(settings.template(agent_id, phase.template), placeholder)


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
    the agents whose history has grown past their threshold, or past what the prompt ceiling
    leaves for it (then whatever the summarization settings say)."""
    round_number = state["round"]
    if round_number >= settings.config.debate.rounds:
        return []
    found = []
    for proposal in proposers(state, round_number):
        agent_id = proposal.agent_id
        limits = settings.summarization(agent_id)
        summary, entries = history.history_material(state, agent_id, round_number, (round_number, 2))
        full = history.history_text(summary, entries, agent_id)
        due = limits.enabled and len(full) > limits.threshold
        if not entries or not (due or ceiling.tokens(full) > ceiling.history_budget(settings)):
            continue
        found += _agent_summary(state, settings, agent_id, summary, entries, len(full))
    return found


def _agent_summary(
    state: DebateState,
    settings: RunSettings,
    agent_id: str,
    summary: Summary | None,
    entries: list[Contribution],
    before_chars: int,
) -> list[AgentTask]:
    """An agent's summary calls. A template that places the agent's ``{history}`` gets its
    history and the critiques it received this round exactly as its refinement's prompt has them
    (a provider's prompt cache then serves all that); any other template gets the previous
    summary and everything since as the material."""
    round_number = state["round"]
    if not uses(settings, agent_id, SUMMARIZE, "history"):
        rendered = [history.render_entry(entry, agent_id) for entry in entries]
        return _summary_parts(state, settings, agent_id, summary, rendered, before_chars)
    this_round = (round_number, CRITIQUE.order)
    earlier = [e for e in entries if e.position < this_round]
    told = history.section("Your history in this debate", history.history_text(summary, earlier, agent_id))
    received = history.critiques_text(
        [_embedded(c) for c in critiques_received(state, agent_id, round_number)]
    )
    # Its own critiques of the others are material only for a template that asks for them: the
    # built-in one leaves them out (the others' refinements answer them, and the judge reads
    # them in the others' summaries as critiques received).
    own = [
        history.render_entry(e, agent_id)
        for e in entries
        if e.position >= this_round
        and e.agent_id == agent_id
        and uses(settings, agent_id, SUMMARIZE, "material")
    ]
    return _summary_parts(
        state, settings, agent_id, None, own or [""], before_chars, told=told, critiques=received
    )


def judge_summary_tasks(state: DebateState, settings: RunSettings, *, ending: bool) -> list[AgentTask]:
    """The judge's summary of what it reads of the debate (see ``history.judge_reading``) that
    no summary covers yet, when the judge reads the whole debate; once per round. When the
    debate ends after this round (``ending``): if that is over the judge's threshold, or would
    not fit in the synthesis's prompt. Before: only if the panelists' own summaries will not
    cover it and it would outgrow one summary call by the end of the next round, so no prompt
    ever has to hold more than a round or two of the debate."""
    round_number = state["round"]
    judge = settings.judge
    if not settings.config.debate.includeFullHistory:
        return []
    summaries = state.get("summaries", [])
    if any(s.agent_id == judge.id and s.for_round == round_number + 1 for s in summaries):
        return []
    reading = history.judge_reading(state, judge.id, round_number + 1)
    contributions = state.get("contributions", [])
    entries = history.transcript_entries(contributions, reading.floor, (round_number, 2))
    if not entries:
        return []
    size = sum(ceiling.tokens(entry) + 1 for entry in entries)
    previous = reading.own.text if reading.own else ""
    if ending:
        limits = settings.summarization(judge.id)
        full = "\n".join([previous, *entries])
        due = limits.enabled and len(full) > limits.threshold
        synthesis = size + ceiling.tokens(previous) + _synthesis_tokens(state, settings, reading)
        due = due or synthesis > ceiling.ceiling(settings)
    else:
        summarizing = {t.agent_id for t in summary_tasks(state, settings)}
        speakers = dict.fromkeys(c.agent_id for c in contributions)
        if all(a in summarizing or history.latest_summary(summaries, a, round_number + 1) for a in speakers):
            return []  # the panelists' summaries will cover the debate through this round
        this_round = history.transcript_entries(contributions, (round_number - 1, 1), (round_number, 2))
        growth = sum(ceiling.tokens(entry) + 1 for entry in this_round)
        due = size + growth > _material_budget(state, settings, judge.id, previous)
    if not due:
        return []
    return _summary_parts(
        state, settings, judge.id, reading.own, entries, sum(map(len, entries)) + len(previous)
    )


def _summary_parts(
    state: DebateState,
    settings: RunSettings,
    member_id: str,
    summary: Summary | None,
    entries: list[str],
    before_chars: int,
    *,
    told: str = "",
    critiques: str = "",
) -> list[AgentTask]:
    """One summary call per part of the material that fits the prompt ceiling; the first part
    carries the previous summary on, every part the history ``told`` and the ``critiques``."""
    round_number = state["round"]
    previous = summary.text if summary else ""
    groups = ceiling.parts(entries, _material_budget(state, settings, member_id, previous + told + critiques))
    kind = JUDGE_SUMMARY.node if member_id == settings.judge.id else SUMMARIZE.node
    return [
        AgentTask(
            kind=kind,
            agent_id=member_id,
            round=round_number,
            problem=embed(state["problem"]),
            clarifications=history.clarifications_text(state.get("clarifications", [])),
            notes=history.notes_text(state, None if member_id == settings.judge.id else member_id),
            history=told,
            critiques=critiques,
            previous_summary=embed(previous) if number == 1 else "",
            material=embed("\n".join(group)),
            covers_through=(round_number, 1),
            before_chars=before_chars,
            part=number,
            parts=len(groups),
        )
        for number, group in enumerate(groups, 1)
    ]


def _material_budget(state: DebateState, settings: RunSettings, member_id: str, previous: str) -> int:
    """What one summary call's prompt leaves for the material to summarise (never less than a
    quarter of the ceiling: a problem too large for the ceiling is not split into a call per
    contribution)."""
    fixed = ceiling.fixed_tokens(
        settings,
        member_id,
        SUMMARIZE.template,
        state["problem"],
        requirements_list(state["problem"]),
        history.clarifications_text(state.get("clarifications", [])),
        history.notes_text(state, None if member_id == settings.judge.id else member_id),
        settings.perspective(member_id),
        previous,
    )
    usable = ceiling.ceiling(settings)
    return max(usable - fixed, usable // 4)


def _synthesis_tokens(state: DebateState, settings: RunSettings, reading: history.JudgeReading) -> int:
    """The synthesis's prompt without the raw debate it reads: the summaries, the final
    proposals and the rest."""
    latest: dict[str, str] = {}
    for contribution in state.get("contributions", []):
        if contribution.type in ("proposal", "refinement"):
            latest[contribution.agent_id] = contribution.content
    return ceiling.fixed_tokens(
        settings,
        settings.judge.id,
        SYNTHESIZE.template,
        state["problem"],
        history.clarifications_text(state.get("clarifications", [])),
        history.notes_text(state, None),
        history.panel_text(reading.panel),
        ledger.judge_text(ledger.of_state(state, [agent.id for agent in settings.agents])),
        *latest.values(),
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
