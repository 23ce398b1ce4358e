"""What ``dialectic batch`` does between parsing and exiting: load the sweep, choose the backend,
run with progress and Ctrl-C handling, print where the results are."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dialectic.errors import InputError

if TYPE_CHECKING:
    from rich.console import Console

    from dialectic.batch.jobs import Backend
    from dialectic.batch.sweep import Sweep

SWEEP_SUFFIXES = (".yaml", ".yml", ".json")


def run_batch(
    console: Console,
    sweep_file: Path,
    *,
    db: str | None,
    parallel: int,
    offline: bool,
    max_cost: float | None,
    out: str | None,
    ray: str | None,
    verbose: bool,
    trust_config: bool,
) -> int:
    """Every check that can fail comes before the first line printed: an error is the one line."""
    from dialectic.batch.driver import SweepOptions, SweepRunner
    from dialectic.batch.progress import SweepProgress
    from dialectic.batch.state import open_state
    from dialectic.batch.sweep import load_sweep
    from dialectic.report.inert import terminal_line
    from dialectic.runner import store as stores
    from dialectic.runner.interrupts import graceful_interrupts

    if max_cost is not None and max_cost <= 0:
        raise InputError(f"--max-cost must be more than 0 (got {max_cost:g})")
    url = stores.db_url(db)
    if ray is not None and not stores.is_postgres(url):
        raise InputError(
            "--ray needs a store every worker can reach: --db postgresql://… (a SQLite file is on this machine only)"
        )
    backend = _backend(ray, parallel)
    sweep = load_sweep(sweep_file, offline=offline, trust_config=trust_config)
    _check_keys(sweep, keys_here=ray is None)
    folder = Path(out) if out else sweep_file.resolve().parent / f"{sweep.name}-results"
    options = SweepOptions(
        db=url,
        out=folder,
        parallel=parallel,
        offline=offline,
        trust_config=trust_config,
        max_cost=max_cost if max_cost is not None else sweep.max_cost,
        verbose=verbose,
    )
    with open_state(url, sweep.name) as state, backend.session():
        runner = SweepRunner(sweep, options, backend, state)
        for warning in sweep.warnings:
            console.print(terminal_line(f"warning: {warning}"))
        jobs = len(sweep.problems) * len(sweep.arms) * sweep.repeats
        progress = SweepProgress(console, jobs)

        def abort() -> None:
            progress.close()
            console.print("stopped. rerun the same command to continue")

        try:
            with graceful_interrupts(console.print, abort) as control:
                backend.control = control
                progress.say(  # (Ctrl-C is handled from here on)
                    f"sweep {sweep.name}: {len(sweep.problems)} problem(s) × {len(sweep.arms)} arm(s) × "
                    f"{sweep.repeats} repeat(s) = {jobs} job(s) · store {stores.redact(url)} · results {folder}"
                )
                result = runner.run(progress, control)
        finally:
            progress.close()
    console.print(terminal_line(f"sweep {sweep.name}: {result.message}"))
    summary = next((path for path in result.files if path.name == "summary.md"), None)
    if summary is not None:
        console.print(terminal_line(f"summary {summary} · table {folder / 'results.csv'}"))
    return int(result.exit_code)


def _check_keys(sweep: Sweep, *, keys_here: bool) -> None:
    """Every key the sweep needs, before any call (exit 4, as a debate): the evaluators', which
    run here, and the debates' when they run here too (Ray workers have their own environment)."""
    from dialectic.providers.factory import check_keys
    from dialectic.runner.run import check_providers

    if keys_here:
        for arm in sweep.arms:
            check_providers(arm.settings)
    if sweep.evaluator_agents:
        check_keys(sweep.evaluator_agents)


def split_ray_address(first: str, second: str | None, ray: bool) -> tuple[str, str | None]:
    """The sweep file and the Ray address (None: no Ray; "": Ray's default) from the command's
    words: ``--ray`` is a flag whose address, if given, is the other word, before or after the
    sweep file. The sweep file is the word that names a file, or ends as one (.yaml, .yml,
    .json); an address (``auto``, ``ray://…``, ``host:port``) does neither."""
    if not ray:
        if second is not None:
            raise InputError(
                f"unexpected argument {second!r}: give one sweep file (a Ray address needs --ray)"
            )
        return first, None
    if second is None:
        return first, ""  # Ray's default: RAY_ADDRESS, a cluster running here, else a new local one
    if _names_a_sweep(second) and not _names_a_sweep(first):
        return second, first
    return first, second


def _names_a_sweep(word: str) -> bool:
    return Path(word).is_file() or Path(word).suffix.lower() in SWEEP_SUFFIXES


def _backend(ray: str | None, parallel: int) -> Backend:
    if ray is None:
        from dialectic.batch.local import LocalBackend

        return LocalBackend(parallel)
    from dialectic.batch.ray_backend import RayBackend

    return RayBackend(ray or None)  # Ray missing: one line (ConfigError), before anything runs
