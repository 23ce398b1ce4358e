"""The installed command runs an offline debate end to end."""

import json
from pathlib import Path


def test_offline_debate_prints_solution_and_saves_artefacts(cli, isolated: Path):
    result = cli(
        "debate", "--offline", "-r", "2", "--id", "smoke-1", "Design a cache. It must survive restarts."
    )
    assert result.code == 0, result.stderr
    assert "## Judge Assessment" in result.stdout
    assert "smoke-1" in result.stderr
    saved = json.loads((isolated / "debates" / "smoke-1.json").read_text())
    assert saved["status"] == "completed"
    assert [r["roundNumber"] for r in saved["rounds"]] == [1, 2]
    assert (isolated / "debates" / "dialectic.sqlite").stat().st_size > 0
