"""Round 1: each agent proposes a design (one Send per agent)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic.graphs.context import DebateContext
from dialectic.graphs.state import AgentTask
from dialectic.nodes.agent_call import run_agent_call


def propose(task: AgentTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    return run_agent_call(task, runtime, phase="propose", template="propose", kind="proposal")
