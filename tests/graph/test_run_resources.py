"""A debate run releases what it opened for its calls: a process that runs many debates (a batch,
a notebook) does not keep one response-cache database open per debate."""

from __future__ import annotations

import gc
import os
from pathlib import Path

PROBLEM = "Design a rate limiter for a public API. It must allow 100 requests per minute per key."
CONFIG = {
    "agents": [
        {"id": "arch", "name": "Arch", "role": "architect", "model": "m", "provider": "offline"},
        {"id": "sec", "name": "Sec", "role": "security", "model": "m", "provider": "offline"},
    ],
    "debate": {"rounds": 1, "summarization": {"enabled": False}, "cache": "replay.sqlite"},
}


def open_files(name: str) -> list[str]:
    """This process's open file descriptors on files called ``name`` (SQLite's journal included)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if Path(target).name.startswith(name):
            found.append(target)
    return found


def test_start_resume_and_fork_close_the_response_cache(isolated: Path) -> None:
    from dialectic import load_config, resume_debate, run_debate
    from dialectic.runner.inputs import run_overrides
    from dialectic.runner.run import fork_debate
    from dialectic.runner.store import db_url, open_store

    settings = load_config(CONFIG, offline=True, trust_config=True)  # our own config: its cache is used
    # The run's objects hold each other in cycles: with the collector off, only an explicit
    # close releases the database, as in the CLI, which pauses the collector for speed.
    gc.disable()
    try:
        first = run_debate(PROBLEM, settings, debate_id="cached-1")
        assert first.status == "completed"
        assert (isolated / "replay.sqlite").stat().st_size > 0
        assert open_files("replay.sqlite") == []

        again = run_debate(PROBLEM, settings, debate_id="cached-2")  # replayed from the cache
        assert again.record.usage is not None
        total = again.record.usage["total"]
        assert total["cachedCalls"] == total["calls"] > 0
        assert open_files("replay.sqlite") == []

        # paused by its budget, then resumed with a larger one: the resume makes calls
        paused = run_debate(PROBLEM, run_overrides(max_tokens=2000)(settings), debate_id="cached-4")
        assert paused.status != "completed" and open_files("replay.sqlite") == []
        assert resume_debate("cached-4", settings=run_overrides(max_tokens=10**7)).status == "completed"
        assert open_files("replay.sqlite") == []

        with open_store(db_url(None)) as store:
            checkpoint = next(iter(store.saver.list({"configurable": {"thread_id": "cached-1"}})))
        forked = fork_debate(
            "cached-1", checkpoint.config["configurable"]["checkpoint_id"], new_id="cached-3"
        )
        assert forked.status == "completed"
        assert open_files("replay.sqlite") == []
    finally:
        gc.enable()


def test_a_closed_context_used_again_builds_its_models_afresh(isolated: Path) -> None:
    from langchain_core.messages import HumanMessage

    from dialectic import DebateContext, load_config

    context = DebateContext(load_config(CONFIG, offline=True, trust_config=True))
    assert context.model("arch").invoke([HumanMessage("Propose a design.")]).content
    context.close()
    assert open_files("replay.sqlite") == []
    # a notebook may keep the context: its next call opens the cache again rather than fail
    assert context.model("arch").invoke([HumanMessage("Propose a design.")]).content
    assert open_files("replay.sqlite")
    context.close()
    assert open_files("replay.sqlite") == []
