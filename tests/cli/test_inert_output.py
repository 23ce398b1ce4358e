"""Report and terminal output are inert (issue 11, item 6), through the installed command: HTML
and links from a problem or a reply do not render as HTML in the report, an unclosed code fence
stays in its own contribution, and no escape sequence or rich markup from stored text reaches
the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path

from markdown_it import MarkdownIt

ESC = "\x1b"
PROBLEM = "Design <script>alert(1)</script> a \x1b[31mred\x1b[0m [bold]x[/bold] cache\nfor sessions."


def outside_code(markdown: str) -> str:
    """The report without the content of its code blocks (where HTML shows as text)."""
    for token in MarkdownIt("commonmark").enable("table").parse(markdown):
        if token.type in ("fence", "code_block"):
            markdown = markdown.replace(token.content, "")
    return markdown


def test_hostile_problem_in_report_list_and_show(cli, isolated: Path) -> None:
    done = cli("debate", "--offline", "-r", "1", "--report", "report.md", PROBLEM)
    assert done.code == 0, done.stderr
    assert ESC not in done.stdout and ESC not in done.stderr
    report = (isolated / "report.md").read_text()
    assert ESC not in report
    assert (
        report.splitlines()[0]
        == "# Debate: Design &lt;script>alert(1)&lt;/script> a red [bold]x[/bold] cache"
    )
    assert "<script" not in outside_code(report)

    listed = cli("list")
    assert listed.code == 0, listed.stderr
    assert ESC not in listed.stdout
    rows = [line for line in listed.stdout.splitlines() if line.startswith("deb-")]
    assert len(rows) == 1  # one line per debate
    assert "Design <script>alert(1)</script> a red [bold]x[/bold] cache" in rows[0]  # markup as text

    debate_id = rows[0].split()[0]
    shown = cli("show", debate_id)
    assert shown.code == 0, shown.stderr
    assert ESC not in shown.stdout


def test_hostile_agent_name_in_questions_on_the_terminal(cli, isolated: Path) -> None:
    name = "\x1b[31mEvil\x1b]0;title\x07 [bold]Name[/bold] <b>"
    agents = [
        {"id": "a1", "name": name, "role": "architect", "model": "m", "provider": "offline"},
        {"id": "a2", "name": "B", "role": "security", "model": "m", "provider": "offline"},
    ]
    judge = {"id": "j", "name": "J", "role": "generalist", "model": "m", "provider": "offline"}
    (isolated / "config.json").write_text(json.dumps({"agents": agents, "judge": judge}))

    done = cli("debate", "-c", "config.json", "--offline", "-r", "1", "--clarify", "Design a cache.")
    assert done.code == 5, done.stderr  # waiting for the answers: the questions are on stderr
    assert ESC not in done.stderr
    assert "Evil [bold]Name[/bold] <b> (architect, a1)" in done.stderr

    debate_id = re.search(r"debate (deb-\S+): waiting_for_input", done.stderr)
    assert debate_id, done.stderr
    shown = cli("show", debate_id.group(1))
    assert shown.code == 0, shown.stderr
    assert ESC not in shown.stdout
    assert "Evil [bold]Name[/bold] <b> (architect, a1)" in shown.stdout

    # The -v header lists the agents by name, before the run: inert there too.
    loud = cli("debate", "-c", "config.json", "--offline", "-r", "1", "-v", "Design a cache.")
    assert loud.code == 0, loud.stderr
    assert ESC not in loud.stderr and "Evil [bold]Name[/bold] <b>" in loud.stderr


def test_unclosed_fence_stays_in_its_contribution(cli, isolated: Path) -> None:
    def proposal(agent: str, content: str) -> dict[str, object]:
        return {"agentId": agent, "agentRole": "architect", "type": "proposal", "content": content}

    record = {
        "id": "deb-fences",
        "problem": "Design a cache.",
        "status": "completed",
        "rounds": [
            {
                "roundNumber": 1,
                "contributions": [
                    proposal("a1", "## Plan\n\n```python\nunclosed = True\n<script>alert(1)</script>"),
                    proposal("a2", "## Other plan\n\n<img src=x onerror=alert(1)> [x](javascript:alert(1))"),
                ],
            }
        ],
        "finalSolution": {"description": "Use Redis."},
    }
    (isolated / "debate.json").write_text(json.dumps(record))

    done = cli("report", "--debate", "debate.json")
    assert done.code == 0, done.stderr
    report = done.stdout
    before_next = report.split("Agent *a2*:", 1)[0]
    fences = [line for line in before_next.splitlines() if re.match(r"^ {0,3}(`{3,}|~{3,})", line)]
    assert len(fences) == 4, fences  # the problem's fence and a1's, each opened and closed
    after = report.split("Agent *a2*:", 1)[1]
    assert "##### Other plan" in after and "### Final Synthesis" in after
    assert "&lt;img src=x onerror=alert(1)>" in after and "[x]\\(javascript:alert(1))" in after
    assert "<img" not in outside_code(report) and "](javascript:" not in report
