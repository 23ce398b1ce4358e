"""Each agent critiques a peer's proposal (one Send per critic-target pair), or, in batched
mode, all its peers' proposals in one call."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic.graphs.context import DebateContext
from dialectic.graphs.state import AgentTask
from dialectic.nodes.agent_call import run_agent_call


def critique(task: AgentTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    template = "critique" if task.target_agent_id else "critique_all"
    return run_agent_call(task, runtime, phase="critique", template=template, kind="critique")
