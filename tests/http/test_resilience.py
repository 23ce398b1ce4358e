"""Provider trouble never costs a user their debate: faults, outages, hangs, budgets, the replay
cache and rate limits, over real HTTP through langchain-openai against the test server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second, and links must never collide."
ROLES = ("architect", "security", "kiss")
# 3 agents, 1 round, no summaries: 3 proposals + 6 critiques + 3 refinements + 1 synthesis
CALLS_3_AGENTS_1_ROUND = 13


def config(
    folder: Path,
    *,
    models: dict[str, str] | None = None,
    agent_extra: dict[str, Any] | None = None,
    **debate: Any,
) -> None:
    models = models or {}
    extra = {"maxRetries": 3, **(agent_extra or {})}
    document = {
        "agents": [
            {
                "id": f"agent-{r}",
                "name": r.title(),
                "role": r,
                "model": models.get(r, "gpt-4o-mini"),
                "provider": "openai",
                **extra,
            }
            for r in ROLES
        ],
        "judge": {
            "id": "judge-main",
            "name": "Judge",
            "role": "generalist",
            "model": models.get("judge", "gpt-4o-mini"),
            "provider": "openai",
            **extra,
        },
        "debate": {"rounds": 1, "summarization": {"enabled": False}, **debate},
    }
    (folder / "debate-config.json").write_text(json.dumps(document))


def env(server) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": server.url,
        "DIALECTIC_RETRY_BASE_SECONDS": "0.01",
    }


def saved(folder: Path, debate_id: str) -> dict[str, Any]:
    return json.loads((folder / "debates" / f"{debate_id}.json").read_text())


def contributions(record: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for round_record in record["rounds"]:
        for c in round_record["contributions"]:
            counts[c["type"]] = counts.get(c["type"], 0) + 1
    return counts


@pytest.fixture
def library(monkeypatch: pytest.MonkeyPatch, llm_server):
    """Run debates in-process (no start-up cost) against the server."""
    for name, value in env(llm_server).items():
        monkeypatch.setenv(name, value)
    from dialectic.runner.inputs import prepare_settings
    from dialectic.runner.run import start_debate

    def run(debate_id: str, **debate: Any):
        config(Path.cwd(), **debate)
        settings, _ = prepare_settings(None, roles=None, rounds=None, offline=False)
        return start_debate(PROBLEM, settings, debate_id=debate_id)

    return run


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("fault", ["500", "429", "503", "malformed", "schema_invalid"])
def test_every_fault_kind_at_10_percent_still_completes_with_every_contribution(
    library, llm_server, fault, seed
):
    llm_server.set(faults={fault: 0.1}, seed=seed, retry_after=0)
    result = library(f"f-{fault}-{seed}")
    assert result.status == "completed", result.message
    record = result.record.dump()
    assert contributions(record) == {"proposal": 3, "critique": 6, "refinement": 3}
    assert record["finalSolution"]["description"]
    # usage counts exactly what the server reported (failed attempts report nothing)
    served = [e for e in llm_server.log if e["status"] == 200]
    assert record["usage"]["total"]["inputTokens"] == sum(e["prompt_tokens"] for e in served)
    assert record["usage"]["total"]["outputTokens"] == sum(e["completion_tokens"] for e in served)


def test_a_permanently_failing_agent_degrades_the_debate(cli, isolated: Path, llm_server):
    llm_server.set(fail_models={"broken-model": 404})  # an unknown model: retrying later will not help
    config(isolated, models={"kiss": "broken-model"})
    result = cli(
        "debate", "-r", "1", "--id", "degraded", "--report", "report.md", PROBLEM, env=env(llm_server)
    )
    assert result.code == 0, result.stderr
    assert "degraded" in result.stderr and "warning" in result.stderr
    record = saved(isolated, "degraded")
    assert record["status"] == "degraded"
    assert {(f["agentId"], f["phase"]) for f in record["failures"]} == {("agent-kiss", "propose")}
    assert "404" in record["failures"][0]["error"] and record["failures"][0]["transient"] is False
    # the two healthy agents debated on: 2 proposals, 2 critiques, 2 refinements
    assert contributions(record) == {"proposal": 2, "critique": 2, "refinement": 2}
    report = (isolated / "report.md").read_text()
    assert "## Failures" in report and "| agent-kiss | propose | 1 | permanent | no |" in report


def test_a_hung_provider_fails_within_timeout_times_attempts(cli, isolated: Path, llm_server):
    llm_server.set(fail_models={"hung-model": "hang"})
    config(isolated, models={"kiss": "hung-model"}, agent_extra={"timeoutSeconds": 1, "maxRetries": 1})
    started = time.monotonic()
    result = cli("debate", "-r", "1", "--id", "hung", PROBLEM, env=env(llm_server), timeout=60)
    elapsed = time.monotonic() - started
    assert result.code == 3, result.stderr  # a timeout may pass: the debate pauses for a resume
    assert saved(isolated, "hung")["status"] == "failed"
    hung = [e for e in llm_server.log if e["model"] == "hung-model"]
    assert len(hung) == 2  # one attempt and one retry, each cut off by the 1 s timeout
    assert elapsed < 30  # 2 x 1 s plus start-up, never the server's hour-long hang


def test_unknown_model_says_what_to_check(cli, isolated: Path, llm_server):
    llm_server.set(models=["gpt-4o-mini"])
    config(isolated, models={role: "gpt-5-turbo-nonexistent" for role in (*ROLES, "judge")})
    result = cli("debate", "-r", "1", "--id", "m404", PROBLEM, env=env(llm_server))
    assert result.code == 3
    assert "model 'gpt-5-turbo-nonexistent' not found at" in result.stderr and "404" in result.stderr
    assert [e["status"] for e in llm_server.log] == [404, 404, 404]  # no retries for a 404


def test_budget_pause_then_resume_with_a_larger_budget(cli, isolated: Path, llm_server):
    config(isolated)
    first = cli(
        "debate",
        "-r",
        "1",
        "--id",
        "budget",
        "--max-tokens",
        "8000",
        "-o",
        "out.json",
        PROBLEM,
        env=env(llm_server),
    )
    assert first.code == 5, first.stderr
    assert "budget reached" in first.stderr and "dialectic resume budget --max-tokens" in first.stderr
    record = saved(isolated, "budget")
    assert record["status"] == "paused" and record["stopReason"] == "budget"
    assert json.loads((isolated / "out.json").read_text()) == record  # -o: where it stands
    made = len(llm_server.log)
    assert 0 < made < CALLS_3_AGENTS_1_ROUND

    again = cli("resume", "budget", env=env(llm_server))  # same budget: still paused, no call made
    assert again.code == 5 and len(llm_server.log) == made

    done = cli("resume", "budget", "--max-tokens", "1000000", env=env(llm_server))
    assert done.code == 0, done.stderr
    assert len(llm_server.log) == CALLS_3_AGENTS_1_ROUND
    assert saved(isolated, "budget")["status"] == "completed"


def test_replay_cache_replays_a_debate_without_the_network(cli, isolated: Path, llm_server):
    config(isolated)
    first = cli(
        "debate", "-r", "1", "--id", "record", "--cache", "replay.sqlite", PROBLEM, env=env(llm_server)
    )
    assert first.code == 0, first.stderr
    assert len(llm_server.log) == CALLS_3_AGENTS_1_ROUND
    recorded = saved(isolated, "record")

    llm_server.set(fail_models={"gpt-4o-mini": 500})  # the network is gone: only the cache can answer
    second = cli(
        "debate", "-v", "-r", "1", "--id", "replay", "--cache", "replay.sqlite", PROBLEM, env=env(llm_server)
    )
    assert second.code == 0, second.stderr
    replayed_note = f"{CALLS_3_AGENTS_1_ROUND} calls ({CALLS_3_AGENTS_1_ROUND} replayed from --cache)"
    assert replayed_note in second.stderr  # -v's totals
    assert replayed_note in cli("show", "replay", env=env(llm_server)).stdout
    report = cli("report", "-d", "debates/replay.json", "-o", "replay.md", env=env(llm_server))
    assert (
        report.code == 0
        and f"| {CALLS_3_AGENTS_1_ROUND} ({CALLS_3_AGENTS_1_ROUND} replayed from --cache) |"
        in (isolated / "replay.md").read_text()
    )
    assert "Warning" not in second.stderr  # LangChain's "loads is in beta", once per hit
    assert len(llm_server.log) == CALLS_3_AGENTS_1_ROUND  # no request reached the server
    replayed = saved(isolated, "replay")
    assert replayed["finalSolution"]["description"] == recorded["finalSolution"]["description"]
    total = replayed["usage"]["total"]
    assert total["cachedCalls"] == total["calls"] == CALLS_3_AGENTS_1_ROUND
    assert total["costUsd"] == 0
    assert total["inputTokens"] == recorded["usage"]["total"]["inputTokens"]


def test_requests_per_second_limit_is_shared_by_all_agents_of_a_provider(library, llm_server):
    result = library("rps", requestsPerSecond={"openai": 8})
    assert result.status == "completed"
    starts = sorted(e["started"] for e in llm_server.log)
    # 13 requests at 8 per second take at least 12/8 s however many agents send them
    assert starts[-1] - starts[0] >= 12 / 8 * 0.8


def test_a_prompt_over_the_context_length_names_the_agent_and_phase(cli, isolated: Path, llm_server):
    llm_server.set(context_limit_tokens=50)
    config(isolated)
    result = cli("debate", "-r", "1", "--id", "ctx", PROBLEM, env=env(llm_server))
    assert result.code == 3
    assert "(propose, round 1)" in result.stderr and "context length" in result.stderr
    assert "summarization.threshold" in result.stderr
    assert len(llm_server.log) == 3  # a 400 is not retried


def test_an_outage_pauses_the_debate_and_resume_completes_it_whole(cli, isolated: Path, llm_server):
    """The provider answers 8 calls, then hangs: the debate stops at that phase's end (exit 3)
    with everything kept, and once the provider is back a resume retries exactly the failed
    calls: the debate completes whole, no finished call made twice."""
    llm_server.set(fail_next=[None] * 8 + ["hang"] * 500, hang_seconds=60)
    summaries = {"enabled": True, "threshold": 1500, "maxLength": 600}
    config(isolated, agent_extra={"timeoutSeconds": 1, "maxRetries": 1}, rounds=2, summarization=summaries)
    first = cli("debate", "--id", "outage", PROBLEM, env=env(llm_server))
    assert first.code == 3, first.stderr
    assert "failed after retries" in first.stderr and "resume with: dialectic resume outage" in first.stderr
    paused = saved(isolated, "outage")
    assert paused["status"] == "failed"
    assert paused["failures"] and all(f["transient"] and not f["recovered"] for f in paused["failures"])
    assert len([e for e in llm_server.log if e["status"] == 200]) == 8
    shown = cli("show", "outage", "--json").json()
    assert shown["pending"][0]["kind"] == "provider_failure" and shown["pending"][0]["reason"] == "outage"
    assert {f["kind"] for f in shown["failures"]} == {"transient"}

    llm_server.set(fail_next=[])
    done = cli("resume", "outage", env=env(llm_server))
    assert done.code == 0, done.stderr
    record = saved(isolated, "outage")
    assert record["status"] == "completed" and record["finalSolution"]["description"]
    assert all(f["recovered"] for f in record["failures"])
    per_round = [[c["type"] for c in r["contributions"]] for r in record["rounds"]]
    assert [sorted(set(t)) for t in per_round] == [["critique", "proposal", "refinement"]] * 2
    assert [len(t) for t in per_round] == [3 + 6 + 3, 3 + 6 + 3]
    assert record["rounds"][1]["summaries"]  # the summaries made during the outage's round are there
    # Every call that got an answer is in the debate once: none was made again after the resume.
    answered = [e for e in llm_server.log if e["status"] == 200]
    assert len(answered) == record["usage"]["total"]["calls"]
