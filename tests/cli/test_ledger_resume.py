"""A debate killed with SIGKILL inside a critique phase resumes to the same issue ledger as one
never interrupted: every item once, under the same id (the offline model is deterministic)."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.cli.test_checkpoints import PROBLEM, Debate, ends


def ledger_of(record: dict) -> list[tuple[str, str, str, str, int, str]]:
    return [
        (i["id"], i["title"], i["raisedBy"], i["target"], i["round"], i["status"]) for i in record["ledger"]
    ]


def test_a_debate_killed_in_its_critiques_resumes_to_the_same_ledger(isolated: Path) -> None:
    clean = Debate(isolated, str(isolated / "clean.sqlite"))
    assert clean.run("debate", "--offline", "-r", "3", "--id", "clean", PROBLEM).returncode == 0
    expected = ledger_of(clean.record("clean"))
    assert len(expected) >= 6 and len({i[0] for i in expected}) == len(expected)

    debate = Debate(isolated, str(isolated / "killed.sqlite"), latency_ms=500)
    process = debate.start("debate", "--offline", "-r", "3", "--id", "killed", PROBLEM)

    # Killed while round 2's critiques are in flight (round 1's items are checkpointed; the
    # calls of round 2 take 0.5 s each).
    def in_flight(events: list[dict]) -> bool:
        mine = [e for e in events if e["pid"] == process.pid and e["phase"] == "critique" and e["round"] == 2]
        return sum(e["event"] == "start" for e in mine) == 6

    debate.wait_for(in_flight)
    process.send_signal(signal.SIGKILL)
    process.wait()
    ended = [e for e in ends(debate.events(), process.pid) if e["phase"] == "critique" and e["round"] == 2]
    assert len(ended) < 6  # some of the round's critiques were cut off

    resumed = debate.run("resume", "killed", latency_ms=0)
    assert resumed.returncode == 0, resumed.stderr
    assert ledger_of(debate.record("killed")) == expected
