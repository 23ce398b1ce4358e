"""Prompt text from the debate state (an agent's history under its summary, the judge's transcript,
clarifications and notes) and the budget projection made before each phase."""

from __future__ import annotations

import re
from typing import Any

from debate_states import AGENTS, contribution, rounds, summary, text

from dialectic.configs.loader import validate_config
from dialectic.configs.settings import resolve_settings
from dialectic.debate import history
from dialectic.debate.context import DebateContext
from dialectic.debate.pauses import BudgetPause
from dialectic.debate.state import (
    AgentClarifications,
    CallUsage,
    ClarificationItem,
    ExtensionRun,
    SteeringNote,
)
from dialectic.nodes.budget import overrun

# --- an agent's history -------------------------------------------------------------------------


def test_own_entries_are_what_the_agent_wrote_and_the_critiques_it_received():
    entries = history.own_entries(rounds(2), "a")
    assert all(c.agent_id == "a" or c.target_agent_id == "a" for c in entries)
    assert not any(c.carried for c in entries)
    assert {c.content for c in entries} >= {
        text(1, "a", "proposal"),
        text(1, "b", "critique", "a"),
        text(1, "a", "critique", "c"),
        text(2, "a", "refinement"),
    }
    assert text(1, "b", "critique", "c") not in {c.content for c in entries}


def test_the_latest_summary_in_force_is_used():
    summaries = [summary("a", 2, (1, 1), "S2"), summary("b", 3, (2, 1), "B3"), summary("a", 3, (2, 1), "S3")]
    assert history.latest_summary(summaries, "a", 1) is None
    assert history.latest_summary(summaries, "a", 2) == summaries[0]
    assert history.latest_summary(summaries, "a", 5) == summaries[2]
    assert history.latest_summary(summaries, "c", 5) is None


def test_a_summary_in_a_history_keeps_its_headings_inside_the_prompts_sections():
    # A model's summary may have its own "## " headings: they must not open sections of the prompt.
    state = {"contributions": rounds(2), "summaries": [summary("a", 2, (1, 1), "## Design\n\nA QUEUE")]}
    rendered = history.agent_history(state, "a", 2, (2, 1))
    assert "\n#### Design\n\nA QUEUE" in rendered and "\n## Design" not in rendered


def test_entries_a_summary_covers_are_not_repeated():
    state = {"contributions": rounds(2), "summaries": [summary("a", 2, (1, 1), "WHAT A DID IN ROUND ONE")]}
    found, entries = history.history_material(state, "a", 2, (2, 2))
    assert found == state["summaries"][0]
    assert all((1, 1) < c.position < (2, 2) for c in entries)
    assert [c.content for c in entries] == [
        text(1, "a", "refinement"),
        text(2, "a", "critique", "b"),
        text(2, "a", "critique", "c"),
        text(2, "b", "critique", "a"),
        text(2, "c", "critique", "a"),
    ]
    rendered = history.agent_history(state, "a", 2, (2, 2))
    assert "WHAT A DID IN ROUND ONE" in rendered
    assert text(1, "a", "proposal") not in rendered and text(1, "b", "critique", "a") not in rendered
    assert all(c.content in rendered for c in entries)
    assert rendered.index("WHAT A DID IN ROUND ONE") < rendered.index(text(1, "a", "refinement"))


def test_a_summary_for_a_later_round_is_not_in_force_yet():
    state = {"contributions": rounds(2), "summaries": [summary("a", 3, (2, 1), "NOT YET")]}
    rendered = history.agent_history(state, "a", 2, (2, 2))
    assert "NOT YET" not in rendered and text(1, "a", "proposal") in rendered


def test_history_stops_before_the_position_asked_for_and_leaves_out_what_is_excluded():
    state = {"contributions": rounds(2)}
    rendered = history.agent_history(state, "a", 2, (2, 1))
    assert text(1, "a", "refinement") in rendered
    assert text(2, "a", "critique", "b") not in rendered and text(2, "a", "refinement") not in rendered
    excluded = [c for c in state["contributions"] if c.content == text(1, "b", "critique", "a")]
    assert text(1, "b", "critique", "a") not in history.agent_history(state, "a", 2, (2, 1), exclude=excluded)


def test_carried_proposals_are_left_out_of_histories():
    contributions = rounds(2)
    carried = text(1, "a", "refinement")
    rendered = history.agent_history({"contributions": contributions}, "a", 3, (3, 0))
    assert rendered.count(carried) == 1


def transcript_text(contributions, before):
    """The whole debate before ``before`` as the judge reads it."""
    return "\n".join(history.transcript_entries(contributions, (0, -1), before))


def test_empty_sections_vanish():
    assert history.agent_history({"contributions": []}, "a", 1, (1, 0)) == ""
    assert history.agent_history({"contributions": rounds(1)}, "a", 1, (1, 0)) == ""
    assert history.clarifications_text([]) == ""
    assert history.notes_text({}, "a") == "" and history.notes_text({}, None) == ""
    assert history.section("Anything", " \n\t ") == ""
    assert transcript_text([], (9, 9)) == ""
    withdrawn = [
        ExtensionRun(name="x", position="round", round=1, timestamp="t", notes="  ", agent_notes={"a": ""})
    ]
    assert history.notes_text({"extension_runs": withdrawn}, "a") == ""


def test_the_transcript_shows_the_critiques_before_the_position():
    transcript = transcript_text(rounds(2), (2, 2))
    assert all(
        text(r, a, "critique", b) in transcript for r in (1, 2) for a in AGENTS for b in AGENTS if a != b
    )
    # the designs the judge reads as the final proposals: the newest supersedes the earlier ones
    assert not any(
        text(r, a, kind) in transcript for r in (1, 2) for a in AGENTS for kind in ("proposal", "refinement")
    )


def test_critiques_text_lists_each_critique_and_says_something_when_there_are_none():
    critiques = [contribution(1, "b", "critique", "a"), contribution(1, "c", "critique", "a")]
    rendered = history.critiques_text(critiques)
    assert rendered.index(critiques[0].content) < rendered.index(critiques[1].content)
    assert history.critiques_text([]).strip()


# --- clarifications and notes -------------------------------------------------------------------


def test_clarifications_show_each_question_with_its_asker_and_answer():
    groups = [
        AgentClarifications(
            agent_id="a",
            agent_name="Ada",
            role="architect",
            items=(
                ClarificationItem(id="q1", question="Which region?", answer="EU only"),
                ClarificationItem(id="q2", question="Peak load?", answer="first line\nsecond line"),
            ),
        ),
        AgentClarifications(agent_id="b", agent_name="Bob", role="kiss", items=()),
    ]
    rendered = history.clarifications_text(groups)
    assert "Which region?" in rendered and "EU only" in rendered and "Ada" in rendered
    assert "Bob" not in rendered  # asked nothing
    assert "\n  second line" in rendered  # a multi-line answer stays inside its list item
    unanswered = [groups[0].model_copy(update={"items": (ClarificationItem(id="q3", question="Budget?"),)})]
    assert "Budget?" in history.clarifications_text(unanswered) and "NA" in history.clarifications_text(
        unanswered
    )


def test_notes_show_steering_then_the_latest_notes_of_each_extension():
    state = {
        "steering_notes": [SteeringNote(after_round=1, text="Drop Kafka.\n# Why\nCost.", timestamp="t")],
        "extension_runs": [
            ExtensionRun(name="lint", position="refine", round=1, timestamp="t", notes="OLD LINT"),
            ExtensionRun(
                name="cost", position="round", round=1, timestamp="t", agent_notes={"a": "A IS PRICEY"}
            ),
            ExtensionRun(name="lint", position="refine", round=2, timestamp="t", notes="NEW LINT"),
        ],
    }
    for_a = history.notes_text(state, "a")
    assert "Drop Kafka." in for_a and "NEW LINT" in for_a and "A IS PRICEY" in for_a
    assert "OLD LINT" not in for_a
    assert for_a.index("Drop Kafka.") < for_a.index("NEW LINT")
    # Notes are embedded: their headings never break the prompt's own sections.
    assert not re.search(r"^#{1,2} Why", for_a, re.MULTILINE)
    for_b, for_judge = history.notes_text(state, "b"), history.notes_text(state, None)
    assert "A IS PRICEY" not in for_b and "A IS PRICEY" not in for_judge
    assert "NEW LINT" in for_b and "NEW LINT" in for_judge


def test_an_empty_note_withdraws_an_extension_s_earlier_note():
    runs = [
        ExtensionRun(
            name="lint", position="refine", round=1, timestamp="t", notes="OLD", agent_notes={"a": "MINE"}
        ),
        ExtensionRun(name="lint", position="refine", round=2, timestamp="t", notes="", agent_notes={}),
    ]
    assert history.notes_text({"extension_runs": runs}, "a") == ""
    # A run that says nothing (None) leaves earlier notes in place.
    kept = [runs[0], ExtensionRun(name="lint", position="refine", round=2, timestamp="t")]
    assert "OLD" in history.notes_text({"extension_runs": kept}, "a")


# --- batched critiques in histories -------------------------------------------------------------


def test_a_batched_critique_is_in_the_history_of_the_agents_it_critiques():
    state = {"contributions": rounds(1, batched=True)}
    rendered = history.agent_history(state, "a", 2, (2, 0))
    assert text(1, "b", "critique") in rendered and text(1, "c", "critique") in rendered


def test_batched_critiques_are_rendered_without_a_missing_target():
    contributions = rounds(1, batched=True)
    assert "None" not in history.agent_history({"contributions": contributions}, "a", 2, (2, 0))
    assert "None" not in transcript_text(contributions, (2, 0))


# --- budgets ------------------------------------------------------------------------------------


def context(**debate: Any) -> DebateContext:
    document = {
        "agents": [
            {"id": a, "name": a, "role": "architect", "model": "sim", "provider": "offline"} for a in AGENTS
        ],
        "judge": {
            "id": "judge",
            "name": "Judge",
            "role": "generalist",
            "model": "sim",
            "provider": "offline",
        },
        "debate": debate,
    }
    settings, _ = resolve_settings(validate_config(document, "test"), None, offline=True)
    return DebateContext(settings)


def usage(
    phase: str, tokens_in: int, tokens_out: int, cost: float | None = None, agent: str = "a"
) -> CallUsage:
    return CallUsage(
        agent_id=agent,
        phase=phase,
        round=1,
        model="sim",
        provider="offline",
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        latency_ms=10,
        cost_usd=cost,
    )


# 3 proposals of 1,500 tokens and 2 critiques of 300: 5,100 tokens; $0.034 when priced.
SPENT = [
    *(usage("propose", 1000, 500, 0.01) for _ in range(3)),
    *(usage("critique", 200, 100, 0.002) for _ in range(2)),
]


def test_without_a_budget_nothing_pauses():
    assert overrun({"round": 1, "usage": SPENT * 100}, context(), "critique", 1000) is None


def test_no_calls_never_cross_a_budget():
    assert overrun({"round": 1, "usage": SPENT}, context(maxTokens=1), "critique", 0) is None


def test_before_any_call_a_guess_is_projected():
    found = overrun({"round": 1}, context(maxTokens=1), "propose", 3)
    assert isinstance(found, BudgetPause)
    assert (found.phase, found.round, found.calls, found.spent_tokens) == ("propose", 1, 3, 0)
    assert found.projected_tokens > 1 and found.projected_tokens % 3 == 0


def test_the_projection_averages_the_calls_of_the_same_phase():
    state = {"round": 2, "usage": SPENT}
    assert overrun(state, context(maxTokens=6300), "critique", 4) is None  # 5,100 + 4 x 300
    found = overrun(state, context(maxTokens=6299), "critique", 4)
    assert found == BudgetPause(
        phase="critique",
        round=2,
        calls=4,
        spent_tokens=5100,
        projected_tokens=6300,
        max_tokens=6299,
        spent_usd=0.034,
        projected_usd=0.042,
    )


def test_a_phase_not_seen_yet_is_projected_from_every_call_so_far():
    found = overrun({"round": 1, "usage": SPENT}, context(maxTokens=6000), "refine", 3)
    assert found is not None and found.projected_tokens == 5100 + 3 * 1020


def test_a_cost_budget_pauses_on_the_projected_cost():
    state = {"round": 1, "usage": SPENT}
    assert overrun(state, context(maxCostUsd=0.05), "critique", 4) is None
    found = overrun(state, context(maxCostUsd=0.04), "critique", 4)
    assert found is not None
    assert (found.spent_usd, found.projected_usd, found.max_usd, found.max_tokens) == (
        0.034,
        0.042,
        0.04,
        None,
    )


def test_either_budget_crossed_pauses():
    state = {"round": 1, "usage": SPENT}
    assert overrun(state, context(maxTokens=100_000, maxCostUsd=0.05), "critique", 4) is None
    assert overrun(state, context(maxTokens=100_000, maxCostUsd=0.04), "critique", 4) is not None
    assert overrun(state, context(maxTokens=6000, maxCostUsd=1.0), "critique", 4) is not None


def test_unknown_costs_show_no_dollar_figures_and_leave_the_token_budget_in_force():
    state = {"round": 1, "usage": [*SPENT, usage("critique", 200, 100, None, agent="b")]}
    found = overrun(state, context(maxTokens=6000, maxCostUsd=1.0), "critique", 4)
    assert found is not None
    assert found.spent_usd is None and found.projected_usd is None
    assert found.spent_tokens == 5400 and found.projected_tokens == 5400 + 4 * 300
