"""``dialectic adr`` and ``dialectic show --diff`` on a 3x3 offline debate: the ADR has every
section and its dissent is exactly the contested items of the debate JSON's ledger; the round
diffs printed are the JSON's ``rounds[].diffs``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from dialectic.report.adr import SECTIONS

PROBLEM = "Design a rate limiter for a public API"


def debate(cli: Any, isolated: Path, debate_id: str, **env: str) -> dict[str, Any]:
    """Run a 3x3 offline debate; its JSON."""
    done = cli("debate", "--offline", "--rounds", "3", "--id", debate_id, PROBLEM, env=env)
    assert done.code == (3 if env else 0), done.stderr
    record: dict[str, Any] = json.loads((isolated / "debates" / f"{debate_id}.json").read_text())
    return record


def h2(markdown: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parse(markdown)
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]


def section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    assert match, f"no section {title!r}"
    return match.group(1)


def ids(record: dict[str, Any], *statuses: str) -> list[str]:
    return [item["id"] for item in record["ledger"] if item["status"] in statuses]


def contested(record: dict[str, Any]) -> list[str]:
    """The items whose critic still disagrees: reopened, or rebutted again after a reopening."""
    return [
        item["id"]
        for item in record["ledger"]
        if item["status"] == "reopened"
        or (
            item["status"] == "rebutted"
            and any(h["kind"] == "verdict" and h["answer"] == "reopen" for h in item["history"])
        )
    ]


def awaiting(record: dict[str, Any]) -> list[str]:
    """Rebuttals their critic has not ruled on yet (an open risk, not dissent)."""
    return [
        i["id"] for i in record["ledger"] if i["status"] == "rebutted" and i["id"] not in contested(record)
    ]


def test_the_adr_has_every_section_and_its_dissent_is_the_contested_items(cli, isolated: Path) -> None:
    record = debate(cli, isolated, "adr-1")
    disputed = contested(record)
    assert disputed and ids(record, "open", "reopened") and ids(record, "deferred")  # every list has some

    written = cli("adr", "adr-1", "-o", "adr.md")
    assert written.code == 0, written.stderr
    assert written.stdout == "" and "ADR written to adr.md" in written.stderr
    text = (isolated / "adr.md").read_text()
    assert text.startswith(f"# ADR: {PROBLEM}\n")
    assert h2(text) == list(SECTIONS)
    assert section(text, "Status").strip().startswith("Accepted.")
    assert re.findall(r"^### (I\d+):", section(text, "Dissent"), re.M) == disputed
    risks = section(text, "Open risks")
    listed = re.findall(r"^- \*\*(I\d+)\*\* \(\w+, (\w+);", risks, re.M)
    assert [i for i, status in listed if status in ("open", "reopened")] == ids(record, "open", "reopened")
    assert [i for i, status in listed if status == "rebutted"] == awaiting(record)
    assert [i for i, status in listed if status == "deferred"] == ids(record, "deferred")
    options = section(text, "Options considered")
    assert [f"({agent['id']})" for agent in record["agents"]] == re.findall(
        r"^### .* (\([\w-]+\))$", options, re.M
    )
    # The judge's word as the JSON keeps it: its verdict on each design, its ruling on each dissent.
    final = record["finalSolution"]
    for option in final["options"]:
        assert f"**Verdict:** {option['verdict']} — {option['reason']}" in options
    rulings = {r["id"]: r for r in final["rulings"]}
    for item_id, entry in re.findall(r"^### (I\d+):(.*?)(?=^### |\Z)", section(text, "Dissent"), re.M | re.S):
        assert f"Judge's ruling: {rulings[item_id]['ruling']} — {rulings[item_id]['reason']}" in entry

    printed = cli("adr", "adr-1")  # the same ADR on stdout
    assert printed.code == 0, printed.stderr
    assert printed.stdout == text


def test_a_debate_without_a_synthesis_gets_a_proposed_adr(cli, isolated: Path) -> None:
    record = debate(cli, isolated, "adr-2", DIALECTIC_OFFLINE_FAIL="judge-main:synthesize")
    assert record.get("finalSolution") is None
    written = cli("adr", "adr-2", "-o", "adr.md")
    assert written.code == 0, written.stderr
    assert "has no synthesis yet" in written.stderr and "the ADR is Proposed" in written.stderr
    text = (isolated / "adr.md").read_text()
    assert h2(text) == list(SECTIONS)
    assert section(text, "Status").strip().startswith("Proposed.")
    assert "dialectic resume adr-2" in section(text, "Status")
    assert re.findall(r"^### (I\d+):", section(text, "Dissent"), re.M) == contested(record)


def test_adr_errors_are_one_line_with_exit_code_2(cli, isolated: Path) -> None:
    debate(cli, isolated, "adr-3")
    for args, says in (
        (("adr", "nope"), "no debate 'nope'"),
        (("adr", "../x"), "invalid debate id"),
        (("adr", "adr-3", "-o", "debates"), "is a directory"),
        (("adr", "adr-3", "-o", "debates/dialectic.sqlite"), "is the checkpoint store"),
        (("adr", "adr-3", "--db", "missing.sqlite"), "no debates store"),
    ):
        failed = cli(*args)
        assert failed.code == 2, (args, failed.stderr)
        assert failed.stderr.startswith("error: ") and says in failed.stderr, failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1 and failed.stdout == ""


def shown_diffs(stdout: str) -> dict[int, dict[str, list[tuple[str, str, list[str]]]]]:
    """round -> agent -> (section, change, items) as ``show --diff`` prints them."""
    found: dict[int, dict[str, list[tuple[str, str, list[str]]]]] = {}
    rounds: dict[str, list[tuple[str, str, list[str]]]] = {}
    agent = ""
    for line in stdout.splitlines():
        if line.startswith("round "):
            rounds = found.setdefault(int(line.split()[1]), {})
        elif line.startswith("    "):
            title, change, *items = line.strip().split(" — ")
            rounds[agent].append((title, change, items[0].split(", ") if items else []))
        else:
            agent = line.strip()
            rounds[agent] = []
    return found


def test_show_diff_prints_the_round_diffs_of_the_json(cli, isolated: Path) -> None:
    record = debate(cli, isolated, "adr-4")

    def expected(number: int) -> dict[str, list[tuple[str, str, list[str]]]]:
        return {
            agent["agentId"]: [
                (
                    s["title"],
                    s["change"],
                    [i + ("" if s["confirmed"] else " (unconfirmed)") for i in s["items"]],
                )
                for s in agent["sections"]
            ]
            for agent in record["rounds"][number - 1]["diffs"]
        }

    one = cli("show", "adr-4", "--diff", "--round", "2")
    assert one.code == 0, one.stderr
    assert shown_diffs(one.stdout) == {2: expected(2)}
    assert any(items for sections in expected(2).values() for _, _, items in sections)  # items caused changes

    every = cli("show", "adr-4", "--diff")
    assert every.code == 0, every.stderr
    assert shown_diffs(every.stdout) == {n: expected(n) for n in (1, 2, 3)}

    for args, says in (
        (("--diff", "--round", "4"), "--round 4: the debate has rounds 1 to 3"),
        (("--round", "2"), "--round needs --diff"),
        (("--diff", "--json"), "leave out --json"),
    ):
        failed = cli("show", "adr-4", *args)
        assert failed.code == 2 and failed.stderr.startswith("error: ") and says in failed.stderr, (
            failed.stderr
        )
