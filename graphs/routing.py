"""Pure routers: from the state and the settings, which calls run next.

Every LLM call of a phase is one ``Send`` whose payload carries all the material it needs, so
the calls run in parallel and a crash loses only the calls still in flight. Summaries of an
agent's history for round r+1 are sent alongside the refinements of round r: they add no
sequential step to the debate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from langgraph.runtime import Runtime
from langgraph.types import Send

from dialectic.graphs import clarifications, history
from dialectic.graphs.context import DebateContext
from dialectic.graphs.state import AgentTask, ClarifyTask, Contribution, DebateState, Failure
from dialectic.prompts import embed

# The contribution type each phase (and the node of that name) makes.
CONTRIBUTION_OF = {"propose": "proposal", "critique": "critique", "refine": "refinement"}


# --- who takes part -------------------------------------------------------------------------


def proposers(state: DebateState, round_number: int) -> list[Contribution]:
    return history.round_contributions(state, round_number, "proposal")


def task_done(state: DebateState, task: AgentTask) -> bool:
    """Whether the call described by ``task`` has a result in the state."""
    if task.kind == "summarize":
        return any(
            s.agent_id == task.agent_id and s.for_round == task.round + 1 for s in state.get("summaries", [])
        )
    kind = CONTRIBUTION_OF[task.kind]
    return any(
        c.round == task.round
        and c.type == kind
        and c.agent_id == task.agent_id
        and c.target_agent_id == task.target_agent_id
        for c in state.get("contributions", [])
    )


def outstanding_failures(state: DebateState, phases: Iterable[str], round_number: int) -> list[Failure]:
    """Failed calls of these phases in this round that no later retry has made good."""
    wanted = set(phases)
    found: dict[tuple[str, str, str | None], Failure] = {}
    for failure in state.get("failures", []):
        if (
            failure.phase in wanted
            and failure.round == round_number
            and failure.task is not None
            and not task_done(state, failure.task)
        ):
            found[(failure.phase, failure.agent_id, failure.task.target_agent_id)] = failure
    return list(found.values())


def unrecovered_failures(state: DebateState) -> list[Failure]:
    """Failures no retry made good (a failed convergence score is never made good)."""
    return [f for f in state.get("failures", []) if f.task is None or not task_done(state, f.task)]


def participants(state: DebateState, phase: str, round_number: int) -> list[str]:
    """Agents that took part in a phase: a proposal, at least one critique, a refinement."""
    kind = CONTRIBUTION_OF[phase]
    made = history.round_contributions(state, round_number, kind)
    if phase == "critique" and len(proposers(state, round_number)) < 2:
        return [p.agent_id for p in proposers(state, round_number)]  # nobody to critique
    return list(dict.fromkeys(c.agent_id for c in made))


def quorum_lost(state: DebateState, ctx: DebateContext, phase: str) -> bool:
    round_number = state.get("round", 1)
    return (
        bool(outstanding_failures(state, [phase], round_number))
        and len(participants(state, phase, round_number)) < ctx.settings.min_agents
    )


def retry_sends(state: DebateState, ctx: DebateContext, phase: str) -> list[Send]:
    """After a pause for lost quorum, resuming retries exactly the calls that failed."""
    if not quorum_lost(state, ctx, phase):
        return []
    failures = outstanding_failures(state, [phase], state.get("round", 1))
    return [Send(f.task.kind, f.task) for f in failures if f.task is not None]


# --- tasks ----------------------------------------------------------------------------------


def _task(state: DebateState, *, agent_id: str, **fields: object) -> AgentTask:
    return AgentTask(
        problem=embed(state["problem"]),
        clarifications=history.clarifications_text(state.get("clarifications", [])),
        notes=history.notes_text(state, agent_id),
        agent_id=agent_id,
        **fields,
    )


def propose_sends(state: DebateState, ctx: DebateContext) -> list[Send]:
    round_number = state["round"]
    return [
        Send("propose", _task(state, kind="propose", agent_id=agent.id, round=round_number))
        for agent in ctx.settings.agents
    ]


def critique_sends(state: DebateState, ctx: DebateContext) -> list[Send]:
    round_number = state["round"]
    proposals = proposers(state, round_number)
    sends = []
    for critic in proposals:
        own_history = history.agent_history(state, critic.agent_id, round_number, (round_number, 1))
        peers = [p for p in proposals if p.agent_id != critic.agent_id]
        targets: list[tuple[str | None, str]]
        if ctx.settings.config.debate.critiqueMode == "batched":  # one call covering every peer
            targets = [(None, history.proposals_text([_embedded(p) for p in peers]))] if peers else []
        else:
            targets = [(p.agent_id, embed(p.content)) for p in peers]
        sends += [
            Send(
                "critique",
                _task(
                    state,
                    kind="critique",
                    agent_id=critic.agent_id,
                    round=round_number,
                    history=own_history,
                    target_agent_id=target,
                    material=material,
                ),
            )
            for target, material in targets
        ]
    return sends


def critiques_received(state: DebateState, agent_id: str, round_number: int) -> list[Contribution]:
    """Critiques aimed at the agent, and batched critiques (aimed at every peer) by others."""
    return [
        c
        for c in history.round_contributions(state, round_number, "critique")
        if c.target_agent_id == agent_id or (c.target_agent_id is None and c.agent_id != agent_id)
    ]


def refine_sends(state: DebateState, ctx: DebateContext) -> list[Send]:
    round_number = state["round"]
    sends = []
    for proposal in proposers(state, round_number):
        received = critiques_received(state, proposal.agent_id, round_number)
        own_history = history.agent_history(
            state,
            proposal.agent_id,
            round_number,
            (round_number, 2),
            exclude=[*received, *_current(state, proposal)],
        )
        sends.append(
            Send(
                "refine",
                _task(
                    state,
                    kind="refine",
                    agent_id=proposal.agent_id,
                    round=round_number,
                    history=own_history,
                    material=embed(proposal.content),
                    critiques=history.critiques_text([_embedded(c) for c in received]),
                ),
            )
        )
    return sends


def summary_sends(state: DebateState, ctx: DebateContext) -> list[Send]:
    """Summaries of the agents' histories for the next round, made while they refine."""
    round_number = state["round"]
    if round_number >= ctx.settings.config.debate.rounds:
        return []
    sends = []
    for proposal in proposers(state, round_number):
        agent_id = proposal.agent_id
        settings = ctx.settings.summarization(agent_id)
        if not settings.enabled:
            continue
        summary, entries = history.history_material(state, agent_id, round_number, (round_number, 2))
        full = history.history_text(summary, entries, agent_id)
        if len(full) <= settings.threshold or not entries:
            continue
        sends.append(
            Send(
                "summarize",
                AgentTask(
                    kind="summarize",
                    agent_id=agent_id,
                    round=round_number,
                    problem=embed(state["problem"]),
                    previous_summary=summary.text if summary else "",
                    material=embed(history.history_text(None, entries, agent_id)),
                    covers_through=(round_number, 1),
                    before_chars=len(full),
                ),
            )
        )
    return sends


def judge_summary_send(state: DebateState, ctx: DebateContext) -> list[Send]:
    """The judge's summary of the debate, when its transcript is over the judge's threshold."""
    round_number = state["round"]
    judge = ctx.settings.judge
    settings = ctx.settings.summarization(judge.id)
    if not settings.enabled or not ctx.settings.config.debate.includeFullHistory:
        return []
    if _attempted(state, judge.id, "judge_summary", round_number):
        return []
    full = history.transcript_text(state.get("contributions", []), (round_number, 2))
    if len(full) <= settings.threshold:
        return []
    return [
        Send(
            "summarize",
            AgentTask(
                kind="summarize",
                agent_id=judge.id,
                round=round_number,
                problem=embed(state["problem"]),
                material=embed(full),
                covers_through=(round_number, 1),
                before_chars=len(full),
            ),
        )
    ]


def _attempted(state: DebateState, agent_id: str, phase: str, round_number: int) -> bool:
    if any(s.agent_id == agent_id and s.for_round == round_number + 1 for s in state.get("summaries", [])):
        return True
    return any(
        f.agent_id == agent_id and f.phase == phase and f.round == round_number
        for f in state.get("failures", [])
    )


def _embedded(contribution: Contribution) -> Contribution:
    return contribution.model_copy(update={"content": embed(contribution.content)})


def _current(state: DebateState, proposal: Contribution) -> Sequence[Contribution]:
    """The contribution an agent's current proposal repeats (its previous refinement)."""
    return [
        c
        for c in state.get("contributions", [])
        if c.agent_id == proposal.agent_id and c.content == proposal.content and not c.carried
    ]


# --- routers (conditional edges) ------------------------------------------------------------


def is_last_round(state: DebateState, ctx: DebateContext) -> bool:
    return state["round"] >= ctx.settings.config.debate.rounds


def consensus_reached(state: DebateState, ctx: DebateContext) -> bool:
    condition = ctx.settings.config.debate.terminationCondition
    return any(
        score.round == state["round"] and score.score >= condition.threshold
        for score in state.get("consensus", [])
    )


def clarify_sends(state: DebateState, agent_ids: Iterable[str], iteration: int) -> list[Send]:
    """One clarification call per agent; every agent sees all the Q&A so far."""
    qa = history.clarifications_text(state.get("clarifications", []))
    problem = embed(state["problem"])
    return [
        Send("clarify", ClarifyTask(agent_id=a, iteration=iteration, problem=problem, clarifications=qa))
        for a in agent_ids
    ]


def start_clarifying(state: DebateState, runtime: Runtime[DebateContext]) -> str | list[Send]:
    agents = [agent.id for agent in runtime.context.settings.agents]
    return clarify_sends(state, agents, 1) or "begin_round"


def after_answers(state: DebateState, runtime: Runtime[DebateContext]) -> str | list[Send]:
    """Follow-up questions from the agents that asked in the batch just answered, if any."""
    cap = runtime.context.settings.config.debate.clarificationsMaxIterations
    askers = clarifications.follow_up_askers(state, cap)
    return clarify_sends(state, askers, clarifications.current_batch(state)) or "begin_round"


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


def after_begin_round(
    state: DebateState, runtime: Runtime[DebateContext], points: ExtensionPoints = NO_EXTENSIONS
) -> str | list[Send]:
    ctx = runtime.context
    if state["round"] == 1:
        return propose_sends(state, ctx)
    return points.due("propose", state) or proposals_ready(state, runtime)


def after_proposals(
    state: DebateState, runtime: Runtime[DebateContext], points: ExtensionPoints = NO_EXTENSIONS
) -> str | list[Send]:
    return (
        retry_sends(state, runtime.context, "propose")
        or points.due("propose", state)
        or proposals_ready(state, runtime)
    )


def proposals_ready(state: DebateState, runtime: Runtime[DebateContext]) -> str | list[Send]:
    """After the round's proposals (and the extensions that follow them): the critiques. A lone
    agent has nobody to critique it: it goes straight on to refine its own proposal."""
    return critique_sends(state, runtime.context) or "critiques_done"


def after_critiques(
    state: DebateState, runtime: Runtime[DebateContext], points: ExtensionPoints = NO_EXTENSIONS
) -> str | list[Send]:
    return (
        retry_sends(state, runtime.context, "critique")
        or points.due("critique", state)
        or critiques_ready(state, runtime)
    )


def critiques_ready(state: DebateState, runtime: Runtime[DebateContext]) -> list[Send]:
    """After the critiques: the refinements, the summaries for the next round and, in the last
    round, the judge's summary of the debate."""
    ctx = runtime.context
    sends = refine_sends(state, ctx) + summary_sends(state, ctx)
    if is_last_round(state, ctx):
        sends += judge_summary_send(state, ctx)
    return sends


def after_round(
    state: DebateState, runtime: Runtime[DebateContext], points: ExtensionPoints = NO_EXTENSIONS
) -> str | list[Send]:
    return (
        retry_sends(state, runtime.context, "refine")
        or points.due("refine", state)
        or refinements_ready(state, runtime, points)
    )


def refinements_ready(
    state: DebateState, runtime: Runtime[DebateContext], points: ExtensionPoints = NO_EXTENSIONS
) -> str | list[Send]:
    """After the refinements: the judge's summary or the convergence check if due, then the
    end-of-round extensions, then the next round or the judge."""
    ctx = runtime.context
    if is_last_round(state, ctx) or consensus_reached(state, ctx):
        summary = judge_summary_send(state, ctx)
        if summary:
            return summary
    elif ctx.settings.config.debate.terminationCondition.type != "fixed" and not _convergence_attempted(
        state
    ):
        return "convergence"
    return points.due("round", state) or round_ready(state, runtime)


def round_ready(state: DebateState, runtime: Runtime[DebateContext]) -> str:
    """At the end of a round: the judge after the last round or on consensus, else the next
    round (through the pause for the user's note when steering)."""
    ctx = runtime.context
    if is_last_round(state, ctx) or consensus_reached(state, ctx):
        return "judge"
    return "steer" if ctx.settings.steer else "begin_round"


def _convergence_attempted(state: DebateState) -> bool:
    round_number = state["round"]
    return any(s.round == round_number for s in state.get("consensus", [])) or any(
        f.phase == "convergence" and f.round == round_number for f in state.get("failures", [])
    )
