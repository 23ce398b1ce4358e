"""The OpenAI-compatible test server works with the real clients (openai, langchain_openai) over HTTP."""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
import threading
import time
from enum import StrEnum
from pathlib import Path

import httpx
import openai
import pydantic
import pytest
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

SERVER_PATH = Path(__file__).resolve().with_name("llm_server.py")

PROBLEM = (
    "Design a URL shortener. It must handle 1,000 new links per second, and links must never collide. "
    "Links expire after 30 days."
)
MESSAGES = [
    {"role": "system", "content": "You are the System Architect on a design panel."},
    {"role": "user", "content": f"## Problem\n\n{PROBLEM}\n\n## Your task\n\nPropose a design."},
]


def client(server, **kwargs) -> openai.OpenAI:
    kwargs.setdefault("timeout", 10)
    return openai.OpenAI(
        base_url=server.url, api_key=kwargs.pop("api_key", "test-key"), max_retries=0, **kwargs
    )


def chat_model(server, **kwargs) -> ChatOpenAI:
    kwargs.setdefault("timeout", 10)
    return ChatOpenAI(
        model=kwargs.pop("model", "gpt-4o-mini"),
        base_url=server.url,
        api_key=kwargs.pop("api_key", "test-key"),
        max_retries=0,
        use_responses_api=False,
        **kwargs,
    )


def expected_prompt_tokens(messages) -> int:
    return math.ceil(sum(len(m["content"]) for m in messages) / 4)


class Level(StrEnum):
    low = "low"
    high = "high"


class Risk(BaseModel):
    title: str
    level: Level
    likelihood: float = Field(ge=0, le=1)


class Design(BaseModel):
    """A design with its risks."""

    solutionMarkdown: str
    components: list[str] = Field(min_length=2, max_length=4)
    risks: list[Risk] = Field(min_length=1, max_length=3)
    confidence: int = Field(ge=0, le=100)
    owner: str | None = None


# --- replies and usage --------------------------------------------------------------------------


def test_openai_client_non_stream_and_stream_with_usage(llm_server):
    api = client(llm_server)
    reply = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    text = reply.choices[0].message.content
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens == expected_prompt_tokens(MESSAGES)
    assert reply.usage.completion_tokens == math.ceil(len(text) / 4)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens

    stream = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    pieces, usages = [], []
    for chunk in stream:
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
        if chunk.usage is not None:
            usages.append(chunk.usage)
    assert "".join(pieces) == text  # the same request, streamed, gets the same reply
    assert len(usages) == 1 and usages[0].prompt_tokens == reply.usage.prompt_tokens
    assert usages[0].completion_tokens == reply.usage.completion_tokens

    plain = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert all(chunk.usage is None for chunk in plain)

    log = llm_server.log
    assert [(e["path"], e["stream"], e["status"], e["usage_reported"]) for e in log] == [
        ("/v1/chat/completions", False, 200, True),
        ("/v1/chat/completions", True, 200, True),
        ("/v1/chat/completions", True, 200, False),
    ]
    for entry in log[:2]:
        assert entry["prompt_tokens"] == reply.usage.prompt_tokens
        assert entry["completion_tokens"] == reply.usage.completion_tokens
        assert entry["total_tokens"] == reply.usage.total_tokens
    assert log[2]["prompt_tokens"] == log[2]["completion_tokens"] == 0  # it reported none


def test_replies_are_deterministic_markdown_that_quote_the_problem(llm_server):
    api = client(llm_server)
    first = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content
    again = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content
    other_model = api.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices[0].message.content
    assert first == again
    assert other_model != first
    assert first.startswith("## Summary")
    for heading in ("## Design", "## Trade-offs and Risks", "## Open Questions", "## Requirements Coverage"):
        assert heading in first
    sentences = [s.strip() for s in PROBLEM.replace(". ", ".\n").splitlines()]
    assert any(f"> {s}" in first for s in sentences), first

    no_problem = [{"role": "user", "content": "Say something about caches."}]
    text = api.chat.completions.create(model="gpt-4o-mini", messages=no_problem).choices[0].message.content
    assert "## Design" in text and "> " not in text


def test_max_tokens_truncates_with_finish_reason_length(llm_server):
    reply = client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=10)
    assert reply.choices[0].finish_reason == "length"
    assert len(reply.choices[0].message.content) == 40
    assert reply.usage.completion_tokens == 10


def test_models_endpoint(llm_server):
    assert "gpt-4o-mini" in [m.id for m in client(llm_server).models.list()]
    llm_server.set(models=["only-model"])
    assert [m.id for m in client(llm_server).models.list()] == ["only-model"]
    assert client(llm_server).models.retrieve("only-model").id == "only-model"
    assert [e["path"] for e in llm_server.log] == ["/v1/models", "/v1/models", "/v1/models/only-model"]


def test_chat_openai_usage_metadata_equals_the_servers_log(llm_server):
    message = chat_model(llm_server).invoke(
        [("system", MESSAGES[0]["content"]), ("human", MESSAGES[1]["content"])]
    )
    [entry] = llm_server.log
    assert entry["path"] == "/v1/chat/completions" and entry["stream"] is False and entry["kind"] == "text"
    assert (
        message.usage_metadata["input_tokens"] == entry["prompt_tokens"] == expected_prompt_tokens(MESSAGES)
    )
    assert message.usage_metadata["output_tokens"] == entry["completion_tokens"]
    assert message.usage_metadata["total_tokens"] == entry["total_tokens"]


def test_chat_openai_streaming_with_usage(llm_server):
    model = chat_model(llm_server, stream_usage=True)
    chunks = list(model.stream([("human", MESSAGES[1]["content"])]))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    [entry] = llm_server.log
    assert entry["stream"] is True
    assert total.usage_metadata["input_tokens"] == entry["prompt_tokens"]
    assert (
        total.usage_metadata["output_tokens"]
        == entry["completion_tokens"]
        == math.ceil(len(total.content) / 4)
    )


# --- structured output --------------------------------------------------------------------------


def test_with_structured_output_json_schema_parses(llm_server):
    runnable = chat_model(llm_server).with_structured_output(Design, method="json_schema", include_raw=True)
    result = runnable.invoke([("human", MESSAGES[1]["content"])])
    assert result["parsing_error"] is None
    design = result["parsed"]
    assert isinstance(design, Design)
    assert design.solutionMarkdown.startswith("## Summary")
    assert 2 <= len(design.components) <= 4 and 1 <= len(design.risks) <= 3
    [entry] = llm_server.log
    assert entry["kind"] == "json_schema"
    assert result["raw"].usage_metadata["output_tokens"] == entry["completion_tokens"]
    assert entry["completion_tokens"] == math.ceil(len(result["raw"].content) / 4)


def test_with_structured_output_function_calling_parses(llm_server):
    runnable = chat_model(llm_server).with_structured_output(
        Design, method="function_calling", include_raw=True
    )
    result = runnable.invoke([("human", MESSAGES[1]["content"])])
    assert result["parsing_error"] is None and isinstance(result["parsed"], Design)
    [call] = result["raw"].tool_calls
    assert call["name"] == "Design"
    [entry] = llm_server.log
    assert entry["kind"] == "tool_calls" and entry["tool"] == "Design"
    arguments = json.dumps(call["args"], ensure_ascii=False)  # the server's own serialization
    assert entry["completion_tokens"] == math.ceil(len(arguments) / 4)


def test_forced_tools_and_json_object_with_the_openai_client(llm_server, llm_server_module):
    parameters = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 1, "maximum": 7}},
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    tools = [
        {
            "type": "function",
            "function": {"name": "noop", "parameters": {"type": "object", "properties": {}}},
        },
        {"type": "function", "function": {"name": "forecast", "parameters": parameters}},
    ]
    api = client(llm_server)
    named = api.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "forecast"}},
    )
    [call] = named.choices[0].message.tool_calls
    assert call.function.name == "forecast"
    assert llm_server_module.validate(json.loads(call.function.arguments), parameters) == []
    required = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=tools, tool_choice="required"
    )
    assert required.choices[0].message.tool_calls[0].function.name == "noop"
    auto = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=tools)
    assert auto.choices[0].message.tool_calls is None and auto.choices[0].message.content

    streamed = api.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        tools=tools,
        tool_choice={"type": "function", "function": {"name": "forecast"}},
        stream=True,
    )
    arguments = "".join(
        c.choices[0].delta.tool_calls[0].function.arguments or ""
        for c in streamed
        if c.choices and c.choices[0].delta.tool_calls
    )
    assert arguments == call.function.arguments

    obj = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(obj.choices[0].message.content), dict)
    assert [e["kind"] for e in llm_server.log] == [
        "tool_calls",
        "tool_calls",
        "text",
        "tool_calls",
        "json_object",
    ]


SCHEMA = {
    "type": "object",
    "$defs": {
        "Item": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 12},
                "kind": {"enum": ["a", "b", "c"]},
                "score": {"type": "number", "minimum": 0.5, "maximum": 0.75},
                "tags": {"type": "array", "items": {"type": "string", "format": "uuid"}, "uniqueItems": True},
            },
            "required": ["name", "kind"],
            "additionalProperties": False,
        },
        "Node": {
            "type": "object",
            "properties": {
                "value": {"type": "integer"},
                "next": {"anyOf": [{"$ref": "#/$defs/Node"}, {"type": "null"}]},
            },
            "required": ["value", "next"],
        },
    },
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 3, "maxItems": 5},
        "few": {"type": "array", "items": {"type": "boolean"}, "maxItems": 1},
        "count": {"type": "integer", "minimum": 10, "maximum": 12},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "even": {"type": "integer", "multipleOf": 2, "minimum": 3, "maximum": 9},
        "maybe": {"anyOf": [{"type": "integer", "minimum": -5, "maximum": -1}, {"type": "null"}]},
        "when": {"type": "string", "format": "date-time"},
        "fixed": {"const": "v1"},
        "both": {"allOf": [{"$ref": "#/$defs/Item"}, {"properties": {"extra": {"type": "boolean"}}}]},
        "list": {"$ref": "#/$defs/Node"},
        "nullable": {"type": ["string", "null"], "minLength": 30},
        "free": {"type": "object", "additionalProperties": {"type": "integer", "maximum": 0}},
    },
    "required": ["items", "count"],
}


def test_schema_generator_honours_the_schema(llm_server_module):
    for seed in range(60):
        value = llm_server_module.instance_from_schema(SCHEMA, seed)
        assert llm_server_module.validate(value, SCHEMA) == [], (seed, value)
        assert set(value) == set(SCHEMA["properties"])  # every property, not only the required ones
        assert 3 <= len(value["items"]) <= 5 and len(value["few"]) <= 1
        assert 10 <= value["count"] <= 12 and 0 < value["ratio"] < 1 and value["even"] in (4, 6, 8)
        assert value["maybe"] is None or -5 <= value["maybe"] <= -1
        assert value["fixed"] == "v1" and len(value["nullable"]) >= 30
        assert all(item["kind"] in "abc" and 0.5 <= item["score"] <= 0.75 for item in value["items"])
    assert llm_server_module.instance_from_schema(SCHEMA, 3) == llm_server_module.instance_from_schema(
        SCHEMA, 3
    )
    value, detail = llm_server_module.invalid_instance_from_schema(SCHEMA, 3)
    assert llm_server_module.validate(value, SCHEMA) != [] and "count" in detail

    pydantic_schema = Design.model_json_schema()
    for seed in range(30):
        Design.model_validate(llm_server_module.instance_from_schema(pydantic_schema, seed))
        broken, _ = llm_server_module.invalid_instance_from_schema(pydantic_schema, seed)
        with pytest.raises(pydantic.ValidationError):
            Design.model_validate(broken)


# --- faults -------------------------------------------------------------------------------------


def test_429_is_a_rate_limit_error_with_retry_after(llm_server):
    llm_server.set(faults={"429": 1.0}, retry_after=2)
    with pytest.raises(openai.RateLimitError) as caught:
        client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.code == "rate_limit_exceeded"
    [entry] = llm_server.log
    assert (entry["status"], entry["fault"], entry["error"]) == (429, "429", "rate_limit_exceeded")
    assert entry["usage_reported"] is False and entry["total_tokens"] == 0


@pytest.mark.parametrize("status", ["500", "503"])
def test_5xx_is_an_internal_server_error(llm_server, status):
    llm_server.set(faults={status: 1.0})
    with pytest.raises(openai.InternalServerError) as caught:
        chat_model(llm_server).invoke("hello")
    assert caught.value.status_code == int(status)
    assert llm_server.log[0]["fault"] == status


def test_hang_times_out_and_stopping_the_server_ends_it(llm_server_factory):
    server = llm_server_factory(faults={"hang": 1.0})
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client(server, timeout=1.0).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert time.monotonic() - started < 30  # the client's timeout ended it, not the test's
    [entry] = server.log
    assert entry["fault"] == "hang" and entry["ended"] is None and server.in_flight() == 1
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 30  # stopping ends the hung request, not its own timeout
    [entry] = server.log
    assert entry["status"] is None and entry["error"] == "hung_until_shutdown" and entry["ended"] is not None
    assert server.in_flight() == 0


def test_a_short_hang_is_a_slow_but_good_reply(llm_server):
    llm_server.set(faults={"hang": 1.0}, hang_seconds=0.3)
    reply = client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert reply.choices[0].message.content
    assert llm_server.log[0]["duration_ms"] >= 300


def test_malformed_body_is_a_parsing_error(llm_server):
    llm_server.set(faults={"malformed": 1.0})
    with pytest.raises(json.JSONDecodeError):
        client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    with pytest.raises(json.JSONDecodeError):
        chat_model(llm_server).invoke("hello")
    with pytest.raises(json.JSONDecodeError):
        list(client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True))
    assert [(e["status"], e["fault"], e["usage_reported"]) for e in llm_server.log] == [
        (200, "malformed", False)
    ] * 3


def test_schema_invalid_gives_a_parsing_error(llm_server, llm_server_module):
    llm_server.set(faults={"schema_invalid": 1.0})
    tools = chat_model(llm_server).with_structured_output(Design, method="function_calling", include_raw=True)
    result = tools.invoke("design it")
    assert result["parsed"] is None
    assert isinstance(result["parsing_error"], pydantic.ValidationError)
    assert "confidence" in str(result["parsing_error"])  # out of range: 101
    assert result["raw"].usage_metadata["output_tokens"] == llm_server.log[-1]["completion_tokens"] > 0

    # langchain-openai hands a Pydantic response_format to openai's .parse(), which validates the
    # reply itself: the ValidationError is raised, it does not reach include_raw's parsing_error.
    schema = chat_model(llm_server).with_structured_output(Design, method="json_schema", include_raw=True)
    with pytest.raises(pydantic.ValidationError):
        schema.invoke("design it")

    response_format = {"type": "json_schema", "json_schema": {"name": "Item", "schema": SCHEMA}}
    reply = client(llm_server).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, response_format=response_format
    )
    assert llm_server_module.validate(json.loads(reply.choices[0].message.content), SCHEMA) != []

    text = client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert text.choices[0].message.content.startswith("## Summary")  # not applicable to plain text
    log = llm_server.log
    assert [e["fault"] for e in log] == ["schema_invalid", "schema_invalid", "schema_invalid", None]
    assert all(e["fault_detail"] for e in log[:3])


def test_wrong_api_key_is_401(llm_server):
    llm_server.set(api_key="right-key")
    with pytest.raises(openai.AuthenticationError) as caught:
        client(llm_server, api_key="wrong-key-123").chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES
        )
    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
    assert "wrong-key-123" not in str(caught.value)  # masked, as OpenAI does
    assert client(llm_server, api_key="right-key").chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES
    )
    with pytest.raises(openai.AuthenticationError):
        client(llm_server, api_key="nope").models.list()
    assert [(e["status"], e["model"]) for e in llm_server.log] == [
        (401, "gpt-4o-mini"),
        (200, "gpt-4o-mini"),
        (401, None),
    ]


def test_unknown_model_is_404(llm_server):
    llm_server.set(models=["gpt-4o-mini"])
    with pytest.raises(openai.NotFoundError) as caught:
        client(llm_server).chat.completions.create(model="no-such-model", messages=MESSAGES)
    assert caught.value.code == "model_not_found" and "no-such-model" in str(caught.value)
    with pytest.raises(openai.NotFoundError):
        client(llm_server).models.retrieve("no-such-model")
    assert llm_server.log[0]["model"] == "no-such-model" and llm_server.log[0]["status"] == 404


def test_fail_models_and_context_limit(llm_server):
    llm_server.set(fail_models={"broken-model": 500, "slow-model": 503}, context_limit_tokens=20)
    with pytest.raises(openai.InternalServerError):
        client(llm_server).chat.completions.create(model="broken-model", messages=MESSAGES[:1])
    with pytest.raises(openai.BadRequestError) as caught:
        client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.code == "context_length_exceeded" and "maximum context length is 20" in str(
        caught.value
    )
    assert client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES[:1])
    assert [(e["model"], e["status"]) for e in llm_server.log] == [
        ("broken-model", 500),
        ("gpt-4o-mini", 400),
        ("gpt-4o-mini", 200),
    ]


def test_settings_change_between_phases(llm_server):
    llm_server.set(faults={"500": 1.0}, fail_models={"gpt-4o-mini": 503})
    with pytest.raises(openai.InternalServerError):
        chat_model(llm_server).invoke("hello")
    llm_server.set(faults={}, fail_models={})
    assert chat_model(llm_server).invoke("hello").content
    llm_server.set(fail_next=["429", None, "500"])
    outcomes = []
    for _ in range(4):
        try:
            chat_model(llm_server).invoke("hello")
            outcomes.append(200)
        except openai.APIStatusError as exc:
            outcomes.append(exc.status_code)
    assert outcomes == [429, 200, 500, 200]
    with pytest.raises(TypeError):
        llm_server.set(no_such_setting=1)
    with pytest.raises(ValueError):
        llm_server.set(faults={"429": 0.7, "500": 0.7})
    with pytest.raises(ValueError):
        llm_server.set(faults={"teapot": 0.1})


def statuses(server, count: int) -> list[int]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        return [
            http.post(
                "/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            ).status_code
            for _ in range(count)
        ]


def test_fault_draws_are_reproducible_for_a_seed(llm_server_factory):
    faults = {"429": 0.2, "500": 0.15, "503": 0.15}
    first = statuses(llm_server_factory(seed=11, faults=faults), 60)
    second = statuses(llm_server_factory(seed=11, faults=faults), 60)
    other = statuses(llm_server_factory(seed=12, faults=faults), 60)
    assert first == second
    assert other != first
    assert {429, 500, 503, 200} <= set(first)
    assert 15 <= sum(code != 200 for code in first) <= 45

    expected = random.Random(11)
    assert first == [
        429 if d < 0.2 else 500 if d < 0.35 else 503 if d < 0.5 else 200
        for d in (expected.random() for _ in range(60))
    ]

    server = llm_server_factory(seed=5, faults=faults)
    once = statuses(server, 20)
    server.reset()
    assert statuses(server, 20) == once and len(server.log) == 20
    server.set(seed=5)
    assert statuses(server, 20) == once


# --- the log --------------------------------------------------------------------------------------


def test_log_counts_requests_in_flight_under_8_concurrent_requests(llm_server):
    llm_server.set(latency_ms=50)
    llm_server.hold()  # every request waits in flight until release(): no timing luck needed
    errors: list[BaseException] = []
    clients = [client(llm_server) for _ in range(8)]

    def call(index: int) -> None:
        try:
            messages = [{"role": "user", "content": f"request {index}"}]
            clients[index].chat.completions.create(model="gpt-4o-mini", messages=messages)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    assert llm_server.wait_for(lambda log: len(log) == 8, timeout=100)
    assert llm_server.in_flight() == 8
    llm_server.release()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    log = llm_server.log
    assert len(log) == 8 and llm_server.in_flight() == 0
    assert llm_server.max_in_flight() == 8
    assert sorted(e["in_flight"] for e in log) == list(range(1, 9))
    for entry in log:
        overlapping = [o for o in log if o["started"] <= entry["started"] < o["ended"]]
        assert entry["in_flight"] == len(overlapping)
        assert entry["duration_ms"] >= 50 and entry["status"] == 200

    sequential = statuses(llm_server, 2)
    assert sequential == [200, 200] and [e["in_flight"] for e in llm_server.log[-2:]] == [1, 1]


def test_log_over_http_and_to_a_file(llm_server, tmp_path: Path):
    path = tmp_path / "requests.jsonl"
    llm_server.set(log_path=str(path), record_bodies=True)
    client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    chat_model(llm_server).invoke("hello")
    with httpx.Client(base_url=f"http://127.0.0.1:{llm_server.port}", timeout=10) as http:
        over_http = http.get("/_log").json()
        stats = http.get("/_stats").json()
        settings = http.post("/_settings", json={"latency_ms": 5, "faults": {"429": 0.5}}).json()
        assert http.post("/_settings", json={"nope": 1}).status_code == 400
    assert over_http == llm_server.log
    assert over_http[0]["body"]["messages"] == MESSAGES
    assert stats["requests"] == 2 and stats["statuses"] == {"200": 2}
    assert stats["prompt_tokens"] == llm_server.token_totals()["prompt_tokens"]
    assert settings["faults"] == {"429": 0.5} and llm_server.settings.latency_ms == 5
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["id"] for line in lines] == [1, 2]
    assert [line["total_tokens"] for line in lines] == [e["total_tokens"] for e in llm_server.log]


def test_runs_as_a_script(tmp_path: Path):
    log_file = tmp_path / "log.jsonl"
    process = subprocess.Popen(
        [
            sys.executable,
            str(SERVER_PATH),
            "--port",
            "0",
            "--api-key",
            "k",
            "--fault",
            "500=0",
            "--log-file",
            str(log_file),
            "--tool-turns",
            "0",
            "--parallel-tool-calls",
            "3",
            "--reply-tokens",
            "400",
            "--max-in-flight",
            "4",
            "--prompt-cache",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("LISTENING http://127.0.0.1:"), line
        url = line.split()[1]
        api = openai.OpenAI(base_url=url, api_key="k", max_retries=0, timeout=10)
        assert (
            api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).usage.completion_tokens == 400
        )
        root = url.removesuffix("/v1")
        settings = httpx.get(f"{root}/_settings").json()
        assert (settings["tool_turns"], settings["parallel_tool_calls"]) == (0, 3)
        assert (settings["reply_tokens"], settings["in_flight_limit"], settings["prompt_cache"]) == (
            400,
            4,
            True,
        )
        assert httpx.post(f"{root}/_settings", json={"fail_models": {"gpt-4o-mini": 500}}).status_code == 200
        with pytest.raises(openai.InternalServerError):
            api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        log = httpx.get(f"{root}/_log").json()
        assert [e["status"] for e in log] == [200, 500]
    finally:
        process.terminate()
        assert process.wait(timeout=60) == 0
    assert len(log_file.read_text().splitlines()) == 2


# --- tool loops -----------------------------------------------------------------------------------


def function_tool(name: str, description: str, **properties: dict) -> dict:
    required = [key for key, schema in properties.items() if not schema.pop("optional", False)]
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


TOOLS = [
    function_tool("list_files", "List the files under a directory.", path={"type": "string"}),
    function_tool(
        "file_read",
        "Read a file, or some of its lines.",
        path={"type": "string"},
        start_line={"type": "integer", "minimum": 1, "optional": True},
        end_line={"type": "integer", "minimum": 1, "optional": True},
    ),
    function_tool("context_search", "Search the repository for a term.", term={"type": "string"}),
]
APP_PY = (
    "import base62\n"
    "\n"
    "COUNTER = 'redis'\n"
    "# ids come from one counter, so links never collide\n"
    "def shorten(url):\n"
    "    return base62.encode(next_id())\n"
)
REPO = {
    "assets/logo.png": "\x89PNG",
    "pyproject.toml": "[project]\nname = 'shortener'\n",
    "src/app.py": APP_PY,
    "README.md": "# Shortener\n\nA URL shortener service.\n",
}


def run_tool(name: str, arguments: dict) -> str:
    """The tools, answering as the TypeScript dialectic tool does."""
    if name == "list_files":
        entries = [{"path": path, "type": "file", "size": len(text)} for path, text in REPO.items()]
        result = {"entries": [*entries, {"path": "docs", "type": "dir", "size": 0}]}
    elif name == "file_read":
        if arguments["path"] not in REPO:
            return json.dumps({"status": "error", "error": f"File not found: {arguments['path']}"})
        result = {"path": arguments["path"], "content": REPO[arguments["path"]]}
    else:
        matches = [
            {"path": path, "line": number, "text": line}
            for path, text in REPO.items()
            for number, line in enumerate(text.splitlines(), 1)
            if arguments["term"].lower() in line.lower()
        ]
        result = {"matches": matches}
    return json.dumps({"status": "success", "result": result})


def loop_prompt_tokens(messages, tools=()) -> int:
    chars = sum(len(m.get("content") or "") for m in messages)
    chars += sum(len(c["function"]["arguments"]) for m in messages for c in m.get("tool_calls") or ())
    chars += len(json.dumps(tools, separators=(",", ":"))) if tools else 0  # as JSON.stringify writes it
    return math.ceil(chars / 4)


def assistant_message(message) -> dict:
    """The assistant's turn as a client sends it back: ``content: null`` beside the tool calls."""
    return {
        "role": "assistant",
        "content": message.content,
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.function.name, "arguments": c.function.arguments},
            }
            for c in message.tool_calls
        ],
    }


def run_loop(api, messages, turns: int = 10, **kwargs):
    """The model ↔ tools loop; the calls made, per turn, and the final reply."""
    messages = list(messages)
    calls = []
    for _ in range(turns):
        reply = api.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS, **kwargs)
        message = reply.choices[0].message
        if not message.tool_calls:
            return calls, reply, messages
        assert reply.choices[0].finish_reason == "tool_calls" and message.content is None
        calls.append([(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls])
        messages.append(assistant_message(message))
        for call in message.tool_calls:
            content = run_tool(call.function.name, json.loads(call.function.arguments))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
    raise AssertionError(f"no text after {turns} turns: {calls}")


def test_tool_loop_with_the_openai_client(llm_server, llm_server_module):
    api = client(llm_server)
    calls, final, messages = run_loop(api, MESSAGES)
    # list the repository, then read the source file it named first (not the image or the config)
    assert calls == [[("list_files", {"path": "."})], [("file_read", {"path": "src/app.py"})]]
    parameters = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
    for turn in calls:
        for name, arguments in turn:
            assert llm_server_module.validate(arguments, parameters[name]) == []

    text = final.choices[0].message.content
    assert final.choices[0].finish_reason == "stop" and text.startswith("## Summary")
    # the results reached the answer: the file's line naming a problem term ("links", "collide")
    assert "- Evidence from `src/app.py`: # ids come from one counter, so links never collide\n" in text
    assert (
        "- Listing of `.` named `assets/logo.png`, `pyproject.toml`, `src/app.py`, `README.md`, `docs`.\n"
        in text
    )
    assert "## Evidence" in text and "## Design" in text and "## Requirements Coverage" in text

    log = llm_server.log
    assert [
        (e["kind"], e["tool"], e["tools_called"], e["tool_results"], e["tools_offered"]) for e in log
    ] == [
        ("tool_calls", "list_files", ["list_files"], 0, ["list_files", "file_read", "context_search"]),
        ("tool_calls", "file_read", ["file_read"], 1, ["list_files", "file_read", "context_search"]),
        ("text", None, [], 2, ["list_files", "file_read", "context_search"]),
    ]
    # usage: message contents (tool results included), the assistant's tool-call arguments, the tools
    assert log[-1]["prompt_tokens"] == final.usage.prompt_tokens == loop_prompt_tokens(messages, TOOLS)
    assert log[0]["completion_tokens"] == math.ceil(len('{"path": "."}') / 4)
    assert log[-1]["completion_tokens"] == math.ceil(len(text) / 4)

    plain = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert llm_server.log[-1]["tools_offered"] == [] and llm_server.log[-1]["tool_results"] == 0
    assert "## Evidence" not in plain.choices[0].message.content


def test_tool_turns_and_parallel_tool_calls(llm_server):
    api = client(llm_server)
    llm_server.set(tool_turns=0)
    reply = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    assert reply.choices[0].message.tool_calls is None and reply.choices[0].message.content

    llm_server.set(tool_turns=1)
    calls, final, _ = run_loop(api, MESSAGES)
    assert calls == [[("list_files", {"path": "."})]]
    assert "- Listing of `.` named `assets/logo.png`" in final.choices[0].message.content

    llm_server.set(tool_turns=4, parallel_tool_calls=2)
    calls, final, _ = run_loop(api, MESSAGES)
    assert calls == [
        # nothing seen yet: the listing, and a search for the longest problem term
        [("list_files", {"path": "."}), ("context_search", {"term": "shortener"})],
        # source and docs before configuration; the image never
        [("file_read", {"path": "src/app.py"}), ("file_read", {"path": "README.md"})],
        [("file_read", {"path": "pyproject.toml"}), ("list_files", {"path": "docs"})],
        [("context_search", {"term": "collide"}), ("context_search", {"term": "expire"})],
    ]
    text = final.choices[0].message.content
    assert "- Search for `shortener` named `pyproject.toml`, `README.md`.\n" in text
    assert "- Evidence from `README.md`: # Shortener\n" in text  # the first line names a term
    assert "- Evidence from `pyproject.toml`: name = 'shortener'\n" in text
    assert "- Search for `collide` named `src/app.py`.\n" in text
    assert [e["tool_results"] for e in llm_server.log[-5:]] == [0, 2, 4, 6, 8]
    assert [len(e["tools_called"]) for e in llm_server.log[-5:]] == [2, 2, 2, 2, 0]

    # the request's own parallel_tool_calls=false: one call a turn
    single = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, parallel_tool_calls=False
    )
    assert [c.function.name for c in single.choices[0].message.tool_calls] == ["list_files"]

    # streamed, the same request gets the same calls (ids included), one index each
    first = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    streamed: dict[int, dict] = {}
    finish = None
    for chunk in api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, stream=True
    ):
        for delta in chunk.choices[0].delta.tool_calls or ():
            call = streamed.setdefault(delta.index, {"id": None, "name": None, "arguments": ""})
            call["id"] = delta.id or call["id"]
            call["name"] = (delta.function.name if delta.function else None) or call["name"]
            call["arguments"] += (delta.function.arguments if delta.function else None) or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert [streamed[i] for i in sorted(streamed)] == [
        {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
        for c in first.choices[0].message.tool_calls
    ]
    assert len(streamed) == 2 and len({c["id"] for c in streamed.values()}) == 2

    with pytest.raises(ValueError):
        llm_server.set(parallel_tool_calls=0)
    with pytest.raises(ValueError):
        llm_server.set(tool_turns=-1)


SCRIPT = [
    # paths the agent never saw, a tool the request does not even offer, two calls in one turn
    [
        {"name": "file_read", "arguments": {"path": "../outside/secret.txt"}},
        {"name": "list_files", "arguments": {"path": "/etc"}},
    ],
    [{"name": "not_offered", "arguments": {"x": [1, 2]}}],
    [{"name": "context_search", "arguments": {"term": "NO-SUCH-TERM"}}],
]


def test_tool_script_replaces_the_agents_choice(llm_server, llm_server_module):
    api = client(llm_server)
    llm_server.set(tool_script=SCRIPT, tool_turns=0, parallel_tool_calls=1)
    messages = [*MESSAGES]
    calls = []
    for _ in range(len(SCRIPT)):
        reply = api.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
        message = reply.choices[0].message
        assert reply.choices[0].finish_reason == "tool_calls" and message.content is None
        calls.append(
            [
                {"name": c.function.name, "arguments": json.loads(c.function.arguments)}
                for c in message.tool_calls
            ]
        )
        messages.append(assistant_message(message))
        for call in message.tool_calls:
            content = (
                run_tool(call.function.name, json.loads(call.function.arguments))
                if call.function.name in ("file_read", "list_files", "context_search")
                else json.dumps({"status": "error", "error": "unknown tool"})
            )
            messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
    assert calls == SCRIPT  # exactly as scripted, whatever tool_turns and parallel_tool_calls say
    final = api.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
    text = final.choices[0].message.content
    assert final.choices[0].message.tool_calls is None and text.startswith("## Summary")
    assert (
        "- Tool `file_read` failed for `../outside/secret.txt`: File not found: ../outside/secret.txt\n"
        in text
    )

    log = llm_server.log
    assert [(e["kind"], e["tools_called"], e["tool_results"]) for e in log] == [
        ("tool_calls", ["file_read", "list_files"], 0),
        ("tool_calls", ["not_offered"], 2),
        ("tool_calls", ["context_search"], 3),
        ("text", [], 4),
    ]
    assert log[0]["completion_tokens"] == math.ceil(
        (len('{"path": "../outside/secret.txt"}') + len('{"path": "/etc"}')) / 4
    )

    # deterministic: the same request gets the same calls, ids included; streamed too
    again = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    first = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    assert [c.model_dump() for c in again.choices[0].message.tool_calls] == [
        c.model_dump() for c in first.choices[0].message.tool_calls
    ]
    streamed = ChatOpenAI(
        model="gpt-4o-mini", base_url=llm_server.url, api_key="k", max_retries=0, streaming=True
    ).bind_tools(TOOLS)
    message = streamed.invoke(MESSAGES)
    assert [(c["id"], c["name"], c["args"]) for c in message.tool_calls] == [
        (c.id, c.function.name, json.loads(c.function.arguments)) for c in first.choices[0].message.tool_calls
    ]

    # only tool_choice absent or "auto" follows the script; no tools, no calls
    forced = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, tool_choice="required"
    )
    assert [c.function.name for c in forced.choices[0].message.tool_calls] == ["list_files"]
    none = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, tool_choice="none"
    )
    assert none.choices[0].message.tool_calls is None
    plain = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert plain.choices[0].message.tool_calls is None

    # faults apply as to any reply: schema_invalid breaks the first scripted call's arguments
    llm_server.set(fail_next=["schema_invalid"])
    broken = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    assert json.loads(broken.choices[0].message.tool_calls[0].function.arguments) != SCRIPT[0][0]["arguments"]
    assert llm_server.log[-1]["fault"] == "schema_invalid"
    llm_server.set(fail_next=["500"])
    with pytest.raises(openai.InternalServerError):
        api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)

    # the setting: its JSON form, its checks, and back to the agent's own choice
    settings = httpx.get(f"{llm_server.root_url}/_settings").json()
    assert settings["tool_script"] == SCRIPT
    for bad in ([{"name": "x"}], [[]], [[{"arguments": {}}]], [[{"name": "x", "arguments": [1]}]], "[]"):
        with pytest.raises(ValueError):
            llm_server.set(tool_script=bad)
    assert httpx.post(f"{llm_server.root_url}/_settings", json={"tool_script": [[]]}).status_code == 400
    llm_server.set(tool_script=[], tool_turns=1)
    own = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    assert [c.function.name for c in own.choices[0].message.tool_calls] == ["list_files"]


def test_tool_choice_none_required_and_named(llm_server, llm_server_module):
    api = client(llm_server)

    def calls(messages, tool_choice, tools=TOOLS):
        reply = api.chat.completions.create(
            model="gpt-4o-mini", messages=messages, tools=tools, tool_choice=tool_choice
        )
        message = reply.choices[0].message
        assert (message.content is None) == bool(message.tool_calls)
        return [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls or ()]

    def named(name):
        return {"type": "function", "function": {"name": name}}

    assert calls(MESSAGES, "none") == []
    assert calls(MESSAGES, "auto") == [("list_files", {"path": "."})]

    llm_server.set(tool_turns=0)  # on its own the agent would answer at once; forced, it calls
    assert calls(MESSAGES, "required") == [("list_files", {"path": "."})]
    assert calls(MESSAGES, named("context_search")) == [("context_search", {"term": "shortener"})]
    # file_read named before any path was seen: arguments made from its schema, still valid
    [(name, arguments)] = calls(MESSAGES, named("file_read"))
    assert name == "file_read"
    assert llm_server_module.validate(arguments, TOOLS[1]["function"]["parameters"]) == []

    llm_server.set(tool_turns=5)
    after_listing = [
        *MESSAGES,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "list_files", "arguments": '{"path": "."}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": run_tool("list_files", {"path": "."})},
    ]
    assert calls(after_listing, named("file_read")) == [("file_read", {"path": "src/app.py"})]
    assert calls(after_listing, "none") == []
    # every call made already: "required" calls one again rather than answer with text
    only_listing = [TOOLS[0]]
    assert calls(after_listing, "required", tools=only_listing) == [("list_files", {"path": "docs"})]
    assert calls(after_listing, "auto", tools=only_listing) == [("list_files", {"path": "docs"})]
    read_docs = [
        *after_listing,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "list_files", "arguments": '{"path": "docs"}'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "call_2",
            "content": json.dumps({"status": "success", "result": {"entries": []}}),
        },
    ]
    assert calls(read_docs, "auto", tools=only_listing) == []  # nothing left to do: the answer
    assert calls(read_docs, "required", tools=only_listing) == [("list_files", {"path": "."})]
    assert [e["kind"] for e in llm_server.log] == [
        "text",
        *["tool_calls"] * 5,
        "text",
        *["tool_calls"] * 2,
        "text",
        "tool_calls",
    ]


def raw_chat(server, body: dict) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        return http.post("/chat/completions", json={"model": "gpt-4o-mini", **body})


def test_tool_message_shapes_and_bad_tools_are_400(llm_server):
    listing = run_tool("list_files", {"path": "."})
    call = {
        "id": "call_a",
        "type": "function",
        "function": {"name": "list_files", "arguments": '{"path": "."}'},
    }
    asked = [*MESSAGES, {"role": "assistant", "content": None, "tool_calls": [call]}]
    # what real clients send in a loop is accepted: content null beside tool_calls, tool_call_id
    assert (
        raw_chat(
            llm_server, {"messages": [*asked, {"role": "tool", "tool_call_id": "call_a", "content": listing}]}
        ).status_code
        == 200
    )

    llm_server.set(fail_next=["500"])  # a request rejected as malformed draws no fault
    with pytest.raises(openai.BadRequestError) as caught:
        client(llm_server).chat.completions.create(
            model="gpt-4o-mini",
            messages=[*asked, {"role": "tool", "tool_call_id": "call_zzz", "content": listing}],
            tools=TOOLS,
        )
    assert caught.value.code == "invalid_tool_call_id" and "call_zzz" in str(caught.value)

    bad_tools = [
        {"type": "function", "function": {"description": "no name"}},
        {"type": "retrieval"},
        {"type": "function", "function": {"name": "has space"}},
        {"type": "function", "function": {"name": "ok", "parameters": "not a schema"}},
        "list_files",
    ]
    cases = [
        (
            {"messages": [*MESSAGES, {"role": "tool", "tool_call_id": "call_a", "content": "x"}]},
            "invalid_tool_call_id",
        ),
        ({"messages": [*asked, {"role": "tool", "content": listing}]}, "invalid_tool_call_id"),
        ({"messages": asked}, "tool_calls_unanswered"),
        ({"messages": [*asked, {"role": "user", "content": "go on"}]}, "tool_calls_unanswered"),
        (
            {
                "messages": [
                    *asked,
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [{"id": "call_b", "type": "function"}],
                    },
                ]
            },
            "tool_calls_unanswered",
        ),
        (
            {
                "messages": [
                    *MESSAGES[:1],
                    {"role": "assistant", "content": None, "tool_calls": [{"type": "function"}]},
                ]
            },
            "invalid_messages",
        ),
        ({"messages": [{"role": "robot", "content": "hi"}]}, "invalid_messages"),
        *[({"messages": MESSAGES, "tools": [*TOOLS, bad]}, "invalid_tools") for bad in bad_tools],
        ({"messages": MESSAGES, "tools": {"list_files": {}}}, "invalid_tools"),
        (
            {
                "messages": MESSAGES,
                "tools": TOOLS,
                "tool_choice": {"type": "function", "function": {"name": "nope"}},
            },
            "invalid_tool_choice",
        ),
        ({"messages": MESSAGES, "tool_choice": "required"}, "invalid_tool_choice"),
        ({"messages": MESSAGES, "tools": TOOLS, "tool_choice": "sometimes"}, "invalid_tool_choice"),
    ]
    for body, code in cases:
        response = raw_chat(llm_server, body)
        assert (response.status_code, response.json()["error"]["code"]) == (400, code), body
        assert response.json()["error"]["type"] == "invalid_request_error"
    with pytest.raises(openai.InternalServerError):  # the fault went to the next valid request
        client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    log = llm_server.log
    assert [(e["status"], e["fault"]) for e in log] == [
        (200, None),
        *[(400, None)] * (1 + len(cases)),
        (500, "500"),
    ]
    assert [e["error"] for e in log[1:-1]] == ["invalid_tool_call_id", *[code for _, code in cases]]
    assert log[1]["tool_results"] == 1 and log[1]["kind"] is None


def test_tool_replies_are_deterministic(llm_server, llm_server_factory):
    api = client(llm_server)
    first = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    again = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS)
    elsewhere = client(llm_server_factory()).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS
    )
    assert first.choices[0].message == again.choices[0].message == elsewhere.choices[0].message
    [call] = first.choices[0].message.tool_calls
    assert call.id.startswith("call_") and len(call.id) == 29

    _, final, messages = run_loop(api, MESSAGES)
    _, final_again, messages_again = run_loop(api, MESSAGES)
    assert messages == messages_again  # the same calls, ids included, turn after turn
    assert final.choices[0].message.content == final_again.choices[0].message.content
    ids = [c["id"] for m in messages for c in m.get("tool_calls") or ()]
    assert len(set(ids)) == len(ids) == 2  # no two turns share an id


def test_faults_apply_to_tool_loop_requests_and_a_retry_repeats_no_turn(llm_server, llm_server_module):
    api = client(llm_server)
    llm_server.set(fail_next=[None, "429", None, "503"], retry_after=0)
    messages = list(MESSAGES)
    turns = []
    while True:
        for _attempt in range(3):  # a client retrying the turn that failed, with the same messages
            try:
                reply = api.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
                break
            except openai.APIStatusError:
                continue
        message = reply.choices[0].message
        if not message.tool_calls:
            break
        turns.append([c.function.name for c in message.tool_calls])
        messages.append(assistant_message(message))
        for call in message.tool_calls:
            content = run_tool(call.function.name, json.loads(call.function.arguments))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
    assert turns == [["list_files"], ["file_read"]]
    assert "- Evidence from `src/app.py`:" in message.content
    # which turn each request was, and that each finished turn was asked for once only
    assert [(e["tool_results"], e["status"], e["kind"], e["fault"]) for e in llm_server.log] == [
        (0, 200, "tool_calls", None),
        (1, 429, "tool_calls", "429"),
        (1, 200, "tool_calls", None),
        (2, 503, "text", "503"),
        (2, 200, "text", None),
    ]

    llm_server.clear_log()
    llm_server.set(fail_models={"gpt-4o-mini": 500})
    with pytest.raises(openai.InternalServerError):
        api.chat.completions.create(model="gpt-4o-mini", messages=messages[:4], tools=TOOLS)
    llm_server.set(fail_models={}, faults={"hang": 1.0}, hang_seconds=0.2)
    slow = api.chat.completions.create(model="gpt-4o-mini", messages=messages[:4], tools=TOOLS)
    assert slow.choices[0].message.tool_calls[0].function.name == "file_read"
    llm_server.set(faults={"malformed": 1.0})
    with pytest.raises(json.JSONDecodeError):
        api.chat.completions.create(model="gpt-4o-mini", messages=messages[:4], tools=TOOLS)
    llm_server.set(faults={"schema_invalid": 1.0})
    broken = api.chat.completions.create(model="gpt-4o-mini", messages=messages[:4], tools=TOOLS)
    [call] = broken.choices[0].message.tool_calls
    arguments = json.loads(call.function.arguments)  # still JSON, but not valid for file_read
    # as for a forced tool: a number out of its range is preferred to a wrong type
    assert call.function.name == "file_read" and arguments == {"path": "src/app.py", "start_line": 0}
    assert llm_server_module.validate(arguments, TOOLS[1]["function"]["parameters"]) != []
    final = api.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
    assert final.choices[0].message.content  # not applicable to a text answer
    assert [(e["status"], e["fault"], e["fault_detail"], e["tool_results"]) for e in llm_server.log] == [
        (500, "500", None, 1),
        (200, "hang", None, 1),
        (200, "malformed", None, 1),
        (200, "schema_invalid", "start_line=0 is out of range", 1),
        (200, None, None, 2),
    ]


def test_tool_loop_with_chat_openai_bind_tools(llm_server):
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
    from langchain_core.tools import tool

    @tool
    def list_files(path: str) -> str:
        """List the files under a directory of the repository."""
        return run_tool("list_files", {"path": path})

    @tool
    def file_read(path: str, start_line: int | None = None, end_line: int | None = None) -> str:
        """Read a file of the repository, or some of its lines."""
        return run_tool("file_read", {"path": path})

    @tool
    def context_search(term: str) -> str:
        """Search the repository for a term."""
        return run_tool("context_search", {"term": term})

    tools = {t.name: t for t in (list_files, file_read, context_search)}
    llm_server.set(parallel_tool_calls=2)
    model = chat_model(llm_server).bind_tools(list(tools.values()))
    messages = [SystemMessage(MESSAGES[0]["content"]), HumanMessage(MESSAGES[1]["content"])]
    turns = []
    while True:
        ai = model.invoke(messages)
        assert isinstance(ai, AIMessage)
        entry = llm_server.log[-1]
        assert ai.usage_metadata["input_tokens"] == entry["prompt_tokens"]
        assert ai.usage_metadata["output_tokens"] == entry["completion_tokens"]
        messages.append(ai)
        if not ai.tool_calls:
            break
        turns.append([(c["name"], c["args"]) for c in ai.tool_calls])
        for call in ai.tool_calls:
            messages.append(ToolMessage(tools[call["name"]].invoke(call["args"]), tool_call_id=call["id"]))
    assert turns == [
        [("list_files", {"path": "."}), ("context_search", {"term": "shortener"})],
        [("file_read", {"path": "src/app.py"}), ("file_read", {"path": "README.md"})],
    ]
    assert "- Evidence from `src/app.py`: # ids come from one counter, so links never collide" in ai.content
    assert "- Evidence from `README.md`: # Shortener" in ai.content
    log = llm_server.log
    assert [(e["tools_called"], e["tool_results"]) for e in log] == [
        (["list_files", "context_search"], 0),
        (["file_read", "file_read"], 2),
        ([], 4),
    ]
    assert all(e["tools_offered"] == ["list_files", "file_read", "context_search"] for e in log)

    one_at_a_time = chat_model(llm_server).bind_tools(list(tools.values()), parallel_tool_calls=False)
    assert [c["name"] for c in one_at_a_time.invoke(messages[:2]).tool_calls] == ["list_files"]
    forced = chat_model(llm_server).bind_tools(list(tools.values()), tool_choice="context_search")
    assert forced.invoke(messages[:2]).tool_calls[0]["args"] == {"term": "shortener"}


def test_the_agent_finds_paths_leniently(llm_server_module):
    server = llm_server_module

    def conversation(*results):
        messages = [MESSAGES[1]]
        for index, (name, arguments, content) in enumerate(results):
            call = {
                "id": f"c{index}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            messages += [
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": f"c{index}", "content": content},
            ]
        return messages

    messages = conversation(
        ("list_files", {"path": "."}, json.dumps({"listing": {"files": ["lib/", "b.toml", "a.go"]}})),
        ("list_files", {"path": "lib"}, "lib/x.ts\nnode_modules/y/index.js\n.env.example"),
        ("context_search", {"term": "shortener"}, json.dumps([{"file": "docs/GUIDE.md", "line": 3}])),
        (
            "list_files",
            {"path": "gone"},
            json.dumps({"status": "error", "error": "no such directory: gone/z.py"}),
        ),
        (
            "file_read",
            {"path": "notes.txt"},
            json.dumps({"status": "success", "result": {"path": "never/listed.py"}}),
        ),
    )
    files, dirs = server.seen_paths(server.read_conversation(messages))
    assert files == ["b.toml", "a.go", "lib/x.ts", "node_modules/y/index.js", "docs/GUIDE.md"]
    assert dirs == ["lib/"]
    offered = ["list_files", "file_read", "context_search"]
    candidates = server.agent_calls(offered, server.read_conversation(messages), messages)
    assert candidates[:6] == [
        ("file_read", {"path": "a.go"}),
        ("file_read", {"path": "lib/x.ts"}),
        ("file_read", {"path": "docs/GUIDE.md"}),
        ("file_read", {"path": "b.toml"}),
        ("file_read", {"path": "node_modules/y/index.js"}),
        ("context_search", {"term": "collide"}),  # "lib/" listed already; "shortener" searched
    ]
    assert [
        server.file_rank(p) for p in ("src/a.py", "README", "x.yaml", "yarn.lock", ".github/ci.yml", "a.png")
    ] == [
        0,
        0,
        1,
        2,
        2,
        None,
    ]
    assert server.problem_terms(MESSAGES) == ["shortener", "collide", "expire", "links", "days"]
    # nothing to read, nothing to list: only file_read offered on the first turn means no call
    body = {"model": "m", "messages": MESSAGES, "tools": [TOOLS[1]]}
    assert server.decide(body).kind == "text"
    lines = server.evidence_lines(server.read_conversation(messages), server.problem_terms(MESSAGES))
    assert lines[3] == "Tool `list_files` failed for `gone`: no such directory: gone/z.py"
    assert lines[4] == "Evidence from `notes.txt`: never/listed.py"

    # the shapes of the project's own tools (tools/files.py, tools/registry.py)
    listing = {
        "path": ".",
        "entries": [{"path": "src", "type": "directory"}, {"path": "README.md", "type": "file", "size": 10}],
        "more": 0,
    }
    search = {
        "term": "shortener",
        "matches": [
            {
                "roundNumber": 1,
                "agentId": "a1",
                "agentRole": "architect",
                "type": "proposal",
                "contentSnippet": "a shortener…",
                "occurrences": 1,
            }
        ],
        "fileMatches": [{"path": "src/db.py", "line": 3, "snippet": "links table"}],
    }
    read = {
        "path": "src/db.py",
        "content": "import sqlite3\nLINKS = 'links'\n",
        "startLine": 1,
        "endLine": 2,
        "totalLines": 2,
        "truncated": False,
    }
    messages = conversation(
        ("list_files", {"path": "."}, json.dumps({"status": "success", "result": listing})),
        ("context_search", {"term": "shortener"}, json.dumps({"status": "success", "result": search})),
        ("file_read", {"path": "src/db.py"}, json.dumps({"status": "success", "result": read})),
    )
    seen = server.read_conversation(messages)
    assert server.seen_paths(seen) == (["README.md", "src/db.py"], ["src"])
    assert server.evidence_lines(seen, server.problem_terms(MESSAGES)) == [
        "Listing of `.` named `src`, `README.md`.",
        "Search for `shortener` named `src/db.py`.",
        "Evidence from `src/db.py`: LINKS = 'links'",
    ]


# --- measurement: token counting, sized replies, the in-flight limit, the prompt cache -------------


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))  # what JavaScript's JSON.stringify writes


def test_prompt_tokens_count_tools_and_the_response_format_schema_as_json(llm_server):
    api = client(llm_server)
    chars = sum(len(m["content"]) for m in MESSAGES)
    with_tools = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, tools=TOOLS, tool_choice="none"
    )
    assert with_tools.usage.prompt_tokens == math.ceil((chars + len(compact(TOOLS))) / 4)
    response_format = {"type": "json_schema", "json_schema": {"name": "Item", "schema": SCHEMA}}
    with_schema = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, response_format=response_format
    )
    assert with_schema.usage.prompt_tokens == math.ceil((chars + len(compact(SCHEMA))) / 4)
    json_object = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert json_object.usage.prompt_tokens == expected_prompt_tokens(MESSAGES)  # no schema to count

    # langchain's structured output sends the schema it made from the model: counted as sent
    llm_server.set(record_bodies=True)
    message = (
        chat_model(llm_server)
        .with_structured_output(Design, method="json_schema", include_raw=True)
        .invoke([("human", MESSAGES[1]["content"])])["raw"]
    )
    sent = llm_server.log[-1]["body"]["response_format"]["json_schema"]["schema"]
    expected = math.ceil((len(MESSAGES[1]["content"]) + len(compact(sent))) / 4)
    assert message.usage_metadata["input_tokens"] == llm_server.log[-1]["prompt_tokens"] == expected


def test_reply_tokens_makes_plain_replies_exactly_that_long(llm_server):
    api = client(llm_server)
    natural = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content
    response_format = {"type": "json_schema", "json_schema": {"name": "Item", "schema": SCHEMA}}
    structured = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, response_format=response_format
    )
    llm_server.set(reply_tokens=400)
    long = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    text = long.choices[0].message.content
    assert len(text) == 1600 and long.usage.completion_tokens == 400
    assert text.startswith(natural) and "\n## Further Notes\n" in text  # the answer, extended
    assert text.endswith("\n") and long.choices[0].finish_reason == "stop"
    again = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert again.choices[0].message.content == text
    streamed = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text
    # JSON replies keep their own length: only plain text is sized
    same = api.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, response_format=response_format
    )
    assert same.choices[0].message.content == structured.choices[0].message.content

    llm_server.set(reply_tokens=30)
    short = api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert short.choices[0].message.content == natural[:119] + "\n"  # cut
    assert short.usage.completion_tokens == 30
    llm_server.set(reply_tokens=None)
    assert api.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES).choices[0].message.content == (
        natural
    )
    with pytest.raises(ValueError):
        llm_server.set(reply_tokens=0)


def test_in_flight_limit_refuses_one_more_at_once_with_429(llm_server):
    llm_server.set(in_flight_limit=2, retry_after=1)
    llm_server.hold()  # the first two stay in flight until release()
    results: list[object] = []

    def call(index: int) -> None:
        messages = [{"role": "user", "content": f"request {index}"}]
        results.append(client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=messages))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    try:
        assert llm_server.wait_for(lambda log: len(log) == 2, timeout=30)
        with pytest.raises(openai.RateLimitError) as caught:  # answered at once, while two are held
            client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
        llm_server.set(retry_after=None)
        with pytest.raises(openai.RateLimitError) as without_header:
            chat_model(llm_server).invoke("hello")
    finally:
        llm_server.release()
        for thread in threads:
            thread.join(timeout=10)
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.response.headers["retry-after"] == "1"
    assert "retry-after" not in without_header.value.response.headers
    assert len(results) == 2  # the held two were served
    refused = [e for e in llm_server.log if e["status"] == 429]
    assert [(e["fault"], e["fault_detail"], e["error"], e["ended"] is not None) for e in refused] == [
        ("429", "in_flight_limit", "rate_limit_exceeded", True)
    ] * 2
    assert [e["prompt_chars"] for e in refused] == [0, 0]  # refused before the model saw the prompt
    # the slots are free again: one at a time is always served
    assert client(llm_server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert llm_server.log[-1]["status"] == 200


def cache_text(messages, tools=None) -> str:
    """The prompt as the server's prefix cache reads it."""
    return (compact(tools) if tools else "") + "".join(m["role"] + m["content"] for m in messages)


def block_prefix(text: str, earlier: list[str]) -> int:
    """The longest prefix of ``text`` that an earlier text shares, in whole 256-character blocks."""

    def common(other: str) -> int:
        return next(
            (i for i, (a, b) in enumerate(zip(text, other, strict=False)) if a != b),
            min(len(text), len(other)),
        )

    shared = max(map(common, earlier), default=0)
    return shared // 256 * 256


def test_prompt_cache_measures_and_reports_shared_prefixes(llm_server):
    system = {"role": "system", "content": "You are the System Architect on a design panel. " * 8}
    problem = {"role": "user", "content": MESSAGES[1]["content"] * 4}
    other_system = {"role": "system", "content": "Another panel, another role. " * 12}
    conversations = [
        ([system, problem], None),  # nothing sent before
        ([system, problem, {"role": "assistant", "content": "A design."}, problem], None),  # extends it
        ([system, {"role": "user", "content": "Critique it. " * 30}], None),  # shares the system prompt
        ([other_system, problem], None),  # shares nothing
        ([system, problem], TOOLS),  # the tools come first: nothing shared
        ([other_system, problem], TOOLS),  # shares the tools
    ]
    api = client(llm_server)
    for messages, tools in conversations:
        extra = {"tools": tools, "tool_choice": "none"} if tools else {}
        api.chat.completions.create(model="gpt-4o-mini", messages=messages, **extra)
    texts = [cache_text(messages, tools) for messages, tools in conversations]
    expected = [block_prefix(text, texts[:index]) for index, text in enumerate(texts)]
    assert expected[0] == expected[3] == expected[4] == 0 and all(expected[i] > 0 for i in (1, 2, 5))
    log = llm_server.log
    assert [e["prompt_chars"] for e in log] == [len(text) for text in texts]
    assert [e["cacheable_chars"] for e in log] == expected
    assert llm_server.cacheable_share() == sum(expected) / sum(map(len, texts))
    assert all(e["cached_tokens"] == 0 for e in log)  # measured, not reported, unless prompt_cache

    llm_server.set(prompt_cache=True)
    reply = api.chat.completions.create(model="gpt-4o-mini", messages=conversations[1][0])
    whole = block_prefix(texts[1], texts)
    assert (
        reply.usage.prompt_tokens_details.cached_tokens == whole // 4 == llm_server.log[-1]["cached_tokens"]
    )
    message = chat_model(llm_server).invoke([("system", system["content"]), ("human", problem["content"])])
    assert message.usage_metadata["input_token_details"]["cache_read"] == len(texts[0]) // 256 * 256 // 4
    llm_server.reset()  # a reset forgets the cache too
    fresh = api.chat.completions.create(model="gpt-4o-mini", messages=conversations[1][0])
    assert fresh.usage.prompt_tokens_details.cached_tokens == 0 and llm_server.cacheable_share() == 0
