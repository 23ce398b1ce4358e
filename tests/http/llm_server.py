#!/usr/bin/env python3
"""An OpenAI-compatible Chat Completions server for tests and benchmarks, on loopback only.

Standard library only (``http.server.ThreadingHTTPServer``, one daemon thread per connection),
so the real ``openai`` client and ``langchain_openai.ChatOpenAI`` can be exercised over real HTTP
with no real model behind them.

Endpoints (with or without the ``/v1`` prefix):

- ``POST /v1/chat/completions``: non-streaming, or SSE streaming (``data: {...}`` chunks, then
  ``data: [DONE]``; with ``stream_options.include_usage`` a last chunk carries the usage).
  Deterministic: the same request body (``stream``/``stream_options`` aside) gets the same reply.
  - plain text: a Markdown design answer that quotes a sentence of the last user message's
    ``## Problem`` section, if it has one;
  - ``response_format`` ``json_schema``: JSON valid against the schema; ``json_object``: a JSON object;
  - ``tools`` with ``tool_choice`` ``"required"`` or naming a function: one tool call whose
    arguments are valid against that function's ``parameters`` schema.
  Usage in every reply: ``prompt_tokens = ceil(chars of all message contents / 4)``,
  ``completion_tokens = ceil(chars of the reply content, or of the tool-call arguments, / 4)``.
- ``GET /v1/models`` and ``GET /v1/models/{id}``.
- Control (not logged): ``GET /_log`` (the log, a JSON list), ``GET /_stats``,
  ``GET /_settings``, ``POST /_settings`` (JSON object of settings, as :meth:`LLMServer.set`),
  ``POST /_reset`` (clears the log and re-seeds the fault generator), ``POST /_hold`` and
  ``POST /_release`` (see :meth:`LLMServer.hold`), ``GET /_health``.

Settings (constructor keywords, :meth:`LLMServer.set`, ``POST /_settings`` or command-line flags):

``latency_ms``            delay before every chat completion is answered
``fast_status_faults``    drawn 429/5xx faults are answered at once, before the latency (as a
                          gateway or a rate limiter would); off by default
``seed``                  seed of the fault draws (setting it re-seeds)
``faults``                ``{kind: probability}``; kinds: ``"429"``, ``"500"``, ``"503"`` (any
                          4xx/5xx code works), ``"hang"``, ``"malformed"``, ``"schema_invalid"``.
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

Order of the rules: auth (401, every API path), then for a chat completion: body (400), latency,
hold (see :meth:`LLMServer.hold`), model allow-list (404), ``fail_models``, context limit (400),
then one fault draw (``fail_next`` first, else random). ``schema_invalid`` applies only to
requests with a ``json_schema`` response format or a forced tool; drawn for any other request, it
is not applied (``fault`` stays None in the log).

Log entries (``server.log``: copies, oldest first; ``GET /_log``):

``id``, ``method``, ``path``, ``model``, ``stream``
``started``, ``ended``     epoch seconds; an entry is finished just before the last bytes of its
                           reply go out, so a client holding a whole reply finds its entry complete
``duration_ms``            ``ended - started``
``status``                 None if no reply was sent (a hang ended by ``stop()``)
``kind``                   ``text``, ``json_schema``, ``json_object`` or ``tool_calls``
``fault``, ``fault_detail`` the fault applied, and for ``schema_invalid`` what it violates
``in_flight``              API requests being served when this one started, this one included
``prompt_tokens``, ``completion_tokens``, ``total_tokens``
                           exactly the usage the reply reported; 0 when it reported none
``usage_reported``         whether the reply carried usage (errors, malformed replies and streams
                           without ``include_usage`` do not)
``error``, ``tool``        the error code sent; the name of the function called

Helpers: ``max_in_flight()``, ``in_flight()``, ``token_totals()``, ``requests(...)``,
``wait_for(predicate)``, ``clear_log()``, ``reset()``, ``hold()``/``release()``, ``stats()``.

Use from Python (tests load this file with ``importlib``; see ``tests/http/conftest.py``)::

    server = LLMServer(latency_ms=0, faults={"429": 0.1}, seed=7).start()
    client = openai.OpenAI(base_url=server.url, api_key="k", max_retries=0)
    ...
    server.set(faults={}, fail_models={})
    server.stop()

or as a script (prints ``LISTENING http://127.0.0.1:PORT/v1`` on stdout once serving)::

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
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

FAULT_KINDS = ("429", "500", "503", "hang", "malformed", "schema_invalid")
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["fail_next"] = list(self.fail_next)
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
        elif name == "context_limit_tokens":
            value = None if value is None else int(value)
        clean[name] = value
    return replace(settings, **clean)


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


def prompt_chars(messages: list[Any]) -> int:
    """Characters of every message's content, plus the arguments of assistant tool calls."""
    total = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        total += len(content_text(message.get("content")))
        for call in message.get("tool_calls") or ():
            total += len(str((call.get("function") or {}).get("arguments", "")))
    return total


def tokens_for(chars: int) -> int:
    return math.ceil(chars / 4)


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
    valid = instance_from_schema(schema, generator, text)
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


def design_markdown(rng: random.Random, quote: str | None) -> str:
    components = rng.sample(_COMPONENTS, 4)
    lines = ["## Summary", ""]
    if quote:
        lines += [f"> {quote}", ""]
    first, second = components[0][0], components[1][0]
    lines += [
        f"The design puts a {first} in front of a {second}, keeps state in one place and makes every "
        f"step idempotent, so retries and restarts are safe.",
        "",
        "## Design",
        "",
    ]
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


@dataclass
class Reply:
    kind: str  # text | json_schema | json_object | tool_calls
    content: str | None
    tool_name: str | None = None
    arguments: str | None = None
    finish_reason: str = "stop"
    fault_detail: str | None = None

    @property
    def completion_chars(self) -> int:
        return len(self.arguments or "") if self.kind == "tool_calls" else len(self.content or "")


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def forced_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The function a request forces the model to call, if any."""
    tools = [
        t for t in body.get("tools") or () if isinstance(t, dict) and t.get("type", "function") == "function"
    ]
    choice = body.get("tool_choice")
    if not tools or choice in (None, "auto", "none"):
        return None
    if choice == "required":
        return tools[0].get("function") or {}
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        for tool in tools:
            if (tool.get("function") or {}).get("name") == name:
                return tool.get("function") or {}
    return None


def request_kind(body: dict[str, Any]) -> str:
    if forced_tool(body) is not None:
        return "tool_calls"
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") in ("json_schema", "json_object"):
        return str(response_format["type"])
    return "text"


def request_seed(body: dict[str, Any]) -> int:
    """The same request (streaming aside) gets the same reply."""
    stable = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    digest = hashlib.sha256(json.dumps(stable, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def build_reply(body: dict[str, Any], *, schema_invalid: bool = False) -> Reply:
    rng = random.Random(request_seed(body))
    messages = body.get("messages") or []
    sentences = problem_sentences(_last_user_text(messages))
    quote = rng.choice(sentences) if sentences else None

    def text() -> str:
        return design_markdown(rng, quote)

    kind = request_kind(body)
    if kind == "tool_calls":
        function = forced_tool(body) or {}
        parameters = function.get("parameters") or {"type": "object", "properties": {}}
        if schema_invalid:
            value, detail = invalid_instance_from_schema(parameters, rng, text)
        else:
            value, detail = instance_from_schema(parameters, rng, text), None
        return Reply(
            "tool_calls",
            None,
            tool_name=str(function.get("name", "tool")),
            arguments=json.dumps(value, ensure_ascii=False),
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
    content = text()
    finish = "stop"
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int) and limit > 0 and tokens_for(len(content)) > limit:
        content, finish = content[: limit * 4], "length"
    return Reply("text", content, finish_reason=finish)


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
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-request-id", f"req_{uuid.uuid4().hex[:16]}")
            for name, value in (headers or {}).items():
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
        route = path[3:] if path.startswith("/v1/") else path
        if not self._authorized(entry, raw_body):
            return
        if route == "/chat/completions" and method == "POST":
            self._chat(raw_body, entry)
        elif route == "/models" and method == "GET":
            self._status(entry, 200)
            models = app.settings.models or DEFAULT_MODELS
            self._send(200, {"object": "list", "data": [_model_card(m) for m in models]})
        elif route.startswith("/models/") and method == "GET":
            model = unquote(route[len("/models/") :])
            app._note(entry, model=model)
            if app.settings.models is not None and model not in app.settings.models:
                self._error(entry, 404, _model_not_found(model))
            else:
                self._status(entry, 200)
                self._send(200, _model_card(model))
        else:
            self._error(
                entry,
                404,
                _error_body(f"Invalid URL ({method} {path})", "invalid_request_error", "unknown_url"),
            )

    def _status(self, entry: dict[str, Any], status: int | None, error: str | None = None) -> None:
        self.server.app._note(entry, status=status, error=error)

    def _error(
        self,
        entry: dict[str, Any],
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        self._status(entry, status, (payload.get("error") or {}).get("code") or f"http_{status}")
        self._send(status, payload, headers)

    def _authorized(self, entry: dict[str, Any], raw_body: bytes) -> bool:
        api_key = self.server.app.settings.api_key
        given = self.headers.get("Authorization", "")
        if api_key is None or given == f"Bearer {api_key}":
            return True
        with contextlib.suppress(ValueError, AttributeError):
            self.server.app._note(entry, model=json.loads(raw_body).get("model"))  # for the log only
        shown = given.removeprefix("Bearer ")
        masked = (shown[:3] + "*" * max(0, len(shown) - 7) + shown[-4:]) if len(shown) > 7 else "***"
        self._error(
            entry,
            401,
            _error_body(
                f"Incorrect API key provided: {masked}. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            ),
        )
        return False

    def _chat(self, raw_body: bytes, entry: dict[str, Any]) -> None:
        app = self.server.app
        settings = app.settings  # one consistent snapshot for the whole request
        try:
            body = json.loads(raw_body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            self._error(
                entry,
                400,
                _error_body(
                    "The request body must be a JSON object with 'model' and 'messages'.",
                    "invalid_request_error",
                    "invalid_body",
                ),
            )
            return
        model = str(body["model"])
        stream = bool(body.get("stream"))
        include_usage = stream and bool((body.get("stream_options") or {}).get("include_usage"))
        kind = request_kind(body)
        app._note(
            entry, model=model, stream=stream, kind=kind, **({"body": body} if settings.record_bodies else {})
        )
        drawn_early: str | None = None
        if settings.fast_status_faults and model not in settings.fail_models:
            # A gateway answers 429/5xx at once, without the model's latency.
            drawn_early = app._draw_fault()
            if drawn_early is not None and _STATUS_FAULT.match(drawn_early):
                app._note(entry, fault=drawn_early)
                self._status_fault(entry, int(drawn_early), settings)
                return
        if settings.latency_ms > 0:
            app._stopping.wait(settings.latency_ms / 1000)
        app._gate.wait()  # open unless a test called hold()
        if settings.models is not None and model not in settings.models:
            self._error(entry, 404, _model_not_found(model))
            return
        prompt_tokens = tokens_for(prompt_chars(body["messages"]))
        fault: str | None = None
        if model in settings.fail_models:
            fault = str(settings.fail_models[model])
        elif settings.context_limit_tokens is not None and prompt_tokens > settings.context_limit_tokens:
            limit = settings.context_limit_tokens
            self._error(
                entry,
                400,
                _error_body(
                    f"This model's maximum context length is {limit} tokens. However, your messages resulted in "
                    f"{prompt_tokens} tokens. Please reduce the length of the messages.",
                    "invalid_request_error",
                    "context_length_exceeded",
                    "messages",
                ),
            )
            return
        else:
            fault = drawn_early if settings.fast_status_faults else app._draw_fault()
        if fault == "schema_invalid" and kind not in ("json_schema", "tool_calls"):
            fault = None
        app._note(entry, fault=fault)
        if fault is not None and _STATUS_FAULT.match(fault):
            self._status_fault(entry, int(fault), settings)
            return
        if fault == "hang" and app._stopping.wait(settings.hang_seconds):
            self._status(entry, None, "hung_until_shutdown")  # stopped mid-hang: no reply at all
            self.close_connection = True
            return
        if fault == "malformed":
            self._malformed(entry, stream, model)
            return
        reply = build_reply(body, schema_invalid=fault == "schema_invalid")
        app._note(entry, fault_detail=reply.fault_detail, tool=reply.tool_name)
        completion_tokens = tokens_for(reply.completion_chars)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        if stream:
            self._stream(entry, reply, completion_id, model, usage if include_usage else None, settings)
        else:
            self._complete(entry, reply, completion_id, model, usage)

    def _status_fault(self, entry: dict[str, Any], status: int, settings: Any) -> None:
        headers = {}
        if status == 429 and settings.retry_after is not None:
            seconds = settings.retry_after
            headers["Retry-After"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
        self._error(entry, status, _status_error(status), headers)

    def _record_usage(self, entry: dict[str, Any], usage: dict[str, Any] | None) -> None:
        self.server.app._note(
            entry,
            usage_reported=usage is not None,
            **{
                key: usage[key] if usage else 0
                for key in ("prompt_tokens", "completion_tokens", "total_tokens")
            },
        )

    def _complete(
        self, entry: dict[str, Any], reply: Reply, completion_id: str, model: str, usage: dict[str, Any]
    ) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
        if reply.kind == "tool_calls":
            message["tool_calls"] = [
                {
                    "id": f"call_{completion_id[-20:]}",
                    "type": "function",
                    "function": {"name": reply.tool_name, "arguments": reply.arguments},
                }
            ]
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_dialectic_test",
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}
            ],
            "usage": usage,
        }
        self._status(entry, 200)
        self._record_usage(entry, usage)
        self._send(200, payload)

    def _stream_headers(self) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
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

    def _event(self, payload: Any) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._chunk(f"data: {text}\n\n".encode())

    def _stream(
        self,
        entry: dict[str, Any],
        reply: Reply,
        completion_id: str,
        model: str,
        usage: dict[str, Any] | None,
        settings: Settings,
    ) -> None:
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

        size = max(1, settings.stream_chunk_chars)
        self._status(entry, 200)
        self._record_usage(entry, usage)
        self._stream_headers()
        if reply.kind == "tool_calls":
            arguments = reply.arguments or ""
            self._event(
                chunk(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "index": 0,
                                "id": f"call_{completion_id[-20:]}",
                                "type": "function",
                                "function": {"name": reply.tool_name, "arguments": ""},
                            }
                        ],
                    }
                )
            )
            for start in range(0, len(arguments), size):
                piece = arguments[start : start + size]
                self._event(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
        else:
            content = reply.content or ""
            self._event(chunk({"role": "assistant", "content": "", "refusal": None}))
            for start in range(0, len(content), size):
                self._event(chunk({"content": content[start : start + size]}))
        self._event(chunk({}, reply.finish_reason))
        if usage is not None:
            self._event(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "system_fingerprint": "fp_dialectic_test",
                    "choices": [],
                    "usage": usage,
                }
            )
        self._ending()
        self._event("[DONE]")
        self._chunk(b"")

    def _malformed(self, entry: dict[str, Any], stream: bool, model: str) -> None:
        self._status(entry, 200)
        self._record_usage(entry, None)
        truncated = (
            '{"id": "chatcmpl-malformed", "object": "chat.completion", "model": ' + json.dumps(model) + ", "
            '"choices": [{"index": 0, "message": {"role": "assistant", "content": "The design'
        )
        if not stream:
            self._send(200, None, raw=truncated.encode())
            return
        self._stream_headers()
        self._chunk(f"data: {truncated}\n\n".encode())
        self._ending()
        self._event("[DONE]")
        self._chunk(b"")


def _model_card(model: str) -> dict[str, Any]:
    return {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "dialectic-test"}


def _model_not_found(model: str) -> dict[str, Any]:
    return _error_body(
        f"The model `{model}` does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    )


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
        self._stopping = threading.Event()
        self._gate = threading.Event()
        self._gate.set()
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

    def release(self) -> None:
        self._gate.set()

    def reset(self) -> None:
        """Forget the log and re-seed the fault draws (settings are kept)."""
        with self._lock:
            self._log.clear()
            self._next_id = 0
            self._rng = random.Random(self._settings.seed)

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
                "usage_reported": False,
                "error": None,
                "tool": None,
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

    def token_totals(self) -> dict[str, int]:
        """Sums of the usage the server reported, over the whole log."""
        entries = self.log
        return {
            key: sum(e[key] for e in entries)
            for key in ("prompt_tokens", "completion_tokens", "total_tokens")
        }

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
            **{
                key: sum(e[key] for e in entries)
                for key in ("prompt_tokens", "completion_tokens", "total_tokens")
            },
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
    parser = argparse.ArgumentParser(description="OpenAI-compatible Chat Completions test server (loopback).")
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
