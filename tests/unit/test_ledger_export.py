"""The issue ledger in the debate JSON (issue 16, items 2, 5, 6, 8): additive fields, present only
when the debate has a ledger; files with or without them read, and the report shows them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from debate_states import contribution, make_settings

from dialectic.debate.state import FinalSolution, LedgerEntry, OptionVerdict, Ruling
from dialectic.report.markdown import render_report
from dialectic.transcript.export import to_record
from dialectic.transcript.files import read_record, write_record

SAVED = "saved-debate-2-agents-2-rounds.json"
PROPOSAL = "## Summary\n\nOne node.\n\n## Design\n\n- **cache**\n"
REFINED = "## Summary\n\nOne node.\n\n## Design\n\n- **cache**\n- **replica**\n"
NEW_KEYS = ("ledger", "positionChanges")


def entry(kind: str, round_number: int, agent: str, **fields: Any) -> LedgerEntry:
    return LedgerEntry(kind=kind, round=round_number, agent_id=agent, **fields)


LEDGER = [
    entry(
        "raised",
        1,
        "b",
        target_agent_id="a",
        title="One node is a single point of failure",
        severity="critical",
        perspective="architect",
        evidence="a's design has one **cache**",
        suggestion="Add a replica",
    ),
    entry("raised", 1, "c", target_agent_id="a", title="No eviction policy", severity="minor"),
    entry("response", 1, "a", item_id="I1", answer="rebutted", text="One node is enough"),
    entry("response", 1, "a", item_id="I2", answer="deferred", text="Later"),
    entry("verdict", 2, "b", item_id="I1", answer="reopen", text="One node is enough"),
    entry("verdict", 2, "c", item_id="I2", answer="close"),
    entry(
        "response", 2, "a", item_id="I1", answer="accepted", text="Added one", sections=("Design", "Risks")
    ),
]


def state(ledger: list[LedgerEntry], final: FinalSolution | None = None) -> dict[str, Any]:
    contributions = [contribution(1, agent, "proposal", content=PROPOSAL) for agent in ("a", "b", "c")]
    contributions += [contribution(1, agent, "refinement", content=PROPOSAL) for agent in ("a", "b", "c")]
    contributions += [contribution(2, agent, "proposal", carried=True, content=PROPOSAL) for agent in "abc"]
    contributions += [contribution(2, "a", "refinement", content=REFINED)]
    return {
        "problem": "Design a cache.",
        "round": 2,
        "contributions": contributions,
        "ledger": ledger,
        "final_solution": final,
    }


def final(**judged: Any) -> FinalSolution:
    return FinalSolution(
        description="Use a replica.",
        solution_markdown="Use a replica.",
        confidence=80,
        synthesized_by="judge",
        **judged,
    )


def exported(debate: dict[str, Any]) -> dict[str, Any]:
    record = to_record(
        "deb-1",
        debate,
        make_settings(),
        status="completed",
        created_at="2025-01-01T00:00:00Z",
        updated_at="2025-01-01T00:00:00Z",
    )
    return record.dump()


JUDGED = final(
    remaining_risks=("Replica lag",),
    rulings=(Ruling(id="I1", ruling="upheld", reason="b was right"),),
    options=(OptionVerdict(agent_id="a", verdict="adopted", reason="simplest"),),
)


def test_a_debate_with_a_ledger_exports_its_items_in_id_order_with_their_history() -> None:
    data = exported(state(LEDGER, JUDGED))
    assert data["ledger"] == [
        {
            "id": "I1",
            "title": "One node is a single point of failure",
            "severity": "critical",
            "perspective": "architect",
            "evidence": "a's design has one **cache**",
            "suggestion": "Add a replica",
            "raisedBy": "b",
            "target": "a",
            "round": 1,
            "status": "accepted",
            "history": [
                {
                    "round": 1,
                    "kind": "response",
                    "by": "a",
                    "answer": "rebutted",
                    "text": "One node is enough",
                    "sections": [],
                },
                {
                    "round": 2,
                    "kind": "verdict",
                    "by": "b",
                    "answer": "reopen",
                    "text": "One node is enough",
                    "sections": [],
                },
                {
                    "round": 2,
                    "kind": "response",
                    "by": "a",
                    "answer": "accepted",
                    "text": "Added one",
                    "sections": ["Design", "Risks"],
                },
            ],
        },
        {
            "id": "I2",
            "title": "No eviction policy",
            "severity": "minor",
            "perspective": "",
            "evidence": "",
            "suggestion": "",
            "raisedBy": "c",
            "target": "a",
            "round": 1,
            "status": "closed",
            "history": [
                {
                    "round": 1,
                    "kind": "response",
                    "by": "a",
                    "answer": "deferred",
                    "text": "Later",
                    "sections": [],
                },
                {"round": 2, "kind": "verdict", "by": "c", "answer": "close", "text": "", "sections": []},
            ],
        },
    ]


def test_position_changes_count_each_agents_moves_and_its_concessions() -> None:
    changes = exported(state(LEDGER))["positionChanges"]
    zero = dict.fromkeys(
        ("raised", "accepted", "rebutted", "deferred", "reopened", "closed", "concessionsWithoutNewArgument"),
        0,
    )
    assert changes == {
        # a accepted I1 after rebutting it, when b's reopening only repeated a's own words
        "a": {**zero, "accepted": 1, "rebutted": 1, "deferred": 1, "concessionsWithoutNewArgument": 1},
        "b": {**zero, "raised": 1, "reopened": 1},
        "c": {**zero, "raised": 1, "closed": 1},
    }


def test_rounds_carry_their_diffs_and_the_final_solution_the_judges_rulings() -> None:
    data = exported(state(LEDGER, JUDGED))
    round_one, round_two = data["rounds"]
    assert round_one["diffs"] == [{"agentId": agent, "sections": []} for agent in ("a", "b", "c")]
    assert round_two["diffs"] == [
        {
            "agentId": "a",
            "sections": [
                {"title": "Design", "change": "changed", "items": ["I1"], "confirmed": True},
                {"title": "Risks", "change": "unchanged", "items": ["I1"], "confirmed": False},
            ],
        }
    ]
    solution = data["finalSolution"]
    assert solution["remainingRisks"] == ["Replica lag"]
    assert solution["rulings"] == [{"id": "I1", "ruling": "upheld", "reason": "b was right"}]
    assert solution["options"] == [{"agentId": "a", "verdict": "adopted", "reason": "simplest"}]


def test_a_debate_without_a_ledger_has_none_of_the_fields() -> None:
    for ledger in (
        [],
        [entry("response", 1, "a", item_id="I7", answer="accepted")],
    ):  # an unknown id: no item
        data = exported(state(ledger, final()))
        assert not set(NEW_KEYS) & set(data)
        assert all("diffs" not in r for r in data["rounds"])
        assert not {"remainingRisks", "rulings", "options"} & set(data["finalSolution"])


def test_files_with_and_without_the_fields_read_and_a_typescript_file_is_written_back_unchanged(
    fixtures_dir: Path, isolated: Path
) -> None:
    original = (fixtures_dir / SAVED).read_text(encoding="utf-8")
    record = read_record(fixtures_dir / SAVED)
    assert record.ledger is None and record.positionChanges is None
    write_record(isolated / "copy.json", record)
    assert json.loads((isolated / "copy.json").read_text(encoding="utf-8")) == json.loads(original)

    (isolated / "ledger.json").write_text(json.dumps(exported(state(LEDGER, JUDGED))), encoding="utf-8")
    with_ledger = read_record(isolated / "ledger.json")
    assert [i.id for i in with_ledger.ledger or []] == ["I1", "I2"]
    assert with_ledger.rounds[1].diffs and with_ledger.rounds[1].diffs[0].sections[1].confirmed is False
    assert with_ledger.finalSolution and with_ledger.finalSolution.rulings
    write_record(isolated / "again.json", with_ledger)
    assert read_record(isolated / "again.json") == with_ledger
    assert "## Issue Ledger" in render_report(with_ledger)
