"""The debate graph. This module only wires: the phases come from the phase table
(``dialectic.debate.phases``), their nodes from ``dialectic.nodes`` (one module per node, named
by the node id), the routers from ``dialectic.graphs.routing``.

    begin_round ─┬─ round 1 ──> propose × N ──> proposals_done ──> critique × N(N-1)
                 └─ round ≥ 2 ─────────────────────────────────────> critique × N(N-1)
    critique ──> critiques_done ──> refine × N  (+ summarize × k, in the same step)
    refine, summarize ──> round_done ──> begin_round | convergence | judge

With ``clarify``, START goes to clarify × N ──> ask_user (pause) ──> clarify × k (follow-ups) |
begin_round. With ``steer``, the way to the next round passes through steer (pause). Extensions
(``GraphOptions.extensions``) are chains of nodes entered once per round after the proposals, the
critiques, the refinements or at the end of the round (graphs/extensions.py).

Every node that calls a model runs under the LLM retry policy (``nodes/llm.py``) and, after its
last attempt, hands its failure to ``nodes/failed.py``, which records it and goes on to the
phase's join.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.runnables.graph import Graph as DrawableGraph
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from dialectic.configs.settings import RunSettings
from dialectic.debate.context import DebateContext
from dialectic.debate.phases import CLARIFY, CONVERGENCE, PHASES, ROUND, SUMMARIZE, SYNTHESIZE, Phase
from dialectic.debate.state import DebateState
from dialectic.extensions.api import Extension
from dialectic.graphs import extensions as ext
from dialectic.graphs import routing
from dialectic.nodes.ask_user import ask_user
from dialectic.nodes.begin_round import begin_round
from dialectic.nodes.failed import record_failure
from dialectic.nodes.join import join
from dialectic.nodes.llm import RETRY
from dialectic.nodes.steer import steer
from dialectic.nodes.tools import tools

Router = Callable[[DebateState, Runtime[DebateContext]], routing.Route]


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


def _task_node(node: Any) -> Any:
    """A node reached through Send receives its task payload, not the state: LangGraph's types
    cannot say so, hence ``Any``."""
    return node


def node_of(phase: Phase) -> Any:
    """The function of a phase's node: ``dialectic.nodes.<node>.<node>``."""
    return _task_node(getattr(importlib.import_module(f"dialectic.nodes.{phase.node}"), phase.node))


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
    next_round = "steer" if options.steer else "begin_round"
    graph = StateGraph(DebateState, context_schema=DebateContext)
    # Only failures marked retryable are retried (nodes/llm.py): other nodes never are.
    graph.set_node_defaults(retry_policy=RETRY)
    graph.add_node("begin_round", begin_round)

    calling = [*ROUND, SUMMARIZE, CONVERGENCE, SYNTHESIZE, *([CLARIFY] if options.clarify else [])]
    for node in dict.fromkeys(phase.node for phase in calling):
        phase = next(p for p in calling if p.node == node)
        # A node reached through Send gets its task as input: input_schema=DebateState keeps the
        # task's fields from becoming graph channels.
        schema = None if phase.fanout == "judge" else DebateState
        graph.add_node(node, node_of(phase), input_schema=schema, error_handler=record_failure)
    for name in dict.fromkeys(phase.join for phase in ROUND):
        graph.add_node(name, join(name))
    # The tools a round phase's model called; the call goes back to its model (a Send).
    graph.add_node(
        routing.TOOLS_NODE,
        _task_node(tools),
        input_schema=DebateState,
        destinations=tuple(p.node for p in ROUND),
    )

    ext.add_extensions(graph, chains, next_round)

    if options.clarify:
        graph.add_node("ask_user", ask_user)
        graph.add_conditional_edges(START, _router(routing.start_clarifying), [CLARIFY.node, "begin_round"])
        graph.add_edge(CLARIFY.node, "ask_user")
        graph.add_conditional_edges("ask_user", _router(routing.after_answers), [CLARIFY.node, "begin_round"])
    else:
        graph.add_edge(START, "begin_round")

    def begun(state: DebateState, runtime: Runtime[DebateContext]) -> routing.Route:
        return routing.after_begin_round(state, runtime.context.settings, points)

    graph.add_conditional_edges("begin_round", begun, routing.entering(ROUND[0], points, next_round))
    for phase in ROUND:
        graph.add_edge(phase.node, phase.join)
        graph.add_conditional_edges(
            phase.join, _joined(phase, points), routing.after_joining(phase, points, next_round)
        )
    graph.add_edge(SUMMARIZE.node, ROUND[-1].join)
    graph.add_edge(CONVERGENCE.node, ROUND[-1].join)
    if options.steer:
        graph.add_node("steer", steer)
        graph.add_edge("steer", "begin_round")
    graph.add_edge(SYNTHESIZE.node, END)
    return graph


# How LangGraph names the node it adds for a node's error handler (langgraph 1.2).
_HANDLER_PREFIX = "__error_handler__"


def drawing(options: GraphOptions | None = None) -> DrawableGraph:
    """The compiled graph as ``dialectic graph`` draws it. LangGraph draws the error handler of
    each node that calls a model as a node of its own with no edge; here it stands between the
    node (when its calls fail for good) and the join it goes on to."""
    drawn = build_graph(options).compile().get_graph()
    for node_id in list(drawn.nodes):
        failed = node_id.removeprefix(_HANDLER_PREFIX)
        if failed == node_id or failed not in drawn.nodes:
            continue
        join = next(phase.join for phase in PHASES.values() if phase.node == failed)
        drawn.nodes[node_id] = drawn.nodes[node_id].copy(name=f"{failed} failed")
        drawn.add_edge(drawn.nodes[failed], drawn.nodes[node_id], data="failed", conditional=True)
        drawn.add_edge(drawn.nodes[node_id], drawn.nodes[join], conditional=True)
    return drawn


def _joined(phase: Phase, points: routing.ExtensionPoints) -> Router:
    def router(state: DebateState, runtime: Runtime[DebateContext]) -> routing.Route:
        return routing.after_join(phase, state, runtime.context.settings, points)

    router.__name__ = f"after_{phase.join}"
    return router


def _router(route: Callable[[DebateState, RunSettings], routing.Route]) -> Router:
    def router(state: DebateState, runtime: Runtime[DebateContext]) -> routing.Route:
        return route(state, runtime.context.settings)

    router.__name__ = route.__name__
    return router
