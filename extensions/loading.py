"""From config entries to extension functions: import "package.module:function", load
"path/to/file.py:function" relative to the config's folder, or look the name up among the
``dialectic.nodes`` entry points of installed packages. Every problem is a ``ConfigError``
(exit 4) that names the extension. Importing is running code: a config the tool found by itself
(./debate-config.json without -c) does not get its extensions imported unless the user trusts it."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from dialectic.configs.loader import DEFAULT_CONFIG_NAME, HOW_TO_TRUST, config_trusted
from dialectic.configs.schema import ExtensionSpec
from dialectic.configs.settings import RunSettings
from dialectic.errors import ConfigError
from dialectic.extensions.api import Extension

ENTRY_POINT_GROUP = "dialectic.nodes"

_FILE_MODULES: dict[tuple[Path, int], ModuleType] = {}


def load_extension(spec: ExtensionSpec, base: Path) -> Extension:
    if spec.callable is None:
        function, source = _from_entry_point(spec.name)
    else:
        function, source = _import(spec.callable, base, spec.name), spec.callable
    return Extension(spec.name, function, spec.after, spec.options, source=source)


def extension_base(settings: RunSettings) -> Path:
    """The folder file paths in ``callable`` are relative to: the config's, else the cwd."""
    return Path(settings.config_path).parent if settings.config_path else Path.cwd()


def resolve_extensions(settings: RunSettings, given: Sequence[Extension] = ()) -> tuple[Extension, ...]:
    """The extensions of a run, in config order. ``given`` supplies functions already at hand
    (the Python API) by name; the others are imported from their config entries."""
    at_hand = {extension.name: extension for extension in given}
    resolved = [
        at_hand.pop(spec.name) if spec.name in at_hand else load_extension(spec, extension_base(settings))
        for spec in settings.config.extensions
    ]
    return (*resolved, *at_hand.values())


def without_implicit_extensions(
    settings: RunSettings, *, found_implicitly: bool, trust_config: bool = False
) -> tuple[RunSettings, list[str]]:
    """A config found by itself in the working directory may be someone else's (a cloned
    repository): unless the user trusts it, its extensions are left out of the run, and out of
    its stored settings so that a resume does not import them either. Returns the notice."""
    specs = settings.config.extensions
    if not found_implicitly or not specs or config_trusted(trust_config):
        return settings, []
    names = ", ".join(spec.name for spec in specs)
    notice = (
        f"{settings.config_path} was found in the working directory, not given with -c: its "
        f"extensions ({names}) are not imported and do not run; to run them, pass the config "
        f"with -c {DEFAULT_CONFIG_NAME} or add {HOW_TO_TRUST}"
    )
    config = settings.config.model_copy(update={"extensions": []})
    return settings.model_copy(update={"config": config}), [notice]


def check_new_names(settings: RunSettings, given: Sequence[Extension]) -> None:
    """Extensions given from Python to a new debate add nodes: one named like a config entry
    would replace that entry unseen, so it is a config error. (On resume a name does match:
    it supplies the function of the debate's own entry, ``with_extensions``.)"""
    listed = {spec.name for spec in settings.config.extensions}
    for extension in given:
        if extension.name in listed:
            where = settings.config_path or "the config"
            raise ConfigError(
                f"extension {extension.name!r} is given from Python and also listed in {where}; "
                "give the one from Python another name, or remove the config's entry"
            )


def with_extensions(settings: RunSettings, given: Sequence[Extension]) -> RunSettings:
    """The settings with the config entry of each extension given from Python (on resume,
    replacing the stored entry of the same name), so the run records them: a resume imports
    them again from ``module:qualname``."""
    if not given:
        return settings
    by_name = {extension.name: extension.spec() for extension in given}
    specs = [by_name.pop(spec.name, spec) for spec in settings.config.extensions]
    config = settings.config.model_copy(update={"extensions": [*specs, *by_name.values()]})
    return settings.model_copy(update={"config": config})


def _import(target: str, base: Path, name: str) -> Any:
    module_part, colon, attribute = target.rpartition(":")
    if not colon or not module_part or not attribute:
        raise ConfigError(
            f"extension {name!r}: callable {target!r} must look like 'package.module:function' "
            "or 'path/to/file.py:function'"
        )
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        module = _module_from_file(base / module_part, name)
    else:
        try:
            module = importlib.import_module(module_part)
        except Exception as exc:
            raise ConfigError(
                f"extension {name!r}: cannot import module {module_part!r} "
                f"({type(exc).__name__}: {exc}); is its package installed?"
            ) from exc
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ConfigError(
                f"extension {name!r}: {module_part!r} has no attribute {attribute!r} (from callable {target!r})"
            ) from None
    return found


def _module_from_file(path: Path, name: str) -> ModuleType:
    path = path.resolve()
    if not path.is_file():
        raise ConfigError(
            f"extension {name!r}: file {path} not found (a file path in 'callable' is relative to the config's folder)"
        )
    key = (path, path.stat().st_mtime_ns)
    if key in _FILE_MODULES:
        return _FILE_MODULES[key]
    module_name = f"dialectic_extension_{name.replace('-', '_')}_{len(_FILE_MODULES)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"extension {name!r}: {path} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise ConfigError(f"extension {name!r}: cannot import {path} ({type(exc).__name__}: {exc})") from exc
    _FILE_MODULES[key] = module
    return module


def offered_nodes() -> dict[str, metadata.EntryPoint]:
    """The nodes installed packages offer, by entry-point name."""
    return {entry.name: entry for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _from_entry_point(name: str) -> tuple[Any, str]:
    offered = offered_nodes()
    entry = offered.get(name)
    if entry is None:
        listing = ", ".join(sorted(offered)) or "none"
        raise ConfigError(
            f"extension {name!r}: no 'callable' given and no installed package offers a "
            f"{ENTRY_POINT_GROUP!r} entry point named {name!r} (offered: {listing})"
        )
    source = f"entry point {name} = {entry.value}"
    try:
        return entry.load(), source
    except Exception as exc:
        raise ConfigError(f"extension {name!r}: cannot load {source} ({type(exc).__name__}: {exc})") from exc
