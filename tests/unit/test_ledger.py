"""The issue ledger's core: ids, statuses and who may say what, the prompt sections, the
``issues`` termination, the position-change signals, and the JSON blocks replies end with."""

from __future__ import annotations

from typing import Any

from debate_states import AGENTS, debate_state, make_settings

from dialectic.debate import blocks, course, ledger, tasks
from dialectic.debate.phases import CRITIQUE, REFINE
from dialectic.debate.state import LedgerEntry


def raised(
    round_number: int, critic: str, target: str, index: int = 0, severity: str = "major"
) -> LedgerEntry:
    return LedgerEntry(
        kind="raised",
        round=round_number,
        agent_id=critic,
        target_agent_id=target,
        index=index,
        title=f"{critic} on {target} #{index}",
        severity=severity,
        perspective="architect",
        evidence="the queue has one broker",
        suggestion="run two brokers",
    )


def response(round_number: int, author: str, item: str, answer: str, note: str = "because") -> LedgerEntry:
    return LedgerEntry(
        kind="response", round=round_number, agent_id=author, item_id=item, answer=answer, text=note
    )


def verdict(round_number: int, critic: str, item: str, answer: str, argument: str = "") -> LedgerEntry:
    return LedgerEntry(
        kind="verdict", round=round_number, agent_id=critic, item_id=item, answer=answer, text=argument
    )


def test_ids_follow_round_critic_target_and_position_whatever_order_the_calls_ended_in() -> None:
    entries = [
        raised(1, "c", "a"),
        raised(2, "a", "b"),
        raised(1, "a", "c"),
        raised(1, "a", "b", 1),
        raised(1, "a", "b"),
    ]
    found = ledger.items(entries, AGENTS)
    assert [(i.id, i.round, i.raised_by, i.target) for i in found] == [
        ("I1", 1, "a", "b"),
        ("I2", 1, "a", "b"),
        ("I3", 1, "a", "c"),
        ("I4", 1, "c", "a"),
        ("I5", 2, "a", "b"),
    ]
    assert [i.title for i in found[:2]] == ["a on b #0", "a on b #1"]
    assert ledger.items(list(reversed(entries)), AGENTS) == found


def test_statuses_move_from_raised_to_answered_to_ruled_on() -> None:
    entries = [
        raised(1, "a", "b"),  # I1: accepted
        raised(1, "a", "b", 1),  # I2: rebutted, then closed
        raised(1, "a", "c"),  # I3: deferred, reopened, then rebutted again
        raised(1, "b", "c"),  # I4: nobody answers
        response(1, "b", "I1", "accepted"),
        response(1, "b", "I2", "rebutted"),
        response(1, "c", "I3", "deferred"),
        verdict(2, "a", "I2", "close"),
        verdict(2, "a", "I3", "reopen", "a brand new reason about failover latency budgets"),
    ]
    statuses = {i.id: i.status for i in ledger.items(entries, AGENTS)}
    assert statuses == {"I1": "accepted", "I2": "closed", "I3": "reopened", "I4": "open"}
    later = ledger.items([*entries, response(2, "c", "I3", "rebutted")], AGENTS)
    assert later[2].status == "rebutted" and later[2].contested
    assert [i.id for i in later if i.is_open] == ["I4"]


def test_only_the_author_answers_and_only_the_critic_rules() -> None:
    entries = [
        raised(1, "a", "b"),
        response(1, "c", "I1", "accepted"),  # not c's design
        response(1, "b", "I9", "accepted"),  # no such item
        verdict(1, "a", "I1", "close"),  # nothing to rule on yet (open, in the same round)
    ]
    assert ledger.items(entries, AGENTS)[0].status == "open"
    entries += [response(1, "b", "I1", "rebutted"), verdict(2, "c", "I1", "close")]  # c did not raise it
    assert ledger.items(entries, AGENTS)[0].status == "rebutted"


def test_the_refinement_sees_the_open_items_against_its_author_and_the_critic_its_items_awaiting_a_verdict() -> (
    None
):
    settings = make_settings(rounds=3)
    state = debate_state(1, 2) | {"ledger": [raised(1, "b", "a"), raised(1, "c", "a", severity="critical")]}
    task = next(t for t in tasks.phase_tasks(REFINE, state, settings) if t.agent_id == "a")
    assert "## Open items against your design" in task.ledger
    assert "**I1** (major, raised by b in round 1): b on a #0. Suggested: run two brokers" in task.ledger
    assert "**I2** (critical, raised by c in round 1)" in task.ledger
    others = [t for t in tasks.phase_tasks(REFINE, state, settings) if t.agent_id != "a"]
    assert all(t.ledger == "" for t in others)
    # round 2: a rebutted I1, so b (its critic) is asked for a verdict when it critiques a
    answered = debate_state(2, 1) | {
        "ledger": [*state["ledger"], response(1, "a", "I1", "rebutted", "NOT NEEDED")]
    }
    critiques = {(t.agent_id, t.target_agent_id): t for t in tasks.phase_tasks(CRITIQUE, answered, settings)}
    assert (
        "**I1** (major, round 1): b on a #0. The author *rebutted* it: NOT NEEDED"
        in critiques[("b", "a")].ledger
    )
    assert critiques[("b", "c")].ledger == "" and critiques[("c", "a")].ledger == ""


def reported(round_number: int) -> list[LedgerEntry]:
    """Every critique of a round of three agents reported a valid block."""
    return [
        LedgerEntry(kind="reported", round=round_number, agent_id=a, target_agent_id=b)
        for a in AGENTS
        for b in AGENTS
        if a != b
    ]


def test_issues_termination_ends_the_debate_when_nothing_serious_is_open() -> None:
    settings = make_settings(rounds=3, terminationCondition={"type": "issues", "severity": "major"})
    items = [*reported(1), raised(1, "a", "b"), raised(1, "b", "a", severity="minor")]
    refined = debate_state(1, 3)
    assert not course.debate_ends(refined | {"ledger": items}, settings)  # I1 (major) is open
    accepted = refined | {"ledger": [*items, response(1, "b", "I1", "accepted")]}
    assert course.debate_ends(accepted, settings)  # only a minor item is left open
    strict = make_settings(rounds=3, terminationCondition={"type": "issues", "severity": "minor"})
    assert not course.debate_ends(accepted, strict)
    # a rebuttal its critic has not seen yet is still in dispute: the critic may reopen it
    rebutted = [*items, response(1, "b", "I1", "rebutted")]
    assert not course.debate_ends(refined | {"ledger": rebutted}, settings)
    # ... and once the critic let a round pass without reopening it, it is not
    later = debate_state(2, 3) | {"ledger": [*rebutted, *reported(2)]}
    assert course.debate_ends(later, settings)
    # a round whose critiques did not all report (a lost block, an old debate) proves nothing
    assert not course.debate_ends(refined | {"ledger": accepted["ledger"][1:]}, settings)
    assert not course.debate_ends(refined, settings)
    # before the refinements the round's items are not answered yet: never ends mid-round
    assert not course.issues_settled(debate_state(1, 2) | {"ledger": accepted["ledger"]}, settings)
    assert not course.convergence_due(refined, settings)  # no judge call to score agreement


def test_a_concession_without_a_new_argument_is_counted() -> None:
    entries = [
        raised(1, "a", "b"),  # I1: b rebuts, a reopens with the same words, b gives in
        raised(1, "a", "b", 1),  # I2: b rebuts, a reopens with a new argument, b accepts
        raised(1, "c", "b"),  # I3: b rebuts; accepting it later unasked is not b's to do
        response(1, "b", "I1", "rebutted"),
        response(1, "b", "I2", "rebutted"),
        response(1, "b", "I3", "rebutted"),
        verdict(2, "a", "I1", "reopen", "run two brokers, the queue has one broker"),
        verdict(2, "a", "I2", "reopen", "measured failover took forty seconds during last outage drill"),
        response(2, "b", "I1", "accepted"),
        response(2, "b", "I2", "accepted"),
        response(3, "b", "I3", "accepted"),
    ]
    found = ledger.items(entries, AGENTS)
    signals = ledger.signals(found, AGENTS)
    assert (signals["a"].raised, signals["a"].reopened, signals["c"].raised) == (2, 2, 1)
    assert (signals["b"].rebutted, signals["b"].accepted) == (3, 2)  # I3 stays rebutted
    assert signals["b"].concessions_without_new_argument == 1  # I1, not I2
    assert [i.status for i in found] == ["accepted", "accepted", "rebutted"]


def test_a_reply_block_is_split_from_the_prose_and_validated() -> None:
    reply = (
        "## Weaknesses\n\nOne broker.\n\n```json\n"
        '{"findings": [{"title": "One broker", "severity": "major", "evidence": "e", "suggestion": "s"}],'
        ' "verdicts": [{"id": "I2", "verdict": "reopen", "argument": "x"}]}\n```\n'
    )
    prose, block, why = blocks.split(reply, blocks.CritiqueBlock)
    assert prose == "## Weaknesses\n\nOne broker." and why == ""
    assert block is not None and block.findings[0].severity == "major" and block.verdicts[0].id == "I2"
    for bad in ("no block at all", 'x\n```json\n{"findings": [{"title": "t", "severity": "huge"}]}\n```'):
        _, block, why = blocks.split(bad, blocks.CritiqueBlock)
        assert block is None and why
    _, block, _ = blocks.split(
        '```json\n{"responses": [{"id": "I1", "response": "accepted"}]}\n```', blocks.RefinementBlock
    )
    assert block is not None and block.responses[0].sections == []


def test_the_judge_reads_what_is_left_compactly() -> None:
    entries: list[Any] = [raised(1, "a", "b"), raised(1, "a", "c"), response(1, "b", "I1", "accepted")]
    text = ledger.judge_text(ledger.items(entries, AGENTS))
    assert text.startswith("2 items were raised; 1 were settled")
    assert "**I2** (major, open; a on c's design)" in text and "Nobody answered it." in text
    assert "**I1**" not in text
