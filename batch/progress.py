"""The sweep's progress on stderr: a rich bar on a terminal (done / running / failed, cost so far,
ETA), and one line per finished job everywhere (a log, or a test waiting on the output)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from dialectic.batch.jobs import Job, JobOutcome

if TYPE_CHECKING:
    from rich.console import Console


class SweepProgress:
    def __init__(self, console: Console, total: int, *, done: int = 0, cost: float = 0.0) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = console
        self.total = total
        self.done = done
        self.failed = 0
        self.running = 0
        self.cost = cost
        self._lock = threading.Lock()
        self._bar = Progress(
            TextColumn("sweep"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self._task = self._bar.add_task("sweep", total=total, completed=done, status=self._status())
        self._bar.start()

    def _status(self) -> str:
        return f"· running {self.running} · failed {self.failed} · ${self.cost:.4f}"

    def add(self, count: int) -> None:
        """More jobs became known (the baselines, once their budgets are)."""
        with self._lock:
            self.total += count
            self._bar.update(self._task, total=self.total)

    def skip(self, count: int) -> None:
        """Jobs already finished in an earlier run."""
        with self._lock:
            self.done += count
            self._bar.update(self._task, completed=self.done + self.failed)

    def started(self, job: Job) -> None:
        with self._lock:
            self.running += 1
            self._bar.update(self._task, status=self._status())

    def finished(self, outcome: JobOutcome, cost_so_far: float) -> None:
        from dialectic.report.inert import terminal_line

        with self._lock:
            self.running = max(0, self.running - 1)
            self.cost = cost_so_far
            if outcome.finished:
                self.done += 1
            else:
                self.failed += 1
            self._bar.update(self._task, completed=self.done + self.failed, status=self._status())
            detail = f"{outcome.tokens:,} tokens, ${outcome.cost:.4f}"
            if outcome.error and not outcome.finished:
                detail += f": {outcome.error}"
            line = f"[{self.done + self.failed}/{self.total}] {outcome.key}: {outcome.status} ({detail})"
            self._bar.console.print(terminal_line(line))

    def say(self, line: str) -> None:
        from dialectic.report.inert import terminal_line

        self._bar.console.print(terminal_line(line))

    def close(self) -> None:
        self._bar.stop()
