"""The run context of a debate: its settings and the models they name.

Context is not checkpointed. The settings are stored as JSON in the run's metadata and this
object is rebuilt from them on resume; the models are rebuilt lazily from the settings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel

from dialectic.configs.schema import AgentConfig
from dialectic.configs.settings import RunSettings


@dataclass
class DebateContext:
    settings: RunSettings

    def __post_init__(self) -> None:
        # Plain attributes, not fields: the context's JSON schema (LangGraph Server) shows settings only.
        self._models: dict[str, BaseChatModel] = {}
        self._lock = threading.Lock()

    def member(self, agent_id: str) -> AgentConfig:
        return self.settings.agent(agent_id)

    def model(self, agent_id: str) -> BaseChatModel:
        with self._lock:
            if agent_id not in self._models:
                from dialectic.providers.factory import build_chat_model

                self._models[agent_id] = build_chat_model(self.member(agent_id))
            return self._models[agent_id]
