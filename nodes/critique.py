"""Each agent critiques a peer's proposal (one Send per critic-target pair), or, in batched
mode, all its peers' proposals in one call."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from dialectic.debate.context import DebateContext
from dialectic.debate.phases import CRITIQUE
from dialectic.debate.state import AgentTask
from dialectic.nodes.agent_call import contribute


def critique(task: AgentTask, runtime: Runtime[DebateContext]) -> dict[str, Any]:
    # A batched critique (no target) covers every peer and has a template of its own.
    template = CRITIQUE.template if task.target_agent_id else f"{CRITIQUE.template}_all"
    return contribute(task, runtime, CRITIQUE, template)
