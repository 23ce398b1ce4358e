"""Who may talk to the server, and how much. An ASGI middleware in front of every request:

- bound to a loopback address, only requests naming a loopback host are served (a web page
  elsewhere cannot reach it through DNS rebinding);
- with a token (required to bind anything else; generated if not given) every request carries
  it: the ``Authorization: Bearer`` header, or the cookie set when the page is first opened with
  ``?token=…`` (HttpOnly, SameSite=Strict), compared in constant time;
- a request that changes something must come from the page itself (an ``Origin`` of another
  site is refused) and carry JSON (a cross-site form cannot send it without a CORS preflight);
- request bodies are capped (a problem is at most 200 KB: ``runner/inputs.py``);
- every response forbids inline scripts (Content-Security-Policy), framing and sniffing.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "dialectic_token"
MAX_BODY = 1_000_000  # bytes: a 200 KB problem and an edited config, with room to spare
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),  # the token may be in the first URL
    (b"cache-control", b"no-store"),
]


def is_loopback(host: str) -> bool:
    if host.strip("[]") in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Guard:
    token: str | None  # None: no token (only on a loopback address)
    loopback: bool  # bound to a loopback address: check the Host header
    max_body: int = MAX_BODY

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "websocket":  # none is served: refused before any route sees it
                await send({"type": "websocket.close", "code": 1008})
                return
            if scope["type"] != "http":  # the server's own lifespan events
                await app(scope, receive, send)
                return
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            refusal, set_cookie = self._check(scope, headers)
            if refusal is not None:
                await _reply(send, *refusal)
                return
            if scope["method"] in _UNSAFE:
                body = await _read_body(receive, self.max_body)
                if body is None:
                    await _reply(send, 413, f"request body larger than {self.max_body:,} bytes")
                    return
                receive = _replay(body, receive)
            await app(scope, receive, _with_headers(send, set_cookie))

        return guarded

    def _check(self, scope: Scope, headers: dict[str, str]) -> tuple[tuple[int, str] | None, str | None]:
        """(status, why) when refused; else the Set-Cookie value to send, if any."""
        host = _hostname(headers.get("host", ""))
        if self.loopback and not is_loopback(host):
            return (403, f"this server answers only on a loopback address, not {host!r}"), None
        set_cookie = None
        if self.token is not None:
            given, from_query = _given_token(scope, headers)
            if given is None or not secrets.compare_digest(given.encode(), self.token.encode()):
                return (401, "missing or wrong token: open the URL `dialectic serve` printed"), None
            if from_query:
                set_cookie = f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
        if scope["method"] in _UNSAFE:
            origin = headers.get("origin")
            scheme = scope.get("scheme", "http")
            if origin is not None and origin != f"{scheme}://{headers.get('host', '')}":
                return (403, f"requests from {origin} are refused"), None
            if not headers.get("content-type", "").startswith("application/json"):
                return (415, "send JSON (Content-Type: application/json)"), None
        return None, set_cookie


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):  # [::1]:8000
        return host_header[1:].split("]", 1)[0]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _given_token(scope: Scope, headers: dict[str, str]) -> tuple[str | None, bool]:
    """The token the request carries, and whether it came in the URL. The URL's comes first: it
    is what `dialectic serve` printed, and it replaces the cookie of an earlier server on this
    host (cookies are per host, not per port) instead of being refused for it."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0], True
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is no token
        cookie = SimpleCookie()
    if COOKIE in cookie:
        return cookie[COOKIE].value, False
    return None, False


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    """The body read once, then what the client sends next (its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _with_headers(send: Send, set_cookie: str | None) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            extra = list(_HEADERS)
            if set_cookie:
                extra.append((b"set-cookie", set_cookie.encode("latin-1")))
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return sending


async def _reply(send: Send, status: int, why: str) -> None:
    body = json.dumps({"error": why}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
