"""Ctrl-C during a run. The first asks LangGraph to drain the run (``RunControl``): the calls
in flight finish and are checkpointed (they are paid for), the run stops at the step boundary
and the JSON is marked ``interrupted``. The second exits at once; everything checkpointed so
far stays. (LangGraph installs no signal handler of its own: the handler is ours.)"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from langgraph.runtime import RunControl


@contextmanager
def graceful_interrupts(say: Callable[[str], None], on_abort: Callable[[], None]) -> Iterator[RunControl]:
    control = RunControl()

    def handler(signum: int, frame: FrameType | None) -> None:
        if not control.drain_requested:
            control.request_drain("Ctrl-C")
            say("stopping after the calls in flight finish and are saved (Ctrl-C again to quit at once)")
            return
        on_abort()
        os._exit(130)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield control
    finally:
        signal.signal(signal.SIGINT, previous)
