"""``issues`` termination end to end, with the installed command: a debate stops once no serious
ledger item is left in dispute, and runs to its cap while one is."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROBLEM = "Design a rate limiter. It must survive restarts. It must add under 5 ms."
ROLES = ("architect", "performance", "kiss")


def write_config(folder: Path, provider: str) -> None:
    model = "sim" if provider == "offline" else "gpt-4o-mini"
    member = {"model": model, "provider": provider}
    config = {
        "agents": [{"id": f"agent-{r}", "name": r, "role": r, **member} for r in ROLES],
        "judge": {"id": "judge-main", "name": "Judge", "role": "generalist", **member},
        "debate": {"rounds": 4, "terminationCondition": {"type": "issues", "severity": "major"}},
    }
    (folder / "debate-config.json").write_text(json.dumps(config))


def test_the_debate_stops_once_every_serious_item_is_settled(
    cli: Callable[..., Any], isolated: Path, llm_server: Any
) -> None:
    # The test server raises one finding per critique in round 1, rebuts every item in the
    # refinements, and its critics close every rebuttal in round 2 (raising nothing new).
    write_config(isolated, "openai")
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm_server.url}
    result = cli("debate", "--id", "settles", PROBLEM, env=env)
    assert result.code == 0, result.stderr
    record = json.loads((isolated / "debates" / "settles.json").read_text())
    assert record["stopReason"] == "issues"
    # round 1's rebuttals were still in dispute (their critics had not ruled); round 2 closed them
    assert len(record["rounds"]) == 2
    assert record["ledger"] and {item["status"] for item in record["ledger"]} == {"closed"}


def test_the_debate_runs_to_its_cap_while_a_serious_item_stays_in_dispute(
    cli: Callable[..., Any], isolated: Path
) -> None:
    # The offline model keeps a standing dispute: an item its author rebuts every round.
    write_config(isolated, "offline")
    result = cli("debate", "--id", "disputed", PROBLEM)
    assert result.code == 0, result.stderr
    record = json.loads((isolated / "debates" / "disputed.json").read_text())
    assert record["stopReason"] == "rounds" and len(record["rounds"]) == 4
    serious = [i for i in record["ledger"] if i["severity"] in ("critical", "major")]
    assert any(i["status"] in ("open", "reopened", "rebutted") for i in serious)
