"""The graph LangGraph Server serves runs with asyncio, where a sync node would take one of the
event loop's few default threads: the served graph still sends a phase's calls at once. Run
in-process as the server runs it (``ainvoke``, a ``ServerContext``), over real HTTP through
langchain-openai against the test server."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second, and links must never collide."
ROLES = ("architect", "security", "kiss", "performance", "testing", "datamodeling")
PROPOSALS = len(ROLES)
CRITIQUES = len(ROLES) * (len(ROLES) - 1)  # 30: more than the loop's default threads (cpu + 4)
MODEL = {"provider": "openai", "model": "gpt-4o-mini"}
CONFIG = {
    "agents": [{"id": f"agent-{r}", "name": r.title(), "role": r, **MODEL} for r in ROLES],
    "judge": {"id": "judge-main", "name": "Judge", "role": "generalist", **MODEL},
    "debate": {"rounds": 1, "summarization": {"enabled": False}},
}


def test_the_served_graph_sends_a_phase_s_30_critiques_at_once(
    llm_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialectic.runner.server import ServerContext, graph

    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.url)
    llm_server.hold_from(lambda entry: entry["id"] > PROPOSALS)  # every critique waits
    results: list[Any] = []

    async def run() -> Any:
        # The loop's default executor as small as a 2-core machine's, whatever this one's is
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=6))
        return await graph.ainvoke({"problem": PROBLEM}, context=ServerContext(config=CONFIG, offline=False))

    def serve() -> None:
        results.append(asyncio.run(run()))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        # the critiques pile up on the server only if none waits for a thread another holds
        piled = llm_server.wait_for(lambda log: len(log) == PROPOSALS + CRITIQUES, timeout=60)
        held = llm_server.log[PROPOSALS:]
    finally:
        llm_server.release()
        thread.join(timeout=300)
    assert piled, f"{len(held)} critiques reached the server at once, not {CRITIQUES}"
    assert max(e["in_flight"] for e in held) == CRITIQUES
    assert results, "the served run did not finish"
    state = results[0]
    assert "## Judge Assessment" in state["final_solution"].description
    assert [c.type for c in state["contributions"]].count("critique") == CRITIQUES


def test_a_served_node_that_raises_stop_iteration_fails_instead_of_hanging() -> None:
    from dialectic.runner.server import _in_node_pool

    def node(state: dict[str, Any]) -> dict[str, Any]:
        return next(iter(()))  # a bug: a future cannot carry StopIteration, the await would hang

    with pytest.raises(RuntimeError, match="node raised StopIteration"):
        asyncio.run(asyncio.wait_for(_in_node_pool(node)({}), timeout=60))
