"""No stored value can brick a debate: settings saved with a debate that this version rejects
(an older version's, or a NaN that slipped through) are replaced by defaults, with a warning,
and ``show``, ``resume`` and ``fork`` go on."""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

from tests.cli.test_checkpoints import PROBLEM, Debate, ends

SETTINGS_KEY = "dialectic_settings"


def _poison_stored_settings(store: Path, debate_id: str) -> None:
    """Write a timeout of null (what a stored NaN becomes) into every checkpoint's settings."""
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT checkpoint_id, metadata FROM checkpoints WHERE thread_id = ?", (debate_id,)
        ).fetchall()
        for checkpoint_id, metadata in rows:
            meta = json.loads(metadata)
            settings = json.loads(meta[SETTINGS_KEY])
            settings["config"]["agents"][0]["timeoutSeconds"] = None
            settings["config"]["debate"]["maxConcurrency"] = 10**9
            meta[SETTINGS_KEY] = json.dumps(settings)
            db.execute(
                "UPDATE checkpoints SET metadata = ? WHERE thread_id = ? AND checkpoint_id = ?",
                (json.dumps(meta).encode(), debate_id, checkpoint_id),
            )


def test_invalid_stored_settings_are_replaced_by_defaults_not_fatal(isolated: Path):
    store = isolated / "d.sqlite"
    debate = Debate(isolated, str(store), latency_ms=150)
    process = debate.start("debate", "--offline", "-r", "2", "--id", "old", PROBLEM)
    debate.wait_for(lambda events: len(ends(events)) >= 4)
    process.send_signal(signal.SIGKILL)
    process.wait()
    _poison_stored_settings(store, "old")

    shown = debate.run("show", "old")
    assert shown.returncode == 0, shown.stderr
    assert "interrupted" in shown.stdout
    resumed = debate.run("resume", "old", latency_ms=0)
    assert resumed.returncode == 0, resumed.stderr
    assert "timeoutSeconds was invalid" in resumed.stderr and "maxConcurrency was invalid" in resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert debate.record("old")["status"] == "completed"
    last = json.loads(debate.run("show", "old", "--json", "--history").stdout)["checkpoints"][-1]
    forked = debate.run("fork", "old", "--at", last["checkpoint"], "--rounds", "3", "--id", "new")
    assert forked.returncode == 0, forked.stderr
