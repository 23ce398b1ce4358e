"""Output formats: the CSV (quoting, header once, appending), the Markdown table, the JSON."""

import csv
import json

import pytest

from dialectic.errors import InputError
from dialectic.evaluation.metrics import METRICS
from dialectic.evaluation.output import (
    CSV_COLUMNS,
    ScoreTable,
    append_csv,
    csv_columns,
    csv_values,
    deliver,
    render_scores,
    scores_json,
    scores_markdown,
    spread_columns,
)
from dialectic.evaluation.scores import MetricStats

HEADER = (
    "debate,Functional Completeness,Performance & Scalability,Security,Maintainability & Evolvability,"
    "Regulatory Compliance,Testability,Requirements Fulfillment,Overall Score"
)


def table(debate="deb-1", repeats=1, means=None, replies=None):
    means = means or {m.key: 7.0 for m in METRICS}
    spread = 0.5 if repeats > 1 else None
    stats = {
        key: MetricStats(mean, spread, 0.71, 2 if mean is not None else 0) for key, mean in means.items()
    }
    return ScoreTable(debate, repeats, 2, stats, replies or {"e1": [{"x": 1}], "e2": [{"x": 2}]})


def test_the_compatible_header_is_the_spec_header():
    assert ",".join(CSV_COLUMNS) == HEADER


def test_a_new_csv_file_gets_the_header_and_one_row(tmp_path):
    path = tmp_path / "out" / "scores.csv"
    means = {m.key: 7.0 for m in METRICS} | {"security": None, "testability": 7.666}
    warnings = append_csv(path, csv_columns(table()), csv_values(table(means=means)))
    assert warnings == []
    assert path.read_text() == HEADER + "\ndeb-1,7.00,7.00,,7.00,7.00,7.67,7.00,7.00\n"


def test_appending_twice_writes_one_header_and_two_rows(tmp_path):
    path = tmp_path / "scores.csv"
    append_csv(path, csv_columns(table()), csv_values(table("first")))
    append_csv(path, csv_columns(table()), csv_values(table("second")))
    rows = list(csv.reader(path.open(newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    assert [row[0] for row in rows[1:]] == ["first", "second"]
    assert path.read_text().count("Functional Completeness") == 1


def test_csv_quotes_per_rfc_4180(tmp_path):
    path = tmp_path / "scores.csv"
    name = 'a "quoted", odd\nname'
    append_csv(path, csv_columns(table()), csv_values(table(name)))
    text = path.read_text()
    assert '"a ""quoted"", odd\nname",7.00' in text
    rows = list(csv.reader(path.open(newline="")))
    assert rows[1][0] == name and len(rows[1]) == len(CSV_COLUMNS)


def test_an_empty_existing_file_gets_the_header(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("")
    append_csv(path, csv_columns(table()), csv_values(table()))
    assert path.read_text().startswith(HEADER + "\n")


def test_appending_to_a_file_without_a_final_newline(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(HEADER + "\nold,1.00,1.00,1.00,1.00,1.00,1.00,1.00,1.00")
    append_csv(path, csv_columns(table()), csv_values(table("new")))
    assert [row[0] for row in csv.reader(path.open(newline=""))] == ["debate", "old", "new"]


def test_repeats_add_spread_columns_after_the_compatible_ones(tmp_path):
    path = tmp_path / "scores.csv"
    repeated = table(repeats=3)
    append_csv(path, csv_columns(repeated), csv_values(repeated))
    header, row = list(csv.reader(path.open(newline="")))
    assert header[: len(CSV_COLUMNS)] == list(CSV_COLUMNS)
    assert header[len(CSV_COLUMNS) :] == spread_columns()
    assert header[len(CSV_COLUMNS)] == "Repeats"
    values = dict(zip(header, row, strict=True))
    assert values["Repeats"] == "3"
    assert values["Security SD across runs"] == "0.50"
    assert values["Security SD across evaluators"] == "0.71"


def test_a_file_keeps_its_own_header_when_appending(tmp_path):
    path = tmp_path / "scores.csv"
    append_csv(path, csv_columns(table()), csv_values(table("plain")))
    repeated = table("repeated", repeats=3)
    warnings = append_csv(path, csv_columns(repeated), csv_values(repeated))
    rows = list(csv.reader(path.open(newline="")))
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    assert rows[2][0] == "repeated"
    assert len(warnings) == 1 and "has no column for 'Repeats'" in warnings[0]


def test_an_older_header_gets_rows_that_match_it(tmp_path):
    # The TypeScript tool's older header, without Requirements Fulfillment.
    path = tmp_path / "scores.csv"
    older = [c for c in CSV_COLUMNS if c != "Requirements Fulfillment"]
    path.write_text(",".join(older) + "\n")
    warnings = append_csv(path, csv_columns(table()), csv_values(table()))
    rows = list(csv.reader(path.open(newline="")))
    assert rows[1] == ["deb-1"] + ["7.00"] * (len(older) - 1)
    assert "Requirements Fulfillment" in warnings[0]


def test_markdown_has_the_csv_columns_na_for_null_and_two_decimals():
    means = {m.key: 6.5 for m in METRICS} | {"regulatory_compliance": None}
    text = scores_markdown(table("my|debate", means=means))
    lines = text.splitlines()
    assert lines[0] == "| " + " | ".join(CSV_COLUMNS) + " |"
    assert lines[1] == "| " + " | ".join(["---"] * len(CSV_COLUMNS)) + " |"
    assert lines[2] == "| my\\|debate | 6.50 | 6.50 | 6.50 | 6.50 | N/A | 6.50 | 6.50 | 6.50 |"
    assert len(lines) == 3


def test_markdown_with_repeats_adds_the_spread_table():
    text = scores_markdown(table(repeats=3))
    assert "3 runs of each of 2 evaluator(s)" in text
    assert "| Metric | Mean | SD across runs | SD across evaluators | Scores |" in text
    assert "| Security | 7.00 | 0.50 | 0.71 | 2 |" in text


def test_json_has_the_compatible_shape():
    means = {m.key: 7.25 for m in METRICS} | {"security": None}
    replies = {"e1": [None, {"first": "ok"}], "e2": [None, None]}
    document = scores_json(table(means=means, replies=replies))
    assert document["evaluation"]["functional_completeness"] == {"average_score": 7.25}
    assert set(document["evaluation"]["non_functional"]) == {
        "performance_scalability",
        "security",
        "maintainability_evolvability",
        "regulatory_compliance",
        "testability",
        "requirements_fulfillment",
    }
    assert document["evaluation"]["non_functional"]["security"] == {"average_score": None}
    assert document["overall_score"] == 7.25
    assert document["agents"] == {"e1": {"first": "ok"}}  # a failed evaluator is left out
    assert "statistics" not in document and "repeats" not in document
    assert json.loads(json.dumps(document)) == document


def test_json_with_repeats_adds_statistics_and_every_run():
    document = scores_json(table(repeats=2, replies={"e1": [{"r": 1}, None]}))
    assert document["repeats"] == 2
    assert document["statistics"]["security"] == {
        "mean": 7.0,
        "std_across_runs": 0.5,
        "std_across_evaluators": 0.71,
        "scores": 2,
    }
    assert document["runs"] == {"e1": [{"r": 1}, None]}


def test_deliver_picks_the_format_by_extension(tmp_path):
    rendered = render_scores(table())
    assert deliver(rendered, None).stdout == rendered.markdown
    result = deliver(rendered, str(tmp_path / "out.JSON"))
    assert result.stdout is None and "written to" in result.notice
    assert json.loads((tmp_path / "out.JSON").read_text())["overall_score"] == 7.0
    deliver(rendered, str(tmp_path / "out.md"))
    assert (tmp_path / "out.md").read_text() == rendered.markdown
    assert deliver(rendered, str(tmp_path / "out.csv")).notice.startswith("row appended")


def test_deliver_reports_an_unwritable_path(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot write the output"):
        deliver(render_scores(table()), str(tmp_path / "file" / "out.json"))
