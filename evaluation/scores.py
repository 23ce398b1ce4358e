"""Aggregating scores across evaluators and repeated runs (spec §5, issue 6 §5).

Per metric: the mean of every valid score, rounded to 2 decimals (None when there is none);
the spread *across runs* (how far one evaluator disagrees with itself: the pooled sample
standard deviation of each evaluator's runs) and *across evaluators* (how far evaluators
disagree with each other: the sample standard deviation of their means). Either spread is None
when there are not two values to compare.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dialectic.evaluation.metrics import METRICS
from dialectic.evaluation.parsing import JsonObject, read_score


@dataclass(frozen=True)
class MetricStats:
    mean: float | None
    std_across_runs: float | None
    std_across_evaluators: float | None
    count: int  # valid scores behind the mean


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def metric_stats(per_evaluator: Mapping[str, Sequence[float]]) -> MetricStats:
    """Statistics of one metric from each evaluator's valid scores (one per successful run)."""
    groups = [list(scores) for scores in per_evaluator.values() if scores]
    every = [score for group in groups for score in group]
    if not every:
        return MetricStats(None, None, None, 0)
    variances = [statistics.variance(group) for group in groups if len(group) >= 2]
    across_runs = math.sqrt(statistics.fmean(variances)) if variances else None
    means = [statistics.fmean(group) for group in groups]
    across_evaluators = statistics.stdev(means) if len(means) >= 2 else None
    return MetricStats(
        _rounded(statistics.fmean(every)), _rounded(across_runs), _rounded(across_evaluators), len(every)
    )


def has_any_score(reply: Mapping[str, object]) -> bool:
    return any(read_score(reply, metric)[0] is not None for metric in METRICS)


def aggregate(
    replies: Mapping[str, Sequence[JsonObject | None]],
) -> tuple[dict[str, MetricStats], list[str]]:
    """Statistics per metric key from each evaluator's replies (None for a failed run), and the
    warnings for scores that were missing, not numbers, or clamped."""
    warnings: list[str] = []
    scores: dict[str, dict[str, list[float]]] = {metric.key: {} for metric in METRICS}
    multiple_runs = any(len(runs) > 1 for runs in replies.values())
    for evaluator_id, runs in replies.items():
        for run, reply in enumerate(runs, 1):
            if reply is None:
                continue
            for metric in METRICS:
                score, warning = read_score(reply, metric)
                if warning:
                    where = f"{evaluator_id} run {run}" if multiple_runs else evaluator_id
                    warnings.append(f"[{where}] {warning}")
                if score is not None:
                    scores[metric.key].setdefault(evaluator_id, []).append(score)
    return {key: metric_stats(per_evaluator) for key, per_evaluator in scores.items()}, warnings
