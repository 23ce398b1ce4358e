"""Turn what a user typed into validated inputs: the problem, rounds, env file and settings.
Shared by the CLI and the library API so every entry point checks the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dialectic.configs.loader import load_config
from dialectic.configs.settings import RunSettings, apply_overrides, resolve_settings
from dialectic.errors import InputError


def read_problem(inline: str | None, path: str | None) -> str:
    if inline is not None and path is not None:
        raise InputError("give the problem either inline or with --problem-file, not both")
    if inline is None and path is None:
        raise InputError(
            'no problem given: pass it inline (dialectic debate "…") or with --problem-file PATH'
        )
    if inline is not None:
        text = inline.strip()
        if not text:
            raise InputError("the problem text is empty")
        return text
    assert path is not None
    file = Path(path)
    shown = file.resolve()
    if not file.exists():
        raise InputError(f"problem file not found: {shown}")
    if file.is_dir():
        raise InputError(f"problem file is a directory: {shown}")
    try:
        text = file.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError as exc:
        raise InputError(f"problem file is not UTF-8 text: {shown}") from exc
    except OSError as exc:
        raise InputError(f"cannot read problem file {shown}: {exc.strerror}") from exc
    if not text:
        raise InputError(f"problem file is empty: {shown}")
    return text


def parse_rounds(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        rounds = int(value.strip())
    except ValueError:
        raise InputError(f"--rounds must be a whole number of at least 1 (got {value!r})") from None
    if rounds < 1:
        raise InputError(f"--rounds must be at least 1 (got {rounds})")
    if rounds > 100:
        raise InputError(f"--rounds must be at most 100 (got {rounds})")
    return rounds


def parse_roles(value: str | None) -> list[str] | None:
    if value is None:
        return None
    roles = [role.strip() for role in value.split(",") if role.strip()]
    if not roles:
        raise InputError("--agents needs at least one role, e.g. --agents architect,security")
    return roles


def load_env_file(path: str | None) -> None:
    """Load a dotenv file: an explicit one must exist; ./.env is used if present. Variables
    already set in the environment win."""
    from dotenv import load_dotenv

    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise InputError(f"env file not found: {file.resolve()}")
        load_dotenv(file, override=False)
    elif Path(".env").is_file():
        load_dotenv(Path(".env"), override=False)


def prepare_settings(
    config_path: str | None, *, roles: list[str] | None, rounds: int | None, offline: bool
) -> tuple[RunSettings, list[str]]:
    """Load, override and resolve a config; returns the settings and notices for stderr.
    Its extensions are imported and checked here, before anything runs."""
    from dialectic.extensions.loading import resolve_extensions

    config, source, notices = load_config(Path(config_path) if config_path else None)
    config = apply_overrides(config, agent_roles=roles, rounds=rounds, offline=offline)
    settings, warnings = resolve_settings(config, source, offline=offline)
    resolve_extensions(settings)
    return settings, notices + warnings


def fork_settings(
    config_path: str | None, *, rounds: int | None, offline: bool
) -> Callable[[RunSettings], RunSettings]:
    """How a fork's settings derive from its parent's: a new config (with the same agents) and/or
    new rounds; everything else as the parent had it."""

    def change(parent: RunSettings) -> RunSettings:
        if config_path is None:
            config = apply_overrides(parent.config, agent_roles=None, rounds=rounds, offline=offline)
            return parent.model_copy(update={"config": config, "offline": parent.offline or offline})
        settings, _ = prepare_settings(
            config_path, roles=None, rounds=rounds, offline=offline or parent.offline
        )
        before = sorted(agent.id for agent in parent.agents)
        after = sorted(agent.id for agent in settings.agents)
        if before != after:
            raise InputError(
                f"the fork's config must keep the debate's agents ({', '.join(before)}); it has {', '.join(after)}"
            )
        # The fork's graph keeps the parent's human-in-the-loop nodes: its checkpoints may be at one.
        clarify = parent.clarify or parent.config.debate.interactiveClarifications
        return settings.model_copy(update={"clarify": clarify, "steer": parent.steer})

    return change


def run_overrides(
    *,
    timeout: float | None = None,
    max_concurrency: int | None = None,
    max_tokens: int | None = None,
    max_cost: float | None = None,
    cache: str | None = None,
    context: str | None = None,
) -> Callable[[RunSettings], RunSettings]:
    """Command-line settings that apply to a run (new or resumed) from here on. ``context`` (the
    folder the agents' file tools may read) is checked now: it must be a folder (exit 2)."""
    if timeout is not None and timeout <= 0:
        raise InputError(f"--timeout must be a positive number of seconds (got {timeout:g})")
    if max_concurrency is not None and max_concurrency < 1:
        raise InputError(f"--max-concurrency must be at least 1 (got {max_concurrency})")
    if max_tokens is not None and max_tokens < 1:
        raise InputError(f"--max-tokens must be at least 1 (got {max_tokens})")
    if max_cost is not None and max_cost <= 0:
        raise InputError(f"--max-cost must be a positive number of USD (got {max_cost:g})")
    context_dir = context_folder(context) if context is not None else None

    def change(settings: RunSettings) -> RunSettings:
        config = settings.config
        debate: dict[str, object] = {}
        if max_concurrency is not None:
            debate["maxConcurrency"] = max_concurrency
        if max_tokens is not None:
            debate["maxTokens"] = max_tokens
        if max_cost is not None:
            debate["maxCostUsd"] = max_cost
        if cache is not None:
            debate["cache"] = str(Path(cache).resolve())
        update: dict[str, object] = {"debate": config.debate.model_copy(update=debate)}
        if timeout is not None:
            update["agents"] = [a.model_copy(update={"timeoutSeconds": timeout}) for a in config.agents]
            update["judge"] = config.judge.model_copy(update={"timeoutSeconds": timeout})
        changed = settings.model_copy(update={"config": config.model_copy(update=update)})
        return changed.model_copy(update={"context_dir": context_dir}) if context_dir else changed

    return change


def context_folder(path: str) -> str:
    """The absolute, resolved folder ``--context`` names; exit 2 if it is not a folder."""
    from dialectic.tools.sandbox import ContextDirectory

    return str(ContextDirectory(path).root)
