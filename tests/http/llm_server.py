#!/usr/bin/env python3
"""An LLM server for tests and benchmarks, on loopback only: OpenAI's Chat Completions API, and
Ollama's native chat API.

Standard library only (``http.server.ThreadingHTTPServer``, one daemon thread per connection),
so the real ``openai`` client, ``langchain_openai.ChatOpenAI``, the ``ollama`` client and
``langchain_ollama.ChatOllama`` can be exercised over real HTTP with no real model behind them.
Both APIs share one pipeline: the same checks (where the APIs agree), replies, token counts,
settings, faults and log; only how requests, replies and errors are spelled differs.

OpenAI endpoints (with or without the ``/v1`` prefix; base URL :attr:`LLMServer.url`):

- ``POST /v1/chat/completions``: non-streaming, or SSE streaming (``data: {...}`` chunks, then
  ``data: [DONE]``; with ``stream_options.include_usage`` a last chunk carries the usage).
  Deterministic: the same request body (``stream``/``stream_options`` aside) gets the same reply.
  - plain text: a Markdown design answer (with Dialectic's issue-ledger JSON block at its end when
    the prompt asks for one: see :func:`ledger_block`) that quotes a sentence of the last user message's
    ``## Problem`` section, if it has one, and, if the conversation holds tool results, an
    ``## Evidence`` section quoting them (see Tools); with ``reply_tokens`` N, exactly ``4 * N``
    characters (``completion_tokens`` N): the same answer extended with ``## Further Notes`` drawn
    from the same seeded vocabulary, or cut (the last line then ends early);
  - ``response_format`` ``json_schema``: JSON valid against the schema; ``json_object``: a JSON object;
  - ``tools``: tool calls, as the deterministic agent of Tools below decides.
  Usage in every reply: ``prompt_tokens = ceil(chars / 4)``, chars counted as the TypeScript
  tool's stub counts them: all message contents, tool results included, the arguments of
  assistant tool calls, and the JSON text (``JSON.stringify``'s, no spaces) of the request's
  ``tools`` and of its ``response_format`` schema; ``completion_tokens = ceil(chars of the reply
  content, or of the arguments of all its tool calls, / 4)``; ``prompt_tokens_details.cached_tokens``
  is 0, or with ``prompt_cache`` the cacheable characters (see the log's ``cacheable_chars``) ÷ 4,
  rounded down (at most ``prompt_tokens``).
- ``GET /v1/models`` and ``GET /v1/models/{id}``.
- Errors: ``{"error": {"message", "type", "param", "code"}}``.

Ollama endpoints (base URL :attr:`LLMServer.root_url`, no ``/v1``):

- ``POST /api/chat`` (``{"model", "messages", "stream", "format", "options", "tools"}``), read as
  the equivalent OpenAI request (see :func:`ollama_body`) and answered alike: ``format`` ``"json"``
  as ``json_object``, a JSON schema as ``json_schema`` (the content is JSON valid against it);
  ``options.num_predict`` caps the reply (``done_reason: "length"``); ``tools``: tool calls as the
  agent of Tools below decides (Ollama has no ``tool_choice``: always ``"auto"``); assistant ``tool_calls`` carry no ids and object
  ``arguments``, ``tool`` messages no ``tool_call_id`` (they answer the calls in order). Ollama
  does not pair tool results with calls strictly, so only the ``tools`` checks apply.
  ``stream`` is true unless ``false`` (as in Ollama): newline-delimited JSON
  (``application/x-ndjson``), ``{"model", "created_at", "message": {"role": "assistant",
  "content": piece}, "done": false}`` per piece of text (tool calls come whole, in one chunk), then
  ``{..., "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop" |
  "length", "total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
  "eval_count", "eval_duration"}``. Unstreamed: one such object, ``done: true``, holding the whole
  ``message`` (``tool_calls``: ``[{"function": {"index", "name", "arguments": {...}}}]``).
  ``prompt_eval_count``/``eval_count`` are the ``prompt_tokens``/``completion_tokens`` above, in
  every reply, streamed or not. The same request (``stream`` aside) gets the same reply.
- ``GET /api/tags``: the served models (``models`` setting, else a default list) — what
  ``ChatOllama(validate_model_on_init=True)`` checks the model against. A model without a tag is
  served as ``:latest`` (``llama3.2`` is ``llama3.2:latest`` of the ``models`` setting).
- Errors: ``{"error": "message"}`` (what the ``ollama`` client raises ``ResponseError`` with),
  the same statuses as the OpenAI API (``model "x" not found, try pulling it first`` for 404).
  A prompt over ``context_limit_tokens`` is refused with 400 here too (Ollama itself would
  truncate it to ``num_ctx``).

Both APIs (below, a *chat completion* is a request to either chat endpoint, ``/v1/chat/completions``
or ``/api/chat``; a ``malformed`` reply is its JSON, or a stream's line, cut off mid-way):

- Control (not logged): ``GET /_log`` (the log, a JSON list), ``GET /_stats``,
  ``GET /_settings``, ``POST /_settings`` (JSON object of settings, as :meth:`LLMServer.set`),
  ``POST /_reset`` (clears the log and the prompt cache, re-seeds the fault generator), ``POST /_hold`` and
  ``POST /_release`` (see :meth:`LLMServer.hold`), ``GET /_health``.

Settings (constructor keywords, :meth:`LLMServer.set`, ``POST /_settings`` or command-line flags):

``latency_ms``            delay before every chat completion is answered
``fast_status_faults``    drawn 429/5xx faults are answered at once, before the latency (as a
                          gateway or a rate limiter would); off by default
``seed``                  seed of the fault draws (setting it re-seeds)
``faults``                ``{kind: probability}``; kinds: ``"429"``, ``"500"``, ``"503"`` (any
                          4xx/5xx code works), ``"hang"``, ``"malformed"``, ``"html"`` (200 with
                          an HTML page, as a proxy's login page), ``"schema_invalid"``.
                          Each chat completion that passes the deterministic rules draws one
                          number from a seeded ``random.Random``: runs are reproducible.
``fail_next``             a list of fault kinds applied, in order, to the next chat completions
                          that reach the fault draw (None: no fault for that one)
``retry_after``           ``Retry-After`` of 429 replies, in seconds (None: no header)
``hang_seconds``          how long a ``hang`` lasts (then the reply is sent normally); stopping
                          the server ends every hang at once, closing the connection unanswered
``fail_models``           ``{model: status or fault kind}``: every request for that model fails so
``api_key``               if set, a different ``Authorization: Bearer`` key gets 401
``models``                if set, the only models served; any other gets 404 ``model_not_found``
``context_limit_tokens``  a prompt over this many tokens gets 400 ``context_length_exceeded``
``log_path``              also append every finished request's log entry to this JSON-lines file
``record_bodies``         keep each request's JSON body in its log entry (``"body"``)
``stream_chunk_chars``    characters of content per streamed chunk
``tool_turns``            how many tool-calling turns the agent takes on its own (``tool_choice``
                          absent or ``"auto"``); 2 by default, 0: it never calls a tool unasked
``parallel_tool_calls``   tool calls per such turn (1 by default); a request's own
                          ``parallel_tool_calls: false`` makes it 1
``tool_script``           scripted tool calls instead of the agent's own choice: a list of turns,
                          each a non-empty list of ``{"name": ..., "arguments": {...}}`` calls
                          (see Tools); ``[]`` (the default): the agent chooses
``reply_tokens``          plain-text replies (not JSON, not tool calls) of exactly this many
                          tokens, ``4 * N`` characters (``--reply-tokens N``); None (the
                          default): the answer's own length
``in_flight_limit``       a chat completion arriving while this many are being served gets 429
                          ``rate_limit_exceeded`` at once (``Retry-After`` as ``retry_after``
                          says), as a provider's concurrency limit (``--max-in-flight N``); which
                          ones depends only on the order of arrival; None (the default): no limit
``prompt_cache``          report ``prompt_tokens_details.cached_tokens`` as a provider's prompt
                          prefix cache would (``--prompt-cache``; off by default: 0). Ollama's
                          replies have no such count. The log measures the cache either way

Order of the rules: auth (401, every API path), then for a chat completion: body (400, the tool
checks of Tools included), ``in_flight_limit`` (429), the prompt-cache measure (see the log's
``cacheable_chars``), latency, hold (see :meth:`LLMServer.hold`), model allow-list (404),
``fail_models``, context limit (400), then one fault draw (``fail_next`` first, else random).
Requests of a tool loop are chat completions like any other: every fault applies to them.
``schema_invalid`` applies only to replies in ``json_schema`` or with tool calls (for the agent's
calls: the first call's arguments then violate its function's ``parameters``); drawn for any
other request, it is not applied (``fault`` stays None in the log).

Tools. The server plays a deterministic tool-using agent that knows three tools, with these
arguments: ``list_files {"path": ...}``, ``file_read {"path": ...}``, ``context_search {"term": ...}``
(other offered tools it calls only when ``tool_choice`` forces it). Its candidate calls, best first,
among the known tools the request offers:

1. ``list_files {"path": "."}``;
2. ``file_read`` of each file named in an earlier ``list_files`` or ``context_search`` result that
   succeeded (never a path it has not seen): source and docs first (``.py``, ``.ts``, ``.md``,
   ``README``...), then configuration (``.json``, ``.toml``, ``.yaml``...), then the rest (hidden
   and vendored paths too); binaries (``.png``, ``.zip``...) never; each rank in order of first
   appearance;
3. ``list_files`` of each directory seen so (``"type": "dir"``, a trailing ``/``...);
4. ``context_search`` of each problem term: the words of 4+ letters of the last user message's
   ``## Problem`` section (else of the whole message), stop words aside, lower-cased, longest
   first, then in order of appearance.

A call already made in the conversation (same tool, same path or term) is no candidate.

- ``tool_choice`` absent or ``"auto"``: while the conversation has fewer than ``tool_turns``
  assistant messages with ``tool_calls`` and a candidate is left, the reply is the first
  ``parallel_tool_calls`` candidates, as tool calls; else the reply is as without tools.
  With a ``tool_script``, the script decides instead: while the conversation has fewer assistant
  messages with ``tool_calls`` than the script has turns, the reply is the script's next turn
  (turn ``n`` for a conversation with ``n`` such messages), every call of it exactly as written,
  whatever the request offers, ``tool_turns`` or ``parallel_tool_calls`` say and whether the
  path or term was ever seen (a test can make a model ask for ``../secret`` or ``.env``); after
  the script, the reply is as without tools. Ids, determinism, usage, the log and faults are as
  for the agent's own calls (``schema_invalid`` breaks the first scripted call's arguments).
- ``"none"``: never a tool call.
- ``"required"``: the first ``parallel_tool_calls`` candidates, whatever ``tool_turns`` (made calls
  again if none is left); if it has none at all (it knows none of the tools, or knows only
  ``file_read`` and has seen no path), one call of the first tool, with arguments made from its
  ``parameters`` schema.
- A named function: one call of it, its first candidate (made calls again if none is left); if it
  has none (an unknown tool, or ``file_read`` before any path was seen), with arguments made from
  its schema.

Tool-call ids are derived from the request body, so they too are deterministic. Paths are found
leniently in results: ``{"status": "success", "result": ...}`` or any JSON (an object's
``path``/``file``/``filename`` key, strings in lists of ``entries``/``files``/``paths``/
``matches``...), or plain text (tokens that look like file paths); a result ``{"status":
"error", "error": ...}`` names none. The final answer's ``## Evidence`` section has one line per
tool result (the first 12): ``Evidence from `path`: excerpt`` for ``file_read`` (the first line
with a problem term in it, else the first line with a letter or digit; at most 160 characters),
``Listing of `path` named `a`, `b`...`` and ``Search for `term` named ...`` (up to 5 paths, else
``returned: excerpt``), ``Tool `name` failed for `path`: error`` for an error result.

Checks (400 ``invalid_request_error``, with these codes, as OpenAI rejects them):
``invalid_tools``: ``tools`` not a list of ``{"type": "function", "function": {"name": ...,
"parameters": {...}}}`` (name: 1 to 64 letters, digits, ``_`` or ``-``); ``invalid_tool_choice``:
``tool_choice`` naming no offered function, ``"required"`` or a function without tools, or another
value; ``invalid_messages``: a message without a known role, an assistant ``tool_calls`` entry
without ``id``, ``function.name`` or ``function.arguments`` (``content`` may be null beside
``tool_calls``); ``invalid_tool_call_id``: a ``tool`` message without ``tool_call_id``, or
answering no call of the tool-calling assistant message just before it (tool messages between);
``tool_calls_unanswered``: a tool call no tool message answers before the next other message, or
the end. Ollama's ``/api/chat`` (400 ``{"error": ...}``; the log's ``error`` is the code):
``invalid_body`` (no ``model``: ``model is required``; ``messages`` or ``options`` of the wrong
type), ``invalid_messages`` (a role other than ``system``, ``user``, ``assistant``, ``tool``; a
tool call without a function name or with non-object arguments), ``invalid_format`` (neither
``"json"`` nor a schema object), and ``invalid_tools`` as above.

Log entries (``server.log``: copies, oldest first; ``GET /_log``):

``id``, ``method``, ``path``, ``model``, ``stream``
``api``                    ``"ollama"`` for ``/api/...`` paths, ``"openai"`` for the others
``started``, ``ended``     epoch seconds; an entry is finished just before the last bytes of its
                           reply go out, so a client holding a whole reply finds its entry complete
``duration_ms``            ``ended - started``
``status``                 None if no reply was sent (a hang ended by ``stop()``)
``kind``                   ``text``, ``json_schema``, ``json_object`` or ``tool_calls``
``fault``, ``fault_detail`` the fault applied, and for ``schema_invalid`` what it violates;
                           ``in_flight_limit`` refusals are fault ``"429"``, detail
                           ``"in_flight_limit"``
``in_flight``              API requests being served when this one started, this one included
``prompt_tokens``, ``completion_tokens``, ``total_tokens``, ``cached_tokens``
                           exactly the usage the reply reported; 0 when it reported none
``prompt_chars``           characters of the prompt as a prefix cache sees it: the JSON of
                           ``tools`` and of the ``response_format`` schema, then each message's
                           role, text and tool-call arguments, in order (a little more than
                           ``prompt_tokens`` counts: the role names); 0 for requests refused
                           before the measure (body errors, ``in_flight_limit``)
``cacheable_chars``        how much of that a prefix cache could serve, whether ``prompt_cache``
                           is on or not: its longest prefix, in whole blocks of 256 characters,
                           that an earlier measured chat completion's prompt began with (in order
                           of arrival, so requests sent at once find each other's prefixes)
``usage_reported``         whether the reply carried usage (errors, malformed replies and OpenAI
                           streams without ``include_usage`` do not; Ollama replies always do)
``error``                  the error code sent (for Ollama, whose errors have no code, the code
                           the OpenAI API would have sent)
``body``                   with ``record_bodies``: the request's JSON body as received
``authorization``          the request's ``Authorization`` header as received (None: none), so a
                           test can check which key reached which server
``tool``, ``tools_called`` for a reply with tool calls, the name of the first function called and
                           the names of all (``[]`` for other replies)
``tools_offered``          the names of the functions in the request's ``tools`` (``[]``: none)
``tool_results``           how many ``tool`` messages the request carried (0 on the first turn of
                           a tool loop, then growing with each turn)

Helpers: ``max_in_flight()``, ``in_flight()``, ``token_totals()``, ``requests(...)`` (Ollama's:
``requests("/api/chat")``), ``cacheable_share()`` (sum of ``cacheable_chars`` ÷ sum of
``prompt_chars`` over the log),
``wait_for(predicate)``, ``clear_log()``, ``reset()``, ``hold()``/``release()``, ``stats()``.

Use from Python (tests load this file with ``importlib``; see ``tests/http/conftest.py``)::

    server = LLMServer(latency_ms=0, faults={"429": 0.1}, seed=7).start()
    client = openai.OpenAI(base_url=server.url, api_key="k", max_retries=0)
    ollama_model = ChatOllama(model="llama3.2", base_url=server.root_url)
    ...
    server.set(faults={}, fail_models={})
    server.stop()

or as a script (prints ``LISTENING http://127.0.0.1:PORT/v1`` on stdout once serving; Ollama's
base URL is that without ``/v1``)::

    python tests/http/llm_server.py --port 0 --latency-ms 300 --fault 429=0.1 --seed 7
"""

import argparse
import contextlib
import copy
import hashlib
import json
import math
import random
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

FAULT_KINDS = ("429", "500", "503", "hang", "malformed", "html", "schema_invalid")
# What a proxy's login or error page looks like to an API client: 200, but HTML, not the API.
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Proxy login</body></html>"
DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "google/gemini-2.5-flash-lite")
_STATUS_FAULT = re.compile(r"^[45]\d\d$")


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    latency_ms: float = 0.0
    fast_status_faults: bool = False  # answer drawn 429/5xx faults before the latency
    seed: int = 0
    faults: dict[str, float] = field(default_factory=dict)
    fail_next: tuple[str | None, ...] = ()
    retry_after: float | None = 0
    hang_seconds: float = 3600.0
    fail_models: dict[str, int | str] = field(default_factory=dict)
    api_key: str | None = None
    models: tuple[str, ...] | None = None
    context_limit_tokens: int | None = None
    log_path: str | None = None
    record_bodies: bool = False
    stream_chunk_chars: int = 24
    tool_turns: int = 2  # tool-calling turns the agent takes when tool_choice is "auto"
    parallel_tool_calls: int = 1  # calls per tool-calling turn
    # Scripted turns for tool_choice "auto": each a tuple of {"name", "arguments"} calls.
    tool_script: tuple[tuple[dict[str, Any], ...], ...] = ()
    reply_tokens: int | None = None  # plain-text replies of exactly this many tokens
    in_flight_limit: int | None = None  # chat completions served at once; one more gets 429
    prompt_cache: bool = False  # report cached prompt tokens, as a provider's prefix cache

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["fail_next"] = list(self.fail_next)
        data["tool_script"] = [[copy.deepcopy(call) for call in turn] for turn in self.tool_script]
        data["models"] = list(self.models) if self.models is not None else None
        return data


SETTING_NAMES = frozenset(f.name for f in fields(Settings))


def _fault_kind(value: object, where: str) -> str:
    kind = str(value)
    if kind not in FAULT_KINDS and not _STATUS_FAULT.match(kind):
        raise ValueError(
            f"{where}: unknown fault {value!r}; use one of {', '.join(FAULT_KINDS)} or a 4xx/5xx code"
        )
    return kind


def _updated(settings: Settings, changes: dict[str, Any]) -> Settings:
    unknown = sorted(set(changes) - SETTING_NAMES)
    if unknown:
        raise TypeError(f"unknown setting(s) {unknown}; known: {sorted(SETTING_NAMES)}")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "faults":
            faults = {_fault_kind(k, "faults"): float(p) for k, p in dict(value or {}).items()}
            if any(not 0 <= p <= 1 for p in faults.values()) or sum(faults.values()) > 1 + 1e-9:
                raise ValueError(f"faults: probabilities must be in [0, 1] and sum to at most 1: {faults}")
            value = faults
        elif name == "fail_next":
            value = tuple(None if k in (None, "none") else _fault_kind(k, "fail_next") for k in (value or ()))
        elif name == "fail_models":
            value = {
                str(m): int(k) if isinstance(k, int) or str(k).isdigit() else k
                for m, k in dict(value or {}).items()
            }
            for kind in value.values():
                _fault_kind(kind, "fail_models")
        elif name == "models":
            value = tuple(value) if value is not None else None
        elif name in ("latency_ms", "hang_seconds"):
            value = float(value)
        elif name == "retry_after":
            value = None if value is None else float(value)
        elif name in ("seed", "stream_chunk_chars"):
            value = int(value)
        elif name in ("tool_turns", "parallel_tool_calls"):
            value = int(value)
            if value < (0 if name == "tool_turns" else 1):
                raise ValueError(f"{name}: must be at least {0 if name == 'tool_turns' else 1}, not {value}")
        elif name == "context_limit_tokens":
            value = None if value is None else int(value)
        elif name in ("reply_tokens", "in_flight_limit"):
            value = None if value is None else int(value)
            if value is not None and value < 1:
                raise ValueError(f"{name}: must be at least 1 (or None), not {value}")
        elif name == "prompt_cache":
            value = bool(value)
        elif name == "tool_script":
            value = _tool_script(value)
        clean[name] = value
    return replace(settings, **clean)


def _tool_script(value: Any) -> tuple[tuple[dict[str, Any], ...], ...]:
    """The ``tool_script`` setting, checked and copied: turns of ``{"name", "arguments"}`` calls
    (``arguments`` a JSON object, or JSON text of one; absent: ``{}``)."""
    if value is None:
        return ()
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
        raise ValueError(f"tool_script: expected a list of turns, not {value!r}")
    turns = []
    for number, turn in enumerate(value):
        if isinstance(turn, str | bytes | dict) or not isinstance(turn, list | tuple) or not turn:
            raise ValueError(f"tool_script[{number}]: expected a non-empty list of calls, not {turn!r}")
        calls = []
        for index, call in enumerate(turn):
            where = f"tool_script[{number}][{index}]"
            name = call.get("name") if isinstance(call, dict) else None
            if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
                raise ValueError(f"{where}: expected {{'name': ..., 'arguments': {{...}}}}, not {call!r}")
            arguments = call.get("arguments")
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments)
                except ValueError:
                    arguments = None
            if arguments is None and "arguments" not in call:
                arguments = {}
            if not isinstance(arguments, dict):
                raise ValueError(f"{where}: arguments must be a JSON object, not {call.get('arguments')!r}")
            calls.append({"name": name, "arguments": copy.deepcopy(arguments)})
        turns.append(tuple(calls))
    return tuple(turns)


# --------------------------------------------------------------------------------------------
# Token accounting
# --------------------------------------------------------------------------------------------


def content_text(content: Any) -> str:
    """The text of a message content: a string, or a list of parts (text parts only)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part)
            for part in content
            if not isinstance(part, dict) or "text" in part
        )
    return str(content)


def _call_arguments(message: dict[str, Any]) -> str:
    return "".join(
        str((call.get("function") or {}).get("arguments", "")) for call in message.get("tool_calls") or ()
    )


def prompt_chars(messages: list[Any]) -> int:
    """Characters of every message's content, plus the arguments of assistant tool calls."""
    return sum(
        len(content_text(message.get("content"))) + len(_call_arguments(message))
        for message in messages
        if isinstance(message, dict)
    )


def json_text(value: Any) -> str:
    """JSON as JavaScript's ``JSON.stringify`` writes it (no spaces), as the TypeScript tool's stub
    counts it: the figures of both tools compare."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def preamble_text(body: dict[str, Any]) -> str:
    """The JSON text of the request's ``tools`` and of its ``response_format`` schema: prompt text
    too, which providers put before the messages."""
    parts = [json_text(body["tools"])] if body.get("tools") else []
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if schema is not None:
            parts.append(json_text(schema))
    return "".join(parts)


def counted_chars(body: dict[str, Any]) -> int:
    """What ``prompt_tokens`` counts: the messages (:func:`prompt_chars`) and the preamble."""
    return len(preamble_text(body)) + prompt_chars(body.get("messages") or [])


def prompt_text(body: dict[str, Any]) -> str:
    """The prompt as a provider's prefix cache sees it: the preamble, then each message's role,
    text and tool-call arguments, in order."""
    return preamble_text(body) + "".join(
        str(message.get("role")) + content_text(message.get("content")) + _call_arguments(message)
        for message in body.get("messages") or []
        if isinstance(message, dict)
    )


USAGE_KEYS = ("prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens")


def tokens_for(chars: int) -> int:
    return math.ceil(chars / 4)


CACHE_BLOCK_CHARS = 256


class PrefixCache:
    """A provider's prompt prefix cache, in whole blocks of characters: it remembers a hash of every
    whole-block prefix of each prompt it has seen, so the cached part of a new prompt is its longest
    whole-block prefix that some earlier prompt began with."""

    def __init__(self, block: int = CACHE_BLOCK_CHARS) -> None:
        self.block = block
        self._seen: set[bytes] = set()

    def admit(self, text: str) -> int:
        """Characters of ``text`` an earlier prompt already sent, then remember ``text``'s prefixes."""
        running = hashlib.blake2b(digest_size=16)  # hashes text[:block * k], k = 1, 2...
        cached, hit, prefixes = 0, True, []
        for start in range(0, len(text) - self.block + 1, self.block):
            running.update(text[start : start + self.block].encode())
            digest = running.copy().digest()
            hit = hit and digest in self._seen  # once a prefix is new, every longer one is too
            if hit:
                cached = start + self.block
            prefixes.append(digest)
        self._seen.update(prefixes)
        return cached

    def clear(self) -> None:
        self._seen.clear()


# --------------------------------------------------------------------------------------------
# JSON schema: instances, invalid instances, validation (the subset OpenAI structured outputs use)
# --------------------------------------------------------------------------------------------

_MAX_DEPTH = 8
_WORDS = (
    "queue",
    "cache",
    "shard",
    "replica",
    "index",
    "gateway",
    "worker",
    "ledger",
    "snapshot",
    "stream",
    "partition",
    "lease",
    "quota",
    "checkpoint",
    "token",
)


def resolve_ref(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#"):
        raise ValueError(f"only local $ref are supported, not {ref!r}")
    node: Any = root
    for part in [p for p in ref[1:].split("/") if p]:
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    return node  # type: ignore[no-any-return]


def _deref(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    """The node with ``$ref`` (and ``allOf``) followed; sibling keywords kept."""
    if not isinstance(node, dict):
        return {}
    seen = 0
    while "$ref" in node and seen < 64:
        target = resolve_ref(root, node["$ref"])
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    if "allOf" in node:
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        for part in node["allOf"]:
            part = _deref(part, root)
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = sorted({*merged.get("required", []), *value})
                else:
                    merged.setdefault(key, value)
        node = merged
    return dict(node)


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("type")
    if isinstance(kind, list):
        return [str(k) for k in kind]
    if isinstance(kind, str):
        return [kind]
    if "properties" in node or "additionalProperties" in node or "required" in node:
        return ["object"]
    if "items" in node or "prefixItems" in node:
        return ["array"]
    if any(k in node for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")):
        return ["number"]
    return []


def _is_null_schema(node: dict[str, Any]) -> bool:
    return node.get("type") == "null" or node.get("const", 0) is None or node.get("enum") == [None]


def _int_bounds(node: dict[str, Any]) -> tuple[int, int]:
    lo: float | None = node.get("minimum")
    hi: float | None = node.get("maximum")
    if "exclusiveMinimum" in node and not isinstance(node["exclusiveMinimum"], bool):
        lo = max(lo if lo is not None else -math.inf, math.floor(node["exclusiveMinimum"]) + 1)
    if "exclusiveMaximum" in node and not isinstance(node["exclusiveMaximum"], bool):
        hi = min(hi if hi is not None else math.inf, math.ceil(node["exclusiveMaximum"]) - 1)
    low = math.ceil(lo) if lo is not None else None
    high = math.floor(hi) if hi is not None else None
    if low is None and high is None:
        return 0, 100
    if low is None:
        assert high is not None
        return min(0, high) if high >= 0 else high - 100, high
    if high is None:
        return low, low + 100
    return low, high


def _sentence(rng: random.Random, name: str = "") -> str:
    a, b = rng.sample(_WORDS, 2)
    subject = name.replace("_", " ") if name else "the design"
    return f"For {subject}, put a {a} in front of the {b} so that failures stay local."


class SchemaFaker:
    """Instances of a JSON schema, drawn from ``rng``; ``text`` feeds long Markdown strings."""

    def __init__(self, root: dict[str, Any], rng: random.Random, text: Callable[[], str] | None = None):
        self.root = root
        self.rng = rng
        self.text = text or (lambda: "## Design\n\nA single service with a durable queue.")

    def make(self) -> Any:
        return self.value(self.root, 0, "")

    def value(self, node: Any, depth: int, name: str) -> Any:
        node = _deref(node, self.root)
        if "const" in node:
            return copy.deepcopy(node["const"])
        if "enum" in node:
            options = [v for v in node["enum"] if v is not None] or list(node["enum"])
            return copy.deepcopy(self.rng.choice(options))
        for key in ("anyOf", "oneOf"):
            if key in node:
                options = [_deref(o, self.root) for o in node[key]]
                non_null = [o for o in options if not _is_null_schema(o)]
                if not non_null or (depth >= _MAX_DEPTH and len(non_null) < len(options)):
                    return None
                base = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}
                return self.value({**base, **self.rng.choice(non_null)}, depth + 1, name)
        types = _types(node)
        non_null = [t for t in types if t != "null"]
        kind = non_null[0] if non_null else ("null" if types else "string")
        if kind == "null":
            return None
        if kind == "object":
            return self.object(node, depth, name)
        if kind == "array":
            return self.array(node, depth, name)
        if kind == "integer":
            return self.integer(node)
        if kind == "number":
            return self.number(node)
        if kind == "boolean":
            return self.rng.random() < 0.5
        return self.string(node, name)

    def object(self, node: dict[str, Any], depth: int, name: str) -> dict[str, Any]:
        properties = node.get("properties") or {}
        result = {key: self.value(sub, depth + 1, key) for key, sub in properties.items()}
        for key in node.get("required") or ():
            if key not in result:
                extra = node.get("additionalProperties")
                result[key] = self.value(extra if isinstance(extra, dict) else {}, depth + 1, key)
        if not properties and isinstance(node.get("additionalProperties"), dict) and depth < _MAX_DEPTH:
            result.setdefault("key", self.value(node["additionalProperties"], depth + 1, "key"))
        return result

    def array(self, node: dict[str, Any], depth: int, name: str) -> list[Any]:
        prefix = node.get("prefixItems") or []
        lo = int(node.get("minItems", 0))
        hi = int(node.get("maxItems", max(lo, 3)))
        count = lo if depth >= _MAX_DEPTH else max(lo, min(hi, max(len(prefix), 2)))
        items: list[Any] = []
        item_schema = node.get("items", {})
        if item_schema is False:
            count = min(count, len(prefix))
        for index in range(count):
            schema = (
                prefix[index]
                if index < len(prefix)
                else (item_schema if isinstance(item_schema, dict) else {})
            )
            value = self.value(schema, depth + 1, name)
            if node.get("uniqueItems"):
                for _ in range(8):
                    if value not in items:
                        break
                    value = self.value(schema, depth + 1, name)
                if value in items and isinstance(value, str):
                    value = f"{value} ({index + 1})"
            items.append(value)
        return items

    def integer(self, node: dict[str, Any]) -> int:
        lo, hi = _int_bounds(node)
        step = node.get("multipleOf")
        if isinstance(step, int) and step > 0:
            first, last = math.ceil(lo / step), math.floor(hi / step)
            if first <= last:
                return self.rng.randint(first, last) * step
        return self.rng.randint(lo, hi) if lo <= hi else lo

    def number(self, node: dict[str, Any]) -> float:
        lo = node.get("minimum", node.get("exclusiveMinimum"))
        hi = node.get("maximum", node.get("exclusiveMaximum"))
        lo = float(lo) if isinstance(lo, int | float) and not isinstance(lo, bool) else None
        hi = float(hi) if isinstance(hi, int | float) and not isinstance(hi, bool) else None
        if lo is None and hi is None:
            lo, hi = 0.0, 1.0
        elif lo is None:
            assert hi is not None
            lo = hi - 1.0
        elif hi is None:
            hi = lo + 1.0
        # strictly inside when the bound is exclusive, else anywhere in [lo, hi]
        value = round(lo + (hi - lo) * (0.1 + 0.8 * self.rng.random()), 2)
        if not lo <= value <= hi or (value == lo and "exclusiveMinimum" in node):
            value = (lo + hi) / 2
        if value == hi and "exclusiveMaximum" in node:
            value = (lo + hi) / 2
        return value

    def string(self, node: dict[str, Any], name: str) -> str:
        fmt = node.get("format")
        r = self.rng
        if fmt == "date-time":
            text = f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z"
        elif fmt == "date":
            text = f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}"
        elif fmt == "time":
            text = f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00"
        elif fmt == "email":
            text = f"{r.choice(_WORDS)}@example.com"
        elif fmt in ("uri", "url"):
            text = f"https://example.com/{r.choice(_WORDS)}"
        elif fmt == "uuid":
            text = str(uuid.UUID(int=r.getrandbits(128), version=4))
        elif any(
            word in name.lower() for word in ("markdown", "solution", "design", "content", "description")
        ):
            text = self.text()
        else:
            text = _sentence(r, name)
        lo, hi = int(node.get("minLength", 0)), node.get("maxLength")
        while len(text) < lo:
            text += " " + _sentence(r, name)
        if hi is not None and len(text) > int(hi):
            text = text[: int(hi)]
        return text


def instance_from_schema(
    schema: dict[str, Any], rng: random.Random | int = 0, text: Callable[[], str] | None = None
) -> Any:
    """A JSON value valid against ``schema`` (objects get every property, required or not)."""
    generator = rng if isinstance(rng, random.Random) else random.Random(rng)
    return SchemaFaker(schema, generator, text).make()


def validate(
    instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "$"
) -> list[str]:
    """Why ``instance`` is not valid against ``schema`` (empty: valid), for the supported subset."""
    root = schema if root is None else root
    node = _deref(schema, root)
    errors: list[str] = []
    if "const" in node and instance != node["const"]:
        errors.append(f"{path}: {instance!r} is not {node['const']!r}")
    if "enum" in node and instance not in node["enum"]:
        errors.append(f"{path}: {instance!r} is not one of {node['enum']!r}")
    if "anyOf" in node and all(validate(instance, o, root, path) for o in node["anyOf"]):
        errors.append(f"{path}: matches none of anyOf")
    if "oneOf" in node and sum(not validate(instance, o, root, path) for o in node["oneOf"]) != 1:
        errors.append(f"{path}: does not match exactly one of oneOf")
    types = [t for t in _types(node) if isinstance(t, str)] if "type" in node else []
    if types and not any(_has_type(instance, t) for t in types):
        return [*errors, f"{path}: {type(instance).__name__} is not {'/'.join(types)}"]
    if isinstance(instance, dict):
        properties = node.get("properties") or {}
        for key in node.get("required") or ():
            if key not in instance:
                errors.append(f"{path}: required property {key!r} is missing")
        for key, value in instance.items():
            if key in properties:
                errors.extend(validate(value, properties[key], root, f"{path}.{key}"))
            elif node.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected property {key!r}")
            elif isinstance(node.get("additionalProperties"), dict):
                errors.extend(validate(value, node["additionalProperties"], root, f"{path}.{key}"))
    if isinstance(instance, list):
        if "minItems" in node and len(instance) < node["minItems"]:
            errors.append(f"{path}: fewer than {node['minItems']} items")
        if "maxItems" in node and len(instance) > node["maxItems"]:
            errors.append(f"{path}: more than {node['maxItems']} items")
        prefix = node.get("prefixItems") or []
        for index, item in enumerate(instance):
            sub = prefix[index] if index < len(prefix) else node.get("items")
            if isinstance(sub, dict):
                errors.extend(validate(item, sub, root, f"{path}[{index}]"))
    if isinstance(instance, int | float) and not isinstance(instance, bool):
        checks: tuple[tuple[str, Callable[[float, float], bool]], ...] = (
            ("minimum", lambda v, b: v < b),
            ("maximum", lambda v, b: v > b),
            ("exclusiveMinimum", lambda v, b: v <= b),
            ("exclusiveMaximum", lambda v, b: v >= b),
        )
        for key, bad in checks:
            if key in node and not isinstance(node[key], bool) and bad(instance, node[key]):
                errors.append(f"{path}: {instance} violates {key} {node[key]}")
        step = node.get("multipleOf")
        if step and (instance / step) != int(instance / step):
            errors.append(f"{path}: {instance} is not a multiple of {step}")
    if isinstance(instance, str):
        if "minLength" in node and len(instance) < node["minLength"]:
            errors.append(f"{path}: shorter than {node['minLength']}")
        if "maxLength" in node and len(instance) > node["maxLength"]:
            errors.append(f"{path}: longer than {node['maxLength']}")
    return errors


def _has_type(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


_WRONG_TYPE_VALUE = {
    "string": 12345,
    "integer": "not a number",
    "number": "not a number",
    "boolean": ["not", "a", "boolean"],
    "array": "not an array",
    "object": "not an object",
    "null": "not null",
}


def invalid_instance_from_schema(
    schema: dict[str, Any], rng: random.Random | int = 0, text: Callable[[], str] | None = None
) -> tuple[Any, str]:
    """Syntactically valid JSON that violates ``schema``, and what it violates.

    In order of preference: a number out of its range (e.g. ``confidence: 101``), a property of
    the wrong type, a required property missing. Every candidate is checked with :func:`validate`.
    """
    generator = rng if isinstance(rng, random.Random) else random.Random(rng)
    return invalid_variant(instance_from_schema(schema, generator, text), schema)


def invalid_variant(valid: Any, schema: dict[str, Any]) -> tuple[Any, str]:
    """``valid`` (an instance of ``schema``) changed so that it violates ``schema``, and how."""
    root = _deref(schema, schema)
    candidates: list[tuple[Any, str]] = []
    if isinstance(valid, dict):
        properties = root.get("properties") or {}
        required = [k for k in root.get("required") or () if k in valid]
        for key, sub in properties.items():
            for option in _options(sub, schema):
                kinds = _types(option)
                if not {"integer", "number"} & set(kinds):
                    continue
                if "maximum" in option:
                    bad = option["maximum"] + 1
                elif "exclusiveMaximum" in option:
                    bad = option["exclusiveMaximum"]
                elif "minimum" in option:
                    bad = option["minimum"] - 1
                elif "exclusiveMinimum" in option:
                    bad = option["exclusiveMinimum"]
                else:
                    continue
                bad = int(bad) if "integer" in kinds and float(bad).is_integer() else bad
                candidates.append(({**valid, key: bad}, f"{key}={bad} is out of range"))
        for key in [*required, *[k for k in properties if k not in required]]:
            kinds = [t for o in _options(properties.get(key, {}), schema) for t in _types(o)] or ["string"]
            wrong = _WRONG_TYPE_VALUE.get(next((t for t in kinds if t != "null"), "string"), 12345)
            candidates.append(({**valid, key: wrong}, f"{key} has the wrong type"))
        for key in required:
            candidates.append(({k: v for k, v in valid.items() if k != key}, f"required {key} is missing"))
        candidates.append(([valid], "an array instead of an object"))
    else:
        candidates.append(({"unexpected": valid}, "an object instead of the expected value"))
    for instance, detail in candidates:
        if validate(instance, schema):
            return instance, detail
    return {"unexpected": True}, "no violation found for this schema"


def _options(node: Any, root: dict[str, Any]) -> list[dict[str, Any]]:
    node = _deref(node, root)
    for key in ("anyOf", "oneOf"):
        if key in node:
            return [_deref(o, root) for o in node[key] if not _is_null_schema(_deref(o, root))]
    return [node]


# --------------------------------------------------------------------------------------------
# Tool use: request checks, the conversation so far, the agent's next calls, evidence
# --------------------------------------------------------------------------------------------

AGENT_TOOLS = ("list_files", "file_read", "context_search")
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class RequestError(ValueError):
    """A request the API answers with 400 ``invalid_request_error``."""

    def __init__(self, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


def offered_tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The function definitions of a request's well-formed ``tools`` entries, in order."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return []
    return [
        tool["function"]
        for tool in tools
        if isinstance(tool, dict)
        and tool.get("type", "function") == "function"
        and isinstance(tool.get("function"), dict)
        and isinstance(tool["function"].get("name"), str)
    ]


def offered_names(body: dict[str, Any]) -> list[str]:
    return [str(function["name"]) for function in offered_tools(body)]


def _chosen_name(choice: dict[str, Any]) -> Any:
    function = choice.get("function")
    return (function.get("name") if isinstance(function, dict) else None) or choice.get("name")


def check_request(body: dict[str, Any]) -> None:
    """Raise :class:`RequestError` for what OpenAI rejects with 400: a malformed ``tools`` entry,
    a ``tool_choice`` naming no offered function, a message without a known role, a malformed
    assistant ``tool_calls`` entry, a ``tool`` message that answers no call of the assistant
    message before it, and a tool call left unanswered by the messages after it."""
    check_tools(body)
    _check_messages(body["messages"])


def check_tools(body: dict[str, Any]) -> None:
    """The ``tools`` and ``tool_choice`` checks of :func:`check_request`."""
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise RequestError("Invalid type for 'tools': expected an array of tools.", "invalid_tools", "tools")
    for index, tool in enumerate(tools or ()):
        where = f"tools[{index}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise RequestError(
                f"Invalid value for '{where}.type': expected 'function'.", "invalid_tools", f"{where}.type"
            )
        function = tool.get("function")
        if not isinstance(function, dict):
            raise RequestError(
                f"Missing required parameter: '{where}.function'.", "invalid_tools", f"{where}.function"
            )
        name = function.get("name")
        if not isinstance(name, str) or not _FUNCTION_NAME.match(name):
            raise RequestError(
                f"Invalid '{where}.function.name': {name!r} must be 1 to 64 letters, digits, underscores "
                "or dashes.",
                "invalid_tools",
                f"{where}.function.name",
            )
        if function.get("parameters") is not None and not isinstance(function["parameters"], dict):
            raise RequestError(
                f"Invalid type for '{where}.function.parameters': expected a JSON schema object.",
                "invalid_tools",
                f"{where}.function.parameters",
            )
    names = offered_names(body)
    choice = body.get("tool_choice")
    if choice == "required" or isinstance(choice, dict):
        if not names:
            raise RequestError(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                "invalid_tool_choice",
                "tool_choice",
            )
        if isinstance(choice, dict) and _chosen_name(choice) not in names:
            raise RequestError(
                f"Invalid value for 'tool_choice': function {_chosen_name(choice)!r} is not one of the "
                "'tools'.",
                "invalid_tool_choice",
                "tool_choice",
            )
    elif choice not in (None, "none", "auto"):
        raise RequestError(
            f"Invalid value for 'tool_choice': {choice!r}; expected 'none', 'auto', 'required' or a "
            "function.",
            "invalid_tool_choice",
            "tool_choice",
        )


def _check_messages(messages: list[Any]) -> None:
    answerable: set[str] = set()  # ids of the last tool-calling assistant message
    pending: list[str] = []  # of those, the ones no tool message has answered yet
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise RequestError(
                f"Invalid value for '{where}.role': expected one of {', '.join(_ROLES)}.",
                "invalid_messages",
                f"{where}.role",
            )
        if message["role"] == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str) or not call_id:
                raise RequestError(
                    f"Missing required parameter: '{where}.tool_call_id'.",
                    "invalid_tool_call_id",
                    f"{where}.tool_call_id",
                )
            if not answerable:
                raise RequestError(
                    "Invalid parameter: messages with role 'tool' must be a response to a preceding "
                    "message with 'tool_calls'.",
                    "invalid_tool_call_id",
                    f"{where}.role",
                )
            if call_id not in answerable:
                raise RequestError(
                    f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' of "
                    "previous message.",
                    "invalid_tool_call_id",
                    f"{where}.tool_call_id",
                )
            if call_id in pending:
                pending.remove(call_id)
            continue
        if pending:
            raise _unanswered(pending)
        answerable = set()
        calls = message.get("tool_calls") if message["role"] == "assistant" else None
        if calls is None:
            continue
        if not isinstance(calls, list):
            raise RequestError(
                f"Invalid type for '{where}.tool_calls': expected an array.",
                "invalid_messages",
                f"{where}.tool_calls",
            )
        for number, call in enumerate(calls):
            at = f"{where}.tool_calls[{number}]"
            function = call.get("function") if isinstance(call, dict) else None
            if not isinstance(call, dict) or not isinstance(call.get("id"), str) or not call["id"]:
                raise RequestError(f"Missing required parameter: '{at}.id'.", "invalid_messages", f"{at}.id")
            if call.get("type", "function") != "function":
                raise RequestError(
                    f"Invalid value for '{at}.type': expected 'function'.", "invalid_messages", f"{at}.type"
                )
            if (
                not isinstance(function, dict)
                or not isinstance(function.get("name"), str)
                or not isinstance(function.get("arguments"), str)
            ):
                raise RequestError(
                    f"Invalid '{at}.function': expected an object with a string 'name' and string "
                    "'arguments'.",
                    "invalid_messages",
                    f"{at}.function",
                )
            if call["id"] not in pending:
                pending.append(call["id"])
        answerable = set(pending)
    if pending:
        raise _unanswered(pending)


def _unanswered(pending: list[str]) -> RequestError:
    return RequestError(
        "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
        f"'tool_call_id'. The following tool_call_ids did not have response messages: {', '.join(pending)}",
        "tool_calls_unanswered",
        "messages",
    )


# Ollama's native chat API, read as the OpenAI-shaped body the rest of the server works on.

OLLAMA_ROLES = ("system", "user", "assistant", "tool")


def ollama_body(body: Any) -> dict[str, Any]:
    """The OpenAI-shaped body of an Ollama ``POST /api/chat`` request, so that one pipeline
    (checks, decisions, replies, token counts) serves both APIs; :class:`RequestError` for a
    request Ollama rejects.

    ``format`` becomes ``response_format`` (``"json"``: ``json_object``; a JSON schema:
    ``json_schema``), ``options.num_predict`` (when positive) ``max_tokens``; ``stream`` is true
    unless ``false`` (Ollama's default) and a stream always reports its usage. Assistant
    ``tool_calls`` (no ids, ``arguments`` an object) get ids and JSON-text arguments; a ``tool``
    message (no id; perhaps a ``tool_name``) answers the first unanswered call of that name, else
    the first unanswered call, as Ollama pairs them by order."""
    if not isinstance(body, dict):
        raise RequestError("invalid request: the body must be a JSON object", "invalid_body")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("model is required", "invalid_body", "model")
    raw_messages = body.get("messages")
    if raw_messages is None:
        raw_messages = []
    if not isinstance(raw_messages, list):
        raise RequestError("invalid request: 'messages' must be an array", "invalid_body", "messages")
    messages: list[dict[str, Any]] = []
    pending: list[tuple[str, str]] = []  # (id, function name) of calls not answered yet
    for index, message in enumerate(raw_messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("role") not in OLLAMA_ROLES:
            role = message.get("role") if isinstance(message, dict) else None
            raise RequestError(f"invalid role {role!r} in {where}", "invalid_messages", f"{where}.role")
        if not isinstance(message.get("content"), str | None):
            raise RequestError(f"invalid {where}.content: expected a string", "invalid_messages", where)
        converted: dict[str, Any] = {"role": message["role"], "content": message.get("content") or ""}
        if message["role"] == "assistant" and message.get("tool_calls"):
            calls: list[dict[str, Any]] = []
            for number, call in enumerate(message["tool_calls"]):
                function = call.get("function") if isinstance(call, dict) else None
                if (
                    not isinstance(function, dict)
                    or not isinstance(function.get("name"), str)
                    or not isinstance(function.get("arguments", {}), dict)
                ):
                    raise RequestError(
                        f"invalid {where}.tool_calls[{number}]: expected a function with a name and "
                        "object arguments",
                        "invalid_messages",
                        f"{where}.tool_calls[{number}]",
                    )
                calls.append(
                    {
                        "id": f"call_{index}_{number}",
                        "type": "function",
                        "function": {
                            "name": function["name"],
                            "arguments": json.dumps(function.get("arguments") or {}, ensure_ascii=False),
                        },
                    }
                )
            converted["tool_calls"] = calls
            pending = [(call["id"], call["function"]["name"]) for call in calls]
        elif message["role"] == "tool":
            name = message.get("tool_name")
            answered = next((p for p in pending if p[1] == name), None) or (pending[0] if pending else None)
            if answered is not None:
                pending.remove(answered)
                converted["tool_call_id"] = answered[0]
        messages.append(converted)
    canonical: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "stream": body.get("stream") is not False,
        "stream_options": {"include_usage": True},
    }
    fmt = body.get("format")
    if fmt == "json":
        canonical["response_format"] = {"type": "json_object"}
    elif isinstance(fmt, dict):
        canonical["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "format", "schema": fmt},
        }
    elif fmt not in (None, ""):
        raise RequestError(
            'invalid format: expected "json" or a valid JSON schema', "invalid_format", "format"
        )
    tools = body.get("tools")
    if tools:
        if not isinstance(tools, list):
            raise RequestError("invalid request: 'tools' must be an array", "invalid_tools", "tools")
        canonical["tools"] = [{"type": "function", **t} if isinstance(t, dict) else t for t in tools]
    options = body.get("options")
    if isinstance(options, dict):
        canonical["options"] = options  # part of the request: different options, another reply
        limit = options.get("num_predict")
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
            canonical["max_tokens"] = limit
    elif options is not None:
        raise RequestError("invalid request: 'options' must be an object", "invalid_body", "options")
    return canonical


@dataclass
class ToolResult:
    """A ``tool`` message, with the call it answers."""

    name: str  # the function called
    arguments: dict[str, Any]
    ok: bool  # False for {"status": "error", ...}
    payload: Any  # the "result" (or the whole JSON value, or the content text if it is no JSON)
    error: str | None = None


@dataclass
class Conversation:
    tool_turns: int = 0  # assistant messages carrying tool_calls
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, arguments)
    results: list[ToolResult] = field(default_factory=list)


def read_conversation(messages: list[Any]) -> Conversation:
    conversation = Conversation()
    calls_by_id: dict[Any, tuple[str, dict[str, Any]]] = {}
    for message in messages:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "assistant" and message.get("tool_calls"):
            conversation.tool_turns += 1
            for call in message["tool_calls"]:
                function = (call.get("function") if isinstance(call, dict) else None) or {}
                name, arguments = str(function.get("name", "")), _parsed_arguments(function.get("arguments"))
                calls_by_id[call.get("id") if isinstance(call, dict) else None] = (name, arguments)
                conversation.calls.append((name, arguments))
        elif message.get("role") == "tool":
            name, arguments = calls_by_id.get(message.get("tool_call_id"), ("", {}))
            conversation.results.append(_tool_result(name, arguments, content_text(message.get("content"))))
    return conversation


def tool_message_count(messages: list[Any]) -> int:
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "tool")


def _parsed_arguments(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _tool_result(name: str, arguments: dict[str, Any], content: str) -> ToolResult:
    try:
        data = json.loads(content)
    except ValueError:
        return ToolResult(name, arguments, True, content)
    if isinstance(data, dict) and (
        data.get("status") == "error" or ("error" in data and "result" not in data and "status" not in data)
    ):
        error = data.get("error")
        if isinstance(error, dict):
            error = error.get("message", error)
        return ToolResult(name, arguments, False, None, str(error if error is not None else "error"))
    return ToolResult(
        name, arguments, True, data["result"] if isinstance(data, dict) and "result" in data else data
    )


# Paths in tool results: leniently, wherever they are.

_PATH_KEYS = ("path", "file", "filePath", "file_path", "filename", "relativePath")
_LIST_KEYS = frozenset(
    {"entries", "files", "paths", "dirs", "directories", "children", "items", "results", "matches", "hits"}
)
_DIR_KINDS = frozenset({"dir", "directory", "folder", "tree"})
_PATH_CHARS = re.compile(r"[\w.@+~/-]{1,260}")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SOURCE_EXT = _word_set(
    "py pyi ts tsx js jsx mjs cjs go rs java kt kts rb php c h cc cpp hpp cs swift scala sh sql vue svelte"
)
_DOC_EXT = _word_set("md mdx rst txt adoc")
_CONFIG_EXT = _word_set("json jsonc toml yaml yml ini cfg conf xml")
_BINARY_EXT = _word_set(
    "png jpg jpeg gif bmp ico webp pdf zip gz tgz bz2 xz 7z tar jar war whl pyc pyo so dll dylib exe bin "
    "o a class woff woff2 ttf otf eot mp3 mp4 mov wav db sqlite"
)
_VENDORED = frozenset({"node_modules", "dist", "build", "vendor", "__pycache__", "target", "venv", ".venv"})


def _looks_like_path(text: str) -> bool:
    return bool(_PATH_CHARS.fullmatch(text)) and re.search(r"\w", text) is not None


def norm_path(path: str) -> str:
    """``./src/`` and ``src`` are the same path; ``""`` and ``./`` are ``.``."""
    path = path.strip()
    while path.startswith("./"):
        path = path[2:]
    return path.rstrip("/") or ("/" if path.startswith("/") else ".")


def _extension(path: str) -> str:
    name = norm_path(path).rsplit("/", 1)[-1].lower()
    return name.rpartition(".")[2] if "." in name.lstrip(".") else ""


def _paths_in_text(text: str) -> list[tuple[str, bool]]:
    found = []
    for token in re.findall(r"[\w.@+~/-]+", text):
        token = token.rstrip(".")
        if len(token) > 1 and token.endswith("/") and re.search(r"\w", token):
            found.append((token, True))
        elif re.search(r"\w", token) and (
            ("/" in token and "." in token.rsplit("/", 1)[-1])
            or _extension(token) in _SOURCE_EXT | _DOC_EXT | _CONFIG_EXT
        ):
            found.append((token, False))
    return found


def collect_paths(value: Any, listed: bool = False, depth: int = 0) -> list[tuple[str, bool]]:
    """``(path, is_dir)`` named anywhere in a tool result: a ``path``-like key of an object (a
    directory if its ``type`` says so, it ends with ``/`` or it holds entries), a string in a list
    of entries, or, in plain text, a token that looks like a file path."""
    found: list[tuple[str, bool]] = []
    if depth > 16:
        return found
    if isinstance(value, str):
        if listed and _looks_like_path(value):
            found.append((value, value.endswith("/")))
        elif depth == 0:
            found.extend(_paths_in_text(value))
    elif isinstance(value, list):
        for item in value:
            found.extend(collect_paths(item, listed or depth == 0, depth + 1))
    elif isinstance(value, dict):
        path = next((value[k] for k in _PATH_KEYS if isinstance(value.get(k), str)), None)
        if path is not None and _looks_like_path(path):
            kind = str(value.get("type") or value.get("kind") or "").lower()
            is_dir = (
                kind in _DIR_KINDS
                or any(value.get(k) is True for k in ("is_dir", "isDir", "isDirectory", "directory"))
                or path.endswith("/")
                or any(isinstance(value.get(k), list) for k in ("entries", "children", "files"))
            )
            found.append((path, is_dir))
        for key, sub in value.items():
            if isinstance(sub, list | dict):
                found.extend(collect_paths(sub, isinstance(sub, list) and key in _LIST_KEYS, depth + 1))
    return found


def seen_paths(conversation: Conversation) -> tuple[list[str], list[str]]:
    """Files and directories named by successful ``list_files`` and ``context_search`` results,
    first seen first, each as first spelled (``.`` itself left out)."""
    files: dict[str, str] = {}
    dirs: dict[str, str] = {}
    for result in conversation.results:
        if not result.ok or result.name not in ("list_files", "context_search"):
            continue
        for path, is_dir in collect_paths(result.payload):
            key = norm_path(path)
            if key != "." and key not in files and key not in dirs:
                (dirs if is_dir else files)[key] = path
    return list(files.values()), list(dirs.values())


def file_rank(path: str) -> int | None:
    """0: source or docs, 1: configuration, 2: anything else (hidden or vendored paths included);
    None: a binary file, never read."""
    extension = _extension(path)
    if extension in _BINARY_EXT:
        return None
    segments = norm_path(path).split("/")
    if any((s.startswith(".") and s not in (".", "..")) or s in _VENDORED for s in segments):
        return 2
    if extension in _SOURCE_EXT or extension in _DOC_EXT or segments[-1].lower().startswith("readme"):
        return 0
    if extension in _CONFIG_EXT and not segments[-1].lower().endswith("-lock.json"):
        return 1
    return 2


_STOPWORDS = _word_set(
    """able about above across after again against also among another any are around based been before
    being below between both build built but can cannot could data design does doing done down during
    each either ensure every from further given handle handles have having here into itself just keep
    like make makes many more most much must need needs never only other over per please problem
    propose same second seconds should since some such support system than that their them then there
    these they this those through under until upon using very want what when where which while will
    with within without would your"""
)


def problem_terms(messages: list[Any]) -> list[str]:
    """Search terms from the problem (the ``## Problem`` section of the last user message, else the
    whole message): words of 4+ letters that are not stop words, lower-cased, longest first, then
    in order of appearance."""
    text = _last_user_text(messages)
    source = " ".join(problem_sentences(text)) or text
    first: dict[str, int] = {}
    for index, word in enumerate(re.findall(r"[A-Za-z][A-Za-z0-9_-]*", source)):
        word = word.lower().strip("-_")
        if len(word) >= 4 and word not in _STOPWORDS:
            first.setdefault(word, index)
    return sorted(first, key=lambda w: (-len(w), first[w]))


def _call_key(name: str, arguments: dict[str, Any]) -> tuple[str, str]:
    if name in ("list_files", "file_read"):
        return name, norm_path(str(arguments.get("path", ".")))
    if name == "context_search":
        return name, str(arguments.get("term", "")).strip().lower()
    return name, json.dumps(arguments, sort_keys=True)


def agent_calls(
    offered: list[str], conversation: Conversation, messages: list[Any], *, repeat: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """The calls the agent would make next, best first, among the ``offered`` tools it knows:
    ``list_files .``; ``file_read`` of each file seen in a tool result (source and docs first, then
    configuration, then the rest; binaries never); ``list_files`` of each directory seen;
    ``context_search`` of each problem term. Calls already made (same tool, same path or term) are
    left out; with ``repeat``, if that leaves none, they are not."""
    files, dirs = seen_paths(conversation)
    candidates: list[tuple[str, dict[str, Any]]] = []
    if "list_files" in offered:
        candidates.append(("list_files", {"path": "."}))
    if "file_read" in offered:
        ranked = sorted(
            (rank, index, path) for index, path in enumerate(files) if (rank := file_rank(path)) is not None
        )
        candidates += [("file_read", {"path": path}) for _, _, path in ranked]
    if "list_files" in offered:
        candidates += [("list_files", {"path": path}) for path in dirs]
    if "context_search" in offered:
        candidates += [("context_search", {"term": term}) for term in problem_terms(messages)]
    done = {_call_key(name, arguments) for name, arguments in conversation.calls}
    fresh = [call for call in candidates if _call_key(*call) not in done]
    return fresh if fresh or not repeat else candidates


def _excerpt(text: str, terms: list[str] | tuple[str, ...] = (), width: int = 160) -> str:
    """The first line of ``text`` with one of ``terms`` in it (any case), else its first line with
    a letter or digit in it; cut to ``width`` characters."""
    lines = [ln.strip() for ln in text.splitlines() if re.search(r"[^\W_]", ln)]
    line = next((ln for ln in lines if any(term in ln.lower() for term in terms)), lines[0] if lines else "")
    line = re.sub(r"\s+", " ", line)
    if len(line) > width:
        line = line[: width - 1].rstrip() + "…"
    return line or "(empty)"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for sub in value.values():
            yield from _strings(sub)
    elif isinstance(value, list):
        for sub in value:
            yield from _strings(sub)


def _file_text(payload: Any) -> str:
    if isinstance(payload, dict):
        for key in ("content", "text", "contents", "data", "body", "source", "lines"):
            value = payload.get(key)
            if isinstance(value, str):
                return value
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                return "\n".join(value)
    return max(_strings(payload), key=len, default="")


def _as_text(payload: Any) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)


def evidence_lines(conversation: Conversation, terms: list[str] | None = None, limit: int = 12) -> list[str]:
    """One line per tool result (the first ``limit``), for the final answer: for a ``file_read``,
    ``Evidence from `path`: excerpt`` (the first line naming a problem term from ``terms``, else
    the first line with a letter or digit); the paths a ``list_files`` or ``context_search``
    named; a failure's error."""
    lines = []
    for result in conversation.results[:limit]:
        name, arguments = result.name or "tool", result.arguments
        subject = str(arguments.get("term" if name == "context_search" else "path", "."))
        if not result.ok:
            target = f" for `{subject}`" if name in AGENT_TOOLS else ""
            lines.append(f"Tool `{name}` failed{target}: {_excerpt(result.error or '')}")
        elif name == "file_read":
            lines.append(f"Evidence from `{subject}`: {_excerpt(_file_text(result.payload), terms or ())}")
        elif name in ("list_files", "context_search"):
            label = f"Listing of `{subject}`" if name == "list_files" else f"Search for `{subject}`"
            paths = list(dict.fromkeys(path for path, _ in collect_paths(result.payload)))
            if paths:
                more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
                lines.append(f"{label} named {', '.join(f'`{p}`' for p in paths[:5])}{more}.")
            else:
                lines.append(f"{label} returned: {_excerpt(_as_text(result.payload))}")
        else:
            lines.append(f"Tool `{name}` returned: {_excerpt(_as_text(result.payload))}")
    return lines


@dataclass
class Decision:
    """What a request gets: its kind, and for ``tool_calls`` either the agent's calls or a function
    to call with arguments made from its ``parameters`` schema."""

    kind: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    forced: dict[str, Any] | None = None


def decide(
    body: dict[str, Any],
    tool_turns: int = 2,
    parallel_tool_calls: int = 1,
    tool_script: Sequence[Sequence[dict[str, Any]]] = (),
) -> Decision:
    functions = offered_tools(body)
    choice = body.get("tool_choice")
    messages = body.get("messages") or []
    if functions and choice != "none":
        names = [str(f["name"]) for f in functions]
        known = [name for name in names if name in AGENT_TOOLS]
        width = 1 if body.get("parallel_tool_calls") is False else max(1, parallel_tool_calls)
        conversation = read_conversation(messages)
        if isinstance(choice, dict):
            function = next((f for f in functions if f["name"] == _chosen_name(choice)), None)
            if function is not None:
                calls = agent_calls([function["name"]], conversation, messages, repeat=True)
                return Decision("tool_calls", calls[:1]) if calls else Decision("tool_calls", forced=function)
        elif choice == "required":
            calls = agent_calls(known, conversation, messages, repeat=True)
            return (
                Decision("tool_calls", calls[:width])
                if calls
                else Decision("tool_calls", forced=functions[0])
            )
        elif tool_script:
            if conversation.tool_turns < len(tool_script):
                turn = tool_script[conversation.tool_turns]
                return Decision(
                    "tool_calls", [(str(c["name"]), copy.deepcopy(dict(c["arguments"]))) for c in turn]
                )
        elif conversation.tool_turns < tool_turns:
            calls = agent_calls(known, conversation, messages)
            if calls:
                return Decision("tool_calls", calls[:width])
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in ("json_schema", "json_object"):
        return Decision(str(response_format["type"]))
    return Decision("text")


# --------------------------------------------------------------------------------------------
# Replies
# --------------------------------------------------------------------------------------------

_COMPONENTS = (
    ("API gateway", "authenticates callers and applies per-client rate limits"),
    ("write service", "validates requests and appends them to the log"),
    ("durable queue", "decouples producers from consumers and absorbs bursts"),
    ("worker pool", "processes jobs idempotently, keyed by request id"),
    ("primary database", "holds the source of truth with unique constraints"),
    ("read cache", "serves hot keys with a short TTL and request coalescing"),
    ("id allocator", "hands out disjoint ranges so ids never collide"),
    ("audit log", "records every state change for replay and forensics"),
    ("metrics pipeline", "exports latency, error and saturation signals"),
)
_REASONS = (
    "it keeps the hot path simple",
    "it fails independently of the rest",
    "it scales horizontally without coordination",
    "it is boring, well-understood technology",
    "it makes retries safe",
    "it bounds the blast radius of a bad deploy",
)
_RISKS = (
    "Cache invalidation can serve stale data for up to one TTL.",
    "The queue adds a hop of latency and another system to operate.",
    "Range-based id allocation wastes ids when an allocator restarts.",
    "A hot partition can saturate one shard before autoscaling reacts.",
    "Cross-region replication lag makes read-your-writes harder.",
)
_QUESTIONS = (
    "What is the expected read-to-write ratio at peak?",
    "Which data must survive the loss of a whole region?",
    "Is eventual consistency acceptable for listing endpoints?",
    "What is the latency budget of the slowest acceptable request?",
)


def problem_sentences(text: str) -> list[str]:
    """The sentences of the ``## Problem`` section of ``text``, if it has one."""
    match = re.search(r"^##\s+Problem\s*$(.*?)(?=^#{1,2}\s|\Z)", text, flags=re.MULTILINE | re.DOTALL)
    if not match:
        return []
    body = " ".join(
        line.strip()
        for line in match.group(1).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    body = re.sub(r"\s+", " ", body).strip()
    parts = re.split(r"(?<=[.!?])\s+", body)
    return [p.strip() for p in parts if len(p.strip()) > 3]


def design_markdown(rng: random.Random, quote: str | None, evidence: list[str] | None = None) -> str:
    components = rng.sample(_COMPONENTS, 4)
    lines = ["## Summary", ""]
    if quote:
        lines += [f"> {quote}", ""]
    first, second = components[0][0], components[1][0]
    lines += [
        f"The design puts a {first} in front of a {second}, keeps state in one place and makes every "
        f"step idempotent, so retries and restarts are safe.",
        "",
    ]
    if evidence:
        lines += ["## Evidence", "", *[f"- {line}" for line in evidence], ""]
    lines += ["## Design", ""]
    for name, job in components:
        lines.append(f"- **{name.capitalize()}** — {job}; chosen because {rng.choice(_REASONS)}.")
    lines += ["", "## Trade-offs and Risks", ""]
    lines += [f"- {risk}" for risk in rng.sample(_RISKS, 2)]
    lines += ["", "## Open Questions", ""]
    lines += [f"- {question}" for question in rng.sample(_QUESTIONS, 2)]
    lines += ["", "## Requirements Coverage", ""]
    if quote:
        lines.append(f'- "{quote}" — met by the {components[rng.randrange(4)][0]}.')
    else:
        lines.append(f"- Throughput and durability — met by the {components[2][0]}.")
    return "\n".join(lines) + "\n"


def _more_notes(rng: random.Random) -> Iterator[str]:
    """Endless further lines of a design answer, drawn from the same vocabulary."""
    yield "\n## Further Notes\n\n"
    while True:
        name, job = rng.choice(_COMPONENTS)
        yield rng.choice(
            (
                f"- The {name} {job}; chosen because {rng.choice(_REASONS)}.\n",
                f"- Risk: {rng.choice(_RISKS)} The {name} is where it shows first.\n",
                f"- To settle: {rng.choice(_QUESTIONS)}\n",
                f"\nThe {name} stays small on purpose: {rng.choice(_REASONS)}, and {rng.choice(_REASONS)}.\n\n",
            )
        )


def sized_markdown(text: str, rng: random.Random, tokens: int) -> str:
    """``text`` made exactly ``tokens * 4`` characters (so ``tokens`` completion tokens): extended
    with further notes, or cut; either way whole lines, then the start of the next one and a newline."""
    target = tokens * 4
    pieces, length, more = [text], len(text), _more_notes(rng)
    while length < target:
        pieces.append(next(more))
        length += len(pieces[-1])
    return "".join(pieces)[: target - 1] + "\n"


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text


@dataclass
class Reply:
    kind: str  # text | json_schema | json_object | tool_calls
    content: str | None
    calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"
    fault_detail: str | None = None

    @property
    def tool_name(self) -> str | None:
        return self.calls[0].name if self.calls else None

    @property
    def arguments(self) -> str | None:
        return self.calls[0].arguments if self.calls else None

    @property
    def completion_chars(self) -> int:
        if self.kind == "tool_calls":
            return sum(len(call.arguments) for call in self.calls)
        return len(self.content or "")


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def request_kind(
    body: dict[str, Any],
    tool_turns: int = 2,
    parallel_tool_calls: int = 1,
    tool_script: Sequence[Sequence[dict[str, Any]]] = (),
) -> str:
    return decide(body, tool_turns, parallel_tool_calls, tool_script).kind


def request_seed(body: dict[str, Any]) -> int:
    """The same request (streaming aside) gets the same reply."""
    stable = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _call_id(seed: int, index: int) -> str:
    return "call_" + hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:24]


def build_reply(
    body: dict[str, Any],
    *,
    schema_invalid: bool = False,
    tool_turns: int = 2,
    parallel_tool_calls: int = 1,
    tool_script: Sequence[Sequence[dict[str, Any]]] = (),
    decision: Decision | None = None,
    reply_tokens: int | None = None,
) -> Reply:
    seed = request_seed(body)
    rng = random.Random(seed)
    messages = body.get("messages") or []
    sentences = problem_sentences(_last_user_text(messages))
    quote = rng.choice(sentences) if sentences else None
    evidence = evidence_lines(read_conversation(messages), problem_terms(messages))

    def text() -> str:
        return design_markdown(rng, quote, evidence)

    decision = decision or decide(body, tool_turns, parallel_tool_calls, tool_script)
    kind = decision.kind
    if kind == "tool_calls":
        detail = None
        if decision.forced is not None:
            function = decision.forced
            parameters = function.get("parameters") or {"type": "object", "properties": {}}
            if schema_invalid:
                value, detail = invalid_instance_from_schema(parameters, rng, text)
            else:
                value = instance_from_schema(parameters, rng, text)
            made = [(str(function.get("name", "tool")), value)]
        else:
            made = [(name, dict(arguments)) for name, arguments in decision.calls]
            if schema_invalid:
                function = next((f for f in offered_tools(body) if f["name"] == made[0][0]), {})
                parameters = function.get("parameters") or {"type": "object", "properties": {}}
                broken, detail = invalid_variant(made[0][1], parameters)
                made[0] = (made[0][0], broken)
        return Reply(
            "tool_calls",
            None,
            calls=[
                ToolCall(_call_id(seed, index), name, json.dumps(value, ensure_ascii=False))
                for index, (name, value) in enumerate(made)
            ],
            finish_reason="tool_calls",
            fault_detail=detail,
        )
    if kind == "json_schema":
        spec = body["response_format"].get("json_schema") or {}
        schema = spec.get("schema") or {"type": "object"}
        if schema_invalid:
            value, detail = invalid_instance_from_schema(schema, rng, text)
        else:
            value, detail = instance_from_schema(schema, rng, text), None
        return Reply("json_schema", json.dumps(value, ensure_ascii=False), fault_detail=detail)
    if kind == "json_object":
        value = {
            "answer": text(),
            "confidence": rng.randint(50, 95),
            "points": [_sentence(rng) for _ in range(2)],
        }
        return Reply("json_object", json.dumps(value, ensure_ascii=False))
    content = text() if reply_tokens is None else sized_markdown(text(), rng, reply_tokens)
    # (every user message: after a tool loop the last one only says the tools are spent)
    users = [
        content_text(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"
    ]
    content += ledger_block("\n".join(users), rng)
    finish = "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and limit > 0 and tokens_for(len(content)) > limit:
        content, finish = content[: limit * 4], "length"
    return Reply("text", content, finish_reason=finish)


def ledger_block(prompt: str, rng: random.Random) -> str:
    """Dialectic's issue ledger: a prompt that asks for findings gets one finding, unless it
    lists items for a verdict (a later round), whose every item it closes instead; one that asks
    for responses rebuts every item it lists; in the fenced JSON block the prompt describes. So
    a debate's items all settle in its second round. Any other prompt gets nothing."""
    ids = list(dict.fromkeys(re.findall(r"\*\*(I\d+)\*\*", prompt)))
    if "Findings for the issue ledger" in prompt or "fields findings" in prompt:
        block: dict[str, Any] = {
            "findings": []
            if ids
            else [
                {
                    "title": _sentence(rng).rstrip("."),
                    "severity": rng.choice(["major", "minor"]),
                    "evidence": _sentence(rng),
                    "suggestion": _sentence(rng),
                }
            ],
            "verdicts": [{"id": item, "verdict": "close", "argument": ""} for item in ids],
        }
    elif "Responses for the issue ledger" in prompt or "fields responses" in prompt:
        block = {"responses": [{"id": item, "response": "rebutted", "note": _sentence(rng)} for item in ids]}
    else:
        return ""
    return "\n\n```json\n" + json.dumps(block) + "\n```\n"


def _error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _status_error(status: int) -> dict[str, Any]:
    if status == 429:
        return _error_body(
            "Rate limit reached for requests (simulated). Please try again later.",
            "requests",
            "rate_limit_exceeded",
        )
    if status == 503:
        return _error_body("The engine is currently overloaded (simulated).", "server_error", "overloaded")
    if status >= 500:
        return _error_body(
            "The server had an error while processing your request (simulated).", "server_error", None
        )
    return _error_body(f"Request rejected with HTTP {status} (simulated).", "invalid_request_error", None)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    app: "LLMServer"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not self.app.quiet:
            super().handle_error(request, client_address)


class _Disconnected(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dialectic-test-llm/1.0"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms stalls
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.app.quiet:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing ----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self, status: int, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            headers = {"Content-Type": "application/json", **(headers or {})}
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self._ending()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError as exc:
            raise _Disconnected() from exc

    def _dispatch(self, method: str) -> None:
        app = self.server.app
        path = urlsplit(self.path).path.rstrip("/") or "/"
        if path.startswith("/_"):
            self._control(method, path)
            return
        body = self._read_body()
        entry = app._begin(method, path)
        app._note(entry, authorization=self.headers.get("Authorization"))
        self._entry: dict[str, Any] | None = entry
        try:
            self._api(method, path, body, entry)
        except _Disconnected:
            app._note(entry, client_disconnected=True)
            self.close_connection = True
        finally:
            self._entry = None
            app._finish(entry)

    def _ending(self) -> None:
        """Finish the log entry just before the reply's last bytes go out, so that a client that
        has its whole reply always finds the entry complete (``ended`` set, no longer in flight)."""
        entry = getattr(self, "_entry", None)
        if entry is not None:
            self.server.app._finish(entry)

    def _control(self, method: str, path: str) -> None:
        app = self.server.app
        body = self._read_body()
        if path == "/_log" and method == "GET":
            self._send(200, app.log)
        elif path == "/_log" and method == "DELETE":
            app.clear_log()
            self._send(200, {"ok": True})
        elif path == "/_stats" and method == "GET":
            self._send(200, app.stats())
        elif path == "/_settings" and method == "GET":
            self._send(200, app.settings.to_json())
        elif path == "/_settings" and method == "POST":
            try:
                app.set(**json.loads(body or b"{}"))
            except (TypeError, ValueError) as exc:
                self._send(400, _error_body(str(exc), "invalid_request_error", "invalid_setting"))
                return
            self._send(200, app.settings.to_json())
        elif path == "/_hold" and method == "POST":
            app.hold()
            self._send(200, {"ok": True})
        elif path == "/_release" and method == "POST":
            app.release()
            self._send(200, {"ok": True})
        elif path == "/_reset" and method == "POST":
            app.reset()
            self._send(200, {"ok": True})
        elif path == "/_health":
            self._send(200, {"ok": True})
        else:
            self._send(
                404, _error_body(f"Unknown control path {method} {path}", "invalid_request_error", None)
            )

    # -- the API -----------------------------------------------------------------------------

    def _api(self, method: str, path: str, raw_body: bytes, entry: dict[str, Any]) -> None:
        app = self.server.app
        wire = WIRES[entry["api"]]
        if not self._authorized(entry, raw_body, wire):
            return
        if wire is OLLAMA:
            if path == "/api/chat" and method == "POST":
                self._chat(raw_body, entry, wire)
            elif path == "/api/tags" and method == "GET":
                self._status(entry, 200)
                self._send(200, {"models": [_ollama_model(m) for m in app.settings.models or DEFAULT_MODELS]})
            else:
                self._fail(entry, wire, 404, "404 page not found", "invalid_request_error", "unknown_url")
            return
        route = path[3:] if path.startswith("/v1/") else path
        if route == "/chat/completions" and method == "POST":
            self._chat(raw_body, entry, wire)
        elif route == "/models" and method == "GET":
            self._status(entry, 200)
            models = app.settings.models or DEFAULT_MODELS
            self._send(200, {"object": "list", "data": [_model_card(m) for m in models]})
        elif route.startswith("/models/") and method == "GET":
            model = unquote(route[len("/models/") :])
            app._note(entry, model=model)
            if not wire.serves(model, app.settings.models):
                self._fail(
                    entry, wire, 404, wire.model_not_found(model), "invalid_request_error", "model_not_found"
                )
            else:
                self._status(entry, 200)
                self._send(200, _model_card(model))
        else:
            self._fail(
                entry, wire, 404, f"Invalid URL ({method} {path})", "invalid_request_error", "unknown_url"
            )

    def _status(self, entry: dict[str, Any], status: int | None, error: str | None = None) -> None:
        self.server.app._note(entry, status=status, error=error)

    def _fail(
        self,
        entry: dict[str, Any],
        wire: "_Wire",
        status: int,
        message: str,
        type_: str,
        code: str | None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """An error reply, in the API's own error shape; ``code`` goes to the log's ``error``."""
        self._status(entry, status, code or f"http_{status}")
        self._send(status, wire.error_body(message, type_, code, param), headers)

    def _reject(self, entry: dict[str, Any], wire: "_Wire", exc: RequestError) -> None:
        self._fail(entry, wire, 400, str(exc), "invalid_request_error", exc.code, exc.param)

    def _authorized(self, entry: dict[str, Any], raw_body: bytes, wire: "_Wire") -> bool:
        api_key = self.server.app.settings.api_key
        given = self.headers.get("Authorization", "")
        if api_key is None or given == f"Bearer {api_key}":
            return True
        with contextlib.suppress(ValueError, AttributeError):
            self.server.app._note(entry, model=json.loads(raw_body).get("model"))  # for the log only
        shown = given.removeprefix("Bearer ")
        masked = (shown[:3] + "*" * max(0, len(shown) - 7) + shown[-4:]) if len(shown) > 7 else "***"
        self._fail(entry, wire, 401, wire.bad_key(masked), "invalid_request_error", "invalid_api_key")
        return False

    def _chat(self, raw_body: bytes, entry: dict[str, Any], wire: "_Wire") -> None:
        """One chat request of either API: ``wire`` reads it into the OpenAI-shaped body the
        checks, faults and replies below work on, and writes the reply and errors its own way."""
        app = self.server.app
        settings = app.settings  # one consistent snapshot for the whole request
        try:
            raw = json.loads(raw_body or b"null")
        except ValueError:
            raw = None
        try:
            body = wire.parse(raw)
        except RequestError as exc:
            self._reject(entry, wire, exc)
            return
        model = str(body["model"])
        stream = bool(body.get("stream"))
        include_usage = stream and bool((body.get("stream_options") or {}).get("include_usage"))
        app._note(
            entry,
            model=model,
            stream=stream,
            tools_offered=offered_names(body),
            tool_results=tool_message_count(body["messages"]),
            **({"body": raw} if settings.record_bodies else {}),
        )
        app._hold_if_due(entry)
        try:
            wire.check(body)
        except RequestError as exc:
            self._reject(entry, wire, exc)
            return
        decision = decide(body, settings.tool_turns, settings.parallel_tool_calls, settings.tool_script)
        kind = decision.kind
        app._note(entry, kind=kind)
        if not app._admit(entry, settings.in_flight_limit):
            app._note(entry, fault="429", fault_detail="in_flight_limit")
            self._status_fault(entry, wire, 429, settings)
            return
        cached_chars = app._measure_prompt(entry, prompt_text(body))
        drawn_early: str | None = None
        if settings.fast_status_faults and model not in settings.fail_models:
            # A gateway answers 429/5xx at once, without the model's latency.
            drawn_early = app._draw_fault()
            if drawn_early is not None and _STATUS_FAULT.match(drawn_early):
                app._note(entry, fault=drawn_early)
                self._status_fault(entry, wire, int(drawn_early), settings)
                return
        if settings.latency_ms > 0:
            app._stopping.wait(settings.latency_ms / 1000)
        app._gate.wait()  # open unless a test called hold()
        if not wire.serves(model, settings.models):
            self._fail(
                entry, wire, 404, wire.model_not_found(model), "invalid_request_error", "model_not_found"
            )
            return
        prompt_tokens = tokens_for(counted_chars(body))
        fault: str | None = None
        if model in settings.fail_models:
            fault = str(settings.fail_models[model])
        elif settings.context_limit_tokens is not None and prompt_tokens > settings.context_limit_tokens:
            limit = settings.context_limit_tokens
            self._fail(
                entry,
                wire,
                400,
                f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
                f"{prompt_tokens} tokens. Please reduce the length of the messages.",
                "invalid_request_error",
                "context_length_exceeded",
                "messages",
            )
            return
        else:
            fault = drawn_early if settings.fast_status_faults else app._draw_fault()
        if fault == "schema_invalid" and kind not in ("json_schema", "tool_calls"):
            fault = None
        app._note(entry, fault=fault)
        if fault is not None and _STATUS_FAULT.match(fault):
            self._status_fault(entry, wire, int(fault), settings)
            return
        if fault == "hang" and app._stopping.wait(settings.hang_seconds):
            self._status(entry, None, "hung_until_shutdown")  # stopped mid-hang: no reply at all
            self.close_connection = True
            return
        if fault == "malformed":
            self._status(entry, 200)
            self._record_usage(entry, None)
            wire.malformed(self, stream, model)
            return
        if fault == "html":
            self._status(entry, 200)
            self._record_usage(entry, None)
            self._send(200, None, {"Content-Type": "text/html; charset=utf-8"}, raw=HTML_PAGE)
            return
        reply = build_reply(
            body,
            schema_invalid=fault == "schema_invalid",
            decision=decision,
            reply_tokens=settings.reply_tokens,
        )
        app._note(
            entry,
            fault_detail=reply.fault_detail,
            tool=reply.tool_name,
            tools_called=[call.name for call in reply.calls],
        )
        completion_tokens = tokens_for(reply.completion_chars)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            # a whole prompt repeated has its role names too: never more than the prompt
            "cached_tokens": min(prompt_tokens, cached_chars // 4) if settings.prompt_cache else 0,
        }
        reported = usage if include_usage or not stream else None
        self._status(entry, 200)
        self._record_usage(entry, reported)
        if stream:
            wire.stream(self, reply, model, reported, max(1, settings.stream_chunk_chars))
        else:
            wire.complete(self, reply, model, usage)

    def _status_fault(self, entry: dict[str, Any], wire: "_Wire", status: int, settings: Settings) -> None:
        headers = {}
        if status == 429 and settings.retry_after is not None:
            seconds = settings.retry_after
            headers["Retry-After"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
        message, type_, code = wire.status_error(status)
        self._fail(entry, wire, status, message, type_, code, headers=headers)

    def _record_usage(self, entry: dict[str, Any], usage: dict[str, Any] | None) -> None:
        self.server.app._note(
            entry,
            usage_reported=usage is not None,
            **{key: usage[key] if usage else 0 for key in USAGE_KEYS},
        )

    def _stream_headers(self, content_type: str) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
            self.end_headers()
        except OSError as exc:
            raise _Disconnected() from exc

    def _chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except OSError as exc:
            raise _Disconnected() from exc


# --------------------------------------------------------------------------------------------
# Wire formats: how each API spells requests, replies and errors (the pipeline is shared)
# --------------------------------------------------------------------------------------------


class _Wire:
    name = ""

    def parse(self, raw: Any) -> dict[str, Any]:
        """The OpenAI-shaped body of a chat request (raise :class:`RequestError`: 400)."""
        raise NotImplementedError

    def check(self, body: dict[str, Any]) -> None:
        raise NotImplementedError

    def serves(self, model: str, models: tuple[str, ...] | None) -> bool:
        return models is None or model in models

    def error_body(self, message: str, type_: str, code: str | None, param: str | None) -> Any:
        raise NotImplementedError

    def model_not_found(self, model: str) -> str:
        raise NotImplementedError

    def bad_key(self, masked: str) -> str:
        raise NotImplementedError

    def status_error(self, status: int) -> tuple[str, str, str | None]:
        """Message, type and code of a simulated 4xx/5xx fault."""
        error = _status_error(status)["error"]
        return error["message"], error["type"], error["code"]

    def complete(self, h: "_Handler", reply: Reply, model: str, usage: dict[str, int]) -> None:
        raise NotImplementedError

    def stream(
        self, h: "_Handler", reply: Reply, model: str, usage: dict[str, int] | None, size: int
    ) -> None:
        raise NotImplementedError

    def malformed(self, h: "_Handler", stream: bool, model: str) -> None:
        """A reply cut off in the middle of its JSON (headers and status 200 first)."""
        raise NotImplementedError


class _OpenAIWire(_Wire):
    """OpenAI's Chat Completions: JSON replies, SSE streams (``data: ...``, then ``[DONE]``)."""

    name = "openai"

    def parse(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, dict) or not isinstance(raw.get("messages"), list) or not raw.get("model"):
            raise RequestError(
                "The request body must be a JSON object with 'model' and 'messages'.", "invalid_body"
            )
        return raw

    def check(self, body: dict[str, Any]) -> None:
        check_request(body)

    def error_body(self, message: str, type_: str, code: str | None, param: str | None) -> Any:
        return _error_body(message, type_, code, param)

    def model_not_found(self, model: str) -> str:
        return f"The model `{model}` does not exist or you do not have access to it."

    def bad_key(self, masked: str) -> str:
        return (
            f"Incorrect API key provided: {masked}. You can find your API key at "
            "https://platform.openai.com/account/api-keys."
        )

    @staticmethod
    def _usage(usage: dict[str, int]) -> dict[str, Any]:
        return {
            **{key: usage[key] for key in USAGE_KEYS[:3]},
            "prompt_tokens_details": {"cached_tokens": usage.get("cached_tokens", 0), "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }

    @staticmethod
    def _event(h: "_Handler", payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        h._chunk(f"data: {text}\n\n".encode())

    def complete(self, h: "_Handler", reply: Reply, model: str, usage: dict[str, int]) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
        if reply.kind == "tool_calls":
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in reply.calls
            ]
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_dialectic_test",
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}
            ],
            "usage": self._usage(usage),
        }
        h._send(200, payload)

    def stream(
        self, h: "_Handler", reply: Reply, model: str, usage: dict[str, int] | None, size: int
    ) -> None:
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": "fp_dialectic_test",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if usage is not None:
                data["usage"] = None
            return data

        h._stream_headers("text/event-stream; charset=utf-8")
        if reply.kind == "tool_calls":
            for index, call in enumerate(reply.calls):
                opening = {
                    "index": index,
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": ""},
                }
                first = {"role": "assistant", "content": None} if index == 0 else {}
                self._event(h, chunk({**first, "tool_calls": [opening]}))
                for start in range(0, len(call.arguments), size):
                    piece = call.arguments[start : start + size]
                    self._event(
                        h, chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                    )
        else:
            content = reply.content or ""
            self._event(h, chunk({"role": "assistant", "content": "", "refusal": None}))
            for start in range(0, len(content), size):
                self._event(h, chunk({"content": content[start : start + size]}))
        self._event(h, chunk({}, reply.finish_reason))
        if usage is not None:
            self._event(
                h,
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_dialectic_test",
                    "choices": [],
                    "usage": self._usage(usage),
                },
            )
        h._ending()
        self._event(h, "[DONE]")
        h._chunk(b"")

    def malformed(self, h: "_Handler", stream: bool, model: str) -> None:
        truncated = (
            '{"id": "chatcmpl-malformed", "object": "chat.completion", "model": ' + json.dumps(model) + ", "
            '"choices": [{"index": 0, "message": {"role": "assistant", "content": "The design'
        )
        if not stream:
            h._send(200, None, raw=truncated.encode())
            return
        h._stream_headers("text/event-stream; charset=utf-8")
        h._chunk(f"data: {truncated}\n\n".encode())
        h._ending()
        self._event(h, "[DONE]")
        h._chunk(b"")


OLLAMA_VERSION = "0.13.0"


class _OllamaWire(_Wire):
    """Ollama's native ``/api/chat``: a JSON reply, or newline-delimited JSON chunks whose last one
    says ``"done": true`` and carries the counts; errors are ``{"error": "message"}``."""

    name = "ollama"

    def parse(self, raw: Any) -> dict[str, Any]:
        return ollama_body(raw)

    def check(self, body: dict[str, Any]) -> None:
        check_tools(body)  # Ollama pairs tool results with calls by order and rejects no pairing

    def serves(self, model: str, models: tuple[str, ...] | None) -> bool:
        return models is None or model in models or (":" not in model and f"{model}:latest" in models)

    def error_body(self, message: str, type_: str, code: str | None, param: str | None) -> Any:
        return {"error": message}

    def model_not_found(self, model: str) -> str:
        return f'model "{model}" not found, try pulling it first'

    def bad_key(self, masked: str) -> str:
        return "unauthorized"

    def status_error(self, status: int) -> tuple[str, str, str | None]:
        if status == 429:
            return "too many requests (simulated)", "requests", "rate_limit_exceeded"
        if status == 503:
            return (
                "server busy, please try again.  maximum pending requests exceeded (simulated)",
                "server_error",
                "overloaded",
            )
        if status >= 500:
            return "llama runner process has terminated (simulated)", "server_error", None
        return f"request rejected with HTTP {status} (simulated)", "invalid_request_error", None

    @staticmethod
    def _created_at() -> str:
        return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def _final(self, h: "_Handler", reply: Reply, model: str, usage: dict[str, int] | None) -> dict[str, Any]:
        entry = h._entry or {}
        total = max(1, int((time.time() - entry.get("started", time.time())) * 1e9))
        data: dict[str, Any] = {
            "model": model,
            "created_at": self._created_at(),
            "done": True,
            "done_reason": "length" if reply.finish_reason == "length" else "stop",
            "total_duration": total,
            "load_duration": 0,
        }
        if usage is not None:
            data.update(
                prompt_eval_count=usage["prompt_tokens"],
                prompt_eval_duration=total // 4,
                eval_count=usage["completion_tokens"],
                eval_duration=total - total // 4,
            )
        return data

    @staticmethod
    def _calls(reply: Reply) -> list[dict[str, Any]]:
        return [
            {"function": {"index": index, "name": call.name, "arguments": json.loads(call.arguments)}}
            for index, call in enumerate(reply.calls)
        ]

    def complete(self, h: "_Handler", reply: Reply, model: str, usage: dict[str, int]) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content or ""}
        if reply.calls:
            message["tool_calls"] = self._calls(reply)
        final = self._final(h, reply, model, usage)
        h._send(200, {"model": model, "created_at": final.pop("created_at"), "message": message, **final})

    def _line(self, h: "_Handler", payload: Any) -> None:
        h._chunk((json.dumps(payload, ensure_ascii=False) + "\n").encode())

    def stream(
        self, h: "_Handler", reply: Reply, model: str, usage: dict[str, int] | None, size: int
    ) -> None:
        h._stream_headers("application/x-ndjson")

        def chunk(message: dict[str, Any]) -> dict[str, Any]:
            return {
                "model": model,
                "created_at": self._created_at(),
                "message": {"role": "assistant", **message},
                "done": False,
            }

        if reply.calls:  # Ollama sends each turn's tool calls whole, in one chunk
            self._line(h, chunk({"content": "", "tool_calls": self._calls(reply)}))
        else:
            content = reply.content or ""
            for start in range(0, len(content), size):
                self._line(h, chunk({"content": content[start : start + size]}))
        final = self._final(h, reply, model, usage)
        h._ending()
        self._line(
            h,
            {
                "model": model,
                "created_at": final.pop("created_at"),
                "message": {"role": "assistant", "content": ""},
                **final,
            },
        )
        h._chunk(b"")

    def malformed(self, h: "_Handler", stream: bool, model: str) -> None:
        truncated = (
            '{"model": ' + json.dumps(model) + ', "created_at": "' + self._created_at() + '", '
            '"message": {"role": "assistant", "content": "The design'
        )
        if not stream:
            h._send(200, None, raw=truncated.encode())
            return
        h._stream_headers("application/x-ndjson")
        h._ending()
        h._chunk(f"{truncated}\n".encode())
        h._chunk(b"")


OPENAI = _OpenAIWire()
OLLAMA = _OllamaWire()
WIRES: dict[str, _Wire] = {wire.name: wire for wire in (OPENAI, OLLAMA)}


def _model_card(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "dialectic-test"}


def _ollama_model(model: str) -> dict[str, Any]:
    """An entry of ``GET /api/tags``."""
    return {
        "name": model,
        "model": model,
        "modified_at": "2025-01-01T00:00:00Z",
        "size": 1_000_000_000,
        "digest": hashlib.sha256(model.encode()).hexdigest(),
        "details": {
            "parent_model": "",
            "format": "gguf",
            "family": "dialectic",
            "families": ["dialectic"],
            "parameter_size": "1B",
            "quantization_level": "Q4_K_M",
        },
    }


class LLMServer:
    """The server; ``start()`` serves in a background thread, ``stop()`` ends it (and every hang)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True, **settings: Any
    ) -> None:
        self.quiet = quiet
        self._lock = threading.Lock()
        self._settings = _updated(Settings(), settings)
        self._rng = random.Random(self._settings.seed)
        self._log: list[dict[str, Any]] = []
        self._next_id = 0
        self._in_flight = 0
        self._admitted: set[int] = set()  # ids of the chat completions past the in-flight limit
        self._prompt_cache = PrefixCache()
        self._stopping = threading.Event()
        self._gate = threading.Event()
        self._gate.set()
        self._hold_when: Callable[[dict[str, Any]], bool] | None = None
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.app = self
        self._thread: threading.Thread | None = None
        self._serving = False
        self._stopped = False

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL for OpenAI clients: ``http://127.0.0.1:PORT/v1``."""
        return f"{self.root_url}/v1"

    def start(self) -> "LLMServer":
        if self._thread is None and not self._serving:
            self._serving = True
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="llm-server",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (from another thread or a signal)."""
        self._serving = True
        self._httpd.serve_forever(poll_interval=0.1)

    def stop(self, wait_seconds: float = 2.0) -> None:
        """Stop serving: hangs and latency waits end at once, open connections are closed."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        self._gate.set()
        if self._serving:
            self._httpd.shutdown()  # returns once serve_forever has returned
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        with self._httpd.sockets_lock:
            sockets = list(self._httpd.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + wait_seconds
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.01)

    def __enter__(self) -> "LLMServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- settings ----------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    def set(self, **changes: Any) -> "LLMServer":
        """Change settings between phases of a test, e.g. ``set(faults={}, fail_models={})``."""
        with self._lock:
            self._settings = _updated(self._settings, changes)
            if "seed" in changes:
                self._rng = random.Random(self._settings.seed)
        return self

    def hold(self) -> None:
        """Hold every chat completion (after its latency, before its reply) until :meth:`release`:
        requests pile up in flight, so a test can count exactly how many a client sends at once."""
        self._gate.clear()

    def hold_from(self, predicate: Callable[[dict[str, Any]], bool]) -> None:
        """:meth:`hold` from the first request whose log entry matches ``predicate`` on, that one
        included: engaged by the server as the request arrives, so no reply can slip out first."""
        with self._lock:
            self._hold_when = predicate

    def _hold_if_due(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if self._hold_when is not None and self._hold_when(dict(entry)):
                self._hold_when = None
                self._gate.clear()

    def release(self) -> None:
        with self._lock:
            self._hold_when = None
        self._gate.set()

    def reset(self) -> None:
        """Forget the log and the prompt cache, and re-seed the fault draws (settings are kept)."""
        with self._lock:
            self._log.clear()
            self._next_id = 0
            self._rng = random.Random(self._settings.seed)
            self._prompt_cache.clear()

    def _admit(self, entry: dict[str, Any], limit: int | None) -> bool:
        """Whether a chat completion may be served: fewer than ``limit`` are (None: no limit)."""
        with self._lock:
            if limit is not None and len(self._admitted) >= limit:
                return False
            self._admitted.add(entry["id"])
            return True

    def _measure_prompt(self, entry: dict[str, Any], text: str) -> int:
        """Log how much of the prompt a prefix cache could serve (in arrival order); the count."""
        with self._lock:
            cached = self._prompt_cache.admit(text)
            entry.update(prompt_chars=len(text), cacheable_chars=cached)
            return cached

    def _draw_fault(self) -> str | None:
        with self._lock:
            draw = self._rng.random()  # one draw per eligible request, whatever the settings
            settings = self._settings
            if settings.fail_next:
                fault, *rest = settings.fail_next
                self._settings = replace(settings, fail_next=tuple(rest))
                return fault
            edge = 0.0
            for kind, probability in settings.faults.items():
                edge += probability
                if draw < edge:
                    return kind
            return None

    # -- the log -----------------------------------------------------------------------------

    def _begin(self, method: str, path: str) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            self._in_flight += 1
            entry: dict[str, Any] = {
                "id": self._next_id,
                "started": time.time(),
                "ended": None,
                "duration_ms": None,
                "method": method,
                "path": path,
                "api": "ollama" if path == "/api" or path.startswith("/api/") else "openai",
                "model": None,
                "status": None,
                "stream": False,
                "kind": None,
                "fault": None,
                "fault_detail": None,
                "in_flight": self._in_flight,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "total_tokens": 0,
                "cached_tokens": 0,
                "prompt_chars": 0,
                "cacheable_chars": 0,
                "usage_reported": False,
                "error": None,
                "tool": None,
                "tools_called": [],
                "tools_offered": [],
                "tool_results": 0,
            }
            self._log.append(entry)
            return entry

    def _note(self, entry: dict[str, Any], **fields: Any) -> None:
        with self._lock:
            entry.update(fields)

    def _finish(self, entry: dict[str, Any]) -> None:
        with self._lock:
            if entry["ended"] is not None:
                return
            self._in_flight -= 1
            self._admitted.discard(entry["id"])
            entry["ended"] = time.time()
            entry["duration_ms"] = round((entry["ended"] - entry["started"]) * 1000, 3)
            line = json.dumps(entry, default=str) if self._settings.log_path else None
            if line is not None:
                with open(self._settings.log_path, "a", encoding="utf-8") as handle:  # type: ignore[arg-type]
                    handle.write(line + "\n")

    @property
    def log(self) -> list[dict[str, Any]]:
        """A copy of every API request's entry, oldest first (unfinished ones have ``ended`` None)."""
        with self._lock:
            return copy.deepcopy(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def requests(self, path_suffix: str = "/chat/completions", **match: Any) -> list[dict[str, Any]]:
        """Log entries whose path ends with ``path_suffix`` and whose fields equal ``match``."""
        return [
            e
            for e in self.log
            if e["path"].endswith(path_suffix) and all(e.get(key) == value for key, value in match.items())
        ]

    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def max_in_flight(self) -> int:
        """The most API requests ever served at once (0 before the first)."""
        return max((e["in_flight"] for e in self.log), default=0)

    def cacheable_share(self) -> float:
        """The share of prompt text a prefix cache could serve, over the log (0.0: no prompt yet)."""
        entries = self.log
        total = sum(e["prompt_chars"] for e in entries)
        return sum(e["cacheable_chars"] for e in entries) / total if total else 0.0

    def token_totals(self) -> dict[str, int]:
        """Sums of the usage the server reported, over the whole log."""
        entries = self.log
        return {key: sum(e[key] for e in entries) for key in USAGE_KEYS}

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0) -> bool:
        """Poll the log until ``predicate(log)`` holds (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.log):
                return True
            time.sleep(0.01)
        return predicate(self.log)

    def stats(self) -> dict[str, Any]:
        entries = self.log
        statuses: dict[str, int] = {}
        faults: dict[str, int] = {}
        for e in entries:
            statuses[str(e["status"])] = statuses.get(str(e["status"]), 0) + 1
            if e["fault"]:
                faults[e["fault"]] = faults.get(e["fault"], 0) + 1
        return {
            "requests": len(entries),
            "in_flight": self.in_flight(),
            "max_in_flight": max((e["in_flight"] for e in entries), default=0),
            "statuses": statuses,
            "faults": faults,
            **{key: sum(e[key] for e in entries) for key in USAGE_KEYS},
            "cacheable_share": self.cacheable_share(),
        }


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def _pairs(values: list[str], flag: str) -> Iterator[tuple[str, str]]:
    for value in values:
        key, sep, rest = value.rpartition("=")
        if not sep or not key:
            raise SystemExit(f"{flag} expects NAME=VALUE, got {value!r}")
        yield key, rest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="OpenAI Chat Completions and Ollama /api/chat test server (loopback)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed on stdout)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--fault", action="append", default=[], metavar="KIND=P", help="e.g. 429=0.1, hang=0.01"
    )
    parser.add_argument("--faults", help="JSON object, e.g. '{\"429\": 0.1}'")
    parser.add_argument("--retry-after", type=float, default=0.0)
    parser.add_argument("--hang-seconds", type=float, default=3600.0)
    parser.add_argument("--fail-model", action="append", default=[], metavar="MODEL=STATUS")
    parser.add_argument("--api-key")
    parser.add_argument("--models", help="comma-separated allow-list")
    parser.add_argument("--context-limit-tokens", type=int)
    parser.add_argument("--log-file", help="append every request's log entry as JSON lines")
    parser.add_argument("--record-bodies", action="store_true")
    parser.add_argument("--tool-turns", type=int, default=2, help="0: the agent never calls tools on its own")
    parser.add_argument("--parallel-tool-calls", type=int, default=1)
    parser.add_argument(
        "--tool-script",
        help='JSON list of turns of tool calls, e.g. \'[[{"name": "file_read", "arguments": {"path": ".env"}}]]\'',
    )
    parser.add_argument("--reply-tokens", type=int, help="plain-text replies of exactly N tokens")
    parser.add_argument(
        "--max-in-flight", type=int, help="chat completions served at once; one more gets 429 at once"
    )
    parser.add_argument(
        "--prompt-cache", action="store_true", help="report prompt_tokens_details.cached_tokens"
    )
    parser.add_argument("--verbose", action="store_true", help="print one line per request on stderr")
    args = parser.parse_args(argv)
    faults = json.loads(args.faults) if args.faults else {}
    faults.update({k: float(v) for k, v in _pairs(args.fault, "--fault")})
    server = LLMServer(
        args.host,
        args.port,
        quiet=not args.verbose,
        latency_ms=args.latency_ms,
        seed=args.seed,
        faults=faults,
        retry_after=args.retry_after,
        hang_seconds=args.hang_seconds,
        fail_models=dict(_pairs(args.fail_model, "--fail-model")),
        api_key=args.api_key,
        models=args.models.split(",") if args.models else None,
        context_limit_tokens=args.context_limit_tokens,
        log_path=args.log_file,
        record_bodies=args.record_bodies,
        tool_turns=args.tool_turns,
        parallel_tool_calls=args.parallel_tool_calls,
        tool_script=json.loads(args.tool_script) if args.tool_script else (),
        reply_tokens=args.reply_tokens,
        in_flight_limit=args.max_in_flight,
        prompt_cache=args.prompt_cache,
    )

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.stop, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"LISTENING {server.url}", flush=True)
    server.serve_forever()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
