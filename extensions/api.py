"""What an extension is, what it is given besides the view, and what it may return."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from dialectic.configs.schema import EXTENSION_POSITIONS, ExtensionSpec
from dialectic.configs.settings import RunSettings
from dialectic.errors import ConfigError

if TYPE_CHECKING:
    from dialectic.extensions.view import DebateView

# The keys an extension may return; anything else is a recorded failure of that run.
UPDATE_KEYS: tuple[str, ...] = ("notes", "agent_notes", "data", "report")


@dataclass(frozen=True)
class ExtensionContext:
    """The run context of one extension run."""

    name: str  # the extension's name (its node id and its key in the debate JSON)
    position: str
    round: int
    debate_id: str | None  # the thread id (None when the graph runs without a checkpointer)
    settings: RunSettings  # the run's resolved settings (frozen)
    options: Mapping[str, Any]  # the extension's "options" from the config
    log: Callable[[str], None] = field(repr=False, default=lambda message: None)  # a progress line


@dataclass(frozen=True)
class ExtensionUpdate:
    """What an extension run may change; a plain dict with these keys works too.

    - ``notes``: Markdown shown to every agent (and the judge) in the phases that follow, until
      this extension returns new notes (``""`` withdraws them).
    - ``agent_notes``: ``{agent_id: Markdown}`` shown to that agent only, same lifetime.
    - ``data``: any JSON value, saved in the debate JSON under ``extensions.<name>.runs``.
    - ``report``: a Markdown section for the report; the latest one is shown.
    """

    notes: str | None = None
    agent_notes: Mapping[str, str] | None = None
    data: Any = None
    report: str | None = None


ExtensionFunction = Callable[["DebateView", ExtensionContext], "ExtensionUpdate | Mapping[str, Any] | None"]


@dataclass(frozen=True, eq=False)
class Extension:
    """A function run as a graph node after ``after`` in every round.

    ``function(view, context)`` gets a :class:`DebateView` and an :class:`ExtensionContext` and
    returns an :class:`ExtensionUpdate`, a dict with some of its keys, or ``None``.
    """

    name: str
    function: ExtensionFunction
    after: str
    options: Mapping[str, Any] = field(default_factory=dict)
    source: str | None = None  # where it came from: "pkg.mod:function", a file, an entry point

    def __post_init__(self) -> None:
        if self.after not in EXTENSION_POSITIONS:
            raise ConfigError(
                f"extension {self.name!r}: unknown position {self.after!r} for 'after'; "
                f"use one of {', '.join(EXTENSION_POSITIONS)}"
            )
        spec = self.spec()  # validates the name and the position like a config entry
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))
        check_signature(self.function, spec.name, self.source or "the function")

    def spec(self) -> ExtensionSpec:
        """The config entry that would load this extension again (recorded with the run)."""
        try:
            return ExtensionSpec(
                name=self.name,
                callable=self.source if self.source is not None else callable_path(self.function),
                after=self.after,
                options=dict(self.options),
            )
        except ValueError as exc:
            raise ConfigError(f"extension {self.name!r}: {_first_error(exc)}") from exc


def callable_path(function: Callable[..., Any]) -> str:
    module = getattr(function, "__module__", None) or "__main__"
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}:{name}"


def check_signature(function: Any, name: str, source: str) -> None:
    """An extension is a plain callable taking (view, context); anything else is a config error."""
    if not callable(function):
        raise ConfigError(f"extension {name!r}: {source} is not callable (it is {type(function).__name__})")
    call = function if inspect.isroutine(function) else type(function).__call__
    if inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(call):
        raise ConfigError(
            f"extension {name!r}: {source} is async; an extension is a plain function f(view, context)"
        )
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # a builtin without introspection: trust it
    try:
        signature.bind(object(), object())
    except TypeError:
        raise ConfigError(
            f"extension {name!r}: {source} has the wrong signature {signature}; "
            "an extension takes two arguments: f(view, context)"
        ) from None


def coerce_update(result: object, agent_ids: list[str]) -> ExtensionUpdate:
    """Check what an extension returned; ``ValueError`` says what is wrong with it."""
    if result is None:
        return ExtensionUpdate()
    if isinstance(result, ExtensionUpdate):
        fields: Mapping[str, Any] = {key: getattr(result, key) for key in UPDATE_KEYS}
    elif isinstance(result, Mapping):
        unknown = [str(key) for key in result if key not in UPDATE_KEYS]
        if unknown:
            raise ValueError(
                f"returned unknown key {', '.join(map(repr, unknown))}; allowed: {', '.join(UPDATE_KEYS)}"
            )
        fields = result
    else:
        raise ValueError(
            f"returned a {type(result).__name__}; return an ExtensionUpdate, a dict with keys "
            f"{', '.join(UPDATE_KEYS)}, or None"
        )
    for key in ("notes", "report"):
        if fields.get(key) is not None and not isinstance(fields[key], str):
            raise ValueError(f"{key!r} must be a string (got {type(fields[key]).__name__})")
    agent_notes = fields.get("agent_notes")
    if agent_notes is not None:
        if not isinstance(agent_notes, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in agent_notes.items()
        ):
            raise ValueError("'agent_notes' must map agent ids to strings")
        strangers = [k for k in agent_notes if k not in agent_ids]
        if strangers:
            raise ValueError(
                f"'agent_notes' names unknown agent {', '.join(map(repr, strangers))}; agents: {', '.join(agent_ids)}"
            )
    return ExtensionUpdate(
        notes=fields.get("notes"),
        agent_notes=dict(agent_notes) if agent_notes is not None else None,
        data=fields.get("data"),
        report=fields.get("report"),
    )


def data_json(data: Any) -> str | None:
    """The data as JSON text (the form it is checkpointed in), or None when there is none."""
    if data is None:
        return None
    try:
        return json.dumps(data, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"'data' is not JSON-serializable: {exc}") from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        message = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)


__all__ = [
    "EXTENSION_POSITIONS",
    "UPDATE_KEYS",
    "Extension",
    "ExtensionContext",
    "ExtensionFunction",
    "ExtensionUpdate",
]
