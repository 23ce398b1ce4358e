"""Pydantic models of the evaluator config file (spec §5), compatible with the TypeScript tool's
``eval_config.json``: ``{"agents": [{id, name, model, provider, systemPromptPath?,
userPromptPath?, timeout?, enabled?}]}``, plus this tool's ``baseUrl``, ``apiKeyEnv`` and
``maxRetries`` and ``price`` (as a debate agent's). Unknown keys are forgiven with a warning, as in the debate config (unless strict)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from dialectic.configs.providers import OFFLINE
from dialectic.configs.schema import MAX_RETRIES, MAX_TIMEOUT_SECONDS, AgentConfig, ApiKeyEnv, Price, Provider

# Evaluators score, they do not create: a low temperature keeps repeated runs close.
EVALUATOR_TEMPERATURE = 0.1


class EvaluatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    provider: Provider
    systemPromptPath: str | None = None
    userPromptPath: str | None = None
    timeout: float | None = Field(
        None, gt=0, le=MAX_TIMEOUT_SECONDS * 1000, description="call timeout in milliseconds"
    )
    enabled: bool = True
    baseUrl: str | None = Field(None, pattern=r"^https?://")
    apiKeyEnv: ApiKeyEnv | None = None
    maxRetries: int = Field(3, ge=0, le=MAX_RETRIES)
    price: Price | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _numeric_ids_are_names(cls, value: object) -> object:
        # The TypeScript tool accepts numeric ids and uses them as strings.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def as_agent(self, *, offline: bool = False) -> AgentConfig:
        """The agent config the shared provider layer (factory, llm) works with."""
        settings: dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "role": "generalist",
            "model": self.model,
            "provider": OFFLINE if offline else self.provider,
            "temperature": EVALUATOR_TEMPERATURE,
            "baseUrl": self.baseUrl,
            "apiKeyEnv": self.apiKeyEnv,
            "maxRetries": self.maxRetries,
            "price": self.price,
        }
        if self.timeout is not None:
            settings["timeoutSeconds"] = self.timeout / 1000
        return AgentConfig.model_validate(settings)


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    agents: list[EvaluatorConfig] = Field(min_length=1)
    strict: StrictBool = False  # unknown keys are errors, not warnings (as --strict)

    @model_validator(mode="after")
    def _unique_ids(self) -> EvalConfig:
        seen: set[str] = set()
        for index, agent in enumerate(self.agents):
            if agent.id in seen:
                raise ValueError(f"agents[{index}].id: duplicate evaluator id {agent.id!r}")
            seen.add(agent.id)
        return self

    def enabled_agents(self) -> list[EvaluatorConfig]:
        return [agent for agent in self.agents if agent.enabled]
