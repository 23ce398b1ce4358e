"""``fork --rounds N`` extends a finished debate, and a debate killed with SIGKILL is reported
``interrupted`` everywhere (its JSON too), with ``list`` and ``show`` agreeing on its rounds."""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

from tests.cli.test_checkpoints import PROBLEM, Debate, ends


def test_fork_with_more_rounds_extends_a_finished_debate(isolated: Path):
    debate = Debate(isolated, str(isolated / "d.sqlite"))
    assert debate.run("debate", "--offline", "-r", "3", "--id", "three", PROBLEM).returncode == 0
    history = json.loads(debate.run("show", "three", "--json", "--history").stdout)["checkpoints"]
    final = history[-1]["checkpoint"]  # after the judge: the parent's synthesis is in it
    before = len(ends(debate.events()))

    forked = debate.run("fork", "three", "--at", final, "--rounds", "5", "--id", "five")
    assert forked.returncode == 0, forked.stderr
    record = debate.record("five")
    assert record["status"] == "completed"
    assert [r["roundNumber"] for r in record["rounds"]] == [1, 2, 3, 4, 5]
    made = Counter((e["phase"], e["round"]) for e in ends(debate.events())[before:])
    # rounds 4 and 5 and a new synthesis ran; nothing of rounds 1-3 was paid for again
    assert {round_ for _, round_ in made} == {4, 5}
    assert made[("critique", 4)] == made[("critique", 5)] == 6 and made[("synthesize", 5)] == 1
    assert record["finalSolution"]["description"]
    shown = debate.run("show", "five")
    assert "rounds done: 5 of 5" in shown.stdout
    assert debate.record("three")["rounds"][-1]["roundNumber"] == 3  # the parent is untouched


def test_fork_with_fewer_rounds_than_its_checkpoint_is_refused(isolated: Path):
    debate = Debate(isolated, str(isolated / "d.sqlite"))
    assert debate.run("debate", "--offline", "-r", "2", "--id", "two", PROBLEM).returncode == 0
    final = json.loads(debate.run("show", "two", "--json", "--history").stdout)["checkpoints"][-1][
        "checkpoint"
    ]
    refused = debate.run("fork", "two", "--at", final, "--rounds", "1", "--id", "one")
    assert refused.returncode == 2
    assert "--rounds 2 or more" in refused.stderr and "Traceback" not in refused.stderr


def test_fork_after_the_critiques_runs_the_refinements_again_under_the_fork_s_settings(isolated: Path):
    """The step after the fork's checkpoint is the fork's, not a copy of the parent's result."""
    debate = Debate(isolated, str(isolated / "d.sqlite"))
    assert debate.run("debate", "--offline", "-r", "2", "--id", "base", PROBLEM).returncode == 0
    history = json.loads(debate.run("show", "base", "--json", "--history").stdout)["checkpoints"]
    after_critiques = next(
        row["checkpoint"] for row in history if row["node"] == "critiques_done" and row["round"] == 2
    )
    agents = [a["id"] for a in debate.record("base")["agents"]]
    (isolated / "other.json").write_text(
        json.dumps(
            {
                "agents": [
                    {
                        "id": a,
                        "name": a,
                        "role": a.removeprefix("agent-"),
                        "model": "other-model",
                        "provider": "offline",
                    }
                    for a in agents
                ]
            }
        )
    )
    forked = debate.run("fork", "base", "--at", after_critiques, "-c", "other.json", "--id", "refork")
    assert forked.returncode == 0, forked.stderr
    second = next(r for r in debate.record("refork")["rounds"] if r["roundNumber"] == 2)
    models = {
        c["agentId"]: c["metadata"]["model"] for c in second["contributions"] if c["type"] == "refinement"
    }
    assert models == {a: "other-model" for a in agents}


def test_fork_under_an_id_whose_json_is_there_is_refused(isolated: Path):
    """Another store's debate has that id: its JSON is not overwritten."""
    debate = Debate(isolated, str(isolated / "d.sqlite"))
    assert debate.run("debate", "--offline", "-r", "1", "--id", "one", PROBLEM).returncode == 0
    final = json.loads(debate.run("show", "one", "--json", "--history").stdout)["checkpoints"][-1][
        "checkpoint"
    ]
    theirs = isolated / "debates" / "theirs.json"
    theirs.write_text('{"id": "theirs"}\n')
    refused = debate.run("fork", "one", "--at", final, "--rounds", "2", "--id", "theirs")
    assert refused.returncode == 2, refused.stderr
    assert "theirs.json already exists" in refused.stderr and "choose another --id" in refused.stderr
    assert theirs.read_text() == '{"id": "theirs"}\n'
    taken = debate.run("fork", "one", "--at", final, "--rounds", "2", "--id", "one")
    assert taken.returncode == 2 and "'one' already exists; choose another --id" in taken.stderr


def test_a_killed_debate_is_interrupted_in_its_json_list_and_show(isolated: Path):
    debate = Debate(isolated, str(isolated / "d.sqlite"), latency_ms=200)
    process = debate.start("debate", "--offline", "-r", "3", "--id", "killed", PROBLEM)
    # Kill it inside round 2's critiques: round 1 is done, round 2 is not.
    debate.wait_for(lambda events: any(e["phase"] == "critique" and e["round"] == 2 for e in ends(events)))
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert debate.record("killed")["status"] == "running"  # nothing could mark it

    listed = json.loads(debate.run("list", "--json").stdout)
    assert [(r["id"], r["status"], r["rounds_done"]) for r in listed] == [("killed", "interrupted", 1)]
    assert debate.record("killed")["status"] == "interrupted"  # reconciled
    shown = debate.run("show", "killed")
    assert "interrupted" in shown.stdout and "rounds done: 1 of 3 (round 2 in progress)" in shown.stdout
    assert json.loads(debate.run("show", "killed", "--json").stdout)["rounds_done"] == 1

    resumed = debate.run("resume", "killed", latency_ms=0)
    assert resumed.returncode == 0, resumed.stderr
    assert debate.record("killed")["status"] == "completed"


def test_show_alone_reconciles_a_stale_running_file(isolated: Path):
    debate = Debate(isolated, str(isolated / "d.sqlite"), latency_ms=200)
    process = debate.start("debate", "--offline", "-r", "2", "--id", "stale", PROBLEM)
    debate.wait_for(lambda events: len(ends(events)) >= 2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    path = isolated / "debates" / "stale.json"
    assert json.loads(path.read_text())["status"] == "running"
    shown = debate.run("show", "stale")
    assert shown.returncode == 0 and json.loads(path.read_text())["status"] == "interrupted"


def test_list_on_a_narrow_terminal_cuts_only_the_problem(isolated: Path):
    debate = Debate(isolated, str(isolated / "d.sqlite"))
    assert (
        debate.run("debate", "--offline", "-r", "1", "--id", "a-rather-long-debate-id", PROBLEM).returncode
        == 0
    )
    debate.env["COLUMNS"] = "30"
    listed = debate.run("list").stdout.splitlines()
    assert len(listed) == 2  # the header and one line
    assert "a-rather-long-debate-id" in listed[1] and "1/1" in listed[1] and "completed" in listed[1]
    assert listed[1].endswith("…")
