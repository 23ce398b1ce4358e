"""The evaluation graph: one concurrent branch per evaluator call, then done.

    START ──Send × (evaluators × runs [× 2 orders])──> evaluate ──> END

It has no checkpointer: an evaluation is cheap to rerun and writes nothing but its output.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

from dialectic.evaluation.state import EvaluationContext, EvaluationState
from dialectic.nodes.evaluate import evaluate
from dialectic.nodes.llm import RETRY


def fan_out(state: EvaluationState) -> list[Send]:
    return [Send("evaluate", task) for task in state["tasks"]]


def build_graph() -> StateGraph[EvaluationState, EvaluationContext, EvaluationState, EvaluationState]:
    """The uncompiled evaluation graph."""
    graph = StateGraph(EvaluationState, context_schema=EvaluationContext)
    # Reached only through Send: the node receives its task, not the state (hence ``Any``).
    node: Any = evaluate
    graph.add_node("evaluate", node, input_schema=EvaluationState, retry_policy=RETRY)
    graph.add_conditional_edges(START, fan_out, ["evaluate"])
    graph.add_edge("evaluate", END)
    return graph
