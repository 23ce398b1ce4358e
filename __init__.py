"""Dialectic: multi-agent software-design debates on a LangGraph state machine.

The library API, for notebooks and scripts::

    from dialectic import load_config, run_debate

    settings = load_config("debate-config.json", offline=True)
    result = run_debate("Design a URL shortener. Links must never collide.", settings)
    print(result.status, result.solution)

Names are imported on first use, so ``import dialectic`` (and the CLI's start-up) stays free
of LangGraph and LangChain.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dialectic.configs.settings import RunSettings
    from dialectic.debate.context import DebateContext
    from dialectic.errors import ConfigError, DialecticError, InputError, ProviderError
    from dialectic.extensions.api import Extension, ExtensionContext, ExtensionUpdate
    from dialectic.extensions.view import DebateView
    from dialectic.graphs.debate import GraphOptions, build_graph
    from dialectic.report.markdown import render_report
    from dialectic.runner.library import DialecticWarning, load_config, run_debate
    from dialectic.runner.run import DebateResult, resume_debate
    from dialectic.transcript.schema import DebateRecord

_EXPORTS: dict[str, str] = {
    "run_debate": "dialectic.runner.library",
    "load_config": "dialectic.runner.library",
    "DialecticWarning": "dialectic.runner.library",
    "resume_debate": "dialectic.runner.run",
    "DebateResult": "dialectic.runner.run",
    "build_graph": "dialectic.graphs.debate",
    "GraphOptions": "dialectic.graphs.debate",
    "DebateContext": "dialectic.debate.context",
    "RunSettings": "dialectic.configs.settings",
    "DebateRecord": "dialectic.transcript.schema",
    "render_report": "dialectic.report.markdown",
    "Extension": "dialectic.extensions.api",
    "ExtensionContext": "dialectic.extensions.api",
    "ExtensionUpdate": "dialectic.extensions.api",
    "DebateView": "dialectic.extensions.view",
    "DialecticError": "dialectic.errors",
    "ConfigError": "dialectic.errors",
    "InputError": "dialectic.errors",
    "ProviderError": "dialectic.errors",
}

__all__ = [
    "ConfigError",
    "DebateContext",
    "DebateRecord",
    "DebateResult",
    "DebateView",
    "DialecticError",
    "DialecticWarning",
    "Extension",
    "ExtensionContext",
    "ExtensionUpdate",
    "GraphOptions",
    "InputError",
    "ProviderError",
    "RunSettings",
    "build_graph",
    "load_config",
    "render_report",
    "resume_debate",
    "run_debate",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dialectic' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
