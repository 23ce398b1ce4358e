"""The run context of a debate: its settings, and the models and tools they name.

Context is not checkpointed. The settings are stored as JSON in the run's metadata and this
object is rebuilt from them on resume; models and tools are rebuilt lazily from the settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.caches import BaseCache
from langchain_core.language_models import BaseChatModel
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.tools import BaseTool

from dialectic.configs.schema import AgentConfig
from dialectic.configs.settings import RunSettings
from dialectic.debate.state import Contribution
from dialectic.providers.concurrency import ConcurrencyGate

if TYPE_CHECKING:
    from dialectic.tools import ContributionRecord


@dataclass
class DebateContext:
    settings: RunSettings

    def __post_init__(self) -> None:
        # Plain attributes, not fields: the context's JSON schema (LangGraph Server) shows settings only.
        self._models: dict[str, BaseChatModel] = {}
        self._limiters: dict[str, BaseRateLimiter] = {}
        self._cache: BaseCache | None = None
        self._lock = threading.RLock()  # re-entrant: a server context resolves its settings under it
        self._gate: ConcurrencyGate | None = None
        self._tools: dict[str, list[BaseTool]] = {}
        # The debate's contributions so far, for context_search: set by the runner, which reads
        # the run's latest checkpoint (a node reached through Send does not see the state).
        self.transcript: Callable[[], Sequence[Contribution]] | None = None

    @property
    def gate(self) -> ConcurrencyGate:
        """Admits the debate's LLM calls: under maxConcurrency if set, and per endpoint under a
        limit learned from its 429s (``providers.concurrency``). LangGraph's ``max_concurrency``
        cannot cap calls exactly while a run streams custom events: the stream loop's waiter
        takes a worker of the same pool and gives it up after each event, so a cap of N runs
        N - 1 or N nodes at once and a cap of 1 never starts one (measured on langgraph 1.2.24).
        So this gate caps the calls, and the run's pool is one worker larger than the calls it
        lets run (``runner.run.graph_concurrency``). (Made on first use: a server builds contexts
        where settings cannot be read yet.)"""
        with self._lock:
            if self._gate is None:
                self._gate = ConcurrencyGate(self.settings.config.debate.maxConcurrency)
            return self._gate

    def member(self, agent_id: str) -> AgentConfig:
        return self.settings.agent(agent_id)

    def tools_for(self, agent_id: str) -> list[BaseTool]:
        """The tools the agent's config lists (none for most agents), over the debate's
        ``--context`` folder and its contributions so far."""
        member = self.member(agent_id)
        if not member.tools:
            return []
        with self._lock:
            if agent_id not in self._tools:
                from dialectic.tools import ContextDirectory, ToolContext, build_tools

                folder = self.settings.context_dir
                context = ToolContext(ContextDirectory(folder) if folder else None, self._records)
                self._tools[agent_id] = build_tools([tool.name for tool in member.tools], context)
            return self._tools[agent_id]

    def _records(self) -> list[ContributionRecord]:
        from dialectic.tools import ContributionRecord

        found = self.transcript() if self.transcript is not None else ()
        return [
            ContributionRecord(c.round, c.agent_id, c.agent_role, c.type, c.content)
            for c in found
            if not c.carried
        ]

    def model(self, agent_id: str) -> BaseChatModel:
        with self._lock:
            if agent_id not in self._models:
                from dialectic.providers.factory import build_chat_model

                member = self.member(agent_id)
                self._models[agent_id] = build_chat_model(
                    member, cache=self._response_cache(), rate_limiter=self._limiter(member.provider)
                )
            return self._models[agent_id]

    def prepare_models(self) -> None:
        """Build every member's model now, before the first wave: building the first one imports
        its provider's integration (``langchain_openai`` and ``openai``: about a second), which
        ``model`` would otherwise do under its lock inside the first call, with the whole wave
        waiting behind it."""
        for member in [*self.settings.agents, self.settings.judge]:
            self.model(member.id)

    def _limiter(self, provider: str) -> BaseRateLimiter | None:
        """One limiter per provider, shared by all its agents (a node-level one would not cap the total)."""
        rate = self.settings.config.debate.requestsPerSecond.get(provider)
        if rate is None:
            return None
        if provider not in self._limiters:
            from langchain_core.rate_limiters import InMemoryRateLimiter

            self._limiters[provider] = InMemoryRateLimiter(
                requests_per_second=rate, check_every_n_seconds=min(0.05, 1 / rate), max_bucket_size=1
            )
        return self._limiters[provider]

    def close(self) -> None:
        """Release what the debate opened for its calls: the response cache's database (the
        providers' HTTP clients are shared by every debate in the process and stay open). The
        models that read the cache go with it: a context used again builds them afresh."""
        with self._lock:
            cache, self._cache = self._cache, None
            self._models.clear()
        close = getattr(cache, "close", None)
        if close is not None:
            close()

    def _response_cache(self) -> BaseCache | None:
        path = self.settings.config.debate.cache
        if path and self._cache is None:
            from dialectic.providers.cache import SQLiteResponseCache

            self._cache = SQLiteResponseCache(Path(path))
        return self._cache
