"""Tracing a debate's LLM calls and graph steps, never changing what the debate does.

- LangSmith works through its standard environment variables (``LANGSMITH_TRACING=true``,
  ``LANGSMITH_API_KEY``, optionally ``LANGSMITH_PROJECT`` and ``LANGSMITH_ENDPOINT``): LangChain
  attaches its tracer by itself. Without them nothing is traced and nothing is sent.
  ``debate.trace: "langsmith"`` traces even without ``LANGSMITH_TRACING`` when a key is set.
- ``debate.trace: "langfuse"`` attaches Langfuse's LangChain callback when the ``langfuse``
  package is installed and ``LANGFUSE_PUBLIC_KEY``/``LANGFUSE_SECRET_KEY`` are set (host:
  ``LANGFUSE_HOST`` or ``LANGFUSE_BASE_URL``); otherwise the run warns once and goes untraced.

Callbacks are observers: LangChain logs and ignores a callback's errors (``raise_error`` is off),
so a tracing outage never fails, repeats or alters an LLM call.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dialectic.configs.settings import RunSettings

LANGFUSE_KEYS = ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY")
LANGSMITH_KEYS = ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")


@dataclass
class Tracing:
    callbacks: list[Any] = field(default_factory=list)
    warning: str | None = None
    flushers: list[Callable[[], object]] = field(default_factory=list)

    def flush(self) -> None:
        """Send what the callbacks buffered; a tracing failure is never the debate's."""
        for flush in self.flushers:
            with contextlib.suppress(Exception):
                flush()


def tracing_for(settings: RunSettings, env: Mapping[str, str] | None = None) -> Tracing:
    env = os.environ if env is None else env
    trace = settings.config.debate.trace
    if trace == "langfuse":
        return _langfuse(env)
    if trace == "langsmith":
        return _langsmith(env)
    return Tracing()


def _langfuse(env: Mapping[str, str]) -> Tracing:
    missing = [name for name in LANGFUSE_KEYS if not env.get(name)]
    handler_class = _langfuse_handler_class()
    if handler_class is None:
        return Tracing(
            warning="debate.trace is 'langfuse' but the langfuse package is not installed "
            "(pip install langfuse); the debate runs untraced"
        )
    if missing:
        return Tracing(
            warning=f"debate.trace is 'langfuse' but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set; the debate runs untraced"
        )
    try:
        handler = handler_class()
    except Exception as exc:
        return Tracing(
            warning=f"debate.trace is 'langfuse' but its callback could not start ({type(exc).__name__}: {exc}); the debate runs untraced"
        )
    flush = getattr(handler, "flush", None)  # v2; v3 buffers in its client
    return Tracing(callbacks=[handler], flushers=[flush if callable(flush) else _flush_langfuse_client])


def _langfuse_handler_class() -> Any:
    try:  # Langfuse SDK v3
        from langfuse.langchain import CallbackHandler

        return CallbackHandler
    except ImportError:
        pass
    try:  # Langfuse SDK v2
        from langfuse.callback import CallbackHandler as LegacyHandler

        return LegacyHandler
    except ImportError:
        return None


def _flush_langfuse_client() -> None:
    try:
        from langfuse import get_client
    except ImportError:
        return
    get_client().flush()


def _langsmith(env: Mapping[str, str]) -> Tracing:
    if not any(env.get(name) for name in LANGSMITH_KEYS):
        return Tracing(
            warning="debate.trace is 'langsmith' but LANGSMITH_API_KEY is not set; the debate runs untraced"
        )
    if _truthy(env.get("LANGSMITH_TRACING")) or _truthy(env.get("LANGCHAIN_TRACING_V2")):
        return Tracing()  # LangChain attaches its tracer from the environment
    from langchain_core.tracers.langchain import LangChainTracer, wait_for_all_tracers

    return Tracing(callbacks=[LangChainTracer()], flushers=[wait_for_all_tracers])


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")
