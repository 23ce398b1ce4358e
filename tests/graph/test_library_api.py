"""The library API end to end, as a notebook uses it: no CLI, no subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver

PROBLEM = "Design a rate limiter for a public API. It must allow 100 requests per minute per key."
CONFIG = {
    "agents": [
        {"id": "arch", "name": "Arch", "role": "architect", "model": "m", "provider": "offline"},
        {"id": "sec", "name": "Sec", "role": "security", "model": "m", "provider": "offline"},
    ],
    "debate": {"rounds": 2, "summarization": {"enabled": False}},
}


def refinement_lengths(view, context):
    return {"data": {c.agent_id: len(c.content) for c in view.current.refinements}}


def test_run_debate_load_config_and_build_graph(isolated: Path) -> None:
    from dialectic import (
        DebateContext,
        DebateResult,
        Extension,
        build_graph,
        load_config,
        render_report,
        resume_debate,
        run_debate,
    )

    settings = load_config(CONFIG, offline=True)
    lengths = Extension("lengths", refinement_lengths, after="refine")
    result = run_debate(PROBLEM, settings, extensions=[lengths], debate_id="lib-1")

    assert isinstance(result, DebateResult)
    assert result.status == "completed" and result.exit_code == 0
    assert result.solution and "## Judge Assessment" in result.solution
    saved = json.loads((isolated / "debates" / "lib-1.json").read_text())
    assert [run["round"] for run in saved["extensions"]["lengths"]["runs"]] == [1, 2]
    assert saved["extensions"]["lengths"]["callable"].endswith(":refinement_lengths")
    assert "## Final Synthesis" in render_report(result.record)
    again = resume_debate("lib-1", extensions=[lengths])
    assert again.already_complete and again.status == "completed"

    # The uncompiled graph, compiled and invoked like any LangGraph graph.
    graph = build_graph(extensions=[lengths]).compile(checkpointer=InMemorySaver())
    state = graph.invoke(
        {"problem": PROBLEM}, {"configurable": {"thread_id": "nb-1"}}, context=DebateContext(settings)
    )
    assert state["final_solution"].confidence > 0
    assert [run.round for run in state["extension_runs"]] == [1, 2]


def test_load_config_reads_files_and_warns_like_the_cli(isolated: Path) -> None:
    from dialectic import DialecticWarning, load_config

    document = {**CONFIG, "agents": [{**CONFIG["agents"][0], "systemPromptPath": "missing.md"}]}
    (isolated / "debate-config.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.warns(DialecticWarning, match="missing.md"):
        settings = load_config(isolated / "debate-config.json", rounds=1, offline=True)
    assert settings.config.debate.rounds == 1 and settings.agents[0].provider == "offline"


def test_errors_are_exceptions_carrying_the_exit_code(isolated: Path) -> None:
    from dialectic import ConfigError, DialecticWarning, run_debate

    with pytest.warns(DialecticWarning, match="built-in configuration"), pytest.raises(ConfigError) as caught:
        run_debate(PROBLEM)  # the built-in agents use OpenAI, and no key is set
    assert caught.value.exit_code == 4 and "OPENAI_API_KEY" in str(caught.value)
    with pytest.raises(ConfigError, match="'bad'"):
        run_debate(
            PROBLEM,
            CONFIG,
            offline=True,
            extensions=[{"name": "bad", "callable": "nope:f", "after": "round"}],
        )


def test_importing_dialectic_stays_light() -> None:
    code = (
        "import sys, dialectic, dialectic.cli\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('langgraph', 'langchain')))\n"
        "assert not heavy, heavy\n"
        "assert 'run_debate' in dir(dialectic)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
