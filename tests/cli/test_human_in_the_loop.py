"""Clarifying questions and steering through the installed command: typed on a terminal (a
pseudo-terminal), from --answers files, and across pauses (exit 5) with show --json and resume."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROBLEM = "Design a job scheduler. It must run 1,000 jobs per minute. Jobs must never run twice."


def write_config(folder: Path, **debate: object) -> str:
    member = {"model": "sim", "provider": "offline"}
    document = {
        "agents": [
            {"id": "agent-architect", "name": "System Architect", "role": "architect", **member},
            {"id": "agent-kiss", "name": "Simplicity Advocate", "role": "kiss", **member},
        ],
        "judge": {"id": "judge-main", "name": "Judge", "role": "generalist", **member},
        "debate": {"summarization": {"enabled": False}, **debate},
    }
    path = folder / "debate-config.json"
    path.write_text(json.dumps(document))
    return str(path)


def saved(folder: Path, debate_id: str) -> dict:
    return json.loads((folder / "debates" / f"{debate_id}.json").read_text())


def answers_of(record: dict) -> dict[str, str]:
    return {item["id"]: item["answer"] for group in record["clarifications"] for item in group["items"]}


class Terminal:
    """The command on a pseudo-terminal (stdin and stderr); stdout stays a pipe."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        master, slave = pty.openpty()
        env = dict(os.environ, COLUMNS="120", TERM="xterm")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "dialectic"), *args],
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        self.master = master
        self.screen = ""

    def expect(self, pattern: str, timeout: float = 60) -> str:
        """Read until ``pattern`` appears; returns what came before and including it."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.screen)
            if match:
                seen, self.screen = self.screen[: match.end()], self.screen[match.end() :]
                return seen
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} on the terminal; it shows:\n{self.screen[-3000:]}")
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:  # the child closed the terminal
                    time.sleep(0.05)

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def finish(self) -> tuple[int, str]:
        stdout, _ = self.process.communicate(timeout=60)
        os.close(self.master)
        return self.process.returncode, stdout.decode()


def test_on_a_terminal_questions_are_answered_as_typed_enter_is_na_then_a_follow_up_and_a_note(
    isolated: Path,
):
    config = write_config(isolated, rounds=2, clarificationsMaxIterations=2)
    args = ["debate", "-c", config, "--clarify", "--steer", "--id", "tty-1", "-o", "out.json", PROBLEM]
    terminal = Terminal(args, isolated)
    shown, typed, follow_up = "", {}, None
    while (seen := terminal.expect(r"answer> |note> ")).endswith("answer> "):
        shown += seen
        question = re.findall(r"(q\d+): ", seen)[-1]
        if follow_up is None and "follow-up batch 2 of at most 2" in seen:
            follow_up = question
        if question == "q1" or question == follow_up:
            typed[question] = f"Answer to {question}."
        terminal.type(typed.get(question, ""))  # Enter alone: NA
    assert "Enter alone answers NA" in shown and follow_up is not None
    batch_one = shown.split("follow-up batch")[0]
    assert re.search(r"System Architect \(architect, agent-architect\)\s+q1: ", batch_one)
    assert re.search(r"Simplicity Advocate \(kiss, agent-kiss\)\s+q\d+: ", batch_one)
    assert "Round 1 of 2 is done" in seen
    terminal.type("The budget is fixed at two servers.")
    code, stdout = terminal.finish()
    assert code == 0, terminal.screen
    assert stdout == ""  # -o took the solution; the questions went to the terminal (stderr)
    record = json.loads((isolated / "out.json").read_text())
    answers = answers_of(record)
    assert set(answers) == set(re.findall(r"(q\d+): ", shown))
    assert answers == {qid: typed.get(qid, "NA") for qid in answers}
    assert record["clarificationIterations"] == 2
    assert [(n["afterRound"], n["note"]) for n in record["steering"]] == [
        (1, "The budget is fixed at two servers.")
    ]


def test_answers_file_answers_the_first_batch_and_a_follow_up_batch_pauses_until_resume(cli, isolated: Path):
    config = write_config(isolated, rounds=1, clarificationsMaxIterations=2)
    (isolated / "a1.json").write_text(json.dumps({"q1": "Three servers.", "q99": "stray"}))
    result = cli("debate", "-c", config, "--clarify", "--answers", "a1.json", "--id", "ans-1", PROBLEM)
    assert result.code == 5, result.stderr
    assert "warning: clarification batch 1: no answer for q2" in result.stderr
    assert "warning: clarification batch 1: no agent asked q99: ignored" in result.stderr
    assert "clarifying questions (batch 2):" in result.stderr
    assert "`dialectic show ans-1 --json`" in result.stderr
    assert "`dialectic resume ans-1 --answers FILE`" in result.stderr
    assert saved(isolated, "ans-1")["status"] == "waiting_for_input"
    follow_up = re.findall(r"(q\d+): ", result.stderr.split("(batch 2):")[1])
    assert follow_up and int(follow_up[0][1:]) > 2

    (isolated / "a2.json").write_text(json.dumps({follow_up[0]: "Weekly."}))
    result = cli("resume", "ans-1", "--answers", "a2.json")
    assert result.code == 0, result.stderr
    answers = answers_of(saved(isolated, "ans-1"))
    assert answers["q1"] == "Three servers." and answers["q2"] == "NA" and answers[follow_up[0]] == "Weekly."


def test_pause_show_json_resume_answers_then_a_steering_pause_and_resume_with_a_note(cli, isolated: Path):
    config = write_config(isolated, rounds=2, clarificationsMaxIterations=1)
    result = cli("debate", "-c", config, "--clarify", "--steer", "--id", "hitl-2", PROBLEM)
    assert result.code == 5, result.stderr
    assert (
        "dialectic show hitl-2 --json" in result.stderr
        and "dialectic resume hitl-2 --answers FILE" in result.stderr
    )
    assert saved(isolated, "hitl-2")["status"] == "waiting_for_input"

    shown = cli("show", "hitl-2", "--json")
    assert shown.code == 0, shown.stderr
    detail = shown.json()
    assert detail["status"] == "waiting_for_input"
    questions = detail["questions"]
    assert [q["id"] for q in questions] == [f"q{n}" for n in range(1, len(questions) + 1)]
    assert {q["agentId"] for q in questions} == {"agent-architect", "agent-kiss"}
    assert all(q["question"] for q in questions)
    assert "dialectic resume hitl-2 --answers FILE" in detail["how_to_continue"]

    (isolated / "answers.json").write_text(json.dumps({q["id"]: f"answer {q['id']}" for q in questions}))
    result = cli("resume", "hitl-2", "--answers", "answers.json")
    assert result.code == 5, result.stderr
    assert "warning" not in result.stderr
    assert 'dialectic resume hitl-2 --note "…"' in result.stderr

    (isolated / "note.md").write_text("Drop the Kafka idea.\n")
    result = cli("resume", "hitl-2", "--note-file", "note.md", "--report", "report.md")
    assert result.code == 0, result.stderr
    record = saved(isolated, "hitl-2")
    assert record["status"] == "completed"
    assert answers_of(record) == {q["id"]: f"answer {q['id']}" for q in questions}
    assert [(n["afterRound"], n["note"]) for n in record["steering"]] == [(1, "Drop the Kafka idea.")]
    report = (isolated / "report.md").read_text()
    assert "## Steering Notes" in report and "- **After round 1:** Drop the Kafka idea." in report
    assert "- **q1** " in report and "  - Answer: answer q1" in report


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"q1": "yes",', "is not valid JSON (line 1, column"),
        ('["q1", "yes"]', "holds a JSON list; it must be an object of question ids to answers"),
        ('{"q1": 42}', "the answer to 'q1' is a JSON number; answers must be strings"),
    ],
)
def test_a_bad_answers_file_is_exit_2_with_one_clear_line(cli, isolated: Path, content: str, message: str):
    (isolated / "answers.json").write_text(content)
    result = cli("debate", "--offline", "--clarify", "--answers", "answers.json", PROBLEM)
    assert result.code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert str(isolated / "answers.json") in result.stderr
    assert not (isolated / "debates").exists()


def test_resume_rejects_a_bad_answers_file_and_answers_without_clarify(cli, isolated: Path):
    (isolated / "answers.json").write_text("null")
    result = cli("resume", "some-debate", "--answers", "answers.json")
    assert result.code == 2 and "holds JSON null" in result.stderr, result.stderr
    (isolated / "answers.json").write_text("{}")
    result = cli("debate", "--offline", "--answers", "answers.json", PROBLEM)
    assert result.code == 2 and "--answers needs --clarify" in result.stderr


def test_graph_draws_the_human_in_the_loop_nodes_only_when_asked(cli):
    plain = cli("graph", "--format", "mermaid")
    full = cli("graph", "--format", "mermaid", "--clarify", "--steer")
    assert plain.code == 0 and full.code == 0, plain.stderr + full.stderr
    for node in ("clarify", "ask_user", "steer"):
        assert f"{node}({node})" in full.stdout
        assert f"{node}(" not in plain.stdout
