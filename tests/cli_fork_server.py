"""A fork server for the ``cli`` fixture: the installed ``dialectic`` script, run in a new process
that starts with the package already imported.

A ``dialectic`` process spends ~1.5 s of CPU importing LangGraph, LangChain and pydantic before
it looks at its arguments, and the CLI tests start hundreds of them. This server imports all of
that once (per pytest worker) and then, for each command, forks: a child that takes the test's
cwd, environment, argv and stdio pipes and runs the installed script (``.venv/bin/dialectic``)
as ``__main__``, so it ends like that script (exit code, ``atexit`` handlers, a traceback on an
uncaught exception). What a child does not get is a fresh import: whatever a module read from the
environment while the server imported it is the server's. So a command whose environment differs
from the server's in a variable read then (the server notes each one it reads:
``LANGGRAPH_STRICT_MSGPACK`` is one) or in one the interpreter reads at start-up (``PYTHON*``, the
locale, ``TZ``) is exec'd as a real process; the conftest starts the server with the environment
tests run in, so that this stays rare. The start-up itself (what a command imports, how fast) is
tested on real processes (tests/cli/start_probe.py, tests/cli/test_checkpoints.py).
``DIALECTIC_TEST_CLI=exec`` runs every command as a real process instead.

Protocol: for each command the client hands the server one end of a new socket pair over their
control pair; on it, it sends one JSON request with three pipe ends (stdin, stdout, stderr)
attached to its first bytes (SCM_RIGHTS) and then closes its sending side, and a per-command
supervisor process answers with the command's pid, then its return code (negative: killed by
that signal, as in ``subprocess``).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import pkgutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Imported lazily by the commands; worth having in every child.
_HEAVY = ("langchain_openai", "langgraph.checkpoint.sqlite", "langgraph.checkpoint.postgres", "genai_prices")
# Folders other work is changing, and the LangGraph Server's entry point (it builds a graph from
# DIALECTIC_CONFIG at import): the commands under test do not import them.
_SKIPPED_PACKAGES = ("dialectic.web", "dialectic.batch", "dialectic.runner.server")
# Read by the interpreter or the C library at start-up, never through os.environ.
_STARTUP_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ")


# --- the client (in the pytest worker) ---------------------------------------------------------


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


class ForkServer:
    """The server process of one pytest worker; ``run`` is safe to call from several threads."""

    def __init__(self, executable: str, folder: Path, env: dict[str, str]) -> None:
        # Socket pairs, not a listening socket: pytest-socket lets a test connect to loopback only.
        self.control, theirs = socket.socketpair()
        self.lock = threading.Lock()
        self.log = folder / "fork-server.log"
        with self.log.open("w") as log, theirs:
            self.process = subprocess.Popen(
                [sys.executable, __file__, executable, str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
            )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()  # after its imports
        if ready.strip() != b"ready":
            raise RuntimeError(f"the CLI fork server did not start:\n{self.log.read_text()[-3000:]}")

    def run(self, args: list[str], cwd: Path, env: dict[str, str], input: str, timeout: float) -> Outcome:
        deadline = time.monotonic() + timeout
        ends = [os.pipe() for _ in range(3)]  # (read, write) for stdin, stdout, stderr
        child_ends = [ends[0][0], ends[1][1], ends[2][1]]
        ours = [ends[0][1], ends[1][0], ends[2][0]]
        request = json.dumps({"args": args, "cwd": str(cwd), "env": env}).encode()
        conn, theirs = socket.socketpair()
        pid = None
        with conn, conn.makefile("rb") as answers:
            try:
                try:
                    with self.lock, theirs:
                        socket.send_fds(self.control, [b"command"], [theirs.fileno()])
                    # The pipe ends go with the first bytes; a long request (long arguments) follows.
                    sent = socket.send_fds(conn, [request], child_ends)
                    conn.sendall(request[sent:])
                    conn.shutdown(socket.SHUT_WR)
                finally:
                    for fd in child_ends:
                        os.close(fd)
                conn.settimeout(_left(deadline))
                pid = int(self._answer(answers, "pid"))
                stdout, stderr = _communicate(*ours, input, deadline)
                conn.settimeout(_left(deadline))
                code = int(self._answer(answers, "code"))
            except BaseException as exc:
                # As subprocess.run: the command does not outlive the call, whatever ends it (its
                # timeout, pytest-timeout's, ^C). Not reaped yet: no code came.
                if pid is None:
                    for fd in ours:  # _communicate has not taken them
                        os.close(fd)
                else:
                    _kill(pid)
                if isinstance(exc, TimeoutError):
                    raise subprocess.TimeoutExpired(["dialectic", *args], timeout) from exc
                raise
        return Outcome(code, stdout, stderr)

    def _answer(self, answers: Any, key: str) -> Any:
        line = answers.readline()
        if not line:  # the supervisor died: its traceback is in the log
            raise RuntimeError(f"the CLI fork server failed:\n{self.log.read_text()[-3000:]}")
        return json.loads(line)[key]

    def close(self) -> None:
        self.control.close()  # the server ends when its end of the pair closes
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _communicate(stdin: int, stdout: int, stderr: int, text: str, deadline: float) -> tuple[str, str]:
    """Feed ``text`` to the command and read both its outputs to their end, as ``subprocess``
    (by ``deadline``, a ``time.monotonic()``; these ends are closed either way)."""
    chunks: dict[int, list[bytes]] = {stdout: [], stderr: []}

    def feed() -> None:
        try:
            with open(stdin, "wb", closefd=True) as pipe:
                pipe.write(text.encode())
        except BrokenPipeError:
            pass  # the command did not read its input: as subprocess.communicate

    def drain(fd: int) -> None:
        with open(fd, "rb", closefd=True) as pipe:
            chunks[fd].extend(iter(lambda: pipe.read(65536), b""))

    threads = [threading.Thread(target=feed, daemon=True)]
    threads += [threading.Thread(target=drain, args=(fd,), daemon=True) for fd in (stdout, stderr)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(_left(deadline))
        if thread.is_alive():
            raise TimeoutError
    return _text(b"".join(chunks[stdout])), _text(b"".join(chunks[stderr]))


def _left(deadline: float) -> float:
    """Seconds to ``deadline`` (a ``time.monotonic()``), never 0: a socket would turn non-blocking."""
    return max(0.001, deadline - time.monotonic())


def _text(data: bytes) -> str:
    """Decoded as ``subprocess.run(text=True)`` decodes (locale encoding, universal newlines)."""
    return io.TextIOWrapper(io.BytesIO(data)).read()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# --- the server -----------------------------------------------------------------------------------


class _NotingEnviron(os._Environ):  # type: ignore[type-arg]
    """``os.environ`` (the same variables) noting the names looked up in it."""

    def __init__(self, environ: Any, seen: set[str]) -> None:
        super().__init__(
            environ._data, environ.encodekey, environ.decodekey, environ.encodevalue, environ.decodevalue
        )
        self.seen = seen

    def __getitem__(self, key: str) -> str:
        self.seen.add(key)
        return str(super().__getitem__(key))


def _preload() -> frozenset[str]:
    """Import what the commands use; return the environment variables read while doing so (a
    module keeps what it read then: a command that sets another value needs a fresh process)."""
    import dialectic
    import dialectic.cli

    environ, read = os.environ, set[str]()
    noting = os.environ = _NotingEnviron(environ, read)
    try:
        for module in pkgutil.walk_packages(dialectic.__path__, "dialectic."):
            if not module.name.startswith(_SKIPPED_PACKAGES):
                importlib.import_module(module.name)
        for name in _HEAVY:
            with contextlib.suppress(ImportError):  # optional: the command imports it (or fails) itself
                importlib.import_module(name)
    finally:
        os.environ = environ  # noqa: B003 (the same variables: only the noting object goes)
        noting.seen = set()  # a module may have kept it: later reads are the command's own
    # A thread would not survive the fork (and could hold a lock the child then waits on forever).
    assert threading.active_count() == 1, threading.enumerate()
    return frozenset(read)


def _serve(control_fd: int) -> dict[str, Any]:
    """Take commands until the client's end of the control pair closes; in a command's process,
    return its request."""
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    control = socket.socket(fileno=control_fd)
    print("ready", flush=True)
    while True:
        _, fds, _, _ = socket.recv_fds(control, 64, 1)
        if not fds:
            os._exit(0)  # the pytest worker is done (or gone)
        if os.fork() == 0:
            control.close()
            return _supervise(socket.socket(fileno=fds[0]))
        os.close(fds[0])


def _supervise(conn: socket.socket) -> dict[str, Any]:
    """Fork the command's process, report its pid and return code, and exit (the supervisor); in
    the command's process, return its request."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    with conn.makefile("rb") as rest:
        request: dict[str, Any] = json.loads(data + rest.read())  # up to the client's shutdown
    pid = os.fork()
    if pid == 0:
        conn.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        return request
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    _, status = os.waitpid(pid, 0)
    conn.sendall(json.dumps({"code": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
    os._exit(0)


if __name__ == "__main__":
    script, control_fd = sys.argv[1], int(sys.argv[2])
    sys.path[0] = str(Path(script).parent)  # as when the script itself is run
    read_at_import = _preload()
    command = _serve(control_fd)
    # The command's process: the installed script, as if started by its own shebang.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    os.chdir(command["cwd"])
    # A command whose environment differs in what was read before it existed (PYTHONPATH with a
    # test's packages, LANGGRAPH_STRICT_MSGPACK…) would not see it here: it runs as a real process.
    python_env = {key for key in {*os.environ, *command["env"]} if key.startswith("PYTHON")}
    before = python_env | read_at_import | set(_STARTUP_ENV)
    fresh = any(os.environ.get(key) != command["env"].get(key) for key in before)
    os.environ.clear()
    os.environ.update(command["env"])
    if fresh:
        os.execv(sys.executable, [sys.executable, script, *command["args"]])
    sys.argv = [script, *command["args"]]
    import runpy

    runpy.run_path(script, run_name="__main__")
