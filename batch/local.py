"""The local backend: jobs run in this process, at most ``parallel`` at once, on a thread pool.
Each debate's own calls are bounded as usual (maxConcurrency, and each endpoint's adaptive limit
learned from its 429s); LLM calls wait on the network, so threads suffice."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from dialectic.batch.jobs import Job, JobOutcome, StopSweep, failed, run_job

if TYPE_CHECKING:
    from langgraph.runtime import RunControl


class LocalBackend:
    def __init__(self, parallel: int = 1, control: RunControl | None = None) -> None:
        self.parallel = max(1, parallel)
        self.control = control  # drained on Ctrl-C: every running debate stops after its step
        self.on_start: Callable[[Job], None] = lambda job: None

    def session(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()  # this process: always there

    def run(self, jobs: Sequence[Job], db: str, on_done: Callable[[JobOutcome], None]) -> None:
        waiting = list(reversed(jobs))
        running: dict[Future[JobOutcome], Job] = {}
        stopping = False
        with ThreadPoolExecutor(self.parallel, thread_name_prefix="batch") as pool:
            while running or (waiting and not stopping):
                while waiting and not stopping and len(running) < self.parallel:
                    job = waiting.pop()
                    self.on_start(job)
                    running[pool.submit(run_job, job, db, control=self.control)] = job
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    job = running.pop(future)
                    try:
                        outcome = future.result()
                    except Exception as exc:  # a bug in one debate does not stop the sweep
                        outcome = failed(job, f"{type(exc).__name__}: {exc}")
                    try:
                        on_done(outcome)
                    except StopSweep:
                        stopping = True
