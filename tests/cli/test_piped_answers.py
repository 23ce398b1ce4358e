"""Answers piped to standard input, as the TypeScript tool reads them: one line per question in
the order the questions are shown, an empty line is NA; too few lines answer the rest NA with a
warning; a standard input with nothing (empty, or used up) leaves the debate paused (exit 5)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.cli.test_human_in_the_loop import PROBLEM, write_config


def answers_of(folder: Path, debate_id: str) -> dict[str, str]:
    record = json.loads((folder / "debates" / f"{debate_id}.json").read_text())
    return {item["id"]: item["answer"] for group in record["clarifications"] for item in group["items"]}


def shown(stderr: str) -> list[str]:
    """Question ids in the order the command showed them."""
    return re.findall(r"^\s+(q\d+): ", stderr, re.M)


def test_piped_lines_answer_the_questions_in_the_order_shown(cli, isolated: Path):
    write_config(isolated, rounds=1, clarificationsMaxIterations=1)
    lines = ["answer 1", "", *(f"answer {n}" for n in range(3, 12))]
    result = cli("debate", "--clarify", "--id", "pipe-1", PROBLEM, input="\n".join(lines) + "\n")
    assert result.code == 0, result.stderr
    order = shown(result.stderr)
    assert len(order) >= 2
    answers = answers_of(isolated, "pipe-1")
    assert set(answers) == set(order)
    expected = {qid: lines[index] or "NA" for index, qid in enumerate(order)}
    assert answers == expected
    assert answers[order[1]] == "NA"  # the empty line
    assert "from standard input" in result.stderr
    assert "warning" not in result.stderr


def test_too_few_lines_answer_the_rest_na_with_a_warning(cli, isolated: Path):
    write_config(isolated, rounds=1, clarificationsMaxIterations=1)
    result = cli("debate", "--clarify", "--id", "pipe-2", PROBLEM, input="the only answer\n")
    assert result.code == 0, result.stderr
    order = shown(result.stderr)
    answers = answers_of(isolated, "pipe-2")
    assert answers == {qid: "the only answer" if qid == order[0] else "NA" for qid in order}
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert f"1 answer line(s) for {len(order)} question(s)" in warnings[0]
    assert f"{', '.join(order[1:])} answered NA" in warnings[0]


def test_an_empty_standard_input_leaves_the_debate_paused_and_resume_reads_piped_answers(cli, isolated: Path):
    write_config(isolated, rounds=1, clarificationsMaxIterations=1)
    paused = cli("debate", "--clarify", "--id", "pipe-3", PROBLEM, input="")
    assert paused.code == 5, paused.stderr
    assert "waiting_for_input" in paused.stderr
    order = shown(paused.stderr)
    assert order

    resumed = cli("resume", "pipe-3", input="".join(f"late answer {qid}\n" for qid in order))
    assert resumed.code == 0, resumed.stderr
    assert answers_of(isolated, "pipe-3") == {qid: f"late answer {qid}" for qid in order}


def test_a_follow_up_batch_with_stdin_used_up_pauses(cli, isolated: Path):
    write_config(isolated, rounds=1, clarificationsMaxIterations=2)
    first = cli("debate", "--clarify", "--id", "pipe-4", PROBLEM, input="")
    order = shown(first.stderr)
    assert first.code == 5 and order

    # exactly one line per question of batch 1: the follow-up batch finds nothing and pauses
    result = cli("resume", "pipe-4", input="".join(f"first {qid}\n" for qid in order))
    assert result.code == 5, result.stderr
    assert "follow-up" in result.stderr or "batch 2" in result.stderr
    record = json.loads((isolated / "debates" / "pipe-4.json").read_text())
    answered = {i["id"]: i["answer"] for g in record["clarifications"] for i in g["items"]}
    assert {qid: answered[qid] for qid in order} == {qid: f"first {qid}" for qid in order}
    waiting = set(answered) - set(order)
    assert waiting and all(answered[qid] == "" for qid in waiting)  # batch 2: not answered yet
    assert set(shown(result.stderr.split("batch 2")[-1])) == waiting
