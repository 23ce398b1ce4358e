"""The issue's sweep, written into a folder: 2 problems × 3 arms (two debate arms and the
self-refine baseline, matched to each) × 2 repeats, 1 round, two evaluators (for their
agreement). Run it with --offline. Shared by the local and the Ray tests, with a way to run a
sweep in the test's process, and a backend that runs nothing (for what needs no debate)."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialectic.batch.jobs import Job, JobOutcome, StopSweep

if TYPE_CHECKING:
    from dialectic.batch.driver import SweepResult

PROBLEMS = {
    "rate-limiter.md": "Design a rate limiter for a public API. It must allow 100 requests per second per key.",
    "url-shortener.md": "Design a URL shortener. It must handle 1,000 redirects per second. Links must never collide.",
}


def _agent(agent_id: str, role: str, price: dict[str, float] | None) -> dict[str, object]:
    agent: dict[str, object] = {
        "id": agent_id,
        "name": agent_id.title(),
        "role": role,
        "model": "gpt-4o-mini",
        "provider": "openai",
    }
    if price:
        agent["price"] = price
    return agent


def write_sweep(
    folder: Path,
    *,
    price: dict[str, float] | None = None,
    repeats: int = 2,
    problems: int = 2,
    evaluator: bool = True,
) -> Path:
    """The sweep file (sweep.yaml) and what it names; ``price``: each agent's price per million
    tokens (the offline model is otherwise free), to exercise --max-cost. Smaller sweeps (fewer
    problems, no evaluator) keep tests that need no scores quick."""
    (folder / "problems").mkdir(parents=True, exist_ok=True)
    for name, text in list(PROBLEMS.items())[:problems]:
        (folder / "problems" / name).write_text(text + "\n")
    base = {
        "agents": [
            _agent("architect", "architect", price),
            _agent("kiss", "kiss", price),
            _agent("security", "security", price),
        ],
        "judge": {**_agent("judge", "generalist", price), "name": "Judge"},
        "debate": {"rounds": 1},
    }
    (folder / "base.json").write_text(json.dumps(base))
    evaluators = {"agents": [_agent("eval-1", "x", None), _agent("eval-2", "x", None)]}
    for agent in evaluators["agents"]:
        agent.pop("role")
    (folder / "eval.json").write_text(json.dumps(evaluators))
    sweep = folder / "sweep.yaml"
    sweep.write_text(
        "name: panels\n"
        "problems: [problems/]\n"
        "base: base.json\n"
        f"repeats: {repeats}\n" + ("evaluator: eval.json\n" if evaluator else "") + "arms:\n"
        "  - name: pair\n"
        "    agents: [architect, kiss]\n"
        "  - name: trio-batched\n"
        "    critiqueMode: batched\n"
        "  - name: self-refine\n"
        "    baseline: self-refine\n"
    )
    return sweep


@dataclass
class Scripted:
    """A backend that runs nothing: each job's outcome is ``outcome(job)``; ``ran`` says which
    jobs it was given."""

    outcome: Callable[[Job], JobOutcome]
    ran: list[str] = field(default_factory=list)
    control: Any = None
    on_start: Callable[[Job], None] = lambda job: None

    def session(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def run(self, jobs: Sequence[Job], db: str, on_done: Callable[[JobOutcome], None]) -> None:
        for job in jobs:
            self.ran.append(job.key)
            made = self.outcome(job)
            Path(made.json_path).parent.mkdir(exist_ok=True)
            Path(made.json_path).write_text("{}")  # (what the batch checks of a finished job)
            try:
                on_done(made)
            except StopSweep:
                return


def every_job(
    status: str = "completed", cost: float = 0.0, tokens: int = 1000
) -> Callable[[Job], JobOutcome]:
    """The same outcome for every job (a Scripted backend's)."""
    return lambda job: JobOutcome(job.key, job.debate_id, status, f"debates/{job.key}.json", tokens, cost)


def run_here(
    sweep_file: Path,
    backend: Any = None,
    *,
    max_cost: float | None = None,
    db: str | None = None,
    parallel: int = 2,
) -> SweepResult:
    """The sweep in this process (offline; its store ``db``, else in the sweep's folder): its
    SweepResult."""
    from langgraph.runtime import RunControl
    from rich.console import Console

    from dialectic.batch.driver import SweepOptions, SweepRunner
    from dialectic.batch.local import LocalBackend
    from dialectic.batch.progress import SweepProgress
    from dialectic.batch.state import open_state
    from dialectic.batch.sweep import load_sweep

    sweep = load_sweep(sweep_file, offline=True)
    db = db or str(sweep_file.parent / "debates" / "dialectic.sqlite")
    backend = backend or LocalBackend(parallel)
    options = SweepOptions(
        db=db, out=sweep_file.parent / "out", parallel=parallel, offline=True, max_cost=max_cost
    )
    with open_state(db, sweep.name) as state:
        runner = SweepRunner(sweep, options, backend, state)
        backend.control = control = RunControl()
        progress = SweepProgress(Console(file=io.StringIO()), len(sweep.jobs()))
        try:
            return runner.run(progress, control)
        finally:
            progress.close()
