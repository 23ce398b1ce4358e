"""A checkpoint store written before the debate's data model moved (``dialectic.graphs.state`` ->
``dialectic.debate.state``) still lists, shows and resumes.

The fixture is a real store: a 3-agent, 2-round offline debate started with ``--steer``, one
agent's critiques failing (HTTP 503) in round 1, paused after round 1 for a steering note. Its
checkpoints name the old module path for every value and hold the old untyped pause payload.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "old_layout"


def test_a_store_from_the_previous_layout_shows_and_resumes(cli, isolated: Path) -> None:
    (isolated / "debates").mkdir()
    shutil.copy(FIXTURE / "dialectic.sqlite", isolated / "debates" / "dialectic.sqlite")
    shutil.copy(FIXTURE / "old-layout.json", isolated / "debates" / "old-layout.json")
    blob = (isolated / "debates" / "dialectic.sqlite").read_bytes()
    assert b"dialectic.graphs.state" in blob and b"dialectic.debate.state" not in blob

    listed = cli("list", "--json")
    assert listed.code == 0, listed.stderr
    assert [(row["id"], row["status"]) for row in listed.json()] == [("old-layout", "waiting_for_input")]

    shown = cli("show", "old-layout", "--json")
    assert shown.code == 0, shown.stderr
    detail = shown.json()
    assert detail["next"] == ["steer"] and detail["pending"][0]["kind"] == "steering"
    assert {f["agent"] for f in detail["failures"]} == {"agent-kiss"}
    assert "dialectic resume old-layout" in detail["how_to_continue"]

    resumed = cli("resume", "old-layout", "--note", "Keep it to one region.")
    assert resumed.code == 0, resumed.stderr
    record = json.loads((isolated / "debates" / "old-layout.json").read_text())
    # The old critique failures stand (they were recorded before failures were classified).
    assert record["status"] == "degraded"
    counts = [len(r["contributions"]) for r in record["rounds"]]
    assert counts == [3 + 4 + 3, 3 + 6 + 3]  # round 2: carried proposals, every critique, refinements
    assert record["steering"][0]["note"] == "Keep it to one region."
    assert record["finalSolution"]["description"]
