"""summary.md: per arm, its debates' scores (mean and spread over repeats), tokens and cost;
per debate arm and baseline, how often the debate won, lost or tied, and what it cost relative
to the baseline; links to the plots and the tables."""

from __future__ import annotations

import statistics
from pathlib import Path

from dialectic.batch import plots
from dialectic.batch.jobs import FINISHED
from dialectic.batch.results import Results, ratio
from dialectic.batch.sweep import Sweep
from dialectic.evaluation.output import markdown_table
from dialectic.report.inert import markdown_line
from dialectic.transcript.files import write_atomic


def write(sweep: Sweep, results: Results, out: Path, figures: list[Path]) -> Path:
    path = out / "summary.md"
    write_atomic(path, render(sweep, results, figures))
    return path


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def arm_rows(results: Results) -> list[list[str]]:
    labels = list(dict.fromkeys((row["arm"], row["versus"]) for row in results.jobs))
    rows = []
    for arm, versus in labels:
        mine = [row for row in results.jobs if (row["arm"], row["versus"]) == (arm, versus)]
        done = [row for row in mine if row["status"] in FINISHED]
        scores = [row["score_overall_score"] for row in done if row["score_overall_score"] is not None]
        rows.append(
            [
                f"{arm} (baseline vs {versus})" if versus else arm,
                f"{len(done)}/{len(mine)}",
                _number(_mean(scores)),
                _number(statistics.stdev(scores) if len(scores) > 1 else None),
                f"{min(scores):.2f}–{max(scores):.2f}" if scores else "—",
                _number(_mean([row["tokens"] for row in done]), 0),
                _number(_mean([row["cost_usd"] for row in done]), 4),
            ]
        )
    return rows


def comparison_rows(results: Results) -> list[list[str]]:
    labels = list(dict.fromkeys((row["arm"], row["baseline_arm"]) for row in results.comparisons))
    rows = []
    for arm, baseline in labels:
        mine = [row for row in results.comparisons if (row["arm"], row["baseline_arm"]) == (arm, baseline)]
        counts = {result: sum(row["result"] == result for row in mine) for result in ("win", "loss", "tie")}
        cost = ratio(sum(r["debate_cost_usd"] for r in mine), sum(r["baseline_cost_usd"] for r in mine))
        tokens = ratio(sum(r["debate_tokens"] for r in mine), sum(r["baseline_tokens"] for r in mine))
        rows.append(
            [
                arm,
                baseline,
                str(len(mine)),
                str(counts["win"]),
                str(counts["loss"]),
                str(counts["tie"]),
                f"{counts['win'] / len(mine):.0%}",
                "—" if cost is None else f"{cost:.2f}×",
                "—" if tokens is None else f"{tokens:.2f}×",
            ]
        )
    return rows


def render(sweep: Sweep, results: Results, figures: list[Path]) -> str:
    lines = [
        f"# Sweep {sweep.name}",
        "",
        f"{len(sweep.problems)} problem(s) × {len(sweep.debate_arms)} debate arm(s)"
        f"{f' and {len(sweep.baseline_arms)} baseline(s)' if sweep.baseline_arms else ''} × {sweep.repeats} repeat(s). "
        "Scores are the evaluators' overall score (1–10); the spread is over repeats and problems.",
        "",
        "## Arms",
        "",
        markdown_table(
            [
                "Arm",
                "Finished",
                "Score (mean)",
                "Score (SD)",
                "Score (range)",
                "Tokens (mean)",
                "Cost USD (mean)",
            ],
            arm_rows(results),
        ),
    ]
    comparisons = comparison_rows(results)
    lines += ["", "## Against the compute-matched baseline", ""]
    if comparisons:
        lines += [
            "Each debate against its self-refine baseline (the same problem and repeat, the budget the median "
            "tokens of its arm's debates on that problem), judged by every evaluator in both orders: a verdict "
            "counts when both orders agree, the debate wins when it has more counted verdicts. "
            "Cost ratio: the debates' cost over the baselines' (— when no price is known); token ratio likewise.",
            "",
            markdown_table(
                [
                    "Arm",
                    "Baseline",
                    "Compared",
                    "Wins",
                    "Losses",
                    "Ties",
                    "Win rate",
                    "Cost ratio",
                    "Token ratio",
                ],
                comparisons,
            ),
        ]
    else:
        lines.append("No comparison (the sweep has no baseline arm or no evaluator, or nothing finished).")
    lines += ["", "## Plots", ""]
    if plots.available():
        for png in (path for path in figures if path.suffix == ".png"):
            lines.append(f"- [{_title(png.stem)}]({png.name}) ([SVG]({png.with_suffix('.svg').name}))")
        lines += [f"- {_title(name)}: not drawn, {why}" for name, why in plots.not_drawn(results).items()]
    else:
        lines.append("No plots: they need matplotlib (pip install 'dialectic-debate[batch]').")
    lines += [
        "",
        "## Tables",
        "",
        "- [results.csv](results.csv): one row per debate",
        "- [comparisons.csv](comparisons.csv): one row per comparison",
    ]
    failed = [row for row in results.jobs if row["status"] not in FINISHED]
    if failed:
        lines += ["", "## Not finished", ""]
        lines += [
            f"- {markdown_line(row['debate_id'])}: {markdown_line(row['status'])} {markdown_line(row['error'])}".rstrip()
            for row in failed
        ]
    return "\n".join(lines) + "\n"
