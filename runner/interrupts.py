"""Ctrl-C during a run. The first stops the debate cleanly: the calls in flight finish and are
checkpointed (they are paid for), the JSON is marked ``interrupted``. The second exits at once;
everything checkpointed so far stays."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def graceful_interrupts(say: Callable[[str], None], on_abort: Callable[[], None]) -> Iterator[None]:
    pressed = 0

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal pressed
        pressed += 1
        if pressed == 1:
            say("stopping: letting the calls in flight finish and be saved (Ctrl-C again to quit at once)")
            raise KeyboardInterrupt
        on_abort()
        os._exit(130)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
