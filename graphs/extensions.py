"""Where extension nodes go in the debate graph. The extensions at one position form a chain
that the position's router enters once per round (``routing.ExtensionPoints``); the chain's
last node continues where the router would have gone without them."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

from langgraph.graph import StateGraph
from langgraph.runtime import Runtime
from pydantic import ValidationError

from dialectic.configs.loader import describe_validation_error
from dialectic.configs.schema import EXTENSION_POSITIONS, ExtensionSpec
from dialectic.debate.context import DebateContext
from dialectic.debate.phases import PHASES
from dialectic.debate.state import DebateState
from dialectic.errors import ConfigError
from dialectic.extensions.api import Extension
from dialectic.extensions.loading import load_extension
from dialectic.graphs import routing
from dialectic.nodes.extension import extension_node

Chains = dict[str, list[Extension]]
Router = Callable[[DebateState, Runtime[DebateContext]], Any]


def as_extensions(items: Iterable[Extension | Mapping[str, Any]]) -> tuple[Extension, ...]:
    """Extensions given from Python: ``Extension`` objects, or config-shaped dicts whose
    ``callable`` is a "module:function" string (imported like the config's) or the function."""
    found: list[Extension] = []
    for item in items:
        if isinstance(item, Extension):
            found.append(item)
            continue
        entry = dict(item)
        target = entry.get("callable")
        try:
            spec = ExtensionSpec.model_validate(
                {**entry, "callable": target if isinstance(target, str) else None}
            )
        except ValidationError as exc:
            raise ConfigError(
                f"extension {entry.get('name')!r}: {describe_validation_error(exc, ExtensionSpec)}"
            ) from exc
        if callable(target):
            found.append(Extension(spec.name, target, spec.after, spec.options))
        else:
            found.append(load_extension(spec, Path.cwd()))
    return tuple(found)


def chains(extensions: Sequence[Extension]) -> Chains:
    """The extensions by position, in the order given; a name used twice is a config error."""
    seen: set[str] = set()
    by_position: Chains = {}
    for extension in extensions:
        if extension.name in seen:
            raise ConfigError(
                f"extension {extension.name!r} is listed twice; give each extension its own name"
            )
        seen.add(extension.name)
        by_position.setdefault(extension.after, []).append(extension)
    return {position: by_position[position] for position in EXTENSION_POSITIONS if position in by_position}


def points(by_position: Chains) -> routing.ExtensionPoints:
    return routing.ExtensionPoints({position: chain[0].name for position, chain in by_position.items()})


def heads(by_position: Chains, *positions: str) -> list[str]:
    return [by_position[p][0].name for p in positions if p in by_position]


def add_extensions(
    graph: StateGraph[DebateState, DebateContext, DebateState, DebateState],
    by_position: Chains,
    next_round: str = "begin_round",
) -> None:
    """Add each chain's nodes, link them, and route the last one where its position continues."""
    extension_points = points(by_position)
    for position, chain in by_position.items():
        for extension in chain:
            if extension.name in DebateState.__annotations__:
                raise ConfigError(
                    f"extension {extension.name!r}: that name is a key of the debate state; rename it"
                )
            try:
                # The metadata labels the node in drawings (and in traces).
                graph.add_node(
                    extension.name, extension_node(extension), metadata={"extension": f"after {position}"}
                )
            except ValueError as exc:  # a built-in node's name or a state key
                raise ConfigError(
                    f"extension {extension.name!r}: that name is taken by the debate graph ({exc}); rename it"
                ) from exc
        for before, after in pairwise(chain):
            graph.add_edge(before.name, after.name)
        router, destinations = _continuation(position, extension_points, next_round)
        graph.add_conditional_edges(chain[-1].name, router, destinations)


def _continuation(
    position: str, extension_points: routing.ExtensionPoints, next_round: str
) -> tuple[Router, list[str]]:
    """Where a position's chain goes on, and where that may lead: after a round phase's chain,
    wherever the debate goes once that phase is done; after the end-of-round chain, the next
    round or the judge."""
    if position == "round":

        def round_over(state: DebateState, runtime: Runtime[DebateContext]) -> Any:
            return routing.round_ready(state, runtime.context.settings)

        return round_over, routing.ending(next_round)
    phase = PHASES[position]

    def phase_over(state: DebateState, runtime: Runtime[DebateContext]) -> Any:
        return routing.continue_after(phase, state, runtime.context.settings, extension_points)

    return phase_over, routing.continuing(phase, extension_points, next_round)
