"""A three-agent, three-round offline debate (issue 16): its JSON ledger has items of every
status, and the ``--report`` Markdown agrees with it — the ledger table row for row, the position
changes agent for agent, the design changes round for round. ``dialectic report`` renders the
same from the saved file."""

from __future__ import annotations

import json
from pathlib import Path

from markdown_it import MarkdownIt

PROBLEM = "Design a job scheduler. It must run 1,000 jobs per minute. Jobs must never run twice."
STATUSES = {"open", "accepted", "rebutted", "deferred", "reopened", "closed"}


def table_after(report: str, heading: str) -> list[list[str]]:
    """The body rows of the first table after ``heading``, as a renderer reads them."""
    tokens = MarkdownIt("commonmark").enable("table").parse(report.split(f"\n{heading}\n", 1)[1])
    rows: list[list[str]] = []
    cells: list[str] | None = None
    for token in tokens:
        if token.type == "tr_open":
            cells = []
        elif token.type == "inline" and cells is not None:
            cells.append(token.content)
        elif token.type == "tr_close" and cells is not None:
            rows.append(cells)
        elif token.type == "table_close":
            break
    return rows[1:]


def test_a_three_by_three_debate_has_every_status_and_its_report_agrees(cli, isolated: Path) -> None:
    done = cli(
        "debate", "--offline", "-r", "3", "--id", "led", "-o", "out.json", "--report", "out.md", PROBLEM
    )
    assert done.code == 0, done.stderr
    # -o gets the debate JSON the run saved, byte for byte
    assert (isolated / "out.json").read_bytes() == (isolated / "debates" / "led.json").read_bytes()
    data = json.loads((isolated / "out.json").read_text(encoding="utf-8"))
    assert len(data["agents"]) == 3 and data["currentRound"] == 3
    ledger = data["ledger"]
    assert [i["id"] for i in ledger] == [f"I{n}" for n in range(1, len(ledger) + 1)]
    assert {i["status"] for i in ledger} == STATUSES

    report = (isolated / "out.md").read_text(encoding="utf-8")
    rows = table_after(report, "## Issue Ledger")
    assert [(row[0], row[5]) for row in rows] == [(i["id"], i["status"]) for i in ledger]
    assert [row[3] for row in rows] == [f"{i['raisedBy']} → {i['target']}" for i in ledger]

    changes = table_after(report, "## Position Changes")
    assert [row[0] for row in changes] == list(data["positionChanges"])
    assert [int(row[1]) for row in changes] == [
        sum(i["raisedBy"] == agent for i in ledger) for agent in data["positionChanges"]
    ]

    # Each round's design changes: every refinement has a diff; the items it names are the
    # ones its author accepted in that round.
    for number, round_record in enumerate(data["rounds"], start=1):
        refined = [c["agentId"] for c in round_record["contributions"] if c["type"] == "refinement"]
        assert [d["agentId"] for d in round_record["diffs"]] == refined
        named = {item for d in round_record["diffs"] for s in d["sections"] for item in s["items"]}
        accepted = {
            i["id"]
            for i in ledger
            for event in i["history"]
            if event["round"] == number and event["answer"] == "accepted" and event["sections"]
        }
        assert named == accepted
    assert report.count("#### Design changes") == 3

    again = cli("report", "--debate", "out.json")
    assert again.code == 0, again.stderr
    assert table_after(again.stdout, "## Issue Ledger") == rows
