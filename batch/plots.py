"""The sweep's plots, PNG and SVG (matplotlib, Agg: no display): score by arm with its spread
over repeats; score against cost per debate; win rate against the baseline by arm; evaluator
agreement. A plot with nothing to show (no scores yet, one evaluator) is not drawn, and the
summary says why; without matplotlib (the batch extra), no plots and a note in the summary."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dialectic.batch.results import Results

FORMATS = ("png", "svg")


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def draw(results: Results, out: Path) -> list[Path]:
    """The plots that have something to show, written to ``out``; those that have not are
    removed from there (an earlier run's would be stale)."""
    if not available():
        return []
    written: list[Path] = []
    for name, (painter, lacking) in PLOTS.items():
        if lacking(results) is None:
            import matplotlib

            matplotlib.use("Agg")
            written += _save(name, painter, results, out)
        else:
            for fmt in FORMATS:
                (out / f"{name}.{fmt}").unlink(missing_ok=True)
    return written


def not_drawn(results: Results) -> dict[str, str]:
    """Each plot with nothing to show, and why."""
    return {name: why for name, (_, lacking) in PLOTS.items() if (why := lacking(results)) is not None}


def _save(name: str, painter: Callable[[Any, Results], None], results: Results, out: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    try:
        painter(axes, results)
        figure.tight_layout()
        paths = [out / f"{name}.{fmt}" for fmt in FORMATS]
        for path in paths:
            figure.savefig(path, metadata={"Date": None} if path.suffix == ".svg" else None)
        return paths
    finally:
        plt.close(figure)


def _scored(results: Results) -> list[dict[str, Any]]:
    return [row for row in results.jobs if row["score_overall_score"] is not None]


def _arm_label(row: dict[str, Any]) -> str:
    return f"{row['arm']} (vs {row['versus']})" if row["versus"] else row["arm"]


def _labels(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(_arm_label(row) for row in rows))


def _unscored(results: Results) -> str | None:
    return None if _scored(results) else "no scores (the sweep has no evaluator, or nothing finished)"


def _uncompared(results: Results) -> str | None:
    return None if results.comparisons else "no comparison with a baseline"


def _no_agreement(results: Results) -> str | None:
    if not results.evaluators:
        return _unscored(results)
    if len(results.evaluators) < 2:
        return "one evaluator: no agreement to show (give the evaluator config two)"
    return None if _agreement_points(results) else "no debate scored by two evaluators"


def score_by_arm(axes: Any, results: Results) -> None:
    rows = _scored(results)
    labels = _labels(rows)
    for index, label in enumerate(labels):
        scores = [row["score_overall_score"] for row in rows if _arm_label(row) == label]
        axes.scatter([index] * len(scores), scores, alpha=0.5, color="tab:blue")
        spread = statistics.stdev(scores) if len(scores) > 1 else 0.0
        axes.errorbar(index, statistics.fmean(scores), yerr=spread, fmt="o", color="black", capsize=6)
    axes.set_xticks(range(len(labels)), labels, rotation=15)
    axes.set_ylabel("overall score (mean ± SD over repeats and problems)")
    axes.set_ylim(0, 10.5)
    axes.set_title("Score by arm")


def score_vs_cost(axes: Any, results: Results) -> None:
    rows = _scored(results)
    priced = any(row["cost_usd"] for row in rows)
    key, unit = (
        ("cost_usd", "cost per debate (USD)") if priced else ("tokens", "tokens per debate (no prices known)")
    )
    for label in _labels(rows):
        mine = [row for row in rows if _arm_label(row) == label]
        axes.scatter(
            [row[key] for row in mine], [row["score_overall_score"] for row in mine], label=label, alpha=0.7
        )
    axes.set_xlabel(unit)
    axes.set_ylabel("overall score")
    axes.set_ylim(0, 10.5)
    axes.legend(fontsize="small")
    axes.set_title("Score against cost")


def win_rate(axes: Any, results: Results) -> None:
    rows = results.comparisons
    labels = list(dict.fromkeys(f"{row['arm']} vs {row['baseline_arm']}" for row in rows))
    bottoms = [0.0] * len(labels)
    for result, color in (("win", "tab:green"), ("tie", "tab:gray"), ("loss", "tab:red")):
        shares = []
        for label in labels:
            mine = [row for row in rows if f"{row['arm']} vs {row['baseline_arm']}" == label]
            shares.append(sum(row["result"] == result for row in mine) / len(mine))
        axes.bar(labels, shares, bottom=bottoms, color=color, label=result)
        bottoms = [b + s for b, s in zip(bottoms, shares, strict=True)]
    axes.set_ylabel("share of compared debates")
    axes.set_ylim(0, 1)
    axes.legend(fontsize="small")
    axes.set_title("Debate against the compute-matched baseline")


def _agreement_points(results: Results) -> list[tuple[float, float]]:
    """The first two evaluators' overall scores of each debate both scored."""
    first, second = results.evaluators[:2]
    points = [
        (row["scores_by_evaluator"].get(first), row["scores_by_evaluator"].get(second))
        for row in results.jobs
    ]
    return [(a, b) for a, b in points if a is not None and b is not None]


def evaluator_agreement(axes: Any, results: Results) -> None:
    first, second = results.evaluators[:2]
    pairs = _agreement_points(results)
    axes.scatter([a for a, _ in pairs], [b for _, b in pairs], alpha=0.7)
    axes.plot([1, 10], [1, 10], color="gray", linestyle="--", linewidth=1)
    axes.set_xlim(0, 10.5)
    axes.set_ylim(0, 10.5)
    axes.set_xlabel(f"{first}: overall score")
    axes.set_ylabel(f"{second}: overall score")
    agree = sum(abs(a - b) <= 1 for a, b in pairs)
    axes.set_title(f"Evaluator agreement ({agree}/{len(pairs)} debates within 1 point)")


# name: (painter, why it has nothing to show, or None)
PLOTS: dict[str, tuple[Callable[[Any, Results], None], Callable[[Results], str | None]]] = {
    "score_by_arm": (score_by_arm, _unscored),
    "score_vs_cost": (score_vs_cost, _unscored),
    "win_rate": (win_rate, _uncompared),
    "evaluator_agreement": (evaluator_agreement, _no_agreement),
}
