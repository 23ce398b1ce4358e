"""A sweep from start to results, on any backend: the debate jobs, then the baselines (whose
budgets are the debates' median tokens), then scores and comparisons, then the table, summary
and plots. Everything a job or a score produced is recorded in the store as it arrives, so a
rerun starts from there: finished debates are skipped, unfinished ones resume from their
checkpoints, and nothing scored is scored again."""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialectic.batch.jobs import FINISHED, Backend, Job, JobOutcome, StopSweep, fingerprint
from dialectic.batch.state import BatchState
from dialectic.batch.sweep import Sweep
from dialectic.errors import ConfigError, DialecticError, ExitCode
from dialectic.evaluation.spend import cost_of_failure

if TYPE_CHECKING:
    from langgraph.runtime import RunControl

    from dialectic.batch.progress import SweepProgress


@dataclass
class SweepOptions:
    db: str
    out: Path
    parallel: int = 1
    offline: bool = False
    trust_config: bool = False
    max_cost: float | None = None
    verbose: bool = False


@dataclass
class SweepResult:
    exit_code: int
    message: str
    files: list[Path] = field(default_factory=list)


class SweepRunner:
    """One run of a sweep against its records in ``state``. Made before any output: a sweep
    whose jobs already ran with other inputs is refused then (ConfigError), nothing started."""

    def __init__(self, sweep: Sweep, options: SweepOptions, backend: Backend, state: BatchState) -> None:
        self.sweep = sweep
        self.options = options
        self.backend = backend
        self.state = state
        jobs = sweep.jobs()
        keys = {job.key for job in jobs}
        self.records = {key: r for key, r in state.all("jobs").items() if key in keys}
        self._check_unchanged(jobs)
        self.budget_hit = False
        # Scoring is spent from the batch's budget too (this run's and earlier runs').
        self.evaluation_cost = spent(state.all("scores")) + spent(state.all("comparisons"))
        self.evaluations_not_run = 0  # stopped by the budget or Ctrl-C: the rerun makes them
        self._cost_lock = threading.Lock()

    def run(self, progress: SweepProgress, control: RunControl) -> SweepResult:
        self.progress, self.control = progress, control
        self._run_jobs(self.sweep.debate_jobs())
        if not self._stopped:
            self._run_jobs(self._baseline_jobs())
        if not self._stopped and self.sweep.evaluator is not None:
            self._evaluate()
        return self._finish()

    @property
    def _stopped(self) -> bool:
        return self.control.drain_requested or self.budget_hit

    def _spent(self) -> float:
        return spent(self.records) + self.evaluation_cost

    def _over_budget(self) -> bool:
        return self.options.max_cost is not None and self._spent() >= self.options.max_cost

    # --- jobs ----------------------------------------------------------------------------------

    def _run_jobs(self, jobs: list[Job]) -> None:
        records = self.records
        todo = [job for job in jobs if not self._finished(records.get(job.key), job)]
        by_key = {job.key: job for job in todo}
        self.progress.skip(len(jobs) - len(todo))
        if todo and self._over_budget():  # spent by an earlier run: a rerun starts nothing either
            self.budget_hit = True
        if not todo or self._stopped:
            return

        def on_done(outcome: JobOutcome) -> None:
            job = by_key[outcome.key]
            before = records.get(job.key) or {}
            records[job.key] = {
                **asdict(outcome),
                # A debate's spend only grows; an outcome that could not read it (it failed
                # before its debate opened, its Ray worker was lost) keeps what was known.
                "tokens": max(outcome.tokens, int(before.get("tokens") or 0)),
                "cost": max(outcome.cost, float(before.get("cost") or 0.0)),
                "arm": job.arm,
                "versus": job.versus,
                "problem": job.problem_name,
                "repeat": job.repeat,
                "baseline": job.baseline,
                "budget_tokens": job.budget_tokens,
                "fingerprint": job.fingerprint,
            }
            self.state.put("jobs", job.key, records[job.key])
            self.progress.finished(outcome, self._spent())
            if self._over_budget():
                self.budget_hit = True
            if self._stopped:
                raise StopSweep

        self.backend.on_start = self.progress.started
        self.backend.run(todo, self.options.db, on_done)

    @staticmethod
    def _finished(record: dict[str, Any] | None, job: Job) -> bool:
        return (
            record is not None
            and record.get("status") in FINISHED
            and record.get("fingerprint") == job.fingerprint
            and Path(record["json_path"]).exists()
        )

    def _check_unchanged(self, jobs: list[Job]) -> None:
        """A job that ran with other settings or problem text (the sweep file, a config or a
        problem changed) cannot be resumed or reused under the same name."""
        for job in jobs:
            record = self.records.get(job.key)
            if record is not None and record.get("fingerprint") != job.fingerprint:
                raise ConfigError(
                    f"sweep {self.sweep.name}: {job.key} already ran in this store with another config or "
                    f"problem text; rename arm {job.arm!r} or the sweep (name:), or use another --db"
                )

    def _baseline_jobs(self) -> list[Job]:
        """Each baseline's token budget: the median tokens of its problem's debates in the arm it
        is matched to (over the repeats that finished); none finished, no baseline."""
        jobs = []
        for arm in self.sweep.baseline_arms:
            for problem in self.sweep.problems:
                tokens = [
                    record["tokens"]
                    for record in self.records.values()
                    if record.get("baseline") is None
                    and record.get("arm") == arm.versus
                    and record.get("problem") == problem.name
                    and record.get("status") in FINISHED
                ]
                if not tokens:
                    self.progress.say(
                        f"warning: no finished debate of arm {arm.versus} on {problem.name}: its baseline {arm.name} is not run"
                    )
                    self.progress.add(-self.sweep.repeats)
                    continue
                budget = int(statistics.median(tokens))
                jobs += [self.sweep.job(problem, arm, r, budget) for r in range(1, self.sweep.repeats + 1)]
        return jobs

    # --- scores and comparisons -----------------------------------------------------------------

    def _evaluate(self) -> None:
        from dialectic.batch import scoring
        from dialectic.runner.evaluation import describe_event

        evaluator, state = self.sweep.evaluator, self.state
        assert evaluator is not None
        eval_print = self.sweep.evaluator_print
        done = {key: r for key, r in self.records.items() if r.get("status") in FINISHED}
        scores, comparisons = state.all("scores"), state.all("comparisons")

        def on_event(event: dict[str, Any]) -> None:
            line = describe_event(event, verbose=self.options.verbose)
            if line:
                self.progress.say(line)

        repeats, offline, trusted = self.sweep.eval_repeats, self.options.offline, self.options.trust_config

        def score_one(record: dict[str, Any]) -> dict[str, Any]:
            return scoring.score(
                evaluator,
                record["json_path"],
                repeats=repeats,
                offline=offline,
                trust_config=trusted,
                on_event=on_event,
            )

        def compare_one(debate: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
            verdicts = scoring.compare(
                evaluator,
                debate["json_path"],
                baseline["json_path"],
                repeats=repeats,
                offline=offline,
                trust_config=trusted,
                on_event=on_event,
            )
            return {"debate": debate["key"], "baseline": baseline["key"], **verdicts}

        tasks: list[Callable[[], None]] = []
        for key, record in done.items():
            made_of = fingerprint(eval_print, record["fingerprint"])
            if scores.get(key, {}).get("fingerprint") != made_of:
                tasks.append(
                    self._recorded("scores", key, made_of, scores.get(key), partial(score_one, record))
                )
        for key, (debate, baseline) in self.pairs(done).items():
            made_of = fingerprint(eval_print, debate["fingerprint"], baseline["fingerprint"])
            if comparisons.get(key, {}).get("fingerprint") != made_of:
                compared = partial(compare_one, debate, baseline)
                tasks.append(self._recorded("comparisons", key, made_of, comparisons.get(key), compared))
        if tasks and self._over_budget():  # spent already: say nothing of scoring that won't start
            self.budget_hit = True
            self.evaluations_not_run += len(tasks)
        elif tasks:
            self.progress.say(f"scoring: {len(tasks)} evaluation(s) with {evaluator.name}")
            with ThreadPoolExecutor(max(1, self.options.parallel), thread_name_prefix="batch-eval") as pool:
                list(pool.map(lambda task: task(), tasks))

    def _recorded(
        self,
        kind: str,
        key: str,
        made_of: str,
        earlier: dict[str, Any] | None,
        make: Callable[[], dict[str, Any]],
    ) -> Callable[[], None]:
        """An evaluation whose result is recorded as soon as it is in; one that fails is a
        warning (the rerun tries it again), never the end of the sweep; after Ctrl-C or once
        the budget is spent none starts (the rerun makes them).

        The record's ``cost`` is all its key's evaluations ever spent: this one's is added to
        the ``earlier`` record's (a rescore after the evaluator changed, a failed try), never
        put in its place, so the batch's spend only grows. A failure that spent something
        keeps the earlier result (and its fingerprint: the rerun still tries again)."""

        def run() -> None:
            if self._over_budget():
                self.budget_hit = True
            if self._stopped:
                with self._cost_lock:
                    self.evaluations_not_run += 1
                return
            kept = earlier or {}
            try:
                value = {**make(), "fingerprint": made_of}
                cost = float(value.get("cost") or 0.0)
            except DialecticError as exc:
                self.progress.say(f"warning: {kind} of {key} failed: {exc}")
                value, cost = kept, cost_of_failure(exc)
                if not cost:
                    return
            self.state.put(kind, key, {**value, "cost": float(kept.get("cost") or 0.0) + cost})
            with self._cost_lock:
                self.evaluation_cost += cost

        return run

    @staticmethod
    def pairs(done: dict[str, dict[str, Any]]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """Each finished debate with each finished baseline matched to it (same problem, same
        repeat), keyed "<debate key>~<baseline key>"."""
        found = {}
        for debate in done.values():
            if debate.get("baseline") is not None:
                continue
            for baseline in done.values():
                if (
                    baseline.get("versus") == debate["arm"]
                    and baseline["problem"] == debate["problem"]
                    and baseline["repeat"] == debate["repeat"]
                ):
                    found[f"{debate['key']}~{baseline['key']}"] = (debate, baseline)
        return found

    # --- results --------------------------------------------------------------------------------

    def _finish(self) -> SweepResult:
        from dialectic.batch import plots, results, summary

        records, state = self.records, self.state
        table = results.build(self.sweep, records, state.all("scores"), state.all("comparisons"))
        files = results.write(table, self.options.out)
        figures = plots.draw(table, self.options.out)
        files += figures
        files.append(summary.write(self.sweep, table, self.options.out, figures))
        failed = [r for r in records.values() if r.get("status") not in FINISHED]
        missing = self.progress.total - len(records)
        if self.control.drain_requested:
            return SweepResult(ExitCode.INTERRUPTED, "interrupted: rerun the same command to continue", files)
        if self.budget_hit:
            evaluations = f" and {self.evaluations_not_run} evaluation(s)" if self.evaluations_not_run else ""
            return SweepResult(
                ExitCode.PAUSED,
                f"the batch's budget of ${self.options.max_cost:g} is spent (${self._spent():.4f}); "
                f"{max(missing, 0)} job(s){evaluations} not run: rerun with a higher --max-cost to continue",
                files,
            )
        if failed:
            return SweepResult(
                ExitCode.PROVIDER,
                f"{len(failed)} job(s) did not finish ({', '.join(sorted(r['key'] for r in failed)[:5])}); "
                "rerun the same command to resume them",
                files,
            )
        return SweepResult(ExitCode.OK, f"{len(records)} job(s) finished", files)


def spent(records: dict[str, dict[str, Any]]) -> float:
    return round(sum(float(record.get("cost") or 0.0) for record in records.values()), 12)
