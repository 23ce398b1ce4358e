"""Ctrl-C during a run. The first asks the debate to stop after the step in progress: the calls
in flight finish and are checkpointed (they are paid for) and the JSON is marked
``interrupted``. The second exits at once; everything checkpointed so far stays."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def graceful_interrupts(
    say: Callable[[str], None], on_abort: Callable[[], None]
) -> Iterator[threading.Event]:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            stop.set()
            say("stopping after the calls in flight finish and are saved (Ctrl-C again to quit at once)")
            return
        on_abort()
        os._exit(130)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)
