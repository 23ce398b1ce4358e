"""How many LLM calls may be in flight at once.

With no cap set, a phase's calls all start together, and each endpoint (provider, URL and key:
one account's limits) learns its own limit from its answers, AIMD as TCP does it:

- an overload (429, 503, 529) halves the calls in flight there, once per window of calls sent
  under the same limit (a burst of 429s from one wave is one signal, not twenty halvings), and
  a ``Retry-After`` holds the endpoint's new calls until it has passed;
- each call that succeeds while the limit was full adds 1/limit, so a full window of successes
  adds one call: additive per round trip. (One per success doubles the limit each round trip:
  against a server that refuses a 9th call, a 6-agent debate then drew two to three times the
  429s, and some calls used up all four attempts.)
- an endpoint whose limit held nothing back earns no credit: a quiet phase proves nothing.

A user's ``maxConcurrency`` is a hard cap over all endpoints together, and each limit's ceiling.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class _Endpoint:
    limit: float  # calls in flight allowed: its whole part (inf until an overload if uncapped)
    in_flight: int = 0
    waiting: int = 0  # calls held back
    window: int = 0  # bumped by each decrease: calls admitted since belong to the next window
    resume_at: float = 0.0  # no new call before this time (Retry-After)

    def has_room(self) -> bool:
        return self.in_flight + 1 <= self.limit


class Slot:
    """One call's place in flight. Mark it ``overloaded`` when the endpoint pushed back."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.overload = False
        self.retry_after: float | None = None

    def overloaded(self, retry_after: float | None = None) -> None:
        self.overload = True
        self.retry_after = retry_after


class ConcurrencyGate:
    """Admits calls under the cap and their endpoint's limit; one per run, shared by its nodes."""

    def __init__(self, cap: int | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.cap = cap
        self._ceiling = math.inf if cap is None else float(cap)
        self._clock = clock
        self._endpoints: dict[Hashable, _Endpoint] = {}
        self._total = 0
        self._changed = threading.Condition()

    @contextmanager
    def slot(self, endpoint: Hashable) -> Iterator[Slot]:
        """Held while one request to ``endpoint`` is out (never while a retry waits). A block
        that ends normally is a success; one that raises counts for nothing unless the slot was
        marked overloaded."""
        slot = self._acquire(endpoint)
        succeeded = False
        try:
            yield slot
            succeeded = True
        finally:
            self._release(endpoint, slot, succeeded)

    def limit(self, endpoint: Hashable) -> float:
        """The endpoint's limit (the cap, or inf, before its first overload)."""
        return self._read(endpoint).limit

    def in_flight(self, endpoint: Hashable) -> int:
        return self._read(endpoint).in_flight

    def waiting(self, endpoint: Hashable) -> int:
        """Calls to ``endpoint`` held back by its limit, the cap or a Retry-After."""
        return self._read(endpoint).waiting

    def _read(self, endpoint: Hashable) -> _Endpoint:
        with self._changed:
            state = self._endpoints.get(endpoint)
            return _Endpoint(**vars(state)) if state else _Endpoint(self._ceiling)

    def _acquire(self, endpoint: Hashable) -> Slot:
        with self._changed:
            state = self._endpoints.setdefault(endpoint, _Endpoint(self._ceiling))
            state.waiting += 1
            while not self._admits(state):
                pause = state.resume_at - self._clock()
                self._changed.wait(pause if pause > 0 else None)
            state.waiting -= 1
            state.in_flight += 1
            self._total += 1
            return Slot(state.window)

    def _admits(self, state: _Endpoint) -> bool:
        return state.resume_at <= self._clock() and state.has_room() and self._total < self._ceiling

    def _release(self, endpoint: Hashable, slot: Slot, succeeded: bool) -> None:
        with self._changed:
            state = self._endpoints[endpoint]
            was_full = not state.has_room()  # this call still counted
            flight = state.in_flight
            state.in_flight -= 1
            self._total -= 1
            if slot.overload:
                if slot.window == state.window:
                    state.limit = float(max(1, int(min(state.limit, flight)) // 2))
                    state.window += 1
                if slot.retry_after:
                    state.resume_at = max(state.resume_at, self._clock() + slot.retry_after)
            elif succeeded and was_full:
                state.limit = min(self._ceiling, state.limit + 1 / state.limit)
            self._changed.notify_all()
