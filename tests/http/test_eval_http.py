"""``dialectic eval`` over real HTTP: the installed command against the project's OpenAI-compatible
test server (the ``llm_server`` fixture of tests/http/conftest.py), with the fixture evaluator
config. The server answers a JSON-schema response format with an instance of the schema, so the
evaluators' scores arrive the way a structured-output model sends them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

if not (Path(__file__).parent / "conftest.py").exists():  # the server arrives with its own branch
    pytest.skip(
        "tests/http/conftest.py (the llm_server fixture) is not in this tree", allow_module_level=True
    )

SAVED = "saved-debate-2-agents-2-rounds.json"
CONFIG = "example3/eval_config.json"
MODEL = "google/gemini-2.5-flash-lite"  # the fixture config's model


def env_for(server) -> dict[str, str]:
    return {"OPENROUTER_API_KEY": "test-key", "OPENROUTER_BASE_URL": server.url}


def chat_requests(server) -> list[dict]:
    return [e for e in server.log if e["path"].endswith("/chat/completions")]


def test_the_fixture_config_scores_over_http_concurrently_at_temperature_0_1(cli, eval_layout, llm_server):
    llm_server.set(latency_ms=400, record_bodies=True)
    result = cli("eval", "-c", CONFIG, "-d", SAVED, "-o", "scores.json", env=env_for(llm_server))
    assert result.code == 0, result.stderr
    document = json.loads((eval_layout / "scores.json").read_text())
    assert set(document["agents"]) == {"eval-1", "eval-2"}
    for metric in ("performance_scalability", "security", "requirements_fulfillment"):
        assert 1 <= document["evaluation"]["non_functional"][metric]["average_score"] <= 10
    requests = chat_requests(llm_server)
    assert len(requests) == 2
    assert {e["model"] for e in requests} == {MODEL} and {e["status"] for e in requests} == {200}
    assert {e["kind"] for e in requests} == {"json_schema"}
    assert max(e["in_flight"] for e in requests) == 2  # both evaluators in flight at once
    bodies = [e["body"] for e in requests]
    assert {body["temperature"] for body in bodies} == {0.1}
    user = bodies[0]["messages"][-1]["content"]
    assert "Automated Programming Assignment Grading Platform" in user  # the final solution
    assert user.startswith("Evaluate the following debate outcome")  # the config's own prompt


def test_a_timed_out_call_is_retried_within_the_evaluator_timeout(cli, eval_layout, llm_server):
    config = json.loads((eval_layout / CONFIG).read_text())
    for agent in config["agents"]:
        agent["timeout"] = 700  # ms
    (eval_layout / "example3" / "fast.json").write_text(json.dumps(config))
    llm_server.set(fail_next=["hang", "503"], hang_seconds=30)
    result = cli("eval", "-c", "example3/fast.json", "-d", SAVED, env=env_for(llm_server))
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    statuses = [e["status"] for e in chat_requests(llm_server)]
    assert statuses.count(200) == 2 and 503 in statuses and None in statuses  # the hang got no reply
