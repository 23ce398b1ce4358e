"""What the judge reads of the debate besides the final designs: the critiques and how each
author answered them, never an earlier design (its author's final one supersedes it)."""

from __future__ import annotations

from typing import Any

import pytest
from debate_states import AGENTS, JUDGE, contribution, debate_state, make_settings, summary, text, usage_of
from langgraph.runtime import Runtime

from dialectic.debate import history, tasks
from dialectic.debate.context import DebateContext
from dialectic.nodes import judge as judge_node
from dialectic.nodes import llm
from dialectic.nodes.judge import Synthesis

REVISED = (
    "## Response to Critiques\n\n- **Accept** b's point on the broker: two brokers now.\n\n"
    "## Revised Design\n\nTWO BROKERS AND A QUEUE\n"
)


def test_the_judge_reads_each_authors_answers_but_not_its_superseded_design() -> None:
    contributions = [
        *debate_state(1, 2)["contributions"],
        contribution(1, "a", "refinement", content=REVISED),
        contribution(1, "b", "refinement"),  # no answers section: nothing of it is read
    ]
    read = "\n".join(history.transcript_entries(contributions, (0, -1), (2, 2)))
    assert "Round 1: a answers the critiques of its design" in read and "two brokers now" in read
    assert "TWO BROKERS AND A QUEUE" not in read and "Revised Design" not in read
    assert text(1, "b", "refinement") not in read and "b answers" not in read
    assert not any(text(1, x, "proposal") in read for x in AGENTS)
    assert text(1, "a", "critique", "b") in read


def synthesis_prompt(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> str:
    settings = make_settings(rounds=1)
    if overrides:
        settings = settings.model_copy(update={"prompt_overrides": {JUDGE: overrides}})
    seen: list[Any] = []

    def complete(model: Any, member: Any, call: Any, messages: Any, schema: Any, **_: Any) -> Any:
        seen.append(messages)
        return Synthesis(solutionMarkdown="final", confidence=80), usage_of(call)

    monkeypatch.setattr(llm, "complete_structured", complete)
    state = debate_state(1, 3)
    judge_node.judge(state, Runtime(context=DebateContext(settings), stream_writer=lambda _: None))
    [messages] = seen
    return str(messages[-1].content)


def test_a_synthesis_template_without_final_proposals_gets_them_with_the_debate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built_in = synthesis_prompt(monkeypatch)
    assert all(text(1, a, "refinement") in built_in for a in AGENTS)
    own = synthesis_prompt(monkeypatch, synthesize="Problem: {problem}\n\nWhat happened:\n{debate}\n")
    assert all(text(1, a, "refinement") in own for a in AGENTS)


def test_the_judges_own_summary_counts_towards_the_synthesis_prompt() -> None:
    # A threshold never reached: only a synthesis prompt over the ceiling makes the summary due.
    settings = make_settings(
        rounds=2, maxPromptTokens=8000, summarization={"threshold": 10**9, "maxLength": 100}
    )

    def ending_with(previous: str) -> list[Any]:
        state = debate_state(2, 2) | {"summaries": [summary(JUDGE, 2, (1, 1), previous)]}
        return tasks.judge_summary_tasks(state, settings, ending=True)

    assert ending_with("SHORT") == []
    assert ending_with("word " * 7000)  # about 8,750 tokens of it would go into the synthesis


def test_what_the_judge_reads_keeps_each_texts_headings_below_its_title() -> None:
    state = debate_state(2, 2) | {
        "summaries": [summary(a, 2, (1, 1), "## Design\n\nA QUEUE") for a in AGENTS]
    }
    read = judge_node.debate_text(state, DebateContext(make_settings(rounds=2)))
    assert "##### a (architect), in its own summary\n\n###### Design\n\nA QUEUE" in read
    critique = contribution(2, "a", "critique", "b", content="## Weaknesses\n\nONE BROKER")
    [entry] = history.transcript_entries([critique], (1, 2), (2, 2))
    assert entry.startswith("### Round 2: a critiques b\n\n#### Weaknesses\n\nONE BROKER")
