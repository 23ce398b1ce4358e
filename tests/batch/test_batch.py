"""`dialectic batch`, offline. Through the installed command (the tests' CLI fork server, but
where a test signals the process): the issue's sweep (2 problems × 3 arms, one the baseline,
× 2 repeats) produces the table, the summary and the plots, with win/loss counts that are the
pairwise comparisons'; its rerun, moved, makes no call; changing an arm after it ran is refused;
kill -9 then rerun re-runs no finished debate and repeats no finished call; Ctrl-C stops
cleanly; the batch budget stops it, rerun too; bad sweeps and missing keys are one line and the
config exit code. In this process (SweepRunner; a scripted backend where no debate is needed):
the budget across reruns, ids two sweeps never share, a thread never resumed as another job's,
a debate's spend kept, no evaluation after Ctrl-C, what a sweep's paths may read."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.batch.offline_sweep import Scripted, every_job, run_here, write_sweep

EVALUATIONS = 2 * 16 + 2 * 2 * 8  # 2 evaluators score 16 jobs; compare 8 debates in both orders


def _exe() -> str:
    return str(Path(sys.executable).parent / "dialectic")


def _env(log: Path, latency_ms: int = 0, **more: str) -> dict[str, str]:
    """This test's environment (``isolated``'s), with the offline model's call log."""
    return {
        **os.environ,
        "DIALECTIC_OFFLINE_CALL_LOG": str(log),
        "DIALECTIC_OFFLINE_LATENCY_MS": str(latency_ms),
        "COLUMNS": "200",
        **more,
    }


@dataclass
class Ran:
    code: int
    stderr: str


def _batch(fork_server: Any, folder: Path, *args: str, **env: str) -> Ran:
    """``dialectic batch sweep.yaml --offline ARGS`` in ``folder``, through the tests' CLI fork
    server when there is one (no import paid per command)."""
    command = ["batch", "sweep.yaml", "--offline", *args]
    full_env = _env(folder / "calls.jsonl", **env)
    if fork_server is not None:
        done = fork_server.run(command, folder, full_env, "", 300)
        assert done.stdout == ""
        return Ran(done.code, done.stderr)
    ran = subprocess.run(
        [_exe(), *command], cwd=folder, env=full_env, text=True, capture_output=True, timeout=300
    )
    assert ran.stdout == ""
    return Ran(ran.returncode, ran.stderr)


def _start(folder: Path, latency_ms: int) -> subprocess.Popen[str]:
    """The batch as a process of its own, to signal: its progress lines readable as they come."""
    return subprocess.Popen(
        [_exe(), "batch", "sweep.yaml", "--offline", "--parallel", "2"],
        cwd=folder,
        env=_env(folder / "calls.jsonl", latency_ms),
        text=True,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )


def _calls(folder: Path) -> list[dict[str, Any]]:
    log = folder / "calls.jsonl"
    events = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [event for event in events if event["event"] == "end"]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _kept_calls(folder: Path, rows: list[dict[str, str]]) -> int:
    """The calls the jobs' debate JSON files account for (their usage)."""
    return sum(json.loads((folder / row["json_path"]).read_text())["usage"]["total"]["calls"] for row in rows)


def _summary_counts(summary: str) -> dict[str, tuple[int, int, int]]:
    """Arm -> (wins, losses, ties) from the summary's comparison table."""
    section = summary.split("## Against the compute-matched baseline", 1)[1].split("## Plots", 1)[0]
    counts = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 9 and cells[2].isdigit():
            counts[cells[0]] = (int(cells[3]), int(cells[4]), int(cells[5]))
    return counts


# --- the sweep ------------------------------------------------------------------------------


def test_the_sweep_writes_table_summary_and_plots_its_rerun_makes_no_call_and_an_arm_cannot_change(
    isolated: Path, cli_fork_server: Any
) -> None:
    """One test, not several sharing a module's sweep: pytest-xdist would run it once per worker
    (its xdist_group does not group on this pytest), and the sweep is most of the time."""
    write_sweep(isolated / "here")
    done = _batch(cli_fork_server, isolated / "here", "--parallel", "4")
    assert done.code == 0, done.stderr
    assert "Traceback" not in done.stderr
    _check_outputs(isolated / "here")
    _check_win_loss_counts(isolated / "here")
    _check_a_baseline_is_named_as_such(isolated / "here", cli_fork_server)
    # Moved (or another checkout sharing the store): the same sweep, its jobs done.
    moved = (isolated / "here").rename(isolated / "there")
    _check_rerun_makes_no_call(moved, cli_fork_server)
    _check_a_changed_arm_is_refused(moved, cli_fork_server)


def _check_outputs(folder: Path) -> None:
    out = folder / "panels-results"
    rows = _rows(out / "results.csv")
    # 2 problems × (2 debate arms + the baseline matched to each) × 2 repeats
    assert len(rows) == 16
    assert Counter((row["arm"], row["versus"]) for row in rows) == {
        ("pair", ""): 4,
        ("trio-batched", ""): 4,
        ("self-refine", "pair"): 4,
        ("self-refine", "trio-batched"): 4,
    }
    assert {row["status"] for row in rows} == {"completed"}
    for row in rows:
        assert 1 <= float(row["score_overall_score"]) <= 10
        assert (folder / row["json_path"]).is_file()
        assert set(dict(p.split("=") for p in row["scores_by_evaluator"].split(";"))) == {"eval-1", "eval-2"}
    # Every baseline stayed within its budget: the median tokens of its arm's debates on its problem.
    for row in rows:
        if row["versus"]:
            matched = [
                int(r["tokens"]) for r in rows if r["arm"] == row["versus"] and r["problem"] == row["problem"]
            ]
            assert 0 < int(row["tokens"]) <= sorted(matched)[len(matched) // 2]
    baseline = json.loads(
        (folder / "debates" / "panels.rate-limiter.self-refine-vs-pair.r1.json").read_text()
    )
    assert baseline["finalSolution"]["description"].strip()
    assert [c["type"] for c in baseline["rounds"][0]["contributions"]] == [
        "proposal",
        "critique",
        "refinement",
    ]
    summary = (out / "summary.md").read_text()
    for name in ("score_by_arm", "score_vs_cost", "win_rate", "evaluator_agreement"):
        assert (out / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert b"<svg" in (out / f"{name}.svg").read_bytes()
        assert f"({name}.png)" in summary
    assert "not drawn" not in summary
    try:
        import pandas
        import pyarrow  # noqa: F401
    except ImportError:
        assert not (out / "results.parquet").exists()
    else:
        assert len(pandas.read_parquet(out / "results.parquet")) == 16


def _check_win_loss_counts(folder: Path) -> None:
    from dialectic.runner.evaluation import compare_debates

    out = folder / "panels-results"
    comparisons = _rows(out / "comparisons.csv")
    assert len(comparisons) == 8  # each debate against its own baseline
    expected: dict[str, list[int]] = {}
    for row in comparisons:
        # The same comparison made again, directly: the debate is A, its baseline B.
        again = compare_debates(
            folder / "eval.json",
            folder / "debates" / f"{row['debate_id']}.json",
            folder / "debates" / f"{row['baseline_id']}.json",
            offline=True,
        ).tally
        assert (int(row["debate_wins"]), int(row["baseline_wins"]), int(row["ties"])) == (
            again.a_wins,
            again.b_wins,
            again.ties,
        )
        assert row["result"] == {"A": "win", "B": "loss", "tie": "tie"}[again.winner]
        counts = expected.setdefault(row["arm"], [0, 0, 0])
        counts[("win", "loss", "tie").index(row["result"])] += 1
    assert _summary_counts((out / "summary.md").read_text()) == {arm: tuple(c) for arm, c in expected.items()}


def _check_a_baseline_is_named_as_such(folder: Path, fork_server: Any) -> None:
    """`dialectic show` of a baseline's id says what it is and where to read it."""
    rows = _rows(folder / "panels-results" / "results.csv")
    baseline = next(row["debate_id"] for row in rows if row["versus"])
    env = _env(folder / "show.jsonl")
    if fork_server is not None:
        shown = fork_server.run(["show", baseline], folder, env, "", 120)
        code, stderr = shown.code, shown.stderr
    else:
        ran = subprocess.run([_exe(), "show", baseline], cwd=folder, env=env, text=True, capture_output=True)
        code, stderr = ran.returncode, ran.stderr
    assert code == 2, stderr
    assert stderr.splitlines() == [
        f"error: {baseline!r} is the self-refine baseline of a `dialectic batch` sweep, not a debate: read its "
        f"JSON (debates/{baseline}.json); rerun the sweep to continue it"
    ]


def _check_rerun_makes_no_call(folder: Path, fork_server: Any) -> None:
    made = len(_calls(folder))
    rows = _rows(folder / "panels-results" / "results.csv")
    assert made == _kept_calls(folder, rows) + EVALUATIONS  # each call: one a job keeps, or an evaluation
    table = (folder / "panels-results" / "results.csv").read_text()
    again = _batch(fork_server, folder)
    assert again.code == 0, again.stderr
    assert len(_calls(folder)) == made
    assert (folder / "panels-results" / "results.csv").read_text() == table
    assert "16 job(s) finished" in again.stderr


def _check_a_changed_arm_is_refused(folder: Path, fork_server: Any) -> None:
    """A job's record says what it was made from: the same name with another config is not the
    same job (neither resumed nor reused); the sweep says so before any output."""
    sweep = folder / "sweep.yaml"
    sweep.write_text(sweep.read_text().replace("    agents: [architect, kiss]\n", "    rounds: 2\n"))
    made, table = len(_calls(folder)), (folder / "panels-results" / "results.csv").read_text()
    refused = _batch(fork_server, folder)
    assert refused.code == 4, refused.stderr
    assert refused.stderr.splitlines() == [
        "error: sweep panels: panels.rate-limiter.pair.r1 already ran in this store with another config or "
        "problem text; rename arm 'pair' or the sweep (name:), or use another --db"
    ]
    assert len(_calls(folder)) == made
    assert (folder / "panels-results" / "results.csv").read_text() == table


# --- stopping and resuming ----------------------------------------------------------------------


def test_kill_9_then_rerun_reruns_no_finished_debate_and_repeats_no_finished_call(
    isolated: Path, cli_fork_server: Any
) -> None:
    from dialectic.runner.catalog import show_debate

    write_sweep(isolated, problems=1, evaluator=False)
    store = str(isolated / "debates" / "dialectic.sqlite")
    # Each call takes 100 ms: the kill lands while the other two debates are mid-way.
    process = _start(isolated, latency_ms=100)
    assert process.stderr is not None
    finished: list[str] = []
    while len(finished) < 2:  # synchronised on the progress lines: two debates are finished
        line = process.stderr.readline()
        assert line, "the batch ended before two debates finished"
        if line.startswith("[") and ": completed" in line:
            finished.append(line.split("] ", 1)[1].split(":", 1)[0])
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    before = {key: (isolated / "debates" / f"{key}.json").stat().st_mtime_ns for key in finished}
    debates = {path.stem for path in (isolated / "debates").glob("*.json")}
    # Calls in flight at the kill: those of the steps the unfinished debates were in.
    flying = sum(show_debate(store, key).pending_calls for key in debates - set(finished))
    assert not any(".self-refine-" in key for key in debates)  # killed among the debates

    rerun = _batch(cli_fork_server, isolated)
    assert rerun.code == 0, rerun.stderr
    assert "Traceback" not in rerun.stderr
    for key, mtime in before.items():  # finished debates were skipped, not even read back
        assert (isolated / "debates" / f"{key}.json").stat().st_mtime_ns == mtime
        assert f"] {key}:" not in rerun.stderr
    rows = _rows(isolated / "panels-results" / "results.csv")
    assert len(rows) == 8 and {row["status"] for row in rows} == {"completed"}
    # Every call made, over both runs, is one a finished job keeps (its usage), plus at most the
    # calls in flight at the kill.
    kept, made = _kept_calls(isolated, rows), len(_calls(isolated))
    assert kept <= made <= kept + flying, (made, kept, flying)


def test_ctrl_c_stops_cleanly_and_the_rerun_repeats_no_call(isolated: Path, cli_fork_server: Any) -> None:
    write_sweep(isolated, repeats=1, problems=1, evaluator=False)
    log = isolated / "calls.jsonl"
    process = _start(isolated, latency_ms=100)
    assert process.stderr is not None
    assert process.stderr.readline().startswith("sweep panels:")  # the Ctrl-C handler is in
    deadline = time.monotonic() + 60
    while not _calls(isolated):  # a first call has finished: the debates are under way
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    rest = process.stderr.read()
    process.stderr.close()
    assert process.wait(timeout=60) == 130, rest
    assert "Traceback" not in rest
    assert "rerun the same command to continue" in rest
    events = [json.loads(line) for line in log.read_text().splitlines()]
    mine = [e for e in events if e["pid"] == process.pid]
    # The calls in flight were let finish (and saved) before it exited.
    assert sum(e["event"] == "start" for e in mine) == sum(e["event"] == "end" for e in mine)
    interrupted = [
        p
        for p in (isolated / "debates").glob("*.json")
        if json.loads(p.read_text())["status"] == "interrupted"
    ]
    assert interrupted

    rerun = _batch(cli_fork_server, isolated)
    assert rerun.code == 0, rerun.stderr
    rows = _rows(isolated / "panels-results" / "results.csv")
    assert len(rows) == 4 and {row["status"] for row in rows} == {"completed"}
    assert len(_calls(isolated)) == _kept_calls(isolated, rows)  # nothing made twice


def test_a_failing_debate_is_recorded_and_the_sweep_goes_on(isolated: Path, cli_fork_server: Any) -> None:
    write_sweep(isolated, repeats=1, problems=1, evaluator=False)
    failing = _batch(cli_fork_server, isolated, DIALECTIC_OFFLINE_FAIL="judge:synthesize:401")
    assert failing.code == 3, failing.stderr
    assert "2 job(s) did not finish" in failing.stderr and "rerun the same command" in failing.stderr
    rows = _rows(isolated / "panels-results" / "results.csv")
    assert [row["status"] for row in rows] == ["failed"] * 2  # every debate ran; no baseline without one
    assert all("HTTP 401" in row["error"] for row in rows)
    summary = (isolated / "panels-results" / "summary.md").read_text()
    assert "## Not finished" in summary
    # Nothing scored: no plot drawn, and the summary says why.
    assert "- Score by arm: not drawn, no scores" in summary
    assert not list((isolated / "panels-results").glob("*.png"))
    made = len(_calls(isolated))

    rerun = _batch(cli_fork_server, isolated)
    assert rerun.code == 0, rerun.stderr
    rows = _rows(isolated / "panels-results" / "results.csv")
    assert len(rows) == 4 and {row["status"] for row in rows} == {"completed"}
    calls = _calls(isolated)[made:]
    # The debates resumed at their synthesis: only the judge's calls were made again for them.
    assert sum(call["phase"] == "synthesize" for call in calls) == 2
    assert not [call for call in calls if call["agent"] in ("kiss", "security")]


# --- the budget ---------------------------------------------------------------------------------


def test_max_cost_stops_starting_jobs_and_its_rerun_starts_none(isolated: Path, cli_fork_server: Any) -> None:
    write_sweep(
        isolated,
        price={"inputPerMillion": 1000.0, "outputPerMillion": 1000.0},
        repeats=1,
        problems=1,
        evaluator=False,
    )
    for _ in range(2):  # the run that spends it, then the same command again
        done = _batch(cli_fork_server, isolated, "--parallel", "1", "--max-cost", "0.01")
        assert done.code == 5, done.stderr
        assert "budget of $0.01 is spent" in done.stderr
        assert "rerun with a higher --max-cost" in done.stderr
        rows = _rows(isolated / "panels-results" / "results.csv")
        assert len(rows) == 1  # the first debate spent it; nothing else started
        assert float(rows[0]["cost_usd"]) > 0.01
        assert len(_calls(isolated)) == _kept_calls(isolated, rows)


def test_a_rerun_past_the_budget_starts_no_job(isolated: Path) -> None:
    from dialectic.errors import ExitCode

    sweep = write_sweep(isolated, problems=1, evaluator=False)
    first = Scripted(every_job(cost=0.02))
    assert run_here(sweep, first, max_cost=0.03).exit_code == ExitCode.PAUSED
    assert len(first.ran) == 2  # the second spent it
    again = Scripted(every_job(cost=0.02))
    result = run_here(sweep, again, max_cost=0.03)
    assert result.exit_code == ExitCode.PAUSED and "budget of $0.03 is spent ($0.0400)" in result.message
    assert again.ran == []
    more = Scripted(every_job(cost=0.02))
    run_here(sweep, more, max_cost=0.05)  # a higher cap: one more job
    assert len(more.ran) == 1


@pytest.mark.parametrize("usable", [True, False], ids=["scored", "every-reply-unusable"])
def test_evaluations_are_spent_from_the_batch_budget(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, usable: bool
) -> None:
    from dialectic.batch import scoring
    from dialectic.errors import ExitCode
    from dialectic.evaluation.spend import EvaluationFailed

    sweep = write_sweep(isolated, problems=1, repeats=1)
    scored: list[str] = []

    def score(evaluator: Path, json_path: str, **options: Any) -> dict[str, Any]:
        scored.append(json_path)
        if not usable:  # every reply paid for, none parsed
            raise EvaluationFailed("all 2 evaluator call(s) failed", cost_usd=0.02)
        return {"metrics": {}, "overall": 5.0, "by_evaluator": {}, "cost": 0.02}

    monkeypatch.setattr(scoring, "score", score)
    monkeypatch.setattr(scoring, "compare", lambda *args, **options: pytest.fail("compared past the budget"))
    result = run_here(sweep, Scripted(every_job(cost=0.0)), max_cost=0.03, parallel=1)
    assert result.exit_code == ExitCode.PAUSED and "spent ($0.0400)" in result.message
    assert len(scored) == 2  # of 4 debates to score: the second spent it
    assert "0 job(s) and 4 evaluation(s) not run" in result.message  # 2 scores, 2 comparisons
    again = run_here(sweep, Scripted(every_job(cost=0.0)), max_cost=0.03, parallel=1)
    assert again.exit_code == ExitCode.PAUSED and len(scored) == 2  # earlier runs' scoring counts too
    left = 4 if usable else 6  # a failed score is to be made again
    assert f"0 job(s) and {left} evaluation(s) not run" in again.message


def test_a_sweep_whose_last_evaluation_reached_the_budget_is_done_and_stays_done(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialectic.batch import scoring
    from dialectic.errors import ExitCode

    sweep = write_sweep(isolated, problems=1, repeats=1)
    made: list[str] = []

    def score(evaluator: Path, json_path: str, **options: Any) -> dict[str, Any]:
        made.append(json_path)
        return {"metrics": {}, "overall": 5.0, "by_evaluator": {}, "cost": 0.01}

    def compare(evaluator: Path, debate: str, baseline: str, **options: Any) -> dict[str, Any]:
        made.append(debate)
        return {
            "a_wins": 1,
            "b_wins": 0,
            "ties": 0,
            "contradictions": 0,
            "pairs": 1,
            "result": "win",
            "cost": 0.01,
        }

    monkeypatch.setattr(scoring, "score", score)
    monkeypatch.setattr(scoring, "compare", compare)
    first = run_here(sweep, Scripted(every_job(cost=0.0)), max_cost=0.06, parallel=1)
    assert first.exit_code == ExitCode.OK, first.message
    assert len(made) == 6  # 4 scores, 2 comparisons: the last one reached the cap
    again = run_here(sweep, Scripted(every_job(cost=0.0)), max_cost=0.06, parallel=1)
    assert again.exit_code == ExitCode.OK, again.message  # nothing was left to stop
    assert len(made) == 6


def test_an_outcome_that_cannot_say_what_its_debate_spent_keeps_what_was_known(isolated: Path) -> None:
    sweep = write_sweep(isolated, problems=1, repeats=1, evaluator=False)
    run_here(sweep, Scripted(every_job(status="failed", cost=0.5, tokens=700)))
    run_here(sweep, Scripted(every_job(status="failed", cost=0.0, tokens=0)))  # e.g. its Ray worker lost
    rows = _rows(isolated / "out" / "results.csv")
    assert {(row["cost_usd"], row["tokens"]) for row in rows} == {("0.5", "700")}


def test_after_ctrl_c_no_evaluation_starts(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dialectic.batch import scoring
    from dialectic.errors import ExitCode

    sweep = write_sweep(isolated, problems=1, repeats=1)
    backend = Scripted(every_job())
    scored: list[str] = []

    def score(evaluator: Path, json_path: str, **options: Any) -> dict[str, Any]:
        scored.append(json_path)
        backend.control.request_drain("Ctrl-C")  # while the first evaluation runs
        return {"metrics": {}, "overall": 5.0, "by_evaluator": {}}

    monkeypatch.setattr(scoring, "score", score)
    monkeypatch.setattr(scoring, "compare", lambda *args, **options: pytest.fail("compared after Ctrl-C"))
    result = run_here(sweep, backend, parallel=1)
    assert result.exit_code == ExitCode.INTERRUPTED
    assert len(backend.ran) == 4 and len(scored) == 1  # 4 jobs to score, 2 comparisons: one started


def test_a_changed_baseline_is_refused_before_any_debate_runs(isolated: Path) -> None:
    from dialectic.batch.state import open_state
    from dialectic.batch.sweep import load_sweep
    from dialectic.errors import ConfigError

    path = write_sweep(isolated, problems=1, repeats=1, evaluator=False)
    baseline = next(job for job in load_sweep(path, offline=True).jobs() if job.baseline)
    with open_state(str(isolated / "debates" / "dialectic.sqlite"), "panels") as state:
        state.put("jobs", baseline.key, {"status": "completed", "fingerprint": "made-otherwise"})
    backend = Scripted(every_job())
    with pytest.raises(ConfigError, match=f"{baseline.key} already ran in this store with another config"):
        run_here(path, backend)
    assert backend.ran == []


def test_two_sweeps_sharing_a_store_never_share_a_debate(isolated: Path) -> None:
    """A debate's id names its sweep: another sweep's debate of the same problem and arm, made
    with other settings, is neither resumed nor read back as this one's."""
    write_sweep(isolated, problems=1, repeats=1, evaluator=False)
    for name, rounds in (("first", 1), ("second", 2)):
        (isolated / f"{name}.yaml").write_text(
            f"name: {name}\nproblems: [problems/]\nbase: base.json\narms: [{{name: pair, rounds: {rounds}}}]\n"
        )
        assert run_here(isolated / f"{name}.yaml").exit_code == 0
    for name, rounds in (("first", 1), ("second", 2)):
        record = json.loads((isolated / "debates" / f"{name}.rate-limiter.pair.r1.json").read_text())
        assert len(record["rounds"]) == rounds


@pytest.mark.parametrize("kind", ["debate", "baseline"])
def test_a_thread_made_from_other_inputs_is_never_resumed_as_a_job(isolated: Path, kind: str) -> None:
    """What a sweep's own records cannot tell (a sweep of the same name from another folder,
    killed before it recorded the job; a debate started with that --id): the thread itself,
    even one stopped before its first step (its problem only in its input)."""
    from langgraph.runtime import RunControl

    from dialectic.batch.jobs import run_job
    from dialectic.batch.sweep import load_sweep

    sweep = load_sweep(write_sweep(isolated, problems=1, repeats=1, evaluator=False), offline=True)
    job = next(job for job in sweep.jobs() if (job.baseline is None) == (kind == "debate"))
    db = str(isolated / "debates" / "dialectic.sqlite")
    drained = RunControl()
    drained.request_drain("Ctrl-C")  # as a kill at once: the thread has its input checkpoint only
    assert run_job(job, db, control=drained).status == "interrupted"
    other = run_job(replace(job, problem_text=job.problem_text + " It must be cheap."), db)
    assert other.status == "failed"
    assert other.error is not None and "was made from another problem or config" in other.error
    assert run_job(job, db).status == "completed"  # the job itself: resumed
    assert run_job(replace(job, problem_text="Design a queue."), db).status == "failed"


# --- the sweep file -------------------------------------------------------------------------------

BAD_SWEEPS = [
    ("problems: [p.md]\narms: [{name: a, rounds: 0}]\n", "arms[0].rounds"),
    ("problems: [p.md]\narms: [{name: a, colour: red}]\n", "colour"),
    ("problems: [p.md]\narms: [{name: b, baseline: self-refine}]\n", "at least one arm must be a debate"),
    ("problems: [p.md]\narms: [{name: a}, {name: a}]\n", "duplicate arm name 'a'"),
    (
        "problems: [p.md]\narms: [{name: a}, {name: b, baseline: self-refine, against: [c]}]\n",
        "'c' is not a debate arm",
    ),
    ("problems: [missing.md]\narms: [{name: a}]\n", "problem file not found"),
    ("problems: [../p.md]\narms: [{name: a}]\n", "outside"),
    ("problems: [p.md]\narms: [{name: a, critiqueMode: loud}]\n", "critiqueMode"),
    ("problems: [p.md]\narms: [{name: a, agents: [nobody]}]\n", "unknown role 'nobody'"),
    ("problems: [p.md]\nbase: nothere.json\narms: [{name: a}]\n", "config file not found"),
    ("- just a list\n", "the top level must be a mapping"),
    ("problems: [p.md]\nevaluator: bad-eval.json\narms: [{name: a}]\n", "evaluator config error"),
    (
        f"name: {'n' * 40}\nproblems: [p.md]\narms: [{{name: {'a' * 40}}}, {{name: {'b' * 40}, baseline: self-refine}}]\n",
        "is too long (130 characters, at most 100)",
    ),
]


def _bad_sweep(folder: Path, text: str) -> Path:
    (folder / "p.md").write_text("Design a queue.\n")
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "p.md").write_text("Design a queue.\n")
    (folder / "sub" / "bad-eval.json").write_text('{"agents": "eval-1"}')
    (folder / "sub" / "sweep.yaml").write_text(text)
    return folder / "sub" / "sweep.yaml"


@pytest.mark.parametrize(("sweep", "expected"), BAD_SWEEPS)
def test_bad_sweep_is_a_config_error_naming_what_is_wrong(isolated: Path, sweep: str, expected: str) -> None:
    from dialectic.batch.sweep import load_sweep
    from dialectic.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_sweep(_bad_sweep(isolated, sweep), offline=True)
    assert expected in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("sweep", "expected"), [BAD_SWEEPS[0], BAD_SWEEPS[6]])
def test_bad_sweep_is_one_line_and_exit_4(cli: Any, isolated: Path, sweep: str, expected: str) -> None:
    _bad_sweep(isolated, sweep)
    done = cli("batch", "sub/sweep.yaml", "--offline")
    assert done.code == 4, done.stderr
    assert expected in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_a_missing_key_is_one_line_before_any_debate(cli: Any, isolated: Path) -> None:
    write_sweep(isolated, problems=1, repeats=1)
    done = cli("batch", "sweep.yaml")
    assert done.code == 4, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "OPENAI_API_KEY" in done.stderr, done.stderr
    assert not (isolated / "debates").exists()


def test_a_problem_folder_is_read_as_its_files_would_be(isolated: Path) -> None:
    """A link in a problem folder that points out of the sweep's folder is refused, as the
    file named itself would be; hidden files are not problems."""
    from dialectic.batch.sweep import load_sweep
    from dialectic.errors import ConfigError

    path = write_sweep(isolated / "sweep", problems=1)
    (isolated / "sweep" / "problems" / ".draft.md").write_text("Not a problem.\n")
    assert [problem.slug for problem in load_sweep(path, offline=True).problems] == ["rate-limiter"]
    (isolated / "secret.md").write_text("a secret\n")
    (isolated / "sweep" / "problems" / "leak.md").symlink_to(isolated / "secret.md")
    with pytest.raises(ConfigError, match=r"problems\[0\]: 'problems/leak.md' resolves to .*, outside"):
        load_sweep(path, offline=True)


def test_a_path_an_arm_names_on_the_built_in_config_is_the_sweep_folders(isolated: Path) -> None:
    """Not the working directory's: a sweep from elsewhere reads nothing beside where it is run."""
    from dialectic.batch.sweep import load_sweep

    (isolated / "notes.md").write_text("my private notes\n")  # in the working directory
    (isolated / "sweep").mkdir()
    (isolated / "sweep" / "p.md").write_text("Design a queue.\n")
    path = isolated / "sweep" / "sweep.yaml"
    path.write_text("problems: [p.md]\narms: [{name: a, debate: {summarization: {promptPath: notes.md}}}]\n")
    sweep = load_sweep(path, offline=True)
    assert "my private notes" not in sweep.arms[0].settings.to_json()
    assert any(str(isolated / "sweep" / "notes.md") in warning for warning in sweep.warnings), sweep.warnings


def test_scores_are_made_again_when_an_evaluator_prompt_changes(isolated: Path) -> None:
    from dialectic.batch.sweep import load_sweep

    path = write_sweep(isolated, problems=1)
    config = json.loads((isolated / "eval.json").read_text())
    config["agents"][0]["userPromptPath"] = "user.md"
    (isolated / "eval.json").write_text(json.dumps(config))
    (isolated / "user.md").write_text("Score this: {final_solution}\n")
    before = load_sweep(path, offline=True).evaluator_print
    (isolated / "user.md").write_text("Score this strictly: {final_solution}\n")
    assert load_sweep(path, offline=True).evaluator_print != before


def test_arms_override_the_base_config(isolated: Path) -> None:
    from dialectic.batch.sweep import load_sweep

    path = write_sweep(isolated)
    path.write_text(
        path.read_text()
        + "  - name: tuned\n    rounds: 2\n    model: gpt-4.1\n    models: {kiss: gpt-4o}\n"
        + "    termination: {type: issues, severity: critical}\n    debate: {maxPromptTokens: 4000}\n"
    )
    sweep = load_sweep(path, offline=False)
    arms = {(arm.name, arm.versus): arm.settings for arm in sweep.arms}
    tuned = arms[("tuned", None)].config
    assert tuned.debate.rounds == 2 and tuned.debate.maxPromptTokens == 4000
    assert tuned.debate.terminationCondition.type == "issues"
    assert {a.id: a.model for a in tuned.agents} == {
        "architect": "gpt-4.1",
        "kiss": "gpt-4o",
        "security": "gpt-4.1",
    }
    assert tuned.judge.model == "gpt-4.1"
    assert [a.id for a in arms[("pair", None)].agents] == ["architect", "kiss"]
    assert arms[("trio-batched", None)].config.debate.critiqueMode == "batched"
    # the baseline writes with the first agent of the arm it is matched to, and nothing else
    assert [a.id for a in arms[("self-refine", "tuned")].agents] == ["architect"]
    assert arms[("self-refine", "tuned")].agents[0].model == "gpt-4.1"
    assert len(sweep.debate_jobs()) == 2 * 3 * 2
    assert len({job.key for job in sweep.debate_jobs()}) == 12


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (("sweep.yaml", None, False), ("sweep.yaml", None)),
        (("sweep.yaml", None, True), ("sweep.yaml", "")),
        (("sweep.yaml", "auto", True), ("sweep.yaml", "auto")),
        (("auto", "sweep.yaml", True), ("sweep.yaml", "auto")),
        (("ray://head:10001", "s.yml", True), ("s.yml", "ray://head:10001")),
        (("head:6379", "sweep.yaml", True), ("sweep.yaml", "head:6379")),
        (("sweep.yaml", "head:6379", True), ("sweep.yaml", "head:6379")),
    ],
)
def test_the_ray_address_is_the_word_that_is_not_the_sweep(
    words: tuple[str, str | None, bool], expected: tuple[str, str | None]
) -> None:
    from dialectic.batch.cli import split_ray_address

    assert split_ray_address(*words) == expected


def test_baseline_cycles_while_the_budget_lasts() -> None:
    from dialectic.batch.baseline import MAX_CYCLES, another_cycle
    from dialectic.debate.state import CallUsage, Contribution

    def usage(round_number: int, tokens: int, phase: str = "critique") -> CallUsage:
        return CallUsage(
            agent_id="a",
            phase=phase,
            round=round_number,
            model="m",
            provider="offline",
            input_tokens=tokens,
            output_tokens=0,
            latency_ms=0,
        )

    def made(kind: str, round_number: int) -> Contribution:
        return Contribution(
            round=round_number, agent_id="a", agent_role="r", type=kind, content="x", model="m", timestamp="t"
        )

    drafted = {
        "budget": 4000,
        "round": 1,
        "usage": [usage(1, 1000, "propose")],
        "contributions": [made("proposal", 1)],
    }
    assert another_cycle(drafted)  # 1,000 spent + a first cycle guessed at 3 drafts: 4,000
    assert not another_cycle({**drafted, "budget": 3999})
    cycled = {
        "budget": 5000,
        "round": 1,
        "usage": [usage(1, 1000, "propose"), usage(1, 1500), usage(1, 1500)],
        "contributions": [made("proposal", 1), made("critique", 1), made("refinement", 1)],
    }
    assert not another_cycle({**cycled, "budget": 6999})  # 4,000 spent; the last cycle took 3,000
    assert another_cycle({**cycled, "budget": 7000})
    capped = {
        "budget": 10**9,
        "round": MAX_CYCLES,
        "usage": [usage(1, 1)],
        "contributions": [made("refinement", n) for n in range(1, MAX_CYCLES + 1)],
    }
    assert not another_cycle(capped)
