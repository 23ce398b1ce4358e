"""The clarification phase as pure functions: which questions go to the user in a batch, and how
the user's answers join the Q&A.

Question ids are ``q1``, ``q2``, … numbered across all agents and batches in the order the
config lists the agents, so an id names one question in the whole debate (the TypeScript tool
restarts at ``q1`` for every agent and its answers collide). A question whose text was already
put to the user (by any agent, answered or not) is never asked again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from dialectic.configs.schema import AgentConfig
from dialectic.debate.state import AgentClarifications, ClarificationItem, DebateState

NA = "NA"

_ID = re.compile(r"^q(\d+)$")


class PendingQuestion(BaseModel):
    """A numbered question waiting for the user's answer (the interrupt's payload, as JSON)."""

    model_config = ConfigDict(frozen=True)

    id: str
    agentId: str
    agentName: str
    role: str
    question: str


def normalized(question: str) -> str:
    """The text two questions share when they ask the same thing in other spacing or case."""
    return " ".join(question.casefold().split()).rstrip("?.!: ")


def current_batch(state: DebateState) -> int:
    return state.get("clarification_iterations", 0) + 1


def asked_ids(state: DebateState) -> set[str]:
    return {item.id for group in state.get("clarifications", []) for item in group.items}


def pending_questions(state: DebateState, agents: Sequence[AgentConfig]) -> list[PendingQuestion]:
    """The new questions of the batch the agents just asked, numbered after every earlier one."""
    batch = current_batch(state)
    order = {agent.id: index for index, agent in enumerate(agents)}
    members = {agent.id: agent for agent in agents}
    seen = {normalized(item.question) for group in state.get("clarifications", []) for item in group.items}
    numbers = [int(m.group(1)) for qid in asked_ids(state) if (m := _ID.match(qid))]
    number = max(numbers, default=0)
    requests = sorted(
        (r for r in state.get("agent_questions", []) if r.iteration == batch and r.agent_id in members),
        key=lambda r: order[r.agent_id],
    )
    pending = []
    for request in requests:
        member = members[request.agent_id]
        for text in request.questions:
            key = normalized(text)
            if not key or key in seen:
                continue
            seen.add(key)
            number += 1
            pending.append(
                PendingQuestion(
                    id=f"q{number}",
                    agentId=member.id,
                    agentName=member.name,
                    role=member.role,
                    question=text.strip(),
                )
            )
    return pending


def answer_batch(
    state: DebateState, pending: Sequence[PendingQuestion], answers: Mapping[str, object]
) -> tuple[list[AgentClarifications], list[str]]:
    """The Q&A with this batch's answers added, and warnings about the answers given.

    An empty answer is "NA"; a question missing from ``answers`` is "NA" with a warning; an id
    that no agent asked is a warning (ids of earlier batches are quietly ignored, so one answers
    file may grow from batch to batch).
    """
    warnings = []
    missing = [q.id for q in pending if q.id not in answers]
    if missing:
        warnings.append(f"no answer for {', '.join(missing)}: answered {NA}")
    known = {q.id for q in pending} | asked_ids(state)
    unknown = [qid for qid in answers if qid not in known]
    if unknown:
        warnings.append(f"no agent asked {', '.join(unknown)}: ignored")
    groups = {g.agent_id: g for g in state.get("clarifications", [])}
    for question in pending:
        answer = str(answers.get(question.id) or "").strip() or NA
        item = ClarificationItem(id=question.id, question=question.question, answer=answer)
        group = groups.get(question.agentId) or AgentClarifications(
            agent_id=question.agentId, agent_name=question.agentName, role=question.role
        )
        groups[question.agentId] = group.model_copy(update={"items": (*group.items, item)})
    return list(groups.values()), warnings


def follow_up_askers(state: DebateState, max_iterations: int) -> list[str]:
    """Agents that may ask another batch: they asked in the batch just answered, which had new
    questions, and the batch cap is not reached. An agent that asked nothing is done."""
    requests = state.get("agent_questions", [])
    if not requests:
        return []
    latest = max(r.iteration for r in requests)
    answered = state.get("clarification_iterations", 0)
    if answered < latest or latest >= max_iterations:  # nothing new was asked, or the cap
        return []
    return [r.agent_id for r in requests if r.iteration == latest and r.questions]
