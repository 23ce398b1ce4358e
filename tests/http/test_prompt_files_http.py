"""Prompt files the TypeScript tool accepts, seen from the model's side: the installed command
against the test server (tests/http/llm_server.py, ``record_bodies``), whose log holds each
prompt as sent. A ``clarificationPromptPath`` file adds to our clarification prompt (the model
still sees the problem); a summary prompt file without ``{material}`` still gets the material."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PROBLEM = "Design a ledger for a small bank. Every transfer must be recorded exactly once."
CLARIFICATION_FILE = "Ask only about the bank's regulators and its audit duties.\n"
SUMMARY_FILE = "Summarise your position so far in plain words for a busy manager.\n"


def env(server) -> dict[str, str]:
    return {
        "OPENAI_API_KEY": "test-key",
        "OPENAI_BASE_URL": server.url,
        "DIALECTIC_RETRY_BASE_SECONDS": "0.01",
    }


def write_config(folder: Path, debate: dict[str, Any], **first_agent: Any) -> Path:
    member = {"model": "gpt-4o-mini", "provider": "openai", "maxRetries": 1}
    document = {
        "agents": [
            {"id": "agent-architect", "name": "Architect", "role": "architect", **member, **first_agent},
            {"id": "agent-kiss", "name": "Simplicity", "role": "kiss", **member},
        ],
        "judge": {"id": "judge-main", "name": "Judge", "role": "generalist", **member},
        "debate": debate,
    }
    path = folder / "debate-config.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def prompts_sent(server) -> list[str]:
    """The last user message of every chat request (the prompt the template made)."""
    texts = []
    for entry in server.requests():
        users = [m for m in entry["body"]["messages"] if m.get("role") == "user"]
        content = users[-1]["content"]
        texts.append(content if isinstance(content, str) else " ".join(p.get("text", "") for p in content))
    return texts


def test_a_clarification_prompt_file_is_appended_to_ours(cli, isolated: Path, llm_server):
    llm_server.set(record_bodies=True)
    (isolated / "clarify.md").write_text(CLARIFICATION_FILE, encoding="utf-8")
    write_config(
        isolated,
        {"rounds": 1, "summarization": {"enabled": False}, "clarificationsMaxIterations": 1},
        clarificationPromptPath="clarify.md",
    )
    (isolated / "answers.json").write_text("{}", encoding="utf-8")
    result = cli(
        "debate", "--clarify", "--answers", "answers.json", "--id", "c1", PROBLEM, env=env(llm_server)
    )
    assert result.code == 0, result.stderr

    clarifying = [p for p in prompts_sent(llm_server) if "Before the debate starts" in p]
    assert len(clarifying) == 2  # one per agent
    with_file = [p for p in clarifying if CLARIFICATION_FILE.strip() in p]
    assert len(with_file) == 1  # only the agent whose config names the file
    prompt = with_file[0]
    assert f"## Problem\n\n{PROBLEM}" in prompt  # the problem is still there...
    assert "Ask at most 5 questions" in prompt  # ...and so is our own task
    # the file comes after our prompt, under its own heading
    assert prompt.index("## Additional instructions") > prompt.index("Before the debate starts")
    assert prompt.rstrip().endswith(CLARIFICATION_FILE.strip())
    record = json.loads((isolated / "debates" / "c1.json").read_text())
    assert record["clarifications"]  # the questions were asked and recorded


def test_summary_prompt_files_without_a_placeholder_still_get_the_material(cli, isolated: Path, llm_server):
    llm_server.set(record_bodies=True)
    (isolated / "mine.md").write_text(SUMMARY_FILE, encoding="utf-8")
    (isolated / "everyone.md").write_text("Condense the debate so far.\n", encoding="utf-8")
    write_config(
        isolated,
        # a summary before every round after the first: the history is always above 1 character
        {"rounds": 2, "summarization": {"enabled": True, "threshold": 1, "promptPath": "everyone.md"}},
        summaryPromptPath="mine.md",
    )
    result = cli("debate", "--id", "s1", PROBLEM, env=env(llm_server))
    assert result.code == 0, result.stderr

    sent = prompts_sent(llm_server)
    record = json.loads((isolated / "debates" / "s1.json").read_text())
    proposals = {
        c["agentId"]: c["content"]
        for r in record["rounds"]
        for c in r["contributions"]
        if c["type"] == "proposal" and r["roundNumber"] == 1
    }
    for text, agent in ((SUMMARY_FILE, "agent-architect"), ("Condense the debate so far.", "agent-kiss")):
        summaries = [p for p in sent if p.startswith(text.strip())]
        assert summaries, f"no summary request used {text!r}"
        prompt = summaries[0]
        material = prompt.split("## Material to summarize", 1)[1]
        # the agent's own round-1 proposal is in the material it summarises
        first_line = next(
            line for line in proposals[agent].splitlines() if line.strip() and not line.startswith("#")
        )
        assert first_line.strip() in material, agent
