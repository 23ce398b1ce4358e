"""LangGraph Server: ``langgraph dev`` serves langgraph.json's debate graph, and debates run
through ``langgraph-sdk`` on the offline model.

SLOW: starts a local server in a subprocess (10-30 s). Marked ``server`` (deselect with
``-m "not server"``); skipped, with the reason, when ``langgraph-cli[inmem]`` is not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip(
    "langgraph_api", reason="langgraph-cli[inmem] is not installed (pip install 'langgraph-cli[inmem]')"
)
sdk = pytest.importorskip("langgraph_sdk", reason="langgraph-sdk is not installed")

pytestmark = [pytest.mark.server, pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second. Links must never collide."
TWO_AGENTS = {
    "agents": [
        {"id": "arch", "name": "Arch", "role": "architect", "model": "gpt-4o-mini", "provider": "openai"},
        {"id": "kiss", "name": "Kiss", "role": "kiss", "model": "gpt-4o-mini", "provider": "openai"},
    ],
    "debate": {"rounds": 2, "summarization": {"enabled": False}},
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _langgraph_command() -> str:
    beside = Path(sys.executable).parent / "langgraph"
    found = str(beside) if beside.exists() else shutil.which("langgraph")
    if not found:
        pytest.skip("the langgraph command (langgraph-cli) is not installed")
    return found


@pytest.fixture
def server(isolated: Path) -> Iterator[str]:
    port = _free_port()
    env = {  # nothing leaves the machine: no version check, no CLI analytics, no tracing
        **os.environ,
        "LANGGRAPH_NO_VERSION_CHECK": "1",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_TRACING": "false",
    }
    log = (isolated / "server.log").open("w")
    process = subprocess.Popen(
        [
            _langgraph_command(),
            "dev",
            "--config",
            str(ROOT / "langgraph.json"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-browser",
            "--no-reload",
        ],
        cwd=isolated,  # the in-memory server keeps its files in the working directory
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process, isolated / "server.log")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"langgraph dev exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"langgraph dev did not start within 90 s:\n{log.read_text()[-3000:]}")


def test_langgraph_dev_serves_the_debate_graph(server: str) -> None:
    client = sdk.get_sync_client(url=server)
    [assistant] = client.assistants.search(graph_id="debate")
    schemas = client.assistants.get_schemas(assistant["assistant_id"])
    assert set(schemas["context_schema"]["properties"]) == {"config", "offline", "rounds"}

    # No context: the built-in agents on the offline model.
    thread = client.threads.create()
    state = client.runs.wait(thread["thread_id"], "debate", input={"problem": PROBLEM}, context={"rounds": 1})
    assert isinstance(state, dict), state
    assert state["final_solution"]["synthesized_by"] == "judge-main"
    assert "## Judge Assessment" in state["final_solution"]["description"]
    assert {c["agent_id"] for c in state["contributions"]} == {
        "agent-architect",
        "agent-performance",
        "agent-kiss",
    }
    assert len(state["contributions"]) == 3 + 6 + 3
    history = client.threads.get_history(thread["thread_id"], limit=100)
    assert len(history) > 5  # the server's own checkpointer kept every step

    # A config of the run's own, simulated.
    state = client.runs.wait(
        None, "debate", input={"problem": PROBLEM}, context={"config": TWO_AGENTS, "offline": True}
    )
    assert state["round"] == 2 and state["stop_reason"] == "rounds"
    assert [c["type"] for c in state["contributions"]].count("refinement") == 4
