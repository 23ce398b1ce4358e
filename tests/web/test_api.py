"""The API of ``dialectic serve`` in-process: start, watch (server-sent events), answer,
steer, stop, resume, budgets, feedback, downloads; the same checks as the CLI on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import PROBLEM, answer_until_done, events_until_end, make_client, run_to_end, start


def test_a_debate_started_from_the_api_runs_to_completion_with_live_events(
    client: TestClient, isolated: Path
):
    debate_id = start(client)
    events = events_until_end(client, debate_id)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_ended"
    assert events[-1]["status"] == "completed" and events[-1]["exit_code"] == 0
    assert {"round_started", "call_started", "call_finished", "phase_done"} <= set(kinds)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert "settings" not in events[0]  # the run's settings object stays on the server
    finished = [e for e in events if e["event"] == "call_finished"]

    view = client.get(f"/api/debates/{debate_id}").json()
    assert view["live"] is False and view["detail"]["status"] == "completed"
    record = view["record"]
    assert record["status"] == "completed" and record["problem"] == PROBLEM
    assert len(finished) == record["usage"]["total"]["calls"]  # every call was seen live
    assert view["html"]["final"].startswith("<h1>") and len(view["html"]["rounds"][0]) == len(
        record["rounds"][0]["contributions"]
    )
    assert view["record"] == json.loads((isolated / "debates" / f"{debate_id}.json").read_text())

    (row,) = client.get("/api/debates").json()
    assert (row["id"], row["status"], row["rounds_done"], row["live"]) == (debate_id, "completed", 1, False)

    download = client.get(f"/api/debates/{debate_id}/json")
    assert download.json()["id"] == debate_id
    assert f'filename="{debate_id}.json"' in download.headers["content-disposition"]
    report = client.get(f"/api/debates/{debate_id}/report")
    assert report.text.startswith("# Debate: Design a rate limiter") and "### Final Synthesis" in report.text
    assert report.headers["content-type"].startswith("text/markdown")


def test_a_late_viewer_gets_the_run_from_its_start_and_a_debate_not_running_here_is_idle(client: TestClient):
    debate_id = start(client)
    first = events_until_end(client, debate_id)
    again = events_until_end(client, debate_id)  # after the end: the whole run again
    assert again == first
    later = client.get(f"/api/debates/{debate_id}/events", params={"after": first[-1]["seq"]})
    assert [
        json.loads(line[5:])["event"] for line in later.text.splitlines() if line.startswith("data:")
    ] == ["idle"]
    unknown = client.get("/api/debates/deb-never-run/events")
    assert '"idle"' in unknown.text


def test_clarifying_questions_and_steering_notes_are_answered_through_the_api(
    client: TestClient, isolated: Path
):
    debate_id = start(client, rounds=2, clarify=True, steer=True)
    end = run_to_end(client, debate_id)
    assert end["status"] == "waiting_for_input" and end["exit_code"] == 5
    view = client.get(f"/api/debates/{debate_id}").json()
    assert view["detail"]["pending"][0]["kind"] == "clarification" and view["detail"]["questions"]
    first_question = view["detail"]["questions"][0]["id"]

    end = answer_until_done(client, debate_id, end)
    assert end["status"] == "completed"
    record = json.loads((isolated / "debates" / f"{debate_id}.json").read_text())
    answers = {item["id"]: item["answer"] for group in record["clarifications"] for item in group["items"]}
    assert answers[first_question] == f"answer to {first_question}"
    assert [s["note"] for s in record["steering"]] == ["prefer managed services"]


def test_an_answer_to_a_debate_that_waits_for_nothing_is_reported_not_lost_silently(client: TestClient):
    debate_id = start(client)
    run_to_end(client, debate_id)
    assert client.post(f"/api/debates/{debate_id}/resume", json={"answers": {"q1": "x"}}).status_code == 202
    events = events_until_end(client, debate_id)
    assert events[-1]["status"] == "completed"


def test_stop_drains_like_ctrl_c_and_resume_repeats_no_finished_call(
    client: TestClient, isolated: Path, monkeypatch: pytest.MonkeyPatch
):
    log = isolated / "calls.jsonl"
    monkeypatch.setenv("DIALECTIC_OFFLINE_CALL_LOG", str(log))
    monkeypatch.setenv("DIALECTIC_OFFLINE_LATENCY_MS", "100")
    debate_id = start(client, rounds=3)
    with client.stream("GET", f"/api/debates/{debate_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and json.loads(line[5:])["event"] == "call_finished":
                break
    assert client.post(f"/api/debates/{debate_id}/stop", json={}).status_code == 202
    end = run_to_end(client, debate_id)
    assert end.get("status") == "interrupted" and end["exit_code"] == 130, end
    view = client.get(f"/api/debates/{debate_id}").json()
    assert view["detail"]["status"] == "interrupted" and view["record"]["status"] == "interrupted"
    assert client.post(f"/api/debates/{debate_id}/stop", json={}).status_code == 409  # not running any more

    monkeypatch.setenv("DIALECTIC_OFFLINE_LATENCY_MS", "0")
    assert client.post(f"/api/debates/{debate_id}/resume", json={}).status_code == 202
    assert run_to_end(client, debate_id)["status"] == "completed"
    ends = [json.loads(line) for line in log.read_text().splitlines()]
    finished = [(e["agent"], e["phase"], e["round"], e["target"]) for e in ends if e["event"] == "end"]
    assert len(finished) == len(set(finished))  # no finished call was made twice


def test_resuming_a_debate_the_store_does_not_have_is_refused_at_once(client: TestClient):
    run_to_end(client, start(client))  # the store exists
    refused = client.post("/api/debates/deb-elsewhere/resume", json={})
    assert refused.status_code == 400 and "no debate 'deb-elsewhere'" in refused.json()["error"]
    assert client.app.state.runs.latest("deb-elsewhere") is None  # no run was started for it


def test_starting_a_debate_under_a_taken_id_is_refused_at_once(client: TestClient, isolated: Path):
    first = start(client, id="taken-1")
    assert run_to_end(client, first)["status"] == "completed"
    saved = (isolated / "debates" / "taken-1.json").read_bytes()
    refused = client.post("/api/debates", json={"problem": PROBLEM, "rounds": 1, "id": "taken-1"})
    assert (
        refused.status_code == 409
        and "'taken-1' already exists; choose another id" in refused.json()["error"]
    )
    assert not client.app.state.runs.is_live("taken-1")
    assert (isolated / "debates" / "taken-1.json").read_bytes() == saved  # the first is untouched

    # only its JSON file is here (a debate of another store): refused too
    (isolated / "debates" / "other-1.json").write_text("{}")
    refused = client.post("/api/debates", json={"problem": PROBLEM, "rounds": 1, "id": "other-1"})
    assert refused.status_code == 409 and "other-1.json already exists" in refused.json()["error"]


def test_a_budget_pauses_and_resume_with_a_larger_budget_finishes(client: TestClient):
    debate_id = start(client, maxTokens=3000)
    end = run_to_end(client, debate_id)
    assert (end["status"], end["exit_code"]) == ("paused", 5)
    assert client.get(f"/api/debates/{debate_id}").json()["detail"]["pending"][0]["kind"] == "budget"
    client.post(f"/api/debates/{debate_id}/resume", json={})
    assert run_to_end(client, debate_id)["status"] == "paused"  # the same budget: paused again
    client.post(f"/api/debates/{debate_id}/resume", json={"maxTokens": 10_000_000})
    assert run_to_end(client, debate_id)["status"] == "completed"


def test_feedback_is_saved_as_user_feedback_and_outlives_a_resume(client: TestClient, isolated: Path):
    debate_id = start(client)
    run_to_end(client, debate_id)
    path = isolated / "debates" / f"{debate_id}.json"
    assert client.post(f"/api/debates/{debate_id}/feedback", json={"value": -1}).json()["userFeedback"] == -1
    assert json.loads(path.read_text())["userFeedback"] == -1
    assert client.post(f"/api/debates/{debate_id}/feedback", json={"value": "up"}).status_code == 200
    client.post(f"/api/debates/{debate_id}/resume", json={})  # saves the JSON again
    assert run_to_end(client, debate_id)["status"] == "completed"
    assert json.loads(path.read_text())["userFeedback"] == 1
    refused = client.post(f"/api/debates/{debate_id}/feedback", json={"value": 5})
    assert refused.status_code == 400 and "up or down" in refused.json()["error"]
    missing = client.post("/api/debates/deb-none/feedback", json={"value": 1})
    assert missing.status_code == 400 and "no debate file" in missing.json()["error"]


def test_feedback_waits_for_the_run_to_stop(
    client: TestClient, isolated: Path, monkeypatch: pytest.MonkeyPatch
):
    """The run rewrites the debate JSON as it goes: a verdict written meanwhile could be lost,
    or put back an older JSON over the run's."""
    monkeypatch.setenv("DIALECTIC_OFFLINE_LATENCY_MS", "100")
    debate_id = start(client, rounds=3)
    with client.stream("GET", f"/api/debates/{debate_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and json.loads(line[5:])["event"] == "phase_done":
                break  # its JSON is written, and it runs on
    refused = client.post(f"/api/debates/{debate_id}/feedback", json={"value": "up"})
    assert refused.status_code == 409 and "when it has stopped" in refused.json()["error"]
    assert client.post(f"/api/debates/{debate_id}/stop", json={}).status_code == 202
    assert run_to_end(client, debate_id)["status"] == "interrupted"
    assert client.post(f"/api/debates/{debate_id}/feedback", json={"value": "up"}).status_code == 200
    assert json.loads((isolated / "debates" / f"{debate_id}.json").read_text())["userFeedback"] == 1


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"problem": "   "}, 400, "the problem text is empty"),
        ({"rounds": 0}, 400, "--rounds must be at least 1"),
        ({"rounds": "abc"}, 400, "--rounds must be a whole number"),
        ({"roles": ["wizard"]}, 400, "unknown role 'wizard'"),
        ({"maxCost": -1}, 400, "--max-cost must be a positive number"),
        ({"id": "../etc/passwd"}, 400, "invalid debate id"),
        ({"surprise": 1}, 400, "surprise"),
    ],
)
def test_a_bad_form_gets_the_cli_s_message(client: TestClient, form, status, message):
    response = client.post("/api/debates", json={"problem": PROBLEM, **form})
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.get("/api/debates").json() == []


def test_an_edited_config_is_checked_by_the_config_schema(client: TestClient):
    document = client.get("/api/config").json()["document"]
    document["agents"][1]["temperature"] = 7
    response = client.post("/api/debates", json={"problem": PROBLEM, "config": document})
    assert response.status_code == 422
    assert "agents[1].temperature" in response.json()["error"]

    document["agents"][1]["temperature"] = 0.2
    document["agents"] = document["agents"][:2]
    debate_id = start(client, config=document)
    assert run_to_end(client, debate_id)["status"] == "completed"
    record = client.get(f"/api/debates/{debate_id}").json()["record"]
    assert len({c["agentId"] for c in record["rounds"][0]["contributions"]}) == 2


def test_an_edited_config_may_not_add_extensions(client: TestClient, isolated: Path):
    document = client.get("/api/config").json()["document"]
    document["extensions"] = [{"name": "x", "callable": "os:system", "after": "round"}]
    response = client.post("/api/debates", json={"problem": PROBLEM, "config": document})
    assert response.status_code == 422
    assert "cannot be added from the page" in response.json()["error"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"systemPromptPath": "notes.md"}, "systemPromptPath 'notes.md' is not in the server's config"),
        ({"promptsDir": "."}, "promptsDir '.' is not in the server's config"),
        (
            {"provider": "openai", "baseUrl": "http://127.0.0.1:9/v1", "apiKeyEnv": "LOCAL_LLM_API_KEY"},
            "baseUrl 'http://127.0.0.1:9/v1' (provider openai, apiKeyEnv LOCAL_LLM_API_KEY) is not in",
        ),
    ],
)
def test_an_edited_config_may_not_name_files_or_endpoints_the_server_s_does_not(
    client: TestClient, isolated: Path, change, message
):
    """A page could otherwise read the server's files into a prompt, or send its key elsewhere."""
    (isolated / "notes.md").write_text("private notes of whoever runs the server")
    document = client.get("/api/config").json()["document"]
    document["agents"][0].update(change)
    response = client.post("/api/debates", json={"problem": PROBLEM, "config": document})
    assert response.status_code == 422
    assert message in response.json()["error"] and "dialectic serve -c" in response.json()["error"]


def test_an_edited_config_may_use_the_files_the_server_s_config_names(isolated: Path):
    (isolated / "prompts").mkdir()
    (isolated / "prompts" / "architect.md").write_text("You are a careful architect.")
    with make_client() as plain:
        document = plain.get("/api/config").json()["document"]
    document["agents"][0]["systemPromptPath"] = "prompts/architect.md"
    (isolated / "served.json").write_text(json.dumps(document))
    with make_client(config="served.json") as client:
        edited = client.get("/api/config").json()["document"]
        edited["agents"][0]["temperature"] = 0.1
        edited["agents"] = edited["agents"][:2]
        debate_id = start(client, config=edited)
        assert run_to_end(client, debate_id)["status"] == "completed"


def test_the_config_and_graph_for_the_form(client: TestClient):
    config = client.get("/api/config").json()
    assert config["source"] == "built-in defaults" and config["offline"] is True
    assert [a["role"] for a in config["agents"]] == ["architect", "performance", "kiss"]
    graph = client.get("/api/graph", params={"clarify": True, "steer": True}).json()["mermaid"]
    assert "clarify(clarify)" in graph and "steer(steer)" in graph
    assert "steer(steer)" not in client.get("/api/graph").json()["mermaid"]


def test_the_page_and_its_vendored_files_are_served(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js"' in page.text
    assert "cdn" not in page.text.lower()
    mermaid = client.get("/static/vendor/mermaid.min.js")
    assert mermaid.status_code == 200 and len(mermaid.content) > 1_000_000
    assert client.get("/static/vendor/mermaid.LICENSE").text.startswith("The MIT License")
