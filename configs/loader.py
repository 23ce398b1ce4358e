"""Read a config file (JSON or YAML), validate it, and explain every problem in one line."""

from __future__ import annotations

import difflib
import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dialectic.configs.providers import PROVIDER_NAMES
from dialectic.configs.schema import DebateConfig
from dialectic.errors import ConfigError

DEFAULT_CONFIG_NAME = "debate-config.json"
# The user's standing permission for configs to name files outside their folder (--trust-config).
TRUST_ENV = "DIALECTIC_TRUST_CONFIG"
HOW_TO_TRUST = f"--trust-config (or {TRUST_ENV}=1)"


def config_trusted(flag: bool = False) -> bool:
    """Whether the user trusts the configs of this run: ``--trust-config`` / ``trust_config=True``,
    or ``DIALECTIC_TRUST_CONFIG=1`` in the environment."""
    return flag or os.environ.get(TRUST_ENV, "").strip() == "1"


def confined_path(base: Path, raw: str, key: str, *, trusted: bool) -> Path:
    """The file a config names at ``key`` (``raw``, relative to the config's folder ``base``).

    A config is often someone else's (a shared repository, a downloaded example), and what a
    prompt path names is sent to the provider and stored with the debate: unless the user trusts
    the config, the path must stay inside the config's folder once symlinks are resolved, so
    ``../../secret``, ``/etc/...`` or a link pointing out is a config error."""
    path = base / raw
    if trusted:
        return path
    folder, target = base.resolve(), path.resolve()
    if not (target == folder or target.is_relative_to(folder)):
        raise ConfigError(
            f"{key}: {raw!r} resolves to {target}, outside the config file's folder {folder}; "
            f"move the file into that folder, or, if you trust this config, allow it with {HOW_TO_TRUST}"
        )
    # A hidden file beside the config (.env, .git/…) holds secrets, not prompts.
    parts = (*Path(raw).parts, *target.relative_to(folder).parts)
    if any(part.startswith(".") and part not in (".", "..") for part in parts):
        raise ConfigError(
            f"{key}: {raw!r} is a hidden file or in a hidden folder ({target}); a dotfile such as .env "
            f"is never a prompt: rename it, or, if you trust this config, allow it with {HOW_TO_TRUST}"
        )
    return path


def builtin_config_text(name: str = "default.json") -> str:
    return resources.files("dialectic.configs").joinpath(name).read_text(encoding="utf-8")


def parse_document(text: str, source: str, *, yaml_syntax: bool) -> Any:
    """Parse JSON (or YAML) text, naming the file, line and column of a syntax error."""
    if yaml_syntax:
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(f"invalid YAML in {source}{where}: {exc.problem}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"invalid YAML in {source}: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"invalid JSON in {source} at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc


def read_config_document(path: Path) -> Any:
    if not path.exists():
        raise ConfigError(f"config file not found: {path.resolve()} (check the -c path)")
    if path.is_dir():
        raise ConfigError(f"config path is a directory, not a file: {path.resolve()}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path.resolve()}: {exc}") from exc
    return parse_document(text, str(path.resolve()), yaml_syntax=path.suffix.lower() in (".yaml", ".yml"))


def validate_config(document: Any, source: str) -> DebateConfig:
    """Validate a parsed document strictly (what ``check_config`` would forgive is an error)."""
    return check_config(document, source, strict=True)[0]


def check_config(document: Any, source: str, *, strict: bool = False) -> tuple[DebateConfig, list[str]]:
    """Validate a parsed document, filling absent blocks with the built-in defaults; what the
    TypeScript tool accepts but we do not do (unknown keys…) is forgiven with a warning, returned
    for stderr, unless ``strict`` or the document's ``"strict": true`` (see configs/leniency.py)."""
    from dialectic.configs.leniency import screen

    if not isinstance(document, dict):
        raise ConfigError(f"config error in {source}: the top level must be an object with an 'agents' list")
    document, warnings = screen(document, DebateConfig, source, strict=strict)
    defaults = json.loads(builtin_config_text())
    merged = dict(document)
    merged.setdefault("agents", defaults["agents"])
    if "judge" not in merged and isinstance(merged["agents"], list) and merged["agents"]:
        merged["judge"] = _judge_like(merged["agents"][0], defaults["judge"])
    try:
        return DebateConfig.model_validate(merged), warnings
    except ValidationError as exc:
        raise ConfigError(
            f"config error in {source}: {describe_validation_error(exc, DebateConfig)}"
        ) from exc


def _judge_like(first_agent: Any, default_judge: dict[str, Any]) -> dict[str, Any]:
    """Without a judge block, the judge uses the first agent's provider and model, so a
    config written for one provider never needs a second provider's key."""
    judge = dict(default_judge)
    if isinstance(first_agent, dict) and first_agent.get("provider") in PROVIDER_NAMES:
        # (an invalid provider is reported once, on the agent that has it, not again on the judge)
        for key in ("provider", "model", "baseUrl", "apiKeyEnv"):
            if key in first_agent:
                judge[key] = first_agent[key]
    return judge


def load_config(path: Path | None, *, strict: bool = False) -> tuple[DebateConfig, Path | None, list[str]]:
    """Load the config at ``path``, or ./debate-config.json, or the built-in defaults.

    Returns the config, the file it came from (None for built-in) and notices for stderr.
    ``strict``: what would be a warning is an error.
    """
    notices: list[str] = []
    if path is None:
        candidate = Path.cwd() / DEFAULT_CONFIG_NAME
        if candidate.is_file():
            path = candidate
        else:
            notices.append(f"no {DEFAULT_CONFIG_NAME} here: using the built-in configuration")
            return validate_config(json.loads(builtin_config_text()), "built-in defaults"), None, notices
    document = read_config_document(path)
    config, warnings = check_config(document, str(path.resolve()), strict=strict)
    return config, path.resolve(), notices + warnings


def describe_validation_error(exc: ValidationError, model: type[BaseModel]) -> str:
    """Turn pydantic's errors into one line: field path, what is wrong, what is allowed."""
    parts = [_describe_one(error, model) for error in exc.errors()]
    if len(parts) > 3:
        parts = [*parts[:3], f"and {len(parts) - 3} more"]
    return "; ".join(parts)


def _describe_one(error: Any, model: type[BaseModel]) -> str:
    loc = tuple(error.get("loc", ()))
    path = format_path(loc)
    kind = error.get("type", "")
    message = str(error.get("msg", "invalid value"))
    if kind == "extra_forbidden":
        return unknown_key_message(_field_names_at(model, loc[:-1]), loc[:-1], str(loc[-1]) if loc else "?")
    if kind == "missing":
        return f"{path}: required field is missing"
    message = message.removeprefix("Value error, ")
    if kind == "value_error":
        return f"{path}: {message}" if path else message
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r})"
    return f"{path}: {message}{shown}" if path else f"{message}{shown}"


def unknown_key_message(
    allowed: list[str], loc: tuple[Any, ...], key: str, *, list_allowed: bool = True
) -> str:
    """The line for a key not ``allowed`` at ``loc``: unknown key 'x' in agents[0] (did you mean
    'y'?), or without a close match the allowed keys (unless ``list_allowed`` is false)."""
    hint = ""
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        hint = f" (did you mean {close[0]!r}?)"
    elif allowed and list_allowed:
        hint = f" (allowed keys: {', '.join(allowed)})"
    return f"unknown key {key!r} in {format_path(loc) or 'top level'}{hint}"


def format_path(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def _field_names_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at ``loc`` inside ``model`` (indices into lists are skipped)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = (
            current.model_fields.get(part)
            if isinstance(current, type) and issubclass(current, BaseModel)
            else None
        )
        if field is None:
            return []
        current = model_in(field.annotation)
        if current is None:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (itself, in a list, or optional), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = model_in(arg)
        if found is not None:
            return found
    return None
