"""The read-only view of a debate that an extension function receives.

Everything here is a frozen value: tuples instead of lists, read-only mappings, so an extension
cannot change the debate by mutating what it was shown. The view is rebuilt from the graph
state for every run, so it always shows the debate as checkpointed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from dialectic.configs.settings import RunSettings
from dialectic.debate.state import Contribution, DebateState
from dialectic.prompts.requirements import major_requirements


@dataclass(frozen=True)
class AgentView:
    id: str
    name: str
    role: str
    model: str
    provider: str


@dataclass(frozen=True)
class ContributionView:
    round: int
    agent_id: str
    agent_role: str
    type: str  # what the phase wrote: "proposal", "critique" or "refinement"
    content: str
    target_agent_id: str | None = None  # critiques: the agent critiqued (None: all peers, batched)
    carried: bool = False  # a proposal of round >= 2: the agent's previous refinement, unchanged


@dataclass(frozen=True)
class RoundView:
    number: int
    proposals: tuple[ContributionView, ...] = ()
    critiques: tuple[ContributionView, ...] = ()
    refinements: tuple[ContributionView, ...] = ()


@dataclass(frozen=True)
class ClarificationView:
    agent_id: str
    agent_name: str
    question: str
    answer: str


@dataclass(frozen=True)
class SavedData:
    """What one run of an extension returned as ``data`` (any JSON value)."""

    round: int
    value: Any


@dataclass(frozen=True)
class DebateView:
    """The debate so far, as an extension sees it when it runs."""

    problem: str
    requirements: tuple[str, ...]  # the problem's major requirements (must/shall/required/…)
    agents: tuple[AgentView, ...]  # the debating agents (the judge is in ``context.settings``)
    round: int  # the current round (1-based)
    position: str  # where this run happens: propose, critique, refine or round
    rounds: tuple[RoundView, ...]  # rounds 1..round; the current one holds what exists so far
    clarifications: tuple[ClarificationView, ...]
    consensus: tuple[tuple[int, float], ...]  # (round, score) of convergence checks so far
    extension_data: Mapping[str, tuple[SavedData, ...]]  # per extension name, oldest first

    @property
    def current(self) -> RoundView:
        return self.rounds[-1]

    def agent(self, agent_id: str) -> AgentView:
        for agent in self.agents:
            if agent.id == agent_id:
                return agent
        raise KeyError(agent_id)


def _contribution(c: Contribution) -> ContributionView:
    return ContributionView(
        round=c.round,
        agent_id=c.agent_id,
        agent_role=c.agent_role,
        type=c.type,
        content=c.content,
        target_agent_id=c.target_agent_id,
        carried=c.carried,
    )


def _rounds(contributions: Sequence[Contribution], current: int) -> tuple[RoundView, ...]:
    rounds = []
    for number in range(1, current + 1):
        made = [_contribution(c) for c in contributions if c.round == number]
        rounds.append(
            RoundView(
                number=number,
                proposals=tuple(c for c in made if c.type == "proposal"),
                critiques=tuple(c for c in made if c.type == "critique"),
                refinements=tuple(c for c in made if c.type == "refinement"),
            )
        )
    return tuple(rounds)


def debate_view(state: DebateState, settings: RunSettings, position: str) -> DebateView:
    current = state.get("round") or 1
    saved: dict[str, list[SavedData]] = {}
    for run in state.get("extension_runs", []):
        if run.data is not None:
            saved.setdefault(run.name, []).append(SavedData(run.round, json.loads(run.data)))
    return DebateView(
        problem=state.get("problem", ""),
        requirements=tuple(major_requirements(state.get("problem", ""))),
        agents=tuple(
            AgentView(id=a.id, name=a.name, role=a.role, model=a.model, provider=a.provider)
            for a in settings.agents
        ),
        round=current,
        position=position,
        rounds=_rounds(state.get("contributions", []), current),
        clarifications=tuple(
            ClarificationView(group.agent_id, group.agent_name, item.question, item.answer)
            for group in state.get("clarifications", [])
            for item in group.items
        ),
        consensus=tuple((score.round, score.score) for score in state.get("consensus", [])),
        extension_data=MappingProxyType({name: tuple(items) for name, items in saved.items()}),
    )
