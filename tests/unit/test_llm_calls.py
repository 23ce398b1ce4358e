"""nodes/llm.py: which failures are retried, how long to wait, what the user is told, and the
retry / repair behaviour of complete() and complete_structured() against scripted models."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

import httpx
import openai
import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import START, StateGraph
from langgraph.runtime import Runtime
from pydantic import Field
from typing_extensions import TypedDict

from dialectic.configs.loader import validate_config
from dialectic.configs.schema import AgentConfig
from dialectic.configs.settings import resolve_settings
from dialectic.debate.context import DebateContext
from dialectic.errors import ProviderError
from dialectic.nodes import llm
from dialectic.nodes.agent_call import attempt as node_attempt
from dialectic.nodes.convergence import ConvergenceAssessment
from dialectic.nodes.judge import Synthesis
from dialectic.providers.offline import OfflineChatModel

# --- fakes ------------------------------------------------------------------------------------


class FakeHTTPError(Exception):
    def __init__(self, status: int, message: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(message or f"HTTP {status}")
        self.status_code = status
        self.response = SimpleNamespace(status_code=status, headers=headers or {})


class ResponseOnlyError(Exception):
    """Carries the status only on ``.response`` (like requests' HTTPError)."""

    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"status {status}")
        self.response = SimpleNamespace(status_code=status, headers=headers or {})


class ReadTimeout(Exception):
    pass


class ScriptedChatModel(BaseChatModel):
    """Plays a script: each call takes the next step, an exception to raise, an AIMessage to
    return, or a dict that becomes the arguments of a tool call to the bound tool."""

    script: list[Any] = Field(default_factory=list)
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    metadata_seen: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        self.metadata_seen.append(dict(run_manager.metadata) if run_manager else {})
        if not self.script:
            raise AssertionError("the scripted model was called more often than scripted")
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, dict):
            name = kwargs["tools"][0]["function"]["name"]
            message = AIMessage(content="", tool_calls=[{"name": name, "args": step, "id": "call_1"}])
        else:
            message = step
        message.usage_metadata = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        return ChatResult(generations=[ChatGeneration(message=message)])


def make_ctx(**agent_overrides: Any) -> DebateContext:
    first = {"id": "a1", "name": "A1", "role": "security", "model": "gpt-test", "provider": "openai"}
    first.update(agent_overrides)
    config = validate_config(
        {"agents": [first, {"id": "a2", "name": "A2", "role": "kiss", "model": "m2", "provider": "offline"}]},
        "test-config",
    )
    settings, warnings = resolve_settings(config, None, offline=False)
    assert warnings == []
    return DebateContext(settings)


def scripted(ctx: DebateContext, agent_id: str, *steps: Any) -> ScriptedChatModel:
    fake = ScriptedChatModel(script=list(steps))
    ctx._models[agent_id] = fake
    return fake


class _Out(TypedDict, total=False):
    out: Any


def in_node(make_call: Callable[[int], Any]) -> Any:
    """Run a call as the nodes do: inside a LangGraph node under the LLM retry policy, which
    retries the node while the failure it raises is retryable. ``make_call`` gets the node's
    attempt number."""

    def node(state: _Out, runtime: Runtime[None]) -> _Out:
        return {"out": make_call(node_attempt(runtime))}

    graph = StateGraph(_Out)
    graph.add_node("call", node, retry_policy=llm.RETRY)
    graph.add_edge(START, "call")
    return graph.compile().invoke({})["out"]


def complete(ctx: DebateContext, call: llm.Call, messages: list[BaseMessage]) -> llm.Reply:
    """How the nodes call it: the context's model and member config for the caller."""
    model, config = ctx.model(call.agent_id), ctx.member(call.agent_id)
    return in_node(lambda attempt: llm.complete(model, config, call, messages, attempt=attempt))


def complete_structured(
    ctx: DebateContext, call: llm.Call, messages: list[BaseMessage], schema: type[Any]
) -> tuple[Any, Any]:
    model, config = ctx.model(call.agent_id), ctx.member(call.agent_id)
    return in_node(  # type: ignore[no-any-return]
        lambda attempt: llm.complete_structured(model, config, call, messages, schema, attempt=attempt)
    )


CALL = llm.Call(agent_id="a1", phase="propose", round=1)
MESSAGES = llm.messages_for("system text", "## Problem\n\nIt must work.\n")


def member(**overrides: Any) -> AgentConfig:
    base = {"id": "a1", "name": "A1", "role": "security", "model": "gpt-test", "provider": "openai"}
    base.update(overrides)
    return AgentConfig.model_validate(base)


def _request() -> httpx.Request:
    return httpx.Request("POST", "http://127.0.0.1:9/v1/chat/completions")


def _openai_status(
    cls: type[openai.APIStatusError], status: int, headers: dict[str, str] | None = None
) -> Exception:
    response = httpx.Response(status, request=_request(), headers=headers or {})
    return cls(f"Error code: {status}", response=response, body=None)


# --- is_transient / status_code ---------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_transient_statuses(status: int) -> None:
    assert llm.is_transient(FakeHTTPError(status))
    assert llm.is_transient(ResponseOnlyError(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_permanent_statuses(status: int) -> None:
    assert not llm.is_transient(FakeHTTPError(status))
    assert not llm.is_transient(ResponseOnlyError(status))


@pytest.mark.parametrize(
    "exc",
    [
        TimeoutError("slow"),
        ConnectionResetError("reset"),
        ReadTimeout("read"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("peer closed"),
        openai.APITimeoutError(request=_request()),
        openai.APIConnectionError(request=_request()),
    ],
    ids=lambda e: type(e).__name__,
)
def test_timeouts_and_connection_errors_are_transient(exc: Exception) -> None:
    assert llm.is_transient(exc)


def test_real_openai_errors_classified() -> None:
    assert llm.is_transient(_openai_status(openai.RateLimitError, 429))
    assert llm.is_transient(_openai_status(openai.InternalServerError, 503))
    assert not llm.is_transient(_openai_status(openai.AuthenticationError, 401))
    assert not llm.is_transient(_openai_status(openai.NotFoundError, 404))
    assert not llm.is_transient(_openai_status(openai.BadRequestError, 400))
    assert not llm.is_transient(_openai_status(openai.PermissionDeniedError, 403))


@pytest.mark.parametrize("exc", [ValueError("bad"), KeyError("k"), RuntimeError("boom")])
def test_ordinary_exceptions_are_not_transient(exc: Exception) -> None:
    assert not llm.is_transient(exc)


def test_status_code_lookup() -> None:
    assert llm.status_code(FakeHTTPError(418)) == 418
    assert llm.status_code(ResponseOnlyError(502)) == 502
    assert llm.status_code(ValueError("x")) is None
    weird = Exception("x")
    weird.status_code = "503"  # type: ignore[attr-defined]
    assert llm.status_code(weird) is None


# --- retry_after_seconds / backoff_seconds ----------------------------------------------------


def test_retry_after_from_headers() -> None:
    assert llm.retry_after_seconds(FakeHTTPError(429, headers={"retry-after": "7"})) == 7.0
    assert llm.retry_after_seconds(FakeHTTPError(429, headers={"retry-after": "1.5"})) == 1.5
    assert llm.retry_after_seconds(FakeHTTPError(429, headers={"retry-after": "-3"})) == 0.0


def test_retry_after_absent_or_unparsable() -> None:
    assert llm.retry_after_seconds(FakeHTTPError(429)) is None
    assert llm.retry_after_seconds(FakeHTTPError(429, headers={"retry-after": "soon"})) is None
    assert llm.retry_after_seconds(ValueError("no response")) is None


def test_retry_after_from_real_openai_error_is_case_insensitive() -> None:
    exc = _openai_status(openai.RateLimitError, 429, headers={"Retry-After": "4"})
    assert llm.retry_after_seconds(exc) == 4.0


def test_backoff_honours_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALECTIC_RETRY_BASE_SECONDS", "0.01")
    for attempt in range(1, 6):
        assert llm.backoff_seconds(attempt, 5.0) >= 5.0
    assert llm.backoff_seconds(1, None) < 1.0


def test_backoff_grows_exponentially(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALECTIC_RETRY_BASE_SECONDS", "1")
    monkeypatch.setattr(llm.random, "uniform", lambda low, high: 1.0)
    assert [llm.backoff_seconds(n, None) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    # capped at 30 s before jitter
    assert llm.backoff_seconds(20, None) == 30.0


def test_backoff_grows_with_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALECTIC_RETRY_BASE_SECONDS", "1")
    # holds for every jitter value, so no seeding is needed
    for _ in range(200):
        first = llm.backoff_seconds(1, None)
        third = llm.backoff_seconds(3, None)
        assert 0.5 <= first <= 1.5
        assert 2.0 <= third <= 6.0
        assert third > first


def test_backoff_default_first_retry_after_a_fifth_of_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIALECTIC_RETRY_BASE_SECONDS")
    monkeypatch.setattr(llm.random, "uniform", lambda low, high: 1.0)
    assert llm.backoff_seconds(1, None) == 0.2


# --- describe_failure -------------------------------------------------------------------------


def test_describe_401_names_key_env_and_base_url() -> None:
    message = llm.describe_failure(FakeHTTPError(401, "invalid api key"), member(), CALL, 1)
    assert "a1 (propose, round 1)" in message
    assert "OPENAI_API_KEY" in message
    assert "http://127.0.0.1:9/v1" in message  # conftest's OPENAI_BASE_URL
    assert "401" in message


def test_describe_401_custom_endpoint() -> None:
    custom = member(baseUrl="http://localhost:8080/v1", apiKeyEnv="MY_LOCAL_KEY")
    message = llm.describe_failure(FakeHTTPError(401), custom, CALL, 1)
    assert "MY_LOCAL_KEY" in message
    assert "http://localhost:8080/v1" in message


def test_describe_401_openrouter_default_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENROUTER_BASE_URL")
    message = llm.describe_failure(FakeHTTPError(401), member(provider="openrouter"), CALL, 1)
    assert "OPENROUTER_API_KEY" in message
    assert "https://openrouter.ai/api/v1" in message


def test_describe_404_names_model() -> None:
    message = llm.describe_failure(FakeHTTPError(404, "model not found"), member(model="gpt-nope"), CALL, 1)
    assert "'gpt-nope'" in message
    assert "404" in message
    assert "not found" in message


def test_describe_403_names_model() -> None:
    message = llm.describe_failure(FakeHTTPError(403), member(model="gpt-locked"), CALL, 1)
    assert "'gpt-locked'" in message and "403" in message


def test_describe_400_context_length() -> None:
    exc = FakeHTTPError(
        400, "This model's maximum context length is 8192 tokens. However, you requested 9000"
    )
    message = llm.describe_failure(exc, member(model="small-ctx"), CALL, 1)
    assert "context length" in message
    assert "'small-ctx'" in message
    assert "summarization.threshold" in message


def test_describe_other_400_shows_detail() -> None:
    message = llm.describe_failure(FakeHTTPError(400, "temperature out of range\nmore"), member(), CALL, 1)
    assert "HTTP 400" in message
    assert "temperature out of range" in message
    assert "more" not in message


def test_describe_transient_counts_attempts() -> None:
    assert "after 4 attempts" in llm.describe_failure(FakeHTTPError(503, "unavailable"), member(), CALL, 4)
    assert "after 1 attempt:" in llm.describe_failure(TimeoutError("slow"), member(), CALL, 1)


# --- complete ---------------------------------------------------------------------------------


def test_complete_retries_transient_errors_then_succeeds() -> None:
    ctx = make_ctx()
    fake = scripted(ctx, "a1", FakeHTTPError(503), FakeHTTPError(429), AIMessage(content="the design"))

    reply = complete(ctx, CALL, MESSAGES)

    assert reply.text == "the design"
    assert len(fake.calls) == 3
    assert reply.usage.attempts == 3
    assert reply.usage.agent_id == "a1"
    assert reply.usage.phase == "propose"
    assert reply.usage.round == 1
    assert reply.usage.model == "gpt-test"
    assert reply.usage.provider == "openai"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (10, 5)
    assert reply.usage.latency_ms >= 0


def test_complete_passes_call_metadata() -> None:
    ctx = make_ctx()
    fake = scripted(ctx, "a1", AIMessage(content="ok"))
    complete(ctx, llm.Call(agent_id="a1", phase="critique", round=2, target="a2"), MESSAGES)
    seen = fake.metadata_seen[0]
    assert seen["dialectic_phase"] == "critique"
    assert seen["dialectic_agent"] == "a1"
    assert seen["dialectic_role"] == "security"
    assert seen["dialectic_round"] == 2
    assert seen["dialectic_target"] == "a2"
    assert [type(m).__name__ for m in fake.calls[0]] == ["SystemMessage", "HumanMessage"]


def test_complete_401_fails_at_once() -> None:
    ctx = make_ctx()
    fake = scripted(ctx, "a1", FakeHTTPError(401, "bad key"), AIMessage(content="never"))

    with pytest.raises(llm.CallFailed) as info:
        complete(ctx, CALL, MESSAGES)

    assert len(fake.calls) == 1
    failure = info.value
    assert failure.transient is False
    assert failure.attempts == 1
    assert failure.exit_code == 3
    assert isinstance(failure, ProviderError)
    assert "OPENAI_API_KEY" in str(failure)
    assert isinstance(failure.__cause__, FakeHTTPError)


def test_complete_gives_up_after_max_retries() -> None:
    ctx = make_ctx(maxRetries=2)
    fake = scripted(ctx, "a1", *[FakeHTTPError(503, "unavailable") for _ in range(5)])

    with pytest.raises(llm.CallFailed) as info:
        complete(ctx, CALL, MESSAGES)

    assert len(fake.calls) == 3  # one try + two retries
    assert info.value.transient is True
    assert info.value.attempts == 3
    assert "after 3 attempts" in str(info.value)


def test_complete_zero_retries() -> None:
    ctx = make_ctx(maxRetries=0)
    fake = scripted(ctx, "a1", TimeoutError("slow"), AIMessage(content="late"))
    with pytest.raises(llm.CallFailed) as info:
        complete(ctx, CALL, MESSAGES)
    assert len(fake.calls) == 1
    assert info.value.transient is True


def test_complete_waits_for_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(llm.time, "sleep", slept.append)
    ctx = make_ctx()
    scripted(ctx, "a1", FakeHTTPError(429, headers={"retry-after": "3"}), AIMessage(content="ok"))
    assert complete(ctx, CALL, MESSAGES).text == "ok"
    waits = [s for s in slept if s]  # (the retry policy itself waits 0 s: the wait is ours)
    assert len(waits) == 1
    assert waits[0] >= 3.0


def test_complete_list_content_is_joined() -> None:
    ctx = make_ctx()
    scripted(
        ctx,
        "a1",
        AIMessage(content=[{"type": "text", "text": "part one, "}, {"type": "text", "text": "two"}]),
    )
    assert complete(ctx, CALL, MESSAGES).text == "part one, two"


def test_complete_with_offline_model_built_from_settings() -> None:
    ctx = make_ctx()
    call = llm.Call(agent_id="a2", phase="propose", round=1)
    reply = complete(ctx, call, llm.messages_for("sys", "## Problem\n\nThe cache must survive restarts.\n"))
    assert isinstance(ctx._models["a2"], OfflineChatModel)
    assert "## Requirements Coverage" in reply.text
    assert "The cache must survive restarts." in reply.text
    assert reply.usage.provider == "offline"
    assert reply.usage.attempts == 1
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0


def test_complete_offline_outage_is_retried_then_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALECTIC_OFFLINE_FAIL", "a2:critique")
    ctx = make_ctx()
    call = llm.Call(agent_id="a2", phase="critique", round=1, target="a1")
    with pytest.raises(llm.CallFailed) as info:
        complete(ctx, call, MESSAGES)
    assert info.value.transient is True
    assert info.value.attempts == 4  # default maxRetries 3
    assert "503" in str(info.value)


# --- complete_structured ----------------------------------------------------------------------


SYN_CALL = llm.Call(agent_id="a1", phase="synthesize", round=2)
VALID = {"solutionMarkdown": "# Design", "tradeoffs": ["t"], "confidence": 70}


def test_structured_valid_first_time() -> None:
    ctx = make_ctx()
    fake = scripted(ctx, "a1", dict(VALID))
    result, usage = complete_structured(ctx, SYN_CALL, MESSAGES, Synthesis)
    assert isinstance(result, Synthesis)
    assert result.confidence == 70
    assert result.tradeoffs == ["t"]
    assert usage.attempts == 1
    assert len(fake.calls) == 1


def test_structured_invalid_then_valid_is_repaired() -> None:
    ctx = make_ctx()
    fake = scripted(ctx, "a1", {"solutionMarkdown": "x", "confidence": 500}, dict(VALID))

    result, usage = complete_structured(ctx, SYN_CALL, MESSAGES, Synthesis)

    assert result.confidence == 70
    assert len(fake.calls) == 2
    assert usage.attempts == 1  # the repair is part of the node's first attempt
    # both replies' tokens are counted
    assert (usage.input_tokens, usage.output_tokens) == (20, 10)
    repair = fake.calls[1]
    assert len(repair) == len(MESSAGES) + 1
    assert isinstance(repair[-1], HumanMessage)
    assert "failed validation" in str(repair[-1].content)
    assert "confidence" in str(repair[-1].content)
    assert "Synthesis" in str(repair[-1].content)


def test_structured_missing_tool_call_is_repaired() -> None:
    ctx = make_ctx()
    fake = scripted(
        ctx, "a1", AIMessage(content="I refuse to use the tool"), {"score": 55, "reason": "close"}
    )
    result, usage = complete_structured(ctx, SYN_CALL, MESSAGES, ConvergenceAssessment)
    assert result == ConvergenceAssessment(score=55, reason="close")
    assert usage.attempts == 1
    assert "I refuse to use the tool" in str(fake.calls[1][-1].content)


def test_structured_invalid_twice_fails() -> None:
    ctx = make_ctx()
    fake = scripted(ctx, "a1", {"solutionMarkdown": "x", "confidence": 500}, {"confidence": -1})

    with pytest.raises(llm.CallFailed) as info:
        complete_structured(ctx, SYN_CALL, MESSAGES, Synthesis)

    assert len(fake.calls) == 2
    assert info.value.transient is False
    assert info.value.attempts == 1  # a permanent failure: the node is not retried
    assert "invalid twice" in str(info.value)
    assert "a1 (synthesize, round 2)" in str(info.value)


def test_structured_transient_errors_retry_the_call_and_then_its_repair() -> None:
    ctx = make_ctx()
    fake = scripted(
        ctx,
        "a1",
        FakeHTTPError(500),
        {"confidence": 101, "solutionMarkdown": "x"},
        FakeHTTPError(502),
        dict(VALID),
    )
    result, usage = complete_structured(ctx, SYN_CALL, MESSAGES, Synthesis)
    assert result.confidence == 70
    assert len(fake.calls) == 4
    # attempt 1: 500 (the node retries); attempt 2: invalid, then its repair meets a 502;
    # attempt 3 sends the repair again: the invalid reply was billed, and is counted
    assert usage.attempts == 3
    assert "failed validation" in str(fake.calls[3][-1].content)
    assert usage.input_tokens > 0 and len(fake.calls[2]) == len(fake.calls[3])


def test_a_repair_that_keeps_failing_carries_the_billed_reply_s_usage() -> None:
    ctx = make_ctx(maxRetries=1)
    fake = scripted(
        ctx, "a1", {"confidence": 101, "solutionMarkdown": "x"}, FakeHTTPError(502), FakeHTTPError(502)
    )
    with pytest.raises(llm.CallFailed) as info:
        complete_structured(ctx, SYN_CALL, MESSAGES, Synthesis)
    assert len(fake.calls) == 3  # the call, its repair, the repair's one retry
    assert info.value.transient and not info.value.retryable
    assert info.value.usage is not None and info.value.usage.output_tokens > 0


def test_structured_permanent_error_is_not_repaired() -> None:
    ctx = make_ctx()
    fake = scripted(ctx, "a1", FakeHTTPError(404), dict(VALID))
    with pytest.raises(llm.CallFailed) as info:
        complete_structured(ctx, SYN_CALL, MESSAGES, Synthesis)
    assert len(fake.calls) == 1
    assert "'gpt-test'" in str(info.value)


def test_structured_with_offline_model() -> None:
    ctx = make_ctx()
    call = llm.Call(agent_id="a2", phase="convergence", round=1)
    result, usage = complete_structured(ctx, call, MESSAGES, ConvergenceAssessment)
    assert isinstance(result, ConvergenceAssessment)
    assert usage.attempts == 1
    assert usage.model == "m2"


def test_an_error_of_ours_is_not_taken_for_a_malformed_reply() -> None:
    """The SDK's "not JSON" errors are transient; the same error raised by our own code is a bug."""
    from dialectic.nodes.llm import is_malformed_reply

    def ours() -> None:
        "text".model_dump()  # type: ignore[attr-defined]

    try:
        ours()
    except AttributeError as exc:
        assert not is_malformed_reply(exc)
