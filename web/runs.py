"""Debates running in this server process: each in a thread that calls the runner exactly as
the CLI does (``start_debate``/``resume_debate``, holding the debate's writer lock), its events
fed to an ``EventHub``. Stop is the CLI's first Ctrl-C: drain (``RunControl``), the calls in
flight finish and are saved, the debate is ``interrupted``. Pauses are answered as the CLI's
``--answers``/``--note`` answer them (``HumanInput``): a later pause leaves the debate waiting."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.runtime import RunControl
from rich.console import Console

from dialectic.configs.settings import RunSettings
from dialectic.errors import DialecticError
from dialectic.runner import store as stores
from dialectic.runner.human import HumanInput
from dialectic.runner.inputs import run_overrides
from dialectic.runner.run import (
    DebateResult,
    Respond,
    check_providers,
    read_stored,
    resume_debate,
    start_debate,
)
from dialectic.web.events import ENDED, EventHub

# Ended runs kept for a late viewer to replay; older ones are dropped (their debates are in the
# store and the JSON): a server that runs debates for weeks does not keep every event of each.
KEEP_ENDED = 100

Launch = Callable[[Callable[[dict[str, Any]], None], RunControl, Respond], DebateResult]


@dataclass
class LiveRun:
    debate_id: str
    hub: EventHub = field(default_factory=EventHub)
    control: RunControl = field(default_factory=RunControl)
    thread: threading.Thread | None = None
    result: DebateResult | None = None


class Runs:
    """The runs of this process, by debate id (the latest run of each, live or ended)."""

    def __init__(self, db: str | None) -> None:
        self.db = db
        self._runs: dict[str, LiveRun] = {}
        self._live: set[str] = set()
        self._lock = threading.Lock()

    def latest(self, debate_id: str) -> LiveRun | None:
        with self._lock:
            return self._runs.get(debate_id)

    def is_live(self, debate_id: str) -> bool:
        with self._lock:
            return debate_id in self._live

    def live_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._live)

    def start(self, problem: str, settings: RunSettings, debate_id: str) -> LiveRun:
        check_providers(settings)  # a missing key is the form's error, before any thread
        # A taken id too, answered now: in the run's thread it would come after "201 Created".
        stores.require_new_at(stores.db_url(self.db), debate_id, hint="choose another id")
        return self._launch(
            debate_id,
            lambda on_event, control, respond: start_debate(
                problem,
                settings,
                debate_id=debate_id,
                db=self.db,
                on_event=on_event,
                control=control,
                respond=respond,
            ),
            HumanInput(_quiet(), interactive=False),
        )

    def resume(
        self,
        debate_id: str,
        *,
        answers: Mapping[str, str] | None = None,
        note: str | None = None,
        max_tokens: int | None = None,
        max_cost: float | None = None,
    ) -> LiveRun:
        """Continue a debate: ``answers`` and ``note`` answer its pause as ``resume --answers``
        and ``--note`` do; a budget given here replaces the debate's from now on."""
        stores.validate_debate_id(debate_id)
        url = stores.db_url(self.db)
        stores.require_store(url, debate_id)
        with stores.open_store(url, read_only=True) as store:
            read_stored(store, debate_id, required=True)  # not in the store: now, not in the thread
            holder = store.holder(debate_id)
        if holder is not None:
            raise stores.DebateBusy(f"debate {debate_id} is being run by {holder.describe()}; stop it first")
        change = run_overrides(max_tokens=max_tokens, max_cost=max_cost)
        return self._launch(
            debate_id,
            lambda on_event, control, respond: resume_debate(
                debate_id, db=self.db, on_event=on_event, settings=change, control=control, respond=respond
            ),
            HumanInput(_quiet(), interactive=False, answers=answers, note=note),
        )

    def stop(self, debate_id: str) -> bool:
        """The CLI's first Ctrl-C for this debate; False if it does not run in this process."""
        with self._lock:
            run = self._runs.get(debate_id) if debate_id in self._live else None
        if run is None:
            return False
        run.control.request_drain("stopped from the web page")
        run.hub.publish(
            {"event": "notice", "message": "stopping after the calls in flight finish and are saved"}
        )
        return True

    def stop_all(self, wait: float) -> None:
        """At shutdown: drain every run and give them ``wait`` seconds in all to save."""
        for debate_id in self.live_ids():
            self.stop(debate_id)
        deadline = time.monotonic() + wait
        for debate_id in self.live_ids():
            run = self.latest(debate_id)
            if run is not None and run.thread is not None:
                run.thread.join(max(0.0, deadline - time.monotonic()))

    def _launch(self, debate_id: str, launch: Launch, respond: HumanInput) -> LiveRun:
        with self._lock:
            if debate_id in self._live:
                raise stores.DebateBusy(f"debate {debate_id} is already running in this server")
            run = LiveRun(debate_id)
            self._runs.pop(debate_id, None)  # the latest launched last: pruning drops the oldest
            self._runs[debate_id] = run
            self._live.add(debate_id)
        run.thread = threading.Thread(
            target=self._run, args=(run, launch, respond), name=f"debate {debate_id}", daemon=True
        )
        run.thread.start()
        return run

    def _run(self, run: LiveRun, launch: Launch, respond: HumanInput) -> None:
        end: dict[str, Any] = {"event": ENDED}
        try:
            result = launch(run.hub.publish, run.control, respond)
            run.result = result
            for warning in respond.unused():
                run.hub.publish({"event": "warning", "message": warning})
            end.update(status=result.status, exit_code=int(result.exit_code), message=result.message)
        except DialecticError as exc:
            end.update(status="error", exit_code=int(exc.exit_code), message=str(exc))
        except BaseException as exc:  # a bug: the state is in the checkpoints, the server goes on
            traceback.print_exc(file=sys.stderr)
            end.update(
                status="error", exit_code=1, message=f"internal error (a bug): {type(exc).__name__}: {exc}"
            )
        finally:
            with self._lock:
                self._live.discard(run.debate_id)
                ended = [debate_id for debate_id in self._runs if debate_id not in self._live]
                for debate_id in ended[: max(0, len(ended) - KEEP_ENDED)]:
                    del self._runs[debate_id]
            run.hub.publish(end)  # its viewers hold the hub: they get the end even if it was dropped


def _quiet() -> Console:
    """HumanInput's console: never written to here (it answers from given input only)."""
    return Console(stderr=True, quiet=True)
