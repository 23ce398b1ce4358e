"""Turn what a user typed into validated inputs: the problem, rounds, env file and settings.
Shared by the CLI and the library API so every entry point checks the same way."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Callable
from pathlib import Path

from dialectic.configs.loader import load_config
from dialectic.configs.schema import MAX_CONCURRENCY, MAX_TIMEOUT_SECONDS
from dialectic.configs.settings import RunSettings, apply_overrides, resolve_settings
from dialectic.errors import InputError

# A problem is a design brief, not a corpus: a larger one is a mistake (a log, a binary, /dev/zero)
# that would be sent, and paid for, in every prompt. DIALECTIC_MAX_PROBLEM_BYTES raises the cap.
MAX_PROBLEM_BYTES = 200_000


def max_problem_bytes() -> int:
    value = os.environ.get("DIALECTIC_MAX_PROBLEM_BYTES", "").strip()
    if not value:
        return MAX_PROBLEM_BYTES
    if not value.isdigit() or int(value) < 1:
        raise InputError(f"DIALECTIC_MAX_PROBLEM_BYTES must be a whole number of bytes (got {value!r})")
    return int(value)


def _too_large(size: int, limit: int, what: str) -> InputError:
    return InputError(
        f"{what} is larger than {limit // 1000} KB ({size // 1000} KB or more): give a shorter problem, "
        "or raise the limit with DIALECTIC_MAX_PROBLEM_BYTES"
    )


def read_problem(inline: str | None, path: str | None) -> str:
    if inline is not None and path is not None:
        raise InputError("give the problem either inline or with --problem-file, not both")
    if inline is None and path is None:
        raise InputError(
            'no problem given: pass it inline (dialectic debate "…") or with --problem-file PATH'
        )
    limit = max_problem_bytes()
    if inline is not None:
        text = inline.strip()
        if not text:
            raise InputError("the problem text is empty")
        if len(text.encode()) > limit:
            raise _too_large(len(text.encode()), limit, "the problem text")
        return text
    assert path is not None
    file = Path(path)
    shown = file.resolve()
    if not file.exists():
        raise InputError(f"problem file not found: {shown}")
    if file.is_dir():
        raise InputError(f"problem file is a directory: {shown}")
    try:
        # Read at most one byte past the cap: a device or a FIFO (/dev/zero) never ends.
        with file.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputError(f"cannot read problem file {shown}: {exc.strerror}") from exc
    if len(data) > limit:
        raise _too_large(len(data), limit, f"problem file {shown}")
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise InputError(f"problem file is not UTF-8 text: {shown}") from exc
    if "\x00" in text:
        raise InputError(f"problem file is binary, not text (it holds NUL bytes): {shown}")
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


# What only the user may say, never a file that happens to lie in the working directory (a
# cloned repository's .env): opt-ins that widen what is trusted, and where the keys are sent.
_USERS_SAY = ("DIALECTIC_TRUST_CONFIG", "DIALECTIC_ALLOW_INSECURE_HTTP")


def _users_say(name: str) -> bool:
    from dialectic.configs.providers import PROVIDERS

    return name in _USERS_SAY or name in {spec.base_url_env for spec in PROVIDERS.values()}


def load_env_file(path: str | None) -> list[str]:
    """Load a dotenv file: an explicit one must exist; ./.env is used if present. Variables
    already set in the environment win. From a ./.env found by itself, the variables that widen
    trust or redirect keys (``_USERS_SAY``, ``*_BASE_URL``) are not loaded: returns the notice."""
    from dotenv import dotenv_values, load_dotenv

    if path is not None:
        file = Path(path)
        if file.is_dir():
            raise InputError(f"env file is a directory: {file.resolve()}; give the path of a dotenv file")
        if not file.is_file():
            raise InputError(f"env file not found: {file.resolve()}")
    elif Path(".env").is_file():
        file = Path(".env")
    else:
        return []
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"env file is not UTF-8 text: {file.resolve()}; save it as UTF-8") from None
    except OSError as exc:
        raise InputError(f"cannot read env file {file.resolve()}: {exc.strerror}") from exc
    if path is not None:
        load_dotenv(stream=io.StringIO(text), override=False)
        return []
    values = dotenv_values(stream=io.StringIO(text))
    held = sorted(name for name in values if _users_say(name))
    for name, value in values.items():
        if name not in held and value is not None:
            os.environ.setdefault(name, value)
    if not held:
        return []
    return [
        f"{file.resolve()} was found in the working directory: {', '.join(held)} not loaded from it "
        "(they redirect keys or widen trust); pass it with -e .env, or set them in your environment"
    ]


def prepare_settings(
    config_path: str | None,
    *,
    roles: list[str] | None,
    rounds: int | None,
    offline: bool,
    trust_config: bool = False,
    strict: bool = False,
) -> tuple[RunSettings, list[str]]:
    """Load, override and resolve a config; returns the settings and notices for stderr.
    Its extensions are imported and checked here, before anything runs (not those of a config
    found implicitly, unless ``trust_config``: see ``without_implicit_extensions``). ``strict``:
    what the config loader would forgive with a warning is an error."""
    from dialectic.extensions.loading import resolve_extensions, without_implicit_extensions

    config, source, notices = load_config(Path(config_path) if config_path else None, strict=strict)
    config = apply_overrides(config, agent_roles=roles, rounds=rounds, offline=offline)
    settings, warnings = resolve_settings(config, source, offline=offline, trust_config=trust_config)
    settings, skipped = without_implicit_extensions(
        settings, found_implicitly=config_path is None, trust_config=trust_config
    )
    resolve_extensions(settings)
    return settings, notices + warnings + skipped


def fork_settings(
    config_path: str | None,
    *,
    rounds: int | None,
    offline: bool,
    trust_config: bool = False,
    strict: bool = False,
    warn: Callable[[list[str]], None] = lambda notices: None,
) -> Callable[[RunSettings], RunSettings]:
    """How a fork's settings derive from its parent's: a new config (with the same agents) and/or
    new rounds; everything else as the parent had it. The new config's notices go to ``warn``."""

    def change(parent: RunSettings) -> RunSettings:
        if config_path is None:
            config = apply_overrides(parent.config, agent_roles=None, rounds=rounds, offline=offline)
            return parent.model_copy(update={"config": config, "offline": parent.offline or offline})
        settings, notices = prepare_settings(
            config_path,
            roles=None,
            rounds=rounds,
            offline=offline or parent.offline,
            trust_config=trust_config,
            strict=strict,
        )
        warn(notices)
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
    # typer parses "nan" and "inf" as floats: neither is a number of seconds or dollars.
    if timeout is not None and not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT_SECONDS):
        raise InputError(
            f"--timeout must be a number of seconds above 0 and at most {MAX_TIMEOUT_SECONDS} (got {timeout:g})"
        )
    if max_concurrency is not None and not 1 <= max_concurrency <= MAX_CONCURRENCY:
        raise InputError(f"--max-concurrency must be from 1 to {MAX_CONCURRENCY} (got {max_concurrency})")
    if max_tokens is not None and max_tokens < 1:
        raise InputError(f"--max-tokens must be at least 1 (got {max_tokens})")
    if max_cost is not None and not (math.isfinite(max_cost) and max_cost > 0):
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
