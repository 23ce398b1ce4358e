"""A loopback stand-in for Anthropic's Messages API (``POST /v1/messages``), for the provider path
that marks its prompt-cache prefixes (``cache_control``): standard library only, so the real
``anthropic`` client under ``langchain_anthropic.ChatAnthropic`` is exercised over real HTTP.

It answers text (or, for ``output_config.format`` ``json_schema``, the JSON the test gives) and
reports usage as Anthropic does: ``input_tokens`` are the prompt tokens neither read from nor
written to the cache; ``cache_read_input_tokens`` the longest marked prefix an earlier request
wrote; ``cache_creation_input_tokens`` what this request's marks add beyond it. Like Anthropic's,
the cache keeps only prefixes that end at a ``cache_control`` mark. Tokens are characters ÷ 4.
Every request body is kept in :attr:`AnthropicServer.bodies`.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any], str], str]  # (request body, prompt text) -> reply text


def blocks(content: Any) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)


def marked_prefixes(body: dict[str, Any]) -> tuple[str, list[int]]:
    """The prompt's text (system, then each message's text blocks) and the lengths of its
    prefixes that end at a ``cache_control`` mark."""
    text, marks = "", []
    for block in blocks(body.get("system") or []):
        text += block.get("text", "")
        if block.get("cache_control"):
            marks.append(len(text))
    for message in body.get("messages") or []:
        text += f"\n{message['role']}:"
        for block in blocks(message.get("content") or []):
            text += block.get("text", "") or json.dumps(block.get("input") or block.get("content") or "")
            if block.get("cache_control"):
                marks.append(len(text))
    return text, marks


class AnthropicServer:
    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.bodies: list[dict[str, Any]] = []
        self.usages: list[dict[str, int]] = []
        self._cache: set[str] = set()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                status, answer = server.answer(self.path, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path.rstrip("/") != "/v1/messages":
            return 404, {"type": "error", "error": {"type": "not_found_error", "message": path}}
        text, marks = marked_prefixes(body)
        with self._lock:
            self.bodies.append(body)
            read = max((m for m in marks if text[:m] in self._cache), default=0)
            written = max(marks, default=0)
            self._cache.update(text[:m] for m in marks)
            usage = {
                "input_tokens": math.ceil((len(text) - max(read, written)) / 4),
                "cache_read_input_tokens": read // 4,
                "cache_creation_input_tokens": max(0, written - read) // 4,
            }
            content = self.reply(body, text)
            usage["output_tokens"] = math.ceil(len(content) / 4)
            self.usages.append(usage)
        return 200, {
            "id": f"msg_{len(self.bodies)}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [{"type": "text", "text": content}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
