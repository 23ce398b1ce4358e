"""Grounded debates through the installed command: ``--context DIR`` on debate and resume, the
notice of what the agents may read, and bad input (a missing folder, a file, an unknown tool)."""

from __future__ import annotations

import json
from pathlib import Path

PROBLEM = "Design a new job scheduler. Jobs must never run twice."


def write_config(folder: Path, tools: list[str]) -> None:
    document = {
        "agents": [
            {
                "id": "agent-architect",
                "name": "Architect",
                "role": "architect",
                "model": "m",
                "provider": "offline",
                "tools": [{"name": name} for name in tools],
            },
            {"id": "agent-kiss", "name": "Kiss", "role": "kiss", "model": "m", "provider": "offline"},
        ],
        "debate": {"summarization": {"enabled": False}},
    }
    (folder / "debate-config.json").write_text(json.dumps(document))


def code_base(folder: Path, marker: str) -> Path:
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "scheduler.py").write_text(f"LEASE = 30  # {marker}: a worker holds a job lease\n")
    return folder


def proposals_and_critiques(record: dict, round_number: int) -> str:
    return "\n".join(
        c["content"]
        for r in record["rounds"]
        if r["roundNumber"] == round_number
        for c in r["contributions"]
        if c["agentId"] == "agent-architect" and not c.get("carried")
    )


def test_context_is_read_and_can_change_on_resume(cli, isolated: Path) -> None:
    write_config(isolated, ["list_files", "file_read", "context_search"])
    first = code_base(isolated / "first", "FIRST-TREE")
    second = code_base(isolated / "second", "SECOND-TREE")
    started = cli("debate", "-r", "2", "--steer", "--id", "g", "--context", "first", PROBLEM)
    assert started.code == 5, started.stderr  # paused for a note after round 1
    notice = f"agents may read {first.resolve()} (agent-architect: list_files, file_read, context_search)"
    assert started.stderr.count(notice) == 1

    changed = cli("resume", "g", "--context", str(second))
    assert changed.code == 0, changed.stderr
    assert f"agents may read {second.resolve()}" in changed.stderr
    record = json.loads((isolated / "debates" / "g.json").read_text())
    assert "FIRST-TREE" in proposals_and_critiques(record, 1)
    assert "SECOND-TREE" in proposals_and_critiques(record, 2)


def test_a_missing_folder_or_a_file_given_as_context_is_exit_2(cli, isolated: Path) -> None:
    write_config(isolated, ["file_read"])
    (isolated / "notes.txt").write_text("not a folder")
    for given, why in (("nowhere", "no such folder"), ("notes.txt", "not a folder")):
        result = cli("debate", "--context", given, PROBLEM)
        assert result.code == 2, result.stderr
        assert f"--context {given}: {why}" in result.stderr and result.stderr.count("\n") == 1
    assert not (isolated / "debates").exists()  # refused before anything ran


def test_an_unknown_tool_is_a_config_error_naming_it_and_the_known_ones(cli, isolated: Path) -> None:
    write_config(isolated, ["file_read", "web_search"])
    result = cli("debate", "--context", ".", PROBLEM)
    assert result.code == 4, result.stderr
    line = result.stderr.strip()
    assert "agents[0].tools[1].name" in line and "'web_search'" in line
    assert all(name in line for name in ("file_read", "list_files", "context_search"))
    assert line.count("\n") == 0
