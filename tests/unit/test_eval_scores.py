"""Aggregation: means to 2 decimals, spreads across runs and evaluators, warnings, nulls."""

import math

from dialectic.evaluation.metrics import METRICS
from dialectic.evaluation.scores import MetricStats, aggregate, has_any_score, metric_stats


def reply(score=7, **overrides):
    """An evaluator reply with every metric at ``score``; overrides by metric key (None drops it)."""
    scores = {m.key: score for m in METRICS} | overrides

    def cell(key):
        return {"score": scores[key], "reasoning": "r"}

    nf = {m.key: cell(m.key) for m in METRICS if m.non_functional and scores[m.key] is not None}
    result = {"evaluation": {"non_functional": nf}, "overall_summary": {"strengths": "s", "weaknesses": "w"}}
    if scores["functional_completeness"] is not None:
        result["evaluation"]["functional_completeness"] = cell("functional_completeness")
    if scores["overall_score"] is not None:
        result["overall_summary"]["overall_score"] = scores["overall_score"]
    return result


def test_one_evaluator_one_run():
    assert metric_stats({"e1": [7]}) == MetricStats(7.0, None, None, 1)


def test_no_scores_is_null():
    assert metric_stats({}) == MetricStats(None, None, None, 0)
    assert metric_stats({"e1": [], "e2": []}) == MetricStats(None, None, None, 0)


def test_mean_is_rounded_to_two_decimals():
    assert metric_stats({"e1": [7], "e2": [8], "e3": [8]}).mean == 7.67
    assert metric_stats({"e1": [1], "e2": [2], "e3": [2]}).mean == 1.67


def test_spread_across_evaluators_is_the_sample_sd_of_their_means():
    stats = metric_stats({"e1": [6], "e2": [8]})
    assert stats.mean == 7.0
    assert stats.std_across_evaluators == round(math.sqrt(2), 2)
    assert stats.std_across_runs is None  # one run each: nothing to compare


def test_spread_across_runs_pools_each_evaluators_variance():
    # e1 varies (6, 8: variance 2), e2 does not (7, 7): pooled SD = sqrt((2 + 0) / 2) = 1.
    stats = metric_stats({"e1": [6, 8], "e2": [7, 7]})
    assert stats == MetricStats(7.0, 1.0, 0.0, 4)


def test_spread_ignores_evaluators_with_a_single_valid_run():
    stats = metric_stats({"e1": [4, 6, 8], "e2": [9]})
    assert stats.std_across_runs == 2.0
    assert stats.std_across_evaluators == round(math.sqrt(((6 - 7.5) ** 2 + (9 - 7.5) ** 2) / 1), 2)


def test_aggregate_averages_each_metric_across_evaluators():
    stats, warnings = aggregate({"e1": [reply(6)], "e2": [reply(9, security=3)]})
    assert warnings == []
    assert stats["functional_completeness"].mean == 7.5
    assert stats["security"].mean == 4.5
    assert stats["overall_score"].mean == 7.5
    assert set(stats) == {m.key for m in METRICS}


def test_aggregate_warns_and_ignores_missing_and_non_numeric_scores():
    stats, warnings = aggregate({"e1": [reply(6, security=None)], "e2": [reply(8, security="high")]})
    assert stats["security"] == MetricStats(None, None, None, 0)
    assert stats["testability"].mean == 7.0
    assert warnings == [
        "[e1] no score for evaluation.non_functional.security.score; ignored",
        '[e2] evaluation.non_functional.security.score is not a number ("high"); ignored',
    ]


def test_aggregate_clamps_with_a_warning():
    stats, warnings = aggregate({"e1": [reply(7, overall_score=15)], "e2": [reply(7, overall_score=-1)]})
    assert stats["overall_score"].mean == 5.5  # (10 + 1) / 2
    assert warnings == [
        "[e1] overall_summary.overall_score 15 is outside 1–10; clamped to 10",
        "[e2] overall_summary.overall_score -1 is outside 1–10; clamped to 1",
    ]


def test_aggregate_skips_failed_runs_and_names_runs_when_repeating():
    stats, warnings = aggregate({"e1": [reply(6), None, reply(8, testability=None)]})
    assert stats["functional_completeness"] == MetricStats(7.0, round(math.sqrt(2), 2), None, 2)
    assert stats["testability"].count == 1
    assert warnings == ["[e1 run 3] no score for evaluation.non_functional.testability.score; ignored"]


def test_has_any_score():
    assert has_any_score(reply(5))
    assert not has_any_score({"evaluation": {}, "overall_summary": {"overall_score": "n/a"}})
