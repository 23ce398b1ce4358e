"""The debate graph. This module only wires: nodes live in ``dialectic.nodes``, routers in
``dialectic.graphs.routing``.

    begin_round ─┬─ round 1 ──> propose × N ──> proposals_done ──> critique × N(N-1)
                 └─ round ≥ 2 ─────────────────────────────────────> critique × N(N-1)
    critique ──> critiques_done ──> refine × N  (+ summarize × k, in the same step)
    refine, summarize ──> round_done ──> begin_round | convergence | judge

With ``clarify``, START goes to clarify × N ──> ask_user (pause) ──> clarify × k (follow-ups) |
begin_round. With ``steer``, the way to the next round passes through steer (pause). Extensions
(``GraphOptions.extensions``) are chains of nodes entered once per round after the proposals, the
critiques, the refinements or at the end of the round (graphs/extensions.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from dialectic.configs.settings import RunSettings
from dialectic.extensions.api import Extension
from dialectic.graphs import extensions as ext
from dialectic.graphs import routing
from dialectic.graphs.context import DebateContext
from dialectic.graphs.state import AgentTask, ClarifyTask, DebateState
from dialectic.nodes.ask_user import ask_user
from dialectic.nodes.begin_round import begin_round
from dialectic.nodes.clarify import clarify
from dialectic.nodes.collect import critiques_done, proposals_done, round_done
from dialectic.nodes.convergence import convergence
from dialectic.nodes.critique import critique
from dialectic.nodes.judge import judge
from dialectic.nodes.propose import propose
from dialectic.nodes.refine import refine
from dialectic.nodes.steer import steer
from dialectic.nodes.summarize import summarize

Task = TypeVar("Task", AgentTask, ClarifyTask)


def _task_node(node: Callable[[Task, Runtime[DebateContext]], dict[str, Any]]) -> Any:
    """A node reached only through Send receives its task payload, not the state; LangGraph's
    types cannot say so, hence ``Any``. ``input_schema=DebateState`` keeps the task's fields
    from becoming graph channels."""
    return node


@dataclass(frozen=True)
class GraphOptions:
    """What the configuration adds to the graph's shape (the rest is decided by routers)."""

    clarify: bool = False  # a clarification phase before round 1
    steer: bool = False  # a pause for the user's note after each round
    extensions: tuple[Extension, ...] = ()  # user nodes, in order (dialectic.extensions)


def options_for(settings: RunSettings, extensions: Sequence[Extension] = ()) -> GraphOptions:
    """The graph a run's settings call for; ``extensions`` supplies functions already at hand
    for config entries of the same name (the others are imported)."""
    from dialectic.extensions.loading import resolve_extensions

    return GraphOptions(
        # --clarify or the config's interactiveClarifications: either one is enough.
        clarify=settings.clarify or settings.config.debate.interactiveClarifications,
        steer=settings.steer,
        extensions=resolve_extensions(settings, extensions),
    )


def build_graph(
    options: GraphOptions | None = None,
    *,
    extensions: Iterable[Extension | Mapping[str, Any]] | None = None,
) -> StateGraph[DebateState, DebateContext, DebateState, DebateState]:
    """The uncompiled debate graph; the caller compiles it with the checkpointer it chooses.

    ``extensions`` adds extension nodes to those of ``options``: ``Extension`` objects or
    config-shaped dicts (``{"name", "callable", "after", "options"}``).
    """
    options = options or GraphOptions()
    if extensions is not None:
        options = replace(options, extensions=(*options.extensions, *ext.as_extensions(extensions)))
    chains = ext.chains(options.extensions)
    points = ext.points(chains)
    # routing.round_ready says "steer" instead of "begin_round" when steering is on.
    next_round = "steer" if options.steer else "begin_round"
    graph = StateGraph(DebateState, context_schema=DebateContext)
    graph.add_node("begin_round", begin_round)
    # Reached only through Send: each call gets its own task payload, not the state.
    graph.add_node("propose", _task_node(propose), input_schema=DebateState)
    graph.add_node("critique", _task_node(critique), input_schema=DebateState)
    graph.add_node("refine", _task_node(refine), input_schema=DebateState)
    graph.add_node("summarize", _task_node(summarize), input_schema=DebateState)
    graph.add_node("proposals_done", proposals_done)
    graph.add_node("critiques_done", critiques_done)
    graph.add_node("round_done", round_done)
    graph.add_node("convergence", convergence)
    graph.add_node("judge", judge)

    ext.add_extensions(graph, chains, next_round)

    if options.clarify:
        graph.add_node("clarify", _task_node(clarify), input_schema=DebateState)
        graph.add_node("ask_user", ask_user)
        graph.add_conditional_edges(START, routing.start_clarifying, ["clarify", "begin_round"])
        graph.add_edge("clarify", "ask_user")
        graph.add_conditional_edges("ask_user", routing.after_answers, ["clarify", "begin_round"])
    else:
        graph.add_edge(START, "begin_round")
    graph.add_conditional_edges(
        "begin_round",
        ext.with_points(routing.after_begin_round, points),
        ["propose", "critique", "critiques_done", *ext.heads(chains, "propose")],
    )
    graph.add_edge("propose", "proposals_done")
    graph.add_conditional_edges(
        "proposals_done",
        ext.with_points(routing.after_proposals, points),
        ["propose", "critique", "critiques_done", *ext.heads(chains, "propose")],
    )
    graph.add_edge("critique", "critiques_done")
    graph.add_conditional_edges(
        "critiques_done",
        ext.with_points(routing.after_critiques, points),
        ["critique", "refine", "summarize", *ext.heads(chains, "critique")],
    )
    graph.add_edge("refine", "round_done")
    graph.add_edge("summarize", "round_done")
    graph.add_edge("convergence", "round_done")
    if options.steer:
        graph.add_node("steer", steer)
        graph.add_edge("steer", "begin_round")
    graph.add_conditional_edges(
        "round_done",
        ext.with_points(routing.after_round, points),
        ["refine", "summarize", "convergence", next_round, "judge", *ext.heads(chains, "refine", "round")],
    )
    graph.add_edge("judge", END)
    return graph
