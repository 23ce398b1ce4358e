"""Braces in a prompt file that are no placeholder (a JSON example, ``{word}``) reach the model as
written, and the placeholders around them are filled: the installed command against the test LLM
server, whose log keeps each request's body."""

from __future__ import annotations

import json
from pathlib import Path

PROBLEM = "Design a URL shortener. It must never hand out the same short link twice."
SYSTEM = (
    "You are {agent_name}, our {role}.\n"
    'Describe components as JSON like {"type": "object", "properties": {}}.\n'
    "Keep {word} and { spaced } exactly as written.\n"
)


def member(member_id: str, role: str, **extra: object) -> dict[str, object]:
    return {
        "id": member_id,
        "name": member_id.title(),
        "role": role,
        "model": "gpt-4o-mini",
        "provider": "openai",
    } | extra


def test_literal_braces_in_a_system_prompt_file_reach_the_model(cli, isolated: Path, llm_server):
    llm_server.set(record_bodies=True)
    (isolated / "prompts").mkdir()
    (isolated / "prompts" / "system.md").write_text(SYSTEM, encoding="utf-8")
    config = {
        "agents": [
            member("shaper", "architect", systemPromptPath="prompts/system.md"),
            member("plain", "kiss"),
        ],
        "judge": member("judge", "generalist"),
        "debate": {"rounds": 1, "summarization": {"enabled": False}},
    }
    (isolated / "c.json").write_text(json.dumps(config), encoding="utf-8")
    env = {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": llm_server.url}
    result = cli("debate", "-c", "c.json", "--id", "braces", PROBLEM, env=env)
    assert result.code == 0, result.stderr
    assert "warning:" not in result.stderr

    systems = {
        message["content"]
        for entry in llm_server.log
        for message in entry["body"]["messages"]
        if message["role"] == "system"
    }
    expected = (
        "You are Shaper, our architect.\n"
        'Describe components as JSON like {"type": "object", "properties": {}}.\n'
        "Keep {word} and { spaced } exactly as written."
    )
    assert any(text.strip() == expected for text in systems), systems
    # the other agent and the judge keep their built-in system prompts
    assert sum("{word}" in text for text in systems) == 1
