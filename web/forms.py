"""The page's start form, turned into the same validated inputs as ``dialectic debate``: the
problem through ``read_problem``, rounds through ``parse_rounds``, the config through the
config loader (an edited config is checked by the same schema, with the same messages)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dialectic.configs.loader import HOW_TO_TRUST, check_config, config_trusted, load_config
from dialectic.configs.settings import RunSettings, apply_overrides, resolve_settings
from dialectic.errors import ConfigError
from dialectic.extensions.loading import resolve_extensions
from dialectic.runner import inputs
from dialectic.runner.store import new_debate_id, validate_debate_id

EDITED = "the config edited in the page"
# The keys of a config that name a file it reads (a prompt, a prompts folder, a cache).
FILE_KEYS = frozenset(
    {"systemPromptPath", "summaryPromptPath", "clarificationPromptPath", "promptPath", "promptsDir", "cache"}
)


@dataclass(frozen=True)
class ServerOptions:
    """What ``dialectic serve`` was started with, for every debate started from the page."""

    db: str | None = None
    config: str | None = None
    offline: bool = False
    trust_config: bool = False


class StartForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem: str
    rounds: int | str | None = None
    roles: list[str] | None = None
    clarify: bool = False
    steer: bool = False
    config: dict[str, Any] | None = Field(default=None, description="an edited config document")
    maxTokens: int | None = None
    maxCost: float | None = None
    id: str | None = None


@dataclass(frozen=True)
class Start:
    debate_id: str
    problem: str
    settings: RunSettings
    notices: list[str]


def read_start(form: StartForm, server: ServerOptions) -> Start:
    """Check the form as the CLI checks its arguments (exit-2 and exit-4 errors alike)."""
    problem = inputs.read_problem(form.problem, None)
    rounds = inputs.parse_rounds(None if form.rounds in (None, "") else str(form.rounds))
    roles = form.roles if form.roles else None
    if form.config is None:
        settings, notices = inputs.prepare_settings(
            server.config,
            roles=roles,
            rounds=rounds,
            offline=server.offline,
            trust_config=server.trust_config,
        )
    else:
        settings, notices = edited_settings(form.config, server, roles=roles, rounds=rounds)
    settings = inputs.run_overrides(max_tokens=form.maxTokens, max_cost=form.maxCost)(settings)
    settings = settings.model_copy(update={"clarify": form.clarify, "steer": form.steer})
    debate_id = validate_debate_id(form.id) if form.id else new_debate_id()
    return Start(debate_id, problem, settings, notices)


def edited_settings(
    document: dict[str, Any], server: ServerOptions, *, roles: list[str] | None, rounds: int | None
) -> tuple[RunSettings, list[str]]:
    """Settings from a config edited in the page: validated like a file, its prompt paths
    relative to the server's config folder. Unless the server trusts configs, it may not add
    extensions (they import Python code), name a file or an endpoint the server's config does
    not (a page could read the server's files into a prompt, or send its API key elsewhere)."""
    base, source, _ = load_config(Path(server.config) if server.config else None)
    config, notices = check_config(document, EDITED)
    trusted = config_trusted(server.trust_config)
    if config.extensions != base.extensions and not trusted:
        raise ConfigError(
            f"config error in {EDITED}: extensions import Python code and cannot be added from the page; "
            f"name them in the config given to `dialectic serve -c`, or serve with {HOW_TO_TRUST}"
        )
    added = sorted(_named(config.model_dump(mode="json")) - _named(base.model_dump(mode="json")))
    if added and not trusted:
        key, value, *sent = added[0]
        what = f"{key} {value!r}" + (f" (provider {sent[0]}, apiKeyEnv {sent[1]})" if sent else "")
        raise ConfigError(
            f"config error in {EDITED}: {what} is not in the server's config; the files "
            f"and endpoints a debate uses come from the config given to `dialectic serve -c`, or serve with {HOW_TO_TRUST}"
        )
    config = apply_overrides(config, agent_roles=roles, rounds=rounds, offline=server.offline)
    settings, warnings = resolve_settings(
        config, source, offline=server.offline, trust_config=server.trust_config
    )
    resolve_extensions(settings)
    return settings, notices + warnings


def _named(document: Any) -> set[tuple[str, ...]]:
    """What a config document reads and calls: (key, file) for each file it names, and
    (baseUrl, url, provider, key variable) for each endpoint other than a provider's own."""
    found: set[tuple[str, ...]] = set()
    if isinstance(document, dict):
        found |= {
            (key, value) for key, value in document.items() if key in FILE_KEYS and isinstance(value, str)
        }
        url = document.get("baseUrl")
        if isinstance(url, str):  # where it goes and which key it gets, as one
            found.add(("baseUrl", url, f"{document.get('provider')}", f"{document.get('apiKeyEnv')}"))
        children: Any = document.values()
    elif isinstance(document, list):
        children = document
    else:
        return found
    for child in children:
        found |= _named(child)
    return found


def config_document(server: ServerOptions) -> dict[str, Any]:
    """The config in use, for the form: its document, where it came from, its agents."""
    config, source, notices = load_config(Path(server.config) if server.config else None)
    return {
        "document": config.model_dump(mode="json", exclude_none=True, by_alias=True),
        "source": str(source) if source else "built-in defaults",
        "agents": [
            {"id": a.id, "name": a.name, "role": a.role, "enabled": a.enabled, "model": a.model}
            for a in config.agents
        ],
        "rounds": config.debate.rounds,
        "offline": server.offline,
        "notices": notices,
    }
