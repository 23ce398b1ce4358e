"""Build the chat model of an agent: any provider of the registry (``configs/providers.py``)
through LangChain's ``init_chat_model``, an OpenAI-compatible server through ``baseUrl``, or the
offline model.

Keys come only from the environment and never leave this module except inside the client,
which sends each only where it belongs (see ``endpoint``).
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dialectic.configs.providers import OFFLINE, PROVIDERS, ProviderSpec
from dialectic.configs.schema import AgentConfig
from dialectic.errors import ConfigError

if TYPE_CHECKING:  # LangChain loads slowly: a missing key is reported before it is needed
    from langchain_core.caches import BaseCache
    from langchain_core.language_models import BaseChatModel
    from langchain_core.rate_limiters import BaseRateLimiter


# The user's own say (never a config's) that plain http:// to another machine is acceptable.
ALLOW_INSECURE_HTTP_ENV = "DIALECTIC_ALLOW_INSECURE_HTTP"


@dataclass(frozen=True)
class Endpoint:
    provider: str
    base_url: str | None
    key_env: str | None  # the variable whose key is sent there (None: none, only a placeholder)
    from_config: bool = False  # the URL is the config's ``baseUrl``, not the provider's or the user's


def endpoint(agent: AgentConfig, env: Mapping[str, str] | None = None) -> Endpoint:
    """Where an agent's calls go, and which key goes with them. A provider's standard key goes
    only to its own endpoint or to the URL its own variable (``OPENAI_BASE_URL``…) sets; a
    config's ``baseUrl`` gets a key only through the agent's explicit ``apiKeyEnv``."""
    env = os.environ if env is None else env
    if agent.provider == OFFLINE:
        return Endpoint(OFFLINE, None, None)
    spec = PROVIDERS[agent.provider]
    if agent.baseUrl:
        return Endpoint(agent.provider, agent.baseUrl, agent.apiKeyEnv, from_config=True)
    from_env = env.get(spec.base_url_env) if spec.base_url_env else None
    return Endpoint(agent.provider, from_env or spec.default_base_url, agent.apiKeyEnv or spec.key_env)


def missing_key_errors(members: list[AgentConfig], env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    problems = []
    for member in members:
        where = endpoint(member, env)
        if where.key_env and not env.get(where.key_env):
            problems.append(f"{member.id} ({member.provider}) needs {where.key_env}")
    return problems


def borrowed_key_errors(members: list[AgentConfig]) -> list[str]:
    """A provider's standard key named by ``apiKeyEnv`` where it does not belong: at a URL the
    config chose, or at another provider (the rule of ``endpoint``, which a config cannot undo)."""
    standard = {spec.key_env: name for name, spec in PROVIDERS.items() if spec.key_env}
    problems = []
    for member in members:
        owner = standard.get(member.apiKeyEnv or "")
        if owner is None:
            continue
        if member.baseUrl:
            problems.append(
                f"{member.id} names {member.apiKeyEnv} as the key for its own baseUrl {member.baseUrl}; "
                f"{member.apiKeyEnv} goes only to {owner}'s endpoint: give that server a key variable of its own"
            )
        elif owner != member.provider:
            problems.append(f"{member.id} ({member.provider}) names {member.apiKeyEnv}, {owner}'s key")
    return problems


def padded_key_errors(members: list[AgentConfig], env: Mapping[str, str]) -> list[str]:
    """Keys pasted with a newline or spaces: named here, not left to fail as a connection error."""
    problems: dict[str, str] = {}
    for member in members:
        name = endpoint(member, env).key_env
        value = env.get(name, "") if name else ""
        if name and value != value.strip():
            side = "leading" if value == value.rstrip() else "trailing"
            problems[name] = (
                f"{name} has {side} whitespace/newline: remove it from the environment or the .env file"
            )
    return list(problems.values())


def insecure_http_errors(members: list[AgentConfig], env: Mapping[str, str]) -> list[str]:
    """Agents that would talk plain http:// to another machine while sending a key or going to a
    URL the config chose (a config is often someone else's)."""
    problems = []
    for member in members:
        where = endpoint(member, env)
        url = urlsplit(where.base_url or "")
        if url.scheme.lower() != "http" or _loopback(url.hostname or ""):
            continue
        if where.key_env:
            problems.append(f"{member.id} would send {where.key_env} over plain http:// to {where.base_url}")
        elif where.from_config:
            problems.append(f"{member.id} would talk plain http:// to {where.base_url} (its baseUrl)")
    return problems


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


def check_keys(
    members: list[AgentConfig], env: Mapping[str, str] | None = None, *, allow_insecure_http: bool = False
) -> None:
    """Before any call: every provider is installed, no endpoint is plain http:// to another
    machine (unless allowed), and every agent has its key, a clean one (exit 4)."""
    env = os.environ if env is None else env
    packages = missing_packages(members)
    if packages:
        raise ConfigError("; ".join(packages))
    borrowed = borrowed_key_errors(members)
    if borrowed:
        raise ConfigError("a provider's key may go only to that provider: " + "; ".join(borrowed))
    allowed = allow_insecure_http or env.get(ALLOW_INSECURE_HTTP_ENV, "").strip() == "1"
    insecure = [] if allowed else insecure_http_errors(members, env)
    if insecure:
        raise ConfigError(
            "refusing plain http:// to a host that is not this machine: "
            + "; ".join(insecure)
            + f". Use https://, or allow it with --allow-insecure-http (or {ALLOW_INSECURE_HTTP_ENV}=1)"
        )
    problems = missing_key_errors(members, env)
    if problems:
        raise ConfigError(
            "missing API key: "
            + "; ".join(problems)
            + ". Set it in the environment or an .env file, or run with --offline to use the built-in simulated model"
        )
    padded = padded_key_errors(members, env)
    if padded:
        raise ConfigError("; ".join(padded))


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
    if where.key_env and not key:
        raise ConfigError(f"{agent.id} ({agent.provider}) needs {where.key_env}; set it or use --offline")
    missing = missing_packages([agent])
    if missing:
        raise ConfigError(missing[0])
    arguments = _arguments(
        spec,
        {
            "api_key": _secret(key or "not-needed"),  # no key for it: a placeholder the client accepts
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
