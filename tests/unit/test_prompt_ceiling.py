"""The prompt ceiling (debate.maxPromptTokens): material that would cross it is summarised first,
in parts that each fit, and the judge reads the panel's own summaries rather than the transcript
they cover."""

from __future__ import annotations

from typing import Any

import pytest
from debate_states import AGENTS, JUDGE, Script, debate_state, failure, make_settings, summary
from langgraph.runtime import Runtime

from dialectic.debate import ceiling, course, failures, history, tasks
from dialectic.debate.context import DebateContext
from dialectic.debate.state import AgentTask, Contribution
from dialectic.nodes import llm
from dialectic.nodes.propose import propose
from dialectic.nodes.refine import refine
from dialectic.nodes.summarize import summarize

WORDS = "The design keeps state in one place and makes every step idempotent so retries are safe. "
AGENTS4 = ("a", "b", "c", "d")


def long(state: dict[str, Any], chars: int = 1600) -> dict[str, Any]:
    """The same debate with every contribution ``chars`` long (whole sentences)."""
    body = (WORDS * (chars // len(WORDS) + 1))[:chars]
    contributions: list[Contribution] = [
        c.model_copy(update={"content": f"{c.content}. {body}"}) for c in state["contributions"]
    ]
    return {**state, "contributions": contributions}


def test_parts_group_whole_entries_under_the_budget() -> None:
    entries = ["x" * 400, "y" * 400, "z" * 400, "w" * 2000]  # 100, 100, 100 and 500 tokens
    groups = ceiling.parts(entries, 210)
    assert groups == [entries[:2], entries[2:3], entries[3:]]  # the large one alone, never cut
    assert [e for g in groups for e in g] == entries
    assert ceiling.parts([], 10) == []


def test_the_judge_summarises_a_round_too_large_for_one_call_in_parts_that_fit() -> None:
    settings = make_settings(AGENTS4, rounds=1, maxPromptTokens=2000)
    state = long(debate_state(1, 2, AGENTS4))  # 4 proposals and 12 critiques of 400 tokens
    found = tasks.judge_summary_tasks(state, settings, ending=True)
    assert len(found) >= 3 and [t.part for t in found] == list(range(1, len(found) + 1))
    assert all(t.covers_through == (1, 1) and t.agent_id == JUDGE for t in found)
    for task in found:
        prompt = settings.template(JUDGE, "system") + settings.template(JUDGE, "summarize") + task.material
        assert ceiling.tokens(prompt + task.problem) <= 2000
    # every critique is summarised, each in exactly one part; the designs are left to the final
    # proposals
    for c in state["contributions"]:
        expected = 1 if c.type == "critique" else 0
        assert sum(c.content[:20] in t.material for t in found) == expected, c.content[:20]


def test_a_part_done_is_not_asked_again_and_a_failed_part_is_retried_alone() -> None:
    settings = make_settings(AGENTS4, rounds=1, maxPromptTokens=2000)
    state = long(debate_state(1, 3, AGENTS4))
    found = tasks.judge_summary_tasks(state, settings, ending=True)
    first, second = found[0], found[1]
    done = summary(JUDGE, 2, (1, 1), "PART ONE").model_copy(update={"part": 1})
    assert failures.task_done({**state, "summaries": [done]}, first)
    assert not failures.task_done({**state, "summaries": [done]}, second)
    failed = {**state, "summaries": [done], "failures": [failure(second, phase="judge_summary")]}
    retried = course.retry_calls(failed, settings, "round_done")
    assert retried.tasks == (second,)


def test_the_parts_of_a_summary_are_read_together() -> None:
    parts = [
        summary(JUDGE, 2, (1, 1), "PART TWO").model_copy(update={"part": 2, "parts": 2}),
        summary(JUDGE, 2, (1, 1), "PART ONE").model_copy(update={"parts": 2}),
        summary(JUDGE, 1, (0, 1), "OLDER"),
    ]
    found = history.latest_summary(parts, JUDGE, 2)
    assert found is not None and found.text == "PART ONE\n\nPART TWO"
    assert history.latest_summary(parts, JUDGE, 1) == parts[2]


def test_an_agent_history_past_half_the_ceiling_is_summarised_with_summaries_off() -> None:
    settings = make_settings(rounds=3, maxPromptTokens=2000)  # summarization disabled
    state = long(debate_state(1, 3))
    found = tasks.summary_tasks(state, settings)
    assert {t.agent_id for t in found} == set(AGENTS)
    short = debate_state(1, 3)
    assert tasks.summary_tasks(short, settings) == []  # well under: the settings decide


def test_the_judge_reads_the_panels_summaries_and_what_came_after() -> None:
    state = debate_state(3, 3, summaries=[summary(a, 3, (2, 1), f"SUMMARY OF {a}") for a in AGENTS])
    reading = history.judge_reading(state, JUDGE, 4)
    assert [s.agent_id for s in reading.panel] == list(AGENTS) and reading.floor == (2, 1)
    assert reading.own is None
    # a panelist without a summary: the judge reads the transcript (or its own summary)
    partial = {**state, "summaries": state["summaries"][:2]}
    assert history.judge_reading(partial, JUDGE, 4).panel == []


def test_before_the_last_round_the_judge_leaves_it_to_the_panels_summaries() -> None:
    settings = make_settings(rounds=3, maxPromptTokens=2000, summarization={"enabled": True, "threshold": 1})
    state = long(debate_state(1, 2))
    assert {t.agent_id for t in tasks.summary_tasks(state, settings)} == set(AGENTS)
    assert tasks.judge_summary_tasks(state, settings, ending=False) == []
    # ... but when the panel does not summarise, the judge does, before its material outgrows a call
    # (four agents: twelve critiques a round, which the judge reads and no panelist does)
    quiet, four = make_settings(AGENTS4, rounds=3, maxPromptTokens=8000), long(debate_state(1, 2, AGENTS4))
    assert tasks.summary_tasks(four, quiet) == []
    assert tasks.judge_summary_tasks(four, quiet, ending=False)


def test_a_summary_missing_a_part_is_not_in_force() -> None:
    whole = [
        summary(JUDGE, 2, (1, 1), "PART ONE").model_copy(update={"parts": 2}),
        summary(JUDGE, 2, (1, 1), "PART TWO").model_copy(update={"part": 2, "parts": 2}),
        summary(JUDGE, 1, (0, 1), "OLDER"),
    ]
    found = history.latest_summary(whole, JUDGE, 2)
    assert found is not None and found.text == "PART ONE\n\nPART TWO"
    # part two failed for good: the older summary and the raw text after it stand in
    assert history.latest_summary([whole[0], whole[2]], JUDGE, 2) == whole[2]
    assert history.latest_summary([whole[0]], JUDGE, 2) is None


def run_node(
    node: Any, task: AgentTask, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str, list[Any]]:
    recorder = Script("A short reply.")
    monkeypatch.setattr(llm, "complete", recorder)
    events: list[Any] = []
    node(task, Runtime(context=DebateContext(settings), stream_writer=events.append))
    [messages] = recorder.prompts
    return str(messages[0].content), str(messages[-1].content), events


def test_tasks_stored_by_an_earlier_version_still_show_their_material(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A pause before this version stored tasks whose material the new templates do not place:
    # resuming retries exactly those tasks, so the nodes show the material all the same.
    settings = make_settings(rounds=3)
    old_summary = AgentTask(kind="summarize", agent_id="a", round=1, problem="P", material="OLD-MATERIAL")
    _, user, _ = run_node(summarize, old_summary, settings, monkeypatch)
    assert "OLD-MATERIAL" in user
    old_refine = AgentTask(kind="refine", agent_id="a", round=1, problem="P", material="MY-OLD-PROPOSAL")
    _, user, _ = run_node(refine, old_refine, settings, monkeypatch)
    assert "## Your current proposal\n\nMY-OLD-PROPOSAL" in user


def test_a_template_without_a_place_for_the_perspective_gets_it_in_the_system_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(rounds=3)
    task = AgentTask(kind="propose", agent_id="a", round=1, problem="P")
    system, user, _ = run_node(propose, task, settings, monkeypatch)
    perspective = settings.perspective("a")
    assert perspective in user and perspective not in system  # the built-in template places it
    custom = settings.model_copy(update={"prompt_overrides": {"a": {"propose": "Design {problem}."}}})
    system, user, _ = run_node(propose, task, custom, monkeypatch)
    assert perspective in system and perspective not in user
    own = settings.model_copy(update={"prompt_overrides": {"a": {"system": "You are a poet."}}})
    system, user, _ = run_node(propose, task, own, monkeypatch)
    assert system == "You are a poet." and "Your perspective" not in user


def test_a_prompt_over_the_ceiling_after_all_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(rounds=3, maxPromptTokens=2000)
    task = AgentTask(kind="propose", agent_id="a", round=1, problem="A long problem. " * 1000)
    _, _, events = run_node(propose, task, settings, monkeypatch)
    assert any(e["event"] == "warning" and "maxPromptTokens" in e["message"] for e in events)
    _, _, events = run_node(propose, task.model_copy(update={"problem": "P"}), settings, monkeypatch)
    assert not any(e["event"] == "warning" for e in events)
