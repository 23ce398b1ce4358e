"""Answers files, steering notes and which pause the command line's input answers; the report's
steering section."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from dialectic.debate.pauses import ClarificationPause, SteeringPause
from dialectic.errors import InputError
from dialectic.report.markdown import render_report
from dialectic.runner.human import HumanInput, pause_lines, read_answers, read_note
from dialectic.transcript.schema import DebateRecord

QUESTIONS = [
    {"id": "q1", "agentId": "agent-a", "agentName": "A", "role": "architect", "question": "Which cloud?"},
    {"id": "q2", "agentId": "agent-a", "agentName": "A", "role": "architect", "question": "Which region?"},
    {"id": "q3", "agentId": "agent-k", "agentName": "K", "role": "kiss", "question": "How big is the team?"},
]
# Pauses as a checkpoint holds them (plain JSON), read back into their types.
BATCH_1 = ClarificationPause.model_validate({"iteration": 1, "maxIterations": 2, "questions": QUESTIONS})
BATCH_2 = BATCH_1.model_copy(
    update={"iteration": 2, "questions": [BATCH_1.questions[0].model_copy(update={"id": "q4"})]}
)
STEER = SteeringPause(round=1, rounds=3)


def quiet() -> Console:
    return Console(file=io.StringIO())


def test_read_answers_accepts_an_object_of_strings(isolated: Path):
    (isolated / "a.json").write_text('{"q1": "AWS", "q2": ""}')
    assert read_answers("a.json") == {"q1": "AWS", "q2": ""}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{'q1': 'AWS'}", "is not valid JSON (line 1, column 2"),
        ('"AWS"', "holds a JSON string; it must be an object"),
        ('{"q1": null}', "the answer to 'q1' is JSON null; answers must be strings"),
        ('{"q1": ["a"]}', "the answer to 'q1' is a JSON list"),
    ],
)
def test_read_answers_rejects_what_is_not_an_object_of_strings(isolated: Path, content: str, message: str):
    (isolated / "a.json").write_text(content)
    with pytest.raises(InputError, match=r".") as caught:
        read_answers("a.json")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_read_answers_and_notes_name_missing_files(isolated: Path):
    with pytest.raises(InputError, match=r"answers file not found: .*missing\.json"):
        read_answers("missing.json")
    with pytest.raises(InputError, match=r"note file not found"):
        read_note(None, "missing.md")
    with pytest.raises(InputError, match=r"not both"):
        read_note("x", "y.md")
    (isolated / "n.md").write_text("Drop Kafka.\n")
    assert read_note(None, "n.md") == "Drop Kafka.\n" and read_note("", None) == ""


def test_an_answers_file_answers_the_first_batch_only_without_a_terminal():
    human = HumanInput(quiet(), interactive=False, answers={"q1": "AWS"})
    assert human([BATCH_1]) == {"clarification": {"q1": "AWS"}}
    assert human([BATCH_2]) is None  # a follow-up batch waits for `resume --answers`
    assert human.unused() == []


def test_without_a_terminal_a_steering_pause_waits_unless_it_is_the_one_resumed():
    human = HumanInput(quiet(), interactive=False)
    assert human([STEER]) is None
    assert human([STEER], True) == {"steering": {"note": ""}}  # `dialectic resume ID` alone continues
    assert human([BATCH_1], True) is None  # answers are needed


def test_a_note_answers_one_steering_pause_and_unused_input_is_reported():
    human = HumanInput(quiet(), interactive=False, answers={"q1": "AWS"}, note="Two servers.")
    assert human([STEER], True) == {"steering": {"note": "Two servers."}}
    assert human([STEER]) is None
    assert human.unused() == ["--answers was not used: the debate did not wait for clarification answers"]
    assert HumanInput(quiet(), interactive=False)([{"kind": "budget"}]) is None  # not ours to answer


def test_on_a_terminal_the_user_types_answers_grouped_by_agent(monkeypatch: pytest.MonkeyPatch):
    out = io.StringIO()
    typed = iter(["  Europe  ", ""])
    monkeypatch.setattr("builtins.input", lambda *args: next(typed))
    human = HumanInput(Console(file=out, width=200), interactive=True, answers={"q1": "AWS", "q9": "x"})
    assert human([BATCH_1]) == {"clarification": {"q1": "AWS", "q9": "x", "q2": "Europe", "q3": ""}}
    screen = out.getvalue()
    assert "Enter alone answers NA" in screen and "Which cloud?" not in screen  # q1 came from the file
    assert screen.index("A (architect, agent-a)") < screen.index("q2: Which region?")
    assert screen.index("q2: Which region?") < screen.index("K (kiss, agent-k)") < screen.index("q3: ")


def test_ctrl_d_at_a_prompt_leaves_the_debate_paused(monkeypatch: pytest.MonkeyPatch):
    def eof(*args: object) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", eof)
    assert HumanInput(quiet(), interactive=True)([STEER]) is None


def test_pause_lines_list_the_questions_by_agent():
    assert pause_lines([BATCH_1, STEER]) == [
        "clarifying questions (batch 1):",
        "  A (architect, agent-a)",
        "    q1: Which cloud?",
        "    q2: Which region?",
        "  K (kiss, agent-k)",
        "    q3: How big is the team?",
    ]


def test_the_report_shows_steering_notes_and_multi_line_answers():
    record = DebateRecord.model_validate(
        {
            "id": "d",
            "problem": "Design X.",
            "clarifications": [
                {
                    "agentId": "a",
                    "agentName": "A",
                    "role": "kiss",
                    "items": [{"id": "q1", "question": "Q?", "answer": "one\ntwo"}],
                }
            ],
            "clarificationIterations": 2,
            "steering": [{"afterRound": 1, "note": "Two servers.\nNo Kafka."}],
        }
    )
    report = render_report(record)
    assert "Asked in 2 batches" in report
    assert "  - Answer: one\n    two" in report
    assert "## Steering Notes\n\n- **After round 1:** Two servers.\n  No Kafka.\n" in report
