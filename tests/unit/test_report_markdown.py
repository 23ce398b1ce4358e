"""The Markdown report (spec §7) of a saved debate, and its fence/nest helpers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dialectic.report.markdown import fence, nest, render_report, title_of
from dialectic.transcript.files import read_record
from dialectic.transcript.schema import DebateRecord

SAVED = "saved-debate-2-agents-2-rounds.json"


@pytest.fixture
def record(fixtures_dir: Path) -> DebateRecord:
    return read_record(fixtures_dir / SAVED)


def headings(markdown: str) -> list[str]:
    """Top-level report headings (levels 1-4), outside fenced blocks."""
    found, fenced = [], None
    for line in markdown.splitlines():
        match = re.match(r"^(`{3,})", line)
        if match:
            if fenced is None:
                fenced = match.group(1)
            elif line.strip() == fenced:
                fenced = None
            continue
        if fenced is None and re.match(r"^#{1,4} ", line):
            found.append(line)
    return found


def minimal_record(**overrides: Any) -> DebateRecord:
    data: dict[str, Any] = {
        "id": "deb-1",
        "problem": "Design a cache.\nIt must survive restarts.",
        "status": "completed",
        "createdAt": "2025-01-02T03:04:05Z",
        "rounds": [
            {
                "roundNumber": 1,
                "contributions": [
                    {
                        "agentId": "a1",
                        "agentRole": "architect",
                        "type": "proposal",
                        "content": "## Summary\n\nUse Redis.",
                        "metadata": {"latencyMs": 1234, "tokensUsed": 567, "model": "m"},
                    },
                    {
                        "agentId": "a1",
                        "agentRole": "architect",
                        "type": "refinement",
                        "content": "Still Redis.",
                        "metadata": {"latencyMs": 10, "tokensUsed": 20, "model": "m"},
                    },
                ],
            }
        ],
    }
    data.update(overrides)
    return DebateRecord.model_validate(data)


# --- the saved TypeScript debate --------------------------------------------------------------


def test_report_layout_of_saved_debate(record: DebateRecord) -> None:
    report = render_report(record)
    lines = report.splitlines()
    assert lines[0].startswith("# Debate: A university has greatly expanded its CS course")
    assert not report.startswith("# # ")
    assert lines[1].startswith("Time: 2025-")
    top = headings(report)
    expected_order = [
        "## Problem Description",
        "## Agents",
        "## Judge",
        "## Rounds",
        "### Round 1",
        "#### Proposals",
        "#### Critiques",
        "#### Refinements",
        "### Round 2",
        "#### Proposals",
        "#### Critiques",
        "#### Refinements",
        "### Final Synthesis",
    ]
    positions = []
    start = 0
    for heading in expected_order:
        index = top.index(heading, start)
        positions.append(index)
        start = index + 1
    assert positions == sorted(positions)


def test_report_problem_is_fenced(record: DebateRecord) -> None:
    report = render_report(record)
    section = report.split("## Problem Description", 1)[1].split("## Agents", 1)[0]
    assert "```text" in section
    assert "Students must be able to upload their source code" in section


def test_report_agents_table_from_contributions(record: DebateRecord) -> None:
    report = render_report(record)
    section = report.split("## Agents", 1)[1].split("## Judge", 1)[0]
    assert "| ID | Name | Role | Model | Provider | Temperature | Enabled |" in section
    assert "| agent-architect |" in section
    assert "| agent-performance |" in section
    assert "openai/gpt-oss-120b:exacto" in section


def test_report_agents_table_from_config_dicts(record: DebateRecord) -> None:
    agents = [
        {
            "id": "agent-architect",
            "name": "System Architect",
            "role": "architect",
            "model": "gpt-4",
            "provider": "openai",
            "temperature": 0.5,
            "systemPromptPath": "p|x.md",
        },
    ]
    judge = {
        "id": "judge-main",
        "name": "Technical Judge",
        "role": "generalist",
        "model": "gpt-4",
        "provider": "openai",
        "temperature": 0.3,
    }
    report = render_report(record, agents=agents, judge=judge, summarization={"enabled": True})
    assert (
        "| agent-architect | System Architect | architect | gpt-4 | openai | 0.5 | True | p\\|x.md | N/A |"
        in report
    )
    judge_section = report.split("## Judge", 1)[1].split("## Rounds", 1)[0]
    assert "| judge-main | Technical Judge | generalist | gpt-4 | openai | 0.3 | N/A |" in judge_section
    assert '{"enabled":true}' in judge_section


def test_report_critique_titles(record: DebateRecord) -> None:
    report = render_report(record)
    assert "*agent-architect* → *agent-performance*:" in report
    assert "*agent-performance* → *agent-architect*:" in report
    assert "Agent *agent-architect*:" in report
    assert "Agent *agent-performance*:" in report


def test_report_metrics_only_when_verbose(record: DebateRecord) -> None:
    quiet = render_report(record)
    loud = render_report(record, verbose=True)
    assert "latency=" not in quiet and "tokens=" not in quiet
    assert "Agent *agent-architect* (latency=34868ms, tokens=3771):" in loud
    assert "*agent-architect* → *agent-performance* (latency=17226ms, tokens=5933):" in loud


def test_report_contribution_headings_nested_under_sections(record: DebateRecord) -> None:
    report = render_report(record)
    rounds = report.split("## Rounds", 1)[1].split("### Final Synthesis", 1)[0]
    outside_fences = headings(rounds)
    # every heading of a contribution sits below the round's #### sections
    assert all(
        h.startswith(("### Round", "#### Proposals", "#### Critiques", "#### Refinements"))
        for h in outside_fences
    )


def test_report_final_synthesis_and_outcome(record: DebateRecord) -> None:
    report = render_report(record)
    final = report.split("### Final Synthesis", 1)[1]
    assert "#### Synthesized Solution: Automated Programming Assignment Grading Platform" in final
    assert "- Status: completed" in final
    assert "## Outcome" in final


def test_report_ends_with_single_newline(record: DebateRecord) -> None:
    report = render_report(record)
    assert report.endswith("\n") and not report.endswith("\n\n")


# --- smaller records --------------------------------------------------------------------------


def test_round_without_critiques_says_so() -> None:
    report = render_report(minimal_record())
    section = report.split("#### Critiques", 1)[1].split("#### Refinements", 1)[0]
    assert "No critiques in this round." in section
    assert "No proposals in this round." not in report


def test_empty_round_says_so_for_every_kind() -> None:
    report = render_report(minimal_record(rounds=[{"roundNumber": 1, "contributions": []}]))
    for kind in ("proposals", "critiques", "refinements"):
        assert f"No {kind} in this round." in report


def test_unfinished_debate_has_no_synthesis() -> None:
    report = render_report(minimal_record(status="interrupted"))
    assert "No final synthesis (the debate did not finish)." in report
    assert "- Status: interrupted" in report


def test_title_strips_markdown_heading_marks() -> None:
    report = render_report(minimal_record(problem="# My Cache Problem\n\nIt must be fast."))
    assert report.splitlines()[0] == "# Debate: My Cache Problem"
    assert title_of("\n\n  ## Spaced  \nmore") == "Spaced"
    assert title_of("   \n") == "(untitled)"


def test_time_line() -> None:
    assert "Time: 2025-01-02 03:04:05" in render_report(minimal_record())
    assert "Time: unknown" in render_report(minimal_record(createdAt=None))


def test_verbose_metrics_na_when_missing() -> None:
    record = minimal_record(
        rounds=[{"roundNumber": 1, "contributions": [{"agentId": "a", "type": "proposal", "content": "x"}]}]
    )
    assert "Agent *a* (latency=N/A, tokens=N/A):" in render_report(record, verbose=True)


def test_batched_critique_title_targets_all_peers() -> None:
    record = minimal_record(
        rounds=[{"roundNumber": 1, "contributions": [{"agentId": "a", "type": "critique", "content": "meh"}]}]
    )
    assert "*a* → *all peers*:" in render_report(record)


def test_empty_contribution_is_marked() -> None:
    record = minimal_record(
        rounds=[{"roundNumber": 1, "contributions": [{"agentId": "a", "type": "proposal", "content": "  "}]}]
    )
    assert "_(empty)_" in render_report(record)


def test_additional_sections() -> None:
    record = minimal_record(
        stopReason="consensus",
        finalSolution={"description": "## Final\n\nRedis.", "confidence": 82.0},
        consensus=[{"round": 1, "score": 91.5, "reason": "agree | mostly"}],
        failures=[
            {
                "agentId": "a2",
                "phase": "critique",
                "round": 1,
                "error": "HTTP 503",
                "recovered": True,
                "transient": True,
            },
            {"agentId": "a3", "phase": "propose", "round": 1, "error": "HTTP 401", "transient": False},
        ],
        usage={
            "total": {"calls": 3, "inputTokens": 100, "outputTokens": 50, "costUsd": 0.01234},
            "byAgent": {"a1": {"calls": 3, "inputTokens": 100, "outputTokens": 50, "costUsd": None}},
        },
    )
    report = render_report(record)
    assert "- Stop reason: consensus" in report
    assert "- Confidence: 82/100" in report
    assert "## Consensus" in report and "| 1 | 91.5 | agree \\| mostly |" in report
    assert "## Failures" in report and "| Agent | Phase | Round | Kind | Recovered | Error |" in report
    assert "| a2 | critique | 1 | transient | yes | HTTP 503 |" in report
    assert "| a3 | propose | 1 | permanent | no | HTTP 401 |" in report
    assert "## Usage and Cost" in report
    assert "| **Total** | 3 | 100 | 50 | $0.0123 |" in report
    assert "| agent a1 | 3 | 100 | 50 | unknown |" in report
    assert "#### Final" in report


def test_problem_with_backticks_gets_longer_fence() -> None:
    record = minimal_record(problem="Title\n\n````python\nprint(1)\n````\n")
    report = render_report(record)
    section = report.split("## Problem Description", 1)[1].split("## Agents", 1)[0]
    assert "`````text" in section


# --- fence / nest -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected_marks"),
    [
        ("plain text", 3),
        ("inline `code` only", 3),
        ("```\ncode\n```", 4),
        ("a ```` b", 5),
        ("``````````", 11),
    ],
)
def test_fence_longer_than_any_backtick_run(content: str, expected_marks: int) -> None:
    block = fence(content)
    lines = block.splitlines()
    marks = "`" * expected_marks
    assert lines[0] == f"{marks}text"
    assert lines[-1] == marks
    assert "\n".join(lines[1:-1]) == content.rstrip()
    longest_inside = max((len(run) for run in re.findall(r"`+", content)), default=0)
    assert expected_marks > longest_inside


def test_fence_info_string() -> None:
    assert fence("x = 1\n\n", "python") == "```python\nx = 1\n```"


def test_nest_shifts_highest_heading_to_top() -> None:
    text = "## A\n\ntext\n\n### B\n\n#### C"
    assert nest(text, 5) == "##### A\n\ntext\n\n###### B\n\n###### C"
    assert nest(text, 1) == "# A\n\ntext\n\n## B\n\n### C"


def test_nest_shifts_up_and_clamps() -> None:
    assert nest("#### Deep\n##### Deeper", 2) == "## Deep\n### Deeper"
    assert nest("# One\n###### Six", 3) == "### One\n###### Six"


def test_nest_without_headings_only_strips() -> None:
    assert nest("\n  just text #not-heading\n", 4) == "just text #not-heading"


def test_nest_leaves_code_blocks_alone() -> None:
    text = "## Setup\n\n```bash\n# install the tool\npip install x\n```"
    assert nest(text, 5) == "##### Setup\n\n```bash\n# install the tool\npip install x\n```"
