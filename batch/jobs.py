"""One unit of a sweep: a (problem, arm, repeat) debate, as plain data any backend can ship to
a worker, and ``run_job``, which runs it in the calling process: new, resumed from its
checkpoint, or, when it already finished, only read back. Backends differ in where ``run_job``
runs (a thread here, a Ray task there), never in what it does."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from langgraph.runtime import RunControl

    from dialectic.errors import DialecticError
    from dialectic.runner.store import Store
    from dialectic.transcript.schema import DebateRecord

# Debate statuses (DebateRecord.status) of a job that is done: its JSON has a final solution.
FINISHED = frozenset({"completed", "degraded"})
SELF_REFINE = "self-refine"


@dataclass(frozen=True)
class Job:
    """One (problem, arm, repeat): plain data, picklable (sent to Ray workers)."""

    key: str  # f"{sweep}.{problem_slug}.{arm}.r{repeat}": filesystem-safe, and the debate id
    problem_name: str
    problem_text: str
    arm: str
    repeat: int
    settings_json: str  # the arm's RunSettings.to_json(); a baseline: the one model's (one agent)
    baseline: str | None  # None for a debate arm, "self-refine" for the baseline
    budget_tokens: int | None  # baseline: the compute-matched token budget
    versus: str | None = None  # baseline: the debate arm it is matched to and compared with

    @property
    def debate_id(self) -> str:
        return self.key

    @property
    def fingerprint(self) -> str:
        """What the job's debate is made from. Not a baseline's budget: one set from the debates
        that had finished then stays the baseline's, even when a debate resumed later changes the
        median."""
        return fingerprint(made_of(self.settings_json), self.problem_text)


def made_of(settings_json: str) -> str:
    """Settings as what a debate is made of: not where its config and prompts were read from
    (their text is in the settings), so a sweep moved, or run from another checkout sharing a
    PostgreSQL store, is the same sweep."""
    settings = json.loads(settings_json)
    for where in ("config_path", "prompt_sources"):
        settings.pop(where, None)
    return json.dumps(settings, sort_keys=True)


def fingerprint(*parts: str | None) -> str:
    """What a stored result was made from: a rerun with other inputs does not reuse it."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update((part or "").encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class JobOutcome:
    """What a worker returns (picklable)."""

    key: str
    debate_id: str
    status: str  # the debate's status: "completed", "degraded", "failed", "interrupted", …
    json_path: str  # the debate JSON written (./debates/<id>.json, relative to the cwd)
    tokens: int
    cost: float
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class StopSweep(Exception):
    """Raised by ``on_done`` (the batch's budget is spent, or Ctrl-C): the backend starts no more
    jobs, lets the running ones finish (still reporting each to ``on_done``, which may raise this
    again) and returns."""


class Backend(Protocol):
    """Runs jobs somewhere and reports each outcome to ``on_done`` on the caller's side, in the
    order they finish. ``db`` is the store every job checkpoints to (a Ray cluster's workers need
    a shared PostgreSQL one). ``control``, drained on Ctrl-C, stops the debates running;
    ``on_start`` hears of each job as it goes out."""

    control: RunControl | None
    on_start: Callable[[Job], None]

    def session(self) -> AbstractContextManager[None]:
        """Where the jobs run, ready for the sweep's several ``run`` calls (a Ray cluster joined
        once); entered before any output, so that what cannot be reached is the first line."""
        ...

    def run(self, jobs: Sequence[Job], db: str, on_done: Callable[[JobOutcome], None]) -> None: ...


def run_job(job: Job, db: str, *, cwd: str | None = None, control: RunControl | None = None) -> JobOutcome:
    """Run (or resume from its checkpoint, or skip if finished) one job's debate in this process.

    ``cwd``: where ./debates/ is (a Ray worker's own directory differs; a thread must pass None,
    the working directory being the process's). ``control``: drained on Ctrl-C, the debate
    stops after the calls in flight, saved. A debate that fails is an outcome, not an exception.
    """
    from dialectic.errors import DialecticError

    with _working_dir(cwd):
        try:
            if job.baseline is not None:
                from dialectic.batch.baseline import run_baseline

                return run_baseline(job, db, control=control)
            return _run_debate(job, db, control)
        except DialecticError as exc:
            return failed(job, str(exc))


def failed(job: Job, error: str) -> JobOutcome:
    from dialectic.runner.store import debate_json_path

    return JobOutcome(job.key, job.debate_id, "failed", str(debate_json_path(job.debate_id)), 0, 0.0, error)


def outcome_of(job: Job, record: DebateRecord, json_path: Path, message: str | None = None) -> JobOutcome:
    """The outcome a debate's record gives: its status, and its tokens and cost so far."""
    total = (record.usage or {}).get("total") or {}
    error = None if record.status in FINISHED else message or record.stopReason or record.status
    return JobOutcome(
        job.key,
        record.id,
        record.status,
        str(json_path),
        int(total.get("totalTokens") or 0),
        float(total.get("costUsd") or 0.0),
        error,
    )


def _run_debate(job: Job, db: str, control: RunControl | None) -> JobOutcome:
    from dialectic.configs.settings import RunSettings
    from dialectic.runner.run import resume_debate, start_debate

    if _in_store(db, job):
        result = resume_debate(job.debate_id, db=db, control=control)
    else:
        settings = RunSettings.from_json(job.settings_json)
        result = start_debate(job.problem_text, settings, debate_id=job.debate_id, db=db, control=control)
    return outcome_of(job, result.record, result.json_path, result.message)


def _in_store(db: str, job: Job) -> bool:
    """Whether the job's debate is in the store (to resume, or read back), checked to be this
    job's: made from its settings and problem."""
    from dialectic.runner import store as stores
    from dialectic.runner.run import read_stored

    url = stores.db_url(db)
    if not stores.store_exists(url):
        return False
    with stores.open_store(url) as store:
        if not store.exists(job.debate_id):
            return False
        stored = read_stored(store, job.debate_id)
        if (
            stored is None
            or made_of(stored.settings_json) != made_of(job.settings_json)
            or stored_problem(store, job.debate_id) != job.problem_text
        ):
            raise made_otherwise(job, store.url)
        return True


def stored_problem(store: Store, debate_id: str) -> Any:
    """The problem a thread in the store debates (None: none): in its state, or, when it stopped
    before its first step (killed at once), in the input it was started with."""
    from dialectic.runner.run import thread_config

    latest = store.saver.get_tuple(thread_config(debate_id))
    values = {} if latest is None else latest.checkpoint["channel_values"]
    start = values.get("__start__")
    return values.get("problem", start.get("problem") if isinstance(start, dict) else None)


def made_otherwise(job: Job, url: str) -> DialecticError:
    """A thread under the job's id that another sweep of the same name (or a debate started with
    that --id) made from other inputs: never resumed as this job's."""
    from dialectic.errors import InputError
    from dialectic.runner.store import redact

    return InputError(
        f"{job.debate_id} in {redact(url)} was made from another problem or config (another sweep named "
        "so, or a debate started with this id); rename the sweep (name:) or use another --db"
    )


@contextlib.contextmanager
def _working_dir(cwd: str | None) -> Iterator[None]:
    if cwd is None:
        yield
        return
    before = os.getcwd()
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(before)
