"""The sweep's results as tables: one row per job (its debate's status, tokens, cost and scores)
and one per comparison of a debate with its baseline. CSV always; Parquet too when pandas and
pyarrow are installed (the user's, not a dependency)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialectic.batch.sweep import Sweep
from dialectic.evaluation.metrics import METRICS
from dialectic.transcript.files import make_private_dirs, write_atomic

JOB_COLUMNS = (
    "sweep",
    "problem",
    "arm",
    "versus",
    "repeat",
    "debate_id",
    "status",
    "tokens",
    "cost_usd",
    "json_path",
    "error",
    *(f"score_{metric.key}" for metric in METRICS),
    "scores_by_evaluator",
)
COMPARISON_COLUMNS = (
    "sweep",
    "problem",
    "arm",
    "baseline_arm",
    "repeat",
    "debate_id",
    "baseline_id",
    "result",
    "debate_wins",
    "baseline_wins",
    "ties",
    "contradictions",
    "pairs",
    "debate_tokens",
    "baseline_tokens",
    "debate_cost_usd",
    "baseline_cost_usd",
    "cost_ratio",
    "token_ratio",
)


@dataclass
class Results:
    sweep: str
    jobs: list[dict[str, Any]]
    comparisons: list[dict[str, Any]]
    evaluators: list[str]  # every evaluator that gave a score, in order of appearance


def build(
    sweep: Sweep,
    records: dict[str, dict[str, Any]],
    scores: dict[str, dict[str, Any]],
    comparisons: dict[str, dict[str, Any]],
) -> Results:
    order = {arm.name: index for index, arm in enumerate(sweep.arms)}
    problems = {problem.name: index for index, problem in enumerate(sweep.problems)}
    evaluators: list[str] = []
    jobs = []
    for key, record in sorted(
        records.items(),
        key=lambda item: (
            problems.get(item[1]["problem"], 0),
            order.get(item[1]["arm"], 0),
            item[1]["versus"] or "",
            item[1]["repeat"],
        ),
    ):
        score = scores.get(key, {})
        by_evaluator = score.get("by_evaluator") or {}
        evaluators += [name for name in by_evaluator if name not in evaluators]
        jobs.append(
            {
                "sweep": sweep.name,
                "problem": record["problem"],
                "arm": record["arm"],
                "versus": record.get("versus") or "",
                "repeat": record["repeat"],
                "debate_id": record["debate_id"],
                "status": record["status"],
                "tokens": record["tokens"],
                "cost_usd": record["cost"],
                "json_path": record["json_path"],
                "error": record.get("error") or "",
                **{f"score_{m.key}": (score.get("metrics") or {}).get(m.key) for m in METRICS},
                "scores_by_evaluator": by_evaluator,
            }
        )
    rows = []
    for value in comparisons.values():
        # (a record of only what failed tries spent has no result: nothing to tabulate)
        debate, baseline = records.get(value.get("debate", "")), records.get(value.get("baseline", ""))
        if debate is None or baseline is None:
            continue
        rows.append(
            {
                "sweep": sweep.name,
                "problem": debate["problem"],
                "arm": debate["arm"],
                "baseline_arm": baseline["arm"],
                "repeat": debate["repeat"],
                "debate_id": debate["debate_id"],
                "baseline_id": baseline["debate_id"],
                "result": value["result"],
                "debate_wins": value["a_wins"],
                "baseline_wins": value["b_wins"],
                "ties": value["ties"],
                "contradictions": value["contradictions"],
                "pairs": value["pairs"],
                "debate_tokens": debate["tokens"],
                "baseline_tokens": baseline["tokens"],
                "debate_cost_usd": debate["cost"],
                "baseline_cost_usd": baseline["cost"],
                "cost_ratio": ratio(debate["cost"], baseline["cost"]),
                "token_ratio": ratio(debate["tokens"], baseline["tokens"]),
            }
        )
    rows.sort(
        key=lambda row: (
            problems.get(row["problem"], 0),
            order.get(row["arm"], 0),
            row["baseline_arm"],
            row["repeat"],
        )
    )
    return Results(sweep.name, jobs, rows, evaluators)


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def write(results: Results, out: Path) -> list[Path]:
    """results.csv and comparisons.csv (and .parquet beside them when possible) in ``out``."""
    make_private_dirs(out)
    written = []
    for name, rows, columns in (
        ("results", results.jobs, JOB_COLUMNS),
        ("comparisons", results.comparisons, COMPARISON_COLUMNS),
    ):
        path = out / f"{name}.csv"
        write_atomic(path, csv_text(rows, columns))
        written.append(path)
        parquet = _parquet(rows, columns, out / f"{name}.parquet")
        if parquet is not None:
            written.append(parquet)
    return written


def csv_text(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: _cell(row.get(column)) for column in columns})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ";".join(f"{k}={'' if v is None else v}" for k, v in value.items())
    if isinstance(value, str):
        return _inert_cell(value)
    return value


def _inert_cell(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula (an error message or a path
    can start with = + - @)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _parquet(rows: list[dict[str, Any]], columns: tuple[str, ...], path: Path) -> Path | None:
    import importlib

    try:  # the user's pandas and pyarrow, if installed (untyped here: not dependencies)
        pd: Any = importlib.import_module("pandas")
        importlib.import_module("pyarrow")  # pandas' Parquet engine
    except ImportError:
        return None
    frame = pd.DataFrame(
        [
            {
                column: _cell(row.get(column)) if isinstance(row.get(column), dict) else row.get(column)
                for column in columns
            }
            for row in rows
        ],
        columns=list(columns),
    )
    frame.to_parquet(path, index=False)
    return path
