"""Round diffs (issue 16, item 5): which sections of each agent's design a refinement changed,
and which ledger items caused each change, confirmed (or not) by the text diff."""

from __future__ import annotations

from typing import Any

from debate_states import AGENTS, contribution

from dialectic.debate.diffs import AgentDiff, SectionDiff, diff, round_diffs, sections
from dialectic.debate.state import LedgerEntry

PROPOSAL = """Intro line.

## Summary

Use one Redis node.

## Design

1. **cache** - keeps hot reads.

```python
## not a heading: inside code
x = 1
```

## Risks

- One node is a single point of failure.
"""

REFINED = """Intro line.

## Summary

Use   one Redis
node.

## Design

1. **cache** - keeps hot reads.
2. **replica** - takes over when the primary fails.

```python
## not a heading: inside code
x = 2
```

## Response to Critiques

- I1 accepted.
"""


def test_a_design_splits_at_level_two_headings_outside_code() -> None:
    found = sections(PROPOSAL)
    assert list(found) == ["", "summary", "design", "risks"]
    assert found["design"][0] == "Design"
    assert "## not a heading: inside code" in found["design"][1]  # the fence did not split it
    assert found["summary"][1] == "Use one Redis node."  # whitespace normalised


def test_deeper_headings_closing_hashes_and_repeated_titles() -> None:
    found = sections("## Plan ##\n\none\n\n### Detail\n\ntwo\n\n## plan\n\nthree\n")
    assert list(found) == ["plan"]  # "### Detail" stays inside; the second "plan" is the same section
    assert found["plan"] == ("Plan", "one ### Detail two three")
    assert "" not in sections("\n\n## Only\n\ntext")  # blank lines before the first heading: no preamble


def test_sections_changed_added_and_removed_rewrapping_is_no_change() -> None:
    changes = {s.title: s.change for s in diff(PROPOSAL, REFINED)}
    assert changes == {"Design": "changed", "Response to Critiques": "added", "Risks": "removed"}


def test_items_are_the_accepted_sections_confirmed_by_the_diff() -> None:
    claims = [
        ("I1", ["Design", "## risks"]),  # any case, "## " stripped
        ("I2", ["summary"]),  # named, but the summary did not change (only re-wrapped)
        ("I3", ["Capacity Plan"]),  # a section neither design has
    ]
    found = diff(PROPOSAL, REFINED, claims)
    assert found == (
        SectionDiff("Design", "changed", ("I1",)),
        SectionDiff("Response to Critiques", "added"),
        SectionDiff("Risks", "removed", ("I1",)),
        SectionDiff("Summary", "unchanged", ("I2",)),
        SectionDiff("Capacity Plan", "unchanged", ("I3",)),
    )
    assert [s.confirmed for s in found] == [True, True, True, False, False]
    assert AgentDiff("a", 1, found).unconfirmed == ["I2", "I3"]


def raised(critic: str, target: str, index: int = 0) -> LedgerEntry:
    return LedgerEntry(
        kind="raised",
        round=1,
        agent_id=critic,
        target_agent_id=target,
        index=index,
        title="t",
        severity="major",
    )


def answer(round_number: int, author: str, item: str, response: str, *named: str) -> LedgerEntry:
    return LedgerEntry(
        kind="response", round=round_number, agent_id=author, item_id=item, answer=response, sections=named
    )


def two_rounds() -> dict[str, Any]:
    """Agent a refines twice; b's first refinement failed, so its design going into round 2 is
    still its proposal; c's refinements change nothing. I1: a's item on b; I2, I3: b's on a."""
    second = REFINED.replace("- I1 accepted.", "- I2 accepted.")
    contributions = [
        contribution(1, "a", "proposal", content=PROPOSAL),
        contribution(1, "b", "proposal", content=PROPOSAL),
        contribution(1, "c", "proposal", content=PROPOSAL),
        contribution(1, "b", "critique", "a"),
        contribution(1, "a", "refinement", content=REFINED),
        contribution(1, "c", "refinement", content=PROPOSAL),
        contribution(2, "a", "proposal", carried=True, content=REFINED),
        contribution(2, "b", "proposal", carried=True, content=PROPOSAL),
        contribution(2, "c", "proposal", carried=True, content=PROPOSAL),
        contribution(2, "a", "refinement", content=second),
        contribution(2, "b", "refinement", content=REFINED),
        contribution(2, "c", "refinement", content=PROPOSAL),
    ]
    ledger = [
        raised("a", "b"),  # I1 (ids follow the critics' order)
        raised("b", "a"),  # I2
        raised("b", "a", 1),  # I3
        answer(1, "a", "I2", "accepted", "Design"),
        answer(1, "a", "I3", "rebutted"),  # not a cause: rebutted
        answer(1, "a", "I9", "accepted", "Summary"),  # an id nobody raised: not a cause
        answer(2, "b", "I2", "accepted", "Summary"),  # not b's item to answer (it is on a)
        # I3 stands rebutted (its critic gave no verdict): not its author's to answer again.
        answer(2, "a", "I3", "accepted", "Response to Critiques", "Risks"),
        answer(2, "b", "I1", "accepted", "design", "Summary"),
    ]
    return {"problem": "p", "round": 2, "contributions": contributions, "ledger": ledger}


def test_round_diffs_compare_each_agents_design_going_into_the_round_with_its_refinement() -> None:
    found = round_diffs(two_rounds(), AGENTS)  # type: ignore[arg-type]
    assert list(found) == [1, 2]
    assert [d.agent_id for d in found[1]] == ["a", "c"]  # b did not refine in round 1
    assert [d.agent_id for d in found[2]] == ["a", "b", "c"]

    a1, c1 = found[1]
    assert a1.round == 1 and {s.title: s.items for s in a1.sections} == {
        "Design": ("I2",),
        "Response to Critiques": (),
        "Risks": (),
    }
    assert c1.sections == ()  # nothing changed

    a2, b2, c2 = found[2]
    # Round 2: against a's refinement of round 1, not its proposal; the answer to I2 the
    # ledger did not take (I3) causes nothing.
    assert a2.sections == (SectionDiff("Response to Critiques", "changed"),)
    # b's first refinement failed: round 2 compares with its proposal.
    assert b2.sections == (
        SectionDiff("Design", "changed", ("I1",)),
        SectionDiff("Response to Critiques", "added"),
        SectionDiff("Risks", "removed"),
        SectionDiff("Summary", "unchanged", ("I1",)),
    )
    assert b2.unconfirmed == ["I1"] and c2.sections == ()


def test_agents_that_left_the_panel_follow_the_panel_in_order() -> None:
    found = round_diffs(two_rounds(), ["c", "a"])  # type: ignore[arg-type]
    assert [d.agent_id for d in found[2]] == ["c", "a", "b"]
