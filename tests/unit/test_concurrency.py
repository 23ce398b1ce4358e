"""providers/concurrency.py: calls in flight under a hard cap and per endpoint an AIMD limit
learned from overloads; how nodes/llm.py reports a 429 to it; and the run's pool size."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from types import SimpleNamespace
from typing import Any, cast

import pytest
from debate_states import make_settings
from langchain_core.language_models import BaseChatModel

from dialectic.configs.schema import AgentConfig
from dialectic.nodes import llm
from dialectic.providers.concurrency import ConcurrencyGate, Slot
from dialectic.providers.factory import endpoint
from dialectic.runner.run import graph_concurrency, widest_step

WAIT = 10.0  # generous: only a broken gate ever waits this long


def eventually(condition: Callable[[], bool]) -> None:
    """Wait for a state of the gate another thread brings about."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


class Held:
    """Slots entered by hand at one endpoint, given back one by one (last in, first out)."""

    def __init__(self, gate: ConcurrencyGate, where: str, count: int) -> None:
        self.gate, self.where = gate, where
        self._open: list[AbstractContextManager[Slot]] = []
        self.slots: list[Slot] = []
        self.more(count)

    def more(self, count: int = 1) -> None:
        for _ in range(count):
            self._open.append(self.gate.slot(self.where))
            self.slots.append(self._open[-1].__enter__())

    def succeed(self) -> None:
        self.slots.pop()
        self._open.pop().__exit__(None, None, None)

    def fail(self, overloaded: bool = False, retry_after: float | None = None) -> None:
        if overloaded:
            self.slots[-1].overloaded(retry_after)
        self.slots.pop()
        error = RuntimeError("failed")
        self._open.pop().__exit__(RuntimeError, error, None)

    def overload(self, retry_after: float | None = None) -> None:
        self.fail(overloaded=True, retry_after=retry_after)


def in_thread(work: Callable[[], object]) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, done


def test_without_a_cap_every_call_of_a_phase_is_in_flight_at_once() -> None:
    gate = ConcurrencyGate()
    together = threading.Barrier(30, timeout=WAIT)  # broken if any call were held back
    crossed: list[bool] = []

    def call() -> None:
        with gate.slot("openai"):
            together.wait()
            crossed.append(True)

    threads = [in_thread(call)[0] for _ in range(30)]
    for thread in threads:
        thread.join(WAIT)
    assert len(crossed) == 30
    assert gate.limit("openai") == float("inf") and gate.in_flight("openai") == 0


def test_the_cap_holds_calls_back_across_endpoints() -> None:
    gate = ConcurrencyGate(2)
    at_a, at_b = Held(gate, "a", 1), Held(gate, "b", 1)
    late: list[Held] = []  # kept: a dropped slot would be given back
    _, sent = in_thread(lambda: late.append(Held(gate, "a", 1)))
    eventually(lambda: gate.waiting("a") == 1)
    assert not sent.is_set() and gate.in_flight("a") == 1  # a's own limit (2) has room: the cap holds it
    at_b.succeed()
    assert sent.wait(WAIT) and gate.in_flight("a") == 2
    at_a.succeed()


def test_an_overload_halves_the_calls_in_flight_once_per_window() -> None:
    gate = ConcurrencyGate()
    first_wave = Held(gate, "e", 8)
    first_wave.overload()
    assert gate.limit("e") == 4  # half of the 8 in flight
    first_wave.overload()  # the same wave's next 429: the same signal
    assert gate.limit("e") == 4
    for _ in range(3):
        first_wave.fail()
    assert gate.in_flight("e") == 3
    sent_after = Held(gate, "e", 1)  # the next window: sent under the halved limit
    sent_after.overload()
    assert gate.limit("e") == 2  # half of the 4 then in flight
    assert gate.in_flight("e") == 3


def test_the_limit_never_falls_below_one() -> None:
    gate = ConcurrencyGate()
    Held(gate, "e", 1).overload()
    assert gate.limit("e") == 1
    Held(gate, "e", 1).overload()
    assert gate.limit("e") == 1


def full_at(gate: ConcurrencyGate, limit: int) -> Held:
    """``limit`` calls in flight at endpoint "e", its limit just lowered to ``limit``."""
    held = Held(gate, "e", 2 * limit)
    held.overload()
    for _ in range(limit - 1):
        held.fail()
    assert gate.limit("e") == limit and gate.in_flight("e") == limit
    return held


def test_a_full_window_of_successes_adds_one_call() -> None:
    gate = ConcurrencyGate()
    held = full_at(gate, 4)
    limits = []
    for _ in range(5):
        held.succeed()  # at a full limit: credit
        held.more()  # the next call takes its place
        limits.append(gate.limit("e"))
    assert 4 < limits[0] < limits[1] < limits[2] < limits[3] < 5 <= limits[4] < 6
    assert gate.in_flight("e") == 4
    held.more()  # and the fifth call of the window goes out
    assert gate.in_flight("e") == 5


def test_an_endpoint_whose_limit_holds_nothing_back_earns_no_credit() -> None:
    gate = ConcurrencyGate()
    held = full_at(gate, 4)
    held.fail()
    held.fail()
    held.succeed()  # 2 in flight of 4
    assert gate.limit("e") == 4


def test_growth_stops_at_the_cap() -> None:
    gate = ConcurrencyGate(3)
    held = Held(gate, "e", 3)
    held.succeed()
    assert gate.limit("e") == 3


def test_retry_after_holds_back_new_calls_of_that_endpoint_only() -> None:
    now = [100.0]
    gate = ConcurrencyGate(clock=lambda: now[0])
    Held(gate, "e", 1).overload(retry_after=30)
    late: list[Held] = []
    _, sent = in_thread(lambda: late.append(Held(gate, "e", 1)))
    eventually(lambda: gate.waiting("e") == 1)
    other = Held(gate, "other", 1)  # another endpoint (another account) is not held back
    now[0] += 29.0
    other.succeed()  # wakes the waiter: still too early
    assert not sent.is_set()
    now[0] += 1.0
    Held(gate, "other", 1).succeed()
    assert sent.wait(WAIT)


# --- nodes/llm.py: a 429 lowers the limit its own retry is admitted under --------------------


class Overloaded(Exception):
    def __init__(self, status: int = 429, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status
        self.response = SimpleNamespace(status_code=status, headers=headers or {})


class Stub:
    """A model whose calls follow a script: an exception to raise, else a reply."""

    def __init__(self, *steps: Any) -> None:
        self.steps = list(steps)
        self.called = threading.Event()

    def invoke(self, messages: Any, config: Any = None) -> Any:
        self.called.set()
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return SimpleNamespace(content=step, usage_metadata={"input_tokens": 3, "output_tokens": 2})


MEMBER = AgentConfig.model_validate(
    {"id": "a1", "name": "A1", "role": "kiss", "model": "gpt-4o-mini", "provider": "openai", "maxRetries": 3}
)
CALL = llm.Call(agent_id="a1", phase="critique", round=1)


def complete(stub: Stub, gate: ConcurrencyGate, attempt: int = 1) -> llm.Reply:
    model = cast(BaseChatModel, stub)
    return llm.complete(model, MEMBER, CALL, llm.messages_for("s", "u"), attempt=attempt, gate=gate)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DIALECTIC_RETRY_BASE_SECONDS", "0")
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    yield


def test_a_429_halves_the_limit_before_the_call_is_retried_under_it(fast_retries: None) -> None:
    gate = ConcurrencyGate()
    where = endpoint(MEMBER)
    others = Held(gate, where, 7)  # seven siblings in flight at the same endpoint
    with pytest.raises(llm.CallFailed) as failed:
        complete(Stub(Overloaded(429, {"retry-after": "0"})), gate)
    assert failed.value.retryable
    assert gate.limit(where) == 4 and gate.in_flight(where) == 7

    retry = Stub("the critique")
    replies: list[llm.Reply] = []
    _, done = in_thread(lambda: replies.append(complete(retry, gate, attempt=2)))
    eventually(lambda: gate.waiting(where) == 1)
    for _ in range(3):
        others.fail()
    assert gate.in_flight(where) == 4 and not retry.called.is_set()  # 4 of 4: still held back
    others.fail()
    assert done.wait(WAIT) and replies[0].text == "the critique"


@pytest.mark.parametrize("status", [500, 400])
def test_other_failures_leave_the_limit_alone(fast_retries: None, status: int) -> None:
    gate = ConcurrencyGate()
    where = endpoint(MEMBER)
    siblings = Held(gate, where, 7)
    with pytest.raises(llm.CallFailed):
        complete(Stub(Overloaded(status)), gate)
    assert gate.limit(where) == float("inf") and gate.in_flight(where) == len(siblings.slots)


# --- runner/run.py: LangGraph's pool fits the widest step --------------------------------------


@pytest.mark.parametrize(
    ("agents", "mode", "calls"),
    [
        (6, "pairwise", 30),  # the critiques: 6 × 5
        (6, "batched", 13),  # the refinements with the summaries and the judge's beside them
        (2, "pairwise", 5),
        (1, "pairwise", 3),
    ],
)
def test_the_widest_step_comes_from_the_phase_table(agents: int, mode: str, calls: int) -> None:
    settings = make_settings([f"a{i}" for i in range(agents)], critiqueMode=mode)
    assert widest_step(settings) == calls
    assert graph_concurrency(calls) == calls + 1  # the stream loop's waiter takes a worker too
