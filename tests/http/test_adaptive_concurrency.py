"""Calls in flight with no cap set, over real HTTP: the installed command runs a 6-agent debate
through langchain-openai against the test server. A phase's calls all go out at once; a
provider that refuses calls beyond its own concurrency limit (429) gets fewer, and the debate
loses nothing."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROBLEM = "Design a URL shortener. It must handle 1,000 new links per second, and links must never collide."
ROLES = ("architect", "security", "kiss", "performance", "testing", "datamodeling")
PROPOSALS = len(ROLES)
CRITIQUES = len(ROLES) * (len(ROLES) - 1)  # 30 per round
SERVER_LIMIT = 8


def write_config(folder: Path, rounds: int) -> None:
    model = {"provider": "openai", "model": "gpt-4o-mini"}
    config = {
        "agents": [{"id": f"agent-{r}", "name": r.title(), "role": r, **model} for r in ROLES],
        "judge": {"id": "judge-main", "name": "Judge", "role": "generalist", **model},
        "debate": {"rounds": rounds, "summarization": {"enabled": False}},
    }
    (folder / "debate-config.json").write_text(json.dumps(config))


def env(server: Any) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": server.url,
        "DIALECTIC_RETRY_BASE_SECONDS": "0.01",
    }


def in_background(run: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(run()), daemon=True)
    thread.start()
    return thread, results


def hold_critiques(server: Any) -> None:
    """Hold every reply from the first critique on (the proposals are requests 1 to 6)."""
    server.hold_from(lambda entry: entry["id"] > PROPOSALS)


def refused(log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in log if e["status"] == 429]


def contributions(record: dict[str, Any]) -> Counter[str]:
    return Counter(c["type"] for r in record["rounds"] for c in r["contributions"])


def test_a_phase_s_30_critiques_are_in_flight_at_once(cli, isolated: Path, llm_server):
    write_config(isolated, rounds=1)
    hold_critiques(llm_server)
    thread, results = in_background(
        lambda: cli("debate", "--id", "wide", PROBLEM, env=env(llm_server), timeout=300)
    )
    try:
        # the 30 critiques pile up on the server only if none waits for another to finish
        assert llm_server.wait_for(lambda log: len(log) == PROPOSALS + CRITIQUES, timeout=120)
        held = llm_server.log[PROPOSALS:]
    finally:
        llm_server.release()
        thread.join(timeout=300)
    assert max(e["in_flight"] for e in held) == CRITIQUES
    assert results and results[0].code == 0, results and results[0].stderr
    # + refinements and the synthesis (the round's 30 critiques, the ledger and the final designs
    # fit in its prompt: no summary of the judge's)
    assert len(llm_server.log) == PROPOSALS + CRITIQUES + PROPOSALS + 1


def test_a_provider_s_429s_beyond_its_limit_are_absorbed(cli, isolated: Path, llm_server):
    llm_server.set(in_flight_limit=SERVER_LIMIT, retry_after=0.1, latency_ms=300)
    write_config(isolated, rounds=2)
    hold_critiques(llm_server)
    thread, results = in_background(
        lambda: cli("debate", "--id", "limited", PROBLEM, env=env(llm_server), timeout=300)
    )
    try:
        # The first 8 critiques are served, and held; those sent beyond them are refused.
        assert llm_server.wait_for(lambda log: refused(log), timeout=120)
        # The refusals halve the client's limit to fewer than the 8 it has in flight: its calls
        # wait for those instead of retrying into 429s until they run out of retries. At most
        # 29 refusals: the first wave's (22 at most) and one wave of retries under the first
        # halved limit (15 at most in flight, 8 of them held).
        assert not llm_server.wait_for(lambda log: len(refused(log)) > CRITIQUES - 1, timeout=2)
        at_release = len(llm_server.log)
    finally:
        llm_server.release()
        thread.join(timeout=300)
    result = results[0] if results else None
    assert result is not None and result.code == 0, result and result.stderr

    record = json.loads((isolated / "debates" / "limited.json").read_text())
    assert record["status"] == "completed" and not record.get("failures")
    assert contributions(record) == {"proposal": 12, "critique": 2 * CRITIQUES, "refinement": 12}  # 6 carried
    log = llm_server.log
    assert {e["fault_detail"] for e in refused(log)} == {"in_flight_limit"}
    # What the limit learned carries over: the rest of the debate, round 2's 30 critiques
    # included, runs near the server's limit, neither in one wave of 30 (a client that forgot
    # would be refused 22 times again) nor one by one.
    later = log[at_release:]
    assert len(refused(later)) < SERVER_LIMIT
    assert SERVER_LIMIT // 2 <= max(e["in_flight"] for e in later) < 2 * SERVER_LIMIT
