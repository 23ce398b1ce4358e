"""``dialectic batch --ray [ADDRESS]``: each debate of a sweep is a Ray task on a cluster.

The task calls ``run_job``, as a thread of the local backend does; only where it runs differs.

- **Store.** Workers write checkpoints to a shared PostgreSQL store (``--db postgresql://…``):
  a worker lost mid-debate makes Ray retry its task (``max_retries``; worker deaths only: a
  debate that fails is an outcome ``run_job`` records, not an exception to retry), and the
  retry, on any machine, resumes from the checkpoints, no finished call made again. A SQLite
  store is refused, even for a cluster on this one machine: there Ray buys nothing over the
  local backend (debates wait on the network, and threads wait as well as processes), and
  SQLite would have several processes writing one file.
- **Debate JSON.** A worker runs its debate in a scratch folder of its own and sends the JSON
  back with the outcome; the driver writes ``./debates/<id>.json`` as the local backend does.
  No shared filesystem is assumed and nothing is uploaded (no ``working_dir``); the JSON is
  rebuilt from the checkpoints, so a retry loses nothing.
- **Keys.** Workers read API keys from their own environment: a local cluster started by this
  command inherits the driver's; on a cluster started with ``ray start``, set them where the
  nodes start. ``DIALECTIC_RAY_ENV=OPENAI_API_KEY,…`` sends the named variables with each task
  (a Ray ``runtime_env``: whoever can read the cluster's job details can read them), only when
  the user asks so. Workers need ``dialectic-debate`` installed (the same version).
- **Ctrl-C** on the driver cancels the tasks still out: a running one drains its debate as
  Ctrl-C drains a local one (calls in flight finish and are saved), which is reported as
  interrupted; the rerun resumes them.
- **Logs.** What workers print stays in the cluster's logs (``log_to_driver=False``): the
  driver's stderr is the sweep's progress, and an outcome carries its debate's error.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialectic.batch.jobs import Job, JobOutcome, StopSweep, failed, run_job
from dialectic.errors import ConfigError, DialecticError, InputError
from dialectic.runner import store as stores
from dialectic.transcript.files import write_atomic

if TYPE_CHECKING:
    from langgraph.runtime import RunControl

RAY_MISSING = "dialectic batch --ray needs Ray: pip install 'dialectic-debate[ray]'"
FORWARD_ENV = "DIALECTIC_RAY_ENV"
# A worker's scratch folder (in its temp dir) is "<prefix><debate id>-…"; a killed worker leaves it.
SCRATCH_PREFIX = "dialectic-ray-"
# A retried task may start before the store has seen the lost worker go (its connection, and
# with it the debate's writer lock, ends when PostgreSQL notices: at once for a killed process,
# within the lock connection's keepalive time for a lost machine): it waits this long for it.
LOCK_WAIT_SECONDS = 2.0 * stores.LOCK_KEEPALIVE_SECONDS
# How long the driver waits for cancelled debates to save themselves before giving up on them.
CANCEL_WAIT_SECONDS = 60.0


def import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(RAY_MISSING) from exc
    return ray


class RayBackend:
    """The Backend of ``--ray``: ``address`` is Ray's: ``"ray://host:10001"`` (Ray Client),
    ``"auto"``, ``"host:port"``, or None for Ray's default (``RAY_ADDRESS``, else the cluster
    last started on this machine with ``ray start``, else a new local one).
    When Ray is already initialised in this process (a notebook, a test), that cluster is used.

    Jobs go out as the cluster has room for them (its CPUs over ``cpus_per_debate``), so a
    ``StopSweep`` from ``on_done`` (the budget is spent) leaves the rest unstarted, as locally."""

    def __init__(
        self,
        address: str | None = None,
        *,
        control: RunControl | None = None,
        max_retries: int = 3,
        forward_env: Sequence[str] | None = None,
        cpus_per_debate: float = 1.0,
    ) -> None:
        self.ray = import_ray()  # before anything runs: Ray missing is one line
        self.address = address or None
        self.control = control  # drained on Ctrl-C: the debates out are cancelled, and save
        self.max_retries = max_retries
        names = os.environ.get(FORWARD_ENV, "").split(",") if forward_env is None else forward_env
        self.forward_env = tuple(name.strip() for name in names if name.strip())
        self.cpus_per_debate = cpus_per_debate
        self.on_start: Callable[[Job], None] = lambda job: None

    @contextlib.contextmanager
    def session(self) -> Iterator[None]:
        """Joined to the cluster (or a local one started) for the duration: once for a sweep's
        debates and baselines. A cluster this process already joined (a notebook, a test, an
        outer session) is used as it is, and left joined."""
        if self.ray.is_initialized():
            yield
            return
        self.connect()
        try:
            yield
        finally:
            self.ray.shutdown()

    def run(self, jobs: Sequence[Job], db: str, on_done: Callable[[JobOutcome], None]) -> None:
        url = self.store_for_workers(db)
        with self.session():
            task = self.ray.remote(run_on_worker).options(**self.task_options())
            self.gather(self.ray, lambda job: task.remote(job, url), jobs, on_done)

    def connect(self) -> None:
        """Join the cluster (or start a local one); workers' output stays in the cluster's logs,
        outcomes carry their errors."""
        try:
            self.ray.init(address=self.address, logging_level="WARNING", log_to_driver=False)
        except ConnectionError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"cannot reach the Ray cluster {self.address or '(Ray default)'}: {reason}; pass --ray "
                "ray://HEAD:10001 or auto, or start one with `ray start --head`"
            ) from exc

    def store_for_workers(self, db: str) -> str:
        """The store URL the workers write to: PostgreSQL, the one kind every worker reaches.
        Opened here once: a wrong URL is one line before any task, and the tables exist before
        workers race to create them."""
        url = stores.db_url(db)
        if not stores.is_postgres(url):
            raise InputError(
                f"--ray needs a store every worker reaches: pass --db postgresql://… (not the SQLite file "
                f"{Path(url).absolute()}); on one machine, run without --ray (--parallel N)"
            )
        with stores.open_store(url):
            pass
        return url

    def task_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "max_retries": self.max_retries,
            "retry_exceptions": False,  # worker deaths only: a failed debate is an outcome
            "num_cpus": self.cpus_per_debate,
        }
        env = {name: os.environ[name] for name in self.forward_env if name in os.environ}
        if env:
            options["runtime_env"] = {"env_vars": env}
        return options

    def gather(
        self,
        ray: Any,
        submit: Callable[[Job], Any],
        jobs: Sequence[Job],
        on_done: Callable[[JobOutcome], None],
    ) -> None:
        """Submit jobs as there is room and hand each outcome to ``on_done`` as it finishes.
        Ctrl-C (the control drained, or KeyboardInterrupt) cancels the tasks out: each debate
        stops and saves, and is reported; anything raised cancels them too, and goes on up."""
        waiting = list(reversed(jobs))
        out: dict[Any, Job] = {}
        stopping = cancelled = False
        try:
            while out or (waiting and not stopping):
                room = self.capacity(ray) - len(out)
                while waiting and not stopping and room > 0:
                    job = waiting.pop()
                    self.on_start(job)
                    out[submit(job)] = job
                    room -= 1
                ready, _ = ray.wait(list(out), num_returns=1, timeout=1.0)
                if self.control is not None and self.control.drain_requested and not cancelled:
                    cancel(ray, out)
                    stopping = cancelled = True
                for ref in ready:
                    try:
                        on_done(receive(ray, ref, out.pop(ref)))
                    except StopSweep:
                        stopping = True
        except BaseException:
            if out:
                cancel(ray, out)
                ray.wait(list(out), num_returns=len(out), timeout=CANCEL_WAIT_SECONDS)
            raise

    def capacity(self, ray: Any) -> int:
        """How many debates the cluster runs at once now (it may grow or shrink)."""
        return max(1, int(ray.cluster_resources().get("CPU", 1) / self.cpus_per_debate))


def cancel(ray: Any, refs: dict[Any, Job]) -> None:
    """Cancel the tasks: one that runs drains its debate (``drained_on_cancel``), which saves
    itself as interrupted and is reported (the rerun resumes it); one not started never starts."""
    for ref in refs:
        ray.cancel(ref, recursive=True)


def receive(ray: Any, ref: Any, job: Job) -> JobOutcome:
    """The task's outcome, its debate JSON written here. A task cancelled before it ran is
    interrupted; one whose retries were spent on lost workers failed; the rerun resumes both."""
    try:
        returned: tuple[JobOutcome, str | None] = ray.get(ref)
    except ray.exceptions.TaskCancelledError:  # before it started
        return replace(failed(job, "cancelled (Ctrl-C)"), status="interrupted")
    except ray.exceptions.RayTaskError as exc:  # a bug in the job: what it raised
        cause = exc.cause if isinstance(exc.cause, BaseException) else exc
        return failed(job, f"{type(cause).__name__}: {cause}")
    except ray.exceptions.RayError as exc:  # the worker or its node lost, retries spent
        return failed(job, f"Ray: {type(exc).__name__}: {str(exc).strip().splitlines()[0]}")
    outcome, text = returned
    path = stores.debate_json_path(outcome.debate_id)
    if text is not None:
        write_atomic(path, text)
    return replace(outcome, json_path=str(path))


def run_on_worker(job: Job, db: str) -> tuple[JobOutcome, str | None]:
    """On a worker: run the job in a scratch folder; its outcome and debate JSON text."""
    scratch_dir = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{job.debate_id}-")
    with drained_on_cancel() as control, scratch_dir as scratch:
        wait_for_writer(db, job.debate_id)
        outcome = run_job(job, db, cwd=scratch, control=control)
        written = Path(scratch) / outcome.json_path
        return outcome, written.read_text(encoding="utf-8") if written.is_file() else None


def wait_for_writer(db: str, debate_id: str, timeout: float = LOCK_WAIT_SECONDS) -> None:
    """Wait (bounded) while another process holds the debate: a lost worker's lock outlives it
    until the store notices; after ``timeout`` ``run_job`` reports the holder."""
    deadline = time.monotonic() + timeout
    with contextlib.suppress(DialecticError), stores.open_store(db) as store:  # run_job reports it
        while store.holder(debate_id) is not None and time.monotonic() < deadline:
            time.sleep(0.5)


@contextlib.contextmanager
def drained_on_cancel() -> Iterator[RunControl]:
    """Ray cancels a running task with a SIGINT in the worker's main thread, where the task
    runs: here it drains the debate, as Ctrl-C does a local one (the calls in flight finish
    and are saved, the run stops at the step boundary), rather than raise KeyboardInterrupt
    inside LangGraph. Never an exit: a worker that died would be retried."""
    from langgraph.runtime import RunControl

    control = RunControl()
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: control.request_drain("Ctrl-C"))
    except ValueError:  # not the main thread: Ray's KeyboardInterrupt stops the debate instead
        yield control
        return
    try:
        yield control
    finally:
        signal.signal(signal.SIGINT, previous)
