"""``-o x.json`` writes the debate JSON the run has just saved (copied, not encoded again);
without that file, the record is written."""

from __future__ import annotations

import json
from pathlib import Path

from dialectic import cli
from dialectic.runner.run import DebateResult
from dialectic.transcript.files import read_record

SAVED = (
    Path(__file__).resolve().parents[1] / "fixtures" / "typescript" / "saved-debate-2-agents-2-rounds.json"
)


def result_with(json_path: Path) -> DebateResult:
    record = read_record(SAVED)
    return DebateResult(record.id, "completed", 0, record, json_path)


def test_a_json_output_is_the_saved_file(tmp_path: Path) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text('{"written": "by the run"}\n')
    cli._write_output(result_with(saved), str(tmp_path / "out.json"))
    assert (tmp_path / "out.json").read_text() == '{"written": "by the run"}\n'


def test_without_the_saved_file_the_record_is_written(tmp_path: Path) -> None:
    cli._write_output(result_with(tmp_path / "gone.json"), str(tmp_path / "out.json"))
    assert json.loads((tmp_path / "out.json").read_text())["id"] == read_record(SAVED).id
