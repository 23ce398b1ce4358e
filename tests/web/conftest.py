"""The web face in-process (FastAPI's TestClient) and as the installed command (``dialectic
serve`` in a subprocess, on a free loopback port), always on the offline model."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from dialectic.web.app import create_app
from dialectic.web.forms import ServerOptions
from dialectic.web.security import Guard

BASE = "http://127.0.0.1:8000"
PROBLEM = "Design a rate limiter for a public API.\nIt must allow 100 requests per second per key."


def make_client(*, token: str | None = None, loopback: bool = True, **options: Any) -> TestClient:
    app = create_app(ServerOptions(offline=True, **options), Guard(token=token, loopback=loopback))
    return TestClient(app, base_url=BASE)


@pytest.fixture
def client(isolated: Path) -> Iterator[TestClient]:
    with make_client() as test_client:
        yield test_client


def events_until_end(client: TestClient | httpx.Client, debate_id: str) -> list[dict[str, Any]]:
    """The events of the debate's current run in this server, to its end (the stream closes)."""
    seen = []
    with client.stream("GET", f"/api/debates/{debate_id}/events", timeout=120) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                seen.append(json.loads(line[5:]))
    assert seen and seen[-1]["event"] in ("run_ended", "idle"), seen[-3:]
    return seen


def start(client: TestClient | httpx.Client, **form: Any) -> str:
    response = client.post("/api/debates", json={"problem": PROBLEM, "rounds": 1, **form})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def run_to_end(client: TestClient | httpx.Client, debate_id: str) -> dict[str, Any]:
    return events_until_end(client, debate_id)[-1]


def answer_until_done(
    client: TestClient | httpx.Client, debate_id: str, end: dict[str, Any]
) -> dict[str, Any]:
    """Answer every clarification batch and steering pause as the page does, to the end."""
    while end.get("status") == "waiting_for_input":
        detail = client.get(f"/api/debates/{debate_id}").json()["detail"]
        kinds = [pause["kind"] for pause in detail["pending"]]
        if "clarification" in kinds:
            body: dict[str, Any] = {"answers": {q["id"]: f"answer to {q['id']}" for q in detail["questions"]}}
        else:
            body = {"note": "prefer managed services"}
        assert client.post(f"/api/debates/{debate_id}/resume", json=body).status_code == 202
        end = run_to_end(client, debate_id)
    return end


@dataclass
class Served:
    """``dialectic serve`` running in a subprocess in the test's folder."""

    process: subprocess.Popen[str]
    url: str
    stderr: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(60)


def serve(folder: Path, *args: str, env: dict[str, str] | None = None) -> Served:
    """Start ``dialectic serve --offline --port 0`` and wait for the URL it prints."""
    executable = Path(sys.executable).parent / "dialectic"
    log = folder / f"serve-{time.monotonic_ns()}.err"
    handle = log.open("w")
    process = subprocess.Popen(
        [str(executable), "serve", "--offline", "--port", "0", *args],
        cwd=folder,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=handle,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text()
        if "serving on " in text:
            url = text.split("serving on ", 1)[1].split()[0]
            return Served(process, url, log)
        if process.poll() is not None:
            pytest.fail(f"dialectic serve exited with {process.returncode}: {log.read_text()}")
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"dialectic serve printed no URL: {log.read_text()}")


@pytest.fixture
def served_processes() -> Iterator[list[Served]]:
    """Servers a test starts, killed at its end whatever happened."""
    started: list[Served] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(30)
