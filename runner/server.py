"""The debate graph as LangGraph Server and Studio serve it (``langgraph dev``; see
langgraph.json). Compiled without a checkpointer: the server brings its own.

A run's input is ``{"problem": "..."}``; its ``context`` (all optional) is
``{"config": {...a debate-config.json object...}, "offline": bool, "rounds": int}``. Without a
config the run uses ``DIALECTIC_CONFIG`` (a config file path) if set, else the built-in agents;
``offline`` defaults to true when the run names no config and ``DIALECTIC_CONFIG`` is unset, so
the served graph works with no key at all. The graph's shape (its extensions, clarification) is
fixed when the server starts, from ``DIALECTIC_CONFIG``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import os
import warnings
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from dialectic.configs.settings import RunSettings
from dialectic.debate.context import DebateContext
from dialectic.debate.state import DebateState
from dialectic.errors import ConfigError
from dialectic.graphs.debate import build_graph, options_for

CONFIG_ENV = "DIALECTIC_CONFIG"


def server_settings(
    config: dict[str, Any] | None, *, offline: bool | None, rounds: int | None
) -> RunSettings:
    from dialectic.runner.library import load_config

    configured = config is not None or bool(os.environ.get(CONFIG_ENV))
    source: dict[str, Any] | str | None = config if config is not None else os.environ.get(CONFIG_ENV)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no debate-config.json here" means nothing on a server
        return load_config(
            source if source is not None else _builtin_config(),
            offline=(not configured) if offline is None else offline,
            rounds=rounds,
        )


def _builtin_config() -> dict[str, Any]:
    import json

    from dialectic.configs.loader import builtin_config_text

    document: dict[str, Any] = json.loads(builtin_config_text())
    return document


@dataclass
class ServerContext(DebateContext):
    """The run context the server builds from a run's ``context`` object. The settings are
    resolved on first use, inside a node: the server builds this object on its event loop,
    where reading config and prompt files would block it."""

    settings: RunSettings = field(init=False, repr=False)  # resolved by __getattr__
    config: dict[str, Any] | None = None  # a debate config; default: DIALECTIC_CONFIG, else built-in
    offline: bool | None = None  # the simulated model; default: true unless a config is named
    rounds: int | None = None  # overrides the config's debate.rounds

    def __getattr__(self, name: str) -> Any:
        if name != "settings":
            raise AttributeError(name)
        with self._lock:
            if "settings" not in self.__dict__:
                settings = server_settings(self.config, offline=self.offline, rounds=self.rounds)
                asked = [spec.name for spec in settings.config.extensions]
                if asked != SERVED_EXTENSIONS:
                    raise ConfigError(
                        f"this run's config asks for extensions {asked or 'none'} but the served graph "
                        f"has {SERVED_EXTENSIONS or 'none'}; extensions shape the graph: set them in "
                        f"{CONFIG_ENV} before starting the server"
                    )
                self.settings = settings
        return self.__dict__["settings"]


# The server runs a graph with asyncio, and LangGraph runs a sync node in the event loop's
# default executor: min(32, cpu count + 4) threads, so a 2-core server ran 6 of a 6-agent
# critique phase's 30 calls at once (measured on langgraph 1.2.24). Our nodes get their own
# pool instead, shared by the server's concurrent runs; its threads start only when needed, and
# each debate's calls are still admitted by its gate (DebateContext.gate).
NODE_THREADS = 256
_node_pool = ThreadPoolExecutor(max_workers=NODE_THREADS, thread_name_prefix="dialectic-node")


def _in_node_pool(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StopIteration as exc:  # a future cannot carry it: the run would wait forever
            raise RuntimeError(f"{func.__name__} raised StopIteration") from exc

    @functools.wraps(func)
    async def run(*args: Any, **kwargs: Any) -> Any:
        # The node reads its config, runtime and stream writer from context variables.
        task = functools.partial(contextvars.copy_context().run, call, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(_node_pool, task)

    return run


def _threaded(builder: Any) -> None:
    """Give each sync node an async form that runs it in the node pool."""
    for spec in builder.nodes.values():
        runnable = spec.runnable
        func = getattr(runnable, "func", None)
        if func is not None and hasattr(runnable, "afunc") and not inspect.iscoroutinefunction(func):
            runnable.afunc = _in_node_pool(func)


def make_graph() -> tuple[
    CompiledStateGraph[DebateState, ServerContext, DebateState, DebateState], list[str]
]:
    """The served graph, and the names of its extensions."""
    options = options_for(server_settings(None, offline=None, rounds=None))
    builder: Any = build_graph(options)
    builder.context_schema = ServerContext  # the server's context JSON becomes a ServerContext
    _threaded(builder)
    compiled: CompiledStateGraph[DebateState, ServerContext, DebateState, DebateState] = builder.compile(
        name="dialectic-debate"
    )
    # Debates are long but finite; the default limit of 25 steps is less than three rounds.
    # (Calls using tools take three more steps a turn: the join, the tools, the next turn.)
    steps_per_round = 12 + len(options.extensions) + 3 * 3 * 11
    limited = compiled.with_config(recursion_limit=100 + steps_per_round * 100)
    return limited, [extension.name for extension in options.extensions]


graph, SERVED_EXTENSIONS = make_graph()
