"""The output formats of ``dialectic eval`` (spec §5): aggregated JSON, a CSV row appended to a
file (header only for a new file, RFC 4180 quoting), and a one-row Markdown table.

Scores print with 2 decimals; a metric without a score is ``null`` in JSON, empty in CSV and
``N/A`` in Markdown. With ``--repeats`` every format also carries the spreads; in CSV they are
extra columns after the compatible ones, so readers of the compatible columns keep working.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialectic.errors import InputError
from dialectic.evaluation.metrics import METRICS
from dialectic.evaluation.parsing import JsonObject
from dialectic.evaluation.scores import MetricStats
from dialectic.transcript.files import write_atomic

CSV_COLUMNS: tuple[str, ...] = ("debate", *(metric.label for metric in METRICS))
REPEATS_COLUMN = "Repeats"


@dataclass(frozen=True)
class ScoreTable:
    """What every output format is made from."""

    debate: str
    repeats: int
    evaluators: int
    stats: Mapping[str, MetricStats]
    replies: Mapping[str, Sequence[JsonObject | None]]  # evaluator id -> reply per run
    cost_usd: float = 0.0  # of the evaluator calls (those with a known price)


def score_text(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.2f}"


def spread_columns() -> list[str]:
    columns = [REPEATS_COLUMN]
    for metric in METRICS:
        columns += [f"{metric.label} SD across runs", f"{metric.label} SD across evaluators"]
    return columns


def csv_columns(table: ScoreTable) -> list[str]:
    return [*CSV_COLUMNS, *(spread_columns() if table.repeats > 1 else [])]


def csv_values(table: ScoreTable) -> dict[str, str]:
    """Every column this tool knows, by name; the file's header decides which are written."""
    values = {"debate": table.debate, REPEATS_COLUMN: str(table.repeats)}
    for metric in METRICS:
        stats = table.stats[metric.key]
        values[metric.label] = score_text(stats.mean, "")
        values[f"{metric.label} SD across runs"] = score_text(stats.std_across_runs, "")
        values[f"{metric.label} SD across evaluators"] = score_text(stats.std_across_evaluators, "")
    return values


def csv_line(cells: Sequence[str]) -> str:
    buffer = io.StringIO()
    # "\n" like the TypeScript tool, so rows appended to its files match; quoting per RFC 4180.
    csv.writer(buffer, lineterminator="\n").writerow(cells)
    return buffer.getvalue()


def append_csv(path: Path, columns: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Append one row; a new (or empty) file gets the header first. An existing file keeps its
    own header: the row follows it, and the warnings say which values had no column."""
    warnings: list[str] = []
    header = _existing_header(path)
    if header is None:
        write_atomic(path, csv_line(columns) + csv_line([values.get(c, "") for c in columns]))
        return warnings
    dropped = [c for c in columns if c not in header and values.get(c)]
    if dropped:
        warnings.append(
            f"{path} has no column for {_names(dropped)}: not written (write to a new file to get every column)"
        )
    unknown = [c for c in header if c not in values]
    if unknown:
        warnings.append(f"{path} has column(s) this tool does not fill: {_names(unknown)}; left empty")
    text = path.read_text(encoding="utf-8")
    prefix = "" if text.endswith("\n") else "\n"
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(prefix + csv_line([values.get(c, "") for c in header]))
    return warnings


def _existing_header(path: Path) -> list[str] | None:
    if not path.is_file() or path.stat().st_size == 0:
        return None
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), None)


def _names(columns: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:3])
    return shown + (f" and {len(columns) - 3} more" if len(columns) > 3 else "")


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |"

    return "\n".join([line(columns), line(["---"] * len(columns)), *(line(row) for row in rows)]) + "\n"


def scores_markdown(table: ScoreTable) -> str:
    row = [table.debate, *(score_text(table.stats[m.key].mean, "N/A") for m in METRICS)]
    text = markdown_table(CSV_COLUMNS, [row])
    if table.repeats > 1:
        spreads = [
            [
                metric.label,
                score_text(stats.mean, "N/A"),
                score_text(stats.std_across_runs, "N/A"),
                score_text(stats.std_across_evaluators, "N/A"),
                str(stats.count),
            ]
            for metric in METRICS
            for stats in [table.stats[metric.key]]
        ]
        text += (
            f"\n{table.repeats} runs of each of {table.evaluators} evaluator(s); SD = sample standard deviation.\n\n"
            + markdown_table(["Metric", "Mean", "SD across runs", "SD across evaluators", "Scores"], spreads)
        )
    return text


def scores_json(table: ScoreTable) -> dict[str, Any]:
    def average(key: str) -> dict[str, float | None]:
        return {"average_score": table.stats[key].mean}

    first_replies = {
        evaluator: next(reply for reply in runs if reply is not None)
        for evaluator, runs in table.replies.items()
        if any(reply is not None for reply in runs)
    }
    document: dict[str, Any] = {
        "evaluation": {
            "functional_completeness": average("functional_completeness"),
            "non_functional": {m.key: average(m.key) for m in METRICS if m.non_functional},
        },
        "overall_score": table.stats["overall_score"].mean,
        "agents": first_replies,
    }
    if table.repeats > 1:
        document["repeats"] = table.repeats
        document["statistics"] = {
            m.key: {
                "mean": s.mean,
                "std_across_runs": s.std_across_runs,
                "std_across_evaluators": s.std_across_evaluators,
                "scores": s.count,
            }
            for m in METRICS
            for s in [table.stats[m.key]]
        }
        document["runs"] = {evaluator: list(runs) for evaluator, runs in table.replies.items()}
    return document


def json_text(document: Mapping[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Rendered:
    """One report in the three formats; ``deliver`` picks by the output path."""

    document: Mapping[str, Any]
    csv_columns: Sequence[str]
    csv_values: Mapping[str, str]
    markdown: str


@dataclass(frozen=True)
class Delivery:
    stdout: str | None  # the Markdown, when there is no output path
    warnings: list[str]
    notice: str | None  # where the output went


def deliver(rendered: Rendered, output: str | None) -> Delivery:
    """Write the output the path's extension asks for (spec §1.4)."""
    if output is None:
        return Delivery(rendered.markdown, [], None)
    path = Path(output)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            warnings = append_csv(path, rendered.csv_columns, rendered.csv_values)
            return Delivery(None, warnings, f"row appended to {path}")
        write_atomic(path, json_text(rendered.document) if suffix == ".json" else rendered.markdown)
    except OSError as exc:
        raise InputError(f"cannot write the output {path.resolve()}: {exc.strerror or exc}") from exc
    return Delivery(None, [], f"evaluation written to {path}")


def render_scores(table: ScoreTable) -> Rendered:
    return Rendered(scores_json(table), csv_columns(table), csv_values(table), scores_markdown(table))
