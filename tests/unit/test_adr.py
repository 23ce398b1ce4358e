"""The architecture decision record (``dialectic adr``) built from a hand-made debate state: its
sections in order, the dissent exactly the contested ledger items, the open risks the open ones,
and model text that stays inert and inside the section it belongs to. And the round diffs as
``dialectic show --diff`` prints them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from debate_states import contribution, make_settings
from markdown_it import MarkdownIt

from dialectic.debate import ledger
from dialectic.debate.diffs import PREAMBLE, AgentDiff, SectionDiff
from dialectic.debate.state import FinalSolution, LedgerEntry, OptionVerdict, Ruling
from dialectic.errors import InputError
from dialectic.report.adr import SECTIONS, render_adr, summary_of
from dialectic.report.round_diffs import diff_lines

SETTINGS = make_settings(rounds=2)
AGENTS = [agent.id for agent in SETTINGS.agents]  # a, b, c


def raised(critic: str, target: str, title: str, severity: str = "major") -> LedgerEntry:
    return LedgerEntry(
        kind="raised",
        round=1,
        agent_id=critic,
        target_agent_id=target,
        title=title,
        severity=severity,
        perspective="architect",
        evidence=f"{target}'s queue has one broker",
        suggestion="run two brokers",
    )


def said(kind: str, round_number: int, agent: str, item: str, answer: str, text: str) -> LedgerEntry:
    return LedgerEntry(kind=kind, round=round_number, agent_id=agent, item_id=item, answer=answer, text=text)


# Round 1 raises I1..I6 (critic a, b, c in turn, targets in config order); then each takes a course.
LEDGER = [
    raised("a", "b", "Queue is a single point of failure"),  # I1: rebutted, then reopened
    raised("a", "c", "No cache eviction policy", "minor"),  # I2: accepted
    raised("b", "a", "Writes are not idempotent", "critical"),  # I3: rebutted, no verdict yet
    raised("b", "c", "No load test plan", "minor"),  # I4: deferred
    raised("c", "a", "Too many services"),  # I5: nobody answered
    raised("c", "b", "Schema has no versions"),  # I6: rebutted, then closed
    said("response", 1, "b", "I1", "rebutted", "the broker is replicated by the provider"),
    said("response", 1, "c", "I2", "accepted", "added LRU eviction"),
    said("response", 1, "a", "I3", "rebutted", "retries carry a request id already"),
    said("response", 1, "c", "I4", "deferred", "after the first release"),
    said("response", 1, "b", "I6", "rebutted", "one schema version is enough"),
    said("verdict", 2, "a", "I1", "reopen", "the provider's SLA allows an hour of downtime a month"),
    said("verdict", 2, "c", "I6", "close", ""),
]
DESIGNS = {
    "a": "## Summary\n\nA single service with a queue.\n\n## Design\n\n1. **service** — does it.",
    "b": "## Response to Critiques\n\n- I1 rebutted.\n\n## Revised Design\n\n1. **two brokers** — no outage.\n\n"
    "Another paragraph.\n\n## Trade-offs and Risks\n\n- cost",
    "c": "Plain design of c, no headings.\n\nSecond paragraph.",
}
FINAL = FinalSolution(
    description="(the solution with the judge's assessment)",
    solution_markdown="# Final design\n\n## Components\n\n- **queue** — two brokers.",
    tradeoffs=("Two brokers cost more",),
    recommendations=("Load-test before launch",),
    unfulfilled_major_requirements=("p99 under 50 ms is not shown",),
    open_questions=("What is the peak load?",),
    remaining_risks=("**The provider's SLA** allows an hour down",),
    rulings=(
        Ruling(id="I1", ruling="upheld", reason="an hour a month is too much"),
        Ruling(id="I3", ruling="dismissed", reason="request ids make retries safe"),
    ),
    options=(
        OptionVerdict(agent_id="a", verdict="partly adopted", reason="its queue"),
        OptionVerdict(agent_id="b", verdict="adopted", reason="two brokers"),
        OptionVerdict(agent_id="c", verdict="rejected", reason="no queue"),
    ),
    confidence=80,
    synthesized_by="judge",
)


def state(**changes: Any) -> dict[str, Any]:
    contributions = [contribution(1, a, "proposal", content=f"first draft of {a}") for a in AGENTS]
    contributions += [contribution(2, a, "refinement", content=DESIGNS[a]) for a in AGENTS]
    values: dict[str, Any] = {
        "problem": "Design a job queue\n\nIt must survive a broker outage.",
        "round": 2,
        "contributions": contributions,
        "ledger": LEDGER,
        "final_solution": FINAL,
        "stop_reason": "rounds",
    }
    return {**values, **changes}


def adr(**changes: Any) -> str:
    return render_adr(state(**changes), SETTINGS, debate_id="deb-1", status="completed")


def headings(markdown: str, level: int) -> list[str]:
    """The headings of ``level`` as a CommonMark renderer reads them (code and quotes included)."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [
        tokens[i + 1].content
        for i, token in enumerate(tokens)
        if token.type == "heading_open" and token.tag == f"h{level}"
    ]


def section(markdown: str, title: str) -> str:
    """The text under ``## title`` up to the next ``## `` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


def test_every_section_is_there_in_the_adr_layout_order() -> None:
    text = adr()
    assert headings(text, 1) == ["ADR: Design a job queue"]
    assert headings(text, 2) == list(SECTIONS)
    assert section(text, "Status").strip().startswith("Accepted.")
    assert "confidence 80/100" in section(text, "Status")
    context = section(text, "Context")
    assert "It must survive a broker outage." in context
    assert all(f"({a}; role architect; model sim)" in context for a in AGENTS)
    assert "Judge: **Judge** (judge;" in context


def test_the_decision_is_the_judges_design_with_its_headings_below_the_adrs() -> None:
    decision = section(adr(), "Decision")
    assert "### Final design" in decision and "#### Components" in decision
    assert "- **queue** — two brokers." in decision


def test_the_dissent_lists_exactly_the_contested_items_with_both_sides_and_the_ruling() -> None:
    items = ledger.items(LEDGER, AGENTS)
    contested = [item.id for item in items if item.contested]
    assert contested == ["I1"]  # reopened (I3: rebutted, its critic has not ruled yet; I6 was closed)
    dissent = section(adr(), "Dissent")
    assert re.findall(r"^### (I\d+):", dissent, re.M) == contested
    assert "### I1: Queue is a single point of failure" in dissent
    assert "b rebutted it (round 1): the broker is replicated by the provider" in dissent
    assert "a reopened it (round 2): the provider's SLA allows an hour of downtime a month" in dissent
    assert "Judge's ruling: upheld — an hour a month is too much" in dissent
    # the rebuttal no critic ruled on yet is an open risk, not dissent
    risks = section(adr(), "Open risks")
    assert "Rebuttals awaiting their critic's verdict" in risks and "**I3**" in risks


def test_no_contested_item_is_no_dissent() -> None:
    closed = [
        raised("a", "b", "Queue is a single point of failure"),
        said("response", 1, "b", "I1", "rebutted", "the broker is replicated"),
        said("verdict", 2, "a", "I1", "close", ""),
    ]
    assert section(adr(ledger=closed), "Dissent").strip() == "None."
    assert section(adr(ledger=[]), "Dissent").strip() == "None."


def test_open_risks_list_the_open_and_deferred_items_and_the_judges_risks() -> None:
    risks = section(adr(), "Open risks")
    listed = re.findall(r"^- \*\*(I\d+)\*\* \((\w+), (\w+);", risks, re.M)
    assert listed == [
        ("I1", "major", "reopened"),
        ("I5", "major", "open"),
        ("I4", "minor", "deferred"),
        ("I3", "critical", "rebutted"),  # its critic has not ruled on the rebuttal yet
    ]
    assert "- **The provider's SLA** allows an hour down" in risks  # emphasis kept
    assert "- p99 under 50 ms is not shown" in risks
    assert "- What is the peak load?" in risks
    assert "after the first release" in risks  # why I4 was deferred
    consequences = section(adr(), "Consequences")
    assert "- Two brokers cost more" in consequences and "- Load-test before launch" in consequences


def test_each_option_shows_its_summary_and_the_judges_verdict() -> None:
    options = section(adr(), "Options considered")
    parts = dict(re.findall(r"^### \w+ \((\w)\)\n(.*?)(?=^### |\Z)", options, re.M | re.S))
    assert list(parts) == AGENTS
    assert "**Verdict:** partly adopted — its queue" in parts["a"]
    assert "A single service with a queue." in parts["a"] and "**service**" not in parts["a"]
    assert "**Verdict:** adopted — two brokers" in parts["b"]
    assert "**two brokers**" in parts["b"] and "Another paragraph" not in parts["b"]
    assert "**Verdict:** rejected — no queue" in parts["c"]
    assert "Plain design of c" in parts["c"] and "Second paragraph" not in parts["c"]


def test_a_debate_without_a_synthesis_is_proposed_and_says_why() -> None:
    text = render_adr(state(final_solution=None), SETTINGS, debate_id="deb-1", status="interrupted")
    assert headings(text, 2) == list(SECTIONS)
    status = section(text, "Status")
    assert status.strip().startswith("Proposed.")
    assert "interrupted" in status and "dialectic resume deb-1" in status
    assert "No decision has been synthesized yet." in section(text, "Decision")
    assert "none yet (no synthesis)" in section(text, "Options considered")
    # The ledger still speaks: the contested items, with no ruling yet.
    dissent = section(text, "Dissent")
    assert re.findall(r"^### (I\d+):", dissent, re.M) == ["I1"]
    assert "Judge's ruling: none (no synthesis yet)." in dissent


def test_summary_of_reads_markdown_as_a_renderer_does() -> None:
    assert summary_of("## Summary\n\nshort\n\n### Detail\n\nmore\n\n## Design\n\nx") == (
        "short\n\n### Detail\n\nmore"
    )
    assert summary_of("```\n## Summary\n```\n\nfirst\n\nsecond") == "first"  # a heading in code is none
    assert summary_of("- only a list\n- of two") == "- only a list\n- of two"


HOSTILE = (
    "Dissent\n-------\n\n## Status\n\n<script>alert(1)</script> [x](javascript:alert(1)) "
    "<img src=x onerror=alert(1)>\x1b]0;pwned\x07\x1b[2J\n\n> # Decision\n\n```\nunclosed fence"
)


def test_hostile_model_text_stays_inert_and_inside_its_section() -> None:
    hostile_ledger = [
        raised("a", "b", "## Dissent\n### I99: <script>x</script>"),
        said("response", 1, "b", "I1", "rebutted", HOSTILE),
        said("verdict", 2, "a", "I1", "reopen", "- # Open risks\n" + HOSTILE),
    ]
    final = FINAL.model_copy(
        update={
            "solution_markdown": HOSTILE,
            "tradeoffs": ("# Consequences\n" + HOSTILE,),
            "remaining_risks": ("1. [y](javascript:alert(2))",),
            "rulings": (Ruling(id="I1", ruling="upheld", reason=HOSTILE),),
            "options": (OptionVerdict(agent_id="a", verdict="<b>adopted</b>", reason=HOSTILE),),
        }
    )
    designs = [contribution(1, a, "proposal", content="## Summary\n\n" + HOSTILE) for a in AGENTS]
    text = render_adr(
        state(
            problem="Queue <script>\n" + HOSTILE,
            ledger=hostile_ledger,
            final_solution=final,
            contributions=designs,
        ),
        SETTINGS,
        debate_id="deb-1",
        status="completed",
    )
    assert headings(text, 1) == ["ADR: Queue &lt;script>"]  # shown as text
    assert headings(text, 2) == list(SECTIONS)  # no model text opened or ended a section
    assert re.findall(r"^### (I\d+)", section(text, "Dissent"), re.M) == ["I1"]
    assert "\x1b" not in text and "\x07" not in text
    for tables in (True, False):
        parser = MarkdownIt("commonmark")
        if tables:
            parser.enable("table")
        parser.validateLink = lambda url: True  # type: ignore[method-assign]
        page = parser.render(text)
        assert not re.search(r"<(script|img|b>)", page, re.IGNORECASE), page
        assert not re.search(r"href=\"\s*javascript:", page, re.IGNORECASE), page


# --- show --diff ----------------------------------------------------------------------------------


def test_the_round_diffs_print_per_round_and_agent_with_unconfirmed_items_marked() -> None:
    found = {
        2: [
            AgentDiff(
                "a",
                2,
                (
                    SectionDiff("Revised Design", "changed", ("I1", "I3")),
                    SectionDiff("\x1b[2JRisks\nand more", "unchanged", ("I4",)),
                    SectionDiff(PREAMBLE, "added"),
                ),
            ),
            AgentDiff("b", 2, ()),
        ]
    }
    assert diff_lines(found, reached=3, only=2) == [
        "round 2",
        "  a",
        "    Revised Design — changed — I1, I3",
        "    Risks — unchanged — I4 (unconfirmed)",  # its first line, terminal-safe
        "    (text before the first section) — added",
        "  b",
        "    no section changed",
    ]
    assert diff_lines(found, reached=3, only=3) == ["round 3", "  no refinement in this round yet"]
    assert diff_lines({}, reached=1) == ["no round diffs yet: no refinement has been written"]
    with pytest.raises(InputError, match="--round 4: the debate has rounds 1 to 3"):
        diff_lines(found, reached=3, only=4)
