"""Prompt tokens a provider's prompt cache served: read from the reply (through the installed
langchain-openai), priced at genai-prices' cache rate, summed in usage and shown in the report.

Replies come from an ``httpx.MockTransport`` inside the real ChatOpenAI client: the provider's
JSON is parsed as in production, with no socket."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from dialectic.configs.schema import AgentConfig
from dialectic.debate.state import CallUsage
from dialectic.nodes import llm
from dialectic.providers.pricing import call_cost, table_cost
from dialectic.report.markdown import render_report
from dialectic.transcript.schema import DebateRecord
from dialectic.transcript.usage import cached_input_note, summarize_usage

CALL = llm.Call(agent_id="a1", phase="critique", round=2)


def member(**overrides: Any) -> AgentConfig:
    base = {"id": "a1", "name": "A1", "role": "security", "model": "gpt-4o-mini", "provider": "openai"}
    return AgentConfig.model_validate({**base, **overrides})


def chat_reply(content: str, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
        "usage": usage,
    }


def openai_usage(prompt: int, completion: int, cached: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def model_replying(*replies: dict[str, Any]) -> ChatOpenAI:
    """A real ChatOpenAI whose HTTP replies are ``replies``, in order."""
    queue = list(replies)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=queue.pop(0))

    client = httpx.Client(transport=httpx.MockTransport(answer))
    return ChatOpenAI(
        model="gpt-4o-mini",
        api_key="test",
        base_url="http://127.0.0.1:9/v1",
        http_client=client,
        max_retries=0,
    )


# --- extraction -------------------------------------------------------------------------------


def test_openai_cached_tokens_are_recorded_and_make_the_call_cheaper() -> None:
    model = model_replying(
        chat_reply("a design", openai_usage(1000, 100, 800)),
        chat_reply("a design", openai_usage(1000, 100, 0)),
    )
    messages = llm.messages_for("system", "user")
    hit = llm.complete(model, member(), CALL, messages).usage
    miss = llm.complete(model, member(), CALL, messages).usage
    assert (hit.input_tokens, hit.cached_input_tokens, hit.output_tokens) == (1000, 800, 100)
    assert miss.cached_input_tokens == 0
    assert not hit.cached  # our own response cache played no part
    assert hit.cost_usd is not None and miss.cost_usd is not None
    assert hit.cost_usd < miss.cost_usd


class Verdict(BaseModel):
    verdict: str


def test_a_repaired_structured_call_sums_the_cached_tokens_of_both_replies() -> None:
    model = model_replying(
        chat_reply("not json", openai_usage(500, 10, 256)),
        chat_reply(json.dumps({"verdict": "ok"}), openai_usage(600, 12, 512)),
    )
    parsed, usage = llm.complete_structured(model, member(), CALL, llm.messages_for("s", "u"), Verdict)
    assert parsed.verdict == "ok"
    assert (usage.input_tokens, usage.cached_input_tokens) == (1100, 768)


def test_deepseek_cache_hits_are_read_from_its_own_usage_field() -> None:
    """DeepSeek reports ``prompt_cache_hit_tokens``, which LangChain does not map."""
    usage = {
        "prompt_tokens": 900,
        "completion_tokens": 9,
        "total_tokens": 909,
        "prompt_cache_hit_tokens": 640,
    }
    model = model_replying(chat_reply("a design", usage))
    reply = llm.complete(
        model, member(baseUrl="https://api.deepseek.com/v1"), CALL, llm.messages_for("s", "u")
    )
    assert reply.usage.cached_input_tokens == 640


def test_langchain_cache_read_of_any_provider_counts() -> None:
    """What langchain-anthropic makes of ``cache_read_input_tokens``: LangChain's common field."""
    message = AIMessage(
        content="x",
        usage_metadata={
            "input_tokens": 300,
            "output_tokens": 5,
            "total_tokens": 305,
            "input_token_details": {"cache_read": 200, "cache_creation": 50},
        },
    )
    assert llm.prompt_cache_hits(message) == 200
    assert llm.prompt_cache_hits(AIMessage(content="x")) == 0


def test_a_call_recorded_before_the_field_existed_loads_with_none_cached() -> None:
    old = {
        "agent_id": "a1",
        "phase": "propose",
        "round": 1,
        "model": "m",
        "provider": "openai",
        "input_tokens": 10,
        "output_tokens": 2,
        "latency_ms": 1,
    }
    assert CallUsage.model_validate(old).cached_input_tokens == 0


# --- pricing ----------------------------------------------------------------------------------


def test_gpt_4o_mini_bills_cached_tokens_below_the_input_rate() -> None:
    # genai-prices 0.2.3: $0.15 per million input tokens, $0.075 cached, $0.60 output
    input_rate = call_cost(member(), 1_000_000, 0)
    cache_rate = call_cost(member(), 1_000_000, 0, cached_input_tokens=1_000_000)
    output_rate = call_cost(member(), 0, 1_000_000)
    assert input_rate is not None and cache_rate is not None and output_rate is not None
    assert 0 < cache_rate < input_rate
    mixed = call_cost(member(), 1_000_000, 1_000_000, cached_input_tokens=400_000)
    assert mixed == pytest.approx(0.6 * input_rate + 0.4 * cache_rate + output_rate)


def test_an_unknown_price_stays_unknown_with_cached_tokens() -> None:
    assert call_cost(member(model="no-such-model-xyz"), 100, 10, cached_input_tokens=50) is None
    assert call_cost(member(baseUrl="http://127.0.0.1:9/v1"), 100, 10, cached_input_tokens=50) is None


def test_a_configs_own_price_has_no_cache_rate_so_it_never_understates() -> None:
    priced = member(price={"inputPerMillion": 1.0, "outputPerMillion": 2.0})
    assert call_cost(priced, 1_000_000, 0, cached_input_tokens=900_000) == pytest.approx(1.0)


def test_more_cached_than_input_tokens_is_priced_not_refused() -> None:
    assert table_cost("gpt-4o-mini", "openai", 100, 0, cached_input_tokens=500) == pytest.approx(
        table_cost("gpt-4o-mini", "openai", 100, 0, cached_input_tokens=100)
    )


# --- usage and report -------------------------------------------------------------------------


def call(agent: str, phase: str, input_tokens: int, cached: int) -> CallUsage:
    return CallUsage(
        agent_id=agent,
        phase=phase,
        round=1,
        model="gpt-4o-mini",
        provider="openai",
        input_tokens=input_tokens,
        output_tokens=1,
        cached_input_tokens=cached,
        latency_ms=1,
    )


def test_usage_sums_cached_input_tokens_per_agent_phase_and_round() -> None:
    summary = summarize_usage(
        [call("a1", "propose", 100, 0), call("a2", "propose", 100, 0), call("a1", "critique", 300, 256)]
    )
    assert summary["total"]["cachedInputTokens"] == 256
    assert summary["total"]["inputTokens"] == 500
    assert summary["byAgent"]["a1"]["cachedInputTokens"] == 256
    assert summary["byAgent"]["a2"]["cachedInputTokens"] == 0
    assert summary["byPhase"]["critique"]["cachedInputTokens"] == 256
    assert summary["byRound"]["1"]["cachedInputTokens"] == 256


def test_the_report_shows_cached_tokens_beside_the_input_tokens() -> None:
    summary = summarize_usage([call("a1", "propose", 100, 0), call("a1", "critique", 3000, 2048)])
    record = DebateRecord.model_validate(
        {
            "id": "deb-1",
            "problem": "p",
            "status": "completed",
            "createdAt": "2025-01-02T03:04:05Z",
            "rounds": [],
        }
    )
    section = render_report(record.model_copy(update={"usage": summary})).split("## Usage and Cost")[1]
    assert "| **Total** | 2 | 3100 (2048 cached) | 2 |" in section
    assert "| phase propose | 1 | 100 | 1 |" in section  # nothing cached: nothing said


def test_a_hostile_or_old_bucket_shows_no_cached_note() -> None:
    assert cached_input_note({}) == ""
    assert cached_input_note({"cachedInputTokens": "|evil"}) == ""
    assert cached_input_note({"cachedInputTokens": 12345}) == " (12,345 cached)"
