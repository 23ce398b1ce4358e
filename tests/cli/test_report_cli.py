"""``dialectic report``: the Markdown report (spec §7) of a saved debate, ours or the TypeScript
tool's, on stdout or in a file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

SAVED = "saved-debate-2-agents-2-rounds.json"
TABLE_HEADER = (
    "| ID | Name | Role | Model | Provider | Temperature | Enabled | SystemPromptPath | SummaryPromptPath "
    "| Summarization |"
)


def assert_report_layout(report: str, problem: str, rounds: int) -> None:
    """The sections of spec §7, in order."""
    lines = report.splitlines()
    assert lines[0] == f"# Debate: {problem.strip().splitlines()[0].strip()}"
    assert lines[1].startswith("Time: ")
    order = ["## Problem Description", "## Agents", "## Judge", "## Rounds"]
    for n in range(1, rounds + 1):
        order += [f"### Round {n}", "#### Proposals", "#### Critiques", "#### Refinements"]
    order.append("### Final Synthesis")
    position = -1
    for heading in order:
        assert heading in lines[position + 1 :], f"{heading} missing or out of order"
        position = lines.index(heading, position + 1)
    assert report.count(TABLE_HEADER) == 2  # agents and judge
    assert "Traceback" not in report


def error_line(result, code: int) -> str:
    assert result.code == code, f"exit {result.code}, expected {code}; stderr:\n{result.stderr}"
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


@pytest.fixture
def saved_debate(isolated: Path, fixtures_dir: Path) -> Path:
    return Path(shutil.copy(fixtures_dir / SAVED, isolated / SAVED))


def test_report_of_a_typescript_debate_on_stdout(cli, saved_debate: Path):
    record = json.loads(saved_debate.read_text(encoding="utf-8"))
    result = cli("report", "--debate", SAVED)
    assert result.code == 0, result.stderr
    assert_report_layout(result.stdout, record["problem"], rounds=2)
    assert "Agent *agent-architect*" in result.stdout
    assert "*agent-architect* → *agent-performance*" in result.stdout
    assert "*agent-performance* → *agent-architect*" in result.stdout
    assert result.stderr == ""


def test_report_with_config_fills_the_agent_tables(cli, saved_debate: Path, fixtures_dir: Path):
    result = cli("report", "--debate", SAVED, "-c", str(fixtures_dir / "debate_config1.json"))
    assert result.code == 0, result.stderr
    agents = result.stdout.split("## Agents", 1)[1].split("## Judge", 1)[0]
    judge = result.stdout.split("## Judge", 1)[1].split("## Rounds", 1)[0]
    assert "| agent-architect | System Architect | architect | gpt-4 | openai | 0.5 |" in agents
    assert "| agent-performance | Performance Engineer | performance | gpt-4 | openai | 0.6 |" in agents
    assert "| judge-main | Technical Judge | generalist | gpt-4 | openai | 0.3 |" in judge


def test_report_with_a_broken_config(cli, saved_debate: Path, isolated: Path):
    (isolated / "broken.json").write_text('{"agents": [}')
    line = error_line(cli("report", "--debate", SAVED, "-c", "broken.json"), 4)
    assert str(isolated / "broken.json") in line
    assert "line 1" in line


def test_debate_report_flag_then_report_by_id_and_to_a_file(cli, isolated: Path):
    problem = "Design a rate limiter.\nIt must allow 100 requests per second per client."
    run = cli("debate", "--offline", "-r", "2", "--id", "rl-1", "--report", "out/sub/r", problem)
    assert run.code == 0, run.stderr
    assert "## Judge Assessment" in run.stdout
    assert "report written to out/sub/r.md" in run.stderr
    assert not (isolated / "out" / "sub" / "r").exists()  # .md appended, folders created
    written = (isolated / "out" / "sub" / "r.md").read_text(encoding="utf-8")
    assert_report_layout(written, problem, rounds=2)
    assert "Agent *agent-kiss*" in written

    by_id = cli("report", "--debate", "rl-1")
    assert by_id.code == 0, by_id.stderr
    assert by_id.stdout == written  # the same report as --report wrote
    assert "| agent-architect |" in by_id.stdout.split("## Judge")[0]

    to_file = cli("report", "--debate", "debates/rl-1.json", "-o", "out.md")
    assert to_file.code == 0, to_file.stderr
    assert to_file.stdout == ""
    assert (isolated / "out.md").read_text(encoding="utf-8") == written
    assert "out.md" in to_file.stderr


def test_report_of_a_missing_file(cli, isolated: Path):
    line = error_line(cli("report", "--debate", "missing.json"), 2)
    assert str(isolated / "missing.json") in line


def test_report_of_an_unknown_id(cli, isolated: Path):
    line = error_line(cli("report", "--debate", "deb-nope"), 2)
    assert "deb-nope" in line
    assert str(isolated / "debates") in line


@pytest.mark.parametrize("content", ['{"hello": "world"}', "[1, 2, 3]"])
def test_report_of_a_json_file_that_is_not_a_debate(cli, isolated: Path, content: str):
    (isolated / "other.json").write_text(content)
    line = error_line(cli("report", "--debate", "other.json"), 2)
    assert str(isolated / "other.json") in line
    assert "not a debate" in line


def test_report_of_a_file_that_is_not_json(cli, isolated: Path):
    (isolated / "notes.json").write_text("just words\n")
    line = error_line(cli("report", "--debate", "notes.json"), 2)
    assert str(isolated / "notes.json") in line
    assert "JSON" in line


def test_report_without_debate_option(cli):
    line = error_line(cli("report"), 2)
    assert "--debate" in line
