"""Each agent revises its proposal in the light of the critiques it received."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic.debate.context import DebateContext
from dialectic.debate.phases import REFINE
from dialectic.debate.state import AgentTask
from dialectic.nodes.agent_call import contribute


def refine(task: AgentTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    return contribute(task, runtime, REFINE)
