"""The event path of ``dialectic serve`` from the runner's thread to each stream: no end lost to
a viewer who arrives as the run ends, no run broken by a viewer gone, no ended run kept forever."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dialectic.web import runs as live_runs
from dialectic.web.app import _stream
from dialectic.web.events import ENDED, EventHub
from dialectic.web.runs import LiveRun, Runs
from tests.web.conftest import events_until_end, start


class EndsAsYouArrive(EventHub):
    """A hub whose run ends (the runner's thread publishes its end) just after a viewer subscribes."""

    def subscribe(self, after: int = 0) -> Any:
        taken = super().subscribe(after)
        self.publish({"event": ENDED, "status": "completed"})
        return taken


def streamed(runs: Runs, debate_id: str, after: int = 0) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        return [
            json.loads(chunk.split("data: ", 1)[1])
            async for chunk in _stream(runs, debate_id, after)
            if "data: " in chunk
        ]

    return asyncio.run(read())


def test_a_viewer_who_arrives_as_the_run_ends_gets_its_end_not_idle():
    runs = Runs(None)
    run = LiveRun("deb-1", hub=EndsAsYouArrive())
    run.hub.publish({"event": "run_started"})
    runs._runs["deb-1"] = run  # ended, so not live: as after the runner's thread finished
    seen = streamed(runs, "deb-1")
    assert [e["event"] for e in seen] == ["run_started", ENDED]
    assert streamed(runs, "deb-1", after=seen[-1]["seq"]) == [{"event": "idle", "seq": 2}]


def test_a_viewer_whose_event_loop_is_gone_never_breaks_the_run():
    hub = EventHub()

    async def subscribe() -> None:
        hub.subscribe()

    asyncio.run(subscribe())  # its loop is closed now, the viewer never unsubscribed
    hub.publish({"event": "notice", "message": "still running"})
    assert hub.viewers == 0 and hub.events[-1]["message"] == "still running"


def test_a_viewer_who_leaves_mid_run_is_unsubscribed(client: TestClient, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DIALECTIC_OFFLINE_LATENCY_MS", "50")
    debate_id = start(client, rounds=2)
    with client.stream("GET", f"/api/debates/{debate_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:") and json.loads(line[5:])["event"] == "call_finished":
                break
    run = client.app.state.runs.latest(debate_id)
    assert run.hub.viewers == 0
    assert events_until_end(client, debate_id)[-1]["status"] == "completed"


def test_only_the_latest_ended_runs_are_kept_for_late_viewers(
    client: TestClient, isolated: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live_runs, "KEEP_ENDED", 1)
    first = start(client)
    assert events_until_end(client, first)[-1]["status"] == "completed"
    second = start(client)
    assert events_until_end(client, second)[-1]["status"] == "completed"
    assert client.app.state.runs.latest(first) is None  # dropped: its debate is in the store
    assert [e["event"] for e in events_until_end(client, first)] == ["idle"]
    assert events_until_end(client, second)[0]["event"] == "run_started"  # still replayed
    assert client.get(f"/api/debates/{first}").json()["detail"]["status"] == "completed"
