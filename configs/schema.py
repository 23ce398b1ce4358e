"""Pydantic models of the debate config file (spec §2), compatible with the TypeScript tool.

Keys are camelCase as in the TypeScript files; the models reject unknown keys (``extra="forbid"``).
What the TypeScript tool accepts anyway (unknown keys, an unknown role…) is forgiven with a
warning before validation, by configs/leniency.py, unless the config is strict.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dialectic.configs.providers import PROVIDER_NAMES

BUILTIN_ROLES: tuple[str, ...] = (
    "architect",
    "performance",
    "security",
    "testing",
    "kiss",
    "generalist",
    "datamodeling",
)
# The prompts of an agent whose role is neither built in nor given a promptsDir (as in TypeScript).
UNKNOWN_ROLE_PROMPTS = "architect"
# Where an extension node can run in every round: after the proposals, the critiques, the
# refinements, or at the end of the round (after the convergence check, before the next round
# or the judge).
EXTENSION_POSITIONS: tuple[str, ...] = ("propose", "critique", "refine", "round")


def unknown(kind: str, name: str, known: tuple[str, ...], otherwise: str) -> ValueError:
    """The error for a name that is not among the known ones, with a "did you mean"."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ValueError(f"unknown {kind} {name!r}: {hint}use one of {', '.join(known)}{otherwise}")


def _known_provider(name: str) -> str:
    if name in PROVIDER_NAMES:
        return name
    raise unknown(
        "provider", name, PROVIDER_NAMES, " (or openai with a baseUrl for any OpenAI-compatible server)"
    )


# A provider of configs/providers.py, or the offline model.
Provider = Annotated[str, AfterValidator(_known_provider)]

# apiKeyEnv names the variable whose value is sent as the endpoint's key. A config is often
# someone else's: it may name only a variable that looks like an LLM key, never another secret
# of the environment (AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN…) for the server its baseUrl names.
_KEY_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*_(API_KEY|KEY|TOKEN)$")
_OTHER_CREDENTIALS = frozenset(
    [
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PRIVATE",
        "SESSION",
        "SSH",
        "AWS",
        "GITHUB",
        "GH",
        "GITLAB",
        "NPM",
        "PYPI",
        # Other services' credentials that also end in _KEY or _TOKEN.
        "SLACK",
        "CLOUDFLARE",
        "VAULT",
        "HEROKU",
        "STRIPE",
        "LANGSMITH",
        "LANGCHAIN",
        "SENTRY",
        "DOCKER",
        "TWILIO",
        "SENDGRID",
        "DATABASE",
        "DB",
    ]
)


def _llm_key_variable(name: str) -> str:
    if _KEY_VARIABLE.match(name) and not _OTHER_CREDENTIALS & set(name.split("_")):
        return name
    raise ValueError(
        f"{name!r} does not look like the variable of an LLM API key: use an upper-case name ending in "
        "_API_KEY, _KEY or _TOKEN that names no other credential (no SECRET, PASSWORD, AWS, GITHUB…), "
        "e.g. MY_LLM_API_KEY"
    )


ApiKeyEnv = Annotated[str, AfterValidator(_llm_key_variable)]
MAX_RETRIES = 10  # the most retries an agent's maxRetries may ask for
MAX_TIMEOUT_SECONDS = 3600  # the longest timeoutSeconds (also the cap of --timeout)
MAX_CONCURRENCY = 256  # the most calls in flight maxConcurrency may ask for (and --max-concurrency)
# The agent tools a config may list (dialectic.tools builds them), under the TypeScript tool's names.
TOOL_NAMES: tuple[str, ...] = ("context_search", "file_read", "list_files")


class _Strict(BaseModel):
    # allow_inf_nan=False: a NaN or infinite number (JSON NaN, YAML .nan/.inf) is never a setting.
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, validate_assignment=True, allow_inf_nan=False
    )


class SummarizationSettings(_Strict):
    enabled: bool = True
    threshold: int = Field(5000, ge=1, description="history length (chars) that triggers a summary")
    maxLength: int = Field(2500, ge=100, description="longest summary (chars)")
    method: Literal["length-based"] = "length-based"
    promptPath: str | None = None


class SummarizationOverride(_Strict):
    """A per-agent block: only the keys given override the debate-wide settings."""

    enabled: bool | None = None
    threshold: int | None = Field(None, ge=1)
    maxLength: int | None = Field(None, ge=100)
    method: Literal["length-based"] | None = None
    promptPath: str | None = None


def _known_tool(name: str) -> str:
    if name in TOOL_NAMES:
        return name
    raise unknown("tool", name, TOOL_NAMES, "")


class ToolSpec(_Strict):
    name: Annotated[str, AfterValidator(_known_tool)]


class Price(_Strict):
    """USD per million tokens, overriding the maintained price table for this agent's model."""

    inputPerMillion: float = Field(ge=0)
    outputPerMillion: float = Field(ge=0)


class AgentConfig(_Strict):
    promptsDir: str | None = None
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1)
    role: str = Field(min_length=1)  # a custom role: its promptsDir, else the architect prompts
    model: str = Field(min_length=1)
    provider: Provider
    temperature: float = Field(0.5, ge=0, le=2)
    enabled: bool = True
    systemPromptPath: str | None = None
    summaryPromptPath: str | None = None
    clarificationPromptPath: str | None = None
    summarization: SummarizationOverride | None = None
    tools: list[ToolSpec] = Field(default_factory=list)
    toolCallLimit: int = Field(10, ge=0, le=100)
    baseUrl: str | None = Field(None, pattern=r"^https?://")
    apiKeyEnv: ApiKeyEnv | None = None
    timeoutSeconds: float = Field(120, gt=0, le=MAX_TIMEOUT_SECONDS)
    maxRetries: int = Field(3, ge=0, le=MAX_RETRIES)
    price: Price | None = None


class JudgeConfig(AgentConfig):
    id: str = Field("judge-main", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = "Technical Judge"
    role: str = "generalist"
    model: str = "gpt-4o-mini"
    provider: Provider = "openai"
    temperature: float = Field(0.3, ge=0, le=2)


class TerminationCondition(_Strict):
    # "issues": the debate ends after the first round that leaves no open ledger item of
    # ``severity`` or worse (dialectic.debate.ledger); ``rounds`` stays the cap.
    type: Literal["fixed", "convergence", "quality", "issues"] = "fixed"
    threshold: float = Field(90, ge=0, le=100)
    severity: Literal["critical", "major", "minor"] = "major"


class DebateSettings(_Strict):
    rounds: int = Field(3, ge=1, le=100)
    terminationCondition: TerminationCondition = Field(default_factory=TerminationCondition)
    synthesisMethod: Literal["judge"] = "judge"
    includeFullHistory: bool = True
    timeoutPerRound: int = Field(300_000, ge=1)
    summarization: SummarizationSettings = Field(default_factory=SummarizationSettings)
    interactiveClarifications: bool = False
    clarificationsMaxPerAgent: int = Field(5, ge=1, le=20)
    clarificationsMaxIterations: int = Field(3, ge=1, le=10)
    orchestratorType: str | None = None  # accepted and ignored: there is one engine
    trace: Literal["langfuse", "langsmith"] | None = None
    critiqueMode: Literal["pairwise", "batched"] = "pairwise"
    minAgents: int | None = Field(None, ge=1)
    # A call that still fails after its retries for a reason that may pass (an outage, a
    # timeout, rate limits): "pause" stops the debate at the phase's end (exit 3) so that
    # `dialectic resume` retries exactly those calls; "degrade" goes on without them.
    onTransientFailure: Literal["pause", "degrade"] = "pause"
    # A hard cap on LLM calls in flight; None: a phase's calls start at once and each endpoint's
    # limit adapts to its 429s (dialectic.providers.concurrency).
    maxConcurrency: int | None = Field(None, ge=1, le=MAX_CONCURRENCY)
    # Requests per second allowed per provider (one limiter shared by all agents of a provider).
    requestsPerSecond: dict[Provider, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    maxTokens: int | None = Field(None, ge=1, description="budget: tokens in + out for the whole debate")
    maxCostUsd: float | None = Field(None, gt=0, description="budget: USD for the whole debate")
    cache: str | None = Field(None, description="path of an SQLite replay cache of LLM responses")
    # No prompt of any phase grows past this (estimated) size: material that would is summarised
    # first (see dialectic.debate.ceiling).
    maxPromptTokens: int = Field(16_000, ge=2_000, description="largest prompt of any call (tokens)")


class ExtensionSpec(_Strict):
    """A user's function run as a graph node in every round (see ``dialectic.extensions``)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    # "package.module:function", or "path/to/file.py:function" relative to the config's folder;
    # absent: the installed ``dialectic.nodes`` entry point called ``name``.
    callable: str | None = None
    after: str
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("after")
    @classmethod
    def _known_position(cls, after: str, info: ValidationInfo) -> str:
        if after in EXTENSION_POSITIONS:
            return after
        raise ValueError(
            f"extension {info.data.get('name', '?')!r}: unknown position {after!r} for 'after'; "
            f"use one of {', '.join(EXTENSION_POSITIONS)}"
        )


class DebateConfig(_Strict):
    agents: list[AgentConfig] = Field(min_length=1)
    judge: JudgeConfig = Field(default_factory=JudgeConfig)
    debate: DebateSettings = Field(default_factory=DebateSettings)
    extensions: list[ExtensionSpec] = Field(default_factory=list)
    # What configs/leniency.py would forgive with a warning is an error (as --strict does).
    strict: StrictBool = False

    @model_validator(mode="after")
    def _unique_ids(self) -> DebateConfig:
        seen: set[str] = set()
        for index, agent in enumerate(self.agents):
            if agent.id in seen:
                raise ValueError(f"agents[{index}].id: duplicate agent id {agent.id!r}")
            seen.add(agent.id)
        if self.judge.id in seen:
            raise ValueError(f"judge.id: {self.judge.id!r} is also an agent id; give the judge its own id")
        if not self.enabled_agents():
            raise ValueError('no agent is enabled: set "enabled": true on at least one agent')
        return self

    def enabled_agents(self) -> list[AgentConfig]:
        return [agent for agent in self.agents if agent.enabled]

    def summarization_for(self, agent: AgentConfig) -> SummarizationSettings:
        """The debate-wide block with the agent's own keys laid over it."""
        base = self.debate.summarization
        if agent.summarization is None:
            return base
        return base.model_copy(update=agent.summarization.model_dump(exclude_none=True))
