"""What a sweep keeps across its reruns, in this process (a scripted backend, scoring replaced
where no evaluator call is needed): the spend of evaluations that failed after paying for calls,
of every earlier score when a changed evaluator rescores, and a reader's verdict on a baseline
whose JSON a rerun saves again."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from tests.batch.offline_sweep import Scripted, every_job, run_here, write_sweep


def _spent(sweep_file: Path) -> tuple[float, float]:
    """What the sweep's store says its scores and its comparisons spent."""
    from dialectic.batch.driver import spent
    from dialectic.batch.state import open_state

    with open_state(str(sweep_file.parent / "debates" / "dialectic.sqlite"), "panels") as state:
        return spent(state.all("scores")), spent(state.all("comparisons"))


def _overall_scores(folder: Path) -> set[str]:
    with (folder / "out" / "results.csv").open(newline="") as handle:
        return {row["score_overall_score"] for row in csv.DictReader(handle)}


def test_failed_evaluations_are_recorded_as_spent_and_tried_again(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialectic.batch import scoring
    from dialectic.errors import ExitCode
    from dialectic.evaluation.spend import EvaluationFailed

    sweep = write_sweep(isolated, problems=1, repeats=1)
    tried: list[str] = []

    def fails(cost: float) -> Any:
        def evaluation(evaluator: Path, json_path: str, *more: str, **options: Any) -> dict[str, Any]:
            tried.append(json_path)
            raise EvaluationFailed("no evaluator gave a verdict in both orders", cost_usd=cost)

        return evaluation

    monkeypatch.setattr(scoring, "score", fails(0.02))
    monkeypatch.setattr(scoring, "compare", fails(0.01))
    first = run_here(sweep, Scripted(every_job(cost=0.0)), parallel=1)
    assert first.exit_code == ExitCode.OK, first.message  # a failed evaluation is a warning
    assert len(tried) == 6  # 4 scores, 2 comparisons
    assert _spent(sweep) == pytest.approx((0.08, 0.02))
    assert (isolated / "out" / "comparisons.csv").read_text().count("\n") == 1  # the header: no result
    run_here(sweep, Scripted(every_job(cost=0.0)), parallel=1)
    assert len(tried) == 12  # nothing was scored: all tried again
    assert _spent(sweep) == pytest.approx((0.16, 0.04))


def test_a_rescore_adds_its_spend_to_the_earlier_scores(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dialectic.batch import scoring
    from dialectic.evaluation.spend import EvaluationFailed

    sweep = write_sweep(isolated, problems=1, repeats=1)

    def scores(overall: float, cost: float) -> None:
        by_evaluator = {"eval-1": overall, "eval-2": overall}
        score = {
            "metrics": {"overall_score": overall},
            "overall": overall,
            "by_evaluator": by_evaluator,
            "cost": cost,
        }
        verdicts = {"a_wins": 1, "b_wins": 0, "ties": 0, "contradictions": 0, "pairs": 1, "result": "win"}
        monkeypatch.setattr(scoring, "score", lambda *args, **options: score)
        monkeypatch.setattr(scoring, "compare", lambda *args, **options: {**verdicts, "cost": cost})

    def change_the_evaluator(name: str) -> None:
        config = json.loads((isolated / "eval.json").read_text())
        config["agents"][0]["name"] = name
        (isolated / "eval.json").write_text(json.dumps(config))

    scores(5.0, 0.02)
    run_here(sweep, Scripted(every_job(cost=0.0)), parallel=1)
    assert _spent(sweep) == pytest.approx((0.08, 0.04))
    change_the_evaluator("Stricter")
    scores(7.0, 0.005)
    run_here(sweep, Scripted(every_job(cost=0.0)), parallel=1)
    assert _spent(sweep) == pytest.approx((0.1, 0.05))  # never less than before
    assert _overall_scores(isolated) == {"7.0"}  # the table shows the new scores
    # A rescore that fails spends too, and keeps the scores it could not replace.
    change_the_evaluator("Strictest")

    def fails(*args: Any, **options: Any) -> dict[str, Any]:
        raise EvaluationFailed("all 2 evaluator call(s) failed", cost_usd=0.001)

    monkeypatch.setattr(scoring, "score", fails)
    monkeypatch.setattr(scoring, "compare", fails)
    run_here(sweep, Scripted(every_job(cost=0.0)), parallel=1)
    assert _spent(sweep) == pytest.approx((0.104, 0.052))
    assert _overall_scores(isolated) == {"7.0"}


def test_a_verdict_on_a_baseline_outlives_a_rerun_that_saves_its_json(isolated: Path) -> None:
    from dialectic.batch.baseline import run_baseline
    from dialectic.batch.sweep import load_sweep
    from dialectic.runner.feedback import set_feedback

    sweep = load_sweep(write_sweep(isolated, problems=1, repeats=1, evaluator=False), offline=True)
    job = sweep.job(sweep.problems[0], sweep.baseline_arms[0], 1, 4000)
    db = str(isolated / "debates" / "dialectic.sqlite")
    first = run_baseline(job, db)
    assert first.status == "completed", first.error
    path = set_feedback(job.debate_id, -1)
    again = run_baseline(job, db)  # finished: only read back, and its JSON saved again
    assert again.status == "completed" and Path(again.json_path).resolve() == path.resolve()
    saved = json.loads(path.read_text())
    assert saved["userFeedback"] == -1 and saved["status"] == "completed"
