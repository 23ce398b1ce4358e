"""The prompt ceiling end to end: the installed ``dialectic`` command against the test server
(400-token replies, tokens counted as characters ÷ 4), where the server's log shows every prompt
it received. However many agents and rounds, no prompt grows past ``debate.maxPromptTokens``:
what would is summarised first, in parts where one call cannot hold it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROLES = ("architect", "performance", "security", "kiss", "testing", "datamodeling")
PROBLEM = (
    "Design the notification service of a SaaS product. It must deliver an admin's message to "
    "every connected user within 2 seconds. It must scale from 100 to 10,000 concurrent users."
)


def write_config(folder: Path, agents: int, rounds: int, **debate: Any) -> None:
    def member(agent_id: str, role: str) -> dict[str, Any]:
        return {"id": agent_id, "name": agent_id, "role": role, "model": "gpt-4o-mini", "provider": "openai"}

    config = {
        "agents": [member(f"agent-{role}", role) for role in ROLES[:agents]],
        "judge": member("judge-main", "generalist"),
        "debate": {"rounds": rounds, "terminationCondition": {"type": "fixed"}, **debate},
    }
    (folder / "debate-config.json").write_text(json.dumps(config))


def run(
    cli: Callable[..., Any], llm_server: Any, debate_id: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm_server.url}
    result = cli("debate", "--id", debate_id, PROBLEM, env=env)
    assert result.code == 0, result.stderr
    return llm_server.log, json.loads((Path("debates") / f"{debate_id}.json").read_text())


def test_six_agents_eight_rounds_stay_under_the_default_ceiling(
    cli: Callable[..., Any], isolated: Path, llm_server: Any
) -> None:
    # The TypeScript tool's perf fixture: summaries on at a 3000-character threshold.
    write_config(isolated, 6, 8, summarization={"enabled": True, "threshold": 3000, "maxLength": 2500})
    llm_server.set(reply_tokens=400, record_bodies=True)
    log, debate = run(cli, llm_server, "six-by-eight")
    assert debate["status"] == "completed"
    assert len(log) > 300 and {e["status"] for e in log} == {200}
    largest = max(e["prompt_tokens"] for e in log)
    assert largest <= 16_000, largest
    # The judge read the panel's own summaries and summarised the last round's critiques; the
    # synthesis saw every final design, which the judge's summary leaves out.
    synthesis = next(e for e in log if e["kind"] == "json_schema")
    prompt = synthesis["body"]["messages"][-1]["content"]
    assert prompt.count("in its own summary") == 6
    parts = [e for e in log if "Debate material to summarize" in e["body"]["messages"][-1]["content"]]
    assert parts and all(e["prompt_tokens"] <= 16_000 for e in parts)
    material = parts[0]["body"]["messages"][-1]["content"].split("Debate material to summarize")[1]
    assert (
        "critiques agent-" in material and "refinement by" not in material and "proposal by" not in material
    )
    assert debate["judgeSummary"]["summary"]


def test_the_ceiling_summarises_even_with_summaries_off(
    cli: Callable[..., Any], isolated: Path, llm_server: Any
) -> None:
    # Summaries off and a low ceiling: without it the judge's prompt and the agents' histories
    # would grow with every round.
    write_config(isolated, 3, 5, summarization={"enabled": False}, maxPromptTokens=5000)
    llm_server.set(reply_tokens=400, record_bodies=True)
    log, debate = run(cli, llm_server, "forced")
    assert debate["status"] == "completed"
    assert max(e["prompt_tokens"] for e in log) <= 5000
    summaries = [e for e in log if "Reply with the summary only" in e["body"]["messages"][-1]["content"]]
    assert summaries  # the ceiling asked for them, the settings did not
