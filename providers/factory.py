"""Build the chat model of an agent: any provider of the registry (``configs/providers.py``)
through LangChain's ``init_chat_model``, an OpenAI-compatible server through ``baseUrl``, or the
offline model.

Keys come only from the environment and never leave this module except inside the client.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dialectic.configs.providers import OFFLINE, PROVIDERS, ProviderSpec
from dialectic.configs.schema import AgentConfig
from dialectic.errors import ConfigError

if TYPE_CHECKING:  # LangChain loads slowly: a missing key is reported before it is needed
    from langchain_core.caches import BaseCache
    from langchain_core.language_models import BaseChatModel
    from langchain_core.rate_limiters import BaseRateLimiter


@dataclass(frozen=True)
class Endpoint:
    provider: str
    base_url: str | None
    key_env: str | None


def endpoint(agent: AgentConfig, env: Mapping[str, str] | None = None) -> Endpoint:
    env = os.environ if env is None else env
    if agent.provider == OFFLINE:
        return Endpoint(OFFLINE, None, None)
    spec = PROVIDERS[agent.provider]
    from_env = env.get(spec.base_url_env) if spec.base_url_env else None
    base_url = agent.baseUrl or from_env or spec.default_base_url
    return Endpoint(agent.provider, base_url, agent.apiKeyEnv or spec.key_env)


def key_required(agent: AgentConfig) -> bool:
    """A self-hosted server named by the agent's own baseUrl may need no key at all."""
    if agent.provider == OFFLINE or (PROVIDERS[agent.provider].key_env is None and not agent.apiKeyEnv):
        return False
    return not (agent.baseUrl and not agent.apiKeyEnv)


def missing_key_errors(members: list[AgentConfig], env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    problems = []
    for member in members:
        where = endpoint(member, env)
        if key_required(member) and where.key_env and not env.get(where.key_env):
            problems.append(f"{member.id} ({member.provider}) needs {where.key_env}")
    return problems


def missing_packages(members: list[AgentConfig]) -> list[str]:
    """The providers whose LangChain integration is not installed, with how to install it."""
    problems = []
    for name in dict.fromkeys(m.provider for m in members if m.provider != OFFLINE):
        spec = PROVIDERS[name]
        if importlib.util.find_spec(spec.package) is None:
            users = ", ".join(m.id for m in members if m.provider == name)
            how = (
                f"pip install 'dialectic-debate[{spec.extra}]'"
                if spec.extra
                else "reinstall dialectic-debate"
            )
            problems.append(f"provider {name!r} ({users}) needs the {spec.package} package: {how}")
    return problems


def check_keys(members: list[AgentConfig], env: Mapping[str, str] | None = None) -> None:
    """Before any call: every provider is installed and every agent has its key (exit 4)."""
    packages = missing_packages(members)
    if packages:
        raise ConfigError("; ".join(packages))
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
    if agent.provider == OFFLINE:
        from dialectic.providers.offline import OfflineChatModel

        model = OfflineChatModel.from_environment(model_name=agent.model)
        model.cache = cache
        model.rate_limiter = rate_limiter
        return model
    from langchain.chat_models import init_chat_model

    spec = PROVIDERS[agent.provider]
    where = endpoint(agent, env)
    key = env.get(where.key_env, "") if where.key_env else ""
    if not key and key_required(agent):
        raise ConfigError(f"{agent.id} ({agent.provider}) needs {where.key_env}; set it or use --offline")
    missing = missing_packages([agent])
    if missing:
        raise ConfigError(missing[0])
    arguments = _arguments(
        spec,
        {
            "api_key": _secret(key or "not-needed"),
            "base_url": where.base_url,
            "timeout": agent.timeoutSeconds,
            "max_retries": 0,  # one retry layer only: LangGraph's (nodes/llm.py)
        },
    )
    chat: BaseChatModel = init_chat_model(
        agent.model,
        model_provider=spec.langchain,
        temperature=agent.temperature,
        cache=cache,
        rate_limiter=rate_limiter,
        **arguments,
    )
    return chat


def _arguments(spec: ProviderSpec, common: dict[str, Any]) -> dict[str, Any]:
    """The common keyword arguments under the names the provider's class uses: a spec entry
    renames one (``a.b`` nests it in a dict argument ``a``), drops it (None) or adds another."""
    found: dict[str, Any] = {}
    for name, value in common.items():
        target = spec.arguments.get(name, name)
        if value is None or target is None:
            continue
        if not isinstance(target, str):
            raise TypeError(f"{spec.name}: argument {name} maps to {target!r}")
        outer, _, inner = target.partition(".")
        if inner:
            found.setdefault(outer, {})[inner] = value
        else:
            found[outer] = value
    found.update({k: v for k, v in spec.arguments.items() if k not in common})
    return found


def _secret(key: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(key)
