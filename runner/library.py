"""The library API (``from dialectic import run_debate, load_config, build_graph``): the same
checks and the same run as the CLI, for notebooks and scripts. Errors are the exceptions of
``dialectic.errors`` (each carries the CLI's exit code); notices are Python warnings."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dialectic.configs.settings import RunSettings, apply_overrides, resolve_settings
from dialectic.runner import inputs
from dialectic.runner.run import DebateResult, EventHandler, start_debate

if TYPE_CHECKING:
    from dialectic.extensions.api import Extension

ConfigSource = RunSettings | Mapping[str, Any] | str | Path | None


class DialecticWarning(UserWarning):
    """A notice about the configuration or the run (a prompt file that falls back, tracing off…)."""


def load_config(
    config: str | Path | Mapping[str, Any] | None = None,
    *,
    offline: bool = False,
    rounds: int | None = None,
    agents: Iterable[str] | None = None,
    trust_config: bool = False,
    strict: bool = False,
) -> RunSettings:
    """The resolved settings of a config: a file (JSON or YAML), a dict shaped like one, or
    ``None`` for ./debate-config.json if present, else the built-in defaults. Prompt files and
    extensions are read and checked now (``ConfigError`` names what is wrong). What the TypeScript
    tool accepts but this one ignores (unknown keys…) is a warning, or with ``strict`` an error.

    Prompt paths must stay inside the config's folder (a dict's: the working directory), and
    the extensions of a ./debate-config.json found with ``None`` are not imported (a warning
    says so), unless ``trust_config`` (the CLI's ``--trust-config``)."""
    roles = list(agents) if agents is not None else None
    if isinstance(config, Mapping):
        from dialectic.configs.loader import check_config
        from dialectic.extensions.loading import resolve_extensions

        checked, forgiven = check_config(dict(config), "the given config", strict=strict)
        parsed = apply_overrides(checked, agent_roles=roles, rounds=rounds, offline=offline)
        settings, notices = resolve_settings(parsed, None, offline=offline, trust_config=trust_config)
        notices = forgiven + notices
        resolve_extensions(settings)
    else:
        settings, notices = inputs.prepare_settings(
            str(config) if config is not None else None,
            roles=roles,
            rounds=rounds,
            offline=offline,
            trust_config=trust_config,
            strict=strict,
        )
    for notice in notices:
        warnings.warn(notice, DialecticWarning, stacklevel=2)
    return settings


def run_debate(
    problem: str,
    config: ConfigSource = None,
    *,
    offline: bool = False,
    rounds: int | None = None,
    extensions: Iterable[Extension | Mapping[str, Any]] = (),
    debate_id: str | None = None,
    db: str | None = None,
    on_event: EventHandler | None = None,
    context: str | Path | None = None,
    trust_config: bool = False,
) -> DebateResult:
    """Run a debate to its end (or its first pause) and return its result.

    ``config`` is what ``load_config`` takes, or settings it returned. Checkpoints go to ``db``
    (default ./debates/dialectic.sqlite, or ``DIALECTIC_DB``) and the debate JSON to
    ./debates/<id>.json, as with the CLI, so ``dialectic resume``/``report`` work on it.
    ``extensions`` adds extension nodes (``Extension`` objects or config-shaped dicts); a name
    the config already uses is a ``ConfigError``. ``trust_config`` is ``load_config``'s.
    ``context`` is the folder the agents' file tools may read (``--context``).
    ``on_event`` receives the progress events; without it, warnings become Python warnings.
    """
    from dialectic.extensions.loading import check_new_names
    from dialectic.graphs.extensions import as_extensions

    if isinstance(config, RunSettings):
        settings = config
        if offline or rounds is not None:
            overridden = apply_overrides(settings.config, agent_roles=None, rounds=rounds, offline=offline)
            settings = settings.model_copy(
                update={"config": overridden, "offline": settings.offline or offline}
            )
    else:
        settings = load_config(config, offline=offline, rounds=rounds, trust_config=trust_config)
    if context is not None:
        settings = inputs.run_overrides(context=str(context))(settings)
    text = inputs.read_problem(problem, None)
    given = as_extensions(extensions)
    check_new_names(settings, given)
    return start_debate(  # (which checks the keys before any call)
        text,
        settings,
        debate_id=debate_id,
        db=db,
        on_event=on_event or _warnings_only,
        extensions=given,
    )


def _warnings_only(event: dict[str, Any]) -> None:
    if event.get("event") in ("warning", "extension_failed"):
        warnings.warn(str(event.get("message") or event.get("error")), DialecticWarning, stacklevel=2)
