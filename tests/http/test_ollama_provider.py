"""The ``ollama`` provider end to end over real HTTP: the real ``langchain_ollama.ChatOllama`` (and
the ``ollama`` client under it) against the test server's Ollama API (``POST /api/chat``), alone and
through Dialectic: its factory, its call layer (``nodes/llm.py``) and a whole debate.

What the client sends (langchain-ollama 1.1, ollama 0.6): every call is ``POST /api/chat`` with
``"stream": true`` (``invoke`` too: ChatOllama aggregates the stream), ``options`` holding only
the settings given (``temperature``...), ``"tools": []`` when none are bound, ``format`` the JSON
schema itself for ``with_structured_output(method="json_schema")``; assistant tool calls carry no
id and object ``arguments``; tool results carry no ``tool_call_id``; empty ``content`` is left out.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_ollama import ChatOllama
from pydantic import BaseModel, Field

PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second, and links must never collide."
USER = f"## Problem\n\n{PROBLEM}\n\n## Your task\n\nPropose a design."
MESSAGES = [
    SystemMessage("You are the System Architect on a design panel."),
    HumanMessage(USER),
]
MODEL = "llama3.2"
ROLES = ("architect", "security", "kiss")
# 3 agents, 1 round, no summaries: 3 proposals + 6 critiques + 3 refinements + 1 synthesis
CALLS_3_AGENTS_1_ROUND = 13


class Verdict(BaseModel):
    summary: str
    confidence: int = Field(ge=0, le=100)
    risks: list[str]


@pytest.fixture(autouse=True)
def no_ollama_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ollama client reads OLLAMA_HOST and OLLAMA_API_KEY itself: none may leak in."""
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)


def chat(server, **kwargs: Any) -> ChatOllama:
    return ChatOllama(
        model=kwargs.pop("model", MODEL),
        base_url=server.root_url,
        client_kwargs={"timeout": kwargs.pop("timeout", 10)},
        **kwargs,
    )


def quotes_the_problem(text: str) -> bool:
    return any(f"> {sentence.rstrip('.')}" in text for sentence in PROBLEM.split(". "))


def expected_prompt_tokens(*contents: str) -> int:
    return math.ceil(sum(len(c) for c in contents) / 4)


# --------------------------------------------------------------------------------------------
# The wire format, without the client
# --------------------------------------------------------------------------------------------


def test_api_chat_streams_ndjson_ending_with_done_and_the_counts(llm_server):
    body = {"model": MODEL, "messages": [{"role": "user", "content": USER}], "stream": True}
    with httpx.stream("POST", f"{llm_server.root_url}/api/chat", json=body, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response.iter_lines()]
    *parts, last = lines
    assert len(parts) > 1 and all(part["done"] is False for part in parts)
    assert all(part["message"]["role"] == "assistant" and part["model"] == MODEL for part in parts)
    assert last["done"] is True and last["done_reason"] == "stop" and last["message"]["content"] == ""
    text = "".join(part["message"]["content"] for part in parts)
    assert quotes_the_problem(text)
    assert last["prompt_eval_count"] == expected_prompt_tokens(USER)
    assert last["eval_count"] == math.ceil(len(text) / 4)
    assert last["created_at"].endswith("Z") and last["total_duration"] > 0

    response = httpx.post(f"{llm_server.root_url}/api/chat", json={**body, "stream": False}, timeout=10)
    whole = response.json()
    assert whole["done"] is True and whole["message"]["content"] == text  # same request, same reply
    assert (whole["prompt_eval_count"], whole["eval_count"]) == (
        last["prompt_eval_count"],
        last["eval_count"],
    )
    [streamed, plain] = llm_server.log
    assert streamed["api"] == plain["api"] == "ollama" and streamed["path"] == "/api/chat"
    assert (streamed["stream"], plain["stream"]) == (True, False)
    assert streamed["usage_reported"] and streamed["prompt_tokens"] == last["prompt_eval_count"]


def test_ollama_errors_are_an_error_string(llm_server):
    root = llm_server.root_url
    assert httpx.post(f"{root}/api/chat", json={"messages": []}).json() == {"error": "model is required"}
    bad_format = httpx.post(f"{root}/api/chat", json={"model": MODEL, "messages": [], "format": "yaml"})
    assert bad_format.status_code == 400 and "invalid format" in bad_format.json()["error"]
    llm_server.set(models=["llama3.2:latest"])
    missing = httpx.post(f"{root}/api/chat", json={"model": "mistral", "messages": []})
    assert missing.status_code == 404
    assert missing.json() == {"error": 'model "mistral" not found, try pulling it first'}
    assert httpx.get(f"{root}/api/nothing").json() == {"error": "404 page not found"}
    assert [e["error"] for e in llm_server.log] == [
        "invalid_body",
        "invalid_format",
        "model_not_found",
        "unknown_url",
    ]
    assert {e["api"] for e in llm_server.log} == {"ollama"}
    httpx.get(f"{llm_server.url}/models")
    assert llm_server.log[-1]["api"] == "openai"


# --------------------------------------------------------------------------------------------
# The real ChatOllama
# --------------------------------------------------------------------------------------------


def test_plain_text_with_usage_mapped_to_usage_metadata(llm_server):
    llm_server.set(record_bodies=True)
    reply = chat(llm_server, temperature=0.2).invoke(MESSAGES)
    assert "## Summary" in reply.content and quotes_the_problem(reply.content)
    [entry] = llm_server.log
    assert entry["api"] == "ollama" and entry["kind"] == "text" and entry["stream"] is True
    prompt = expected_prompt_tokens(*(m.content for m in MESSAGES))
    assert entry["prompt_tokens"] == prompt
    assert entry["completion_tokens"] == math.ceil(len(reply.content) / 4)
    assert reply.usage_metadata == {
        "input_tokens": prompt,
        "output_tokens": entry["completion_tokens"],
        "total_tokens": entry["total_tokens"],
    }
    assert reply.response_metadata["done_reason"] == "stop"
    assert reply.response_metadata["model_name"] == MODEL
    # what ChatOllama sent: a stream, even for invoke; only the options it was given; no tools
    assert entry["body"] == {
        "model": MODEL,
        "stream": True,
        "options": {"temperature": 0.2},
        "messages": [{"role": "system", "content": MESSAGES[0].content}, {"role": "user", "content": USER}],
        "tools": [],
    }


def test_streamed_chunks_add_up_to_the_unstreamed_reply(llm_server):
    model = chat(llm_server)
    chunks = list(model.stream(MESSAGES))
    assert len(chunks) > 2
    text = "".join(chunk.content for chunk in chunks)
    assert [c.usage_metadata for c in chunks if c.usage_metadata] == [
        {
            "input_tokens": llm_server.log[0]["prompt_tokens"],
            "output_tokens": llm_server.log[0]["completion_tokens"],
            "total_tokens": llm_server.log[0]["total_tokens"],
        }
    ]
    unstreamed = model.invoke(MESSAGES, stream=False)
    assert unstreamed.content == text
    assert [e["stream"] for e in llm_server.log] == [True, False]


def test_num_predict_cuts_the_reply_with_done_reason_length(llm_server):
    reply = chat(llm_server, num_predict=20).invoke(MESSAGES)
    assert len(reply.content) == 80 and reply.response_metadata["done_reason"] == "length"
    assert reply.usage_metadata["output_tokens"] == 20


def test_structured_output_with_a_json_schema(llm_server, llm_server_module):
    llm_server.set(record_bodies=True)
    schema = Verdict.model_json_schema()
    runnable = chat(llm_server).with_structured_output(schema, include_raw=True, method="json_schema")
    for question in ("Judge the design.", "Judge it again, more strictly."):
        result = runnable.invoke([HumanMessage(question)])
        assert result["parsing_error"] is None
        assert llm_server_module.validate(result["parsed"], schema) == []
        Verdict.model_validate(result["parsed"])
        assert result["raw"].usage_metadata["output_tokens"] == llm_server.log[-1]["completion_tokens"] > 0
    assert [e["kind"] for e in llm_server.log] == ["json_schema", "json_schema"]
    assert llm_server.log[0]["body"]["format"] == schema  # the schema itself, not OpenAI's envelope


def test_json_mode(llm_server):
    reply = chat(llm_server, format="json").invoke(MESSAGES)
    assert isinstance(json.loads(reply.content), dict)
    assert llm_server.log[0]["kind"] == "json_object"


def test_schema_invalid_fault_gives_json_that_breaks_the_schema(llm_server, llm_server_module):
    llm_server.set(fail_next=["schema_invalid"])
    schema = Verdict.model_json_schema()
    runnable = chat(llm_server).with_structured_output(schema, include_raw=True, method="json_schema")
    result = runnable.invoke([HumanMessage("Judge the design.")])
    assert llm_server_module.validate(json.loads(result["raw"].content), schema) != []
    assert llm_server.log[0]["fault"] == "schema_invalid" and llm_server.log[0]["fault_detail"]


@tool
def list_files(path: str) -> str:
    """List the files under a path of the repository."""
    return json.dumps({"status": "success", "result": {"entries": ["README.md", "src/app.py"]}})


def test_a_tool_loop_without_call_ids(llm_server):
    llm_server.set(tool_turns=1, record_bodies=True)
    model = chat(llm_server).bind_tools([list_files])
    messages: list[Any] = list(MESSAGES)
    first = model.invoke(messages)
    [call] = first.tool_calls
    assert (call["name"], call["args"]) == ("list_files", {"path": "."})
    messages += [first, ToolMessage(list_files.invoke(call["args"]), tool_call_id=call["id"])]
    final = model.invoke(messages)
    assert not final.tool_calls
    assert "## Evidence" in final.content and "`README.md`" in final.content
    first_entry, second_entry = llm_server.log
    assert (first_entry["kind"], first_entry["tools_called"]) == ("tool_calls", ["list_files"])
    assert (second_entry["kind"], second_entry["tool_results"]) == ("text", 1)
    # Ollama's messages: the call has no id and object arguments, the result no tool_call_id
    sent = second_entry["body"]["messages"]
    assert sent[2] == {
        "role": "assistant",
        "tool_calls": [{"function": {"name": "list_files", "arguments": {"path": "."}}}],
    }
    assert sent[3] == {"role": "tool", "content": list_files.invoke(call["args"])}
    assert second_entry["body"]["tools"][0]["function"]["name"] == "list_files"


def test_validate_model_on_init_lists_the_served_models(llm_server):
    llm_server.set(models=["llama3.2:latest"])
    chat(llm_server, validate_model_on_init=True)  # "llama3.2" is "llama3.2:latest"
    with pytest.raises(ValueError, match="Model `mistral` not found in Ollama"):
        chat(llm_server, model="mistral", validate_model_on_init=True)
    assert [(e["method"], e["path"], e["api"]) for e in llm_server.log] == [
        ("GET", "/api/tags", "ollama")
    ] * 2


# --------------------------------------------------------------------------------------------
# Failures: what the ollama client raises, and how Dialectic classifies it
# --------------------------------------------------------------------------------------------


def test_a_500_is_an_ollama_response_error_dialectic_retries(llm_server):
    from dialectic.nodes.llm import is_transient

    llm_server.set(fail_next=["500"])
    with pytest.raises(ollama.ResponseError) as caught:
        chat(llm_server).invoke(MESSAGES)
    assert caught.value.status_code == 500
    assert caught.value.error == "llama runner process has terminated (simulated)"
    assert is_transient(caught.value)
    assert llm_server.log[0]["status"] == 500 and llm_server.log[0]["fault"] == "500"
    assert chat(llm_server).invoke(MESSAGES).content  # the next call is served


@pytest.mark.parametrize("fault", ["429", "503"])
def test_429_and_503_are_transient_response_errors(llm_server, fault):
    from dialectic.nodes.llm import is_transient

    llm_server.set(fail_next=[fault])
    with pytest.raises(ollama.ResponseError) as caught:
        chat(llm_server).invoke(MESSAGES)
    assert caught.value.status_code == int(fault) and is_transient(caught.value)


@pytest.mark.xfail(
    strict=True,
    reason="ollama.ResponseError keeps only the body text and status code (raised `from None`), so "
    "nodes/llm.retry_after_seconds cannot see a Retry-After header",
)
def test_retry_after_of_a_429_reaches_dialectic(llm_server):
    from dialectic.nodes.llm import retry_after_seconds

    llm_server.set(fail_next=["429"], retry_after=2)
    with pytest.raises(ollama.ResponseError) as caught:
        chat(llm_server).invoke(MESSAGES)
    assert retry_after_seconds(caught.value) == 2


@pytest.mark.parametrize("stream", [True, False])
def test_a_malformed_reply_is_a_transient_json_decode_error(llm_server, stream):
    from dialectic.nodes.llm import is_transient

    llm_server.set(fail_next=["malformed"])
    with pytest.raises(json.JSONDecodeError) as caught:
        chat(llm_server).invoke(MESSAGES, stream=stream)
    assert is_transient(caught.value)
    assert llm_server.log[0]["fault"] == "malformed" and not llm_server.log[0]["usage_reported"]


def test_a_hang_is_cut_by_the_client_timeout(llm_server):
    from dialectic.nodes.llm import is_transient

    llm_server.set(fail_next=["hang"], hang_seconds=30)
    with pytest.raises(httpx.ReadTimeout) as caught:
        chat(llm_server, timeout=0.3).invoke(MESSAGES)
    assert is_transient(caught.value)  # httpx's own exception: the ollama client does not wrap it


def test_the_servers_settings_apply_to_the_ollama_api(llm_server, monkeypatch: pytest.MonkeyPatch):
    from dialectic.nodes.llm import is_transient

    llm_server.set(latency_ms=150)
    chat(llm_server).invoke(MESSAGES)
    assert llm_server.log[-1]["duration_ms"] >= 150

    llm_server.set(latency_ms=0, fail_models={"broken": 503})
    with pytest.raises(ollama.ResponseError) as caught:
        chat(llm_server, model="broken").invoke(MESSAGES)
    assert caught.value.status_code == 503 and "server busy" in caught.value.error

    llm_server.set(context_limit_tokens=5)
    with pytest.raises(ollama.ResponseError) as caught:
        chat(llm_server).invoke(MESSAGES)
    assert caught.value.status_code == 400 and "context length" in caught.value.error
    assert not is_transient(caught.value)

    llm_server.set(context_limit_tokens=None, api_key="local-key")
    with pytest.raises(ollama.ResponseError) as caught:
        chat(llm_server).invoke(MESSAGES)
    assert (caught.value.status_code, caught.value.error) == (401, "unauthorized")
    monkeypatch.setenv("OLLAMA_API_KEY", "local-key")  # the ollama client sends it as a Bearer key
    assert chat(llm_server).invoke(MESSAGES).content
    assert [e["status"] for e in llm_server.log] == [200, 503, 400, 401, 200]
    assert [e["error"] for e in llm_server.log[1:4]] == [
        "overloaded",
        "context_length_exceeded",
        "invalid_api_key",
    ]


def test_hold_counts_concurrent_ollama_calls(llm_server):
    model = chat(llm_server)
    llm_server.hold()
    threads = [threading.Thread(target=model.invoke, args=(MESSAGES,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        assert llm_server.wait_for(lambda log: len(log) == 3)
        assert llm_server.in_flight() == 3
    finally:
        llm_server.release()
        for thread in threads:
            thread.join(10)
    assert llm_server.max_in_flight() == 3 and [e["status"] for e in llm_server.log] == [200] * 3


def unreachable() -> ChatOllama:
    return ChatOllama(model=MODEL, base_url="http://127.0.0.1:9", client_kwargs={"timeout": 2})


def test_an_unreachable_server_unstreamed_is_a_transient_builtin_connection_error():
    from dialectic.nodes.llm import is_transient

    with pytest.raises(ConnectionError) as caught:  # the ollama client turns httpx's into the builtin
        unreachable().invoke("hi", stream=False)
    assert is_transient(caught.value)


def test_an_unreachable_server_streamed_is_transient():
    from dialectic.nodes.llm import is_transient

    with pytest.raises(httpx.ConnectError) as caught:
        unreachable().invoke("hi")
    assert is_transient(caught.value)


# --------------------------------------------------------------------------------------------
# Through Dialectic
# --------------------------------------------------------------------------------------------


def ollama_agent(server, agent_id: str = "agent-architect", role: str = "architect", **extra: Any) -> dict:
    return {
        "id": agent_id,
        "name": agent_id.title(),
        "role": role,
        "model": MODEL,
        "provider": "ollama",
        "baseUrl": server.root_url,
        **extra,
    }


def test_build_chat_model_points_chat_ollama_at_the_server_with_the_agents_timeout(llm_server):
    from dialectic.configs.schema import AgentConfig
    from dialectic.providers.factory import build_chat_model

    agent = AgentConfig(**ollama_agent(llm_server, timeoutSeconds=7, temperature=0.4))
    model = build_chat_model(agent, env={})
    assert isinstance(model, ChatOllama)
    assert (model.model, model.base_url, model.temperature) == (MODEL, llm_server.root_url, 0.4)
    assert model.client_kwargs == {"timeout": 7}
    http = model._client._client  # the httpx client under the ollama client
    assert http.timeout == httpx.Timeout(7) and str(http.base_url).rstrip("/") == llm_server.root_url
    assert model.invoke(MESSAGES).content
    assert [(e["api"], e["path"], e["model"]) for e in llm_server.log] == [("ollama", "/api/chat", MODEL)]


def test_build_chat_model_takes_the_url_from_ollama_host(llm_server):
    from dialectic.configs.schema import AgentConfig
    from dialectic.providers.factory import build_chat_model

    agent = AgentConfig(**{**ollama_agent(llm_server), "baseUrl": None})
    model = build_chat_model(agent, env={"OLLAMA_HOST": llm_server.root_url})
    assert model.base_url == llm_server.root_url
    assert build_chat_model(agent, env={}).base_url == "http://localhost:11434"


def test_dialectic_call_layer_over_ollama(llm_server):
    from dialectic.configs.schema import AgentConfig
    from dialectic.nodes.llm import Call, CallFailed, complete, complete_structured, messages_for
    from dialectic.providers.factory import build_chat_model

    member = AgentConfig(**ollama_agent(llm_server, maxRetries=2))
    model = build_chat_model(member, env={})
    call = Call(agent_id=member.id, phase="propose", round=1)
    messages = messages_for("You are the System Architect.", USER)
    reply = complete(model, member, call, messages)
    assert reply.usage.input_tokens == llm_server.log[-1]["prompt_tokens"]
    assert reply.usage.output_tokens == llm_server.log[-1]["completion_tokens"]
    verdict, usage = complete_structured(model, member, call, messages, Verdict)
    assert isinstance(verdict, Verdict) and usage.output_tokens == llm_server.log[-1]["completion_tokens"]
    assert llm_server.log[-1]["kind"] == "json_schema"

    llm_server.set(fail_next=["500"])
    with pytest.raises(CallFailed) as caught:
        complete(model, member, call, messages)
    assert caught.value.transient and caught.value.retryable
    assert "provider failed after 1 attempt" in str(caught.value) and "status code: 500" in str(caught.value)


def write_config(folder: Path, server, **debate: Any) -> None:
    document = {
        "agents": [ollama_agent(server, f"agent-{role}", role, maxRetries=3) for role in ROLES],
        "judge": {**ollama_agent(server, "judge-main", "generalist", maxRetries=3), "name": "Judge"},
        "debate": {"rounds": 1, "summarization": {"enabled": False}, **debate},
    }
    (folder / "debate-config.json").write_text(json.dumps(document))


def contributions(record: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for round_record in record["rounds"]:
        for c in round_record["contributions"]:
            counts[c["type"]] = counts.get(c["type"], 0) + 1
    return counts


@pytest.mark.parametrize("faults", [[], ["500", "503", "malformed", "429"]], ids=["clean", "faults"])
def test_a_whole_debate_over_ollama(llm_server, faults):
    from dialectic.runner.inputs import prepare_settings
    from dialectic.runner.run import start_debate

    llm_server.set(fail_next=faults, retry_after=0)
    write_config(Path.cwd(), llm_server)
    settings, _ = prepare_settings(None, roles=None, rounds=None, offline=False)
    result = start_debate(PROBLEM, settings, debate_id=f"ollama-{len(faults)}")
    assert result.status == "completed", result.message
    record = result.record.dump()
    assert contributions(record) == {"proposal": 3, "critique": 6, "refinement": 3}
    assert record["finalSolution"]["description"]
    log = llm_server.log
    assert {(e["api"], e["method"], e["path"]) for e in log} == {("ollama", "POST", "/api/chat")}
    assert {e["model"] for e in log} == {MODEL}
    served = [e for e in log if e["status"] == 200 and e["fault"] is None]
    assert len(served) == CALLS_3_AGENTS_1_ROUND and len(log) == CALLS_3_AGENTS_1_ROUND + len(faults)
    # usage counts exactly what the server reported (failed attempts report nothing)
    assert record["usage"]["total"]["inputTokens"] == sum(e["prompt_tokens"] for e in served)
    assert record["usage"]["total"]["outputTokens"] == sum(e["completion_tokens"] for e in served)
