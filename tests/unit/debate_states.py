"""Builders of debate states for the unit tests: settings for offline agents a, b, c and a judge,
the contributions of whole or partial rounds, failures and the tasks a phase sends.

pytest runs in importlib mode, so tests cannot import this module by name: ``conftest.py`` beside it
registers it in ``sys.modules`` as ``debate_states``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dialectic.configs.loader import validate_config
from dialectic.configs.settings import RunSettings, resolve_settings
from dialectic.debate import tasks
from dialectic.debate.phases import ROUND, Phase
from dialectic.debate.state import AgentTask, Contribution, Failure, Summary

AGENTS = ("a", "b", "c")
JUDGE = "judge"
PROBLEM = "Design a cache."


def make_settings(
    agents: Sequence[str] = AGENTS, rounds: int = 2, steer: bool = False, **debate: Any
) -> RunSettings:
    """Offline ``agents`` (architects) and a judge; ``debate`` adds to the debate section."""
    document = {
        "agents": [
            {"id": a, "name": a.upper(), "role": "architect", "model": "sim", "provider": "offline"}
            for a in agents
        ],
        "judge": {"id": JUDGE, "name": "Judge", "role": "generalist", "model": "sim", "provider": "offline"},
        "debate": {"rounds": rounds, "summarization": {"enabled": False}, **debate},
    }
    settings, _ = resolve_settings(validate_config(document, "test"), None, offline=True)
    return settings.model_copy(update={"steer": steer})


def text(round_number: int, agent: str, kind: str, target: str | None = None) -> str:
    return f"{kind} {round_number} by {agent}" + (f" of {target}" if target else "")


def contribution(
    round_number: int,
    agent: str,
    kind: str,
    target: str | None = None,
    *,
    carried: bool = False,
    content: str | None = None,
) -> Contribution:
    return Contribution(
        round=round_number,
        agent_id=agent,
        agent_role="architect",
        type=kind,
        content=content or text(round_number, agent, kind, target),
        target_agent_id=target,
        model="sim",
        timestamp="2025-01-01T00:00:00Z",
        carried=carried,
    )


def debate_state(
    round_number: int, done: int, agents: Sequence[str] = AGENTS, *, batched: bool = False, **extra: Any
) -> dict[str, Any]:
    """A debate in ``round_number`` with ``done`` of its round phases written (0: just begun; from
    round 2 on, each proposal is the agent's previous refinement, carried over by begin_round)."""
    contributions: list[Contribution] = []
    for r in range(1, round_number + 1):
        steps = done if r == round_number else len(ROUND)
        if r > 1:
            contributions += [
                contribution(r, a, "proposal", carried=True, content=text(r - 1, a, "refinement"))
                for a in agents
            ]
        elif steps >= 1:
            contributions += [contribution(1, a, "proposal") for a in agents]
        if steps >= 2:
            pairs = (
                [(a, None) for a in agents] if batched else [(a, b) for a in agents for b in agents if a != b]
            )
            contributions += [contribution(r, a, "critique", b) for a, b in pairs]
        if steps >= 3:
            contributions += [contribution(r, a, "refinement") for a in agents]
    return {"problem": PROBLEM, "round": round_number, "contributions": contributions, **extra}


def rounds(count: int, agents: Sequence[str] = AGENTS, *, batched: bool = False) -> list[Contribution]:
    """Every contribution of ``count`` whole rounds (later proposals carried over)."""
    whole: dict[str, Any] = debate_state(count, len(ROUND), agents, batched=batched)
    return list(whole["contributions"])


def task_of(
    phase: Phase, state: dict[str, Any], settings: RunSettings, agent: str, target: str | None = None
) -> AgentTask:
    """The one call ``phase`` makes for ``agent`` (on ``target``)."""
    found = [
        t
        for t in tasks.phase_tasks(phase, state, settings)
        if (t.agent_id, t.target_agent_id) == (agent, target)
    ]
    assert len(found) == 1, f"no single {phase.name} task for {agent} -> {target}"
    return found[0]


def failure(
    task: AgentTask | None = None,
    *,
    transient: bool | None = True,
    phase: str | None = None,
    agent: str = JUDGE,
    round_number: int = 1,
    error: str = "503 Service Unavailable",
) -> Failure:
    """A failed call: ``task``'s, or without a task the judge's (``agent``'s) in ``phase``."""
    return Failure(
        agent_id=task.agent_id if task else agent,
        phase=phase or (task.kind if task else "synthesize"),
        round=task.round if task else round_number,
        error=error,
        timestamp="2025-01-01T00:00:00Z",
        task=task,
        transient=transient,
    )


def summary(agent: str, for_round: int, covers_through: tuple[int, int], body: str = "SUMMARY") -> Summary:
    return Summary(
        agent_id=agent,
        agent_role="architect",
        for_round=for_round,
        covers_through=covers_through,
        text=body,
        before_chars=1000,
        after_chars=len(body),
        model="sim",
        timestamp="t",
    )


class Script:
    """Stands in for ``llm.complete`` (monkeypatched): answers each call with the next scripted
    reply (the last one again once they run out) and records the messages of every call."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies)
        self.prompts: list[list[Any]] = []

    def __call__(self, model: Any, member: Any, call: Any, messages: list[Any], **_: Any) -> Any:
        from dialectic.nodes import llm

        self.prompts.append(messages)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        return llm.Reply(reply, usage_of(call))


def usage_of(call: Any) -> Any:
    """A scripted call's usage: 10 tokens in, 5 out."""
    from dialectic.debate.state import CallUsage

    return CallUsage(
        agent_id=call.agent_id,
        phase=call.phase,
        round=call.round,
        model="sim",
        provider="offline",
        input_tokens=10,
        output_tokens=5,
        latency_ms=0,
    )
