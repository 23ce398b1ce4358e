"""Anthropic's prompt cache end to end over real HTTP: the real ``langchain_anthropic.ChatAnthropic``
(and the ``anthropic`` client under it), built by Dialectic's factory, against a loopback Messages
API (tests/http/anthropic_server.py) that, like Anthropic's, caches only prefixes a request marks
with ``cache_control``. A whole debate marks the end of its system prompt and of the shared part
of each user message (problem, perspective, history and the phase's fixed instructions), so the
calls after the first of each agent are served from the cache; the tokens read from and written
to the cache are recorded per call and priced at genai-prices' cache rates."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_anthropic")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anthropic_server import AnthropicServer
from conftest import load_server_module

PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second, and links must never collide."
MODEL = "claude-sonnet-4-5"
ROLES = ("architect", "security", "kiss")


def reply(body: dict[str, Any], prompt: str) -> str:
    """A design in prose with the ledger block the prompt asks for; for a structured call, JSON
    valid against its schema (the test server's generators)."""
    stub = load_server_module()
    rng = random.Random(len(prompt))
    output = (body.get("output_config") or {}).get("format") or {}
    if output.get("type") == "json_schema":
        return json.dumps(stub.instance_from_schema(output["schema"], rng))
    return "## Design\n\nA key-value store behind a stateless service.\n" + stub.ledger_block(prompt, rng)


@pytest.fixture
def anthropic_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[AnthropicServer]:
    server = AnthropicServer(reply)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    yield server
    server.stop()


def agent(agent_id: str, role: str) -> dict[str, Any]:
    return {"id": agent_id, "name": agent_id, "role": role, "model": MODEL, "provider": "anthropic"}


def marked(block: dict[str, Any]) -> bool:
    return block.get("cache_control") == {"type": "ephemeral"}


def test_a_debate_marks_its_shared_prefixes_and_prices_cache_reads_and_writes(anthropic_api):
    from dialectic.providers.pricing import table_cost
    from dialectic.runner.inputs import prepare_settings
    from dialectic.runner.run import start_debate

    document = {
        "agents": [agent(f"agent-{role}", role) for role in ROLES],
        "judge": agent("judge-main", "generalist"),
        "debate": {"rounds": 1, "summarization": {"enabled": False}},
    }
    Path("debate-config.json").write_text(json.dumps(document))
    settings, _ = prepare_settings(None, roles=None, rounds=None, offline=False)
    result = start_debate(PROBLEM, settings, debate_id="anthropic-cache")
    assert result.status == "completed", result.message

    bodies = anthropic_api.bodies
    assert len(bodies) == 13  # 3 proposals, 6 critiques, 3 refinements, 1 synthesis
    for body in bodies:
        # the system prompt, the same for every call, is one marked block
        assert [marked(b) for b in body["system"]] == [True]
        first, *rest = body["messages"][0]["content"]
        assert marked(first) and not any(marked(b) for b in rest)
        assert first["text"].startswith("## Problem")
    critiques = [b["messages"][0]["content"] for b in bodies if "## Proposal by" in json.dumps(b)]
    assert len(critiques) == 6
    for shared, tail in critiques:
        # the critic's shared part ends with its fixed instructions; the target's design follows
        assert "## Your task" in shared["text"] and "## Proposal by" not in shared["text"]
        assert tail["text"].lstrip().startswith("## Proposal by")

    usages = anthropic_api.usages
    # each critic's second critique reads what its first wrote: at least the shared part
    assert sum(1 for u in usages if u["cache_read_input_tokens"] > 0) >= 3 + 6
    record = result.record.dump()
    total = record["usage"]["total"]
    read = sum(u["cache_read_input_tokens"] for u in usages)
    written = sum(u["cache_creation_input_tokens"] for u in usages)
    assert total["cachedInputTokens"] == read > 0
    assert total["cacheWriteInputTokens"] == written > 0
    # LangChain's input tokens (and ours) count every prompt token, cached or written or not
    assert total["inputTokens"] == sum(
        u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"] for u in usages
    )
    priced = [
        table_cost(
            MODEL,
            "anthropic",
            u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"],
            u["output_tokens"],
            u["cache_read_input_tokens"],
            u["cache_creation_input_tokens"],
        )
        for u in usages
    ]
    assert total["costUsd"] == pytest.approx(sum(p or 0.0 for p in priced))
    uncached = sum(
        table_cost(
            MODEL,
            "anthropic",
            u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"],
            u["output_tokens"],
        )
        or 0.0
        for u in usages
    )
    assert total["costUsd"] != pytest.approx(uncached)  # reads cost a tenth, writes a quarter more


def test_providers_that_cache_any_prefix_get_plain_messages():
    from dialectic.nodes.llm import messages_for

    system, user = messages_for("You review designs.", "## Problem\n\nX\n\n## Proposal by B\n\nY")
    assert system.content == "You review designs." and isinstance(user.content, str)


def test_a_prompt_without_shared_material_is_one_block_with_no_empty_mark():
    from dialectic.nodes.llm import messages_for

    _, user = messages_for("You review designs.", "Only call-specific text.", shared=0)
    assert user.content == [{"type": "text", "text": "Only call-specific text."}]


def test_a_tool_loop_marks_its_last_tool_result_and_the_anthropic_client_sends_the_mark():
    from langchain_anthropic import ChatAnthropic
    from langchain_core.messages import AIMessage, ToolMessage

    from dialectic.nodes.llm import marked_last, messages_for

    turn = [
        AIMessage(content="", tool_calls=[{"id": "t1", "name": "file_read", "args": {"path": "a.md"}}]),
        ToolMessage(content='{"status": "success", "content": "A"}', tool_call_id="t1", name="file_read"),
    ]
    messages = [*messages_for("SYSTEM", "SHARED PART, then the call's own", shared=12), *turn]
    payload = ChatAnthropic(model=MODEL, api_key="test-key")._get_request_payload(marked_last(messages))
    [result] = payload["messages"][-1]["content"]
    assert result["type"] == "tool_result" and marked(result)
    assert [marked(block) for block in payload["messages"][0]["content"]] == [True, False]
    # Where a tool result cannot carry a mark (langchain-openai strips it), the user's message does.
    other = marked_last(messages, tool_results=False)
    assert [marked(block) for block in other[1].content] == [True, True] and other[2:] == turn
    assert marked_last([messages[0], messages[1].model_copy(update={"content": ""})]) == [
        messages[0],
        messages[1].model_copy(update={"content": ""}),
    ]


def test_a_tool_loops_answer_to_anthropic_still_offers_the_tools_the_model_may_not_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Anthropic refuses a request that replays tool_use/tool_result blocks without offering tools:
    # the answer after the tool turns (spent, or a ledger repair) offers them with tool_choice none.
    from langchain_anthropic import ChatAnthropic
    from langchain_core.tools import tool
    from langgraph.runtime import Runtime

    from dialectic.configs.loader import validate_config
    from dialectic.configs.settings import resolve_settings
    from dialectic.debate.context import DebateContext
    from dialectic.debate.phases import CRITIQUE
    from dialectic.debate.state import CallUsage, ToolCallRecord, ToolStep
    from dialectic.nodes import agent_call, llm

    @tool
    def file_read(path: str) -> str:
        """Read a file."""
        return path

    document = {
        "agents": [agent("a1", "architect"), agent("a2", "kiss")],
        "judge": agent("judge", "generalist"),
    }
    settings, _ = resolve_settings(validate_config(document, "test"), None, offline=False)
    monkeypatch.setattr(DebateContext, "tools_for", lambda self, agent_id: [file_read])
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
    seen: dict[str, Any] = {}

    def complete(model: Any, member: Any, call: Any, messages: Any, **kwargs: Any) -> Any:
        seen.update(kwargs, messages=messages)
        usage = CallUsage(
            agent_id=call.agent_id,
            phase=call.phase,
            round=call.round,
            model=MODEL,
            provider="anthropic",
            input_tokens=1,
            output_tokens=1,
            latency_ms=0,
        )
        return llm.Reply("done", usage)

    monkeypatch.setattr(llm, "complete", complete)
    step = ToolStep(
        kind="critique",
        agent_id="a1",
        target_agent_id="a2",
        round=1,
        turn=1,
        calls=(ToolCallRecord(id="t1", name="file_read", arguments='{"path": "a.md"}', result="A"),),
        answered=True,
    )
    runtime = Runtime(context=DebateContext(settings), stream_writer=lambda _: None)
    agent_call.ask(
        runtime, CRITIQUE, "a1", 1, "Critique a2.", target="a2", turns=[step], closing="Answer now."
    )
    assert [t.name for t in seen["tools"]] == ["file_read"] and seen["tool_choice"] == {"type": "none"}
    # nothing marked past the shared prefix: no turn follows an answer
    assert "cache_control" not in json.dumps([m.content for m in seen["messages"][2:]])
    model = ChatAnthropic(model=MODEL, api_key="test-key").bind_tools(
        seen["tools"], tool_choice=seen["tool_choice"]
    )
    payload = model.bound._get_request_payload(seen["messages"], **model.kwargs)  # type: ignore[attr-defined]
    assert payload["tools"][0]["name"] == "file_read" and payload["tool_choice"] == {"type": "none"}
    assert any(
        block.get("type") == "tool_result"
        for m in payload["messages"]
        for block in m["content"]
        if isinstance(block, dict)
    )
