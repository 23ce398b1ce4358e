"""Cached prompt tokens end to end: the installed ``dialectic`` command against the test server
with its prompt cache on, through langchain-openai. What the server reported as
``prompt_tokens_details.cached_tokens`` is what the debate records, prices, reports and shows."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dialectic.providers.pricing import table_cost

PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second, and links must never collide."
MODEL = "gpt-4o-mini"  # priced by the table: OPENAI_BASE_URL moves the endpoint, not the price


def member(agent_id: str, role: str) -> dict[str, Any]:
    return {"id": agent_id, "name": agent_id.title(), "role": role, "model": MODEL, "provider": "openai"}


def write_config(folder: Path) -> None:
    config = {
        "agents": [member("agent-architect", "architect"), member("agent-security", "security")],
        "judge": member("judge-main", "generalist"),
        "debate": {
            "rounds": 2,
            "terminationCondition": {"type": "fixed"},
            "summarization": {"enabled": False},
        },
    }
    (folder / "debate-config.json").write_text(json.dumps(config))


def test_cached_prompt_tokens_are_recorded_priced_and_shown(
    cli: Callable[..., Any], isolated: Path, llm_server: Any
) -> None:
    llm_server.set(api_key="test-key", prompt_cache=True)
    write_config(isolated)
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm_server.url}
    result = cli("debate", "-v", "--id", "cache-hits", "--report", "report.md", PROBLEM, env=env)
    assert result.code == 0, result.stderr

    log = llm_server.log
    assert {e["status"] for e in log} == {200}
    served = sum(e["cached_tokens"] for e in log)
    assert served > 0  # calls of the debate repeat earlier prompts' prefixes
    assert any(e["cached_tokens"] == 0 for e in log)  # the first call had nothing to hit

    usage = json.loads((isolated / "debates" / "cache-hits.json").read_text())["usage"]
    total = usage["total"]
    assert total["calls"] == len(log)
    assert total["cachedInputTokens"] == served
    assert total["inputTokens"] == sum(e["prompt_tokens"] for e in log)
    for scope in ("byAgent", "byPhase", "byRound"):
        assert sum(bucket["cachedInputTokens"] for bucket in usage[scope].values()) == served, scope
    assert usage["byAgent"]["judge-main"]["cachedInputTokens"] == sum(
        e["cached_tokens"] for e in log if e["kind"] == "json_schema"
    )

    # priced at the cache rate, call by call: cheaper than the same tokens at the input rate
    def cost(cached: bool) -> float:
        return sum(
            table_cost(
                MODEL,
                "openai",
                e["prompt_tokens"],
                e["completion_tokens"],
                e["cached_tokens"] if cached else 0,
            )
            or 0.0
            for e in log
        )

    assert total["costUsd"] == pytest.approx(cost(cached=True))
    assert total["costUsd"] < cost(cached=False)

    # shown: the -v totals, the Markdown report and `dialectic show`
    note = f"({served:,} cached)"
    totals = [line for line in result.stderr.splitlines() if line.startswith("totals:")]
    assert len(totals) == 1 and f"{total['inputTokens']:,} input {note} + " in totals[0]
    report = (isolated / "report.md").read_text()
    assert re.search(
        rf"\| \*\*Total\*\* \| {len(log)} \| {total['inputTokens']} \({served} cached\) \|", report
    )
    shown = cli("show", "cache-hits", env=env)
    assert shown.code == 0, shown.stderr
    assert f"{total['inputTokens']:,} input {note} + " in shown.stdout
