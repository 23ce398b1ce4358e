"""The resolved settings of one debate run: the validated config after command-line overrides,
with custom prompt files read in. Stored with the run (checkpoint metadata) so that a resumed
debate uses the settings it started with, not a config file that may have changed since."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialectic import prompts
from dialectic.configs.loader import HOW_TO_TRUST, config_trusted, confined_path
from dialectic.configs.providers import OFFLINE
from dialectic.configs.schema import (
    BUILTIN_ROLES,
    UNKNOWN_ROLE_PROMPTS,
    AgentConfig,
    DebateConfig,
    JudgeConfig,
    SummarizationSettings,
)
from dialectic.errors import ConfigError, InputError

# Config keys that point at a prompt file, and the phase each replaces.
_AGENT_PROMPT_KEYS = {
    "systemPromptPath": "system",
    "summaryPromptPath": "summarize",
    "clarificationPromptPath": "clarify",
}
# ...except these phases, whose file adds to the prompt instead (as in the TypeScript tool).
_APPENDED_PHASES = frozenset({"clarify"})


_MAX_REPAIRS = 20  # rounds of dropping invalid stored values before giving up


def _drop(data: Any, loc: tuple[int | str, ...]) -> bool:
    """Remove the value at ``loc`` (a validation error's location) so its default applies;
    False if there is nothing there to remove (a required value is missing)."""
    for part in loc[:-1]:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return False
    if isinstance(data, dict) and loc and loc[-1] in data:
        del data[loc[-1]]
        return True
    return False


class RunSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    config: DebateConfig
    offline: bool = False
    # Human in the loop, chosen on the command line (kept here so a resumed run has the same graph).
    clarify: bool = False  # --clarify: a clarification phase before round 1
    steer: bool = False  # --steer: a pause for the user's note after each round but the last
    config_path: str | None = None
    # --context DIR: the folder the agents' file tools may read (absolute), kept with the debate.
    context_dir: str | None = None
    # --allow-insecure-http: the user (not a config) allows plain http:// to another machine.
    allow_insecure_http: bool = False
    # agent id -> phase -> template text, for prompts the config replaces
    prompt_overrides: dict[str, dict[str, str]] = Field(default_factory=dict)
    # agent id -> phase -> where the template came from ("built-in" or a path)
    prompt_sources: dict[str, dict[str, str]] = Field(default_factory=dict)
    # agent id -> phase -> instructions the config adds after that phase's template
    prompt_additions: dict[str, dict[str, str]] = Field(default_factory=dict)

    @property
    def agents(self) -> list[AgentConfig]:
        return self.config.enabled_agents()

    @property
    def judge(self) -> JudgeConfig:
        return self.config.judge

    @property
    def min_agents(self) -> int:
        configured = self.config.debate.minAgents
        count = len(self.agents)
        return min(configured, count) if configured else min(2, count)

    def agent(self, agent_id: str) -> AgentConfig:
        if agent_id == self.judge.id:
            return self.judge
        for agent in self.config.agents:
            if agent.id == agent_id:
                return agent
        raise KeyError(agent_id)

    def summarization(self, agent_id: str) -> SummarizationSettings:
        return self.config.summarization_for(self.agent(agent_id))

    def template(self, agent_id: str, phase: str) -> str:
        template = self._replaced_or_builtin(agent_id, phase)
        addition = self.prompt_additions.get(agent_id, {}).get(phase)
        return template if addition is None else prompts.with_instructions(template, addition)

    def perspective(self, agent_id: str) -> str:
        """The agent's perspective for its prompts; empty when its config gives its own system
        prompt (which then says who the agent is)."""
        if "system" in self.prompt_overrides.get(agent_id, {}):
            return ""
        member = self.agent(agent_id)
        return prompts.render(
            self.template(agent_id, "perspective"), {"agent_name": member.name, "role": member.role}
        )

    def _replaced_or_builtin(self, agent_id: str, phase: str) -> str:
        override = self.prompt_overrides.get(agent_id, {}).get(phase)
        if override is not None:
            return override
        if agent_id == self.judge.id:
            return prompts.judge_template(phase)
        agent = self.agent(agent_id)
        # A custom role's phases missing from its promptsDir are the generalist's; a role that is
        # neither built in nor given a promptsDir has the architect's (as in TypeScript).
        role = agent.role
        if role not in BUILTIN_ROLES:
            role = prompts.FALLBACK_ROLE if agent.promptsDir else UNKNOWN_ROLE_PROMPTS
        return prompts.agent_template(role, phase)

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> RunSettings:
        return cls.model_validate_json(text)

    @classmethod
    def from_stored(cls, text: str) -> tuple[RunSettings, list[str]]:
        """Settings saved with a debate, read so that no stored value can brick the debate: a
        value this version rejects (saved by an older one, or a NaN it let through) is replaced
        by its default, and named in the returned notices."""
        try:
            return cls.model_validate_json(text), []
        except ValidationError as exc:
            first = exc
        try:
            data = json.loads(text)
        except ValueError:
            raise ConfigError(f"the stored settings are not JSON: {first.errors()[0]['msg']}") from None
        notices: list[str] = []
        for _ in range(_MAX_REPAIRS):
            try:
                return cls.model_validate(data), notices
            except ValidationError as exc:
                for error in exc.errors():
                    where = ".".join(str(part) for part in error["loc"])
                    if not _drop(data, error["loc"]):
                        raise ConfigError(
                            f"the stored settings cannot be read: {where}: {error['msg']}"
                        ) from None
                    notices.append(f"stored setting {where} was invalid ({error['msg']}); using its default")
        raise ConfigError(f"the stored settings cannot be read: {first.errors()[0]['msg']}")


def apply_overrides(
    config: DebateConfig, *, agent_roles: list[str] | None, rounds: int | None, offline: bool
) -> DebateConfig:
    """The command line's -a, -r and --offline laid over a validated config."""
    update: dict[str, object] = {}
    if agent_roles is not None:
        update["agents"] = select_agents(config, agent_roles)
    if rounds is not None:
        update["debate"] = config.debate.model_copy(update={"rounds": rounds})
    if offline:
        agents = update.get("agents", config.agents)
        assert isinstance(agents, list)
        update["agents"] = [agent.model_copy(update={"provider": OFFLINE}) for agent in agents]
        update["judge"] = config.judge.model_copy(update={"provider": OFFLINE})
    return config.model_copy(update=update) if update else config


def select_agents(config: DebateConfig, roles: list[str]) -> list[AgentConfig]:
    """Keep the enabled agents whose role is listed; an unknown role or no match is an error."""
    from dialectic.configs.schema import BUILTIN_ROLES

    known = set(BUILTIN_ROLES) | {agent.role for agent in config.agents}
    unknown = [role for role in roles if role not in known]
    if unknown:
        raise InputError(
            f"--agents: unknown role {', '.join(map(repr, unknown))}; valid roles: {', '.join(sorted(known))}"
        )
    chosen = [agent for agent in config.agents if agent.enabled and agent.role in roles]
    if not chosen:
        present = sorted({agent.role for agent in config.enabled_agents()})
        raise InputError(
            f"--agents {','.join(roles)}: no enabled agent in the config has these roles "
            f"(the config's enabled roles: {', '.join(present)})"
        )
    return chosen


def resolve_settings(
    config: DebateConfig, config_path: Path | None, *, offline: bool, trust_config: bool = False
) -> tuple[RunSettings, list[str]]:
    """Read the prompt files a config names (relative to its folder) and check placeholders.

    A missing or empty prompt file falls back to the built-in prompt with a warning; braces that
    are no placeholder of the prompt stay as written (a warning if one looks misspelt); a path
    outside the config's folder (unless the user trusts the config: ``confined_path``) is a
    config error.
    """
    base = config_path.parent if config_path else Path.cwd()
    trusted = config_trusted(trust_config)
    warnings: list[str] = []
    overrides: dict[str, dict[str, str]] = {}
    additions: dict[str, dict[str, str]] = {}
    sources: dict[str, dict[str, str]] = {}
    members: list[AgentConfig] = [*config.enabled_agents(), config.judge]
    for member in members:
        if member.promptsDir is not None:
            folder = _read_prompt_folder(
                base, member, is_judge=member is config.judge, trusted=trusted, warnings=warnings
            )
            for phase, (template, source) in folder.items():
                overrides.setdefault(member.id, {})[phase] = template
                sources.setdefault(member.id, {})[phase] = source
        phases = dict(_AGENT_PROMPT_KEYS)
        if member is config.judge:
            phases.pop("clarificationPromptPath")
        for key, phase in phases.items():
            raw, label = getattr(member, key), f"{member.id}.{key}"
            if raw is None and phase == "summarize":
                raw, label = (
                    config.summarization_for(member).promptPath,
                    f"{member.id}.summarization.promptPath",
                )
            if raw is None:
                continue
            path = confined_path(base, raw, label, trusted=trusted)
            text = load_prompt_file(path, label, phase, warnings)
            if text is None:
                continue
            (additions if phase in _APPENDED_PHASES else overrides).setdefault(member.id, {})[phase] = text
            sources.setdefault(member.id, {})[phase] = str(path.resolve())
    if config.debate.cache and not trusted:
        # A cache's replies stand in for the model's: a file someone else prepared would put
        # words in the agents' mouths. The user's own --cache is always used.
        warnings.append(
            f"debate.cache {config.debate.cache!r} in the config is not used: pass --cache PATH, "
            f"or trust the config with {HOW_TO_TRUST}"
        )
        config = config.model_copy(update={"debate": config.debate.model_copy(update={"cache": None})})
    settings = RunSettings(
        config=config,
        offline=offline,
        config_path=str(config_path) if config_path else None,
        prompt_overrides=overrides,
        prompt_sources=sources,
        prompt_additions=additions,
    )
    return settings, warnings


def _read_prompt_folder(
    base: Path, member: AgentConfig, *, is_judge: bool, trusted: bool, warnings: list[str]
) -> dict[str, tuple[str, str]]:
    """The templates in a member's ``promptsDir``: phase -> (text, source path). Phases without
    a file keep the built-in template (the generalist's for a custom role); a more specific
    ``…PromptPath`` key of the member still wins over the folder. Files are checked like
    prompt-path files: missing or empty ones warn, and so does a misspelt placeholder; the folder
    and each file in it (a symlink may point out) must stay inside the config's."""
    assert member.promptsDir is not None
    key = f"{member.id}.promptsDir"
    folder = confined_path(base, member.promptsDir, key, trusted=trusted)
    if not folder.is_dir():  # like a missing prompt file: the built-in prompts, with a warning
        warnings.append(
            f"{member.id}.promptsDir: prompt folder {folder.resolve()} not found (it is relative to "
            "the config file's folder); using the built-in prompts"
        )
        return {}
    phases = prompts.JUDGE_PHASES if is_judge else prompts.AGENT_PHASES
    found: dict[str, tuple[str, str]] = {}
    for path in sorted(folder.glob("*.md")):
        phase = path.stem
        if phase not in phases:
            close = difflib.get_close_matches(phase, phases, n=1)
            hint = f"did you mean {close[0]}.md? " if close else ""
            warnings.append(
                f"{member.id}.promptsDir: {path.resolve()} is not a prompt of any phase and is ignored "
                f"({hint}phases: {', '.join(phases)})"
            )
            continue
        confined_path(base, str(path), key, trusted=trusted)  # (an absolute path joins as itself)
        text = load_prompt_file(path, key, phase, warnings)
        if text is None:
            continue
        found[phase] = (text, str(path.resolve()))
    return found


def load_prompt_file(path: Path, what: str, phase: str, warnings: list[str]) -> str | None:
    """The template in a prompt file, ready for ``phase``; None when it is missing, unreadable or
    empty (a warning says so: the built-in prompt is used). Braces that are no placeholder stay
    as written (a warning if one looks misspelt); a summary template gets its material appended
    if it does not place it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        warnings.append(
            f"{what}: prompt file {path.resolve()} is missing or unreadable; using the built-in prompt"
        )
        return None
    if not text.strip():
        warnings.append(f"{what}: prompt file {path.resolve()} is empty; using the built-in prompt")
        return None
    if note := check_placeholders(text, phase, path):
        warnings.append(note)
    return prompts.with_material(text) if phase == "summarize" else text


def check_placeholders(text: str, phase: str, path: Path) -> str | None:
    """Braces that are not a placeholder of this phase are text (``{word}``, JSON examples) and
    stay as written; a warning only when one looks like a misspelt placeholder."""
    allowed = sorted(prompts.allowed_placeholders(phase))
    hints = []
    for name in prompts.unknown_placeholders(text, phase):
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.8)
        if close:
            hints.append(f"{{{name}}} (did you mean {{{close[0]}}}?)")
    if not hints:
        return None
    return (
        f"prompt file {path.resolve()}: {', '.join(hints)} is not a placeholder here and stays as "
        f"written; placeholders here: {', '.join('{' + name + '}' for name in allowed)}"
    )
