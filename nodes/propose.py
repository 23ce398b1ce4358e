"""Round 1: each agent proposes a design (one Send per agent)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic.debate.context import DebateContext
from dialectic.debate.phases import PROPOSE
from dialectic.debate.state import AgentTask
from dialectic.nodes.agent_call import contribute


def propose(task: AgentTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    return contribute(task, runtime, PROPOSE)
