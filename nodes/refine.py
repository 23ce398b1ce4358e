"""Each agent revises its proposal in the light of the critiques it received."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic.graphs.context import DebateContext
from dialectic.graphs.state import AgentTask
from dialectic.nodes.agent_call import run_agent_call


def refine(task: AgentTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    return run_agent_call(task, runtime, phase="refine", template="refine", kind="refinement")
