"""A critique's and a refinement's ledger block through the node: the items reach the prompt,
the block becomes entries and leaves the prose, and an unusable block gets one repair call."""

from __future__ import annotations

from typing import Any

import pytest
from debate_states import Script, debate_state, make_settings
from langgraph.runtime import Runtime

from dialectic.debate import tasks
from dialectic.debate.context import DebateContext
from dialectic.debate.phases import CRITIQUE, REFINE
from dialectic.debate.state import LedgerEntry
from dialectic.nodes import llm
from dialectic.nodes.critique import critique
from dialectic.nodes.refine import refine

FINDINGS = '```json\n{"findings": [{"title": "One broker", "severity": "critical", "evidence": "e", "suggestion": "s"}]}\n```'


def run(
    node: Any, task: Any, script: Script, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], list[Any]]:
    monkeypatch.setattr(llm, "complete", script)
    events: list[Any] = []
    out = node(task, Runtime(context=DebateContext(make_settings(rounds=3)), stream_writer=events.append))
    return out, events


def critique_task() -> Any:
    return next(
        t
        for t in tasks.phase_tasks(CRITIQUE, debate_state(1, 1), make_settings(rounds=3))
        if t.agent_id == "a"
    )


def test_a_critique_block_becomes_entries_and_leaves_the_prose(monkeypatch: pytest.MonkeyPatch) -> None:
    script = Script(f"## Weaknesses\n\nOne broker.\n\n{FINDINGS}\n")
    out, events = run(critique, critique_task(), script, monkeypatch)
    [messages] = script.prompts
    assert "## Findings for the issue ledger" in str(messages[-1].content)
    assert out["contributions"][0].content == "## Weaknesses\n\nOne broker."
    entry, marker = out["ledger"]
    assert (marker.kind, marker.round, marker.target_agent_id) == ("reported", 1, "b")
    assert (entry.kind, entry.agent_id, entry.target_agent_id, entry.severity, entry.perspective) == (
        "raised",
        "a",
        "b",
        "critical",
        "architect",
    )
    assert len(out["usage"]) == 1 and not [e for e in events if e["event"] == "warning"]


def test_a_critique_is_asked_for_verdicts_only_when_it_lists_items_of_its_critic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = Script(f"## Weaknesses\n\nOne broker.\n\n{FINDINGS}\n")
    run(critique, critique_task(), script, monkeypatch)  # round 1: nothing to rule on yet
    assert "`findings`" in str(script.prompts[0][-1].content)
    assert "`verdicts`" not in str(script.prompts[0][-1].content)
    item = LedgerEntry(
        kind="raised", round=1, agent_id="a", target_agent_id="b", title="One broker", severity="major"
    )
    answer = LedgerEntry(
        kind="response", round=1, agent_id="b", target_agent_id="b", item_id="I1", answer="rebutted"
    )
    state = debate_state(2, 1) | {"ledger": [item, answer]}
    task = next(
        t
        for t in tasks.phase_tasks(CRITIQUE, state, make_settings(rounds=3))
        if (t.agent_id, t.target_agent_id) == ("a", "b")
    )
    again = Script(f"## Weaknesses\n\nStill one broker.\n\n{FINDINGS}\n")
    run(critique, task, again, monkeypatch)
    prompt = str(again.prompts[0][-1].content)
    assert "**I1**" in prompt and "`verdicts`, one per item of yours listed above" in prompt


def test_an_unusable_block_gets_one_repair_call(monkeypatch: pytest.MonkeyPatch) -> None:
    script = Script("## Weaknesses\n\nOne broker.", FINDINGS)
    out, _ = run(critique, critique_task(), script, monkeypatch)
    assert len(script.prompts) == 2 and "could not be used" in str(script.prompts[1][-1].content)
    assert out["contributions"][0].content == "## Weaknesses\n\nOne broker."
    assert [e.kind for e in out["ledger"]] == ["raised", "reported"] and len(out["usage"]) == 2
    assert out["contributions"][0].tokens_used == 30  # both calls


def test_a_block_still_unusable_after_the_repair_leaves_the_prose_and_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out, events = run(critique, critique_task(), Script("Prose only.", "still no block"), monkeypatch)
    assert out["contributions"][0].content == "Prose only." and out["ledger"] == []
    assert any(e["event"] == "warning" and "no valid ledger block" in e["message"] for e in events)


def test_a_refinement_answers_the_open_items_and_one_without_any_is_not_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(rounds=3)
    item = LedgerEntry(
        kind="raised", round=1, agent_id="b", target_agent_id="a", title="One broker", severity="major"
    )
    state = debate_state(1, 2) | {"ledger": [item]}
    refine_a = next(t for t in tasks.phase_tasks(REFINE, state, settings) if t.agent_id == "a")
    reply = '## Revised Design\n\nTwo brokers.\n\n```json\n{"responses": [{"id": "I1", "response": "accepted", "note": "added one", "sections": ["Revised Design"]}]}\n```'
    script = Script(reply)
    out, _ = run(refine, refine_a, script, monkeypatch)
    assert "**I1** (major, raised by b in round 1): One broker." in str(script.prompts[0][-1].content)
    [entry] = out["ledger"]
    assert (entry.kind, entry.item_id, entry.answer, entry.sections) == (
        "response",
        "I1",
        "accepted",
        ("Revised Design",),
    )
    refine_b = next(t for t in tasks.phase_tasks(REFINE, state, settings) if t.agent_id == "b")
    script = Script("## Revised Design\n\nSame.")
    out, _ = run(refine, refine_b, script, monkeypatch)
    assert "issue ledger" not in str(script.prompts[0][-1].content) and out["ledger"] == []
