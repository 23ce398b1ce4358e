"""Load an evaluator config: validate it, keep the enabled evaluators, read their prompt files.

Prompt paths are relative to the config file's folder and must stay inside it unless the user
trusts the config (``confined_path``, as in the debate config). A missing or empty prompt file falls
back to the built-in prompt with a warning (as in the debate config); every other problem is a
config error (exit 4) naming the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from dialectic import prompts
from dialectic.configs.eval_schema import EvalConfig, EvaluatorConfig
from dialectic.configs.loader import (
    config_trusted,
    confined_path,
    describe_validation_error,
    read_config_document,
)
from dialectic.configs.schema import AgentConfig
from dialectic.configs.settings import load_prompt_file
from dialectic.errors import ConfigError

BUILT_IN = "built-in"


@dataclass(frozen=True)
class Evaluator:
    member: AgentConfig  # what the provider layer needs: model, provider, timeout, retries
    system_template: str
    user_template: str
    system_source: str  # a file path, or "built-in"
    user_source: str


def load_evaluators(
    path: Path, *, offline: bool = False, trust_config: bool = False, strict: bool = False
) -> tuple[list[Evaluator], list[str]]:
    """The enabled evaluators of the config at ``path``, and warnings for stderr (unknown keys are
    ignored with a warning, or errors when ``strict`` or the file says ``"strict": true``)."""
    from dialectic.configs.leniency import screen

    source = str(path.resolve())
    document = read_config_document(path)
    if not isinstance(document, dict):
        raise ConfigError(
            f"evaluator config error in {source}: the top level must be an object with an 'agents' list"
        )
    document, warnings = screen(document, EvalConfig, source, strict=strict, kind="evaluator config")
    try:
        config = EvalConfig.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(
            f"evaluator config error in {source}: {describe_validation_error(exc, EvalConfig)}"
        ) from exc
    enabled = config.enabled_agents()
    if not enabled:
        raise ConfigError(
            f'no enabled evaluator in {source}: all {len(config.agents)} have "enabled": false; enable at least one'
        )
    trusted = config_trusted(trust_config)
    evaluators = [_resolve(agent, path.resolve().parent, offline, trusted, warnings) for agent in enabled]
    return evaluators, warnings


def _resolve(
    agent: EvaluatorConfig, base: Path, offline: bool, trusted: bool, warnings: list[str]
) -> Evaluator:
    system, system_source = _template(
        agent.id, "systemPromptPath", agent.systemPromptPath, "system", base, trusted, warnings
    )
    user, user_source = _template(
        agent.id, "userPromptPath", agent.userPromptPath, "user", base, trusted, warnings
    )
    return Evaluator(agent.as_agent(offline=offline), system, user, system_source, user_source)


def _template(
    agent_id: str,
    key: str,
    raw: str | None,
    builtin_name: str,
    base: Path,
    trusted: bool,
    warnings: list[str],
) -> tuple[str, str]:
    if raw is not None:
        path = confined_path(base, raw, f"{agent_id}.{key}", trusted=trusted)
        text = load_prompt_file(path, f"{agent_id}.{key}", "evaluate", warnings)
        if text is not None:
            return text, str(path.resolve())
    return prompts.eval_template(builtin_name), BUILT_IN
