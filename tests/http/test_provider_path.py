"""End to end over real HTTP: the installed ``dialectic`` command against the test LLM server,
through langchain-openai's ChatOpenAI (Chat Completions), for each way of naming a provider."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second, and links must never collide."
# 2 agents, 1 round, no summaries: 2 proposals + 2 critiques + 2 refinements + 1 synthesis
CALLS_2_AGENTS_1_ROUND = 7


def agent(
    agent_id: str, role: str, provider: str = "openai", model: str = "gpt-4o-mini", **extra: Any
) -> dict:
    return {
        "id": agent_id,
        "name": agent_id.title(),
        "role": role,
        "model": model,
        "provider": provider,
        **extra,
    }


def write_config(folder: Path, agents: list[dict], judge: dict, **debate: Any) -> None:
    config = {
        "agents": agents,
        "judge": judge,
        "debate": {
            "rounds": 1,
            "terminationCondition": {"type": "fixed"},
            "summarization": {"enabled": False},
            **debate,
        },
    }
    (folder / "debate-config.json").write_text(json.dumps(config, indent=2))


def saved(folder: Path, debate_id: str) -> dict:
    return json.loads((folder / "debates" / f"{debate_id}.json").read_text())


def sums(*servers) -> dict[str, int]:
    entries = [e for server in servers for e in server.log]
    return {
        "inputTokens": sum(e["prompt_tokens"] for e in entries),
        "outputTokens": sum(e["completion_tokens"] for e in entries),
    }


def openai_env(server, key: str = "test-key") -> dict[str, str]:
    return {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": server.url, "DIALECTIC_RETRY_BASE_SECONDS": "0.01"}


def two_agents(provider: str = "openai", model: str = "gpt-4o-mini") -> list[dict]:
    return [
        agent("agent-architect", "architect", provider, model),
        agent("agent-security", "security", provider, model),
    ]


def judge(provider: str = "openai", model: str = "gpt-4o-mini") -> dict:
    return {
        "id": "judge-main",
        "name": "Technical Judge",
        "role": "generalist",
        "model": model,
        "provider": provider,
    }


def run_holding_first_requests(cli, server, count: int, *args: str, env: dict[str, str]) -> tuple[Any, list]:
    """Run ``dialectic *args`` while the server holds every request until ``count`` are in flight
    together (or 60 s pass), then let them all go. Returns the result and the log at that moment."""
    results: list[Any] = []
    server.hold()
    runner = threading.Thread(target=lambda: results.append(cli(*args, env=env)))
    runner.start()
    try:
        server.wait_for(lambda log: len(log) >= count, timeout=60)
        time.sleep(0.3)  # room for one request too many to show up
        held = server.log
    finally:
        server.release()
        runner.join(timeout=120)
    assert results, "the command did not finish"
    return results[0], held


def test_openai_provider_debate_over_http(cli, isolated: Path, llm_server):
    llm_server.set(api_key="test-key")
    write_config(isolated, two_agents(), judge())
    args = ("debate", "-r", "1", "--id", "http-openai", PROBLEM)
    result, held = run_holding_first_requests(cli, llm_server, 2, *args, env=openai_env(llm_server))
    assert result.code == 0, result.stderr
    # the two proposals were in flight together: calls of a phase run in parallel
    assert [e["in_flight"] for e in held] == [1, 2]

    log = llm_server.log
    assert len(log) == CALLS_2_AGENTS_1_ROUND
    assert {e["path"] for e in log} == {"/v1/chat/completions"}
    assert {e["status"] for e in log} == {200} and {e["model"] for e in log} == {"gpt-4o-mini"}
    assert Counter(e["kind"] for e in log) == {"text": 6, "json_schema": 1}
    assert log[-1]["kind"] == "json_schema"  # the judge's synthesis comes last
    assert not any(e["stream"] for e in log)

    record = saved(isolated, "http-openai")
    assert record["status"] == "completed"
    total = record["usage"]["total"]
    assert total["calls"] == CALLS_2_AGENTS_1_ROUND
    assert {"inputTokens": total["inputTokens"], "outputTokens": total["outputTokens"]} == sums(llm_server)
    assert total["totalTokens"] == sum(e["total_tokens"] for e in log)
    assert "## Summary" in result.stdout  # the judge's solutionMarkdown, from the server


def test_openrouter_and_agent_base_url_over_http(cli, isolated: Path, llm_server, llm_server_factory):
    """One debate, three routes: OPENROUTER_BASE_URL, an agent's own baseUrl + apiKeyEnv, OPENAI_BASE_URL."""
    router_model = "google/gemini-2.5-flash-lite"
    router = llm_server_factory(api_key="or-key", models=[router_model])
    own = llm_server_factory(api_key="own-key")
    llm_server.set(api_key="test-key")
    agents = [
        agent("agent-architect", "architect", "openrouter", router_model),
        agent("agent-security", "security", model="local-model", baseUrl=own.url, apiKeyEnv="OWN_LLM_KEY"),
    ]
    write_config(isolated, agents, judge())
    env = {
        **openai_env(llm_server),
        "OPENROUTER_API_KEY": "or-key",
        "OPENROUTER_BASE_URL": router.url,
        "OWN_LLM_KEY": "own-key",
    }
    result = cli("debate", "-r", "1", "--id", "http-routes", PROBLEM, env=env)
    assert result.code == 0, result.stderr

    # each agent's proposal, critique and refinement go to its own endpoint; the judge to OpenAI's
    assert [(e["path"], e["model"], e["status"]) for e in router.log] == [
        ("/v1/chat/completions", router_model, 200)
    ] * 3
    assert [(e["path"], e["model"], e["status"]) for e in own.log] == [
        ("/v1/chat/completions", "local-model", 200)
    ] * 3
    assert [(e["model"], e["kind"], e["status"]) for e in llm_server.log] == [
        ("gpt-4o-mini", "json_schema", 200)
    ]
    usage = saved(isolated, "http-routes")["usage"]
    for agent_id, server in (
        ("agent-architect", router),
        ("agent-security", own),
        ("judge-main", llm_server),
    ):
        mine = usage["byAgent"][agent_id]
        assert {"inputTokens": mine["inputTokens"], "outputTokens": mine["outputTokens"]} == sums(server)
    total = usage["total"]
    assert total["calls"] == CALLS_2_AGENTS_1_ROUND
    assert {"inputTokens": total["inputTokens"], "outputTokens": total["outputTokens"]} == sums(
        router, own, llm_server
    )


def test_openrouter_marks_the_cache_prefixes_of_anthropic_models_only(
    cli, isolated: Path, llm_server_factory
):
    """OpenRouter caches an Anthropic model's prompt only where the request marks it (as Anthropic
    does): calls to such a model mark the end of the system prompt and of the shared part of the
    user message; calls to its other models stay plain text, byte for byte as before."""
    claude, other = "anthropic/claude-3.5-haiku", "openai/gpt-4o-mini"
    router = llm_server_factory(
        api_key="or-key", models=[claude, other], record_bodies=True, prompt_cache=True
    )
    agents = [
        agent("agent-architect", "architect", "openrouter", claude),
        agent("agent-security", "security", "openrouter", other),
    ]
    write_config(isolated, agents, agent("judge-main", "generalist", "openrouter", other))
    env = {"OPENROUTER_API_KEY": "or-key", "OPENROUTER_BASE_URL": router.url}
    result = cli("debate", "-r", "1", "--id", "router-marks", PROBLEM, env=env)
    assert result.code == 0, result.stderr

    ephemeral = {"type": "ephemeral"}
    for entry in router.log:
        system, user = entry["body"]["messages"]
        if entry["model"] == claude:
            assert system["content"] == [
                {"type": "text", "text": system["content"][0]["text"], "cache_control": ephemeral}
            ]
            assert (
                user["content"][0]["cache_control"] == ephemeral
                and "## Problem" in user["content"][0]["text"]
            )
            assert all("cache_control" not in block for block in user["content"][1:])
        else:
            assert isinstance(system["content"], str) and isinstance(user["content"], str)
    assert Counter(e["model"] for e in router.log) == {claude: 3, other: 4}
    # the marked prefix of the architect's later calls was served from the cache, and recorded
    usage = saved(isolated, "router-marks")["usage"]["byAgent"]["agent-architect"]
    assert usage.get("cachedInputTokens", 0) > 0


def test_capped_debate_retries_transient_failures(cli, isolated: Path, llm_server):
    # 3 agents: 3 proposals + 6 critiques + 3 refinements + 1 synthesis, never more than 2 at once;
    # the first three requests fail with 429, 500 and 503 and are retried by nodes/llm.py
    llm_server.set(latency_ms=50, fail_next=["429", "500", "503"], retry_after=0)
    agents = [*two_agents(), agent("agent-kiss", "kiss")]
    write_config(isolated, agents, judge(), maxConcurrency=2)
    args = ("debate", "-r", "1", "--id", "http-cap", PROBLEM)
    result, held = run_holding_first_requests(cli, llm_server, 2, *args, env=openai_env(llm_server))
    assert result.code == 0, result.stderr
    assert [e["in_flight"] for e in held] == [1, 2]  # 2 of the 3 proposals, the third waits

    log = llm_server.log
    assert Counter(e["status"] for e in log) == {200: 13, 429: 1, 500: 1, 503: 1}
    assert llm_server.max_in_flight() == 2
    record = saved(isolated, "http-cap")
    assert record["status"] == "completed" and not record.get("failures")
    total = record["usage"]["total"]
    assert total["calls"] == 13
    # failed attempts reported no usage, so the totals are still exactly the server's
    assert {"inputTokens": total["inputTokens"], "outputTokens": total["outputTokens"]} == sums(llm_server)


def test_max_concurrency_1_runs_calls_one_at_a_time(cli, isolated: Path, llm_server):
    llm_server.set(latency_ms=20)
    write_config(isolated, two_agents(), judge(), maxConcurrency=1)
    # A deadlock would hang: a generous limit turns it into a failure without timing the run.
    try:
        result = cli(
            "debate", "-r", "1", "--id", "http-cap-1", PROBLEM, env=openai_env(llm_server), timeout=100
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the debate hung: {len(llm_server.log)} requests reached the server in 100 s")
    assert result.code == 0, result.stderr
    assert len(llm_server.log) == CALLS_2_AGENTS_1_ROUND
    assert llm_server.max_in_flight() == 1


def test_rejected_key_stops_with_exit_3_and_names_the_key(cli, isolated: Path, llm_server):
    llm_server.set(api_key="right-key")
    write_config(isolated, two_agents(), judge())
    result = cli(
        "debate", "-r", "1", "--id", "http-401", PROBLEM, env=openai_env(llm_server, key="wrong-key")
    )
    assert result.code == 3, result.stderr
    assert "OPENAI_API_KEY" in result.stderr and "401" in result.stderr
    assert "wrong-key" not in result.stderr + result.stdout
    # 401 is not transient: one attempt per proposal, no retries, nothing after the failed phase
    assert [e["status"] for e in llm_server.log] == [401, 401]


def test_schema_invalid_judge_reply_gets_one_repair_attempt(cli, isolated: Path, llm_server):
    # the 6 agent calls get no fault; the judge's first reply breaks its schema (confidence 101)
    llm_server.set(fail_next=[None] * 6 + ["schema_invalid"])
    write_config(isolated, two_agents(), judge())
    result = cli("debate", "-r", "1", "--id", "http-repair", PROBLEM, env=openai_env(llm_server))
    log = llm_server.log
    assert result.code == 0, f"{len(log)} requests; {result.stderr}"
    assert [e["fault"] for e in log[-2:]] == ["schema_invalid", None]  # the repair attempt
    assert len(log) == CALLS_2_AGENTS_1_ROUND + 1
    total = saved(isolated, "http-repair")["usage"]["total"]
    assert {"inputTokens": total["inputTokens"], "outputTokens": total["outputTokens"]} == sums(llm_server)


def test_a_judge_reply_invalid_twice_fails_and_its_billed_tokens_are_counted(cli, isolated: Path, llm_server):
    llm_server.set(fail_next=[None] * 6 + ["schema_invalid", "schema_invalid"])
    write_config(isolated, two_agents(), judge())
    result = cli("debate", "-v", "-r", "1", "--id", "http-invalid", PROBLEM, env=openai_env(llm_server))
    assert result.code == 3, result.stderr
    assert "invalid twice" in result.stderr and "Traceback" not in result.stderr
    assert "synthesize (failed)" in result.stderr  # -v's table of calls has the billed one
    record = saved(isolated, "http-invalid")
    assert record["status"] == "failed" and len(llm_server.log) == CALLS_2_AGENTS_1_ROUND + 1
    # the two unusable replies were billed: the debate's usage says so
    total = record["usage"]["total"]
    assert {"inputTokens": total["inputTokens"], "outputTokens": total["outputTokens"]} == sums(llm_server)


def test_a_repair_that_meets_a_500_is_retried_and_the_invalid_reply_is_counted(
    cli, isolated: Path, llm_server
):
    llm_server.set(fail_next=[None] * 6 + ["schema_invalid", "500"])
    write_config(isolated, two_agents(), judge())
    result = cli("debate", "-r", "1", "--id", "http-repair-500", PROBLEM, env=openai_env(llm_server))
    assert result.code == 0, result.stderr
    assert [e["fault"] for e in llm_server.log[-3:]] == ["schema_invalid", "500", None]
    total = saved(isolated, "http-repair-500")["usage"]["total"]
    assert {"inputTokens": total["inputTokens"], "outputTokens": total["outputTokens"]} == sums(llm_server)


def test_an_invalid_reply_in_the_replay_cache_is_asked_again_not_replayed(cli, isolated: Path, llm_server):
    llm_server.set(fail_next=[None] * 6 + ["schema_invalid", "schema_invalid"])
    write_config(isolated, two_agents(), judge())
    env = openai_env(llm_server)
    first = cli("debate", "-r", "1", "--id", "http-cached", "--cache", "c.sqlite", PROBLEM, env=env)
    assert first.code == 3, first.stderr  # both invalid replies are now in the cache
    before = len(llm_server.log)
    second = cli("resume", "http-cached", "--cache", "c.sqlite", env=env)
    assert second.code == 0, second.stderr
    assert " 0 calls" not in second.stderr  # no line for a phase done before the resume
    assert len(llm_server.log) == before + 1  # the cached invalid reply, then the model afresh
    record = saved(isolated, "http-cached")
    assert record["status"] == "completed"
    synthesis = record["usage"]["byPhase"]["synthesize"]  # the failed call, then the fresh one
    assert synthesis["calls"] == 2 and synthesis["cachedCalls"] == 0
    assert synthesis["inputTokens"] == sum(e["prompt_tokens"] for e in llm_server.log[-3:])
    # the fresh reply replaced the invalid entry: the same debate now replays whole
    again = cli("debate", "-r", "1", "--id", "http-cached-2", "--cache", "c.sqlite", PROBLEM, env=env)
    assert again.code == 0, again.stderr
    assert len(llm_server.log) == before + 1


def test_failed_judge_resumes_when_the_provider_is_healthy_again(cli, isolated: Path, llm_server):
    probe = cli("resume", "--help")
    if probe.code != 0:
        pytest.skip("this build has no `dialectic resume` command yet")
    llm_server.set(fail_models={"judge-model": 500})
    write_config(isolated, two_agents(), judge(model="judge-model"))
    env = openai_env(llm_server)
    first = cli("debate", "-r", "1", "--id", "http-resume", PROBLEM, env=env)
    assert first.code == 3, first.stderr
    judge_attempts = [e for e in llm_server.log if e["model"] == "judge-model"]
    assert len(judge_attempts) == 4  # 1 + maxRetries (3), all 500
    assert saved(isolated, "http-resume")["status"] == "failed"

    llm_server.set(fail_models={})
    before = len(llm_server.log)
    second = cli("resume", "http-resume", env=env)
    assert second.code == 0, second.stderr
    # only the failed call is made again: the agents' 6 calls come from the checkpoints
    assert [(e["model"], e["status"]) for e in llm_server.log[before:]] == [("judge-model", 200)]
    record = saved(isolated, "http-resume")
    assert record["status"] == "completed"
    total = record["usage"]["total"]
    assert total["calls"] == CALLS_2_AGENTS_1_ROUND
    assert {"inputTokens": total["inputTokens"], "outputTokens": total["outputTokens"]} == sums(llm_server)
