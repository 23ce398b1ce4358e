"""Reading debate JSON files (ours and the TypeScript tool's) and writing them atomically."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dialectic.errors import InputError
from dialectic.transcript.files import read_record, write_atomic, write_record
from dialectic.transcript.schema import DebateRecord

SAVED = "saved-debate-2-agents-2-rounds.json"


# --- read_record ------------------------------------------------------------------------------


def test_read_saved_typescript_debate(fixtures_dir: Path) -> None:
    record = read_record(fixtures_dir / SAVED)
    assert record.status == "completed"
    assert record.currentRound == 2
    assert [r.roundNumber for r in record.rounds] == [1, 2]
    first = record.rounds[0].contributions
    assert [(c.agentId, c.type, c.targetAgentId) for c in first] == [
        ("agent-architect", "proposal", None),
        ("agent-performance", "proposal", None),
        ("agent-architect", "critique", "agent-performance"),
        ("agent-performance", "critique", "agent-architect"),
        ("agent-architect", "refinement", None),
        ("agent-performance", "refinement", None),
    ]
    assert first[0].metadata.latencyMs == 34868
    assert first[0].metadata.tokensUsed == 3771
    assert first[0].metadata.model == "openai/gpt-oss-120b:exacto"
    assert record.rounds[1].summaries is not None
    assert set(record.rounds[1].summaries) == {"agent-architect", "agent-performance"}
    assert record.finalSolution is not None
    assert record.finalSolution.description.startswith("# Synthesized Solution")
    assert record.problem.startswith("A university has greatly expanded")


def test_saved_debate_round_trips_without_losing_keys(fixtures_dir: Path, isolated: Path) -> None:
    original = json.loads((fixtures_dir / SAVED).read_text(encoding="utf-8"))
    record = read_record(fixtures_dir / SAVED)
    out = isolated / "copy.json"
    write_record(out, record)
    written = json.loads(out.read_text(encoding="utf-8"))
    assert set(original) <= set(written)
    assert written["rounds"][0]["contributions"][2]["targetAgentId"] == "agent-performance"
    assert written["finalSolution"]["description"] == original["finalSolution"]["description"]
    assert read_record(out) == record


def test_unknown_keys_are_kept(isolated: Path) -> None:
    path = isolated / "d.json"
    path.write_text(
        json.dumps({"id": "x", "problem": "p", "rounds": [], "futureKey": {"a": 1}}), encoding="utf-8"
    )
    record = read_record(path)
    assert record.dump()["futureKey"] == {"a": 1}


def test_missing_file_error_names_absolute_path(isolated: Path) -> None:
    with pytest.raises(InputError) as info:
        read_record(Path("nope.json"))
    assert info.value.exit_code == 2
    assert str(isolated / "nope.json") in str(info.value)
    assert "not found" in str(info.value)


def test_directory_error(isolated: Path) -> None:
    (isolated / "debates").mkdir()
    with pytest.raises(InputError, match="directory") as info:
        read_record(Path("debates"))
    assert str(isolated / "debates") in str(info.value)


def test_invalid_json_error(isolated: Path) -> None:
    (isolated / "bad.json").write_text('{"id": "x",\n  "problem": }', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_record(Path("bad.json"))
    message = str(info.value)
    assert str(isolated / "bad.json") in message
    assert "not valid JSON" in message
    assert "line 2" in message


def test_not_utf8_error(isolated: Path) -> None:
    (isolated / "latin.json").write_bytes(b'{"problem": "caf\xe9"}')
    with pytest.raises(InputError, match="UTF-8") as info:
        read_record(Path("latin.json"))
    assert str(isolated / "latin.json") in str(info.value)


@pytest.mark.parametrize(
    "document",
    [[1, 2, 3], "a string", {"id": "x", "rounds": []}, {"id": "x", "problem": "p"}, {"agents": []}],
    ids=["list", "string", "no-problem", "no-rounds", "config-file"],
)
def test_not_a_debate_object(isolated: Path, document: object) -> None:
    (isolated / "other.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_record(Path("other.json"))
    assert str(isolated / "other.json") in str(info.value)
    assert "not a debate file" in str(info.value)


def test_config_fixture_is_not_a_debate(fixtures_dir: Path) -> None:
    with pytest.raises(InputError, match="not a debate file"):
        read_record(fixtures_dir / "debate_config1.json")


def test_invalid_field_names_location(isolated: Path) -> None:
    document = {"id": "x", "problem": "p", "rounds": [{"roundNumber": "first", "contributions": []}]}
    (isolated / "wrong.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_record(Path("wrong.json"))
    message = str(info.value)
    assert str(isolated / "wrong.json") in message
    assert "rounds.0.roundNumber" in message


# --- write_atomic -----------------------------------------------------------------------------


def test_write_atomic_creates_folders_and_leaves_no_temp(isolated: Path) -> None:
    target = isolated / "deep" / "er" / "file.json"
    write_atomic(target, "hello\n")
    assert target.read_text(encoding="utf-8") == "hello\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]


def test_write_atomic_replaces_content(isolated: Path) -> None:
    target = isolated / "file.txt"
    target.write_text("old content that is longer than the new one", encoding="utf-8")
    write_atomic(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert [p.name for p in isolated.iterdir()] == ["file.txt"]


def test_write_atomic_unicode(isolated: Path) -> None:
    target = isolated / "u.md"
    write_atomic(target, "naïve → ✓\n")
    assert target.read_bytes() == "naïve → ✓\n".encode()


def test_write_atomic_failure_keeps_old_file_and_cleans_up(isolated: Path) -> None:
    target = isolated / "keep.json"
    target.write_text("original", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(target, "bad \ud800 surrogate")
    assert target.read_text(encoding="utf-8") == "original"
    assert [p.name for p in isolated.iterdir()] == ["keep.json"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_write_atomic_creates_private_files_and_keeps_an_existing_mode(isolated: Path) -> None:
    previous = os.umask(0o022)
    try:
        target = isolated / "new" / "deeper" / "mode.txt"
        write_atomic(target, "x")  # a debate's text: owner only, whatever the umask
        assert target.stat().st_mode & 0o777 == 0o600
        assert (isolated / "new").stat().st_mode & 0o777 == 0o700
        assert (isolated / "new" / "deeper").stat().st_mode & 0o777 == 0o700
        shared = isolated / "shared.md"
        shared.write_text("old")
        shared.chmod(0o644)  # the owner chose to share this one: replacing it keeps that
        write_atomic(shared, "new")
        assert shared.stat().st_mode & 0o777 == 0o644 and shared.read_text() == "new"
    finally:
        os.umask(previous)


def test_write_record_dump_omits_none(isolated: Path) -> None:
    record = DebateRecord(id="d1", problem="p", rounds=[])
    path = isolated / "d1.json"
    write_record(path, record)
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written == {"id": "d1", "problem": "p", "status": "completed", "currentRound": 0, "rounds": []}
    assert path.read_text(encoding="utf-8").endswith("}\n")
