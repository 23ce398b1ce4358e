"""The one place LLM calls are made: messages in, text or a validated object out, with usage.

Retrying is LangGraph's: every node that calls a model runs under ``RETRY``, a node
``RetryPolicy`` whose ``retry_on`` accepts exactly the failures marked ``retryable`` here, so
there is one retry layer (the OpenAI client is built with ``max_retries=0``) and a retry re-runs
the whole node, which renders its prompt again from its task. What the policy cannot do, this
module does before raising: honour ``Retry-After`` and wait a jittered exponential backoff
scaled to the first retry's 0.2 s (LangGraph's own wait knows no ``Retry-After``, and its jitter
is a flat 0–1 s that would multiply what a 10% fault rate costs). The agent's ``maxRetries``
caps its attempts: the node passes its attempt number in, from ``runtime.execution_info``.

Transient failures (429, 5xx, timeouts, connection errors, a malformed body) are retried;
anything else fails at once with a message that says what to do.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolCall, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.types import RetryPolicy
from pydantic import BaseModel, ValidationError

from dialectic.configs.schema import MAX_RETRIES, AgentConfig
from dialectic.debate.state import CallUsage
from dialectic.errors import ProviderError
from dialectic.providers import offline as offline_meta
from dialectic.providers.cache import RefreshingCache, is_cached
from dialectic.providers.concurrency import ConcurrencyGate
from dialectic.providers.factory import endpoint
from dialectic.providers.pricing import call_cost

T = TypeVar("T", bound=BaseModel)

_MAX_BACKOFF_SECONDS = 30.0


class CallFailed(ProviderError):
    """A failed call. ``transient``: retrying later may help; ``retryable``: the node's retry
    policy retries it now (transient, and the agent has retries left); ``usage``: what the
    replies it got before failing cost (they were billed: the debate's usage and budget count
    them)."""

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        attempts: int,
        retryable: bool = False,
        usage: CallUsage | None = None,
    ) -> None:
        super().__init__(message)
        self.transient = transient
        self.attempts = attempts
        self.retryable = retryable
        self.usage = usage


def _retryable(exc: Exception) -> bool:
    return isinstance(exc, CallFailed) and exc.retryable


# The waiting is done before the failure is raised (see the module docstring): the policy
# retries at once. Its cap is the largest maxRetries a config may set; each agent's own is
# applied through ``retryable``.
RETRY = RetryPolicy(
    max_attempts=MAX_RETRIES + 1, initial_interval=0.0, backoff_factor=1.0, jitter=False, retry_on=_retryable
)


@dataclass(frozen=True)
class Call:
    """Who calls, in which phase and round: for metadata, usage records and error messages."""

    agent_id: str
    phase: str
    round: int
    target: str | None = None
    speaks_as: str | None = None  # what kind of text the phase asks for (the phase table's say)


@dataclass(frozen=True)
class Reply:
    text: str
    usage: CallUsage
    tool_calls: tuple[ToolCall, ...] = ()  # the calls the model made, when it was given tools


# Marks the end of a prefix a provider's prompt cache should keep (Anthropic's 5-minute cache).
CACHE_BREAKPOINT = {"type": "ephemeral"}


def messages_for(system: str, user: str, *, shared: int | None = None) -> list[BaseMessage]:
    """The system and user messages of a call. ``shared``: for a provider that caches only marked
    prefixes, the length of the user message's shared part (``prompts.shared_length``); the
    system message (the same for every call) and that part are each marked as a prefix to keep."""
    if shared is None:
        return [SystemMessage(content=system), HumanMessage(content=user)]
    blocks: list[str | dict[str, Any]] = [
        {"type": "text", "text": user[:shared], "cache_control": CACHE_BREAKPOINT}
    ]
    if shared < len(user):
        blocks.append({"type": "text", "text": user[shared:]})
    if not user[:shared].strip():  # nothing shared (an empty block is an API error)
        blocks = [{"type": "text", "text": user}]
    return [
        SystemMessage(content=[{"type": "text", "text": system, "cache_control": CACHE_BREAKPOINT}]),
        HumanMessage(content=blocks),
    ]


def marked_last(messages: list[BaseMessage], *, tool_results: bool = True) -> list[BaseMessage]:
    """``messages`` with the end of the last one that can carry a mark (not the model's own
    turn; not a tool result unless ``tool_results``) marked as a prefix to keep, for a provider
    that caches only marked prefixes: a call that goes on in turns (tools) then reads all that
    from the cache in its next turn. An empty block is left unmarked (the API refuses it)."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, AIMessage) or (isinstance(message, ToolMessage) and not tool_results):
            continue
        content = message.content
        parts: list[Any] = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
        end = parts[-1] if parts else None
        if not isinstance(end, dict) or not str(end.get("text") or "").strip():
            return messages
        parts[-1] = {**end, "cache_control": CACHE_BREAKPOINT}
        return [*messages[:index], message.model_copy(update={"content": parts}), *messages[index + 1 :]]
    return messages


def complete(
    model: BaseChatModel,
    member: AgentConfig,
    call: Call,
    messages: list[BaseMessage],
    *,
    attempt: int = 1,
    gate: ConcurrencyGate | None = None,
    response_format: dict[str, Any] | None = None,
    tools: Sequence[BaseTool] = (),
    tool_choice: Any = None,
) -> Reply:
    """The reply's text. ``response_format`` (OpenAI's) asks for a shape without validating it:
    the caller parses the text, leniently. ``tools``: the model may call these (the caller runs
    them), unless ``tool_choice`` (the integration's "none") offers them only. ``attempt``: the
    node's attempt (1 the first time); ``gate``: held while the request is in flight (not while
    waiting to retry)."""
    started = time.monotonic()
    runnable: Any = model
    if response_format:
        runnable = model.bind(response_format=response_format)
    elif tools:
        runnable = model.bind_tools(list(tools), tool_choice=tool_choice)  # None: the model's choice
    message = _invoke(runnable, messages, member, call, attempt, gate)
    calls = tuple(getattr(message, "tool_calls", None) or ()) if tools and tool_choice is None else ()
    return Reply(text_of(message), _usage(member, call, [message], started, attempt), calls)


def complete_structured(
    model: BaseChatModel,
    member: AgentConfig,
    call: Call,
    messages: list[BaseMessage],
    schema: type[T],
    *,
    attempt: int = 1,
    gate: ConcurrencyGate | None = None,
    on_repair: Callable[[str], None] | None = None,
) -> tuple[T, CallUsage]:
    """A validated ``schema`` instance. An invalid reply gets one repair attempt that shows the
    model what was wrong (``on_repair`` is told why, for a warning); a second invalid reply is a
    failure, never a silent default.

    The model is given the schema as JSON Schema and its reply is validated here, so that an
    invalid reply comes back as data (with its usage) rather than as an exception.
    """
    json_schema = schema.model_json_schema()

    def structured(chat_model: BaseChatModel) -> Any:
        return chat_model.with_structured_output(json_schema, include_raw=True, method="json_schema")

    runnable = structured(model)
    started = time.monotonic()
    raws: list[AIMessage] = []
    error: object = None
    repaired = fresh = False
    while True:
        if raws:
            result, attempt = _after_reply(runnable, messages, member, call, attempt, gate, raws, started)
        else:
            result = _invoke(runnable, messages, member, call, attempt, gate)
        raws.append(result["raw"])
        error = result.get("parsing_error")
        if error is None:
            try:
                return schema.model_validate(result.get("parsed")), _usage(
                    member, call, raws, started, attempt
                )
            except ValidationError as exc:
                error = exc
        if not fresh and is_cached([result["raw"]]) and isinstance(model.cache, BaseCache):
            # Replayed from --cache: it (and its repair) would come back invalid on every
            # replay. The model itself is asked again, and its answer replaces the entry. The
            # replayed reply cost nothing: it is not counted.
            fresh = True
            raws.clear()
            runnable = structured(model.model_copy(update={"cache": RefreshingCache(model.cache)}))
            continue
        if repaired:
            break
        repaired = True
        if on_repair is not None:
            on_repair(str(error).splitlines()[0][:200] if str(error) else type(error).__name__)
        messages = [
            *messages,
            HumanMessage(
                content=(
                    f"Your previous reply could not be used:\n\n{text_of(result['raw'])[:4000]}\n\n"
                    f"It failed validation: {str(error)[:1000]}\n\n"
                    f"Reply again with only a valid {schema.__name__} object."
                )
            ),
        ]
    raise CallFailed(
        f"{call.agent_id} ({call.phase}, round {call.round}): the model's structured reply was invalid "
        f"twice: {str(error)[:300]}",
        transient=False,
        attempts=attempt,
        usage=_usage(member, call, raws, started, attempt),
    )


def _after_reply(
    runnable: Any,
    messages: list[BaseMessage],
    member: AgentConfig,
    call: Call,
    attempt: int,
    gate: ConcurrencyGate | None,
    billed: list[AIMessage],
    started: float,
) -> tuple[Any, int]:
    """A request after an unusable reply (its repair, or a fresh ask), and the attempt it
    succeeded at: retried here while the failure is retryable, because the node's retry would
    start the call afresh and the reply already billed would be counted nowhere. A failure that
    ends it carries the usage of the replies so far."""
    while True:
        try:
            return _invoke(runnable, messages, member, call, attempt, gate), attempt
        except CallFailed as exc:
            if not exc.retryable:
                exc.usage = _usage(member, call, billed, started, attempt)
                raise
            attempt += 1  # _invoke waited its backoff


def _invoke(
    runnable: Any,
    messages: list[BaseMessage],
    member: AgentConfig,
    call: Call,
    attempt: int,
    gate: ConcurrencyGate | None,
) -> Any:
    config = {
        "metadata": {
            offline_meta.META_PHASE: call.phase,
            offline_meta.META_AGENT: call.agent_id,
            offline_meta.META_ROLE: member.role,
            offline_meta.META_ROUND: call.round,
            offline_meta.META_TARGET: call.target,
            offline_meta.META_SPEAKS_AS: call.speaks_as,
        },
        "run_name": f"{call.phase}:{call.agent_id}",
        "tags": [f"phase:{call.phase}", f"agent:{call.agent_id}"],
    }
    try:
        return _send(runnable, messages, config, member, gate)
    except Exception as exc:
        transient = is_transient(exc)
        retryable = transient and attempt <= member.maxRetries
        if retryable:
            time.sleep(backoff_seconds(attempt, retry_after_seconds(exc)))
        raise CallFailed(
            describe_failure(exc, member, call, attempt),
            transient=transient,
            attempts=attempt,
            retryable=retryable,
        ) from exc


def _send(
    runnable: Any,
    messages: list[BaseMessage],
    config: dict[str, Any],
    member: AgentConfig,
    gate: ConcurrencyGate | None,
) -> Any:
    """One request, holding a place in flight at the agent's endpoint while it is out."""
    if gate is None:
        return runnable.invoke(messages, config=config)
    with gate.slot(endpoint(member)) as slot:
        try:
            return runnable.invoke(messages, config=config)
        except Exception as exc:
            if is_overload(exc):
                # Lowers the endpoint's limit as the slot is given back, so the retry, after
                # its wait, is admitted under the lowered limit.
                slot.overloaded(retry_after_seconds(exc))
            raise


def status_code(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    if code is None:
        response = getattr(exc, "response", None)
        code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


# Failures worth another attempt: timeouts, dropped connections, and a reply that is not even
# valid JSON (a proxy's error page, a cut-off body) — a glitch of the transport, not of the call.
_TRANSIENT_NAMES = (
    "Timeout",
    "Connection",
    "Connect",  # httpx.ConnectError, which some clients (ollama's streaming path) let through
    "RemoteProtocol",
    "ReadError",
    "JSONDecodeError",
    "APIResponseValidation",
)


# What the OpenAI SDK and langchain-openai raise when a 200 reply's body is not the API's JSON
# (an HTML login or error page of a proxy): the SDK hands the body on as a string.
_NOT_JSON_MESSAGES = ("Unexpected response type", "'str' object has no attribute")


# Client libraries that read a provider's reply: an error raised inside them is about the reply.
_CLIENT_MODULES = ("openai", "langchain_openai", "ollama", "langchain_ollama", "httpx")


def is_malformed_reply(exc: BaseException) -> bool:
    """A reply that is not the API's JSON at all: cut off, or a page of HTML. Only errors raised
    while a client library read the reply count, so a bug of ours is never retried as one."""
    if not ("JSONDecodeError" in type(exc).__name__ or isinstance(exc, ValueError | AttributeError)):
        return False
    if not ("JSONDecodeError" in type(exc).__name__ or str(exc).startswith(_NOT_JSON_MESSAGES)):
        return False
    return any(module.split(".")[0] in _CLIENT_MODULES for module in _traceback_modules(exc))


def _traceback_modules(exc: BaseException) -> list[str]:
    modules = []
    trace = exc.__traceback__
    while trace is not None:
        modules.append(str(trace.tb_frame.f_globals.get("__name__", "")))
        trace = trace.tb_next
    return modules


def is_transient(exc: BaseException) -> bool:
    code = status_code(exc)
    if code is not None and code >= 400:
        return code in (408, 409, 429) or code >= 500
    return is_malformed_reply(exc) or any(word in type(exc).__name__ for word in _TRANSIENT_NAMES)


# What a provider answers when it wants fewer calls at once: rate limited, and Anthropic's
# "overloaded". (A 503 is more often "down" than "too busy": it is retried, but does not shrink
# the limit, or a short outage would leave the rest of the debate nearly sequential.)
_OVERLOAD_CODES = (429, 529)


def is_overload(exc: BaseException) -> bool:
    return status_code(exc) in _OVERLOAD_CODES


def retry_after_seconds(exc: BaseException) -> float | None:
    """Retry-After in seconds, given as a number or as an HTTP date."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    value = headers.get("retry-after") if headers else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds()) if when.tzinfo else None


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter around it, capped; never sooner than Retry-After."""
    base = float(os.environ.get("DIALECTIC_RETRY_BASE_SECONDS", "0.2"))
    delay = min(_MAX_BACKOFF_SECONDS, base * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
    return float(max(delay, retry_after or 0.0))


def describe_failure(exc: BaseException, member: AgentConfig, call: Call, attempts: int) -> str:
    where = endpoint(member)
    who = f"{call.agent_id} ({call.phase}, round {call.round})"
    base_url = where.base_url or "the provider's default URL"
    code = status_code(exc)
    detail = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    if code == 401:
        return f"{who}: the key in {where.key_env} was rejected by {base_url} (HTTP 401); check the key and the base URL"
    if code == 403:
        return f"{who}: access denied by {base_url} (HTTP 403) for model {member.model!r}; check the key's permissions"
    if code == 404:
        return f"{who}: model {member.model!r} not found at {base_url} (HTTP 404); check the agent's model name and base URL"
    if code == 400 and "context" in detail.lower():
        return (
            f"{who}: the prompt is longer than {member.model!r} accepts (HTTP 400 context length); lower "
            "debate.summarization.threshold or use a model with a longer context"
        )
    tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
    if is_malformed_reply(exc):
        return (
            f"{who}: {base_url} sent a reply that is not the API's JSON{tries} (cut off, or an HTML page: "
            f"a proxy, a login page or a wrong base URL?): {detail[:120]}"
        )
    if code is not None and code < 500 and code != 429:
        return f"{who}: request rejected by {base_url} (HTTP {code}): {detail}"
    return f"{who}: provider failed{tries}: {detail}"


def text_of(message: Any) -> str:
    content = getattr(message, "content", "")
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)


def _usage(
    member: AgentConfig, call: Call, messages: list[AIMessage], started: float, attempts: int
) -> CallUsage:
    input_tokens = output_tokens = cached_input_tokens = written = 0
    for message in messages:
        usage = getattr(message, "usage_metadata", None) or {}
        input_tokens += int(usage.get("input_tokens", 0))
        output_tokens += int(usage.get("output_tokens", 0))
        cached_input_tokens += prompt_cache_hits(message)
        written += prompt_cache_writes(message)
    cached_input_tokens = min(cached_input_tokens, input_tokens)
    written = min(written, input_tokens - cached_input_tokens)
    cached = is_cached(messages)
    return CallUsage(
        cached=cached,
        cost_usd=0.0
        if cached
        else call_cost(member, input_tokens, output_tokens, cached_input_tokens, written),
        agent_id=call.agent_id,
        phase=call.phase,
        round=call.round,
        model=member.model,
        provider=member.provider,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_input_tokens=cached_input_tokens,
        cache_write_input_tokens=written,
        latency_ms=int((time.monotonic() - started) * 1000),
        attempts=attempts,
    )


def prompt_cache_hits(message: AIMessage) -> int:
    """Prompt tokens of one reply that the provider's prompt cache served. LangChain names them
    ``cache_read`` (from OpenAI-compatible ``prompt_tokens_details.cached_tokens`` and Anthropic's
    ``cache_read_input_tokens``); DeepSeek reports only ``prompt_cache_hit_tokens``, which
    langchain-openai leaves in the raw ``token_usage``."""
    usage = getattr(message, "usage_metadata", None) or {}
    details = usage.get("input_token_details") or {}
    if details.get("cache_read"):
        return int(details["cache_read"])
    raw = (getattr(message, "response_metadata", None) or {}).get("token_usage") or {}
    return int(raw.get("prompt_cache_hit_tokens") or 0)


def prompt_cache_writes(message: AIMessage) -> int:
    """Prompt tokens of one reply written to the provider's prompt cache (billed above the input
    rate: Anthropic's ``cache_creation_input_tokens``, which LangChain names ``cache_creation``,
    or splits by lifetime into ``ephemeral_5m_input_tokens``/``ephemeral_1h_input_tokens``)."""
    usage = getattr(message, "usage_metadata", None) or {}
    details = usage.get("input_token_details") or {}
    by_lifetime = sum(
        int(details.get(key) or 0) for key in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens")
    )
    return by_lifetime or int(details.get("cache_creation") or 0)
