"""Scoring a sweep's finished debates and comparing each with its baseline, through the
evaluator's own entry points (``score_debate``, ``compare_debates`` in both orders): what they
return is reduced to the plain values the batch keeps in its store and tabulates."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from dialectic.evaluation.metrics import METRICS
from dialectic.evaluation.parsing import read_score
from dialectic.runner.evaluation import EventHandler, compare_debates, score_debate

OVERALL = next(metric for metric in METRICS if metric.key == "overall_score")


def score(
    evaluator: Path,
    json_path: str,
    *,
    repeats: int,
    offline: bool,
    trust_config: bool,
    on_event: EventHandler,
) -> dict[str, Any]:
    """Every metric's mean, and each evaluator's own overall score (for their agreement)."""
    table = score_debate(
        evaluator,
        Path(json_path),
        repeats=repeats,
        offline=offline,
        on_event=on_event,
        trust_config=trust_config,
    )
    by_evaluator: dict[str, float | None] = {}
    for evaluator_id, replies in table.replies.items():
        found = [read_score(reply, OVERALL)[0] for reply in replies if reply is not None]
        numbers = [value for value in found if value is not None]
        by_evaluator[evaluator_id] = round(statistics.fmean(numbers), 2) if numbers else None
    return {
        "metrics": {key: stats.mean for key, stats in table.stats.items()},
        "overall": table.stats[OVERALL.key].mean,
        "by_evaluator": by_evaluator,
        "cost": table.cost_usd,
    }


def compare(
    evaluator: Path,
    debate_json: str,
    baseline_json: str,
    *,
    repeats: int,
    offline: bool,
    trust_config: bool,
    on_event: EventHandler,
) -> dict[str, Any]:
    """The debate (A) against its baseline (B): the tally of the verdicts that both orders agree
    on, and the debate's result: "win", "loss" or "tie"."""
    comparison = compare_debates(
        evaluator,
        Path(debate_json),
        Path(baseline_json),
        repeats=repeats,
        offline=offline,
        on_event=on_event,
        trust_config=trust_config,
    )
    tally = comparison.tally
    return {
        "a_wins": tally.a_wins,
        "b_wins": tally.b_wins,
        "ties": tally.ties,
        "contradictions": tally.contradictions,
        "pairs": tally.pairs,
        "result": {"A": "win", "B": "loss", "tie": "tie"}[tally.winner],
        "cost": comparison.cost_usd,
    }
