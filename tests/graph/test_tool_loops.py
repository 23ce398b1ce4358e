"""Grounded debates on the offline model: agents with tools explore a context folder in a model
<-> tools loop made of checkpointed graph steps, quote what they read, and the debate records it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from dialectic.configs.loader import validate_config
from dialectic.configs.settings import RunSettings, resolve_settings
from dialectic.prompts import agent_template
from dialectic.providers.offline import OfflineChatModel
from dialectic.report.markdown import render_report
from dialectic.runner.run import DebateRun, utc_now

PROBLEM = "Design a new job scheduler.\nJobs must never run twice, even when a worker crashes."
TOOLS = [{"name": "list_files"}, {"name": "file_read"}, {"name": "context_search"}]


@pytest.fixture
def service(tmp_path: Path) -> Path:
    """A small code base: a README, a scheduler module, and a secret the tools must not show."""
    root = tmp_path / "service"
    (root / "src").mkdir(parents=True)
    (root / "README.md").write_text("# Service\n\nThe scheduler hands due jobs to workers.\n")
    (root / "src" / "scheduler.py").write_text(
        '"""Picks due jobs."""\n\nLEASE_SECONDS = 30  # a worker holds a job lease this long\n'
    )
    (root / ".env").write_text("TOKEN=never-shown-7f3a\n")
    return root


def settings_for(context: Path | None, *, limit: int = 10, rounds: int = 1) -> RunSettings:
    document = {
        "agents": [
            {
                "id": "agent-architect",
                "name": "Architect",
                "role": "architect",
                "model": "sim",
                "provider": "offline",
                "tools": TOOLS,
                "toolCallLimit": limit,
            },
            {"id": "agent-kiss", "name": "Kiss", "role": "kiss", "model": "sim", "provider": "offline"},
        ],
        "judge": {
            "id": "judge-main",
            "name": "Judge",
            "role": "generalist",
            "model": "sim",
            "provider": "offline",
        },
        "debate": {"rounds": rounds, "summarization": {"enabled": False}},
    }
    settings, _ = resolve_settings(validate_config(document, "test"), None, offline=True)
    return settings.model_copy(update={"context_dir": str(context) if context else None})


def architect_proposal(result: Any) -> dict[str, Any]:
    """The architect's round-1 proposal, as the debate JSON has it."""
    return next(
        c
        for c in result.record.dump()["rounds"][0]["contributions"]
        if c["type"] == "proposal" and c["agentId"] == "agent-architect"
    )


def run_debate(settings: RunSettings) -> tuple[DebateRun, Any]:
    run = DebateRun(InMemorySaver(), "tools-1", settings, created_at=utc_now())
    return run, run.execute({"problem": PROBLEM})


def test_an_agent_with_tools_reads_the_context_and_quotes_it(service: Path) -> None:
    _, result = run_debate(settings_for(service))
    assert result.status == "completed", result.message
    record = result.record.dump()
    by_agent = {
        (c["agentId"], c["type"]): c
        for r in record["rounds"]
        for c in r["contributions"]
        if c["type"] != "critique"
    }
    proposal = by_agent[("agent-architect", "proposal")]
    calls = proposal["metadata"]["toolCalls"]
    assert [c["name"] for c in calls][:1] == ["list_files"]
    read = [json.loads(c["arguments"])["path"] for c in calls if c["name"] == "file_read"]
    assert "src/scheduler.py" in read and "README.md" in read
    assert proposal["metadata"]["toolCallIterations"] >= 2
    results = proposal["metadata"]["toolResults"]
    assert [r["tool_call_id"] for r in results] == [c["id"] for c in calls]
    assert all(r["role"] == "tool" and json.loads(r["content"])["status"] == "success" for r in results)
    # The answer quotes what it read; the agent without tools made none.
    assert "LEASE_SECONDS = 30" in proposal["content"] and "`src/scheduler.py`" in proposal["content"]
    assert "toolCalls" not in by_agent[("agent-kiss", "proposal")]["metadata"]
    assert "never-shown-7f3a" not in json.dumps(record)
    assert "Files read: `README.md`, `src/scheduler.py`" in render_report(result.record)


def test_every_model_turn_counts_in_usage_and_tokens(service: Path) -> None:
    run, result = run_debate(settings_for(service))
    state = run.state()
    turns = [u for u in state["usage"] if u.agent_id == "agent-architect" and u.phase == "propose"]
    proposal = next(
        c for c in state["contributions"] if c.agent_id == "agent-architect" and c.type == "proposal"
    )
    assert len(turns) == proposal.tool_turns + 1  # each tool turn, then the answer
    assert proposal.tokens_used == sum(u.input_tokens + u.output_tokens for u in turns)
    assert result.record.dump()["usage"]["total"]["calls"] == len(state["usage"])


def test_the_loop_is_checkpointed_step_by_step(service: Path) -> None:
    """Every model turn and every tools run is a step of its own (what makes a resume inside a
    loop repeat nothing finished)."""
    run, _ = run_debate(settings_for(service))
    ran = [snapshot.next for snapshot in run.graph.get_state_history(run.config)]
    assert sum(1 for nodes in ran if nodes and set(nodes) == {"tools"}) >= 2
    steps = run.state()["tool_steps"]
    assert {s.answered for s in steps} == {True, False}  # each turn recorded, then answered


def test_the_tool_call_limit_ends_with_one_answer_without_tools(
    service: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[tuple[list[Any], dict[str, Any]]] = []
    original = OfflineChatModel._generate

    def spy(self, messages, stop=None, run_manager=None, **kwargs):
        if run_manager and run_manager.metadata.get("dialectic_agent") == "agent-architect":
            prompts.append((list(messages), kwargs))
        return original(self, messages, stop=stop, run_manager=run_manager, **kwargs)

    monkeypatch.setattr(OfflineChatModel, "_generate", spy)
    _, result = run_debate(settings_for(service, limit=1))
    assert result.status == "completed"
    proposal = architect_proposal(result)
    assert proposal["metadata"]["toolCallIterations"] == 1
    messages, kwargs = prompts[1]  # the proposal's second (and last) request
    assert "tools" not in kwargs
    assert (
        isinstance(messages[-1], HumanMessage)
        and messages[-1].content == agent_template("architect", "tools_spent").strip()
    )
    assert any(isinstance(m, ToolMessage) for m in messages)


def test_without_context_the_file_tools_say_so_and_the_debate_goes_on(service: Path) -> None:
    _, result = run_debate(settings_for(None))
    assert result.status == "completed"
    proposal = architect_proposal(result)
    first = json.loads(proposal["metadata"]["toolResults"][0]["content"])
    assert first["status"] == "error" and "--context" in first["error"]


def test_the_context_folder_is_kept_with_the_debate(service: Path, isolated: Path) -> None:
    from dialectic.runner.run import resume_debate, start_debate

    settings = settings_for(service, rounds=2).model_copy(update={"steer": True})
    paused = start_debate(PROBLEM, settings, debate_id="kept")
    assert paused.status == "waiting_for_input"
    resumed = resume_debate("kept", given={"steering": {"note": ""}})
    assert resumed.status == "completed", resumed.message
    second = [
        c for c in resumed.record.dump()["rounds"][1]["contributions"] if c["agentId"] == "agent-architect"
    ]
    assert second and all("LEASE_SECONDS = 30" in c["content"] for c in second if c["type"] != "proposal")
