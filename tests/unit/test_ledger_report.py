"""The report's ledger sections (issue 16, items 5-7): the ledger table, the judge's rulings and
remaining risks, the position changes and each round's design changes, all from the debate
JSON, with the models' text made inert; none of it for a debate without a ledger."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from dialectic.report.markdown import render_report
from dialectic.transcript.files import read_record
from dialectic.transcript.schema import DebateRecord

HOSTILE = "<script>alert(1)</script> a | b [x](javascript:alert(1))"


def item(number: int, status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"I{number}",
        "title": f"Title {number}",
        "severity": "major",
        "raisedBy": "b",
        "target": "a",
        "round": 1,
        "status": status,
        **fields,
    }


def record(**extra: Any) -> DebateRecord:
    answer = {"round": 2, "kind": "response", "by": "a", "answer": "rebutted", "text": "Kept"}
    data: dict[str, Any] = {
        "id": "deb-1",
        "problem": "Design a cache.",
        "rounds": [
            {
                "roundNumber": 1,
                "contributions": [],
                "diffs": [
                    {
                        "agentId": "a",
                        "sections": [
                            {"title": "Design", "change": "changed", "items": ["I1"], "confirmed": True},
                            {"title": "", "change": "added"},
                            {"title": "Risks", "change": "unchanged", "items": ["I2"], "confirmed": False},
                        ],
                    },
                    {"agentId": "b", "sections": []},
                ],
            }
        ],
        "ledger": [
            item(1, "accepted"),
            item(2, "rebutted", history=[answer]),
            item(3, "open", title=HOSTILE),
        ],
        "positionChanges": {"a": {"accepted": 1, "rebutted": 1}, "b": {"raised": 3, "reopened": 2}},
        "finalSolution": {
            "description": "Use a replica.",
            "remainingRisks": ["Replica lag", HOSTILE],
            "rulings": [{"id": "I2", "ruling": "dismissed", "reason": "a was right"}],
        },
        **extra,
    }
    return DebateRecord.model_validate(data)


def section(report: str, title: str) -> str:
    return report.split(f"{title}\n", 1)[1].split("\n## ", 1)[0]


def table(markdown: str) -> list[list[str]]:
    """The rows of the first table in ``markdown`` as a renderer reads them (header excluded)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows, cells = [], None
    for token in tokens:
        if token.type == "tr_open":
            cells = []
        elif token.type == "inline" and cells is not None:
            cells.append(token.content)
        elif token.type == "tr_close":
            rows.append(cells)
            cells = None
        elif token.type == "table_close":
            break
    return rows[1:]


def test_the_ledger_table_has_a_row_per_item_as_the_json_says() -> None:
    report = render_report(record())
    rows = table(section(report, "## Issue Ledger"))
    assert [row[0] for row in rows] == ["I1", "I2", "I3"]
    assert [row[5] for row in rows] == ["accepted", "rebutted", "open"]
    assert rows[1][1:5] == ["major", "Title 2", "b → a", "1"]
    assert rows[1][6] == "rebutted by a (round 2): Kept" and rows[0][6] == "none"
    assert "3 items raised: 1 open, 1 rebutted, 1 accepted." in report


def test_rulings_risks_and_position_changes() -> None:
    report = render_report(record())
    assert table(section(report, "### Judge's Rulings")) == [["I2", "dismissed", "a was right"]]
    assert table(section(report, "### Remaining Risks"))[0] == ["Replica lag"]
    changes = table(section(report, "## Position Changes"))
    assert changes == [["a", "0", "1", "1", "0", "0", "0", "0"], ["b", "3", "0", "0", "0", "2", "0", "0"]]


def test_each_round_lists_its_design_changes_with_unconfirmed_items_marked() -> None:
    report = render_report(record())
    changes = section(report, "#### Design changes").split("\n\n#")[0]
    assert changes.strip().splitlines() == [
        "- *a*: Design — changed — I1",
        "- *a*: (text before the first section) — added",
        "- *a*: Risks — unchanged — I2 (unconfirmed)",
        "- *b*: no section changed",
    ]


def test_model_text_in_the_ledger_is_inert_and_stays_in_its_cell() -> None:
    report = render_report(record())
    html = MarkdownIt("commonmark").enable("table").render(report)
    assert "<script" not in html and 'href="javascript' not in html
    rows = table(section(report, "## Issue Ledger"))
    assert len(rows[2]) == 7 and rows[2][5] == "open"  # the "|" in the title did not add a cell


def test_a_debate_without_a_ledger_has_no_ledger_sections(fixtures_dir: Path) -> None:
    report = render_report(read_record(fixtures_dir / "saved-debate-2-agents-2-rounds.json"))
    for title in ("Issue Ledger", "Position Changes", "Judge's Rulings", "Remaining Risks", "Design changes"):
        assert not re.search(rf"^#+ {title}", report, re.M)
