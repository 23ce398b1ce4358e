"""``dialectic serve``: bind the address, say the URL, serve until Ctrl-C (which drains the
debates running here, as the CLI's Ctrl-C does, then stops). FastAPI and uvicorn (the ``web``
extra) are imported here, with this module: without them, importing it is the ImportError that
``dialectic serve`` turns into how to install them."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from dialectic.errors import InputError
from dialectic.web.app import create_app
from dialectic.web.forms import ServerOptions
from dialectic.web.security import Guard, is_loopback, new_token


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free port; the real one is read back from it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family, reuse_port=False)
    except OSError as exc:
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --host or --port"
        ) from exc


def serve(
    options: ServerOptions, *, host: str, port: int, token: str | None, say: Callable[[str], None]
) -> None:
    if not 0 <= port <= 65535:
        raise InputError(f"--port must be from 0 to 65535 (got {port})")
    loopback = is_loopback(host)
    if not loopback and not token:
        token = new_token()  # another address: never without a token
    sock = bind(host, port)
    real_port = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    url = f"http://{shown}:{real_port}/" + (f"?token={token}" if token else "")
    app = create_app(options, Guard(token=token, loopback=loopback))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    )
    say(f"dialectic serving on {url} (Ctrl-C stops)")
    if not loopback:
        say("warning: listening beyond this machine; anyone with the token can run debates and read them")
    server.run(sockets=[sock])
