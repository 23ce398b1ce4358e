"""The events of one debate's run in this process, for the page: what the CLI's progress view
gets (runner/progress.py), as JSON, numbered, kept for viewers who open the page mid-run, and
handed to each open stream (server-sent events) from the runner's thread."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Events kept for a late viewer; a long debate's oldest are dropped (the page reads the JSON).
BACKLOG = 5000
ENDED = "run_ended"


def as_json(event: Mapping[str, Any]) -> dict[str, Any]:
    """An event fit for the browser: JSON values only, and never the run's settings object
    (the -v header's; the page reads the config through the API)."""
    clean = {key: value for key, value in event.items() if key != "settings"}
    return dict(json.loads(json.dumps(clean, default=str)))


@dataclass
class _Subscriber:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any]]


@dataclass
class EventHub:
    """Thread-safe: the runner's thread publishes, each stream reads its own queue."""

    events: list[dict[str, Any]] = field(default_factory=list)
    ended: bool = False
    _next: int = 1
    _subscribers: list[_Subscriber] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, event: Mapping[str, Any]) -> None:
        with self._lock:
            item = {**as_json(event), "seq": self._next, "at": time.time()}
            self._next += 1
            self.events.append(item)
            del self.events[:-BACKLOG]
            self.ended = self.ended or item.get("event") == ENDED
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber.loop.call_soon_threadsafe(subscriber.queue.put_nowait, item)
            except RuntimeError:  # its event loop is closed: a viewer gone is never the run's error
                self.unsubscribe(subscriber.queue)

    def subscribe(self, after: int = 0) -> tuple[list[dict[str, Any]], asyncio.Queue[dict[str, Any]], bool]:
        """The events after ``after`` so far, a queue that gets every later one, and whether the
        run had already ended (then nothing more comes). All three are taken under the lock: no
        gap, no repeat, and an end published just after is in the queue."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        with self._lock:
            self._subscribers.append(_Subscriber(asyncio.get_running_loop(), queue))
            return [e for e in self.events if e["seq"] > after], queue, self.ended

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subscribers = [s for s in self._subscribers if s.queue is not queue]

    @property
    def viewers(self) -> int:
        return len(self._subscribers)
