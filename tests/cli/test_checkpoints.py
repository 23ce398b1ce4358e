"""Checkpoints as a feature, through the installed command: kill and resume, Ctrl-C, list, show,
fork, one writer per debate, bad ids and stores. The store tests run on SQLite and, when
DIALECTIC_TEST_POSTGRES names a server (CI starts one), on PostgreSQL too."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

PROBLEM = "Design a job scheduler. It must run 1,000 jobs per minute. Jobs must never run twice."
POSTGRES = os.environ.get("DIALECTIC_TEST_POSTGRES")


def _exe() -> str:
    return str(Path(sys.executable).parent / "dialectic")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, isolated: Path, new_postgres_database: Any):
    if request.param == "sqlite":
        yield str(isolated / "store" / "debates.sqlite")
        return
    if not POSTGRES:
        pytest.skip("set DIALECTIC_TEST_POSTGRES to a PostgreSQL URL to run the PostgreSQL store tests")
    with new_postgres_database("dialectic_test") as url:
        yield url


class Debate:
    """A `dialectic` process of ours, with its own offline call log."""

    def __init__(self, folder: Path, store: str, latency_ms: int = 0) -> None:
        self.folder = folder
        self.store = store
        self.log = folder / "calls.jsonl"
        self.env = dict(
            os.environ, DIALECTIC_OFFLINE_CALL_LOG=str(self.log), DIALECTIC_OFFLINE_LATENCY_MS=str(latency_ms)
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [_exe(), *args, "--db", self.store],
            cwd=self.folder,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def run(self, *args: str, latency_ms: int | None = None) -> subprocess.CompletedProcess[str]:
        env = (
            dict(self.env)
            if latency_ms is None
            else {**self.env, "DIALECTIC_OFFLINE_LATENCY_MS": str(latency_ms)}
        )
        return subprocess.run(
            [_exe(), *args, "--db", self.store],
            cwd=self.folder,
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def wait_for(self, predicate, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.events()):
                return
            time.sleep(0.01)
        raise AssertionError("the debate never reached the expected point")

    def record(self, debate_id: str) -> dict[str, Any]:
        return json.loads((self.folder / "debates" / f"{debate_id}.json").read_text())


def ends(events: list[dict[str, Any]], pid: int | None = None) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == "end" and (pid is None or e["pid"] == pid)]


def in_flight(events: list[dict[str, Any]], pid: int) -> int:
    mine = [e for e in events if e["pid"] == pid]
    return sum(1 for e in mine if e["event"] == "start") - sum(1 for e in mine if e["event"] == "end")


def transcript(record: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(
        (r["roundNumber"], c["type"], c["agentId"], c.get("targetAgentId") or "", c["content"])
        for r in record["rounds"]
        for c in r["contributions"]
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], int]:
    """An uninterrupted run: its debate JSON and its number of LLM calls."""
    folder = tmp_path_factory.mktemp("reference")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "OPENROUTER"))}
    debate = Debate(folder, str(folder / "ref.sqlite"))
    debate.env = {**env, "DIALECTIC_OFFLINE_CALL_LOG": str(debate.log), "DIALECTIC_OFFLINE_LATENCY_MS": "0"}
    done = debate.run("debate", "--offline", "-r", "2", "--id", "ref", PROBLEM)
    assert done.returncode == 0, done.stderr
    return debate.record("ref"), len(ends(debate.events()))


# Where to kill: a predicate on the call log. The run has 3 agents and 2 rounds:
# round 1 = 3 proposals + 6 critiques + 3 refinements, round 2 = 6 critiques + 3 refinements
# (+ the judge's summary), then the synthesis.
KILL_POINTS = {
    "inside round 1 proposals": lambda ev: len(ends(ev)) >= 1,
    "between proposals and critiques": lambda ev: len(ends(ev)) >= 3,
    "inside round 1 critiques": lambda ev: len(ends(ev)) >= 6,
    "at the end of round 1": lambda ev: len(ends(ev)) >= 12,
    "inside round 2 critiques": lambda ev: len(ends(ev)) >= 15,
    "during synthesis": lambda ev: any(e["event"] == "start" and e["phase"] == "synthesize" for e in ev),
}


def _kill_and_resume(folder: Path, store: str, point: str, reference: tuple[dict[str, Any], int]) -> None:
    expected, reference_calls = reference
    debate = Debate(folder, store, latency_ms=150)
    process = debate.start("debate", "--offline", "-r", "2", "--id", "k", PROBLEM)
    debate.wait_for(KILL_POINTS[point])
    process.send_signal(signal.SIGKILL)
    process.wait()
    # In flight at the kill = calls of the interrupted step whose results were not yet saved
    # (a call can have returned without its result being checkpointed). Read in-process: the
    # commands themselves are tested below.
    from dialectic.runner.catalog import list_debates, show_debate

    flying = show_debate(store, "k").pending_calls
    assert flying <= 9  # never more than one step's calls
    assert flying >= in_flight(debate.events(), process.pid)
    assert [(row.id, row.status) for row in list_debates(store)] == [("k", "interrupted")]

    resumed = debate.run("resume", "k", latency_ms=0)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    record = debate.record("k")
    assert record["status"] == "completed"
    assert transcript(record) == transcript(expected)
    counts = Counter((r["roundNumber"], c["type"]) for r in record["rounds"] for c in r["contributions"])
    assert counts == Counter(
        (r["roundNumber"], c["type"]) for r in expected["rounds"] for c in r["contributions"]
    )
    made = len(ends(debate.events()))
    assert reference_calls <= made <= reference_calls + flying, (point, made, reference_calls, flying)


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_then_resume_completes_repeating_only_calls_in_flight(point, isolated: Path, reference):
    _kill_and_resume(isolated, str(isolated / "debates.sqlite"), point, reference)


@pytest.mark.parametrize("point", ["inside round 1 critiques", "during synthesis"])
def test_sigkill_then_resume_on_each_store(point, isolated: Path, store_url: str, reference):
    _kill_and_resume(isolated, store_url, point, reference)


def test_ctrl_c_stops_cleanly_and_resume_continues(isolated: Path, store_url: str, reference):
    debate = Debate(isolated, store_url, latency_ms=400)
    process = debate.start("debate", "--offline", "-r", "2", "--id", "c1", PROBLEM)
    debate.wait_for(
        lambda ev: len(ends(ev)) >= 3 and any(e["event"] == "start" and e["phase"] == "critique" for e in ev)
    )
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert "dialectic resume c1" in err
    assert out == ""
    assert debate.record("c1")["status"] == "interrupted"
    # The calls in flight at Ctrl-C were let finish and saved: nothing is made twice.
    before = len(ends(debate.events()))
    assert in_flight(debate.events(), process.pid) == 0

    resumed = debate.run("resume", "c1", latency_ms=0)
    assert resumed.returncode == 0, resumed.stderr
    assert len(ends(debate.events())) == reference[1]
    assert before < reference[1]
    assert transcript(debate.record("c1")) == transcript(reference[0])


def test_second_ctrl_c_exits_at_once_and_keeps_the_checkpoints(isolated: Path):
    # The calls in flight take ten minutes: an exit before then did not wait for them.
    debate = Debate(isolated, str(isolated / "d.sqlite"), latency_ms=600_000)
    process = debate.start("debate", "--offline", "-r", "1", "--id", "c2", PROBLEM)
    debate.wait_for(lambda ev: any(e["event"] == "start" for e in ev))
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    first = ""
    while "Ctrl-C again" not in first:  # the first Ctrl-C was taken: now the second
        line = process.stderr.readline()
        assert line, "the process ended before it acknowledged Ctrl-C"
        first += line
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=100)
    err = first + rest
    assert process.returncode == 130
    assert "Traceback" not in err and "dialectic resume c2" in err
    assert ends(debate.events()) == []
    assert debate.record("c2")["status"] == "interrupted"
    listed = json.loads(debate.run("list", "--json").stdout)
    assert listed[0]["id"] == "c2" and listed[0]["status"] == "interrupted"


def test_one_writer_per_debate(isolated: Path, store_url: str):
    # Its calls never finish while the test looks at it (the process is killed at the end).
    debate = Debate(isolated, store_url, latency_ms=600_000)
    process = debate.start("debate", "--offline", "-r", "1", "--id", "busy", PROBLEM)
    try:
        debate.wait_for(lambda ev: any(e["event"] == "start" for e in ev))
        second = debate.run("resume", "busy")
        assert second.returncode == 2
        assert f"process {process.pid}" in second.stderr and second.stderr.count("\n") == 1
        again = debate.run("debate", "--offline", "--id", "busy", PROBLEM)
        assert again.returncode == 2 and f"process {process.pid}" in again.stderr
        listed = json.loads(debate.run("list", "--json").stdout)
        assert listed[0]["status"] == "running"
        shown = json.loads(debate.run("show", "busy", "--json").stdout)
        assert str(process.pid) in shown["running_by"]
    finally:
        process.kill()
        process.wait()
    assert json.loads(debate.run("list", "--json").stdout)[0]["status"] == "interrupted"


def test_show_and_list_describe_the_debate(isolated: Path, store_url: str):
    debate = Debate(isolated, store_url)
    assert debate.run("debate", "--offline", "-r", "1", "--id", "s1", PROBLEM).returncode == 0
    assert (
        debate.run("debate", "--offline", "-r", "2", "--id", "s2", "Second problem. It must work.").returncode
        == 0
    )
    listed = json.loads(debate.run("list", "--json").stdout)
    assert [row["id"] for row in listed] == ["s2", "s1"]  # newest first
    assert listed[1] == {
        **listed[1],
        "status": "completed",
        "rounds_done": 1,
        "max_rounds": 1,
        "problem": PROBLEM[:100],
    }
    table = debate.run("list")
    assert "s1" in table.stdout and "completed" in table.stdout and "1/1" in table.stdout

    shown = json.loads(debate.run("show", "s1", "--json", "--history").stdout)
    assert shown["status"] == "completed" and shown["round"] == 1
    assert shown["usage"]["calls"] == debate.record("s1")["usage"]["total"]["calls"] >= 3 + 6 + 3 + 1
    nodes = [row["node"] for row in shown["checkpoints"]]
    assert "critiques_done" in nodes and "judge" in nodes
    text = debate.run("show", "s1", "--history")
    assert (
        text.returncode == 0
        and "completed" in text.stdout
        and shown["checkpoints"][3]["checkpoint"] in text.stdout
    )


def test_resume_of_a_finished_debate_prints_its_solution(isolated: Path, store_url: str):
    debate = Debate(isolated, store_url)
    first = debate.run("debate", "--offline", "-r", "1", "--id", "done", PROBLEM)
    calls = len(ends(debate.events()))
    again = debate.run("resume", "done")
    assert again.returncode == 0
    assert again.stdout == first.stdout
    assert "already complete" in again.stderr
    assert len(ends(debate.events())) == calls


def test_fork_reruns_from_a_checkpoint_with_other_settings(isolated: Path, store_url: str):
    debate = Debate(isolated, store_url)
    assert debate.run("debate", "--offline", "-r", "2", "--id", "parent", PROBLEM).returncode == 0
    parent_before = debate.record("parent")
    history_before = json.loads(debate.run("show", "parent", "--json", "--history").stdout)["checkpoints"]
    end_of_round_1 = next(
        row["checkpoint"] for row in history_before if row["node"] == "round_done" and row["round"] == 1
    )

    config = {
        "agents": [
            {
                "id": "agent-architect",
                "name": "A",
                "role": "architect",
                "model": "gpt-4o-mini",
                "provider": "offline",
            },
            {
                "id": "agent-performance",
                "name": "P",
                "role": "performance",
                "model": "gpt-4o-mini",
                "provider": "offline",
            },
            {
                "id": "agent-kiss",
                "name": "K",
                "role": "kiss",
                "model": "another-model",
                "provider": "offline",
            },
        ],
        "judge": {
            "id": "judge-main",
            "name": "J",
            "role": "generalist",
            "model": "gpt-4o-mini",
            "provider": "offline",
        },
    }
    (isolated / "fork.json").write_text(json.dumps(config))
    forked = debate.run(
        "fork", "parent", "--at", end_of_round_1, "--rounds", "3", "-c", "fork.json", "--id", "child"
    )
    assert forked.returncode == 0, forked.stderr
    child = debate.record("child")
    assert [r["roundNumber"] for r in child["rounds"]] == [1, 2, 3]

    def round_of(record, number):
        return transcript({"rounds": [r for r in record["rounds"] if r["roundNumber"] == number]})

    assert round_of(child, 1) == round_of(parent_before, 1)
    assert round_of(child, 2) != round_of(parent_before, 2)
    # The parent and its history are untouched.
    assert debate.record("parent") == parent_before
    assert (
        json.loads(debate.run("show", "parent", "--json", "--history").stdout)["checkpoints"]
        == history_before
    )
    shown = json.loads(debate.run("show", "child", "--json").stdout)
    assert shown["parent"] == "parent" and shown["max_rounds"] == 3
    assert "forked from parent" in debate.run("show", "child").stdout


def test_fork_config_must_keep_the_agents(isolated: Path):
    debate = Debate(isolated, str(isolated / "d.sqlite"))
    assert debate.run("debate", "--offline", "-r", "1", "--id", "p", PROBLEM).returncode == 0
    first = json.loads(debate.run("show", "p", "--json", "--history").stdout)["checkpoints"][2]["checkpoint"]
    (isolated / "other.json").write_text(
        json.dumps(
            {"agents": [{"id": "x", "name": "X", "role": "kiss", "model": "m", "provider": "offline"}]}
        )
    )
    result = debate.run("fork", "p", "--at", first, "-c", "other.json")
    assert result.returncode == 2 and "keep the debate's agents" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["resume", "nope"], 2, "no debate 'nope'"),
        (["show", "nope"], 2, "no debate 'nope'"),
        (["resume", "../etc/passwd"], 2, "invalid debate id"),
        (["show", "a/b"], 2, "invalid debate id"),
        (["fork", "..", "--at", "x"], 2, "invalid debate id"),
    ],
)
def test_bad_ids(cli, args, code, needle):
    result = cli(*args, "--db", "d.sqlite")
    assert result.code == code
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and result.stdout == ""


def test_fork_at_an_unknown_checkpoint(cli):
    assert cli("debate", "--offline", "-r", "1", "--id", "p", PROBLEM, "--db", "d.sqlite").code == 0
    result = cli("fork", "p", "--at", "1f0-no-such", "--db", "d.sqlite")
    assert result.code == 2 and "no checkpoint '1f0-no-such'" in result.stderr


def test_bad_stores(cli, isolated: Path):
    (isolated / "notes.sqlite").write_text("this is not a database\n" * 100)
    corrupt = cli("list", "--db", "notes.sqlite")
    # A --db path that is not a store is a bad argument (exit 2); an unreachable server is exit 4.
    assert corrupt.code == 2 and "notes.sqlite" in corrupt.stderr and "Traceback" not in corrupt.stderr

    foreign = isolated / "app.sqlite"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    result = cli("list", "--db", str(foreign))
    assert result.code == 2 and "another program's SQLite database" in result.stderr
    with sqlite3.connect(foreign) as conn:  # and we wrote nothing into it
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == [
            "customers"
        ]

    unreachable = cli("list", "--db", "postgresql://user:secret@127.0.0.1:1/nothing")
    assert unreachable.code == 4 and "cannot open checkpoint store" in unreachable.stderr
    assert "secret" not in unreachable.stderr

    assert cli("list", "--db", str(isolated)).code == 2  # a directory


def test_dialectic_db_environment_variable(cli, isolated: Path):
    env = {"DIALECTIC_DB": str(isolated / "via-env.sqlite")}
    assert cli("debate", "--offline", "-r", "1", "--id", "e1", PROBLEM, env=env).code == 0
    assert (isolated / "via-env.sqlite").exists()
    assert json.loads(cli("list", "--json", env=env).stdout)[0]["id"] == "e1"
