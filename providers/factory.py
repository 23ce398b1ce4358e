"""Build the chat model of an agent: OpenAI, OpenRouter, any OpenAI-compatible server, or offline.

Keys come only from the environment and never leave this module except inside the client.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dialectic.configs.schema import AgentConfig
from dialectic.errors import ConfigError

if TYPE_CHECKING:  # LangChain loads slowly: a missing key is reported before it is needed
    from langchain_core.caches import BaseCache
    from langchain_core.language_models import BaseChatModel
    from langchain_core.rate_limiters import BaseRateLimiter

OPENROUTER_DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
_KEY_ENV = {"openai": "OPENAI_API_KEY", "openrouter": "OPENROUTER_API_KEY"}
_BASE_URL_ENV = {"openai": "OPENAI_BASE_URL", "openrouter": "OPENROUTER_BASE_URL"}


@dataclass(frozen=True)
class Endpoint:
    provider: str
    base_url: str | None
    key_env: str | None


def endpoint(agent: AgentConfig, env: Mapping[str, str] | None = None) -> Endpoint:
    env = os.environ if env is None else env
    if agent.provider == "offline":
        return Endpoint("offline", None, None)
    base_url = agent.baseUrl or env.get(_BASE_URL_ENV[agent.provider]) or None
    if base_url is None and agent.provider == "openrouter":
        base_url = OPENROUTER_DEFAULT_BASE_URL
    return Endpoint(agent.provider, base_url, agent.apiKeyEnv or _KEY_ENV[agent.provider])


def key_required(agent: AgentConfig) -> bool:
    """A self-hosted server named by the agent's own baseUrl may need no key at all."""
    return agent.provider != "offline" and not (agent.baseUrl and not agent.apiKeyEnv)


def missing_key_errors(members: list[AgentConfig], env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    problems = []
    for member in members:
        where = endpoint(member, env)
        if key_required(member) and where.key_env and not env.get(where.key_env):
            problems.append(f"{member.id} ({member.provider}) needs {where.key_env}")
    return problems


def check_keys(members: list[AgentConfig], env: Mapping[str, str] | None = None) -> None:
    problems = missing_key_errors(members, env)
    if problems:
        raise ConfigError(
            "missing API key: "
            + "; ".join(problems)
            + ". Set it in the environment or an .env file, or run with --offline to use the built-in simulated model"
        )


def build_chat_model(
    agent: AgentConfig,
    env: Mapping[str, str] | None = None,
    *,
    cache: BaseCache | None = None,
    rate_limiter: BaseRateLimiter | None = None,
) -> BaseChatModel:
    env = os.environ if env is None else env
    if agent.provider == "offline":
        from dialectic.providers.offline import OfflineChatModel

        model = OfflineChatModel.from_environment(model_name=agent.model)
        model.cache = cache
        model.rate_limiter = rate_limiter
        return model
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    where = endpoint(agent, env)
    key = env.get(where.key_env, "") if where.key_env else ""
    if not key and key_required(agent):
        raise ConfigError(f"{agent.id} ({agent.provider}) needs {where.key_env}; set it or use --offline")
    return ChatOpenAI(
        model=agent.model,
        temperature=agent.temperature,
        api_key=SecretStr(key or "not-needed"),
        base_url=where.base_url,
        timeout=agent.timeoutSeconds,
        max_retries=0,  # one retry layer only: ours, in nodes/llm.py
        use_responses_api=False,  # one request per call, through Chat Completions
        cache=cache,
        rate_limiter=rate_limiter,
    )
