"""``dialectic serve`` and ``dialectic feedback`` as installed commands: the URL on stderr, a
restart that finds the killed debate interrupted and resumes it without repeating a finished
call, Ctrl-C, and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.web.conftest import run_to_end, serve, start


def test_a_debate_running_when_the_server_is_killed_is_interrupted_and_resumes_after_a_restart(
    isolated: Path, served_processes
):
    log = isolated / "calls.jsonl"
    env = {"DIALECTIC_OFFLINE_CALL_LOG": str(log), "DIALECTIC_OFFLINE_LATENCY_MS": "150"}
    first = serve(isolated, env=env)
    served_processes.append(first)
    assert first.url.startswith("http://127.0.0.1:") and "token" not in first.url
    with first.client() as client:
        assert client.get("/").status_code == 200
        debate_id = start(client, rounds=3)
        with client.stream("GET", f"/api/debates/{debate_id}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and json.loads(line[5:])["event"] == "phase_done":
                    break  # round 1's proposals are in: kill the server mid-debate
    first.kill()
    assert json.loads((isolated / "debates" / f"{debate_id}.json").read_text())["status"] == "running"

    second = serve(isolated, env={"DIALECTIC_OFFLINE_CALL_LOG": str(log)})
    served_processes.append(second)
    with second.client() as client:
        (row,) = client.get("/api/debates").json()
        assert (row["id"], row["status"], row["live"]) == (debate_id, "interrupted", False)
        assert client.post(f"/api/debates/{debate_id}/resume", json={}).status_code == 202
        assert run_to_end(client, debate_id)["status"] == "completed"
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    pids = list(dict.fromkeys(c["pid"] for c in calls))
    assert len(pids) == 2  # both servers made calls
    key = ("agent", "phase", "round", "target")
    done_before = {tuple(c[k] for k in key) for c in calls if c["event"] == "end" and c["pid"] == pids[0]}
    made_after = [tuple(c[k] for k in key) for c in calls if c["event"] == "start" and c["pid"] == pids[1]]
    assert done_before and not done_before & set(made_after)  # no finished call made again
    assert second.interrupt() == 130  # Ctrl-C's exit code (spec 1.6)
    assert "Traceback" not in second.stderr.read_text()


def test_ctrl_c_stops_the_server_and_drains_its_running_debate(isolated: Path, served_processes):
    server = serve(isolated, env={"DIALECTIC_OFFLINE_LATENCY_MS": "150"})
    served_processes.append(server)
    with server.client() as client:
        debate_id = start(client, rounds=3, clarify=True)
        assert run_to_end(client, debate_id)["status"] == "waiting_for_input"
        other = start(client, rounds=3)
        with client.stream("GET", f"/api/debates/{other}/events") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:") and json.loads(line[5:])["event"] == "call_finished":
                    break
    assert server.interrupt() == 130
    record = json.loads((isolated / "debates" / f"{other}.json").read_text())
    assert record["status"] == "interrupted"  # drained and saved, as the CLI's Ctrl-C


def test_feedback_command_sets_user_feedback(cli, isolated: Path):
    done = cli("debate", "--offline", "-r", "1", "--id", "fb-1", "Design a queue")
    assert done.code == 0, done.stderr
    up = cli("feedback", "fb-1", "up")
    assert up.code == 0 and "feedback up saved" in up.stderr and up.stdout == ""
    assert json.loads((isolated / "debates" / "fb-1.json").read_text())["userFeedback"] == 1
    assert cli("feedback", "fb-1", "down").code == 0
    assert json.loads((isolated / "debates" / "fb-1.json").read_text())["userFeedback"] == -1
    assert cli("resume", "fb-1").code == 0  # the JSON is saved again: the verdict stays
    assert json.loads((isolated / "debates" / "fb-1.json").read_text())["userFeedback"] == -1


def test_feedback_and_serve_errors_are_one_line_with_the_input_exit_code(cli, isolated: Path):
    for args, message in [
        (("feedback", "fb-1", "meh"), "feedback must be up or down (got 'meh')"),
        (("feedback", "no-such", "up"), "no debate file for 'no-such'"),
        (("feedback", "../x", "up"), "invalid debate id"),
        (("serve", "--port", "70000"), "--port must be from 0 to 65535"),
        (("serve", "-c", "missing.json"), "missing.json"),
    ]:
        result = cli(*args)
        assert result.code in (2, 4), (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr, result.stderr


def test_without_the_web_extra_serve_says_how_to_install_it(cli, isolated: Path):
    hidden = isolated / "no-web" / "fastapi"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'fastapi'\", name='fastapi')\n")
    result = cli("serve", "--offline", "--port", "0", env={"PYTHONPATH": str(hidden.parent)})
    assert result.code == 4, result.stderr  # a configuration error (spec 1.6), as a missing provider
    assert result.stderr.splitlines() == [
        "error: dialectic serve needs the web extra (fastapi is missing): pip install 'dialectic-debate[web]'"
    ]
